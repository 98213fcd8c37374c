"""Chinese personal and business names, drawn by index so millions cost a few array lookups."""

from __future__ import annotations

import re

import numpy as np
from numpy.dtypes import StringDType

from citybase.simulator.formats import concat

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


# Homophones (同音字) by syllable and tone (v = ü): a clerk re-keying a name types its pinyin and picks a
# neighbouring candidate of the input method. Every surname and given-name character above is listed
# except 海, 哈, 葛 and the rare ones, with the same-sound characters that names commonly use.
_HOMOPHONE_GROUPS = dict(
    re.findall(
        r"([a-z]+[1-4]) (\S+)",
        """
        wang2 王 wang1 汪 li3 李理里礼鲤 li2 黎梨璃漓 li4 丽莉俪立力利励 zhang1 张章彰璋漳 liu2 刘留流浏琉 liu3 柳
        chen2 陈晨辰臣沉宸 yang2 杨阳洋扬羊 huang2 黄皇煌凰璜 zhao4 赵照兆召肇 wu2 吴吾梧 wu3 武伍午舞五
        zhou1 周州洲舟 xu2 徐 xu3 许栩 xu4 旭序叙绪续 sun1 孙荪 ma3 马玛码 zhu1 朱珠诸株 hu2 胡湖瑚壶狐 guo1 郭
        guo2 国帼 he2 何和禾河荷 he4 贺赫鹤 lin2 林琳霖临麟 gao1 高皋羔 luo2 罗萝逻锣 zheng4 郑正政证
        liang2 梁良凉粮 liang4 亮谅晾靓 xie4 谢卸屑懈 song4 宋送颂诵 tang2 唐堂塘棠糖 han2 韩含寒涵函晗 feng2 冯逢
        feng1 峰锋丰风枫封 feng4 凤奉俸 deng4 邓凳瞪 cao2 曹漕槽 peng2 彭鹏朋蓬澎 zeng1 曾增 xiao1 肖萧潇霄宵消
        xiao3 晓小筱 tian2 田甜恬填 tian1 天添 dong3 董懂 dong1 东冬 yuan2 袁元原源园圆缘沅 pan1 潘攀
        yu2 于余俞鱼渝瑜榆虞愉 yu3 雨宇羽禹语屿 yu4 玉育煜昱钰裕誉郁毓 jiang3 蒋奖讲桨 jiang1 江姜将疆 cai4 蔡菜
        du4 杜度渡镀 ye4 叶业页夜烨晔 cheng2 程成城诚承呈澄丞 su1 苏酥 wei4 魏卫位未蔚渭慰 wei3 伟玮炜纬苇娓委
        wei2 韦维唯惟围 lv3 吕旅侣铝履 ding1 丁叮钉玎 ren2 任人仁壬 shen3 沈审婶 shen1 申深身伸绅珅
        yao2 姚瑶遥尧摇谣 lu2 卢芦庐炉泸 lu4 陆路鹿禄露璐录 cui1 崔催摧 zhong1 钟中忠终衷 tan2 谭谈潭檀坛覃
        fan4 范饭犯泛梵 fan1 帆番翻藩 jin1 金今津巾斤襟 jin3 锦紧谨瑾仅 jing1 晶京经精菁荆
        jing4 静敬境镜竟靖婧径净竞 shi2 石时实十识拾 shi3 史使始驶 shi1 诗师施狮湿 liao4 廖料 jia3 贾甲假钾
        jia1 嘉佳家加珈 xia4 夏下厦 xia2 霞侠峡瑕暇 fu4 付傅富副复赋附馥 fang1 方芳坊枋 bai2 白 bai3 百柏佰
        zou1 邹诹陬 meng4 孟梦 xiong2 熊雄 qin2 秦琴勤芹禽 qiu1 邱秋丘 yin3 尹引隐饮 xue1 薛靴 xue3 雪 xue2 学
        yan2 闫严颜言炎研延岩妍阎 duan4 段断锻缎 lei2 雷擂镭 lei3 磊垒蕾儡 hou2 侯猴喉 long2 龙隆珑笼胧
        tao2 陶桃逃淘萄 tao1 涛滔韬焘 gu4 顾故固雇 mao2 毛茅矛 hao3 郝好 hao2 豪毫濠壕 hao4 浩昊皓号灏颢
        gong1 龚工公功宫恭弓 shao4 邵绍劭哨 wan4 万腕 qian2 钱前乾潜黔虔 qian4 倩茜欠歉 dai4 戴代带待黛岱
        kong3 孔恐 niu2 牛 niu3 纽扭钮 sha1 沙莎纱砂 mu4 穆木目牧慕沐睦 mi3 米 mi2 弥迷谜 ou1 欧鸥瓯 si1 司思丝斯私
        shang4 上尚 guan1 官关观冠 qiang2 强墙蔷 jun1 军君均钧 jun4 俊峻骏郡竣浚 yong3 勇永泳咏涌
        jie2 杰洁结捷节婕 bin1 斌彬宾滨缤 chao1 超抄钞 ming2 明铭鸣名茗 gang1 刚钢纲罡 ping2 平萍评屏苹坪
        hui1 辉晖挥徽恢 hui4 慧惠会汇绘卉蕙 hua2 华骅滑划 fei1 飞非菲妃霏 xin1 鑫欣新心辛馨昕薪 bo1 波播拨玻菠
        bo2 博伯泊勃搏渤帛铂 kai3 凯楷铠恺慨锴 jian4 健建剑见件鉴涧箭 shuai4 帅率 ning2 宁凝柠
        zhi4 志智致至治制质置稚挚 zhen4 振震镇阵赈 ran2 然燃髯 xuan1 轩宣萱喧暄瑄煊 rui4 睿瑞锐芮 ze2 泽则择责
        zhe2 哲折辙喆 hang2 航杭 hong2 宏红虹鸿洪弘泓 yi4 毅艺义忆易益逸翼亦谊奕译议懿溢屹 na4 娜纳那
        min3 敏闵悯闽抿 yan4 艳燕雁宴晏砚焰彦滟验 juan1 娟鹃捐涓 xiu4 秀绣袖锈琇岫 ling2 玲铃灵零龄凌菱伶羚翎聆陵
        ting2 婷庭廷亭停霆 ying3 颖影颍郢 mei2 梅玫枚眉媒莓湄楣 lan2 兰蓝岚澜栏篮斓 yun2 云芸耘昀匀纭
        yi2 怡宜仪移姨颐贻沂夷 yue4 悦越月岳阅跃粤玥樾 tong2 彤同童铜桐瞳潼佟 dan1 丹单担耽郸 zi3 子紫梓姊籽
        yi1 一衣医依伊壹漪祎 wen2 文闻纹雯玟 chun1 春椿 an1 安鞍庵谙桉 ke3 可渴坷岢 le4 乐勒 ya3 雅哑 ruo4 若弱
        """,
    )
)
HOMOPHONE_PINYIN = {char: syllable for syllable, chars in _HOMOPHONE_GROUPS.items() for char in chars}


def _homophones_of(char: str) -> str:
    """The same syllable and tone; failing that (王 has no same-tone name character), the syllable in other tones."""
    syllable = HOMOPHONE_PINYIN[char]
    same_tone = _HOMOPHONE_GROUPS[syllable].replace(char, "")
    others = (chars for other, chars in _HOMOPHONE_GROUPS.items() if other[:-1] == syllable[:-1] and other != syllable)
    return same_tone or "".join(others)


HOMOPHONES = {char: _homophones_of(char) for char in sorted(HOMOPHONE_PINYIN)}  # what each may be mistyped as
_TYPO_CODES = np.array([ord(char) for char in HOMOPHONES], dtype=np.uint32)
_TYPO_TEXT = np.array(list(HOMOPHONES), dtype=StringDType())
_TYPO_PINYIN = np.array([HOMOPHONE_PINYIN[char] for char in HOMOPHONES], dtype=StringDType())
_TYPO_COUNT = np.array([len(alternatives) for alternatives in HOMOPHONES.values()])
_TYPO_START = np.r_[0, np.cumsum(_TYPO_COUNT)[:-1]]
_TYPO_ALTERNATIVES = np.array([ord(char) for alternatives in HOMOPHONES.values() for char in alternatives], np.uint32)


def _code_points(names: np.ndarray) -> np.ndarray:
    """Names as an (n, width) matrix of code points, 0 past each name's end."""
    width = max(1, int(np.strings.str_len(names).max(initial=0)))
    return np.asarray(names, dtype=f"U{width}").view(np.uint32).reshape(len(names), width)


def _typo_slots(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each code point's position in the homophone table, and whether it has a homophone to be mistyped as."""
    slot = np.minimum(np.searchsorted(_TYPO_CODES, codes), len(_TYPO_CODES) - 1)
    return slot, (_TYPO_CODES[slot] == codes) & (_TYPO_COUNT[slot] > 0)


def mistypable(names: np.ndarray) -> np.ndarray:
    """Whether each name has a character with a homophone in the table."""
    return _typo_slots(_code_points(names))[1].any(axis=1)


_SURNAME_MISTYPABLE = mistypable(SURNAMES)
_GIVEN_MISTYPABLE = mistypable(GIVEN_CHARS)


def mistypable_parts(surname: np.ndarray, given1: np.ndarray, given2: np.ndarray) -> np.ndarray:
    """``mistypable`` for names given as indices, without rendering them: cheap on millions of people."""
    return _SURNAME_MISTYPABLE[surname] | _GIVEN_MISTYPABLE[given1] | _GIVEN_MISTYPABLE[given2]


def mistype_names(rng: np.random.Generator, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each name with one character swapped for a homophone, both drawn at random, and what was swapped.

    The details read '张 (zhang1) typed as 章 (zhang1)'. Every name must be ``mistypable``.
    """
    codes = _code_points(names)
    slot, can = _typo_slots(codes)
    if not can.any(axis=1).all():
        raise ValueError("every name needs a character with a homophone")
    rows = np.arange(len(codes))
    position = np.where(can, rng.random(codes.shape), -1.0).argmax(axis=1)
    true_slot = slot[rows, position]
    pick = (rng.random(len(codes)) * _TYPO_COUNT[true_slot]).astype(np.int64)
    typed = _TYPO_ALTERNATIVES[_TYPO_START[true_slot] + pick]
    typed_slot = np.searchsorted(_TYPO_CODES, typed)
    codes = codes.copy()
    codes[rows, position] = typed
    details = concat(
        _TYPO_TEXT[true_slot], " (", _TYPO_PINYIN[true_slot], ") typed as ", _TYPO_TEXT[typed_slot], " (",
        _TYPO_PINYIN[typed_slot], ")",
    )  # fmt: skip
    return codes.view(f"U{codes.shape[1]}").ravel().astype(StringDType()), details


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
