"""`BacktestResult`: arrays from the engine, with frames built on demand."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from riskbook.execute.reconcile import COMPONENTS
from riskbook.simulate.metrics import performance
from riskbook.simulate.records import DecisionRecords, Ledger


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """What a backtest did, bar by bar and trade by trade.

    Arrays are kept as produced by the engine; the DataFrame views (``equity``, ``positions``,
    ``weights``, ``trades``, ``orders``, ``reconciliation``) are built on first access.
    """

    symbols: tuple[str, ...]
    dates: np.ndarray  # bars of the equity curve
    close: np.ndarray  # closes of those bars (NaN where unlisted)
    equity_values: np.ndarray
    cash_values: np.ndarray
    state_of_bar: np.ndarray  # index into position snapshots for every bar (-1: initial)
    snapshots: np.ndarray  # (decisions filled, N) positions after each fill
    decision_bars: np.ndarray  # bar index (within the data) of each decision
    decision_times: np.ndarray
    fill_times: np.ndarray
    records: DecisionRecords  # per-decision arrays; ledger, reconciliation and orders derive
    initial_cash: float
    settings: dict[str, Any]
    benchmark_values: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    frequency: str = "daily"

    # ------------------------------------------------------------------ series and frames
    @property
    def ledger(self) -> Ledger:
        """Every fill as arrays (see :class:`riskbook.simulate.records.Ledger`)."""
        return self.records.ledger

    @property
    def recon(self) -> dict[str, np.ndarray]:
        return self.records.reconciliation

    @property
    def order_rows(self) -> dict[str, np.ndarray]:
        return self.records.orders

    @cached_property
    def equity(self) -> pd.Series:
        """Total equity (cash + positions at the close) at every bar."""
        return pd.Series(self.equity_values, index=self._index, name="equity")

    @cached_property
    def cash(self) -> pd.Series:
        return pd.Series(self.cash_values, index=self._index, name="cash")

    @cached_property
    def benchmark(self) -> pd.Series | None:
        if self.benchmark_values is None:
            return None
        return pd.Series(self.benchmark_values, index=self._index, name="benchmark")

    @cached_property
    def _index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.dates, name="date")

    @cached_property
    def _positions_array(self) -> np.ndarray:
        table = np.vstack([np.zeros((1, len(self.symbols))), self.snapshots])
        return table[self.state_of_bar + 1]

    @cached_property
    def _values(self) -> np.ndarray:
        """Value of every position at every bar's close (0 where nothing is held, even unpriced)."""
        held = self._positions_array != 0
        return np.where(held, self._positions_array * self.close, 0.0)

    @cached_property
    def _gross_values(self) -> np.ndarray:
        return np.abs(self._values).sum(axis=1)

    @cached_property
    def positions(self) -> pd.DataFrame:
        """Shares held at the close of every bar."""
        return pd.DataFrame(
            self._positions_array, index=self._index, columns=pd.Index(self.symbols, name="symbol")
        )

    @cached_property
    def weights(self) -> pd.DataFrame:
        """Value of each position / total equity at the close of every bar (drifting)."""
        return pd.DataFrame(
            self._values / self.equity_values[:, None],
            index=self._index,
            columns=pd.Index(self.symbols, name="symbol"),
        )

    @cached_property
    def trades(self) -> pd.DataFrame:
        """Every fill: times, side, quantity, decision / reference / fill prices, fee, slippage."""
        led = self.ledger
        k = led.decision
        return pd.DataFrame(
            {
                "decision_time": pd.DatetimeIndex(self.decision_times[k]),
                "fill_time": pd.DatetimeIndex(self.fill_times[k]),
                "symbol": np.asarray(self.symbols, dtype=object)[led.symbol],
                "side": np.where(led.quantity > 0, "buy", "sell"),
                "quantity": led.quantity,
                "decision_price": led.decision_price,
                "reference_price": led.reference_price,
                "fill_price": led.fill_price,
                "fee": led.fee,
                "slippage": led.slippage,
                "cash_flow": led.cash_flow,
                "reason": led.reason,
            }
        )

    @cached_property
    def orders(self) -> pd.DataFrame:
        """Every order planned at a decision, including those skipped or reduced, with why."""
        rows = self.order_rows
        return pd.DataFrame(
            {
                "decision_time": pd.DatetimeIndex(self.decision_times[rows["decision"]]),
                "symbol": np.asarray(self.symbols, dtype=object)[rows["symbol"]],
                "current": rows["current"],
                "target_quantity": rows["target_quantity"],
                "planned": rows["planned"],
                "filled": rows["filled"],
                "reason": rows["reason"],
            }
        )

    @cached_property
    def reconciliation(self) -> pd.DataFrame:
        """Target vs held weight after every rebalance, and the residual's components.

        ``residual = held_weight - target_weight = price_move + rounding + cash_buffer + costs
        + skipped + cash_shortfall`` (see :mod:`riskbook.execute.reconcile`).
        """
        r = self.recon
        frame = pd.DataFrame(
            {
                "date": pd.DatetimeIndex(self.decision_times[r["decision"]]),
                "fill_time": pd.DatetimeIndex(self.fill_times[r["decision"]]),
                "symbol": np.asarray(self.symbols, dtype=object)[r["symbol"]],
                "target_weight": r["target_weight"],
                "held_weight": r["held_weight"],
                "residual": r["held_weight"] - r["target_weight"],
            }
        )
        for name in COMPONENTS:
            frame[name] = r[name]
        return frame

    # ------------------------------------------------------------------ summaries
    def daily_equity(self) -> pd.Series:
        """Equity at each session's close (the equity itself on daily data)."""
        if self.frequency == "daily":
            return self.equity
        days = self.dates.astype("datetime64[D]")
        last = np.r_[days[1:] != days[:-1], True]
        return pd.Series(
            self.equity_values[last],
            index=pd.DatetimeIndex(days[last].astype("datetime64[ns]"), name="date"),
            name="equity",
        )

    def metrics(self) -> pd.Series:
        """CAGR, volatility, Sharpe, Sortino, max drawdown, Calmar (on session closes), and
        annual turnover (one-way traded value / mean equity per year), total costs (fees +
        slippage, in currency and as a share of initial cash) and mean gross exposure."""
        daily = self.daily_equity()
        out = performance(daily.to_numpy(), daily.index.to_numpy())
        led = self.ledger
        traded = float(np.abs(led.quantity * led.reference_price).sum())
        years = max((self.dates[-1] - self.dates[0]) / np.timedelta64(1, "D") / 365.25, 1e-12)
        costs = float(led.fee.sum() + led.slippage.sum())
        gross = self._gross_values
        out |= {
            "turnover": traded / 2.0 / float(self.equity_values.mean()) / years,
            "total_costs": costs,
            "costs_pct_of_initial": costs / self.initial_cash,
            "exposure": float(np.mean(gross / self.equity_values)),
            "trades": len(led.quantity),
            "rebalances": len(self.decision_times),
        }
        return pd.Series(out, name="value")

    def to_frame(self) -> pd.DataFrame:
        """Per bar: equity, cash, return, drawdown, gross exposure (and the benchmark if any)."""
        eq = self.equity_values
        gross = self._gross_values
        frame = pd.DataFrame(
            {
                "equity": eq,
                "cash": self.cash_values,
                "return": np.r_[np.nan, eq[1:] / eq[:-1] - 1.0],
                "drawdown": eq / np.maximum.accumulate(eq) - 1.0,
                "gross_exposure": gross / eq,
            },
            index=self._index,
        )
        if self.benchmark_values is not None:
            frame["benchmark"] = self.benchmark_values
        return frame
