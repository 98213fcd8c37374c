"""The benchmark harness measures each approach in its own process: its rows, its CPU and its own memory."""

from __future__ import annotations

import os
import re
import threading

from bench.measure import Approach, measure, measure_rounds, versus


def _hold_and_spin(megabytes: int, threads: int) -> int:
    """Hold ``megabytes`` of memory while ``threads`` threads each do the same CPU work; returns the bytes held."""
    block = bytearray(megabytes << 20)
    block[::4096] = b"\x01" * len(block[::4096])  # touch every page so it is resident

    def spin() -> None:
        total = 0
        for value in range(300_000):
            total += value * value

    workers = [threading.Thread(target=spin) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(block)


def test_each_run_counts_its_own_rows_cpu_and_memory():
    small, large = measure(_hold_and_spin, 8, 1), measure(_hold_and_spin, 256, 4)
    assert (small["rows"], large["rows"]) == (8 << 20, 256 << 20)
    assert large["peak_rss_mib"] >= 256 > small["peak_rss_mib"]  # a fresh process each: nothing carried over
    assert large["cpu_seconds"] > small["cpu_seconds"] > 0  # every thread's CPU counts, not only the caller's


def _fork_worker(megabytes: int) -> int:
    """Fork a worker that holds ``megabytes`` and spins, and wait for it; returns 1."""
    pid = os.fork()
    if pid == 0:
        try:
            _hold_and_spin(megabytes, 1)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return 1


def test_a_forked_worker_s_cpu_and_memory_count():
    alone, forking = measure(_hold_and_spin, 8, 1), measure(_fork_worker, 256)
    assert forking["peak_rss_mib"] >= 256 > alone["peak_rss_mib"]
    assert forking["cpu_seconds"] >= 0.8 * alone["cpu_seconds"]  # the worker's spin, though this process only waited


def test_rounds_report_a_real_run_and_every_run_and_the_comparison_names_its_ratios():
    results = measure_rounds(
        {"ours": Approach(_hold_and_spin, lambda n: (8, 1)), "other": Approach(_hold_and_spin, lambda n: (64, 2))},
        rounds=3,
    )
    ours, other = results["ours"], results["other"]
    assert len(ours["runs_seconds"]) == 3
    assert round(ours["seconds"], 2) in ours["runs_seconds"]  # the median is one of the runs, not an average
    comparison = versus(ours, other)
    ratios = {name: float(value) for value, name in re.findall(r"([\d.]+)x (rows/s|CPU|memory)", comparison)}
    assert set(ratios) == {"rows/s", "CPU", "memory"}
    assert ratios["memory"] < 1  # 8 MiB held against 64
