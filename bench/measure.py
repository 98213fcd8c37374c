"""Time and peak memory of a function, each in a fresh process so one approach's memory never counts for another.

The modules an approach needs are imported first and timed apart: an interpreter's imports cost the
same whatever the data's size (about a second for pandas or SQLAlchemy), so rows/s is the work alone,
while ``import_seconds`` shows what a cold task pays on top.
"""

from __future__ import annotations

import importlib
import multiprocessing
import time
from collections.abc import Callable


def _child(function: Callable[..., int], args: tuple, imports: tuple[str, ...], queue) -> None:
    start = time.perf_counter()
    for module in imports:
        importlib.import_module(module)
    imported = time.perf_counter()
    rows = function(*args)
    seconds = time.perf_counter() - imported
    queue.put((rows, seconds, imported - start, _peak_rss_mib()))


def _peak_rss_mib() -> float:
    """VmHWM belongs to the address space, so unlike ru_maxrss it is not inherited across exec."""
    for line in open("/proc/self/status", encoding="ascii"):  # noqa: SIM115 - a one-pass read of a proc file
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(function: Callable[..., int], *args, imports: tuple[str, ...] = ()) -> dict:
    """Run ``function(*args)`` (returns rows processed) in a fresh interpreter, after importing ``imports``:
    rows, seconds (the call), import seconds, peak RSS in MiB."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(function, args, imports, queue))
    process.start()
    rows, seconds, import_seconds, peak = queue.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"benchmark child exited with {process.exitcode}")
    return {
        "rows": rows,
        "seconds": seconds,
        "import_seconds": import_seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mib": peak,
    }


def versus(ours: dict, alternative: dict) -> str:
    """How ``ours`` compares with the alternative measured in the same run."""
    return (
        f"{ours['rows_per_s'] / alternative['rows_per_s']:.1f}x rows/s, "
        f"{ours['peak_rss_mib'] / alternative['peak_rss_mib']:.2f}x memory"
    )
