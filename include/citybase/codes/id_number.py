"""GB 11643-1999 citizen identity numbers: 6-digit address, 8-digit birth date, 3-digit sequence, check."""

from __future__ import annotations

import datetime as dt
import re

from citybase.codes.division import PROVINCE_CODES

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11), ISO 7064 MOD 11-2
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
EARLIEST_BIRTH = dt.date(1800, 1, 1)  # the standard's own example is born 1880


def id_number_check_char(first17: str) -> str:
    """The check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"need 17 ASCII digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_number_problem(value: str | None, *, today: dt.date | None = None) -> str | None:
    """Why ``value`` is not a valid 18-character ID number, or ``None`` if it is.

    Lower-case ``x`` is rejected: the standard's check character is an upper-case ``X``;
    cleaning (upper-casing, full-width to half-width) is the conforming layer's job.
    """
    if value is None or value == "":
        return "missing"
    if len(value) != 18:
        return f"length {len(value)}, expected 18"
    if not _SHAPE.fullmatch(value):
        return "expected 17 digits then a digit or X"
    if value[:2] not in PROVINCE_CODES:
        return f"address code {value[:6]}: unknown province {value[:2]}"
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return f"birth date {value[6:14]} is not a calendar date"
    if birth < EARLIEST_BIRTH or birth > (today or dt.date.today()):
        return f"birth date {birth.isoformat()} out of range"
    expected = id_number_check_char(value[:17])
    if value[17] != expected:
        return f"check character {value[17]}, expected {expected}"
    return None
