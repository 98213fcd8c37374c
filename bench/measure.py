"""Time and peak memory of a function, each in a fresh process so one approach's memory never counts for another.

The modules an approach needs are imported first and timed apart: an interpreter's imports cost the
same whatever the data's size (about a second for pandas or SQLAlchemy), so rows/s is the work alone,
while ``import_seconds`` shows what a cold task pays on top.

Worker processes an approach forks (and waits for) are part of its cost: their CPU counts, and the
largest one's peak RSS is added to the process's own. That sum is an upper bound of the peak of the
whole: a forked worker's RSS also counts the pages it shares with its parent.

A shared virtual machine's speed drifts by tens of percent from one minute to the next, so the
approaches of a benchmark are measured in rounds (A, B, C, then A, B, C again, ...) and each is
reported by its median run, with every run's seconds beside it.
"""

from __future__ import annotations

import importlib
import multiprocessing
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass


def _child(function: Callable[..., int], args: tuple, imports: tuple[str, ...], queue) -> None:
    start = time.perf_counter()
    for module in imports:
        importlib.import_module(module)
    imported, cpu = time.perf_counter(), _cpu_seconds()
    rows = function(*args)
    seconds = time.perf_counter() - imported
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # (KiB on Linux)
    queue.put((rows, seconds, _cpu_seconds() - cpu, imported - start, _peak_rss_mib() + workers))


def _cpu_seconds() -> float:
    """User and system time of every thread of this process so far, and of the child processes it waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mib() -> float:
    """VmHWM belongs to the address space, so unlike ru_maxrss it is not inherited across exec."""
    for line in open("/proc/self/status", encoding="ascii"):  # noqa: SIM115 - a one-pass read of a proc file
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(function: Callable[..., int], *args, imports: tuple[str, ...] = ()) -> dict:
    """Run ``function(*args)`` (returns rows processed) in a fresh interpreter, after importing ``imports``:
    rows, seconds (the call), its CPU seconds (all threads), import seconds, peak RSS in MiB."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(function, args, imports, queue))
    process.start()
    rows, seconds, cpu_seconds, import_seconds, peak = queue.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"benchmark child exited with {process.exitcode}")
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "import_seconds": import_seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mib": peak,
    }


@dataclass(frozen=True)
class Approach:
    """One way of doing a benchmark's work; ``args`` gives the arguments of round n (its own output folder)."""

    function: Callable[..., int]
    args: Callable[[int], tuple]
    imports: tuple[str, ...] = ()


def measure_rounds(approaches: dict[str, Approach], rounds: int) -> dict[str, dict]:
    """Per approach, its median run of ``rounds`` (interleaved with the others'), its runs' seconds, and the
    highest peak RSS of any of its runs."""
    runs: dict[str, list[dict]] = {name: [] for name in approaches}
    for round_number in range(rounds):
        for name, approach in approaches.items():
            runs[name].append(measure(approach.function, *approach.args(round_number), imports=approach.imports))
    medians = {}
    for name, results in runs.items():
        median = sorted(results, key=lambda result: result["seconds"])[(len(results) - 1) // 2]  # a real run
        medians[name] = {
            **median,
            "runs_seconds": [round(result["seconds"], 2) for result in results],
            "peak_rss_mib": max(result["peak_rss_mib"] for result in results),
        }
    return medians


def versus(ours: dict, alternative: dict) -> str:
    """How ``ours`` compares with the alternative measured in the same run. The CPU ratio does not depend on
    how many cores the machine lends: on two cores, throughput can gain at most twice what CPU alone gives."""
    return (
        f"{ours['rows_per_s'] / alternative['rows_per_s']:.1f}x rows/s, "
        f"{ours['cpu_seconds'] / alternative['cpu_seconds']:.2f}x CPU, "
        f"{ours['peak_rss_mib'] / alternative['peak_rss_mib']:.2f}x memory"
    )
