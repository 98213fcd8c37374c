"""Chinese personal and business names, drawn by index so millions cost a few array lookups."""

from __future__ import annotations

import re

import numpy as np
from numpy.dtypes import StringDType

# Surnames with their approximate share of the population in per mille (2020 household
# registration statistics), plus a few rarer ones common among the Hui.
_SURNAME_PER_MILLE = re.findall(
    r"(\D+?)([\d.]+)\s*",
    "王71 李71 张62 刘54 陈45 杨31 黄22 赵22 吴21 周19 徐16 孙15 马15 朱14 胡13 郭13 何12 林11 高11 罗10 "
    "郑10 梁9 谢8 宋8 唐8 许7 韩7 冯7 邓7 曹7 彭6 曾6 肖6 田6 董6 袁5 潘5 于5 蒋5 蔡5 余5 杜5 叶5 程5 "
    "苏5 魏5 吕5 丁4 任4 沈4 姚4 卢4 姜4 崔4 钟4 谭4 陆3 汪3 范3 金3 石3 廖3 贾3 夏3 韦3 付3 方3 白3 "
    "邹3 孟3 熊3 秦3 邱3 江2 尹2 薛2 闫2 段2 雷2 侯2 龙2 史2 陶2 黎2 贺2 顾2 毛2 郝2 龚2 邵2 万2 钱2 "
    "严2 武2 戴2 孔2 申1 牛1 赫1 海0.1 沙0.1 穆0.1 哈0.1 米0.1 欧阳0.5 司马0.2 上官0.1 诸葛0.1",
)
_SURNAME_LIST = [surname for surname, _ in _SURNAME_PER_MILLE]
SURNAMES = np.array(_SURNAME_LIST, dtype=StringDType())
_HAN_WEIGHTS = np.array([float(per_mille) for _, per_mille in _SURNAME_PER_MILLE])
# The Hui are far more often 马, 白, 丁, 金, 海, 沙, 穆, 哈, 米 than the Han.
_HUI_BOOST = {"马": 250, "白": 50, "丁": 40, "金": 30, "海": 15, "沙": 15, "穆": 10, "哈": 10, "米": 10}

_MALE_GIVEN = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳洋峰建国志亮成东海振晨博豪然轩睿泽哲航宏诚毅"
_FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀玲燕婷雪琳晶颖慧倩玉萍红梅莉兰凤洁琴云欣怡佳悦涵萱雨彤诗梦妍婧瑶璐丹"
_NEUTRAL_GIVEN = "子一嘉思晓文家新春小安可乐雅天若艺瑞铭锦"
# Outside GBK (CJK extensions A and B): GB18030 encodes them, GBK cannot; exchange files must survive them.
RARE_GIVEN = "䶮𠮷㛃㻗䂮𡈼㙟䲜"
RARE_NAME_SHARE = 0.001

GIVEN_CHARS = np.array([*_MALE_GIVEN, *_FEMALE_GIVEN, *_NEUTRAL_GIVEN, *RARE_GIVEN, ""], dtype=StringDType())
NO_CHAR = len(GIVEN_CHARS) - 1  # the empty second character of a one-character given name
_FEMALE_START = len(_MALE_GIVEN)
_NEUTRAL_START = _FEMALE_START + len(_FEMALE_GIVEN)
_RARE_START = _NEUTRAL_START + len(_NEUTRAL_GIVEN)
_MALE_POOL = np.r_[0:_FEMALE_START, _NEUTRAL_START:_RARE_START]
_FEMALE_POOL = np.arange(_FEMALE_START, _RARE_START)
_RARE_POOL = np.arange(_RARE_START, NO_CHAR)


def surname_weights(hui: bool) -> np.ndarray:
    """Surname probabilities for Han-majority or Hui persons."""
    weights = _HAN_WEIGHTS.copy()
    if hui:
        weights *= 0.45
        for surname, boost in _HUI_BOOST.items():
            weights[_SURNAME_LIST.index(surname)] += boost
    return weights / weights.sum()


def draw_given_names(
    rng: np.random.Generator, male: np.ndarray, birth_year: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Indices into ``GIVEN_CHARS`` of the first and second given-name character (``NO_CHAR`` if none).

    One-character given names were common before 1970 and are rare now; a tiny share carries a
    character outside GBK in place of its last character.
    """
    n = len(male)
    first, second = (
        np.where(
            male,
            _MALE_POOL[rng.integers(0, len(_MALE_POOL), n)],
            _FEMALE_POOL[rng.integers(0, len(_FEMALE_POOL), n)],
        )
        for _ in range(2)
    )
    single_share = np.select([birth_year < 1970, birth_year < 2000], [0.35, 0.2], 0.1)
    second = np.where(rng.random(n) < single_share, NO_CHAR, second)
    rare = rng.random(n) < RARE_NAME_SHARE
    rare_char = _RARE_POOL[rng.integers(0, len(_RARE_POOL), n)]
    first = np.where(rare & (second == NO_CHAR), rare_char, first)
    second = np.where(rare & (second != NO_CHAR), rare_char, second)
    return first, second


def render_names(surname: np.ndarray, given1: np.ndarray, given2: np.ndarray) -> np.ndarray:
    """Full names from surname and given-character indices."""
    return np.strings.add(np.strings.add(SURNAMES[surname], GIVEN_CHARS[given1]), GIVEN_CHARS[given2])


# Business names: 字号 (trade name) characters and the wording of each kind of entity.
TRADE_NAME_CHARS = np.array(
    [
        *"鑫华盛宏泰恒达瑞祥通源兴隆诚信安康鼎博豪龙凯金佳德益晟润丰嘉汇远航创新宇正中原豫嵩商"
        "利顺昌永美万福富明光辉耀腾飞亿联合众和平方圆东升天启晨曦锦程俊",
        "",
    ],
    dtype=StringDType(),
)
NO_TRADE_CHAR = len(TRADE_NAME_CHARS) - 1


def _vocabulary(words: str) -> np.ndarray:
    return np.array(words.split(), dtype=StringDType())


INDUSTRIES = _vocabulary(
    "商贸 科技 建筑工程 餐饮管理 物流 房地产开发 文化传媒 信息技术 农业科技 电子商务 装饰工程 医药 "
    "机械设备 教育咨询 供应链管理 企业管理咨询 环保科技 汽车销售 建材 食品"
)
SHOP_KINDS = _vocabulary(
    "便利店 餐馆 烩面馆 理发店 五金店 烟酒店 超市 水果店 汽车修理部 服装店 面馆 电动车行 日用品店 "
    "副食店 手机店 洗衣店 药店 早餐店 家电维修部 建材店"
)
FARM_KINDS = _vocabulary("蔬菜种植 养殖 农机 小麦种植 花卉苗木 果蔬 中药材种植 红枣种植")


def draw_trade_names(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Trade names as ``(n, 3)`` indices into ``TRADE_NAME_CHARS``, of 2 or 3 characters (then ``NO_TRADE_CHAR``)."""
    indices = rng.integers(0, NO_TRADE_CHAR, (n, 3))
    indices[:, length:] = NO_TRADE_CHAR
    return indices


def render_trade_names(indices: np.ndarray) -> np.ndarray:
    """Trade names such as 鑫华 or 宏泰兴 from ``draw_trade_names`` indices."""
    chars = TRADE_NAME_CHARS[indices]
    return np.strings.add(np.strings.add(chars[:, 0], chars[:, 1]), chars[:, 2])
