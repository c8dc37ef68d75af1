"""The integration layer: one book for 10 sleeves x 500 symbols, and the 20-year demo backtest.

Run from the repository root: ``python -m bench.bench_book``.
"""

from __future__ import annotations

import time

import numpy as np

from bench._common import fmt_seconds, machine_line, markdown_table, measure
from bench.bench_engine import synthetic_prices
from riskbook.book import BookBuilder, FunctionSleeve
from riskbook.pipeline import RunConfig, run_book


def synthetic_sleeve(k: int, n: int) -> FunctionSleeve:
    """A 1-month momentum sign on one decile of the names, plus a small fixed tilt on all."""
    member = (np.arange(n) % 10) == k
    tilt = 0.1 * np.sin(k + np.arange(n))

    def weights(view):
        move = view.close[-1] / view.close[-21] - 1.0
        return np.sign(move) * member + tilt

    return FunctionSleeve(f"sleeve{k}", weights)


def one_book() -> list[list[object]]:
    data = synthetic_prices(500, 3, seed=4)
    builder = BookBuilder([synthetic_sleeve(k, 500) for k in range(10)])
    times = iter(data.dates[300:])
    for _ in range(80):  # past the 60-day warm-up, so every stage runs
        builder.build(data.until(next(times)))
    timing = measure(
        lambda: builder.build(data.until(next(times))), repeats=5, min_time=0.0, warmup=0
    )
    return [["one book, 10 sleeves x 500 symbols (all stages)", timing.fmt()]]


def demo_backtest() -> list[list[object]]:
    """The demo's run (`riskbook.pipeline.RunConfig()`), the one `riskbook demo` makes."""
    t0 = time.perf_counter()
    run = run_book(RunConfig())
    elapsed = time.perf_counter() - t0
    m = run.result.metrics()
    return [
        [
            f"5 demo sleeves, 20 stocks, daily decisions 2000-2022 ({int(m['rebalances'])} books,"
            " 1-year warm-up, cost gate on)",
            fmt_seconds(elapsed),
        ]
    ]


def main() -> None:
    print("## The integration layer\n")
    print(markdown_table(["case", "median (min-max) / one run"], one_book() + demo_backtest()))
    print(f"\n{machine_line()}")


if __name__ == "__main__":
    main()
