"""Run a dataset's suite against the warehouse and decide: publish or block.

Validation runs through a GX file context under the reports folder, so every result is kept and
Data Docs are rebuilt for the data stewards. Expectations execute as SQL inside the warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction

from citybase.quality import duckdb_datasource  # noqa: F401 - registers the "duckdb" datasource type with GX
from citybase.quality.suites import CRITICAL, SuiteContext, load_suite
from citybase.quality.verdict import ExpectationOutcome, GateVerdict
from citybase.settings import Settings
from citybase.warehouse import MartSpec

log = logging.getLogger(__name__)

ROW_COUNT_FLOOR = 0.9  # a new version may not lose more than 10 % of the live version's rows
# Sample values are withheld from reports: the checked columns hold personal data.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}


def _observed(result: dict) -> str:
    if "observed_value" in result and result["observed_value"] is not None:
        return str(result["observed_value"])
    if "unexpected_count" in result:
        return f"{result['unexpected_count']} unexpected of {result.get('element_count')}"
    return ""


def run_gate(
    settings: Settings,
    mart: MartSpec,
    relations: dict[str, str],
    previous_row_count: int | None,
) -> GateVerdict:
    """Validate ``mart`` with ``expectations/<mart>.py``; write the verdict and Data Docs."""
    suite_definition = load_suite(settings.expectations_dir, mart.name)
    expectations = suite_definition.build(SuiteContext(relations))
    context = gx.get_context(mode="file", project_root_dir=str(settings.reports_dir))
    datasource = context.data_sources.add_or_update_duckdb(
        name="warehouse",
        connection_string=f"duckdb:///{settings.warehouse_path}",
        kwargs={"connect_args": {"read_only": True}},
    )
    asset = datasource.add_table_asset(name=mart.name, table_name=mart.identifier, schema_name=mart.schema)
    batch_definition = asset.add_batch_definition_whole_table(name="whole_table")
    suite = context.suites.add_or_update(gx.ExpectationSuite(name=f"{mart.name}_gate", expectations=expectations))
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{mart.name}_gate", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{mart.name}_gate",
            validation_definitions=[validation],
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            result_format=RESULT_FORMAT,
        )
    )
    floor = int(previous_row_count * ROW_COUNT_FLOOR) if previous_row_count else 1
    result = checkpoint.run(expectation_parameters={"min_row_count": floor})
    (validation_result,) = result.run_results.values()

    outcomes = []
    for r in validation_result.results:
        config, meta = r.expectation_config, r.expectation_config.meta or {}
        errored = bool(r.exception_info and r.exception_info.get("raised_exception"))
        observed = f"error: {r.exception_info.get('exception_message')}" if errored else _observed(r.result or {})
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=config.kwargs.get("column"),
                severity=meta.get("severity", CRITICAL),  # unlabelled expectations block: fail safe
                why=meta.get("why", config.description or ""),
                success=bool(r.success),
                observed=observed,
            )
        )
    checked_at = dt.datetime.now(dt.UTC)
    report = settings.reports_dir / "gate" / mart.name / f"{checked_at:%Y%m%dT%H%M%S%fZ}.json"
    docs = settings.reports_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    verdict = GateVerdict(
        dataset=mart.name,
        passed=not any(not o.success and o.severity == CRITICAL for o in outcomes),
        checked_at=checked_at.isoformat(),
        outcomes=tuple(outcomes),
        report=str(report),
        data_docs=str(docs) if docs.exists() else None,
    )
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(asdict(verdict), ensure_ascii=False, indent=2), "utf-8")
    log.info(
        "gate %s: %s (%s)",
        mart.name,
        "passed" if verdict.passed else "BLOCKED",
        verdict.reason() or "all critical",
    )
    return verdict
