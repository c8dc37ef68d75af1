"""The backtest engine against bt, vectorbt and skfolio's walk-forward, side by side.

Run from the repository root: ``python -m bench.bench_engine`` (needs the bench extra).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import riskbook
from bench._common import fmt_seconds, machine_line, markdown_table, measure
from riskbook import MarketData
from riskbook.datasets import load_sp500, synthetic_minutes
from riskbook.execute import BpsFee, Costs
from riskbook.optimize import risk_parity

LOOKBACK = pd.DateOffset(years=1)


# ----------------------------------------------------------------------------- case 1: bundled
def year_window(view) -> np.ndarray:
    """Closes from one calendar year before the decision (bt's ``DateOffset(years=1)``)."""
    day = view.time.astype("datetime64[D]").item()
    try:
        start = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        start = day.replace(year=day.year - 1, day=28)
    return view.close[np.searchsorted(view.dates, np.datetime64(start, "ns"), "left") :]


def inverse_vol(view):
    """Inverse volatility of daily returns over the last calendar year (bt's window rule)."""
    closes = year_window(view)
    rets = closes[1:] / closes[:-1] - 1.0
    iv = 1.0 / rets.std(axis=0, ddof=1)
    return iv / iv.sum()


def equal_risk(view):
    """Equal risk contribution on the sample covariance of the last calendar year."""
    closes = year_window(view)
    rets = closes[1:] / closes[:-1] - 1.0
    centred = rets - rets.mean(axis=0)
    return risk_parity(centred.T @ centred / (len(rets) - 1))


def bt_monthly(prices: pd.DataFrame, weigh):
    """bt's month-start rebalance from 2001 with the given weighing algo, fractional, no costs."""
    import bt

    algos = [bt.algos.RunAfterDate("2000-12-31"), bt.algos.RunMonthly(), bt.algos.SelectAll()]
    strategy = bt.Strategy("s", [*algos, weigh, bt.algos.Rebalance()])
    test = bt.Backtest(
        strategy, prices, integer_positions=False, initial_capital=1_000_000.0, progress_bar=False
    )
    return bt.run(test)


def skfolio_walk_forward(returns: pd.DataFrame, estimator):
    from skfolio.model_selection import WalkForward, cross_val_predict

    return cross_val_predict(estimator, returns, cv=WalkForward(train_size=252, test_size=21))


def case_bundled(kind: str = "inverse_vol") -> list[list[object]]:
    """riskbook vs bt (equity parity) vs skfolio's walk-forward, on the 20 bundled stocks."""
    import bt
    from skfolio.optimization import InverseVolatility, RiskBudgeting

    strategy, weigh, estimator, label, note = {
        "inverse_vol": (
            inverse_vol,
            lambda: bt.algos.WeighInvVol(lookback=LOOKBACK),
            InverseVolatility,
            "riskbook.backtest",
            "",
        ),
        "equal_risk": (
            equal_risk,
            lambda: bt.algos.WeighERC(lookback=LOOKBACK, covar_method="standard"),
            RiskBudgeting,
            "riskbook.backtest + risk_parity",
            "bt's own ERC solver (ccd)",
        ),
    }[kind]
    sp = load_sp500().slice("2000-01-01", "2022-12-28")
    prices = sp.to_frame()
    returns = prices.pct_change().dropna()

    def ours():
        return riskbook.backtest(
            sp, strategy, schedule="month_start", fill="close", fractional=True, start="2001-01-01"
        )

    mine = ours()
    theirs = bt_monthly(prices, weigh()).backtests["s"].strategy.values.reindex(mine.equity.index)
    parity = float((mine.equity / theirs - 1.0).abs().max())
    t_ours = measure(ours, repeats=7)
    t_bt = measure(lambda: bt_monthly(prices, weigh()), repeats=3, warmup=0)
    t_sk = measure(lambda: skfolio_walk_forward(returns, estimator()), repeats=3, warmup=0)
    return [
        [label, t_ours.fmt(), "1.0", f"equity vs bt: max rel. diff {parity:.1e}"],
        ["bt", t_bt.fmt(), f"{t_bt.median / t_ours.median:.0f}x slower", note],
        [
            f"skfolio {estimator.__name__} + WalkForward",
            t_sk.fmt(),
            f"{t_sk.median / t_ours.median:.0f}x slower",
            "weights only, no fills",
        ],
    ]


# ----------------------------------------------------------------------------- case 2: N = 500
def synthetic_prices(n_assets: int, n_years: int, seed: int = 0) -> MarketData:
    rng = np.random.default_rng(seed)
    n_bars = 252 * n_years
    rets = rng.normal(0.0003, 0.015, (n_bars, n_assets)) + rng.normal(0, 0.008, (n_bars, 1))
    close = 50.0 * np.exp(np.cumsum(rets, axis=0))
    dates = pd.bdate_range("2001-01-01", periods=n_bars).to_numpy()
    return MarketData.from_arrays(dates, [f"S{i:04d}" for i in range(n_assets)], close=close)


def random_targets(data: MarketData, schedule: str, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    from riskbook.simulate import decision_bars

    rng = np.random.default_rng(seed)
    bars = decision_bars(data, schedule)
    w = rng.uniform(0, 1, (len(bars), len(data.symbols)))
    return bars, w / w.sum(axis=1, keepdims=True) * 0.98


def table_strategy(data: MarketData, bars: np.ndarray, weights: np.ndarray):
    row = {t: i for i, t in enumerate(data.dates[bars])}
    return lambda view: weights[row[view.time]]


def run_ours(data, schedule, bars, weights):
    return riskbook.backtest(
        data,
        table_strategy(data, bars, weights),
        schedule=schedule,
        fill="close",
        costs=Costs(fee=BpsFee(10)),
    )


def vectorbt_run(data: MarketData, bars: np.ndarray, weights: np.ndarray):
    import vectorbt as vbt

    close = data.to_frame()
    size = np.full(close.shape, np.nan)
    size[bars] = weights
    return vbt.Portfolio.from_orders(
        close,
        size=size,
        size_type="targetpercent",
        call_seq="auto",
        group_by=True,
        cash_sharing=True,
        fees=0.001,
        size_granularity=1,
        init_cash=1_000_000.0,
        freq="1D",
    )


def bt_run(data: MarketData, bars: np.ndarray, weights: np.ndarray):
    import bt

    close = data.to_frame()
    target = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    target.iloc[bars] = weights
    dates = list(close.index[bars])
    strategy = bt.Strategy(
        "t", [bt.algos.RunOnDate(*dates), bt.algos.WeighTarget(target), bt.algos.Rebalance()]
    )
    test = bt.Backtest(
        strategy,
        close,
        integer_positions=True,
        initial_capital=1_000_000.0,
        commissions=lambda q, p: abs(q) * p * 0.001,
        progress_bar=False,
    )
    return bt.run(test)


def vectorbt_gap(pf, data, bars, weights) -> float:
    value = pf.asset_value(group_by=False).to_numpy()[bars]
    total = pf.value().to_numpy()[bars]
    return float(np.abs(value / total[:, None] - weights).max())


def case_large() -> tuple[list[list[object]], list[list[object]]]:
    data = synthetic_prices(500, 20)
    bars, weights = random_targets(data, "monthly")
    mine = run_ours(data, "monthly", bars, weights)
    rec = mine.reconciliation
    our_gap = float((rec["residual"] - rec["price_move"]).abs().max())
    pf = vectorbt_run(data, bars, weights)
    vbt_gap = vectorbt_gap(pf, data, bars, weights)
    vbt_final = float(pf.value().iloc[-1])
    t_ours = measure(lambda: run_ours(data, "monthly", bars, weights), repeats=5)
    t_vbt = measure(lambda: vectorbt_run(data, bars, weights), repeats=5)
    t0 = time.perf_counter()
    bt_res = bt_run(data, bars, weights)
    t_bt = time.perf_counter() - t0
    bt_final = float(bt_res.backtests["t"].strategy.values.iloc[-1])
    rows = [
        [
            "riskbook.backtest",
            t_ours.fmt(),
            "1.0",
            f"{our_gap:.1e}",
            f"{mine.equity.iloc[-1]:,.0f}",
        ],
        [
            "vectorbt from_orders (warm)",
            t_vbt.fmt(),
            f"{t_vbt.median / t_ours.median:.1f}x slower",
            f"{vbt_gap:.1e}",
            f"{vbt_final:,.0f}",
        ],
        [
            "bt (one run)",
            fmt_seconds(t_bt),
            f"{t_bt / t_ours.median:.0f}x slower",
            "",
            f"{bt_final:,.0f}",
        ],
    ]
    daily_bars, daily_w = random_targets(data, "daily")
    t_daily = measure(lambda: run_ours(data, "daily", daily_bars, daily_w), repeats=3)
    rows.append(["riskbook.backtest, daily rebalancing", t_daily.fmt(), "", "", ""])
    scaling = []
    for n, years in ((100, 20), (250, 20), (500, 20), (1000, 20), (500, 5), (500, 10)):
        d = synthetic_prices(n, years)
        b, w = random_targets(d, "monthly")
        t = measure(lambda d=d, b=b, w=w: run_ours(d, "monthly", b, w), repeats=3)
        scaling.append([n, years, len(d), t.fmt(), f"{t.median / (len(d) * n) * 1e9:.1f} ns"])
    return rows, scaling


# ----------------------------------------------------------------------------- case 3: minutes
def case_minutes() -> list[list[object]]:
    daily = synthetic_prices(100, 1, seed=3)
    minutes = synthetic_minutes(daily, seed=0)
    weights = np.full(100, 0.0098)

    def ours():
        return riskbook.backtest(
            minutes, lambda view: weights, schedule="daily", fill="next_open", costs="ib"
        )

    t = measure(ours, repeats=3)
    return [[f"100 symbols x {len(minutes):,} minute bars, a decision a day", t.fmt()]]


def main() -> None:
    print(
        "## 20 bundled stocks, 2001-2022, month-start rebalance, inverse volatility (1-year window)\n"
    )
    print("Parity settings with bt: same-bar close fills, fractional shares, no costs.\n")
    print(markdown_table(["engine", "median (min-max)", "ratio", "note"], case_bundled()))
    print("\n### The same with equal risk contribution weights\n")
    print(
        markdown_table(["engine", "median (min-max)", "ratio", "note"], case_bundled("equal_risk"))
    )
    rows, scaling = case_large()
    print("\n## Synthetic N = 500, 20 years daily, monthly random targets summing to 0.98\n")
    print("Integer shares, 0.1% fees, same-bar close fills for every engine.\n")
    print(
        markdown_table(
            [
                "engine",
                "median (min-max)",
                "ratio",
                "max target-held gap (ex price moves)",
                "final equity",
            ],
            rows,
        )
    )
    print("\n### Growth with assets and years (monthly rebalance)\n")
    print(markdown_table(["N", "years", "bars", "median (min-max)", "per bar x asset"], scaling))
    print("\n## Minute data\n")
    print(markdown_table(["case", "median (min-max)"], case_minutes()))
    print(f"\n{machine_line()}")


if __name__ == "__main__":
    main()
