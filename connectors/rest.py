"""Department systems behind a REST API (JSON pages, bearer token, cursor pagination), as Arrow batches.

The protocol, as the simulated 人社局 and 中院 servers speak it (``citybase.simulator.api_server``):
``GET <base_url>/<endpoint>?page_size=&cursor=&updated_since=`` answers
``{"data": [{...}, ...], "next_cursor": "..." | null}``.

Types. Every value lands as text except JSON numbers: a column whose values on the first page are
all JSON integers is int64, one with any fractional number float64. Booleans land as 'true'/'false'
and nested objects or arrays as compact JSON text; a column that is null throughout the first page is
text. Types are then fixed for the run (every batch has one schema): a later value that does not fit
(a fraction in an int64 column, text in a number column) lands as null with a ``Rejection`` naming
the row and column. ``options.types`` in the registry ({column: string|int64|float64}) overrides the
inference, and the previous run's types (kept in the state) win over it, so a table's schema does
not flip between runs because one first page happened to be all null.

Columns come from the keys of the first page's records; keys missing from later records land as
null. Keys that first appear later cannot join the run's schema: they are dropped from the landed
batches but listed in ``state["new_fields"]`` (and logged), so the next run's first page picks them
up and nobody is surprised.

Incremental: when the table has a ``cursor``, the previous state's ``watermark`` is sent as
``updated_since`` (the server returns rows whose cursor is strictly later) and the new watermark is
the largest cursor value landed, set only once the batches are exhausted.

Deletes: an ``updated_since`` page may also carry ``"deleted": [{<primary key>: ..., "deleted_at":
"..."}, ...]``, tombstones of records deleted since the watermark. An incremental run hands their keys
to the landing zone as ``Extraction.deletes`` (one batch of the primary-key columns, typed as the
rows' are; empty when nothing was deleted), and ``deleted_at`` advances the watermark like a row's
cursor does, so the same interval read again lands no row and no delete twice. A first (full) run
asks for no changes, so it gets and lands no tombstones.

Speed. Once the first page has fixed the types, each page is read straight into Arrow columns by
pyarrow's JSON reader (native code, no Python object per value, the GIL released), told the exact
schema: it refuses any value those types do not admit and any field not in the schema, and such a
page is decoded as plain JSON and converted value by value as above, so both paths land the same.
Pages are fetched in a thread while earlier ones are converted, ``CONVERTERS`` at a time in a pool
(parsing is the client's largest cost, about 190 MB/s per core on this project's machines); of a page
the fetcher reads only the cursor and tombstones, and at most ``PREFETCH_PAGES`` bodies wait, so memory
is a few pages plus one batch.

Retries: connection errors, 5xx and 429 are retried up to ``max_retries`` times per request with
exponential backoff and full jitter, waiting at least ``Retry-After`` when the server sends one.
Then the error names the source, the endpoint and the last status. The token is sent only in the
``Authorization`` header and is scrubbed from every message this module writes.

HTTP is urllib3's (as requests', and so dlt's): it reads a body straight into one buffer, where httpx
copied each 64 KiB through h11 and joined them, about 0.3 CPU-s per 160 MB of pages. Redirects are not
followed (they would carry the token elsewhere), the proxy the environment names is used, as
requests and httpx do, and gzip/deflate answers are accepted and decoded (the simulated servers send
plain JSON; a department's across the city's network may well compress).
"""

from __future__ import annotations

import email.utils
import json
import logging
import queue
import random
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json
import urllib3

from connectors.base import Extraction, Rejection
from connectors.registry import TableSpec

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 1000
DEFAULT_BATCH_ROWS = 50_000
PREFETCH_PAGES = 2  # page bodies waiting for the converters; the fetcher blocks beyond that
CONVERTERS = 2  # pages read into Arrow at once (pyarrow's JSON reader releases the GIL)
TYPES = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer is treated as down


class RestSourceError(RuntimeError):
    """The API cannot be read; the message names the source, the endpoint and the last status."""


@dataclass
class RequestStats:
    """What the source did over HTTP, for logs and tests: every attempt, every retry, and why."""

    requests: int = 0
    retries: int = 0
    retried_for: dict[str, int] = field(default_factory=dict)  # 'HTTP 503', 'HTTP 429', 'ConnectError', ...


@dataclass
class Page:
    """One answer: its body, its cursor and tombstones, and its records as JSON objects once decoded so."""

    body: bytes
    next_cursor: str | None
    deleted: list[dict]
    records: list[dict] | None = None


class PageHead(msgspec.Struct):
    """What the fetcher needs of a page: decoding into it checks the whole body is JSON, but builds no records."""

    next_cursor: str | None
    deleted: list[dict] = []


HEAD = msgspec.json.Decoder(PageHead)


class RestSource:
    """One department system's REST API; ``name`` (``<department>/<system>``) is in every error."""

    def __init__(
        self,
        name: str,
        base_url: str,
        token: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_retries: int = 5,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        timeout: float = 30.0,
        backoff_base: float = 0.2,
        backoff_max: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.max_retries = max_retries
        self.batch_rows = batch_rows
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.stats = RequestStats()
        self._token = token
        self._sleep = sleep
        self._random = random.Random(seed)
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            **urllib3.util.make_headers(accept_encoding=True),  # a remote API's JSON shrinks severalfold
        }
        self._http = _connections(self.base_url, timeout)

    def __repr__(self) -> str:
        return f"RestSource({self.name!r}, {self.base_url!r})"

    # -- Source ------------------------------------------------------------------------------------

    def extract(self, table: TableSpec, state: dict) -> Extraction:
        """Every page of the table's endpoint (only rows newer than the watermark when it has a cursor)."""
        endpoint = str(table.options.get("endpoint") or "").strip("/")
        if not endpoint:
            raise RestSourceError(f"source {self.name}: table {table.name} declares no options.endpoint")
        page_size = int(table.options.get("page_size", self.page_size))
        watermark = state.get("watermark") if table.cursor else None
        params: dict[str, str | int] = {"page_size": page_size}
        if watermark is not None:
            params["updated_since"] = str(watermark)
        first = self._page(endpoint, params, records=True)
        schema = self._schema(table, first.records, state)
        new_state: dict = {
            "mode": "incremental" if table.cursor else "full_snapshot",
            "watermark": watermark,
            "columns": {f.name: _type_name(f.type) for f in schema},
            "new_fields": [],
            "pages": 0,
            "rows": 0,
            "deleted": None,  # tombstones received; known once the batches are exhausted
        }
        rejections: list[Rejection] = []
        tombstones: list[dict] = []
        batches = self._batches(table, endpoint, params, first, schema, new_state, rejections, tombstones)
        deletes = self._deletes(table, endpoint, schema, new_state, tombstones) if watermark is not None else None
        return Extraction(schema, batches, new_state, rejections, deletes=deletes)

    def close(self) -> None:
        self._http.clear()

    # -- pages -------------------------------------------------------------------------------------

    def _batches(
        self,
        table: TableSpec,
        endpoint: str,
        params: dict,
        first: Page,
        schema: pa.Schema,
        state: dict,
        rejections: list[Rejection],
        tombstones: list[dict],
    ) -> Iterator[pa.RecordBatch]:
        names = set(schema.names)
        new_fields: set[str] = set()
        latest = state["watermark"]
        reject = self._rejecter(table, endpoint, rejections)
        options = _parse_options(schema, table.primary_key)
        pending: list[pa.RecordBatch] = []
        pending_rows = converted = 0
        for page, batch in self._converted(self._pages(endpoint, params, first), options):
            state["pages"] += 1
            if batch is None:  # something the schema does not admit: value by value, as the module says
                if page.records is None:
                    page = self._parse(endpoint, page.body)
                for record in page.records:
                    extra = record.keys() - names
                    if extra:
                        new_fields |= extra
                batch = _to_batch(page.records, schema, converted, reject)
            converted += batch.num_rows
            for tombstone in page.deleted:
                if any(tombstone.get(key) is None for key in table.primary_key) or not isinstance(
                    tombstone.get("deleted_at"), str
                ):
                    raise RestSourceError(
                        f"source {self.name}: {endpoint} returned a tombstone without its key "
                        f"{list(table.primary_key)} and deleted_at"
                    )
            tombstones.extend(page.deleted)
            if table.cursor:
                seen = [t["deleted_at"] for t in page.deleted]
                if table.cursor in names:
                    seen.append(pc.max(batch.column(table.cursor)).as_py())
                seen = [value for value in seen if value is not None]
                if seen:
                    top = max(seen)
                    latest = top if latest is None or top > latest else latest
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= self.batch_rows:
                whole = pa.concat_batches(pending)
                yield whole.slice(0, self.batch_rows)
                rest = whole.slice(self.batch_rows)
                pending, pending_rows = [rest], rest.num_rows
        if pending_rows:
            yield pa.concat_batches(pending)
        state["rows"] = converted
        state["deleted"] = len(tombstones)
        state["new_fields"] = sorted(new_fields)
        if new_fields:
            log.warning(
                "source %s: %s returned fields not in this run's schema (kept out, listed in state): %s",
                self.name, endpoint, ", ".join(sorted(new_fields)),
            )  # fmt: skip
        state["watermark"] = latest  # final only now: a failed run must not advance it

    def _converted(
        self, pages: Iterator[Page], options: pyarrow.json.ParseOptions
    ) -> Iterator[tuple[Page, pa.RecordBatch | None]]:
        """Each page with its records read by pyarrow (None where they do not fit), in page order, with up to
        ``CONVERTERS`` pages being read at once: one core parses slower than a fast server sends."""
        reading: deque[tuple[Page, Future]] = deque()
        with closing(pages), ThreadPoolExecutor(CONVERTERS, thread_name_prefix=f"rest-read {self.name}") as pool:
            try:
                for page in pages:
                    reading.append((page, pool.submit(_read_records, page.body, options)))
                    if len(reading) == CONVERTERS:
                        page, future = reading.popleft()
                        yield page, future.result()
                while reading:
                    page, future = reading.popleft()
                    yield page, future.result()
            finally:
                for _, future in reading:
                    future.cancel()

    def _pages(self, endpoint: str, params: dict, first: Page) -> Iterator[Page]:
        """``first``, then the following pages in order, each fetched in a thread while the caller converts
        the one before; the fetcher stops when the caller does (an abandoned run leaves no thread behind)."""
        ready: queue.Queue = queue.Queue(maxsize=PREFETCH_PAGES)
        stop = threading.Event()
        end = object()

        def hand_over(item) -> bool:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    pass
            return False

        def fetch() -> None:
            page, page_params = first, params
            try:
                while page.next_cursor is not None:
                    if page.next_cursor == page_params.get("cursor"):
                        raise RestSourceError(f"source {self.name}: {endpoint} returned the same next_cursor twice")
                    page_params = {**page_params, "cursor": page.next_cursor}
                    page = self._page(endpoint, page_params)
                    if not hand_over(page):
                        return
                hand_over(end)
            except BaseException as exc:  # the caller's thread raises it
                hand_over(exc)

        fetcher = threading.Thread(target=fetch, name=f"rest-prefetch {self.name}/{endpoint}", daemon=True)
        fetcher.start()
        try:
            yield first
            while (item := ready.get()) is not end:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            fetcher.join()

    def _deletes(
        self, table: TableSpec, endpoint: str, schema: pa.Schema, state: dict, tombstones: list[dict]
    ) -> Iterator[pa.RecordBatch]:
        """The tombstones' keys as one batch of the primary-key columns, typed as the rows' key columns."""
        if state["deleted"] is None:
            raise RestSourceError(f"source {self.name}: {endpoint}: deletes read before the rows were exhausted")
        fields = [
            schema.field(key) if key in schema.names else pa.field(key, TYPES[_infer([t[key] for t in tombstones])])
            for key in table.primary_key
        ]
        try:
            arrays = [pa.array([t[f.name] for t in tombstones], type=f.type) for f in fields]
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise RestSourceError(
                f"source {self.name}: {endpoint} returned tombstone keys that do not fit the key columns {fields}"
            ) from exc
        yield pa.record_batch(arrays, schema=pa.schema(fields))

    def _rejecter(self, table: TableSpec, endpoint: str, rejections: list[Rejection]) -> Callable[[int, str], None]:
        def reject(row: int, message: str) -> None:
            rejections.append(Rejection(self.name, table.name, endpoint, row, "type_mismatch", message))

        return reject

    def _page(self, endpoint: str, params: dict, *, records: bool = False) -> Page:
        """One page, retried on connection errors, 5xx and 429; its records decoded only if asked for."""
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            self.stats.requests += 1
            retry_after = None
            try:  # no redirect is followed: it would carry the token elsewhere
                response = self._http.request(
                    "GET", f"{self.base_url}/{endpoint}", fields=params, headers=self._headers, redirect=False
                )
            except urllib3.exceptions.HTTPError as exc:  # connection refused or lost, timeouts, bad responses
                last = f"{type(exc).__name__}: {self._scrub(str(exc))}"
                reason = type(exc).__name__
            else:
                status = response.status
                if status == 200:
                    body = response.data
                    return self._parse(endpoint, body) if records else self._head(endpoint, body)
                if status != 429 and status < 500:
                    raise RestSourceError(
                        f"source {self.name}: GET {endpoint} answered HTTP {status}: {self._reason(response)}"
                    )
                last = reason = f"HTTP {status}"
                retry_after = _retry_after(response.headers.get("Retry-After"))
            if attempt == self.max_retries:
                break
            delay = self._random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))
            if retry_after is not None:
                delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
            self.stats.retries += 1
            self.stats.retried_for[reason] = self.stats.retried_for.get(reason, 0) + 1
            log.info("source %s: GET %s: %s; retry %d in %.2f s", self.name, endpoint, last, attempt + 1, delay)
            self._sleep(delay)
        raise RestSourceError(
            f"source {self.name}: GET {self.base_url}/{endpoint} failed after {self.max_retries + 1} attempts; "
            f"last status: {last}"
        )

    def _head(self, endpoint: str, body: bytes) -> Page:
        try:
            head = HEAD.decode(body)
        except msgspec.DecodeError:
            return self._parse(endpoint, body)  # which says what is wrong with it
        return Page(body, head.next_cursor, head.deleted)

    def _parse(self, endpoint: str, body: bytes) -> Page:
        try:
            page = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise RestSourceError(
                f"source {self.name}: {endpoint} answered 200 with a body that is not JSON we can read ({exc})"
            ) from exc
        if not (
            isinstance(page, dict)
            and isinstance(page.get("data"), list)
            and "next_cursor" in page
            and (page["next_cursor"] is None or isinstance(page["next_cursor"], str))
        ):
            raise RestSourceError(f"source {self.name}: {endpoint} answered 200 without 'data' and 'next_cursor'")
        if not all(isinstance(record, dict) for record in page["data"]):
            raise RestSourceError(f"source {self.name}: {endpoint} returned a record that is not an object")
        deleted = page.get("deleted", [])
        if not (isinstance(deleted, list) and all(isinstance(t, dict) for t in deleted)):
            raise RestSourceError(f"source {self.name}: {endpoint} answered 'deleted' that is not a list of objects")
        return Page(body, page["next_cursor"], deleted, page["data"])

    def _reason(self, response: urllib3.BaseHTTPResponse) -> str:
        try:
            reason = str(json.loads(response.data).get("error", ""))
        except (ValueError, AttributeError):
            reason = response.data.decode("utf-8", errors="replace")
        return self._scrub(reason[:200]) or response.reason or ""

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text

    # -- schema ------------------------------------------------------------------------------------

    def _schema(self, table: TableSpec, records: list, state: dict) -> pa.Schema:
        """Columns from the first page (or the last run's, if the page is empty); types as the module says."""
        previous = dict(state.get("columns") or {})
        declared = dict(table.options.get("types") or {})
        for column, name in declared.items():
            if name not in TYPES:
                raise RestSourceError(
                    f"source {self.name}: table {table.name} options.types {column}: {name!r} is not one of "
                    f"{list(TYPES)}"
                )
        columns: dict[str, list] = {}
        for record in records:
            if isinstance(record, dict):
                for key, value in record.items():
                    columns.setdefault(key, []).append(value)
        if not columns:
            columns = {name: [] for name in (previous or declared)}
        fields = []
        for column, values in columns.items():
            type_name = previous.get(column) or declared.get(column) or _infer(values)
            fields.append(pa.field(column, TYPES.get(type_name, pa.string())))
        return pa.schema(fields)


def _connections(base_url: str, timeout: float) -> urllib3.PoolManager:
    """A connection pool to the API, through the proxy the environment names for its scheme unless
    ``no_proxy`` exempts its host; urllib3 retries nothing itself (``RestSource._page`` does)."""
    options = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False}
    parts = urlsplit(base_url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.netloc):
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


def _infer(values: list) -> str:
    present = [v for v in values if v is not None]
    if present and all(type(v) is int for v in present) and all(INT64_MIN <= v <= INT64_MAX for v in present):
        return "int64"
    if present and all(type(v) in (int, float) for v in present):
        return "float64"
    return "string"


def _parse_options(schema: pa.Schema, primary_key: tuple[str, ...]) -> pyarrow.json.ParseOptions:
    """The page as pyarrow's JSON reader is to expect it: records of exactly the schema (a field it does not
    name, or a value its type does not admit, is an error), tombstones of the key columns' types."""
    keys = [schema.field(key) for key in primary_key if key in schema.names]
    tombstone = pa.struct([*keys, pa.field("deleted_at", pa.string())]) if len(keys) == len(primary_key) else pa.null()
    page = pa.schema(
        [("data", pa.list_(pa.struct(schema))), ("next_cursor", pa.string()), ("deleted", pa.list_(tombstone))]
    )
    return pyarrow.json.ParseOptions(explicit_schema=page, unexpected_field_behavior="error")


def _read_records(body: bytes, options: pyarrow.json.ParseOptions) -> pa.RecordBatch | None:
    """The page's records as a batch of the schema, read by pyarrow in native code; None if anything in the
    page does not fit (the caller then goes value by value)."""
    try:
        page = pyarrow.json.read_json(
            pa.BufferReader(body), pyarrow.json.ReadOptions(use_threads=False, block_size=len(body) + 1), options
        )
    except pa.ArrowInvalid:
        return None
    data = page.column("data")
    if page.num_rows != 1 or data.null_count:
        return None  # not one JSON object, or no 'data' list
    records = data.chunk(0).flatten()
    if records.null_count:
        return None  # a record that is not an object
    return pa.RecordBatch.from_struct_array(records)


def _type_name(data_type: pa.DataType) -> str:
    return next(name for name, known in TYPES.items() if known == data_type)


def _to_batch(
    records: list[dict], schema: pa.Schema, offset: int, reject: Callable[[int, str], None]
) -> pa.RecordBatch:
    arrays = []
    for column in schema:
        values = [record.get(column.name) for record in records]
        arrays.append(pa.array(_conform(values, column, offset, reject), type=column.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _conform(values: list, column: pa.Field, offset: int, reject: Callable[[int, str], None]) -> list:
    """``values`` made to fit the column's type; misfits become null and are reported (never their content)."""
    if column.type == pa.string():
        if all(type(v) is str or v is None for v in values):
            return values
        return [_as_text(v) for v in values]
    wanted = int if column.type == pa.int64() else float
    out = values
    for index, value in enumerate(values):
        if value is None or (type(value) is wanted and (wanted is float or INT64_MIN <= value <= INT64_MAX)):
            continue
        if out is values:
            out = list(values)
        out[index] = _number_as(value, wanted)
        if out[index] is None:
            kind = "boolean" if type(value) is bool else type(value).__name__
            reject(offset + index + 1, f"column {column.name}: expected {column.type}, got JSON {kind}; landed as null")
    return out


def _number_as(value, wanted: type) -> int | float | None:
    """A JSON number in the other numeric type when it is that number too: an integral float in an int64
    column; any integer in a float64 column (as the nearest double, as JSON readers do). Else None."""
    if wanted is int and type(value) is float and value.is_integer() and INT64_MIN <= value <= INT64_MAX:
        return int(value)
    if wanted is float and type(value) is int and abs(value) <= sys.float_info.max:
        return float(value)
    return None


def _as_text(value) -> str | None:
    if value is None or type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) in (int, float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _retry_after(header: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
