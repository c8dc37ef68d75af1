"""Shared benchmark helpers: BLAS pinning, robust timing, synthetic inputs, markdown tables.

BLAS is pinned by the ``bench`` package itself, before any benchmark imports numpy.
"""

from __future__ import annotations

import gc
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench import THREADS


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated calls, in seconds."""

    median: float
    min: float
    max: float
    runs: int

    def fmt(self) -> str:
        return f"{fmt_seconds(self.median)} ({fmt_seconds(self.min)}-{fmt_seconds(self.max)})"


def fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def measure(
    fn: Callable[[], object], *, repeats: int = 7, min_time: float = 0.05, warmup: int = 1
) -> Timing:
    """Median, min and max wall time of ``fn()`` over ``repeats`` runs.

    Fast calls are looped within a run until it lasts ``min_time``, and the per-call time kept.
    """
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    loops = max(1, int(min_time / once)) if once > 0 else 1000
    samples = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(loops):
                fn()
            samples.append((time.perf_counter() - t0) / loops)
    finally:
        if gc_was:
            gc.enable()
    arr = np.array(samples)
    return Timing(float(np.median(arr)), float(arr.min()), float(arr.max()), repeats)


def synthetic_factor_returns(T: int, N: int, *, k: int = 5, seed: int = 0) -> np.ndarray:
    """T x N daily returns from a k-factor model (betas ~ N(1, 0.3) on the first factor)."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((T, k)) * 0.01
    betas = rng.standard_normal((k, N)) * 0.3
    betas[0] += 1.0
    idio = rng.standard_normal((T, N)) * rng.uniform(0.005, 0.03, N)
    return factors @ betas + idio


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, BLAS threads {THREADS}"
    )
