"""Gate suite for the legal-entity base mart (法人基础信息): one row per market entity."""

import great_expectations as gx

from citybase.codes import ZHENGZHOU_DIVISIONS
from citybase.quality.expectations import ExpectColumnValuesToBeValidIdNumber, ExpectColumnValuesToBeValidUscc
from citybase.quality.suites import MIN_ROW_COUNT, SuiteContext, critical, share_of_rejected_at_most, warning

E = gx.expectations


def expectations(context: SuiteContext) -> list:
    return [
        critical(
            E.ExpectTableRowCountToBeBetween(min_value=MIN_ROW_COUNT),
            "a new version may not lose more than 10 % of the live version's entities",
        ),
        critical(
            share_of_rejected_at_most(
                context.relation("quarantine_enterprises"),
                0.05,
                "at most 5 % of registry records quarantined",
            ),
            "a spike in rejected records means a broken extract, not a changed city",
        ),
        critical(E.ExpectColumnValuesToNotBeNull(column="uscc"), "the USCC is the legal-entity key"),
        critical(E.ExpectColumnValuesToBeUnique(column="uscc"), "one row per entity"),
        critical(ExpectColumnValuesToBeValidUscc(column="uscc"), "GB 32100 check characters"),
        critical(E.ExpectColumnValuesToNotBeNull(column="name"), "an entity has a registered name"),
        critical(
            ExpectColumnValuesToBeValidIdNumber(column="legal_rep_id_number"),
            "the legal representative is identified by a valid ID number",
        ),
        critical(
            E.ExpectColumnValuesToBeInSet(column="division_code", value_set=[d.code for d in ZHENGZHOU_DIVISIONS]),
            "registered in one of Zhengzhou's 12 county-level divisions",
        ),
        warning(
            E.ExpectColumnValuesToBeInSet(column="legal_rep_in_population", value_set=[True], mostly=0.95),
            "legal representatives should resolve to residents in the population base",
        ),
        warning(
            E.ExpectColumnValuesToBeBetween(column="registered_capital", min_value=0, max_value=10_000_000),
            "registered capital in 10k yuan; negative or absurd values are entry errors",
        ),
    ]
