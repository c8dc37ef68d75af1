"""Seed 004: LEAN's mean-variance "numerics" example, ported as written, next to a corrected one.

``PortfolioOptimizationNumericsAlgorithm`` is LEAN's C# example translated line by line to Python
(Math.NET's matrices become numpy; LEAN's RateOfChange, SimpleMovingAverage and
StandardDeviation indicators are reproduced below with LEAN's not-ready behaviour); its tickers
SPY, AIG, BAC, IBM become the bundled SP500 (the index), JPM, BAC and MSFT.
``CorrectedMeanVariance`` is the same idea done right. The defects, and what each does here
(printed by ``main()``, checked by ``tests/lean/test_examples.py``):

1. **Correlation of prices, not returns.** ``Correlation.PearsonMatrix`` is fed the closes. Price
   levels that trend together look more correlated (mean off-diagonal 0.87) than their daily
   returns are (0.52), and the inverse of that near-singular matrix swings the weights: the
   same formula with the correlation of returns gives a gross exposure of 2.3, with prices 23.9.
2. **Overlapping 2-day returns and indicators that are never ready.** ``RateOfChange(2)`` gives
   2-day returns that overlap day to day; ``SMA(365)`` / ``STD(365)`` get the 249 bars of 365
   calendar days, are never ready, and LEAN reports their partial value anyway. The
   volatilities are 2-day ones, 1.41 times the daily (about the square root of 2).
3. **Units mixed.** The 10% target and the 1% risk-free rate are annual; the mean returns are
   per 2 days (0.21% on average). Every "excess return" is therefore negative, and the Lagrange
   multiplier (0.0158) scales a vector pointing the wrong way.
4. **No budget, no bounds, no leverage cap, an unregularised inverse.** The weights
   ``λ Σ⁻¹ (μ - r)`` sum to -8.85 with a gross exposure of 23.9 (SP500 -1638%, BAC +434%,
   MSFT +185%, JPM +135%). On LEAN's 2x margin account, the SP500 and BAC orders are refused
   at submission and MSFT's at the fill (JPM, filled first, used the margin): the algorithm
   ends up holding 1.32x its capital in JPM alone, which is not what the optimizer meant.
5. **The reported risk uses the returns as weights.** ``ComputePortfolioRisk`` builds its
   "weights" from ``x.Return``: it logs "Portfolio Risk: 0.02 %", while the weights computed
   have a risk of 3.77% per 2 days (about 42% a year).
6. **Bought once, never rebalanced.** ``if not Portfolio.Invested`` trades on the first day only,
   so the leveraged JPM position rides 2013-2022: +309% with a 47% drawdown, the luck of one
   bank stock (LEAN's own run of the original tickers lost 48%).

The corrected algorithm estimates daily returns (252 bars), the covariance of returns,
annualises mean and covariance together, solves ``min w'Σw`` for an expected return of at least
10% with a budget (weights sum to 1) and bounds (long-only, at most 60% per asset) via
:func:`riskbook.optimize.min_variance` (when 10% is out of reach it asks for the best return
the bounds allow), reports ``sqrt(w'Σw)``, and rebalances at each month's first session: 111
rebalances, weights summing to 1 within [0, 0.6], a reported risk of 17.8% a year on average,
+178% with a 35% drawdown.

The bundled data has closes only: orders fill at the next session's close.
Run: ``python examples/lean/mean_variance_numerics.py``.
"""

# ruff: noqa: F403, F405
from __future__ import annotations

import numpy as np
import pandas as pd

from riskbook.lean import *  # was: using MathNet.Numerics...; QuantConnect's AlgorithmImports
from riskbook.optimize import min_variance

TICKERS = ["SP500", "JPM", "BAC", "MSFT"]  # was: SPY, AIG, BAC, IBM


# --------------------------------------------------------------------- LEAN's indicators
class RateOfChange:
    """LEAN's ROC(period): ``(x - x_old) / x_old`` with ``x_old`` the oldest of the last
    ``period + 1`` values (the first value while fewer have been seen)."""

    def __init__(self, period: int) -> None:
        self.window: list[float] = []
        self.size = period + 1
        self.current = 0.0

    def update(self, value: float) -> float:
        self.window = [*self.window, float(value)][-self.size :]
        oldest = self.window[0]
        self.current = 0.0 if oldest == 0 else (value - oldest) / oldest
        return self.current


class RollingStat:
    """LEAN's SMA(n) / StandardDeviation(n) (population): over the last ``n`` values, or all
    values seen while fewer than ``n`` (the indicator is not ready but reports that)."""

    def __init__(self, period: int) -> None:
        self.period = period
        self.values: list[float] = []

    def update(self, value: float) -> None:
        self.values = [*self.values, float(value)][-self.period :]

    @property
    def is_ready(self) -> bool:
        return len(self.values) >= self.period

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values))


# --------------------------------------------------------------------- seed 004 as written
class PortfolioOptimizationNumericsAlgorithm(QCAlgorithm):
    """LEAN's PortfolioOptimizationNumericsAlgorithm (C#), translated as written."""

    _target_return = 0.1
    _risk_free_rate = 0.01

    def discount_mean_vector(self):
        if self.symbol_data_list is None:
            return None
        return np.array([x.Return for x in self.symbol_data_list]) - np.full(
            len(self.symbol_data_list), self._risk_free_rate
        )

    def Initialize(self):
        self.SetStartDate(2013, 10, 7)  # Set Start Date
        self.SetEndDate(datetime.now() - timedelta(days=1))  # Set End Date
        self.SetCash(1000000)  # Set Strategy Cash
        for ticker in TICKERS:
            self.AddEquity(ticker, Resolution.Daily)

        all_history_bars = []
        self.symbol_data_list = []

        for symbol in self.Securities:
            history = self.History(symbol, timedelta(days=365))
            all_history_bars.append(history.close.to_numpy())  # x.Value: the close
            self.symbol_data_list.append(SymbolData(symbol, history))

        # Diagonal Matrix with each security risk (standard deviation)
        S = np.diag([x.Risk for x in self.symbol_data_list])

        # Computes Correlation Matrix (using Math.NET Numerics Statistics)
        R = np.corrcoef(np.array(all_history_bars))

        # Computes Covariance Matrix (using Math.NET Numerics Linear Algebra)
        self.Sigma = S @ R @ S

        self.compute_lagrange_multiplier()
        self.compute_weights()
        self.compute_portfolio_risk()

        self.Log(f"Lagrange Multiplier: {self._lagrange_multiplier:7.4f}")
        self.Log(f"Portfolio Risk:      {self._portfolio_risk:7.2%} ")

    def OnData(self, data):
        if not self.Portfolio.Invested:
            for symbol_data in sorted(self.symbol_data_list, key=lambda x: x.Weight):
                self.Log("Purchased Stock: " + str(symbol_data))
                self.SetHoldings(symbol_data.Symbol, symbol_data.Weight)

    def compute_lagrange_multiplier(self):
        d = self.discount_mean_vector()
        denominator = d @ np.linalg.inv(self.Sigma) @ d
        self._lagrange_multiplier = (self._target_return - self._risk_free_rate) / denominator

    def compute_weights(self):
        weights = (
            self._lagrange_multiplier * np.linalg.inv(self.Sigma) @ self.discount_mean_vector()
        )
        for i, w in enumerate(weights):
            self.symbol_data_list[i].SetWeight(w)

    def compute_portfolio_risk(self):
        weights = np.array([x.Return for x in self.symbol_data_list])
        self._portfolio_risk = float(np.sqrt(weights @ self.Sigma @ weights))


class SymbolData:
    """Symbol Data class to store security data (Return, Risk, Weight)."""

    def __init__(self, symbol, history):
        self.Symbol = symbol
        self.ROC = RateOfChange(2)
        self.SMA = RollingStat(365)  # SimpleMovingAverage(365).Of(ROC)
        self.STD = RollingStat(365)  # StandardDeviation(365).Of(ROC)
        self.Weight = 0.0
        for close in history.close:
            self.Update(close)

    @property
    def Return(self):
        return self.SMA.mean

    @property
    def Risk(self):
        return self.STD.std

    def Update(self, value):
        roc = self.ROC.update(value)
        self.SMA.update(roc)
        self.STD.update(roc)

    def SetWeight(self, value):
        self.Weight = float(value)

    def __str__(self):
        return f"{self.Symbol}: {self.Weight:10.2%}\t{self.Return:10.2%}\t{self.Risk:10.2%}"


# --------------------------------------------------------------------- corrected
class CorrectedMeanVariance(QCAlgorithm):
    """The same target, estimated and solved consistently, with a budget and bounds."""

    target_return = 0.10  # annual
    lookback = 252  # daily bars
    upper = 0.6  # at most 60% in one asset

    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(datetime.now() - timedelta(days=1))
        self.set_cash(1_000_000)
        self.symbols = [self.add_equity(t, Resolution.DAILY).symbol for t in TICKERS]
        self.month = None
        self.solutions = []  # (time, weights, annual return, annual risk)

    def solve(self):
        closes = self.history(self.symbols, self.lookback + 1, Resolution.DAILY)
        returns = closes.close.unstack(level=0)[self.symbols].pct_change().dropna()
        mu = returns.mean() * 252  # annualised, like the target
        cov = returns.cov() * 252  # of returns, annualised the same way
        # the best return the bounds allow: fill the highest-mean assets up to the cap
        best, left = 0.0, 1.0
        for m in mu.sort_values(ascending=False):
            take = min(self.upper, left)
            best, left = best + take * m, left - take
        target = min(self.target_return, best - 1e-6)
        # at least the target (not exactly: a higher return at lower risk is better still)
        A, b = -mu.to_numpy()[None, :], np.array([-target])
        w = min_variance(cov, bounds=(0.0, self.upper), linear_constraints=(A, b))
        risk = float(np.sqrt(w @ cov @ w))  # the risk of the weights held
        return w, float(mu @ w), risk

    def on_data(self, data):
        if self.time.month == self.month:
            return
        self.month = self.time.month
        w, ret, risk = self.solve()
        self.solutions.append((self.time, w, ret, risk))
        self.debug(f"weights {w.round(4).to_dict()} return {ret:.2%} risk {risk:.2%}")
        self.set_holdings([PortfolioTarget(s, float(w[s])) for s in self.symbols])


# --------------------------------------------------------------------- measuring the defects
def run_as_written() -> LeanResult:
    return run(PortfolioOptimizationNumericsAlgorithm)


def run_corrected() -> LeanResult:
    return run(CorrectedMeanVariance)


def defects(result: LeanResult) -> dict[str, float]:
    """Each defect's size in the as-written run (see the module docstring)."""
    algo = result.algorithm
    symbols = list(algo.Securities)
    start = algo.start_date
    # the window Initialize read: bars of the 365 days before the start date
    window = algo.history(symbols, start - timedelta(days=365), start)
    prices = window.close.unstack(level=0)[symbols].to_numpy().T
    daily = prices[:, 1:] / prices[:, :-1] - 1.0
    off = ~np.eye(len(prices), dtype=bool)
    corr_prices = np.corrcoef(prices)[off].mean()
    corr_returns = np.corrcoef(daily)[off].mean()
    weights = np.array([sd.Weight for sd in algo.symbol_data_list])
    returns = np.array([sd.Return for sd in algo.symbol_data_list])
    risk_2day = np.array([sd.Risk for sd in algo.symbol_data_list])
    risk_daily = daily.std(axis=1)
    excess = algo.discount_mean_vector()
    true_risk = float(np.sqrt(weights @ algo.Sigma @ weights))
    # the same formula with the correlation of returns: how much defect 1 alone moves the weights
    S = np.diag(risk_2day)
    sigma_returns = S @ np.corrcoef(daily) @ S
    w_returns = algo._lagrange_multiplier * np.linalg.inv(sigma_returns) @ excess
    orders = result.lean_orders
    return {
        "mean_correlation_of_prices": float(corr_prices),
        "mean_correlation_of_returns": float(corr_returns),
        "bars_in_365_day_history": float(len(prices[0])),
        "indicators_ready": float(all(sd.SMA.is_ready for sd in algo.symbol_data_list)),
        "vol_2day_over_daily": float(np.mean(risk_2day / risk_daily)),
        "mean_return_per_2_days": float(returns.mean()),
        "excess_returns_negative": float((excess < 0).mean()),
        "lagrange_multiplier": float(algo._lagrange_multiplier),
        "weights_sum": float(weights.sum()),
        "weights_gross": float(np.abs(weights).sum()),
        "weights_min": float(weights.min()),
        "weights_gross_with_return_correlation": float(np.abs(w_returns).sum()),
        "reported_risk": float(algo._portfolio_risk),
        "risk_of_weights_2day": true_risk,
        "invalid_orders": float((orders["status"] == "INVALID").sum()),
        "filled_orders": float((orders["status"] == "FILLED").sum()),
        "held_gross_exposure": float(result.weights.abs().sum(axis=1).iloc[1]),
        "total_return": float(result.equity.iloc[-1] / result.equity.iloc[0] - 1.0),
        "max_drawdown": float(result.metrics()["max_drawdown"]),
    }


def corrected_summary(result: LeanResult) -> dict[str, float]:
    algo = result.algorithm
    weights = np.array([w.to_numpy() for _, w, _, _ in algo.solutions])
    return {
        "rebalances": float(len(algo.solutions)),
        "weights_sum_max_error": float(np.abs(weights.sum(axis=1) - 1.0).max()),
        "weights_min": float(weights.min()),
        "weights_max": float(weights.max()),
        "mean_reported_risk": float(np.mean([r for *_, r in algo.solutions])),
        "total_return": float(result.equity.iloc[-1] / result.equity.iloc[0] - 1.0),
        "max_drawdown": float(result.metrics()["max_drawdown"]),
    }


def main() -> None:
    pd.set_option("display.width", 120)
    written = run_as_written()
    print("Seed 004 as written:")
    for line in written.logs[:8]:
        print("  " + line)
    for name, value in defects(written).items():
        print(f"  {name:32s} {value: .4f}")
    corrected = run_corrected()
    print("\nCorrected:")
    for name, value in corrected_summary(corrected).items():
        print(f"  {name:32s} {value: .4f}")


if __name__ == "__main__":
    main()
