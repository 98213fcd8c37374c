"""National code rules (GB 11643, GB 32100, GB/T 2260) as pure Python.

The same rules are implemented as a dbt macro (``dbt_project/macros/codes/``) and as
Great Expectations column-map expectations (``citybase.quality.expectations``); property
tests keep the three in agreement with this module, which is the reference.
"""

from citybase.codes.division import ZHENGZHOU_DIVISIONS, Division, division_code_problem
from citybase.codes.id_number import id_number_check_char, id_number_problem
from citybase.codes.uscc import organization_code_check_char, uscc_check_char, uscc_problem

__all__ = [
    "ZHENGZHOU_DIVISIONS",
    "Division",
    "division_code_problem",
    "id_number_check_char",
    "id_number_problem",
    "organization_code_check_char",
    "uscc_check_char",
    "uscc_problem",
]
