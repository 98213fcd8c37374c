"""Homophone typos in re-keyed names: the table (same sound, covering the characters names are drawn from),
the vectorised typo (one character swapped, as its detail says, the same for a seed), and the systems that
re-key names (social insurance, courts, civil registry; the vital records in test_simulator_file_drops):
every typo recorded at its planned share, every name that differs from the truth explained by a defect."""

from __future__ import annotations

import csv
import datetime as dt
import re
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from numpy.dtypes import StringDType

from citybase.simulator import names
from citybase.simulator.civil_affairs import TRUTH_FILE, write_civil_registry
from citybase.simulator.courts import write_dishonest_debtors
from citybase.simulator.defects import HOMOPHONE_NAME, HOMOPHONE_SHARE
from citybase.simulator.market import simulate_enterprises
from citybase.simulator.population import RESIDENTS, simulate_population
from citybase.simulator.social_security import write_social_insurance

SCALE = 0.003
AS_OF = dt.date(2025, 12, 31)
DEFECT_RATE = 0.05
UNCOVERED = set("海哈葛")  # no same-sound character a name would carry
_DETAIL = re.compile(r"(\S) \(([a-z]+)([1-4])\) typed as (\S) \(([a-z]+)([1-4])\)")


def explains_homophone_typo(typed: str, true: str, detail: str) -> bool:
    """``typed`` is ``true`` with one character swapped for another of the same syllable, as ``detail`` says:
    of the same tone too, unless the table holds no other character of that syllable and tone."""
    match = _DETAIL.fullmatch(detail)
    if match is None or len(typed) != len(true):
        return False
    true_char, syllable, tone, typed_char, typed_syllable, typed_tone = match.groups()
    same_tone = {c for c, pinyin in names.HOMOPHONE_PINYIN.items() if pinyin == syllable + tone} - {true_char}
    return (
        [(t, w) for t, w in zip(true, typed, strict=True) if t != w] == [(true_char, typed_char)]
        and names.HOMOPHONE_PINYIN[true_char] == syllable + tone
        and names.HOMOPHONE_PINYIN[typed_char] == typed_syllable + typed_tone
        and typed_syllable == syllable
        and (typed_tone == tone or not same_tone)
        and typed_char in names.HOMOPHONES[true_char]
    )


def _names(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    surname = rng.choice(len(names.SURNAMES), count, p=names.surname_weights(hui=False))
    given1, given2 = names.draw_given_names(rng, rng.random(count) < 0.5, rng.integers(1940, 2025, count))
    return names.render_names(surname, given1, given2)


# ---------------------------------------------------------------- the table and the typo


def test_the_table_covers_the_characters_names_are_drawn_from():
    drawn = set("".join(names.SURNAMES.tolist())) | set("".join(names.GIVEN_CHARS.tolist())) - set(names.RARE_GIVEN)
    assert {char for char in drawn if not names.HOMOPHONES.get(char)} == UNCOVERED
    assert len(names.HOMOPHONES) > 800
    assert names.mistypable(_names(100_000, seed=1)).mean() > 0.99  # so the typo rate is the planned one


def test_every_homophone_has_the_same_syllable_and_the_same_tone_where_the_table_has_one():
    for char, alternatives in names.HOMOPHONES.items():
        pinyin = names.HOMOPHONE_PINYIN[char]
        assert re.fullmatch(r"[a-z]+[1-4]", pinyin)
        assert alternatives
        assert char not in alternatives
        tones = {names.HOMOPHONE_PINYIN[a] for a in alternatives}
        assert {t[:-1] for t in tones} == {pinyin[:-1]}, char
        assert tones == {pinyin} or pinyin not in tones, char  # other tones only where the tone has no other
    assert names.HOMOPHONES["张"] == "章彰璋漳"
    assert names.HOMOPHONES["王"] == "汪"  # wáng: no other name character; wāng is the input method's neighbour


def test_a_typo_swaps_one_character_for_a_homophone_as_its_detail_says():
    true = _names(20_000, seed=2)
    true = true[names.mistypable(true)]
    typed, details = names.mistype_names(np.random.default_rng(3), true)
    assert typed.dtype == StringDType()
    assert len(typed) == len(details) == len(true)
    positions, swapped = set(), Counter()
    for name, was, detail in zip(typed.tolist(), true.tolist(), details.tolist(), strict=True):
        assert explains_homophone_typo(name, was, detail), (name, was, detail)
        positions.add(next(i for i, (a, b) in enumerate(zip(name, was, strict=True)) if a != b))
        swapped[detail[0], detail.split(" typed as ")[1][0]] += 1
    assert {0, 1, 2} <= positions  # surnames and given names
    assert {typed for was, typed in swapped if was == "张"} == set(names.HOMOPHONES["张"])


def test_typos_are_the_same_for_a_seed_and_differ_for_another():
    true = _names(5_000, seed=4)
    true = true[names.mistypable(true)]
    first = names.mistype_names(np.random.default_rng(5), true)
    again = names.mistype_names(np.random.default_rng(5), true)
    other = names.mistype_names(np.random.default_rng(6), true)
    assert (first[0] == again[0]).all()
    assert (first[1] == again[1]).all()
    assert (first[0] != other[0]).any()


def test_mistypable_agrees_for_names_as_text_and_as_indices():
    rng = np.random.default_rng(7)
    surname = rng.integers(0, len(names.SURNAMES), 50_000)
    given1, given2 = rng.integers(0, len(names.GIVEN_CHARS), (2, 50_000))
    text = names.render_names(surname, given1, given2)
    assert (names.mistypable_parts(surname, given1, given2) == names.mistypable(text)).all()
    assert not names.mistypable(np.array(["海哈", "𠮷"], dtype=StringDType())).any()
    with pytest.raises(ValueError, match="homophone"):
        names.mistype_names(rng, np.array(["张伟", "海哈"], dtype=StringDType()))


# ---------------------------------------------------------------- the systems that re-key names


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    root = tmp_path_factory.mktemp("homophones")
    people, households = simulate_population(round(RESIDENTS * SCALE), AS_OF, 42)
    enterprises = simulate_enterprises(round(2_000_000 * SCALE), people, AS_OF, 42)
    common = {"seed": 42, "scale": SCALE, "as_of": AS_OF, "defect_rate": DEFECT_RATE, "truth_dir": root / "truth"}
    write_social_insurance(root, people, enterprises, **common)
    write_dishonest_debtors(root, people, enterprises, **common)
    write_civil_registry(root, people, households, **common)
    return root, people, households, enterprises


# table -> (store, key, truth file, name columns, the column of the ID number of each name column's person)
TABLES = {
    "insured_persons": ("hr_social_security/social_insurance.sqlite", "insured_id", "insured_persons.parquet",
                        {"name": "id_number"}),
    "dishonest_debtors": ("courts/dishonest_debtors.sqlite", "case_id", "dishonest_debtors.parquet",
                          {"name": "id_number"}),
    "marriage_registrations": ("civil_affairs/civil_registry.sqlite", "registration_id", TRUTH_FILE,
                               {"husband_name": "husband_id_number", "wife_name": "wife_id_number"}),
}  # fmt: skip


def _defects(root: Path, table: str) -> list[dict]:
    lines = []
    for path in sorted((root / "truth").glob("defects_*.csv")):
        with path.open(encoding="utf-8", newline="") as file:
            lines += [line for line in csv.DictReader(file) if line["table"] == table]
    return lines


def _records(root: Path, store: str, table: str, key: str) -> dict[int, dict]:
    with sqlite3.connect(root / store) as connection:
        connection.row_factory = sqlite3.Row
        return {row[key]: dict(row) for row in connection.execute(f"SELECT * FROM {table}")}


@pytest.mark.parametrize("table", list(TABLES))
def test_every_typo_is_recorded_and_every_name_off_the_truth_is_explained(city, table):
    root, people, *_ = city
    store, key, truth_file, name_columns = TABLES[table]
    records = _records(root, store, table, key)
    truth = {row[key]: row for row in pq.read_table(root / "truth" / truth_file).to_pylist()}
    planted = {int(line["record_key"]): line for line in _defects(root, table)}
    everyone = np.arange(len(people))
    person_names = dict(zip(people.id_numbers(everyone).tolist(), people.names(everyone).tolist(), strict=True))
    typos = 0
    for record_key, record in records.items():
        line = planted.get(record_key)
        if line is not None and line["defect_kind"] == "duplicate_row":
            original = int(line["detail"].removeprefix("duplicate of "))
            assert {**records[original], key: record_key} == record
            continue
        for column, id_column in name_columns.items():
            written, true = record[column], truth[record_key][column]
            if line is not None and line["defect_kind"] == HOMOPHONE_NAME and line["column"] == column:
                typos += 1
                assert explains_homophone_typo(written, true, line["detail"]), (written, true, line["detail"])
                # the ground truth still links the record to the person whose name was mistyped
                assert person_names[truth[record_key][id_column]] == true
            elif written != true:
                assert line is not None, (record_key, column, written, true)
                assert line["column"] == column
                assert line["defect_kind"] in {"missing_field", "stray_whitespace"}
    assert typos == sum(line["defect_kind"] == HOMOPHONE_NAME for line in planted.values())
    # The typos take their fixed share of the table's defects, which are the defect rate of its records.
    assert abs(typos - HOMOPHONE_SHARE * len(planted)) < len(name_columns)  # rounding, one share per column
    assert typos / len(truth) == pytest.approx(DEFECT_RATE * HOMOPHONE_SHARE, abs=0.003)


def test_typos_are_the_same_for_a_seed(city, tmp_path):
    root, people, households, enterprises = city
    common = {"seed": 42, "scale": SCALE, "as_of": AS_OF, "defect_rate": DEFECT_RATE, "truth_dir": tmp_path / "truth"}
    write_social_insurance(tmp_path, people, enterprises, **common)
    write_dishonest_debtors(tmp_path, people, enterprises, **common)
    write_civil_registry(tmp_path, people, households, **common)
    for table in TABLES:
        assert _defects(tmp_path, table) == _defects(root, table)
    other = tmp_path / "other"
    write_social_insurance(other, people, enterprises, **{**common, "seed": 43, "truth_dir": other / "truth"})
    typos = [line for line in _defects(root, "insured_persons") if line["defect_kind"] == HOMOPHONE_NAME]
    assert typos != [line for line in _defects(other, "insured_persons") if line["defect_kind"] == HOMOPHONE_NAME]
