"""Market entities as the business registry (市场监管企业登记) holds them, as numeric arrays.

Legal representatives are drawn from the simulated residents, so later stages can link the two
systems through ID numbers exactly as a real city's base databases do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.dtypes import StringDType

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.codes.uscc import USCC_ALPHABET
from citybase.simulator import names
from citybase.simulator.formats import (
    SECONDS_PER_DAY,
    day_number,
    format_dates,
    format_timestamps,
    later_touch,
    office_hours,
    years_before,
)
from citybase.simulator.identifiers import uscc_codes
from citybase.simulator.places import CITY_NAME, DIVISION_NAMES, draw_addresses
from citybase.simulator.population import ADULT_AGE, DIVISION_CODES, DIVISION_SHARES, Population
from citybase.simulator.sampling import stream

MARKET_ENTITIES = 2_000_000
MARKET_REGULATION_AUTHORITY = "9"
REGISTRY_START = dt.date(1990, 1, 1)
USCC_INTRODUCED = day_number(dt.date(2016, 1, 1))  # bodies issued since begin with MA; older ones were org codes
GROWTH_PER_YEAR = 0.12  # registrations grew roughly this fast, so most entities are recent
OLDEST_FOUNDER_AGE = 75
_MA = [USCC_ALPHABET.index("M"), USCC_ALPHABET.index("A")]

_ENTITY_TYPE_NAMES = ["个体工商户", "有限责任公司", "股份有限公司", "个人独资企业", "合伙企业", "农民专业合作社"]
ENTITY_TYPES = np.array(_ENTITY_TYPE_NAMES, dtype=StringDType())
INDIVIDUAL, COOPERATIVE = _ENTITY_TYPE_NAMES.index("个体工商户"), _ENTITY_TYPE_NAMES.index("农民专业合作社")
_NAME_SUFFIXES = np.array(
    ["", "有限公司", "股份有限公司", "经营部", "中心（有限合伙）", "专业合作社"], dtype=StringDType()
)
_ENTITY_TYPE_SHARES = np.array([0.65, 0.295, 0.005, 0.025, 0.01, 0.015])
_USCC_ENTITY_TYPE = np.array([2, 1, 1, 1, 1, 3])  # GB 32100 position 2 under authority 9
# Registered capital in 万元: log-normal median and spread per entity type (individual businesses may
# leave it empty).
_CAPITAL_MEDIAN = np.array([3.0, 100.0, 1000.0, 10.0, 100.0, 50.0])
_CAPITAL_SIGMA = np.array([1.0, 1.2, 1.3, 1.0, 1.5, 1.0])
INDIVIDUAL_CAPITAL_UNDECLARED = 0.7

STATUSES = np.array(["存续", "在业", "吊销", "注销", "迁出"], dtype=StringDType())
LIVE, OPERATING, REVOKED, CANCELLED, MOVED_OUT = range(len(STATUSES))
# Name parts: what a name starts with (a district; the city and district; the city; the province) and
# the business it names (a kind of shop or farm, or an industry).
_NAME_PREFIXES = np.concatenate([DIVISION_NAMES, np.strings.add(CITY_NAME, DIVISION_NAMES), ["郑州", "河南"]])
_CITY_AND_DISTRICT, _ZHENGZHOU, _HENAN = len(DIVISION_NAMES), 2 * len(DIVISION_NAMES), 2 * len(DIVISION_NAMES) + 1
_BUSINESSES = np.concatenate([names.SHOP_KINDS, names.FARM_KINDS, names.INDUSTRIES])
_SHOP, _FARM, _INDUSTRY = 0, len(names.SHOP_KINDS), len(names.SHOP_KINDS) + len(names.FARM_KINDS)
# Business activity leans to the urban core (Jinshui, Zhengdong, the airport zone) over the counties.
_DIVISION_BUSINESS_PULL = np.array([1.2, 1.2, 1.3, 1.6, 0.8, 1.1, 1.0, 0.7, 0.7, 0.7, 1.1, 0.7])


@dataclass(frozen=True, eq=False)
class Enterprises:
    """One entry per market entity, in enterprise_id order (enterprise_id = position + 1)."""

    entity_type: np.ndarray  # index into ENTITY_TYPES
    division: np.ndarray  # index into ZHENGZHOU_DIVISIONS
    uscc: np.ndarray  # text
    name: np.ndarray  # text
    status: np.ndarray  # index into STATUSES
    registered_capital: np.ndarray  # 万元, NaN where not declared
    established_on: np.ndarray  # day number
    address: np.ndarray  # text
    legal_rep: np.ndarray  # index into Population
    updated_at: np.ndarray  # seconds

    def __len__(self) -> int:
        return len(self.entity_type)


def simulate_enterprises(count: int, people: Population, as_of: dt.date, seed: int) -> Enterprises:
    """``count`` market entities registered in the city between 1990 and ``as_of``."""
    rng = stream(seed, "market/entities")
    entity_type = rng.choice(len(ENTITY_TYPES), count, p=_ENTITY_TYPE_SHARES)
    pull = DIVISION_SHARES * _DIVISION_BUSINESS_PULL
    division = rng.choice(len(ZHENGZHOU_DIVISIONS), count, p=pull / pull.sum())
    established_on = np.sort(_establishment_days(rng, count, as_of))  # the registry numbers them in order
    status = _statuses(rng, established_on, as_of)
    last_second = (day_number(as_of) + 1) * SECONDS_PER_DAY - 1
    return Enterprises(
        entity_type=entity_type,
        division=division,
        uscc=_credit_codes(stream(seed, "market/uscc"), entity_type, division, established_on),
        name=_business_names(stream(seed, "market/names"), entity_type, division),
        status=status,
        registered_capital=_registered_capital(rng, entity_type),
        established_on=established_on,
        address=_business_addresses(stream(seed, "market/addresses"), entity_type, division),
        legal_rep=_legal_representatives(stream(seed, "market/legal_reps"), people, established_on, as_of),
        updated_at=later_touch(rng, office_hours(rng, established_on), last_second, untouched_share=0.4),
    )


def _establishment_days(rng: np.random.Generator, count: int, as_of: dt.date) -> np.ndarray:
    """Day numbers from 1990 to ``as_of`` with exponentially growing density (inverse-CDF draw)."""
    first, last = day_number(REGISTRY_START), day_number(as_of)
    span_years = (last - first) / 365.25
    years = np.log1p(rng.random(count) * np.expm1(GROWTH_PER_YEAR * span_years)) / GROWTH_PER_YEAR
    return np.minimum(first + (years * 365.25).astype(np.int64), last)


def _statuses(rng: np.random.Generator, established_on: np.ndarray, as_of: dt.date) -> np.ndarray:
    """Mostly 存续/在业; the older an entity, the likelier it was cancelled, revoked or moved out."""
    n = len(established_on)
    years_old = (day_number(as_of) - established_on) / 365.25
    closed = rng.random(n) < np.minimum(0.03 + 0.015 * years_old, 0.6)
    how_closed = rng.choice([CANCELLED, REVOKED, MOVED_OUT], n, p=[0.6, 0.35, 0.05])
    how_open = np.where(rng.random(n) < 0.7, LIVE, OPERATING)
    return np.where(closed, how_closed, how_open)


def _registered_capital(rng: np.random.Generator, entity_type: np.ndarray) -> np.ndarray:
    """Log-normal capital in 万元, rounded to two significant digits as declared capital usually is."""
    capital = _CAPITAL_MEDIAN[entity_type] * rng.lognormal(0.0, _CAPITAL_SIGMA[entity_type])
    exponent = np.floor(np.log10(capital)) - 1
    digits = np.round(capital / 10.0**exponent)
    # Dividing by an exact power of ten (not multiplying by 0.1) gives the nearest double to e.g. 2.9.
    capital = np.maximum(np.where(exponent >= 0, digits * 10.0**exponent, digits / 10.0 ** (-exponent)), 0.1)
    undeclared = (entity_type == INDIVIDUAL) & (rng.random(len(entity_type)) < INDIVIDUAL_CAPITAL_UNDECLARED)
    return np.where(undeclared, np.nan, capital)


def _credit_codes(
    rng: np.random.Generator, entity_type: np.ndarray, division: np.ndarray, established_on: np.ndarray
) -> np.ndarray:
    """GB 32100 codes with unique organisation bodies: 'MA' + 6 characters since 2016, 8 digits before."""
    count = len(entity_type)
    since_uscc = established_on >= USCC_INTRODUCED
    body = np.empty((count, 8), dtype=np.int64)
    pending = np.arange(count)
    while len(pending):
        body[pending] = np.where(
            since_uscc[pending, None],
            np.c_[np.full((len(pending), 2), _MA), rng.integers(0, len(USCC_ALPHABET), (len(pending), 6))],
            rng.integers(0, 10, (len(pending), 8)),
        )
        pending = _repeats((body * len(USCC_ALPHABET) ** np.arange(7, -1, -1)).sum(axis=1))
    return uscc_codes(MARKET_REGULATION_AUTHORITY, _USCC_ENTITY_TYPE[entity_type], DIVISION_CODES[division], body)


def _repeats(values: np.ndarray) -> np.ndarray:
    """Positions of values equal to an earlier value, to be drawn again."""
    _, first = np.unique(values, return_index=True)
    repeated = np.ones(len(values), dtype=bool)
    repeated[first] = False
    return np.flatnonzero(repeated)


def _business_names(rng: np.random.Generator, entity_type: np.ndarray, division: np.ndarray) -> np.ndarray:
    """Registered names: '郑州市金水区鑫华商贸有限公司', '二七区宏泰便利店', '中牟县德盛蔬菜种植专业合作社'...

    Shops and co-operatives are named after their district; firms after the city or province. Names
    are unique, as the registry requires: a name already taken is drawn again with a longer trade name.
    Uniqueness is checked on the name's parts as numbers, which is far cheaper than comparing text.
    """
    count = len(entity_type)
    firm_region = np.select(
        [rng.random(count) < 0.6, rng.random(count) < 0.75],
        [_CITY_AND_DISTRICT + division, _ZHENGZHOU],
        _HENAN,
    )
    prefix = np.where((entity_type == INDIVIDUAL) | (entity_type == COOPERATIVE), division, firm_region)
    business = np.select(
        [entity_type == INDIVIDUAL, entity_type == COOPERATIVE],
        [_SHOP + rng.integers(0, len(names.SHOP_KINDS), count), _FARM + rng.integers(0, len(names.FARM_KINDS), count)],
        _INDUSTRY + rng.integers(0, len(names.INDUSTRIES), count),
    )
    parts_key = (prefix * len(_BUSINESSES) + business) * len(ENTITY_TYPES) + entity_type
    trade_name = np.empty((count, 3), dtype=np.int64)
    pending, trade_name_length = np.arange(count), 2
    while len(pending):
        trade_name[pending] = names.draw_trade_names(rng, len(pending), trade_name_length)
        trade_key = (trade_name * len(names.TRADE_NAME_CHARS) ** np.arange(3)).sum(axis=1)
        pending, trade_name_length = _repeats(parts_key * len(names.TRADE_NAME_CHARS) ** 3 + trade_key), 3
    name = np.strings.add(_NAME_PREFIXES[prefix], names.render_trade_names(trade_name))
    return np.strings.add(np.strings.add(name, _BUSINESSES[business]), _NAME_SUFFIXES[entity_type])


def _business_addresses(rng: np.random.Generator, entity_type: np.ndarray, division: np.ndarray) -> np.ndarray:
    """Individual businesses trade from street-front shops, the others from office suites."""
    address = np.empty(len(entity_type), dtype=StringDType())
    shop = entity_type == INDIVIDUAL
    address[shop] = draw_addresses(rng, division[shop], "shop")
    address[~shop] = draw_addresses(rng, division[~shop], "office")
    return address


def _legal_representatives(
    rng: np.random.Generator, people: Population, established_on: np.ndarray, as_of: dt.date
) -> np.ndarray:
    """A resident who was 18 to 75 when the entity was established (any adult if nobody was)."""
    by_birth = np.argsort(people.birth, kind="stable")
    births = people.birth[by_birth]
    youngest_birth = established_on - round(ADULT_AGE * 365.25)
    oldest_birth = established_on - round(OLDEST_FOUNDER_AGE * 365.25)
    low = np.searchsorted(births, oldest_birth, side="left")
    high = np.searchsorted(births, youngest_birth, side="right")
    adults = np.searchsorted(births, day_number(years_before(as_of, ADULT_AGE)), side="right")
    empty = high <= low
    low, high = np.where(empty, 0, low), np.where(empty, adults, high)
    return by_birth[low + (rng.random(len(established_on)) * (high - low)).astype(np.int64)]


def enterprise_rows(enterprises: Enterprises, people: Population, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The text (and capital) of the ``enterprises`` columns, all but the key, for the given entities."""
    capital = enterprises.registered_capital[rows]
    legal_rep = enterprises.legal_rep[rows]
    return {
        "uscc": enterprises.uscc[rows],
        "name": enterprises.name[rows],
        "entity_type": ENTITY_TYPES[enterprises.entity_type[rows]],
        "status": STATUSES[enterprises.status[rows]],
        "registered_capital": np.where(np.isnan(capital), None, capital),
        "established_on": format_dates(enterprises.established_on[rows]),
        "division_code": DIVISION_CODES[enterprises.division[rows]].astype("U6"),
        "address": enterprises.address[rows],
        "legal_rep_id_number": people.id_numbers(legal_rep),
        "legal_rep_name": people.names(legal_rep),
        "updated_at": format_timestamps(enterprises.updated_at[rows]),
    }
