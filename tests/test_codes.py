"""The national code rules: the standards' own examples, and laws that must hold for every code."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybase.codes import (
    division_code_problem,
    id_number_check_char,
    id_number_problem,
    organization_code_check_char,
    uscc_check_char,
    uscc_problem,
)
from citybase.codes.uscc import ORG_ALPHABET, USCC_ALPHABET


@pytest.mark.parametrize("value", ["11010519491231002X", "440524188001010014"])
def test_standard_examples_of_id_numbers(value):
    """The examples printed in GB 11643-1999, one of them with the check character X."""
    assert id_number_problem(value) is None


def test_standard_example_of_uscc():
    assert uscc_problem("91350100M000100Y43") is None
    assert organization_code_check_char("M000100Y") == "4"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "check character 1, expected X"),
        ("11010519491231002x", "expected 17 digits then a digit or X"),
        ("11010519490229002X", "not a calendar date"),
        ("1101051949123100", "length 16"),
        ("99010519491231002X", "unknown province"),
        ("", "missing"),
        ("11010520991231002X", "out of range"),
    ],
)
def test_id_number_reasons(value, reason):
    assert reason in id_number_problem(value, today=dt.date(2025, 12, 31))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91350100M000100Y44", "check character 4, expected 3"),
        ("91350100M000100I43", "not in the USCC alphabet"),
        ("81350100M000100Y43", "unknown registration authority"),
        ("94350100M000100Y43", "entity type 4 not issued"),
        ("91350100M000100Y4", "length 17"),
    ],
)
def test_uscc_reasons(value, reason):
    assert reason in uscc_problem(value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("410105", None),
        ("410100", None),
        ("410107", "obsolete"),
        ("410199", "not a Zhengzhou"),
        ("990101", "province"),
    ],
)
def test_division_codes(value, problem):
    result = division_code_problem(value)
    assert result is None if problem is None else problem in result


def test_obsolete_division_code_is_accepted_where_old_ids_need_it():
    assert division_code_problem("410107", allow_obsolete=True) is None


birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31))
provinces = st.sampled_from(["11", "31", "41", "44", "65"])


@st.composite
def id_numbers(draw):
    body = (
        draw(provinces)
        + draw(st.text("0123456789", min_size=4, max_size=4))
        + draw(birth_dates).strftime("%Y%m%d")
        + draw(st.text("0123456789", min_size=3, max_size=3))
    )
    return body + id_number_check_char(body)


@st.composite
def usccs(draw):
    head = (
        draw(st.sampled_from(["91", "92", "93", "11", "51", "Y1"]))
        + "4101"
        + draw(st.text("0123456789", min_size=2, max_size=2))
    )
    body = draw(st.text(USCC_ALPHABET, min_size=8, max_size=8))
    first17 = head + body + organization_code_check_char(body)
    return first17 + uscc_check_char(first17)


@given(id_numbers())
def test_every_generated_id_number_is_valid(value):
    assert id_number_problem(value) is None


@given(id_numbers(), st.integers(min_value=0, max_value=16), st.sampled_from("0123456789"))
def test_changing_one_digit_breaks_the_id_check(value, position, digit):
    """MOD 11-2 detects every single-digit substitution."""
    changed = value[:position] + digit + value[position + 1 :]
    if changed != value:
        assert id_number_problem(changed) is not None


@given(id_numbers(), st.integers(min_value=0, max_value=15))
def test_swapping_adjacent_digits_breaks_the_id_check(value, position):
    """MOD 11-2 detects every transposition of adjacent different digits."""
    swapped = value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    if swapped != value:
        assert id_number_problem(swapped) is not None


@given(usccs())
def test_every_generated_uscc_is_valid(value):
    assert uscc_problem(value) is None


@given(usccs(), st.integers(min_value=0, max_value=16), st.sampled_from(USCC_ALPHABET))
def test_changing_one_character_breaks_the_uscc_check(value, position, char):
    changed = value[:position] + char + value[position + 1 :]
    if changed != value:
        assert uscc_problem(changed) is not None


@given(st.text(ORG_ALPHABET, min_size=8, max_size=8))
def test_organization_check_char_is_a_digit_or_x(body):
    assert organization_code_check_char(body) in "0123456789X"


@given(st.text(max_size=20))
def test_validators_never_raise_on_arbitrary_text(value):
    for problem in (id_number_problem, uscc_problem, division_code_problem):
        result = problem(value)
        assert result is None or isinstance(result, str)
