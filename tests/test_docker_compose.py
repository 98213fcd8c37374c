"""docker-compose.yml cannot run here (no Docker engine), so it is held to the code by reading it."""

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from citybase.exchange import Exchange
from citybase.orchestration import airflow_environment
from citybase.settings import ENVIRONMENT, PROJECT_ROOT, Settings
from connectors.connections import to_sqlalchemy_url
from connectors.registry import load_registry

AIRFLOW_COMPONENTS = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def _airflow_env(compose, service="airflow-scheduler") -> dict[str, str]:
    return {k: str(v) for k, v in compose["services"][service]["environment"].items()}


def _interpolated(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)(:?\?[^}]*)?\}", lambda m: variables.get(m.group(1), f"<{m.group(1)}>"), value)


def test_the_production_shape_is_all_there(compose):
    assert {"postgres", "mariadb", "airflow-init"} | AIRFLOW_COMPONENTS <= set(compose["services"])
    for service in AIRFLOW_COMPONENTS:
        command = compose["services"][service]["command"]
        assert command[0] == "airflow"
        assert (
            compose["services"][service]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        )


def test_every_citybase_variable_is_one_the_code_reads(compose):
    for service in AIRFLOW_COMPONENTS:
        citybase_vars = {k for k in _airflow_env(compose, service) if k.startswith("CITYBASE_")}
        assert citybase_vars <= set(ENVIRONMENT), citybase_vars - set(ENVIRONMENT)
        assert {"CITYBASE_HOME", "CITYBASE_EXCHANGE_URL", "CITYBASE_PSEUDONYM_KEY"} <= citybase_vars


def test_settings_resolve_from_the_compose_environment(compose):
    env = {k: _interpolated(v, {}) for k, v in _airflow_env(compose).items()}
    settings = Settings.from_env(env)
    assert str(settings.landing_dir).startswith(env["CITYBASE_HOME"])
    exchange = Exchange(settings.exchange_url)
    assert exchange.backend == "postgresql"
    assert make_url(settings.exchange_url).host == "postgres"


def test_every_registered_source_has_an_airflow_connection_of_its_kind(compose):
    env = _airflow_env(compose)
    mounts = [v.split(":")[1] for v in compose["services"]["airflow-scheduler"]["volumes"]]
    for source in load_registry():
        uri = _interpolated(env[f"AIRFLOW_CONN_{source.connection.upper()}"], {})
        if source.kind == "sql":
            url = make_url(to_sqlalchemy_url(uri))
            assert url.get_dialect().name in {"mysql", "postgresql"}  # the driver is installed: the dialect loads
            assert url.host in compose["services"], f"{source.key} points at {url.host}, not a compose service"
        elif source.kind in {"file_drop", "geojson"}:
            path = Path(urlsplit(uri).path)
            assert uri.startswith("file:///"), uri
            assert any(path.is_relative_to(m) for m in mounts), f"{source.key}: {path} is on no mounted volume"
        else:
            parts = urlsplit(uri)
            assert parts.scheme == "https", f"{source.key}: a REST system over plain HTTP"
            assert (parts.password or "").startswith("<"), f"{source.key}: the token must come from the environment"


def test_dags_folder_and_airflow_settings_match_the_embedded_runner(compose):
    env = _airflow_env(compose)
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/citybase/dags"
    embedded = airflow_environment(Settings.from_env())
    for key in ("AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"):
        assert env[key] == embedded[key]
    assert (
        make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("${AIRFLOW_DB_PASSWORD:?}", "x")).host == "postgres"
    )


def test_secrets_are_interpolated_never_written(compose):
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"(PASSWORD|SECRET|KEY)\w*:", line) and not line.lstrip().startswith("#"):
            assert "${" in line, f"literal secret in docker-compose.yml: {line.strip()}"


def test_the_image_is_built_from_the_lock_file():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in dockerfile
    pinned = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "apache-airflow==3.3.2" in pinned
