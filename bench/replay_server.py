"""Recorded API pages served back as they were: a department server that costs (almost) nothing.

The simulated department API builds each page in Python from SQLite, and in the benchmark it shares
this machine's two cores with the client, so it, not the client, sets the pace. A real department's
server runs on its own hardware. Replaying recorded pages takes the server's work out of the
measurement, so the REST rows can say what the clients themselves can do.

``record(url, token, endpoint, page_size, directory)`` walks the live API once and keeps every page
body, named by the cursor that asked for it. ``python -m bench.replay_server --pages <directory>
--url-file <file>`` then answers ``GET <any path>?cursor=<c>`` with the page recorded for ``c`` (the
first page without a cursor), reading it from the file system; anything else is a 404.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

STARTUP_TIMEOUT = 20.0


def page_file(directory: Path, cursor: str) -> Path:
    """Where the page asked for with ``cursor`` ('' for the first) is kept; hashed, as cursors are opaque."""
    return directory / f"{hashlib.sha256(cursor.encode()).hexdigest()}.json"


def walk(url: str, token: str, endpoint: str, page_size: int) -> Iterator[tuple[str, bytes]]:
    """Every page of ``endpoint`` with the cursor that asked for it ('' for the first); of a page only its
    cursor is decoded (msgspec skips the records without building them)."""
    import httpx
    import msgspec

    class Cursor(msgspec.Struct):
        next_cursor: str | None

    decoder, cursor = msgspec.json.Decoder(Cursor), ""
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while True:
            params = {"page_size": page_size, **({"cursor": cursor} if cursor else {})}
            body = client.get(f"{url}/{endpoint}", params=params).raise_for_status().content
            yield cursor, body
            cursor = decoder.decode(body).next_cursor
            if not cursor:
                return


def record(url: str, token: str, endpoint: str, page_size: int, directory: Path) -> int:
    """Every page of ``endpoint`` in ``directory``; returns the number of pages."""
    directory.mkdir(parents=True, exist_ok=True)
    pages = 0
    for cursor, body in walk(url, token, endpoint, page_size):
        page_file(directory, cursor).write_bytes(body)
        pages += 1
    return pages


class ReplayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    pages: Path

    def do_GET(self) -> None:
        cursor = parse_qs(urlsplit(self.path).query).get("cursor", [""])[0]
        try:
            body = page_file(self.pages, cursor).read_bytes()
        except FileNotFoundError:
            body, status = b'{"error": "no page recorded for this cursor"}', HTTPStatus.NOT_FOUND
        else:
            status = HTTPStatus.OK
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass  # a benchmark's server: nothing to keep


@contextmanager
def replaying(directory: Path) -> Iterator[str]:
    """A replay server for ``directory`` in its own process, for the duration of the block; yields its URL."""
    url_file = directory / "url"
    url_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.replay_server", "--pages", str(directory), "--url-file", str(url_file)]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not (url_file.exists() and url_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"replay server for {directory} did not start (exit code {process.poll()})")
            time.sleep(0.05)
        yield url_file.read_text().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=Path, required=True, help="a directory written by record()")
    parser.add_argument("--url-file", type=Path, required=True, help="where to write the server's URL once bound")
    args = parser.parse_args()
    handler = type("Handler", (ReplayHandler,), {"pages": args.pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    partial = args.url_file.with_suffix(".partial")
    partial.write_text(f"http://{host}:{port}\n")
    partial.rename(args.url_file)  # the waiting parent never reads half a URL
    server.serve_forever()


if __name__ == "__main__":
    main()
