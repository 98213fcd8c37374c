"""The ``citybase`` command as a user runs it: a real subprocess, real exit codes."""

import subprocess
import sys
from pathlib import Path

CITYBASE = Path(sys.executable).with_name("citybase")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CITYBASE), *args], capture_output=True, text=True, check=False)


def test_validate_prints_one_line_per_value_and_exits_zero_when_all_valid():
    result = run("validate", "--kind", "id_number", "11010519491231002X", "440524188001010014")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["11010519491231002X\tvalid", "440524188001010014\tvalid"]


def test_validate_names_the_reason_and_exits_one_when_any_is_invalid():
    result = run("validate", "--kind", "uscc", "91350100M000100Y43", "91350100M000100Y44")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "91350100M000100Y43\tvalid",
        "91350100M000100Y44\tinvalid\tcheck character 4, expected 3",
    ]


def test_validate_division_codes():
    result = run("validate", "--kind", "division_code", "410105", "410107")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "410105\tvalid"
    assert result.stdout.splitlines()[1].startswith("410107\tinvalid\tobsolete code")


def test_validate_rejects_an_unknown_kind():
    result = run("validate", "--kind", "passport", "E12345678")
    assert result.returncode == 2
    assert "passport" in result.stderr
