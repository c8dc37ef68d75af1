"""Loading the bundled data: riskbook vs skfolio's loader vs a bare pandas read_csv.

Run from the repository root: ``python -m bench.bench_data``.
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

from bench._common import machine_line, markdown_table, measure  # pins BLAS first
from riskbook.datasets import load_bundled, load_sp500, synthetic_minutes


def cold_riskbook_load():
    load_bundled.cache_clear()
    return load_sp500()


def main() -> None:
    from skfolio.datasets import load_sp500_dataset

    path = str(files("riskbook.datasets").joinpath("data", "sp500_dataset.csv.gz"))
    rows = []
    floor = measure(lambda: pd.read_csv(path, index_col=0, parse_dates=True), repeats=9)
    sk = measure(load_sp500_dataset, repeats=9)
    cold = measure(cold_riskbook_load, repeats=9)
    warm = measure(load_sp500, repeats=9)
    rows.append(["pandas read_csv (no validation, floor)", floor.fmt(), "1.00"])
    rows.append(["skfolio load_sp500_dataset", sk.fmt(), f"{sk.median / floor.median:.2f}"])
    rows.append(
        ["riskbook load_sp500 (parse + validate)", cold.fmt(), f"{cold.median / floor.median:.2f}"]
    )
    rows.append(["riskbook load_sp500 (cached)", warm.fmt(), f"{warm.median / floor.median:.4f}"])
    print("## Loading the bundled S&P 500 set (8313 x 20)\n")
    print(markdown_table(["loader", "median (min-max)", "x floor"], rows))

    sp = load_sp500()
    year = sp.slice("2022-01-01", "2022-12-28")
    gen = measure(lambda: synthetic_minutes(year, seed=0), repeats=5)
    minutes = synthetic_minutes(year, seed=0)
    res = measure(lambda: minutes._cache.clear() or minutes.resample("1D"), repeats=5)
    view = measure(lambda: sp.until("2015-06-30").history(252), repeats=9)
    print("\n## Minute bars and the point-in-time view\n")
    print(
        markdown_table(
            ["operation", "median (min-max)"],
            [
                [
                    f"synthetic_minutes, 20 symbols x {len(year)} days ({len(minutes)} bars)",
                    gen.fmt(),
                ],
                ["resample('1D') of those bars", res.fmt()],
                ["until(t).history(252) on the S&P 500 set", view.fmt()],
            ],
        )
    )
    print(f"\n{machine_line()}")


if __name__ == "__main__":
    main()
