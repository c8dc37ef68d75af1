"""Seed 000, reproduced: a factor-model, long-only minimum-variance portfolio, traded exactly.

The user's QuantConnect algorithm computed weights, traded them with ``set_holdings`` and then
held something else, with no way to see why. Here the same strategy (four traded stocks, the
S&P 500 index as the factor proxy, a 252-day lookback, a rebalance every 100 calendar days, OLS
betas with Ledoit-Wolf on the factor, long-only minimum variance) runs through riskbook:

- the weights are the true long-only minimum variance (a QP), not the clipped and renormalised
  closed form the seed used (both are printed);
- the factor-exposure limit the seed left as a placeholder is enforced (market beta <= 0.7: the
  seed's 0.5 cannot hold for four stocks without a bond, whose betas are all above 0.5);
- after every rebalance the held weights are printed next to the targets, and the residual is
  explained: price move between decision and fill, whole shares, fees.

Run: ``python examples/factor_min_variance.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import riskbook
from riskbook import MarketData
from riskbook.datasets import load_sp500, load_sp500_index
from riskbook.estimate import factor_model_covariance
from riskbook.execute import COMPONENTS
from riskbook.optimize import min_variance
from riskbook.optimize.constraints import exposure_constraints
from riskbook.simulate import every

ASSETS = ["XOM", "MSFT", "JNJ", "KO"]
FACTOR = "SP500"
LOOKBACK = 252
BETA_LIMIT = 0.7


def traded_and_factor() -> MarketData:
    """The four stocks and the index in one data set, so the view covers both point-in-time."""
    stocks = load_sp500().select(ASSETS)
    index = load_sp500_index()
    return MarketData.from_arrays(
        stocks.dates,
        [*ASSETS, FACTOR],
        close=np.hstack([stocks.close, index.close]),
        name="seed000",
    )


class FactorMinVariance:
    """The seed's strategy as a riskbook strategy; keeps what it computed for the printout."""

    def __init__(self) -> None:
        self.log: list[dict] = []

    def targets(self, view, portfolio):
        rets = view.returns(length=LOOKBACK)
        if len(rets) < 100:  # the seed's warm-up rule
            return None
        model = factor_model_covariance(rets[ASSETS], rets[[FACTOR]], "ledoit_wolf")
        cov = model.covariance + 1e-6 * np.eye(len(ASSETS))  # the seed's ridge
        A, b = exposure_constraints(model.loadings, upper=BETA_LIMIT)
        weights = min_variance(cov, linear_constraints=(A, b))
        closed = np.linalg.solve(cov.to_numpy(), np.ones(len(ASSETS)))
        clipped = np.maximum(closed, 0) / np.maximum(closed, 0).sum()
        self.log.append(
            {
                "date": pd.Timestamp(view.time),
                "qp": weights,
                "clip_and_renormalise": pd.Series(clipped, index=ASSETS),
                "beta": float(model.loadings[FACTOR] @ weights),
            }
        )
        return weights


def run(cash: float = 100_000.0) -> tuple[riskbook.BacktestResult, FactorMinVariance]:
    """The backtest, 2018-01-01 onwards like the seed, with LEAN's default fees and account.

    The bundled data has closes only, so orders decided at a close fill at the next close.
    """
    strategy = FactorMinVariance()
    result = riskbook.backtest(
        traded_and_factor(),
        strategy,
        schedule=every("100D"),
        start="2018-01-01",
        costs="ib",
        cash=cash,
        account="margin",  # LEAN's default brokerage model for equities
        leverage=1.0,
    )
    return result, strategy


def main() -> None:
    result, strategy = run()
    rec = result.reconciliation
    pd.set_option("display.width", 120)
    for entry in strategy.log:
        rows = rec[rec["date"] == entry["date"]].set_index("symbol")
        if rows.empty:
            continue
        filled = rows["fill_time"].iloc[0].date()
        rows = rows[["target_weight", "held_weight", *COMPONENTS]].reindex(ASSETS, fill_value=0.0)
        table = pd.DataFrame(
            {
                "clip+renorm (seed)": entry["clip_and_renormalise"],
                "QP target": rows["target_weight"],
                "held after fill": rows["held_weight"],
                **{c: rows[c] for c in COMPONENTS if rows[c].abs().max() > 0},
            }
        )
        print(f"\n{entry['date'].date()}  (filled {filled}, beta {entry['beta']:.3f})")
        print(table.round(5).to_string())
    print("\n" + result.metrics().round(4).to_string())


if __name__ == "__main__":
    main()
