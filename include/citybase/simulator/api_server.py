"""The departments' REST APIs (人社局 social insurance, 中院 dishonest debtors) as a real server process.

Those departments expose their records over HTTP, not as databases, and their servers cannot exist
here; so the simulator runs one: a separate process (stdlib ``ThreadingHTTPServer`` + ``sqlite3``)
that serves the SQLite stores the generators wrote, with what makes a real API hard to extract
from: bearer tokens, keyset pagination, a per-token rate limit and transient 503s.

    GET /health                                      -> {"status": "ok", "systems": {...}}   (no token)
    GET /api/v1/<system>/<table>?page_size=&cursor=&updated_since=
                                                     -> {"data": [...], "next_cursor": "..." | null}
                                                        (+ "deleted": [...] when updated_since is given)

Deletes. A record the department deletes is gone from ``data``, so a client reading changes since its
watermark could never learn of it. As change-feed APIs do, the server keeps a tombstone per deleted key
(``delete_records`` writes both in one transaction) and answers an ``updated_since`` query with them
too: ``"deleted": [{"<primary key>": 42, "deleted_at": "YYYY-MM-DD HH:MM:SS"}, ...]`` for the keys
deleted after ``updated_since``, paged with the rows: a page covers a range of keys, rows and
tombstones merged in key order, ``page_size`` counting both. A full read (no ``updated_since``)
returns no tombstones: what it returns is the whole table as it stands. Keys are never reused, so a
key is either a row or a tombstone.

Lifecycle. ``start_api_server(data_dir)`` makes a random token, writes it to
``<data_dir>/.api_server/token`` (mode 0600; never printed or logged), starts
``python -m citybase.simulator.api_server`` in its own session (so it outlives a CLI that started it),
and waits until ``/health`` answers. The server itself writes ``pid`` and ``url`` there once bound.
``find_api_server(data_dir)`` turns those files back into a handle (or clears them if the process is
gone); ``ApiServer.stop()`` sends SIGTERM, waits, escalates to SIGKILL, and removes the files. One
server per data dir: starting a second one while the first lives is refused.

A served system is any ``<data_dir>/<department>/<system>.sqlite`` holding an ``_api_tables``
catalog (``register_api_tables``), which names each table's primary key and incremental cursor.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import datetime as dt
import functools
import hmac
import ipaddress
import itertools
import json
import math
import os
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import msgspec

API_PREFIX = "/api/v1"
CATALOG_TABLE = "_api_tables"
DELETIONS_TABLE = "_api_deletions"  # tombstones: (table_name, record_key, deleted_at)
STATE_DIR = ".api_server"  # under the data dir: pid, url, token (0600), server.log
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
DEFAULT_RATE_LIMIT = 20.0  # requests per second per token
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8))  # the systems keep local time, and China has no DST
# A department's system encodes in native code; json.dumps would make this process, not the client, the bound.
ENCODER = msgspec.json.Encoder()


# ---------------------------------------------------------------------------------------------------
# The catalog the generators write into each served SQLite file


def register_api_tables(connection: sqlite3.Connection, tables: list[tuple[str, str, str | None]]) -> None:
    """Declare which tables of a system the API serves: (table, single-column primary key, cursor column)."""
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {CATALOG_TABLE} (table_name TEXT PRIMARY KEY, primary_key TEXT NOT NULL, "
        "cursor_column TEXT)"
    )
    connection.executemany(f"INSERT OR REPLACE INTO {CATALOG_TABLE} VALUES (?, ?, ?)", tables)
    _create_deletions(connection)


def _create_deletions(connection: sqlite3.Connection) -> None:
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {DELETIONS_TABLE} (table_name TEXT NOT NULL, record_key NOT NULL, "
        "deleted_at TEXT NOT NULL, PRIMARY KEY (table_name, record_key))"
    )


def delete_records(connection: sqlite3.Connection, table: str, keys: list, deleted_at: list[str]) -> None:
    """Delete records of a served table and leave their tombstones, in the caller's transaction."""
    _create_deletions(connection)
    (primary_key,) = connection.execute(
        f"SELECT primary_key FROM {CATALOG_TABLE} WHERE table_name = ?", (table,)
    ).fetchone()
    connection.executemany(f'DELETE FROM "{table}" WHERE "{primary_key}" = ?', [(key,) for key in keys])
    connection.executemany(
        f"INSERT INTO {DELETIONS_TABLE} VALUES (?, ?, ?)",
        [(table, key, stamp) for key, stamp in zip(keys, deleted_at, strict=True)],
    )


def next_key(connection: sqlite3.Connection, table: str) -> int:
    """The integer key a new record of a served table gets: past every key it ever held, deleted ones too."""
    _create_deletions(connection)
    (primary_key,) = connection.execute(
        f"SELECT primary_key FROM {CATALOG_TABLE} WHERE table_name = ?", (table,)
    ).fetchone()
    (top,) = connection.execute(
        f'SELECT max(coalesce((SELECT max("{primary_key}") FROM "{table}"), 0), '
        f"coalesce((SELECT max(record_key) FROM {DELETIONS_TABLE} WHERE table_name = ?), 0))",
        (table,),
    ).fetchone()
    return int(top) + 1


@dataclass(frozen=True)
class ServedTable:
    system: str
    table: str
    path: Path
    primary_key: str
    cursor: str | None


def discover_tables(data_dir: Path) -> dict[tuple[str, str], ServedTable]:
    """Every (system, table) the catalogs under ``data_dir`` declare."""
    found: dict[tuple[str, str], ServedTable] = {}
    for path in sorted(Path(data_dir).glob("*/*.sqlite")):
        try:
            with contextlib.closing(_open_read_only(path)) as connection:
                declared = connection.execute(
                    f"SELECT table_name, primary_key, cursor_column FROM {CATALOG_TABLE}"
                ).fetchall()
        except sqlite3.Error:
            continue  # not an API system (e.g. the hukou database), or being rewritten
        for table, primary_key, cursor in declared:
            found[(path.stem, table)] = ServedTable(path.stem, table, path, primary_key, cursor)
    return found


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


# ---------------------------------------------------------------------------------------------------
# The server process


class TokenBucket:
    """``rate`` requests per second with bursts up to ``capacity``; thread-safe."""

    def __init__(self, rate: float, capacity: float):
        self.rate, self.capacity = rate, capacity
        self._tokens, self._last = capacity, time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0.0 if a request may proceed now, else the seconds until one may."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


class ApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, data_dir: Path, token: str, rate_limit: float, burst: float, flaky: float, seed):
        super().__init__(address, ApiRequestHandler)
        self.data_dir = data_dir
        self.token = token
        self.rate_limit, self.burst, self.flaky = rate_limit, burst, flaky
        self.tables = discover_tables(data_dir)
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def bucket(self, token: str) -> TokenBucket:
        with self._lock:
            key = hmac.new(b"bucket", token.encode(), "sha256").hexdigest()  # never keep tokens as dict keys
            if key not in self._buckets:
                self._buckets[key] = TokenBucket(self.rate_limit, self.burst)
            return self._buckets[key]

    def flake(self) -> bool:
        with self._lock:
            return self.flaky > 0 and self._random.random() < self.flaky

    def table(self, system: str, table: str) -> ServedTable | None:
        if (system, table) not in self.tables:  # a system generated after start-up
            self.tables = discover_tables(self.data_dir)
        return self.tables.get((system, table))


class BadRequestError(ValueError):
    pass


class ApiRequestHandler(BaseHTTPRequestHandler):
    server: ApiHttpServer
    server_version = "citybase-simulated-department-api/1"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would hold the body ~40 ms

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/health":
            systems: dict[str, list[str]] = {}
            for system, table in sorted(self.server.tables):
                systems.setdefault(system, []).append(table)
            self._json(HTTPStatus.OK, {"status": "ok", "pid": os.getpid(), "systems": systems})
            return
        if not parts.path.startswith(API_PREFIX + "/"):
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such path {parts.path}"})
            return
        presented = self.headers.get("Authorization", "")
        scheme, _, token = presented.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.server.token.encode()):
            self._json(
                HTTPStatus.UNAUTHORIZED, {"error": "a valid bearer token is required"}, {"WWW-Authenticate": "Bearer"}
            )
            return
        wait = self.server.bucket(token.strip()).take()
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            self._json(HTTPStatus.TOO_MANY_REQUESTS, {"error": "rate limit exceeded"}, {"Retry-After": retry_after})
            return
        if self.server.flake():
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "temporarily unavailable"})
            return
        system, _, table = parts.path[len(API_PREFIX) + 1 :].partition("/")
        served = self.server.table(system, table)
        if served is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no table {table!r} in system {system!r}"})
            return
        try:
            page = _page(served, parse_qs(parts.query))
        except BadRequestError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        self._json(HTTPStatus.OK, page)

    def _json(self, status: HTTPStatus, document: dict, headers: dict[str, str] | None = None) -> None:
        body = ENCODER.encode(document)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """Request lines only (paths carry no secrets; the Authorization header is never logged)."""
        sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")


def _page(served: ServedTable, query: dict[str, list[str]]) -> dict:
    """One page in primary-key order after the cursor: keyset pagination, stable while others read."""
    page_size = _one(query, "page_size", str(DEFAULT_PAGE_SIZE))
    if not page_size.isdigit() or not 1 <= int(page_size) <= MAX_PAGE_SIZE:
        raise BadRequestError(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}")
    limit = int(page_size)
    where, parameters = [], []
    cursor = _one(query, "cursor", "")
    after = _decode_cursor(cursor, served) if cursor else None
    if cursor:
        where.append(f'"{served.primary_key}" > ?')
        parameters.append(after)
    updated_since = _one(query, "updated_since", "")
    since = None
    if updated_since:
        if served.cursor is None:
            raise BadRequestError(f"{served.system}/{served.table} has no update timestamp to filter on")
        since = _local_timestamp(updated_since)
        where.append(f'+"{served.cursor}" > ?')  # unary +: never the cursor's index, so pages walk the key
        parameters.append(since)
    sql = f'SELECT * FROM "{served.table}"'
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f' ORDER BY "{served.primary_key}" LIMIT ?'
    with contextlib.closing(_open_read_only(served.path)) as connection:
        result = connection.execute(sql, [*parameters, limit + 1])
        names = tuple(column[0] for column in result.description)
        rows = result.fetchall()
        tombstones = _tombstones(connection, served, after, since, limit + 1) if since is not None else []
    at, key = names.index(served.primary_key), served.primary_key
    keys = sorted([row[at] for row in rows] + [t[key] for t in tombstones])  # keys are never reused: all distinct
    next_cursor = None
    if len(keys) > limit:  # the page is the first ``limit`` keys, rows and tombstones together
        last = keys[limit - 1]
        rows = [row for row in rows if row[at] <= last]
        tombstones = [t for t in tombstones if t[key] <= last]
        next_cursor = _encode_cursor(last, served)
    document = {"data": list(itertools.starmap(_record_type(names), rows)), "next_cursor": next_cursor}
    if since is not None:
        document["deleted"] = tombstones
    return document


@functools.lru_cache(maxsize=256)
def _record_type(names: tuple[str, ...]) -> type[msgspec.Struct]:
    """A struct the encoder writes as ``{"<name>": value, ...}``: built from a row tuple in C, not a dict per row."""
    fields = [f"f{index}" for index in range(len(names))]  # column names need not be Python identifiers
    return msgspec.defstruct("Record", fields, rename=dict(zip(fields, names, strict=True)))


def _tombstones(connection: sqlite3.Connection, served: ServedTable, after, since: str, limit: int) -> list[dict]:
    """Keys of the table deleted after ``since``, past the cursor, in key order (none in a store without any)."""
    if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (DELETIONS_TABLE,)).fetchone():
        return []
    sql = f"SELECT record_key, deleted_at FROM {DELETIONS_TABLE} WHERE table_name = ? AND deleted_at > ?"
    parameters = [served.table, since]
    if after is not None:
        sql += " AND record_key > ?"
        parameters.append(after)
    rows = connection.execute(sql + " ORDER BY record_key LIMIT ?", [*parameters, limit]).fetchall()
    return [{served.primary_key: key, "deleted_at": deleted_at} for key, deleted_at in rows]


def _one(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name, [default])
    if len(values) != 1:
        raise BadRequestError(f"{name} given {len(values)} times")
    return values[0]


def _encode_cursor(key, served: ServedTable) -> str:
    document = json.dumps({"t": f"{served.system}/{served.table}", "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, served: ServedTable):
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, owner = document["k"], document["t"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRequestError("cursor is not one this server issued") from exc
    if owner != f"{served.system}/{served.table}":
        raise BadRequestError(f"cursor belongs to {owner}, not {served.system}/{served.table}")
    return key


def _local_timestamp(value: str) -> str:
    """An ISO 8601 instant as the systems store it: 'YYYY-MM-DD HH:MM:SS' in China Standard Time."""
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequestError("updated_since must be an ISO 8601 date or timestamp") from exc
    if instant.tzinfo is not None:
        instant = instant.astimezone(CHINA_STANDARD_TIME).replace(tzinfo=None)
    return instant.strftime("%Y-%m-%d %H:%M:%S")


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only, atomically (a rename, so readers never see half)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(argv: list[str] | None = None) -> None:
    """The server process's entry point (``python -m citybase.simulator.api_server``)."""
    parser = argparse.ArgumentParser(prog="python -m citybase.simulator.api_server", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the simulated city's directory")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (nothing else is accepted)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token-file", type=Path, required=True, help="file holding the bearer token")
    parser.add_argument("--rate-limit", type=float, default=DEFAULT_RATE_LIMIT, help="requests/second per token")
    parser.add_argument("--burst", type=float, default=None, help="bucket capacity (default: the rate limit)")
    parser.add_argument("--flaky", type=float, default=0.0, help="share of requests answered 503")
    parser.add_argument("--seed", type=int, default=None, help="seed for the 503 draws")
    parser.add_argument("--pid-file", type=Path, default=None)
    parser.add_argument("--url-file", type=Path, default=None)
    args = parser.parse_args(argv)
    if not _is_loopback(args.host):
        parser.error(f"--host {args.host} is not a loopback address; the simulated departments are local only")
    if args.rate_limit <= 0 or not 0 <= args.flaky < 1:
        parser.error("--rate-limit must be positive and --flaky in [0, 1)")
    token = args.token_file.read_text(encoding="utf-8").strip()
    if not token:
        parser.error(f"--token-file {args.token_file} is empty")
    server = ApiHttpServer(
        (args.host, args.port), args.data.resolve(), token, args.rate_limit, args.burst or args.rate_limit,
        args.flaky, args.seed,
    )  # fmt: skip
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}"

    def shut_down(signum, _frame) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() blocks serve_forever's thread

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    if args.pid_file:
        _write_private(args.pid_file, f"{os.getpid()}\n")
    if args.url_file:
        _write_private(args.url_file, url + "\n")
    print(f"serving {sorted(server.tables)} on {url} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        for path in (args.pid_file, args.url_file):
            if path and _read(path) in (str(os.getpid()), url):  # only our own files, never a successor's
                path.unlink(missing_ok=True)
        print(f"stopped (pid {os.getpid()})", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# The handle the simulator, the CLI and the tests use


@dataclass(frozen=True)
class StatePaths:
    directory: Path
    pid: Path
    url: Path
    token: Path
    log: Path


def state_paths(data_dir: Path) -> StatePaths:
    """Where a data dir's server keeps its pid, url, token (0600) and log."""
    directory = Path(data_dir).resolve() / STATE_DIR
    return StatePaths(directory, directory / "pid", directory / "url", directory / "token", directory / "server.log")


class ApiServerError(RuntimeError):
    """The API server did not start or stop as asked; the message names the data dir and the log."""


@dataclass
class ApiServer:
    """A running API server process. ``token`` is kept out of ``repr``."""

    data_dir: Path
    url: str  # http://127.0.0.1:<port>
    pid: int
    token: str = field(repr=False)
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        """The base URL a ``RestSource`` is given: endpoints ``<system>/<table>`` are relative to it."""
        return self.url + API_PREFIX

    def healthy(self) -> bool:
        return _health(self.url) is not None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``timeout``) and remove its state files."""
        if _alive(self.pid, self._process):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if not _wait_exit(self.pid, self._process, timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                _wait_exit(self.pid, self._process, timeout)
        paths = state_paths(self.data_dir)
        if _read(paths.pid) in (str(self.pid), ""):
            for path in (paths.pid, paths.url, paths.token):
                path.unlink(missing_ok=True)

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_api_server(
    data_dir: Path,
    *,
    rate_limit: float = DEFAULT_RATE_LIMIT,
    burst: float | None = None,
    flaky: float = 0.0,
    port: int = 0,
    seed: int | None = None,
    timeout: float = STARTUP_TIMEOUT,
) -> ApiServer:
    """Start the server for ``data_dir`` as a separate process and return once it answers ``/health``."""
    data_dir = Path(data_dir).resolve()
    running = find_api_server(data_dir)
    if running is not None:
        raise ApiServerError(f"an API server for {data_dir} is already running at {running.url} (pid {running.pid})")
    paths = state_paths(data_dir)
    paths.directory.mkdir(parents=True, exist_ok=True)
    for path in (paths.pid, paths.url):
        path.unlink(missing_ok=True)
    token = secrets.token_urlsafe(32)
    _write_private(paths.token, token + "\n")
    command = [
        sys.executable, "-m", "citybase.simulator.api_server", "--data", str(data_dir), "--host", "127.0.0.1",
        "--port", str(port), "--token-file", str(paths.token), "--rate-limit", str(rate_limit),
        "--flaky", str(flaky), "--pid-file", str(paths.pid), "--url-file", str(paths.url),
    ]  # fmt: skip
    if burst is not None:
        command += ["--burst", str(burst)]
    if seed is not None:
        command += ["--seed", str(seed)]
    with paths.log.open("ab") as log:
        process = subprocess.Popen(  # its own session: a CLI's Ctrl-C does not take the server down with it
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            paths.token.unlink(missing_ok=True)
            raise ApiServerError(f"API server for {data_dir} exited with {process.returncode}; see {paths.log}")
        url = _read(paths.url)
        if url and _health(url) is not None:
            return ApiServer(data_dir, url, process.pid, token, process)
        time.sleep(0.05)
    ApiServer(data_dir, "", process.pid, token, process).stop()
    raise ApiServerError(f"API server for {data_dir} did not answer within {timeout:.0f} s; see {paths.log}")


def find_api_server(data_dir: Path) -> ApiServer | None:
    """The server left running for ``data_dir`` (e.g. by ``citybase simulate``), or None; clears stale files."""
    paths = state_paths(data_dir)
    pid_text, url, token = _read(paths.pid), _read(paths.url), _read(paths.token)
    if not (pid_text.isdigit() and url and token):
        return None
    pid = int(pid_text)
    health = _health(url) if _alive(pid, None) else None
    if health is None or health.get("pid") != pid:
        for path in (paths.pid, paths.url, paths.token):
            path.unlink(missing_ok=True)
        return None
    return ApiServer(Path(data_dir).resolve(), url, pid, token)


def _read(path: Path | None) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() if path else ""
    except (FileNotFoundError, NotADirectoryError):
        return ""


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _alive(pid: int, process: subprocess.Popen | None) -> bool:
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """An exited process its parent has not reaped yet still answers ``kill(pid, 0)``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _wait_exit(pid: int, process: subprocess.Popen | None, timeout: float) -> bool:
    if process is not None:
        try:
            process.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, None):
            return True
        time.sleep(0.05)
    return False


if __name__ == "__main__":
    serve()
