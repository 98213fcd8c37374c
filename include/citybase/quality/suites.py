"""Helpers for writing gate suites as code (``expectations/<dataset>.py``).

Every expectation carries a severity in its ``meta``: a failed *critical* expectation blocks
publication, a failed *warning* is reported only. Thresholds that depend on the run (the rows the
previous version had) are GX suite parameters, filled in by the gate.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation

from citybase.quality.verdict import CRITICAL, WARNING

# Suite parameter: the fewest rows a new version may have (a fraction of the live version's rows).
MIN_ROW_COUNT = {"$PARAMETER": "min_row_count"}


def critical(expectation: Expectation, why: str) -> Expectation:
    expectation.meta = {**(expectation.meta or {}), "severity": CRITICAL, "why": why}
    return expectation


def warning(expectation: Expectation, why: str) -> Expectation:
    expectation.meta = {**(expectation.meta or {}), "severity": WARNING, "why": why}
    return expectation


@dataclass(frozen=True)
class SuiteContext:
    """What a suite may refer to besides its own table: other relations in the warehouse."""

    relations: dict[str, str]  # dbt model name -> quoted "schema"."identifier"

    def relation(self, model: str) -> str:
        if model not in self.relations:
            raise KeyError(f"suite refers to model {model!r}, not in the dbt manifest")
        return self.relations[model]


def share_of_rejected_at_most(quarantine: str, limit: float, description: str) -> Expectation:
    """Rows returned (one) when the quarantine holds more than ``limit`` of the records of this batch's source."""
    query = (
        f"select rejected, published from (select count(*) as rejected from {quarantine}) as q, "
        f"(select count(*) as published from {{batch}}) as p where rejected > {limit} * (rejected + published)"
    )
    return gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=query, description=description)


@dataclass(frozen=True)
class SuiteDefinition:
    dataset: str
    build: Callable[[SuiteContext], list[Expectation]]


def load_suite(expectations_dir: Path, dataset: str) -> SuiteDefinition:
    """Import ``expectations/<dataset>.py``; it defines ``expectations(context) -> list``."""
    path = expectations_dir / f"{dataset}.py"
    if not path.exists():
        raise FileNotFoundError(f"no gate suite for {dataset}: expected {path}")
    spec = importlib.util.spec_from_file_location(f"citybase_suites.{dataset}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return SuiteDefinition(dataset, module.expectations)
