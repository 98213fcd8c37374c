"""The simulator's groups of systems written in forked processes: results, progress and failures come back."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from citybase.simulator import parallel
from citybase.simulator.parallel import SimulationProcessError, run_in_parallel


class RecordedSteps:
    """A progress stand-in that records what the groups reported."""

    def __init__(self):
        self.events: list[tuple] = []

    def __call__(self, description: str, total: int):
        self.events.append(("step", description, total))
        return lambda completed: self.events.append(("advance", description, completed))


def squares(step):
    advance = step("squares", 3)
    for _ in range(3):
        advance(1)
    return {"pid": os.getpid(), "values": [n * n for n in range(5)]}


def cubes(step):
    advance = step("cubes", 1)
    advance(1)
    return {"pid": os.getpid(), "values": [n**3 for n in range(5)]}


def test_each_group_runs_in_its_own_process_and_its_result_and_progress_come_back():
    steps = RecordedSteps()
    first, second = run_in_parallel([squares, cubes], steps)
    assert first["values"] == [0, 1, 4, 9, 16]
    assert second["values"] == [0, 1, 8, 27, 64]
    assert len({first["pid"], second["pid"], os.getpid()}) == 3
    squares_events = [e for e in steps.events if e[1] == "squares"]
    assert squares_events == [("step", "squares", 3), *[("advance", "squares", 1)] * 3]
    assert [e for e in steps.events if e[1] == "cubes"] == [("step", "cubes", 1), ("advance", "cubes", 1)]


def test_groups_see_what_the_parent_built_before_they_started():
    city = {"people": list(range(100_000))}  # inherited by the fork, never pickled

    def count(_step):
        return len(city["people"])

    def total(_step):
        return sum(city["people"])

    assert run_in_parallel([count, total], RecordedSteps()) == [100_000, sum(range(100_000))]


def test_a_failing_group_fails_the_run_with_its_traceback_and_stops_the_others(tmp_path: Path):
    pid_file = tmp_path / "sleeper.pid"

    def sleeper(_step):
        pid_file.write_text(str(os.getpid()))
        time.sleep(600)

    def broken(_step):
        while not pid_file.exists():
            time.sleep(0.01)
        raise ValueError("no such division 419999")

    failure = r"broken failed in its process:[\s\S]*ValueError: no such division"
    with pytest.raises(SimulationProcessError, match=failure):
        run_in_parallel([sleeper, broken], RecordedSteps())
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # stopped and reaped, not left running


def test_a_group_whose_process_dies_is_named_with_its_exit_code():
    def dies(_step):
        os._exit(3)

    with pytest.raises(SimulationProcessError, match="dies ended without a result \\(exit code 3\\)"):
        run_in_parallel([squares, dies], RecordedSteps())


def test_without_fork_the_groups_run_in_turn_in_this_process(monkeypatch):
    monkeypatch.setattr(parallel.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    steps = RecordedSteps()
    first, second = run_in_parallel([squares, cubes], steps)
    assert first["pid"] == second["pid"] == os.getpid()
    assert steps.events[0] == ("step", "squares", 3)
    assert steps.events[-1] == ("advance", "cubes", 1)


def test_in_a_daemonic_worker_which_may_not_fork_children_the_groups_run_in_turn(monkeypatch):
    monkeypatch.setattr(parallel.multiprocessing.current_process(), "daemon", True, raising=False)
    first, second = run_in_parallel([squares, cubes], RecordedSteps())
    assert first["pid"] == second["pid"] == os.getpid()
