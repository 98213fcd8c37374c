"""The database servers on this machine: tests skip with a reason when one is absent, and fail under CI=true."""

from __future__ import annotations

import os
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SERVERS = {
    "postgresql": ("127.0.0.1", 5432, "postgresql+psycopg2://postgres@127.0.0.1:5432/test"),
    "mariadb": ("127.0.0.1", 3306, "mysql+pymysql://root@127.0.0.1:3306/test"),
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def server_url(kind: str) -> str:
    host, port, url = SERVERS[kind]
    if not _reachable(host, port):
        message = f"{kind} is not listening on {host}:{port}"
        if IN_CI:
            pytest.fail(f"{message}, and under CI=true server tests must run")
        pytest.skip(message)
    return url
