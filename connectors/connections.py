"""Where a source's database is: an Airflow connection in production, the simulated city otherwise."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from connectors.registry import SourceSpec

log = logging.getLogger(__name__)

# Airflow connection types to SQLAlchemy drivers installed with citybase.
_SQLALCHEMY_SCHEMES = {
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "sqlite": "sqlite",
}


def simulated_url(source: SourceSpec, city_dir: Path) -> str:
    """Where the simulator serves the system: as recorded in ``simulation.json`` (a server in server
    mode), else the embedded default ``<city>/<department>/<system>.sqlite``."""
    recorded = city_dir / "simulation.json"
    if recorded.exists():
        url = json.loads(recorded.read_text("utf-8")).get("systems", {}).get(source.key)
        if url:
            return url
    return f"sqlite:///{city_dir / source.department / f'{source.system}.sqlite'}"


def _airflow_connection_uri(conn_id: str) -> str | None:
    """The connection's URI if Airflow knows it (metadata DB, secrets backend or AIRFLOW_CONN_*)."""
    env_uri = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:  # running outside an Airflow installation
        return env_uri
    try:
        return BaseHook.get_connection(conn_id).get_uri()
    except AirflowNotFoundException:
        return env_uri
    except Exception:
        log.debug("Airflow connection lookup for %s unavailable here", conn_id, exc_info=True)
        return env_uri


def to_sqlalchemy_url(uri: str) -> str:
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise ValueError(f"not a connection URI: {uri.split('@')[-1]!r}")
    return f"{_SQLALCHEMY_SCHEMES.get(scheme, scheme)}://{rest}"


def source_url(source: SourceSpec, city_dir: Path) -> str:
    uri = _airflow_connection_uri(source.connection)
    return to_sqlalchemy_url(uri) if uri else simulated_url(source, city_dir)
