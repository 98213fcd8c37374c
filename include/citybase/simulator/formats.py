"""How the department systems write values: ISO dates, 'YYYY-MM-DD HH:MM:SS' timestamps, zero-padded codes."""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.dtypes import StringDType

SECONDS_PER_DAY = 86_400


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01, the unit the generators compute dates in."""
    return int(np.datetime64(day, "D").astype(np.int64))


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (28 February for a 29 February in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def format_dates(days: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD' for each day number."""
    return days.astype("datetime64[D]").astype("U10")


def format_timestamps(seconds: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' for seconds since 1970-01-01, in local time as the systems keep it."""
    text = seconds.astype("datetime64[s]").astype("U19")  # ISO 8601: 'YYYY-MM-DDTHH:MM:SS'
    text.view("U1").reshape(len(text), 19)[:, 10] = " "
    return text


def office_hours(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """A time between 08:30 and 17:30 (when counters are staffed) on each day, as seconds since 1970."""
    return days.astype(np.int64) * SECONDS_PER_DAY + office_seconds(rng, len(days))


def office_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` seconds of the day between 08:30 and 17:30, as ``office_hours`` draws them."""
    return rng.integers(30_600, 63_000, n)


def later_touch(
    rng: np.random.Generator,
    since: np.ndarray,
    until: int,
    untouched_share: float,
    *,
    rows: np.ndarray | None = None,
    of: int = 0,
) -> np.ndarray:
    """When each record was last updated: never for ``untouched_share`` of them, otherwise
    between ``since`` and ``until`` (seconds), skewed towards recent years as systems are busier now.

    With ``rows``, ``since`` holds just those rows of ``of`` records: the draws are made for all ``of``,
    as if they were all given, and the rows' values are those they would have got.
    """
    n, kept = (len(since), slice(None)) if rows is None else (of, rows)
    elapsed = ((until - since) * rng.random(n)[kept] ** 0.4).astype(np.int64)
    return np.where(rng.random(n)[kept] < untouched_share, since, since + elapsed)


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal text of each value: the serial parts of codes and certificate numbers."""
    return np.strings.zfill(np.asarray(values).astype(np.int64).astype(StringDType()), width)


def concat(*parts) -> np.ndarray:
    """Element-wise concatenation of string arrays (and scalars), vectorised."""
    result = parts[0]
    for part in parts[1:]:
        result = np.strings.add(result, part)
    return np.asarray(result, dtype=StringDType())
