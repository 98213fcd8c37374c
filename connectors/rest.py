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
the largest cursor value seen, set only once the batches are exhausted.

Deletes: an ``updated_since`` page may also carry ``"deleted": [{<primary key>: ..., "deleted_at":
"..."}, ...]``, tombstones of records deleted since the watermark. An incremental run hands their keys
to the landing zone as ``Extraction.deletes`` (one batch of the primary-key columns, typed as the
rows' are; empty when nothing was deleted), and ``deleted_at`` advances the watermark like a row's
cursor does, so the same interval read again lands no row and no delete twice. A first (full) run
asks for no changes, so it gets and lands no tombstones.

Retries: connection errors, 5xx and 429 are retried up to ``max_retries`` times per request with
exponential backoff and full jitter, waiting at least ``Retry-After`` when the server sends one.
Then the error names the source, the endpoint and the last status. The token is sent only in the
``Authorization`` header and is scrubbed from every message this module writes.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pyarrow as pa

from connectors.base import Extraction, Rejection
from connectors.registry import TableSpec

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 1000
DEFAULT_BATCH_ROWS = 50_000
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
        transport: httpx.BaseTransport | None = None,
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
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # a redirect elsewhere would carry the token along
        )

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
        first = self._page(endpoint, params)
        schema = self._schema(table, first["data"], state)
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
        self._client.close()

    # -- pages -------------------------------------------------------------------------------------

    def _batches(
        self,
        table: TableSpec,
        endpoint: str,
        params: dict,
        page: dict,
        schema: pa.Schema,
        state: dict,
        rejections: list[Rejection],
        tombstones: list[dict],
    ) -> Iterator[pa.RecordBatch]:
        names = set(schema.names)
        new_fields: set[str] = set()
        latest = state["watermark"]
        pending: list[dict] = []
        landed = 0
        while True:
            state["pages"] += 1
            for record in page["data"]:
                if not isinstance(record, dict):
                    raise RestSourceError(f"source {self.name}: {endpoint} returned a record that is not an object")
                extra = record.keys() - names
                if extra:
                    new_fields |= extra
            pending.extend(page["data"])
            deleted = page.get("deleted") or []
            for tombstone in deleted:
                if any(tombstone.get(key) is None for key in table.primary_key) or not isinstance(
                    tombstone.get("deleted_at"), str
                ):
                    raise RestSourceError(
                        f"source {self.name}: {endpoint} returned a tombstone without its key "
                        f"{list(table.primary_key)} and deleted_at"
                    )
            tombstones.extend(deleted)
            if table.cursor:
                seen = [r.get(table.cursor) for r in page["data"] if r.get(table.cursor) is not None]
                seen += [t["deleted_at"] for t in deleted]
                if seen:
                    top = max(seen)
                    latest = top if latest is None or top > latest else latest
            while len(pending) >= self.batch_rows:
                chunk, pending = pending[: self.batch_rows], pending[self.batch_rows :]
                yield _to_batch(chunk, schema, landed, self._rejecter(table, endpoint, rejections))
                landed += len(chunk)
            cursor = page["next_cursor"]
            if cursor is None:
                break
            if cursor == params.get("cursor"):
                raise RestSourceError(f"source {self.name}: {endpoint} returned the same next_cursor twice")
            params = {**params, "cursor": cursor}
            page = self._page(endpoint, params)
        if pending:
            yield _to_batch(pending, schema, landed, self._rejecter(table, endpoint, rejections))
            landed += len(pending)
        state["rows"] = landed
        state["deleted"] = len(tombstones)
        state["new_fields"] = sorted(new_fields)
        if new_fields:
            log.warning(
                "source %s: %s returned fields not in this run's schema (kept out, listed in state): %s",
                self.name, endpoint, ", ".join(sorted(new_fields)),
            )  # fmt: skip
        state["watermark"] = latest  # final only now: a failed run must not advance it

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

    def _page(self, endpoint: str, params: dict) -> dict:
        """One page, retried on connection errors, 5xx and 429."""
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            self.stats.requests += 1
            retry_after = None
            try:
                response = self._client.get(endpoint, params=params)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {self._scrub(str(exc))}"
                reason = type(exc).__name__
            else:
                status = response.status_code
                if status == 200:
                    return self._parse(endpoint, response)
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

    def _parse(self, endpoint: str, response: httpx.Response) -> dict:
        try:
            page = response.json()
        except ValueError as exc:
            raise RestSourceError(f"source {self.name}: {endpoint} answered 200 with a body that is not JSON") from exc
        if not (
            isinstance(page, dict)
            and isinstance(page.get("data"), list)
            and (page.get("next_cursor") is None or isinstance(page["next_cursor"], str))
        ):
            raise RestSourceError(f"source {self.name}: {endpoint} answered 200 without 'data' and 'next_cursor'")
        deleted = page.get("deleted", [])
        if not (isinstance(deleted, list) and all(isinstance(t, dict) for t in deleted)):
            raise RestSourceError(f"source {self.name}: {endpoint} answered 'deleted' that is not a list of objects")
        return page

    def _reason(self, response: httpx.Response) -> str:
        try:
            reason = str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            reason = response.text
        return self._scrub(reason[:200]) or response.reason_phrase

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


def _infer(values: list) -> str:
    present = [v for v in values if v is not None]
    if present and all(type(v) is int for v in present) and all(INT64_MIN <= v <= INT64_MAX for v in present):
        return "int64"
    if present and all(type(v) in (int, float) for v in present):
        return "float64"
    return "string"


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
    accepted = (int,) if wanted is int else (int, float)
    out = values
    for index, value in enumerate(values):
        if value is None or (type(value) in accepted and (wanted is float or INT64_MIN <= value <= INT64_MAX)):
            continue
        if out is values:
            out = list(values)
        if wanted is int and type(value) is float and value.is_integer():
            out[index] = int(value)
            continue
        out[index] = None
        kind = "boolean" if type(value) is bool else type(value).__name__
        reject(offset + index + 1, f"column {column.name}: expected {column.type}, got JSON {kind}; landed as null")
    return out


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
