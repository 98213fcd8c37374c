"""GB/T 2260 administrative division codes: national provinces and Zhengzhou's county-level divisions."""

from __future__ import annotations

from typing import NamedTuple

PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


class Division(NamedTuple):
    code: str
    name: str
    residents_2019: int  # residents by the 2019 sample, used to shape the synthetic city


ZHENGZHOU_DIVISIONS = (
    Division("410102", "中原区", 795_000),
    Division("410103", "二七区", 848_000),
    Division("410104", "管城回族区", 585_000),
    Division("410105", "金水区", 1_333_000),
    Division("410106", "上街区", 163_000),
    Division("410108", "惠济区", 311_000),
    Division("410122", "中牟县", 524_000),
    Division("410181", "巩义市", 844_000),
    Division("410182", "荥阳市", 670_000),
    Division("410183", "新密市", 817_000),
    Division("410184", "新郑市", 653_000),
    Division("410185", "登封市", 727_000),
)
ZHENGZHOU_CITY_CODE = "410100"
OBSOLETE_ZHENGZHOU_CODES = {"410107": "邙山区 (now 惠济区 410108)"}
_ZHENGZHOU_CURRENT = {d.code for d in ZHENGZHOU_DIVISIONS} | {ZHENGZHOU_CITY_CODE}


def division_code_problem(value: str | None, *, allow_obsolete: bool = False) -> str | None:
    """Why ``value`` is not a GB/T 2260 division code, or ``None`` if it is.

    Outside Zhengzhou (4101xx) only the structure and the province are checked: the national
    table is not shipped. Inside it the code must be a current division (or an obsolete one,
    which old ID numbers legitimately carry, when ``allow_obsolete``).
    """
    if value is None or value == "":
        return "missing"
    if len(value) != 6 or not value.isascii() or not value.isdigit():
        return "expected 6 digits"
    if value[:2] not in PROVINCE_CODES:
        return f"unknown province {value[:2]}"
    if value[2:4] == "00" and value[4:] != "00":
        return "county part set without a prefecture part"
    if value.startswith("4101"):
        if value in _ZHENGZHOU_CURRENT:
            return None
        if value in OBSOLETE_ZHENGZHOU_CODES:
            return None if allow_obsolete else f"obsolete code: {OBSOLETE_ZHENGZHOU_CODES[value]}"
        return f"not a Zhengzhou division code ({', '.join(sorted(_ZHENGZHOU_CURRENT))})"
    return None
