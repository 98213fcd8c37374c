"""Street addresses inside Zhengzhou's twelve county-level divisions.

Each division gets its own real sub-district (街道) and town (镇/乡) names and its own roads, so an
address always names places that lie in the division its record says; house numbers are random.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS

CITY_NAME = "郑州市"

# division code -> (sub-districts and towns, roads); the order follows ZHENGZHOU_DIVISIONS.
_PLACES = {
    "410102": (
        "林山寨街道 建设路街道 棉纺路街道 秦岭路街道 桐柏路街道 三官庙街道 绿东村街道 汝河路街道 须水街道",
        "建设路 中原路 桐柏路 嵩山路 秦岭路 伏牛路 陇海西路 华山路 工人路 化工路",
    ),
    "410103": (
        "淮河路街道 解放路街道 铭功路街道 一马路街道 蜜蜂张街道 五里堡街道 大学路街道 建中街街道 福华街街道 "
        "德化街街道 嵩山路街道 长江路街道 京广路街道 侯寨街道",
        "大学路 航海中路 淮河路 京广路 政通路 长江路 德化街 人民路 兴华街 嵩山南路",
    ),
    "410104": (
        "北下街街道 西大街街道 南关街道 城东路街道 东大街街道 二里岗街道 陇海马路街道 紫荆山南路街道 "
        "航海东路街道 十八里河街道 南曹街道 金岱街道",
        "城东路 商城路 紫荆山路 东大街 西大街 南关街 航海东路 未来路 货栈街 管城街",
    ),
    "410105": (
        "经八路街道 花园路街道 人民路街道 杜岭街道 大石桥街道 南阳路街道 南阳新村街道 文化路街道 丰产路街道 "
        "东风路街道 北林路街道 未来路街道 凤凰台街道 丰庆路街道 国基路街道 杨金路街道 兴达路街道",
        "花园路 农业路 文化路 经三路 纬五路 东风路 金水路 未来路 丰产路 国基路 南阳路 北三环",
    ),
    "410106": (
        "济源路街道 中心路街道 新安路街道 工业路街道 矿山街道 峡窝镇",
        "中心路 新安路 工业路 济源路 登封路 许昌路",
    ),
    "410108": (
        "新城街道 长兴路街道 迎宾路街道 刘寨街道 老鸦陈街道 大河路街道 花园口镇 古荥镇",
        "开元路 天河路 长兴路 迎宾路 英才街 江山路 文化北路 清华园路",
    ),
    "410122": (
        "青年路街道 东风路街道 广惠街街道 白沙镇 韩寺镇 官渡镇 狼城岗镇 万滩镇 大孟镇 雁鸣湖镇",
        "青年路 广惠街 东风路 商都大道 官渡大道 建设路 中兴路",
    ),
    "410181": (
        "新华路街道 杜甫路街道 永安路街道 孝义街道 紫荆路街道 米河镇 回郭镇 小关镇 竹林镇 站街镇 康店镇 河洛镇",
        "杜甫路 新兴路 永安路 陇海路 嵩山路 人民路 紫荆路",
    ),
    "410182": (
        "索河街道 京城路街道 乔楼镇 豫龙镇 广武镇 王村镇 汜水镇 高山镇 刘河镇 崔庙镇 贾峪镇",
        "索河路 京城路 郑上路 演武路 荥泽大道 汜水路",
    ),
    "410183": (
        "青屏街街道 新华路街道 西大街街道 矿区街道 米村镇 牛店镇 平陌镇 超化镇 大隗镇 白寨镇 岳村镇 来集镇 曲梁镇",
        "青屏大街 西大街 开阳路 平安路 长乐路 金凤路",
    ),
    "410184": (
        "新建路街道 新华路街道 新烟街道 和庄镇 薛店镇 孟庄镇 郭店镇 龙湖镇 梨河镇 辛店镇 观音寺镇",
        "轩辕路 中华路 新建路 新华路 人民路 文化路 郑韩路",
    ),
    "410185": (
        "嵩阳街道 少林街道 中岳街道 大金店镇 告成镇 卢店镇 颍阳镇 东华镇 大冶镇 宣化镇 徐庄镇",
        "中岳大街 少林大道 嵩阳路 崇高路 书院河路 洧河路",
    ),
}
_VILLAGE_FOUNDERS = np.array(list("王李张刘陈杨赵黄周吴孙马朱胡郭高郑韩冯曹"), dtype=StringDType())
_VILLAGE_KINDS = np.array(list("庄寨营沟岗店楼湾家集桥"), dtype=StringDType())


def _flatten(part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All divisions' streets (part 0) or roads (part 1) in one array, with each division's offset, count."""
    per_division = [_PLACES[division.code][part].split() for division in ZHENGZHOU_DIVISIONS]
    counts = np.array([len(names) for names in per_division])
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    return np.array(list(itertools.chain(*per_division)), dtype=StringDType()), offsets, counts


_STREETS, _STREET_OFFSETS, _STREET_COUNTS = _flatten(0)
_ROADS, _ROAD_OFFSETS, _ROAD_COUNTS = _flatten(1)
_STREET_IS_TOWN = np.strings.endswith(_STREETS, "镇") | np.strings.endswith(_STREETS, "乡")
DIVISION_NAMES = np.array([division.name for division in ZHENGZHOU_DIVISIONS], dtype=StringDType())


def _numbers(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    return rng.integers(low, high + 1, n).astype(StringDType())


def _concat(*parts: np.ndarray | str) -> np.ndarray:
    result = parts[0]
    for part in parts[1:]:
        result = np.strings.add(result, part)
    return result


def _urban_premises(rng: np.random.Generator, road: np.ndarray, premises: str) -> np.ndarray:
    n = len(road)
    if premises == "shop":
        return _concat(road, _numbers(rng, 1, 500, n), "号")
    number, building = _numbers(rng, 1, 300, n), _numbers(rng, 1, 30, n)
    flat = (rng.integers(1, 34, n) * 100 + rng.integers(1, 5, n)).astype(StringDType())
    if premises == "office":
        return _concat(road, number, "号", building, "号楼", flat, "室")
    return _concat(road, number, "号", building, "号楼", _numbers(rng, 1, 6, n), "单元", flat)


def _village_house(rng: np.random.Generator, n: int) -> np.ndarray:
    founder = _VILLAGE_FOUNDERS[rng.integers(0, len(_VILLAGE_FOUNDERS), n)]
    kind = _VILLAGE_KINDS[rng.integers(0, len(_VILLAGE_KINDS), n)]
    return _concat(founder, kind, "村", _numbers(rng, 1, 12, n), "组", _numbers(rng, 1, 200, n), "号")


def draw_addresses(rng: np.random.Generator, division: np.ndarray, premises: str) -> np.ndarray:
    """Full addresses in each row's division: a flat for ``premises="home"``, an office suite for
    ``"office"``, a street-front shop for ``"shop"``; in towns a village house either way.
    """
    n = len(division)
    street = _STREET_OFFSETS[division] + (rng.random(n) * _STREET_COUNTS[division]).astype(np.int64)
    in_town = _STREET_IS_TOWN[street]
    in_city = ~in_town
    city_division = division[in_city]
    road_offset = (rng.random(len(city_division)) * _ROAD_COUNTS[city_division]).astype(np.int64)
    tail = np.empty(n, dtype=StringDType())
    tail[in_city] = _urban_premises(rng, _ROADS[_ROAD_OFFSETS[city_division] + road_offset], premises)
    tail[in_town] = _village_house(rng, int(in_town.sum()))
    return _concat(CITY_NAME, DIVISION_NAMES[division], _STREETS[street], tail)
