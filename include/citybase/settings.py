"""Where everything lives, read once from the environment.

Every path and URL the code uses comes from here, so docker-compose.yml, the Makefile and
Airflow workers configure citybase the same way: through ``CITYBASE_*`` variables. The
defaults are the embedded mode (files under ``.citybase/`` in the project, no server).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The variables citybase reads, with what each is for; docker-compose.yml is checked against this list.
ENVIRONMENT = {
    "CITYBASE_HOME": "root of runtime state (simulated city, landing zone, warehouse, reports)",
    "CITYBASE_CITY_DIR": "where the simulated department systems live",
    "CITYBASE_LANDING_DIR": "append-only landing zone of extracted Parquet batches",
    "CITYBASE_WAREHOUSE_PATH": "DuckDB warehouse file that dbt builds",
    "CITYBASE_EXCHANGE_URL": "SQLAlchemy URL of the exchange (DuckDB file or PostgreSQL)",
    "CITYBASE_REPORTS_DIR": "quality reports: GX validation results and Data Docs",
    "CITYBASE_PSEUDONYM_KEY": "secret key for the HMAC pseudonyms of personal data on the exchange",
    "CITYBASE_MARIADB_URL": "server mode: the MariaDB server the simulated household registry is loaded into",
    "CITYBASE_POSTGRES_URL": "server mode: the PostgreSQL server the other simulated SQL systems are loaded into",
    "CITYBASE_SERVER_DATABASE_PREFIX": "server mode: put before each system's database name (default: none)",
}


@dataclass(frozen=True)
class Settings:
    home: Path
    city_dir: Path
    landing_dir: Path
    warehouse_path: Path
    exchange_url: str
    reports_dir: Path
    dbt_project_dir: Path = PROJECT_ROOT / "dbt_project"
    expectations_dir: Path = PROJECT_ROOT / "expectations"

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("CITYBASE_HOME", PROJECT_ROOT / ".citybase")).resolve()
        exchange_default = f"duckdb:///{home / 'exchange.duckdb'}"
        return cls(
            home=home,
            city_dir=Path(env.get("CITYBASE_CITY_DIR", home / "city")).resolve(),
            landing_dir=Path(env.get("CITYBASE_LANDING_DIR", home / "landing")).resolve(),
            warehouse_path=Path(env.get("CITYBASE_WAREHOUSE_PATH", home / "warehouse.duckdb")).resolve(),
            exchange_url=env.get("CITYBASE_EXCHANGE_URL", exchange_default),
            reports_dir=Path(env.get("CITYBASE_REPORTS_DIR", home / "reports")).resolve(),
        )

    @staticmethod
    def simulation_servers(environ: dict[str, str] | None = None) -> dict[str, str]:
        """Server mode's database servers (defaults: the local MariaDB and PostgreSQL)."""
        from citybase.simulator.servers import DEFAULT_SERVERS

        env = os.environ if environ is None else environ
        return {
            "mariadb": env.get("CITYBASE_MARIADB_URL", DEFAULT_SERVERS["mariadb"]),
            "postgresql": env.get("CITYBASE_POSTGRES_URL", DEFAULT_SERVERS["postgresql"]),
        }

    @staticmethod
    def server_database_prefix(environ: dict[str, str] | None = None) -> str:
        """Server mode's prefix of the systems' database names, so simulations sharing a server stay apart."""
        env = os.environ if environ is None else environ
        return env.get("CITYBASE_SERVER_DATABASE_PREFIX", "")

    def pseudonym_key(self) -> bytes:
        """The HMAC key; read on use, never stored on the object, so it cannot leak through repr or logs."""
        key = os.environ.get("CITYBASE_PSEUDONYM_KEY")
        if not key:
            raise RuntimeError(
                "CITYBASE_PSEUDONYM_KEY is not set: personal data cannot be pseudonymised for the exchange. "
                "Set it in the environment (make demo generates one into .citybase/pseudonym.key)."
            )
        return key.encode()
