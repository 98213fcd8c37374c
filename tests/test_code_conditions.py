"""The SQL the gate pushes into the warehouse agrees with the Python reference, value for value."""

import datetime as dt
import random

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from citybase.codes import (
    id_number_check_char,
    id_number_problem,
    organization_code_check_char,
    uscc_check_char,
    uscc_problem,
)
from citybase.codes.uscc import USCC_ALPHABET
from citybase.quality.code_conditions import id_number_is_valid, uscc_is_valid
from tests.servers import server_url

TODAY = dt.date(2025, 12, 31)


def _valid_id(rng: random.Random) -> str:
    birth = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(45_000))
    body = rng.choice(["41", "11", "44"]) + f"{rng.randrange(10_000):04d}" + birth.strftime("%Y%m%d")
    body += f"{rng.randrange(1000):03d}"
    return body + id_number_check_char(body)


def _valid_uscc(rng: random.Random) -> str:
    head = rng.choice(["91", "92", "93", "11", "Y1"]) + "4101" + f"{rng.randrange(100):02d}"
    body = "".join(rng.choice(USCC_ALPHABET) for _ in range(8))
    first17 = head + body + organization_code_check_char(body)
    return first17 + uscc_check_char(first17)


def _mutate(value: str, rng: random.Random, alphabet: str) -> str:
    position = rng.randrange(len(value))
    return value[:position] + rng.choice(alphabet) + value[position + 1 :]


def corpus(seed: int, make, alphabet: str) -> list[str | None]:
    """Valid codes, one-character mutations, truncations, lower case, full-width digits, junk and NULL."""
    rng = random.Random(seed)
    values: list[str | None] = [None, "", "x" * 18, "１１０１０５１９４９１２３１００２Ｘ"]
    for _ in range(300):
        valid = make(rng)
        values += [valid, _mutate(valid, rng, alphabet + "xIOZSV"), valid[:-1], valid.lower(), valid + "0"]
    return values


def _evaluate(engine: sa.Engine, condition, values: list[str | None]) -> list[bool]:
    column = sa.column("v", sa.String)
    rows = sa.values(sa.column("i", sa.Integer), column, name="t").data(list(enumerate(values)))
    query = sa.select(rows.c.i, sa.func.coalesce(condition(rows.c.v), False)).order_by(rows.c.i)
    with engine.connect() as connection:
        return [bool(valid) for _, valid in connection.execute(query)]


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def engine(request):
    url = "duckdb:///:memory:" if request.param == "duckdb" else server_url("postgresql")
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_id_number_sql_agrees_with_python(engine, seed):
    values = corpus(seed, _valid_id, "0123456789X")
    expected = [v is not None and id_number_problem(v, today=TODAY) is None for v in values]
    assert _evaluate(engine, lambda c: id_number_is_valid(c, today=TODAY), values) == expected


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_uscc_sql_agrees_with_python(engine, seed):
    values = corpus(seed, _valid_uscc, USCC_ALPHABET)
    expected = [v is not None and uscc_problem(v) is None for v in values]
    assert _evaluate(engine, uscc_is_valid, values) == expected


def test_leap_days_in_sql(engine):
    values = ["11010520000229" + "0001", "11010519000229" + "0001", "11010520240229" + "0001"]
    values = [v[:17] + id_number_check_char(v[:17]) for v in values]
    assert _evaluate(engine, lambda c: id_number_is_valid(c, today=TODAY), values) == [True, False, True]
