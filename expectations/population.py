"""Gate suite for the population base mart (人口基础信息): one row per registered resident."""

import great_expectations as gx

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.quality.expectations import ExpectColumnValuesToBeValidIdNumber
from citybase.quality.suites import MIN_ROW_COUNT, SuiteContext, critical, share_of_rejected_at_most, warning

E = gx.expectations


def expectations(context: SuiteContext) -> list:
    return [
        critical(
            E.ExpectTableRowCountToBeBetween(min_value=MIN_ROW_COUNT),
            "a new version may not lose more than 10 % of the live version's residents",
        ),
        critical(
            share_of_rejected_at_most(
                context.relation("quarantine_persons"), 0.05, "at most 5 % of household records quarantined"
            ),
            "a spike in rejected records means a broken extract, not a changed city",
        ),
        critical(E.ExpectColumnValuesToNotBeNull(column="id_number"), "the ID number is the population key"),
        critical(E.ExpectColumnValuesToBeUnique(column="id_number"), "one row per person"),
        critical(ExpectColumnValuesToBeValidIdNumber(column="id_number"), "GB 11643 check character and birth date"),
        critical(E.ExpectColumnValuesToNotBeNull(column="name"), "a resident has a registered name"),
        critical(E.ExpectColumnValuesToBeInSet(column="sex", value_set=["1", "2"]), "GB/T 2261.1 sex codes"),
        critical(
            E.ExpectColumnValuesToBeInSet(column="division_code", value_set=[d.code for d in ZHENGZHOU_DIVISIONS]),
            "registered addresses lie in Zhengzhou's 12 county-level divisions",
        ),
        critical(E.ExpectColumnValuesToNotBeNull(column="household_id"), "every resident belongs to a household"),
        warning(
            E.ExpectColumnValuesToBeBetween(column="age", min_value=0, max_value=120),
            "ages outside 0-120 point at birth-date errors",
        ),
        warning(
            E.ExpectColumnMeanToBeBetween(column="age", min_value=30, max_value=48),
            "the census mean age is about 38; a shift means a skewed extract",
        ),
    ]
