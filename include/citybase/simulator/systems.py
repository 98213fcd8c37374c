"""The simulated department systems: where each lives, its tables, and what its defects touch.

The schemas are the contract with the connectors that extract from these systems later.
"""

from __future__ import annotations

from citybase.codes.id_number import ID_CHECK_CHARS
from citybase.codes.uscc import USCC_ALPHABET
from citybase.simulator.defects import DefectTargets
from citybase.simulator.writer import Table

HUKOU = ("public_security", "hukou")  # (department, system); the file is <department>/<system>.sqlite
BUSINESS_REGISTRY = ("market_regulation", "business_registry")

HOUSEHOLDS = Table(
    name="households",
    ddl="""
        CREATE TABLE households (
            household_id TEXT PRIMARY KEY,
            household_type TEXT,
            head_id_number TEXT,
            division_code TEXT,
            address TEXT,
            registered_at TEXT,
            updated_at TEXT
        )""",
    key="household_id",
    columns=("household_type", "head_id_number", "division_code", "address", "registered_at", "updated_at"),
    indexes=("updated_at",),
)

PERSONS = Table(
    name="persons",
    ddl="""
        CREATE TABLE persons (
            person_id INTEGER PRIMARY KEY,
            id_number TEXT,
            name TEXT,
            sex TEXT,
            birth_date TEXT,
            ethnicity TEXT,
            household_id TEXT REFERENCES households (household_id),
            division_code TEXT,
            address TEXT,
            registered_at TEXT,
            updated_at TEXT
        )""",
    key="person_id",
    columns=(
        "id_number",
        "name",
        "sex",
        "birth_date",
        "ethnicity",
        "household_id",
        "division_code",
        "address",
        "registered_at",
        "updated_at",
    ),
    indexes=("updated_at",),
)
PERSON_DEFECTS = DefectTargets(
    code_column="id_number",
    check_alphabet=ID_CHECK_CHARS,
    required_columns=("name", "birth_date", "sex"),
    date_column="birth_date",
)
PERSON_TRUTH_COLUMNS = ("id_number", "name", "sex", "birth_date", "ethnicity", "division_code", "household_id")

ENTERPRISES = Table(
    name="enterprises",
    ddl="""
        CREATE TABLE enterprises (
            enterprise_id INTEGER PRIMARY KEY,
            uscc TEXT,
            name TEXT,
            entity_type TEXT,
            status TEXT,
            registered_capital REAL,
            established_on TEXT,
            division_code TEXT,
            address TEXT,
            legal_rep_id_number TEXT,
            legal_rep_name TEXT,
            updated_at TEXT
        )""",
    key="enterprise_id",
    columns=(
        "uscc",
        "name",
        "entity_type",
        "status",
        "registered_capital",
        "established_on",
        "division_code",
        "address",
        "legal_rep_id_number",
        "legal_rep_name",
        "updated_at",
    ),
    indexes=("updated_at",),
)
ENTERPRISE_DEFECTS = DefectTargets(
    code_column="uscc",
    check_alphabet=USCC_ALPHABET,
    required_columns=("name", "legal_rep_id_number"),
    date_column="established_on",
)
ENTERPRISE_TRUTH_COLUMNS = (
    "uscc",
    "name",
    "entity_type",
    "status",
    "established_on",
    "division_code",
    "legal_rep_id_number",
)
