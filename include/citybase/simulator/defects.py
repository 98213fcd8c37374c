"""Known defects injected into the department tables, with the ground truth of each one.

Real department data carries mistyped check characters, blank fields, double entries and dates
that cannot be; the pipeline's quality gates must catch them, so the simulator plants a known
number of each and records where, letting tests measure exactly what the gates found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from citybase.simulator.sampling import allocate

DEFECT_KINDS = ("bad_check_digit", "missing_field", "duplicate_row", "impossible_date")
# A name re-keyed from another system (never in the household registration, the reference) is most often
# spoiled by a same-sound character picked from the pinyin input method: ``names.mistype_names``.
# Such systems give this kind a fixed share of their defect budget; their other kinds split the rest.
HOMOPHONE_NAME = "homophone_name"
HOMOPHONE_SHARE = 0.3
_NOT_A_CALENDAR_DAY = ("02-30", "02-31", "04-31", "06-31", "09-31", "11-31", "13-01", "00-15")
_LATEST_FUTURE_DAYS = 3650


@dataclass(frozen=True)
class DefectTargets:
    """Which columns of a table the defects touch."""

    code_column: str  # its last character is a check character
    check_alphabet: str  # characters the check character can take
    required_columns: tuple[str, ...]  # one of them goes missing
    date_column: str


@dataclass(frozen=True, eq=False)
class DefectRecord:
    """One planted defect, as ground_truth/defects.csv lists it (the key is the row position + 1)."""

    record_key: int
    kind: str
    column: str
    detail: str


@dataclass(frozen=True, eq=False)
class Defects:
    """How a table of ``rows`` true records is corrupted on its way into the department system."""

    rows: int
    duplicate_of: np.ndarray  # source positions of the rows re-entered after the true ones
    overrides: dict[str, tuple[np.ndarray, list[str | None]]]  # column -> (sorted positions, values)
    records: list[DefectRecord]

    def source_rows(self, start: int, stop: int) -> np.ndarray:
        """The true record behind each table position in [start, stop): itself, or a duplicate's original."""
        positions = np.arange(start, stop)
        duplicates = positions >= self.rows
        positions[duplicates] = self.duplicate_of[positions[duplicates] - self.rows]
        return positions

    @property
    def table_rows(self) -> int:
        return self.rows + len(self.duplicate_of)


def plan_defects(
    rng: np.random.Generator,
    rows: int,
    defect_rate: float,
    targets: DefectTargets,
    render: Callable[[np.ndarray], dict[str, np.ndarray]],
    as_of: dt.date,
) -> Defects:
    """Pick defective records, a ``defect_rate`` share of the table's rows split evenly across the kinds.

    Every defective record has exactly one defect, and the original of a duplicate has none.
    ``render`` gives the true column text of source records, which the defects then distort.
    """
    # Duplicates add rows, so aim at defect_rate of the rows the table will have.
    total = min(round(defect_rate * rows / (1 - defect_rate / len(DEFECT_KINDS))), rows)
    per_kind = allocate(total, np.ones(len(DEFECT_KINDS)))
    chosen = rng.choice(rows, total, replace=False)
    bad_check, missing, duplicated, bad_date = np.split(chosen, np.cumsum(per_kind)[:-1])

    overrides: dict[str, list[tuple[int, str | None]]] = {}
    records: list[DefectRecord] = []

    codes = render(bad_check)[targets.code_column].tolist()
    alphabet = targets.check_alphabet
    shifts = rng.integers(1, len(alphabet), len(codes)).tolist()
    for row, code, shift in zip(bad_check.tolist(), codes, shifts, strict=True):
        wrong = alphabet[(alphabet.index(code[-1]) + shift) % len(alphabet)]
        overrides.setdefault(targets.code_column, []).append((row, code[:-1] + wrong))
        records.append(
            DefectRecord(row + 1, "bad_check_digit", targets.code_column, f"check character {wrong}, true {code[-1]}")
        )

    emptied = rng.choice(len(targets.required_columns), len(missing)).tolist()
    for row, column_index in zip(missing.tolist(), emptied, strict=True):
        column = targets.required_columns[column_index]
        overrides.setdefault(column, []).append((row, None))
        records.append(DefectRecord(row + 1, "missing_field", column, f"{column} is NULL"))

    records.extend(
        DefectRecord(rows + copy + 1, "duplicate_row", "", f"duplicate of {original + 1}")
        for copy, original in enumerate(duplicated.tolist())
    )

    true_dates = render(bad_date)[targets.date_column].tolist()
    for row, true_date, impossible in zip(
        bad_date.tolist(), true_dates, _impossible_dates(rng, true_dates, as_of), strict=True
    ):
        overrides.setdefault(targets.date_column, []).append((row, impossible))
        records.append(DefectRecord(row + 1, "impossible_date", targets.date_column, f"{impossible}, true {true_date}"))

    return Defects(
        rows=rows,
        duplicate_of=duplicated,
        overrides={column: _sorted(changes) for column, changes in sorted(overrides.items())},
        records=sorted(records, key=lambda record: record.record_key),
    )


def defect_weights(kinds: Sequence[str]) -> np.ndarray:
    """How a table's defect budget splits across ``kinds``: ``HOMOPHONE_SHARE`` to its homophone typos
    (several ``HOMOPHONE_NAME`` entries, one per name column, share it), the rest evenly to the others."""
    typo = np.array([kind == HOMOPHONE_NAME for kind in kinds], dtype=bool)
    if not typo.any():
        return np.ones(len(kinds))
    return np.where(typo, HOMOPHONE_SHARE / typo.sum(), (1 - HOMOPHONE_SHARE) / max(1, int((~typo).sum())))


def _impossible_dates(rng: np.random.Generator, true_dates: list[str], as_of: dt.date) -> list[str]:
    """Half are not calendar days (the true year with day 30 February, month 13...), half lie after ``as_of``."""
    count = len(true_dates)
    future = rng.random(count) < 0.5
    not_a_day = rng.choice(_NOT_A_CALENDAR_DAY, count).tolist()
    days_ahead = rng.integers(1, _LATEST_FUTURE_DAYS + 1, count).tolist()
    return [
        (as_of + dt.timedelta(days=ahead)).isoformat() if is_future else f"{true_date[:4]}-{month_day}"
        for true_date, is_future, month_day, ahead in zip(
            true_dates, future.tolist(), not_a_day, days_ahead, strict=True
        )
    ]


def _sorted(changes: list[tuple[int, str | None]]) -> tuple[np.ndarray, list[str | None]]:
    changes.sort(key=lambda change: change[0])
    return np.array([row for row, _ in changes], dtype=np.int64), [value for _, value in changes]
