"""Custom GX expectations for the national codes, evaluated in the database.

Each is a column-map expectation, so Data Docs show the unexpected share and sample values like
any built-in one. The SQL implementation is ``citybase.quality.code_conditions``; the pandas one
(for small in-memory checks) is the Python reference itself.
"""

from __future__ import annotations

from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine, SqlAlchemyExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

from citybase.codes import id_number_problem, uscc_problem
from citybase.quality.code_conditions import id_number_is_valid, uscc_is_valid


class ColumnValuesValidIdNumber(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_gb11643_id_number"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(self, column, **kwargs):
        return column.map(lambda value: id_number_problem(value) is None)

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(self, column, **kwargs):
        return id_number_is_valid(column)


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_gb32100_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(self, column, **kwargs):
        return column.map(lambda value: uscc_problem(value) is None)

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(self, column, **kwargs):
        return uscc_is_valid(column)


class ExpectColumnValuesToBeValidIdNumber(ColumnMapExpectation):
    """Expect column values to be GB 11643 citizen ID numbers: shape, province, birth date, check character."""

    map_metric = "column_values.valid_gb11643_id_number"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Expect column values to be GB 32100 unified social credit codes, organisation-code check included."""

    map_metric = "column_values.valid_gb32100_uscc"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
