"""Shared fixtures."""

import os
import tempfile

import pytest

# Airflow reads its home when first imported: point it away from ~/airflow and the project's .airflow/.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="citybase-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    """No test reads or writes the developer's .citybase/ or .airflow/ by accident."""
    home = tmp_path_factory.mktemp("citybase_home")
    monkeypatch.setenv("CITYBASE_HOME", str(home))
    for name in (
        "CITYBASE_CITY_DIR",
        "CITYBASE_LANDING_DIR",
        "CITYBASE_WAREHOUSE_PATH",
        "CITYBASE_EXCHANGE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CITYBASE_REPORTS_DIR", str(home / "reports"))
    monkeypatch.setenv("CITYBASE_PSEUDONYM_KEY", "test-key-not-a-secret")
