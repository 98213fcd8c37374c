"""GB 11643 and GB 32100 validity as SQLAlchemy boolean expressions, so GX can push them into the database.

Character values come from ``strpos(alphabet, character) - 1`` instead of casts, so no row can make
the query error, and the arithmetic is portable across DuckDB and PostgreSQL. ``citybase.codes``
is the reference; property tests hold these expressions to it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from citybase.codes.division import PROVINCE_CODES
from citybase.codes.id_number import EARLIEST_BIRTH, ID_CHECK_CHARS, ID_WEIGHTS
from citybase.codes.uscc import AUTHORITY_TYPES, ORG_ALPHABET, ORG_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS

DIGITS = "0123456789"
_PROVINCES = sorted(PROVINCE_CODES)
_AUTHORITY_TYPE_PAIRS = sorted(a + t for a, types in AUTHORITY_TYPES.items() for t in types)
_ORG_CHECK_BY_REMAINDER = "0123456789X0"  # 11 - (sum mod 11) in 1..11; 10 -> X, 11 -> 0


def _char(column: sa.ColumnElement, position: int) -> sa.ColumnElement:
    return sa.func.substr(column, position, 1)


def _value(column: sa.ColumnElement, position: int, alphabet: str) -> sa.ColumnElement:
    """0-based value of the character at ``position`` in ``alphabet``, -1 if it is not in it."""
    return sa.func.strpos(sa.literal(alphabet), _char(column, position)) - 1


def _number(column: sa.ColumnElement, first: int, width: int) -> sa.ColumnElement:
    return sum((_value(column, first + i, DIGITS) * 10 ** (width - 1 - i) for i in range(width)), sa.literal(0))


def _days_in_month(year: sa.ColumnElement, month: sa.ColumnElement) -> sa.ColumnElement:
    leap = sa.or_(sa.and_(year % 4 == 0, year % 100 != 0), year % 400 == 0)
    return sa.case(
        (month.in_([4, 6, 9, 11]), 30),
        (month == 2, sa.case((leap, 29), else_=28)),
        else_=31,
    )


def id_number_is_valid(column: sa.ColumnElement, *, today: dt.date | None = None) -> sa.ColumnElement[bool]:
    """True where ``column`` is a valid 18-character GB 11643 ID number."""
    today = today or dt.date.today()
    year, month, day = _number(column, 7, 4), _number(column, 11, 2), _number(column, 13, 2)
    birth = _number(column, 7, 8)
    weighted = sum((_value(column, i + 1, DIGITS) * w for i, w in enumerate(ID_WEIGHTS)), sa.literal(0))
    return sa.and_(
        sa.func.length(column) == 18,
        *(_value(column, i, DIGITS) >= 0 for i in range(1, 18)),
        _value(column, 18, DIGITS + "X") >= 0,
        sa.func.substr(column, 1, 2).in_(_PROVINCES),
        month.between(1, 12),
        day.between(1, _days_in_month(year, month)),
        birth.between(int(EARLIEST_BIRTH.strftime("%Y%m%d")), int(today.strftime("%Y%m%d"))),
        _char(column, 18) == sa.func.substr(sa.literal(ID_CHECK_CHARS), weighted % 11 + 1, 1),
    )


def uscc_is_valid(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """True where ``column`` is a valid GB 32100 unified social credit code."""
    org_sum = sum((_value(column, 9 + i, ORG_ALPHABET) * w for i, w in enumerate(ORG_WEIGHTS)), sa.literal(0))
    check_sum = sum((_value(column, i + 1, USCC_ALPHABET) * w for i, w in enumerate(USCC_WEIGHTS)), sa.literal(0))
    return sa.and_(
        sa.func.length(column) == 18,
        *(_value(column, i, USCC_ALPHABET) >= 0 for i in range(1, 19)),
        sa.func.substr(column, 1, 2).in_(_AUTHORITY_TYPE_PAIRS),
        *(_value(column, i, DIGITS) >= 0 for i in range(3, 9)),
        sa.func.substr(column, 3, 2).in_(_PROVINCES),
        _char(column, 17) == sa.func.substr(sa.literal(_ORG_CHECK_BY_REMAINDER), 12 - org_sum % 11, 1),
        _char(column, 18) == sa.func.substr(sa.literal(USCC_ALPHABET), (31 - check_sum % 31) % 31 + 1, 1),
    )
