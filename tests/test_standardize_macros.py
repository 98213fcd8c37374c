"""The standardising macros (dbt_project/macros/standardize.sql) read re-keyed text as its clerk meant it:
any date in any of the five formats, with full-width digits and stray blanks, is that date; a day that is
not in the calendar is NULL; a code typed in full width, lower case or with blanks is the code. Compiled
once by dbt for each target, then evaluated on batches drawn by hypothesis."""

from __future__ import annotations

import datetime as dt

import duckdb
import psycopg2
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from citybase.simulator.drops import other_date_format, to_fullwidth
from tests.dbt_inline import compile_inline
from tests.servers import server_url

MACROS_SQL = """
select
    i,
    {{ clean_text('v') }} as clean_text,
    {{ clean_code('v') }} as clean_code,
    {{ date_text_to_iso('v') }} as iso_text,
    {{ parse_date_text('v') }} as parsed_date
from values_under_test
order by i
"""
BLANKS = ("", " ", "\u3000", "\t", " \u3000")


@pytest.fixture(scope="module")
def duckdb_sql(tmp_path_factory) -> str:
    return compile_inline(MACROS_SQL, tmp_path_factory.mktemp("standardize"))


def evaluate(sql: str, values: list[str | None]) -> list[tuple]:
    with duckdb.connect() as connection:
        connection.register(
            "values_under_test", pa.table({"i": range(len(values)), "v": pa.array(values, pa.string())})
        )
        return [row[1:] for row in connection.execute(sql).fetchall()]


def written(day: dt.date, style: int) -> str:
    """The date as a clerk may have typed it: ISO, or one of the four other formats the departments use."""
    return day.isoformat() if style == 4 else other_date_format(day, style)


dates = st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))
typings = st.tuples(st.integers(0, 4), st.booleans(), st.sampled_from(BLANKS), st.sampled_from(BLANKS))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(dates, typings), min_size=1, max_size=50))
def test_a_date_typed_any_way_is_that_date(duckdb_sql, cases):
    values = []
    for day, (style, full_width, before, after) in cases:
        text = written(day, style)
        values.append(before + (to_fullwidth(text) if full_width else text) + after)
    results = evaluate(duckdb_sql, values)
    assert [parsed for *_, parsed in results] == [day for day, _ in cases], values
    assert [iso for _, _, iso, _ in results] == [day.isoformat() for day, _ in cases]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1900, 2099), st.sampled_from(["02-30", "02-31", "04-31", "13-01", "00-10"]),
                          st.integers(0, 4)), min_size=1, max_size=30))  # fmt: skip
def test_a_day_not_in_the_calendar_is_null(duckdb_sql, cases):
    values = []
    for year, month_day, style in cases:
        month, day = (int(part) for part in month_day.split("-"))
        values.append(
            [f"{year}-{month:02d}-{day:02d}", f"{year}/{month}/{day}", f"{year}{month:02d}{day:02d}",
             f"{year}年{month}月{day}日", f"{year}.{month:02d}.{day:02d}"][style]
        )  # fmt: skip
    assert [parsed for *_, parsed in evaluate(duckdb_sql, values)] == [None] * len(values), values


codes = st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=1, max_size=18)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(codes, st.booleans(), st.booleans(), st.sampled_from(BLANKS), st.sampled_from(BLANKS)),
                min_size=1, max_size=50))  # fmt: skip
def test_a_code_typed_in_full_width_lower_case_or_with_blanks_is_the_code(duckdb_sql, cases):
    values = []
    for code, full_width, lower, before, after in cases:
        typed = code.lower() if lower else code
        values.append(before + (to_fullwidth(typed) if full_width else typed) + after)
    results = evaluate(duckdb_sql, values)
    assert [cleaned for _, cleaned, *_ in results] == [code for code, *_ in cases], values


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), min_size=1, max_size=50))
def test_cleaning_is_idempotent_and_blank_is_null(duckdb_sql, values):
    once = [text for text, *_ in evaluate(duckdb_sql, values)]
    assert [text for text, *_ in evaluate(duckdb_sql, once)] == once
    assert all(text is None or (text and text == text.strip(" \t\r\n\u3000")) for text in once)
    blanks = [before + after for before in BLANKS for after in BLANKS]
    assert [text for text, *_ in evaluate(duckdb_sql, blanks)] == [None] * len(blanks)


@pytest.mark.server
def test_postgresql_gives_the_same_answers(duckdb_sql, tmp_path):
    """The macros' PostgreSQL form (btrim, ~) agrees with DuckDB value for value."""
    postgres_sql = compile_inline(MACROS_SQL, tmp_path, target="postgres")
    days = [dt.date(1900, 1, 1) + dt.timedelta(days=37 * n) for n in range(200)]
    values = [written(day, n % 5) for n, day in enumerate(days)]
    values += [to_fullwidth(v) for v in values[:50]] + [
        "\u3000 2019-02-30 ",
        " 41010119900101123x\u3000",
        "",
        None,
        "tt",
    ]
    url = make_url(server_url("postgresql")).set(drivername="postgresql")
    sql = (
        "with values_under_test as (select v, i - 1 as i from unnest(%s::text[]) with ordinality as t (v, i)) "
        + postgres_sql.replace("%", "%%")
    )
    with psycopg2.connect(url.render_as_string(hide_password=False)) as connection, connection.cursor() as cursor:
        cursor.execute(sql, (values,))
        postgres = [row[1:] for row in cursor.fetchall()]
    assert postgres == evaluate(duckdb_sql, values)
