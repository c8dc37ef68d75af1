"""Seed 000, the LEAN algorithm itself, run locally: the symptom, its cause and the fix.

``FactorMinVariancePortfolio`` below is the user's QuantConnect algorithm as posted, with two
changes: the import line (``from riskbook.lean import *`` for ``from AlgorithmImports import *``)
and the tickers (the bundled data's XOM, MSFT, JNJ, KO for TLT, GLD, XLE, QQQ; the S&P 500 index
``SP500`` for SPY; BND has no bundled counterpart, so the factor model has the market factor
only, as in ``examples/factor_min_variance.py``).

The symptom reproduces: the "Post-trade holdings weights" it logs differ from the weights it
just computed. The cause is timing, not the orders: on daily bars ``on_data`` runs at the 16:00
close, the ``set_holdings`` orders fill at the next session, so the holdings read right after
placing them are the previous rebalance's, drifted for 100 days (and at the first rebalance
there are none: 0 / 0). It also normalises by the invested value, which hides the cash.

``FactorMinVarianceFixed`` trades the same weights the LEAN way that can be checked: one
``set_holdings(list of PortfolioTarget)`` call (all orders sized from one snapshot), and the held
weights read in ``on_order_event`` once the last order of the batch has filled, divided by total
portfolio value. The reconciliation then explains the rest of the gap: the move between the
decision close and the fill, LEAN's 0.25% cash buffer, fees, and whole shares (at most one share
of each asset, plus LEAN's reserve for the fee).

The weights themselves are still the seed's clip-and-renormalise closed form; the true long-only
minimum variance (a QP) is in ``examples/factor_min_variance.py``.

The bundled data has closes only, so an order decided at a close fills at the next close (LEAN
would fill at the next open). Run: ``python examples/lean/factor_min_variance.py``.
"""

# ruff: noqa: F403, F405
from datetime import timedelta

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf

from riskbook.lean import *  # was: from AlgorithmImports import *


class FactorMinVariancePortfolio(QCAlgorithm):
    """
    Factor-based long-only minimum variance portfolio.
    Trades 4 ETFs using factor exposures from SPY and BND.
    Uses Ledoit-Wolf shrinkage for factor covariance estimation.
    Rebalances roughly every 100 days using a 1-year lookback of daily data.
    """

    def initialize(self):
        """
        Initialize the algorithm, including assets, factors, portfolio settings, and parameters.
        """
        self.set_start_date(2018, 1, 1)
        self.set_cash(100000)
        self.Settings.MinimumOrderMarginPortfolioPercentage = 0
        self.universe_settings.resolution = Resolution.DAILY  # Use daily data for all assets

        # -----------------------------
        # Add traded assets
        # -----------------------------
        asset_tickers = ["XOM", "MSFT", "JNJ", "KO"]  # was: ["TLT", "GLD", "XLE", "QQQ"]
        self.asset_symbols = [self.add_equity(t, Resolution.DAILY).symbol for t in asset_tickers]

        # -----------------------------
        # Add factor proxies (not traded)
        # -----------------------------
        factor_tickers = ["SP500"]  # was: ["SPY", "BND"]
        self.factor_symbols = [self.add_equity(t, Resolution.DAILY).symbol for t in factor_tickers]

        # -----------------------------
        # Parameters
        # -----------------------------
        self.lookback = 252  # Use 1 year of daily data
        self.rebalance_interval = timedelta(days=100)  # Rebalance roughly every 4 months
        self.last_rebalance = datetime.min
        self.epsilon = 1e-6  # Small ridge for numerical stability
        self.factor_exposure_limit = 0.5  # Not enforced yet, placeholder for later

    def on_data(self, data: Slice):
        """
        Rebalance the portfolio if the rebalance interval has passed.
        Steps:
        1. Fetch historical prices and factor proxies.
        2. Compute asset and factor returns.
        3. Estimate factor betas (B) via OLS and residuals.
        4. Compute total covariance matrix (factor + idiosyncratic).
        5. Compute long-only minimum variance weights.
        6. Execute trades according to computed weights.
        7. Log key diagnostics.
        """
        # -----------------------------
        # Rebalance check
        # -----------------------------
        if self.time - self.last_rebalance < self.rebalance_interval:
            return
        self.last_rebalance = self.time

        # -----------------------------
        # Fetch historical data
        # -----------------------------
        symbols = self.asset_symbols + self.factor_symbols
        history = self.history(symbols, self.lookback, Resolution.DAILY)

        if history.empty:
            return

        prices = history.close.unstack(level=0)
        returns = prices.pct_change().dropna()

        if len(returns) < 100:
            # Ensure enough data points
            return

        # -----------------------------
        # Separate asset and factor returns
        # -----------------------------
        asset_returns = returns[self.asset_symbols].to_numpy()
        factor_returns = returns[self.factor_symbols].to_numpy()

        T, N = asset_returns.shape
        K = factor_returns.shape[1]

        # -----------------------------
        # Estimate factor betas (B) via OLS and residuals
        # Model: r_i = alpha + B_i * f + epsilon
        # -----------------------------
        X = np.column_stack([np.ones(T), factor_returns])
        B = np.zeros((N, K))
        residuals = np.zeros((N, T))

        for i in range(N):
            y = asset_returns[:, i]
            beta = np.linalg.lstsq(X, y, rcond=None)[0]
            B[i, :] = beta[1:]  # Factor loadings
            residuals[i, :] = y - X @ beta  # Idiosyncratic component

        # -----------------------------
        # Compute factor covariance (Ledoit-Wolf shrinkage)
        # -----------------------------
        lw_f = LedoitWolf().fit(factor_returns)
        Sigma_f = lw_f.covariance_

        # -----------------------------
        # Compute idiosyncratic covariance
        # -----------------------------
        idio_var = np.var(residuals, axis=1)
        idio_var = np.maximum(idio_var, 1e-6)  # Avoid zeros
        Sigma_eps = np.diag(idio_var)

        # -----------------------------
        # Total covariance matrix: factor + idiosyncratic + small ridge
        # -----------------------------
        Sigma = B @ Sigma_f @ B.T + Sigma_eps
        Sigma += self.epsilon * np.eye(N)

        # -----------------------------
        # Compute long-only minimum variance weights
        # -----------------------------
        w_closed = np.linalg.pinv(Sigma) @ np.ones(N)
        w_closed = np.maximum(w_closed, 0)  # Enforce long-only
        w_closed /= w_closed.sum()  # Normalize to sum to 1

        self.Debug(f"Closed-form min-var weights (long-only): {w_closed}")

        # -----------------------------
        # Execute trades according to computed weights
        # -----------------------------
        for i, symbol in enumerate(self.asset_symbols):
            self.set_holdings(symbol, float(w_closed[i]))

        # -----------------------------
        # Diagnostics: asset volatilities and factor exposures
        # -----------------------------
        asset_vols = np.sqrt(np.diag(Sigma))
        self.Debug(f"Asset volatilities: {asset_vols}")
        self.Debug(f"B matrix (factor exposures):\n{B}")

        # -----------------------------
        # Post-trade holdings weights
        # -----------------------------
        holdings_array = np.array(
            [
                self.portfolio[symbol].quantity * self.portfolio[symbol].price
                for symbol in self.asset_symbols
            ]
        )
        holdings_weights = holdings_array / holdings_array.sum()
        self.Debug(f"Post-trade holdings weights: {holdings_weights}")


class FactorMinVarianceFixed(FactorMinVariancePortfolio):
    """The same weights, traded with the list overload and checked after the fills."""

    def initialize(self):
        super().initialize()
        self.targets = {}  # rebalance time -> weights asked

    def min_variance_weights(self):
        """The seed's weights (same estimates, same clip-and-renormalise), or None."""
        symbols = self.asset_symbols + self.factor_symbols
        history = self.history(symbols, self.lookback, Resolution.DAILY)
        if history.empty:
            return None
        returns = history.close.unstack(level=0).pct_change().dropna()
        if len(returns) < 100:
            return None
        asset_returns = returns[self.asset_symbols].to_numpy()
        factor_returns = returns[self.factor_symbols].to_numpy()
        T, N = asset_returns.shape
        X = np.column_stack([np.ones(T), factor_returns])
        coef = np.linalg.lstsq(X, asset_returns, rcond=None)[0]
        B = coef[1:].T
        residuals = asset_returns - X @ coef
        Sigma_f = LedoitWolf().fit(factor_returns).covariance_
        Sigma = B @ Sigma_f @ B.T + np.diag(np.maximum(residuals.var(axis=0), 1e-6))
        Sigma += self.epsilon * np.eye(N)
        w = np.maximum(np.linalg.pinv(Sigma) @ np.ones(N), 0)
        return w / w.sum()

    def on_data(self, data: Slice):
        if self.time - self.last_rebalance < self.rebalance_interval:
            return
        self.last_rebalance = self.time
        w = self.min_variance_weights()
        if w is None:
            return
        self.targets[self.time] = w
        self.debug(f"Target weights: {w}")
        # one snapshot for every order, position-reducing orders first
        self.set_holdings(
            [PortfolioTarget(s, float(x)) for s, x in zip(self.asset_symbols, w, strict=True)]
        )

    def on_order_event(self, order_event: OrderEvent):
        if order_event.status != OrderStatus.FILLED or self.transactions.get_open_orders():
            return  # wait for the last fill of the rebalance
        tpv = self.portfolio.total_portfolio_value  # cash included
        held = np.array([self.portfolio[s].holdings_value for s in self.asset_symbols]) / tpv
        self.debug(f"Held weights after fills: {held}")


# --------------------------------------------------------------------- running and reading
def _vector(message: str) -> np.ndarray:
    """The numpy array printed at the end of a log message."""
    return np.array(message[message.rindex("[") + 1 : message.rindex("]")].split(), dtype=float)


def logged(result: LeanResult, prefix: str) -> pd.DataFrame:
    """The arrays logged with ``prefix``, one row per message, indexed by log time."""
    rows = [
        (e.time, _vector(e.message)) for e in result.log_entries if e.message.startswith(prefix)
    ]
    symbols = result.algorithm.asset_symbols
    return pd.DataFrame(
        [v for _, v in rows],
        index=pd.DatetimeIndex([t for t, _ in rows], name="time"),
        columns=[str(s) for s in symbols],
    )


def run_seed() -> LeanResult:
    """The seed as written (its first 'post-trade' weights are 0 / 0: NaN, warning silenced)."""
    with np.errstate(invalid="ignore"):
        return run(FactorMinVariancePortfolio)


def run_fixed() -> LeanResult:
    return run(FactorMinVarianceFixed)


def symptom(result: LeanResult) -> pd.DataFrame:
    """Per rebalance: the largest gap between the weights computed and the 'post-trade' weights
    logged in the same on_data, and the gap to the holdings before the orders (zero: what was
    logged is the old holdings)."""
    computed = logged(result, "Closed-form")
    post = logged(result, "Post-trade")
    before = result.weights.reindex(computed.index.normalize())[computed.columns]
    before = before.div(before.sum(axis=1), axis=0).set_axis(computed.index)
    return pd.DataFrame(
        {
            "gap_to_computed": (post - computed).abs().max(axis=1),
            "gap_to_old_holdings": (post - before).abs().max(axis=1),
        }
    )


def main() -> None:
    pd.set_option("display.width", 120)
    seed = run_seed()
    print("Seed 000 as written: weights logged right after set_holdings")
    computed = logged(seed, "Closed-form")
    post = logged(seed, "Post-trade")
    for t in computed.index[:3]:
        print(f"  {t}  computed {computed.loc[t].round(4).tolist()}")
        print(f"  {' ' * len(str(t))}  logged   {post.loc[t].round(4).tolist()}")
    print(symptom(seed).round(4).to_string())

    fixed = run_fixed()
    rec = fixed.reconciliation
    print("\nFixed: list overload, weights read in on_order_event after the fills")
    for t, rows in list(rec.groupby("date"))[:3]:
        print(f"\n{t.date()} (filled {rows['fill_time'].iloc[0].date()})")
        cols = ["symbol", "target_weight", "held_weight", "price_move", "cash_buffer", "rounding"]
        print(rows[[*cols, "costs"]].round(5).to_string(index=False))
    print("\n" + fixed.metrics().round(4).to_string())


if __name__ == "__main__":
    main()
