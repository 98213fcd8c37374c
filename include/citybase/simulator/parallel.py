"""Writing independent groups of department systems at once, one forked process per group.

Generating the city is single-threaded NumPy and SQLite work; once the people, households and
enterprises exist, the systems built from them no longer depend on one another, so two groups of
them can be written on two cores. The processes are forked, so each inherits the generated city
without copying or pickling it (the pages are shared until written). Each group's progress steps
are relayed to the parent's progress bar over a pipe, and so is its result; a group that fails
fails the simulation with that process's traceback, and the others are stopped.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TypeVar

Steps = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance(completed)
Result = TypeVar("Result")


class SimulationProcessError(RuntimeError):
    """A group of systems failed in its own process; the message holds that process's traceback."""


def run_in_parallel(groups: list[Callable[[Steps], Result]], step: Steps) -> list[Result]:
    """Each group's result, in order: in forked processes when there are two cores and fork (and this process
    may have children: a daemonic worker may not), else in turn."""
    if (
        len(groups) < 2
        or (os.cpu_count() or 1) < 2
        or "fork" not in multiprocessing.get_all_start_methods()
        or multiprocessing.current_process().daemon
    ):
        return [group(step) for group in groups]
    context = multiprocessing.get_context("fork")
    processes, pipes = [], []
    try:
        for group in groups:
            receiving, sending = context.Pipe(duplex=False)
            pipes.append(receiving)
            process = context.Process(target=_run_group, args=(group, sending), name=f"simulate-{group.__name__}")
            process.start()
            sending.close()  # the child's end: the parent sees EOF if the child dies without a word
            processes.append(process)
        return _gather(groups, processes, dict(zip(pipes, range(len(groups)), strict=True)), step)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
        for receiving in pipes:
            receiving.close()


def _gather(groups: list[Callable], processes: list, pipes: dict[Connection, int], step: Steps) -> list:
    results: dict[int, object] = {}
    advances: dict[tuple[int, int], Callable[[int], None]] = {}
    while pipes:
        for ready in wait(list(pipes)):
            index = pipes[ready]
            name = groups[index].__name__
            try:
                kind, *message = ready.recv()
            except EOFError:
                processes[index].join()
                raise SimulationProcessError(
                    f"{name} ended without a result (exit code {processes[index].exitcode})"
                ) from None
            if kind == "step":
                token, description, total = message
                advances[index, token] = step(description, total)
            elif kind == "advance":
                token, completed = message
                advances[index, token](completed)
            elif kind == "failed":
                raise SimulationProcessError(f"{name} failed in its process:\n{message[0]}")
            else:
                results[index] = message[0]
                del pipes[ready]
    return [results[index] for index in range(len(groups))]


def _run_group(group: Callable[[Steps], object], pipe: Connection) -> None:
    """In the child: run the group with its steps relayed, then send its result or its traceback."""
    tokens = itertools.count()

    def relayed_step(description: str, total: int) -> Callable[[int], None]:
        token = next(tokens)
        pipe.send(("step", token, description, total))
        return lambda completed: pipe.send(("advance", token, completed))

    try:
        result = group(relayed_step)
    except BaseException:
        pipe.send(("failed", traceback.format_exc()))
        raise SystemExit(1) from None
    pipe.send(("result", result))
