"""The dbt validator macros (dbt_project/macros/codes/) agree with the Python reference
(citybase.codes): the macros are compiled once by dbt, then evaluated in DuckDB on whole batches of
valid codes, codes with one character changed, and random strings."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import string

import duckdb
import psycopg2
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from citybase.codes import (
    ZHENGZHOU_DIVISIONS,
    division_code_problem,
    id_number_check_char,
    id_number_problem,
    organization_code_check_char,
    uscc_check_char,
    uscc_problem,
)
from citybase.codes.division import OBSOLETE_ZHENGZHOU_CODES, PROVINCE_CODES, ZHENGZHOU_CITY_CODE
from citybase.codes.uscc import AUTHORITY_TYPES, USCC_ALPHABET
from tests.dbt_inline import compile_inline
from tests.servers import server_url

# One query evaluating every macro on the column v of the table values_under_test.
CHECKS_SQL = """
select
    i,
    {{ id_number_problem('v') }} as id_number_problem,
    {{ id_number_is_valid('v') }} as id_number_is_valid,
    {{ uscc_problem('v') }} as uscc_problem,
    {{ uscc_is_valid('v') }} as uscc_is_valid,
    {{ division_code_problem('v') }} as division_code_problem,
    {{ division_code_problem('v', allow_obsolete=true) }} as division_code_problem_allowing_obsolete,
    {{ division_code_is_valid('v') }} as division_code_is_valid,
    {{ text_to_date('v') }} as text_to_date,
    '{{ tojson(province_codes()) }}' as province_codes,
    '{{ tojson(zhengzhou_current_division_codes()) }}' as zhengzhou_codes,
    '{{ tojson(zhengzhou_obsolete_division_codes()) }}' as obsolete_codes,
    '{{ tojson(uscc_authority_types()) }}' as authority_types
from values_under_test
order by i
"""

ZHENGZHOU_CODES = ["410100", "410107", *(d.code for d in ZHENGZHOU_DIVISIONS)]
NOISE = string.digits + "XxABIOSVZ -０一"  # look-alikes, lower case, excluded letters, full-width, CJK


@pytest.fixture(scope="module")
def checks_sql(tmp_path_factory) -> str:
    sql = compile_inline(CHECKS_SQL, tmp_path_factory.mktemp("dbt_compile"))
    assert "{{" not in sql
    assert "position(" in sql
    return sql


def evaluate(checks_sql: str, values: list[str | None]) -> list[dict]:
    con = duckdb.connect()
    con.register("values_under_test", pa.table({"i": range(len(values)), "v": pa.array(values, pa.string())}))
    cursor = con.execute(checks_sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def python_iso_date(value: str | None) -> dt.date | None:
    if value is None or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return None
    try:
        return dt.date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        return None


def assert_agrees(checks_sql: str, values: list[str | None]) -> None:
    for value, sql in zip(values, evaluate(checks_sql, values), strict=True):
        expected_id = id_number_problem(value)
        assert sql["id_number_problem"] == expected_id, value
        assert sql["id_number_is_valid"] is (expected_id is None), value

        expected_uscc = uscc_problem(value)
        if expected_uscc is not None and expected_uscc.startswith("characters "):
            # the SQL text does not list the offending characters
            assert sql["uscc_problem"].startswith("characters "), (value, sql["uscc_problem"])
        else:
            assert sql["uscc_problem"] == expected_uscc, value
        assert sql["uscc_is_valid"] is (expected_uscc is None), value

        expected_division = division_code_problem(value)
        assert sql["division_code_problem"] == expected_division, value
        assert sql["division_code_is_valid"] is (expected_division is None), value
        allowing = division_code_problem(value, allow_obsolete=True)
        assert sql["division_code_problem_allowing_obsolete"] == allowing, value

        assert sql["text_to_date"] == python_iso_date(value), value


# ---------------------------------------------------------------- generators

digits = st.text(string.digits, min_size=1, max_size=1)
provinces = st.sampled_from(sorted(PROVINCE_CODES))
divisions = st.one_of(
    st.sampled_from(ZHENGZHOU_CODES),
    st.builds(lambda p, rest: p + rest, provinces, st.text(string.digits, min_size=4, max_size=4)),
    st.text(string.digits, min_size=6, max_size=6),
)
birth_dates = st.dates(dt.date(1800, 1, 1), dt.date.today()).map(lambda d: d.strftime("%Y%m%d"))
# edges of the calendar: leap-year centuries, the range limits, month ends and impossible parts
edge_years = st.one_of(
    st.sampled_from(["0000", "0001", "1799", "1800", "1900", "2000", "2023", "2024", "2100", "9999"]),
    st.text(string.digits, min_size=4, max_size=4),
)
edge_months = st.sampled_from([f"{m:02d}" for m in range(14)])
edge_days = st.sampled_from(["00", "01", "28", "29", "30", "31", "32"])
raw_birth_dates = st.one_of(
    st.text(string.digits, min_size=8, max_size=8),
    st.builds("{}{}{}".format, edge_years, edge_months, edge_days),
)


@st.composite
def valid_id_numbers(draw, birth=birth_dates):
    first17 = draw(divisions) + draw(birth) + draw(st.text(string.digits, min_size=3, max_size=3))
    return first17 + id_number_check_char(first17)


@st.composite
def valid_usccs(draw):
    authority = draw(st.sampled_from(sorted(AUTHORITY_TYPES)))
    entity_type = draw(st.sampled_from(AUTHORITY_TYPES[authority]))
    body = draw(st.text(USCC_ALPHABET, min_size=8, max_size=8))
    first17 = authority + entity_type + draw(divisions) + body + organization_code_check_char(body)
    return first17 + uscc_check_char(first17)


@st.composite
def mutated(draw, codes, alphabet):
    """A code with one character replaced (possibly by itself), dropped or doubled."""
    code = draw(codes)
    i = draw(st.integers(0, len(code) - 1))
    how = draw(st.sampled_from(["replace", "replace", "replace", "drop", "double"]))
    if how == "drop":
        return code[:i] + code[i + 1 :]
    if how == "double":
        return code[:i] + code[i] + code[i:]
    return code[:i] + draw(st.sampled_from(alphabet)) + code[i + 1 :]


codes = st.one_of(
    valid_id_numbers(),
    valid_id_numbers(birth=raw_birth_dates),
    mutated(valid_id_numbers(), string.digits + "Xx"),
    valid_usccs(),
    mutated(valid_usccs(), USCC_ALPHABET + "IOSVZa"),
    divisions,
    st.text(NOISE, max_size=20),
    st.text(string.digits + "X", min_size=18, max_size=18),
    st.text(USCC_ALPHABET, min_size=18, max_size=18),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat),
    st.builds("{}-{}-{}".format, edge_years, edge_months, edge_days),
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20),
    st.none(),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: the assertion names the value
)
@given(values=st.lists(codes, min_size=20, max_size=120))
def test_macros_agree_with_the_reference(checks_sql, values):
    assert_agrees(checks_sql, values)


# ---------------------------------------------------------------- a seeded bulk batch


def seeded_values(seed: int, n: int) -> list[str]:
    """Valid codes, the same with one character changed, and random strings: a third each."""
    rng = random.Random(seed)
    provinces_ = sorted(PROVINCE_CODES)
    values = []
    for _ in range(n // 6):
        division = rng.choice([rng.choice(ZHENGZHOU_CODES), rng.choice(provinces_) + f"{rng.randrange(10_000):04d}"])
        birth = dt.date(1800, 1, 1) + dt.timedelta(days=rng.randrange((dt.date.today() - dt.date(1800, 1, 1)).days))
        first17 = division + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
        id_number = first17 + id_number_check_char(first17)
        authority = rng.choice(sorted(AUTHORITY_TYPES))
        body = "".join(rng.choices(USCC_ALPHABET, k=8))
        first17 = authority + rng.choice(AUTHORITY_TYPES[authority]) + division + body
        first17 += organization_code_check_char(body)
        uscc = first17 + uscc_check_char(first17)
        values += [id_number, uscc]
        for code, alphabet in ((id_number, string.digits + "X"), (uscc, USCC_ALPHABET)):
            i = rng.randrange(18)
            values.append(code[:i] + rng.choice(alphabet) + code[i + 1 :])
        values += ["".join(rng.choices(NOISE, k=rng.randrange(25))) for _ in range(2)]
    # every month end of a few leap and common years, as ISO dates and inside ID numbers
    for year in (1800, 1900, 2000, 2023, 2024):
        for month in range(13):
            for day in (0, 28, 29, 30, 31, 32):
                values.append(f"{year:04d}-{month:02d}-{day:02d}")
                first17 = f"410105{year:04d}{month:02d}{day:02d}123"
                values.append(first17 + id_number_check_char(first17))
    return values


def test_macros_agree_on_a_seeded_bulk_batch(checks_sql):
    values = seeded_values(seed=20251231, n=12_000)
    assert sum(id_number_problem(v) is None for v in values) > 1_500  # the valid third is there
    assert sum(uscc_problem(v) is None for v in values) > 1_500
    assert_agrees(checks_sql, values)


def test_code_lists_match_the_reference(checks_sql):
    [row] = evaluate(checks_sql, [None])
    assert sorted(json.loads(row["province_codes"])) == sorted(PROVINCE_CODES)
    current = [ZHENGZHOU_CITY_CODE, *(d.code for d in ZHENGZHOU_DIVISIONS)]
    assert sorted(json.loads(row["zhengzhou_codes"])) == sorted(current)
    assert json.loads(row["obsolete_codes"]) == OBSOLETE_ZHENGZHOU_CODES
    assert json.loads(row["authority_types"]) == AUTHORITY_TYPES


def test_gb_examples(checks_sql):
    examples = ["11010519491231002X", "440524188001010014", "91350100M000100Y43"]
    rows = evaluate(checks_sql, examples)
    assert [r["id_number_is_valid"] for r in rows] == [True, True, False]
    assert [r["uscc_is_valid"] for r in rows] == [False, False, True]
    assert_agrees(checks_sql, examples)


def test_odd_inputs(checks_sql):
    values = [None, "", " ", "11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ", "11010519490229002X",
              "11010520000229002X", "91350100M000100Y4", "91350100M000100Y43 ", "410107", "410100", "410199",
              "110010", "2019-02-30", "2000-02-29", "1900-02-29", "0000-01-01", "2019-2-3"]  # fmt: skip
    assert_agrees(checks_sql, values)


@pytest.mark.server
def test_postgresql_gives_the_same_answers(checks_sql):
    """The macros are portable: PostgreSQL agrees with DuckDB value for value."""
    url = make_url(server_url("postgresql")).set(drivername="postgresql")
    con = psycopg2.connect(url.render_as_string(hide_password=False))
    values = [*seeded_values(seed=7, n=3_000), None, "", "2019-02-30", "410107"]
    sql = (
        "with values_under_test as (select v, i - 1 as i from unnest(%s::text[]) with ordinality as t (v, i)) "
        + checks_sql.replace("%", "%%")
    )
    with con, con.cursor() as cursor:
        cursor.execute(sql, (values,))
        names = [d[0] for d in cursor.description]
        postgres = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    con.close()
    assert postgres == evaluate(checks_sql, values)
