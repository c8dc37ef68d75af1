"""Walk-forward benchmark ladder: serial, 2 processes, a 2-worker Dask cluster, and skfolio.

Run from the repository root: ``.venv/bin/python -m bench.bench_validate_walk``. The 20 bundled
stocks, 2000-2022, train 252 rows and refit every 21 (monthly), 10 bps costs.

Goals (measured in this one run): the ladder of 6 (the 5 defaults HRP, ERC, 1/N-risk, 1/N,
min-variance, plus a user callable: max diversification) under 30 s serially; every executor
gives bit-identical results. Reported, not goals: the speed-up from 1 to 2 cores (processes and
Dask), also on a heavier case (100 synthetic assets, same calendar), and the ratio to skfolio's
``WalkForward`` + ``cross_val_predict`` on the three allocators both libraries have (HRP, equal
weight, inverse volatility). Every timing includes its first call (nothing is warmed up but the
Dask workers' imports): a ``ProcessExecutor`` starts a new pool, whose workers import riskbook,
on every call.

The ratio to skfolio is of work that is not identical: skfolio estimates its own moments (here
its default empirical covariance) and returns weights and a multi-period portfolio without
costs, while riskbook computes a Ledoit-Wolf covariance per fold, chains the windows with
drift and 10 bps costs and the diagnostics (effective N, bets, ex-ante vol).
"""

from __future__ import annotations

# First, before numpy loads anywhere: bench._common pins every library to the same BLAS threads.
from bench._common import (
    Timing,
    fmt_seconds,
    machine_line,
    markdown_table,
    synthetic_factor_returns,
)

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


def synthetic(n_assets: int, like) -> pd.DataFrame:
    """Factor-model returns of ``n_assets`` on the calendar of ``like`` (a MarketData)."""
    dates = like.dates[1:]
    R = synthetic_factor_returns(len(dates), n_assets, seed=n_assets)
    return pd.DataFrame(
        R, index=pd.DatetimeIndex(dates), columns=[f"A{i:03d}" for i in range(n_assets)]
    )


def executor_rows(
    case, client, repeats: int
) -> tuple[list[list[str]], WalkForwardResult, Timing, bool]:
    """Serial, ProcessExecutor(2) and the Dask client on one data set.

    Returns the table rows, the serial result and timing, and whether all runs were identical.
    """
    serial_t, serial = timed(lambda: walk_forward(case, ladder(), costs=COSTS), repeats)
    rows = [["serial", serial_t.fmt(), "1.00x", "reference"]]
    proc_t, proc = timed(
        lambda: walk_forward(case, ladder(), costs=COSTS, executor=ProcessExecutor(2)), repeats
    )
    same = identical(serial, proc)
    rows.append(
        [
            "ProcessExecutor(2) (a new pool per call)",
            proc_t.fmt(),
            f"{serial_t.median / proc_t.median:.2f}x",
            f"identical to serial: {same}",
        ]
    )
    if client is None:
        rows.append(["Dask LocalCluster", "not available", "-", ""])
        return rows, serial, serial_t, same
    walk_forward(case, ladder(), costs=COSTS, executor=client)  # workers import riskbook
    dask_t, dask_res = timed(
        lambda: walk_forward(case, ladder(), costs=COSTS, executor=client), repeats
    )
    same_dask = identical(serial, dask_res)
    rows.append(
        [
            "Dask LocalCluster (2 workers x 1 thread, started once)",
            dask_t.fmt(),
            f"{serial_t.median / dask_t.median:.2f}x",
            f"identical to serial: {same_dask}",
        ]
    )
    return rows, serial, serial_t, same and same_dask


def main() -> None:
    started = time.perf_counter()
    md = data()
    print("# Walk-forward benchmark ladder\n")
    print(machine_line())
    print(
        f"\n{len(md.symbols)} bundled stocks, {md.start.date()}..{md.end.date()}, train {TRAIN}, "
        f"test {TEST}, {COSTS:g} bps; 6 strategies (5 defaults + max diversification).\n"
    )
    header = ["executor", "wall time (median, min-max)", "speed-up vs serial", ""]
    try:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    except Exception as exc:  # a missing extra is a result to report, not a crash
        print(f"_Dask unavailable: {type(exc).__name__}: {exc}_\n")
        cluster = client = None
    try:
        rows, serial, serial_t, same_all = executor_rows(md, client, repeats=5)
        n_folds = len(serial.folds)
        print(f"### The ladder of 6 on the bundled stocks: {n_folds} folds x 6 strategies\n")
        print(markdown_table(header, rows) + "\n")
        heavy = synthetic(100, md)
        rows, _, _, same_heavy = executor_rows(heavy, client, repeats=3)
        print("### Heavier: the same calendar and ladder on 100 synthetic assets\n")
        print(markdown_table(header, rows) + "\n")
        same_all &= same_heavy
    finally:
        if client is not None:
            client.close()
            cluster.close()

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
    print("### Against skfolio, the three allocators both have (bundled stocks)\n")
    print(markdown_table(["run", "wall time", "ratio"], peer_rows))
    print()

    print("### The ladder's result (for the record)\n")
    summary = serial.summary()[
        ["sharpe", "annual_return", "volatility", "max_drawdown", "annual_turnover", "cost_drag"]
    ]
    print(summary.round(3).to_markdown() if _has_tabulate() else summary.round(3).to_string())
    print(f"\nverdict: {serial.verdict}\n")

    ok = "met" if serial_t.median < GOAL_SECONDS else "NOT met"
    verdicts = [
        f"ladder of 6 on the bundled stocks ({n_folds} folds) serially in "
        f"{fmt_seconds(serial_t.median)} (goal < {GOAL_SECONDS:.0f} s): {ok}"
    ]
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
