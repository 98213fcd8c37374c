"""Random streams and vectorised sampling helpers shared by the generators."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per named purpose, so changing one generator never shifts another's draws."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` that sum exactly to ``total``.

    Largest-remainder rounding: plain rounding would make the parts miss the total by a few.
    """
    shares = np.asarray(weights, dtype=np.float64)
    exact = total * shares / shares.sum()
    parts = np.floor(exact).astype(np.int64)
    shortfall = total - int(parts.sum())
    parts[np.argsort(-(exact - parts), kind="stable")[:shortfall]] += 1
    return parts


def weighted_top_k(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Positions of ``k`` items drawn without replacement with probability proportional to ``weights``.

    Gumbel-top-k: one vectorised pass, where ``rng.choice(replace=False, p=...)`` is slow on millions.
    """
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    keys = np.log(weights) + rng.gumbel(size=len(weights))
    if k >= len(weights):
        return np.argsort(-keys, kind="stable")
    return np.argpartition(-keys, k - 1)[:k]


def runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For an already sorted key array: each element's run number and its 0-based rank inside the run."""
    n = len(sorted_keys)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    is_start = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    run_index = np.cumsum(is_start) - 1
    starts = np.flatnonzero(is_start)
    return run_index, np.arange(n) - starts[run_index]
