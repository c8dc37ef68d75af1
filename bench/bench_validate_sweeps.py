"""Validation sweeps: Monte Carlo stress paths and the book's parameter sensitivity.

Run from the repository root: ``python -m bench.bench_validate_sweeps``. No peer library
offers either sweep (a drawdown governor simulated path-wise, or a +/-50% sensitivity screen of
a multi-sleeve book), so the rows are riskbook alone: serial against two local processes.
"""

from __future__ import annotations

import time

import numpy as np

import riskbook
from bench._common import fmt_seconds, machine_line, markdown_table, measure
from riskbook.book import BookBuilder, demo_sleeves
from riskbook.datasets import load_sp500
from riskbook.validate import ProcessExecutor
from riskbook.validate.sensitivity import book_sensitivity
from riskbook.validate.stress import monte_carlo_stress

BACKTEST = {
    "start": "2000-01-01",
    "costs": 5,
    "cash": 10_000_000,
}


def demo_returns() -> np.ndarray:
    """Daily returns of the 5-sleeve demo book, 2000-2022, weekly decisions."""
    data = load_sp500().slice("1999-01-01", "2022-12-28")
    result = riskbook.backtest(
        data,
        BookBuilder(demo_sleeves()),
        schedule="weekly",
        fill="next_close",
        account="margin",
        leverage=2.0,
        **BACKTEST,
    )
    equity = result.daily_equity().to_numpy()
    return equity[1:] / equity[:-1] - 1.0


def monte_carlo(returns: np.ndarray) -> list[list[object]]:
    rows = []
    for name, executor in (("serial", "serial"), ("2 processes", ProcessExecutor(2))):
        for method in ("block_bootstrap", "factor_shock"):
            timing = measure(
                lambda executor=executor, method=method: monte_carlo_stress(
                    returns, n_paths=10_000, horizon=252, method=method, executor=executor
                ),
                repeats=3,
                min_time=0.0,
                warmup=1,
            )
            rows.append([f"Monte Carlo stress, {method}, 10,000 x 252 days, {name}", timing])
    return rows


def sensitivity_sweep(repeats: int = 3) -> tuple[list[list[object]], str]:
    data = load_sp500().slice("1999-01-01", "2022-12-28")
    times: dict[str, list[float]] = {"serial": [], "2 processes": []}
    verdict = ""
    for _ in range(repeats):
        for name, executor in (("serial", "serial"), ("2 processes", ProcessExecutor(2))):
            t0 = time.perf_counter()
            res = book_sensitivity(
                data, demo_sleeves(), backtest_kwargs=BACKTEST, executor=executor
            )
            times[name].append(time.perf_counter() - t0)
            verdict = res.verdict
    rows = [
        [
            f"book sensitivity, 4 parameters x 5 factors ({res.n_evaluations} backtests of the "
            f"demo 2000-2022, weekly), {name}",
            float(np.median(t)),
        ]
        for name, t in times.items()
    ]
    return rows, verdict


def main() -> None:
    print("## Validation sweeps (no peer library does these)\n")
    mc = monte_carlo(demo_returns())
    sens, verdict = sensitivity_sweep()
    rows = [[case, t.fmt()] for case, t in mc]
    rows += [[case, fmt_seconds(t)] for case, t in sens]
    print(markdown_table(["case", "median (min-max) / median of 3"], rows))
    for method in ("block_bootstrap", "factor_shock"):
        serial = next(t for c, t in mc if method in c and "serial" in c).median
        para = next(t for c, t in mc if method in c and "processes" in c).median
        print(f"\nMonte Carlo {method}: 2 processes vs serial, speed-up {serial / para:.2f}x")
    print(f"Book sensitivity: 2 processes vs serial, speed-up {sens[0][1] / sens[1][1]:.2f}x")
    print(f"\nSensitivity verdict on the demo book: {verdict}")
    print(f"\n{machine_line()}")


if __name__ == "__main__":
    main()
