"""Time and peak memory of a function, each in a fresh process so one approach's memory never counts for another."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable


def _child(function: Callable[..., int], args: tuple, queue) -> None:
    start = time.perf_counter()
    rows = function(*args)
    seconds = time.perf_counter() - start
    queue.put((rows, seconds, _peak_rss_mib()))


def _peak_rss_mib() -> float:
    """VmHWM belongs to the address space, so unlike ru_maxrss it is not inherited across exec."""
    for line in open("/proc/self/status", encoding="ascii"):  # noqa: SIM115 - a one-pass read of a proc file
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(function: Callable[..., int], *args) -> dict:
    """Run ``function(*args)`` (returns rows processed) in a fresh interpreter: rows, seconds, peak RSS in MiB."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(function, args, queue))
    process.start()
    rows, seconds, peak = queue.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"benchmark child exited with {process.exitcode}")
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "peak_rss_mib": peak}


def versus(ours: dict, alternative: dict) -> str:
    """How ``ours`` compares with the alternative measured in the same run."""
    return (
        f"{ours['rows_per_s'] / alternative['rows_per_s']:.1f}x rows/s, "
        f"{ours['peak_rss_mib'] / alternative['peak_rss_mib']:.2f}x memory"
    )
