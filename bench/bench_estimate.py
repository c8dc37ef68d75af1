"""Speed of riskbook.estimate against scikit-learn, numpy and pandas, in one run.

Run from the repository root: ``python -m bench.bench_estimate`` (BLAS pinned to one thread by
``bench._common``; set RISKBOOK_BENCH_THREADS to change it). Inputs are synthetic 5-factor daily
returns, T = 2520 (ten years), N in {20, 100, 500, 1000}, float64.

Headline: ``ledoit_wolf`` (scaled identity) vs scikit-learn's ``LedoitWolf().fit`` and vs the
numpy floor, one ``Xc.T @ Xc`` on already demeaned returns (the product any covariance estimate
must form). Every timing is the median of repeated runs with its min-max range; ratios are of
medians. The machine is shared and noisy, so the contenders of one row are timed in interleaved
rounds (each round times each contender once, looping fast calls to >= 20 ms): a burst of load
then hits all of them instead of one. Results are checked against the peers before timing.
"""

from bench import _common  # must load before numpy: it pins the BLAS threads

# isort: split
import gc
import time
from collections.abc import Callable
from statistics import median

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf

from riskbook.estimate import (
    ewma_covariance,
    factor_model_covariance,
    ledoit_wolf,
    pairwise_covariance,
    sample_covariance,
)

T = 2520
SIZES = (20, 100, 500, 1000)


def with_gaps(X: np.ndarray, seed: int = 1) -> np.ndarray:
    """A copy where half the series start late (up to 8 years) and some end early."""
    rng = np.random.default_rng(seed)
    out = X.copy()
    T, N = X.shape
    for j in range(N // 2, N):
        out[: rng.integers(0, 2000), j] = np.nan
        if rng.random() < 0.3:
            out[T - rng.integers(1, 300) :, j] = np.nan
    return out


def race(contenders: dict[str, Callable[[], object]], rounds: int = 7) -> dict[str, _common.Timing]:
    """Per-call median, min and max of each contender over interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():
        fn()  # warm-up: imports, caches, page faults
    gc.disable()
    try:
        for _ in range(rounds):
            for name, fn in contenders.items():
                samples[name].append(_per_call(fn))
    finally:
        gc.enable()
    return {name: _common.Timing(median(v), min(v), max(v), rounds) for name, v in samples.items()}


def _per_call(fn: Callable[[], object], min_time: float = 0.02) -> float:
    """Wall time of one call; calls shorter than ``min_time`` are looped and averaged."""
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    if once >= min_time:
        return once
    loops = int(min_time / max(once, 1e-9)) + 1
    t0 = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t0) / loops


def headline(N: int, X: np.ndarray) -> list[object]:
    lw = LedoitWolf().fit(X)
    ours = ledoit_wolf(X)
    if not np.allclose(ours, lw.covariance_, rtol=1e-10, atol=0):
        raise AssertionError(f"ledoit_wolf differs from scikit-learn at N={N}")
    Xc = X - X.mean(axis=0)
    t = race(
        {
            "floor": lambda: Xc.T @ Xc,
            "riskbook": lambda: ledoit_wolf(X),
            "sklearn": lambda: LedoitWolf().fit(X),
        },
        rounds=9,
    )
    mine, sk, floor = t["riskbook"], t["sklearn"], t["floor"]
    return [
        N,
        mine.fmt(),
        sk.fmt(),
        floor.fmt(),
        f"{mine.median / floor.median:.2f}x",
        f"{sk.median / mine.median:.1f}x",
    ]


def others(N: int, X: np.ndarray) -> list[object]:
    rng = np.random.default_rng(2)
    F = rng.standard_normal((T, 5)) * 0.01
    G = with_gaps(X)
    frame = pd.DataFrame(G)
    t = race(
        {
            "sample": lambda: sample_covariance(X),
            "np.cov": lambda: np.cov(X, rowvar=False),
            "cc": lambda: ledoit_wolf(X, "constant_correlation"),
            "sf": lambda: ledoit_wolf(X, "single_factor"),
            "ewma": lambda: ewma_covariance(X, 63.0),
            "factor": lambda: factor_model_covariance(X, F),
            "pairwise": lambda: pairwise_covariance(G),
            "pandas": lambda: frame.cov(),
        },
        rounds=3 if N >= 500 else 7,
    )
    cells = t.values()
    return [N, *(c.fmt() for c in cells)]


def main() -> None:
    print(f"riskbook.estimate benchmark: T = {T}, synthetic 5-factor returns, float64\n")
    rows = []
    data = {}
    for N in SIZES:
        data[N] = _common.synthetic_factor_returns(T, N, seed=0)
        rows.append(headline(N, data[N]))
    print("Ledoit-Wolf, scaled-identity target (median (min-max) per call)\n")
    print(
        _common.markdown_table(
            [
                "N",
                "riskbook ledoit_wolf",
                "sklearn LedoitWolf().fit",
                "numpy floor Xc.T @ Xc",
                "riskbook / floor",
                "sklearn / riskbook",
            ],
            rows,
        )
    )
    rows = []
    for N in SIZES:
        rows.append(others(N, data[N]))
    print("\nOther estimators, for information (median (min-max) per call)\n")
    print(
        _common.markdown_table(
            [
                "N",
                "sample_covariance",
                "np.cov",
                "LW constant corr.",
                "LW single factor",
                "ewma_covariance",
                "factor model (K=5)",
                "pairwise (gaps, shrink)",
                "pandas DataFrame.cov (gaps)",
            ],
            rows,
        )
    )
    print(
        "\npairwise: half the series start up to 8 years late, some end early; includes the"
        " Higham repair and shrinkage (pandas: pairwise-complete entries only, no repair)."
    )
    print(f"\nMachine: {_common.machine_line()}")


if __name__ == "__main__":
    main()
