"""Where a source system is: an Airflow connection in production, the simulated city otherwise.

SQL systems resolve to SQLAlchemy URLs. File-drop and GeoJSON systems resolve to a folder: in
Airflow, a connection whose URI is ``file:///path/to/drops``. REST systems resolve to a base URL and
a bearer token: in Airflow, an HTTP connection whose password is the token
(``https://:TOKEN@host/api/v1``); in the simulated city, the API server that ``citybase`` started.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


def simulated_location(source: SourceSpec, city_dir: Path) -> str:
    """Where the simulator serves the system, as recorded in ``simulation.json`` (a server in server
    mode); else the embedded default: ``<city>/<department>/<system>.sqlite`` or that folder."""
    recorded = city_dir / "simulation.json"
    if recorded.exists():
        location = json.loads(recorded.read_text("utf-8")).get("systems", {}).get(source.key)
        if location:
            return location
    if source.kind == "sql":
        return f"sqlite:///{city_dir / source.department / f'{source.system}.sqlite'}"
    return str(city_dir / source.department / source.system)


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
    return to_sqlalchemy_url(uri) if uri else simulated_location(source, city_dir)


def source_directory(source: SourceSpec, city_dir: Path) -> Path:
    uri = _airflow_connection_uri(source.connection)
    if uri:
        scheme, _, path = uri.partition("://")
        if scheme not in {"file", "fs"}:
            raise ValueError(f"source {source.key}: connection {source.connection} must be a file:///path URI")
        return Path(unquote(urlsplit(f"file://{path}").path))
    return Path(simulated_location(source, city_dir))


def source_api(source: SourceSpec, city_dir: Path) -> tuple[str, str]:
    """(base URL, bearer token) of a REST system."""
    uri = _airflow_connection_uri(source.connection)
    if uri:
        parts = urlsplit(uri)
        scheme = "https" if parts.scheme in {"https", "http+ssl"} else "http"
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return f"{scheme}://{netloc}{parts.path}", unquote(parts.password or "")
    from citybase.simulator.api_server import find_api_server

    server = find_api_server(city_dir)
    if server is None:
        raise ConnectionError(
            f"source {source.key}: no Airflow connection {source.connection!r} and the simulated city's API "
            f"server is not running for {city_dir}: start it with `citybase serve`"
        )
    return server.api_url, server.token
