"""Walk-forward benchmark ladder: serial, 2 processes, a 2-worker Dask cluster, and skfolio.

Run from the repository root: ``.venv/bin/python -m bench.bench_validate_walk``. The 20 bundled
stocks, 2000-2022, train 252 rows and refit every 21 (monthly), 10 bps costs.

Goals (measured in this one run): the ladder of 6 (the 5 defaults HRP, ERC, 1/N-risk, 1/N,
min-variance, plus a user callable: max diversification) under 30 s serially; every executor
gives bit-identical results. Reported, not goals: the speed-up from 1 to 2 cores (processes and
Dask) and the ratio to skfolio's ``WalkForward`` + ``cross_val_predict`` on the three
allocators both libraries have (HRP, equal weight, inverse volatility).

The ratio to skfolio is of work that is not identical: skfolio estimates its own moments (here
its default empirical covariance) and returns weights and a multi-period portfolio without
costs, while riskbook computes a Ledoit-Wolf covariance per fold, chains the windows with
drift and 10 bps costs and the diagnostics (effective N, bets, ex-ante vol).
"""

from __future__ import annotations

# First, before numpy loads anywhere: bench._common pins every library to the same BLAS threads.
from bench._common import Timing, fmt_seconds, machine_line, markdown_table

# isort: split

import time
import warnings

import numpy as np
import pandas as pd

from riskbook.datasets import load_sp500
from riskbook.optimize import max_diversification
from riskbook.validate import ProcessExecutor
from riskbook.validate.walk_forward import (
    DEFAULT_LADDER,
    WalkForwardResult,
    training_covariance,
    walk_forward,
)

warnings.filterwarnings("ignore")

TRAIN, TEST, COSTS = 252, 21, 10.0
GOAL_SECONDS = 30.0
PEER_LADDER = {"HRP": "hrp", "1/N": "equal_weight", "1/N-risk": "inverse_vol"}


def max_div(train_returns: np.ndarray) -> np.ndarray:
    """The user's own allocator: long-only maximum diversification on the shrunk covariance.

    Module level, so process and Dask workers can import it.
    """
    return max_diversification(training_covariance(train_returns))


def ladder() -> dict[str, object]:
    return dict(DEFAULT_LADDER) | {"max-diversification": max_div}


def data():
    return load_sp500().slice("2000-01-01", "2022-12-28")


def timed(fn, repeats: int) -> tuple[Timing, object]:
    """Median, min, max of ``repeats`` calls (the first included: no warm-up is hidden)."""
    samples, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    arr = np.array(samples)
    return Timing(float(np.median(arr)), float(arr.min()), float(arr.max()), repeats), result


def identical(a: WalkForwardResult, b: WalkForwardResult) -> bool:
    frames = ("returns", "equity", "turnover", "costs", "effective_bets")
    same = all(getattr(a, f).equals(getattr(b, f)) for f in frames)
    return same and all(a.weights[n].equals(b.weights[n]) for n in a.strategies)


def skfolio_peer(returns: pd.DataFrame):
    """skfolio's walk-forward of its HRP, equal-weighted and inverse-volatility estimators."""
    from skfolio.model_selection import WalkForward, cross_val_predict
    from skfolio.optimization import EqualWeighted, HierarchicalRiskParity, InverseVolatility

    cv = WalkForward(train_size=TRAIN, test_size=TEST)

    def run() -> list[object]:
        return [
            cross_val_predict(est, returns, cv=cv)
            for est in (HierarchicalRiskParity(), EqualWeighted(), InverseVolatility())
        ]

    return run


def main() -> None:
    started = time.perf_counter()
    md = data()
    print("# Walk-forward benchmark ladder\n")
    print(machine_line())
    print(
        f"\n{len(md.symbols)} bundled stocks, {md.start.date()}..{md.end.date()}, train {TRAIN}, "
        f"test {TEST}, {COSTS:g} bps; 6 strategies (5 defaults + max diversification).\n"
    )
    rows, verdicts = [], []

    serial_t, serial = timed(lambda: walk_forward(md, ladder(), costs=COSTS), repeats=5)
    n_folds = len(serial.folds)
    rows.append(["riskbook, serial", serial_t.fmt(), "1.00x", "reference"])

    proc_t, proc = timed(
        lambda: walk_forward(md, ladder(), costs=COSTS, executor=ProcessExecutor(2)), repeats=5
    )
    rows.append(
        [
            "riskbook, ProcessExecutor(2) (pool started per call)",
            proc_t.fmt(),
            f"{serial_t.median / proc_t.median:.2f}x",
            f"identical to serial: {identical(serial, proc)}",
        ]
    )
    same_all = identical(serial, proc)

    try:
        from dask.distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            walk_forward(md, ladder(), costs=COSTS, executor=client)  # workers import riskbook
            dask_t, dask_res = timed(
                lambda: walk_forward(md, ladder(), costs=COSTS, executor=client), repeats=5
            )
        rows.append(
            [
                "riskbook, Dask LocalCluster (2 workers x 1 thread, started once)",
                dask_t.fmt(),
                f"{serial_t.median / dask_t.median:.2f}x",
                f"identical to serial: {identical(serial, dask_res)}",
            ]
        )
        same_all &= identical(serial, dask_res)
    except Exception as exc:  # a missing extra is a result to report, not a crash
        rows.append(["riskbook, Dask LocalCluster", f"failed ({type(exc).__name__})", "-", ""])

    print(f"### The ladder of 6, {n_folds} folds x 6 strategies\n")
    print(markdown_table(["run", "wall time (median, min-max)", "speed-up vs serial", ""], rows))
    print()

    returns = md.returns()
    ours3_t, _ = timed(lambda: walk_forward(md, PEER_LADDER, costs=COSTS), repeats=5)
    peer_rows = [["riskbook walk_forward (HRP, 1/N, 1/N-risk), serial", ours3_t.fmt(), "1.0"]]
    try:
        peer_t, _ = timed(skfolio_peer(returns), repeats=3)
        peer_rows.append(
            [
                "skfolio WalkForward + cross_val_predict (HRP, EqualWeighted, InverseVolatility)",
                peer_t.fmt(),
                f"{peer_t.median / ours3_t.median:.1f}x slower",
            ]
        )
    except Exception as exc:
        peer_rows.append(["skfolio", f"failed ({type(exc).__name__}: {exc})", "-"])
    print("### Against skfolio, the three allocators both have\n")
    print(markdown_table(["run", "wall time", "ratio"], peer_rows))
    print()

    print("### The ladder's result (for the record)\n")
    summary = serial.summary()[
        ["sharpe", "annual_return", "volatility", "max_drawdown", "annual_turnover", "cost_drag"]
    ]
    print(summary.round(3).to_markdown() if _has_tabulate() else summary.round(3).to_string())
    print(f"\nverdict: {serial.verdict}\n")

    ok = "met" if serial_t.median < GOAL_SECONDS else "NOT met"
    verdicts.append(
        f"ladder of 6 over {n_folds} folds serially in {fmt_seconds(serial_t.median)} "
        f"(goal < {GOAL_SECONDS:.0f} s): {ok}"
    )
    verdicts.append(f"serial, processes and Dask bit-identical: {'met' if same_all else 'NOT met'}")
    print("### Goals\n")
    for line in verdicts:
        print(f"- {line}")
    print(f"\nTotal run time: {time.perf_counter() - started:.0f} s")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
