"""Run a LEAN algorithm on riskbook's engine: :func:`run`, :func:`run_file` and the result.

How the engine is driven: the algorithm is wrapped in a strategy object whose
``targets(view, portfolio)`` the engine calls at every session's close (schedule ``"daily"``).
Each call moves the algorithm's clock to that bar, delivers the fills of the previous call's
orders to ``on_order_event``, calls ``on_data`` (and the framework models), then turns the orders
the algorithm placed into the engine's input: target weights ``(holdings + orders) * price /
equity``, which the engine's order planner turns back into exactly those share quantities (no
buffer, no band, whole shares). LEAN's own sizing (the 0.25% buffer, fees, lots, the minimum order
margin) and its buying-power checks happen in the algorithm, as in LEAN; the engine fills, charges
fees and keeps the books. A call in which no order was placed holds.

Fills follow the engine's fill model: by default ``"auto"``, LEAN's market-on-open (the next
session's open), or on close-only data such as the bundled sets the next session's close.

Examples
--------
>>> from riskbook.lean import QCAlgorithm
>>> class Buy(QCAlgorithm):
...     def initialize(self):
...         self.set_start_date(2021, 6, 1)
...         self.set_end_date(2021, 6, 4)
...         self.set_cash(10_000)
...         self.add_equity("MSFT")
...     def on_data(self, data):
...         if not self.portfolio.invested:
...             self.set_holdings("MSFT", 1.0)
...     def on_order_event(self, event):
...         if event.status == OrderStatus.FILLED:
...             self.debug(f"{event.symbol} {event.fill_quantity:g} @ {event.fill_price:.2f}")
>>> from riskbook.lean import OrderStatus
>>> result = run(Buy)
>>> result.logs
['2021-06-02 16:00:00 MSFT 41 @ 242.95']
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskbook.data.market_data import MarketData
from riskbook.errors import ConfigError
from riskbook.execute.costs import Costs
from riskbook.execute.fills import resolve_fill
from riskbook.execute.reconcile import COMPONENTS, attribute
from riskbook.lean.algorithm import LogEntry, QCAlgorithm
from riskbook.lean.data import SESSION_CLOSE, SESSION_OPEN
from riskbook.lean.orders import Order, OrderEvent, OrderStatus
from riskbook.lean.portfolio import AccountType
from riskbook.lean.symbols import TickerResolver
from riskbook.simulate.engine import backtest
from riskbook.simulate.result import BacktestResult
from riskbook.simulate.schedule import decision_bars

__all__ = ["LeanResult", "run", "run_file"]

# The algorithm checks buying power itself (LEAN's margin model); the engine's gross-exposure cap
# must not second-guess it, so a margin account gets this cap in the engine.
_ENGINE_MARGIN_CAP = 1e6


@dataclass(frozen=True, eq=False)
class LeanResult(BacktestResult):
    """A :class:`~riskbook.BacktestResult` plus what the LEAN algorithm said and ordered.

    Attributes
    ----------
    log_entries
        Every ``debug`` / ``log`` / ``error`` message with its time and level (``logs`` has
        them as LEAN prints them).
    order_events
        Every event sent to ``on_order_event``, in order.
    order_tickets
        Every order the algorithm placed (filled, invalid, cancelled or left open at the end).
    algorithm
        The algorithm instance after the run (its attributes hold whatever it kept).
    lean_stages
        Per filled decision: the percent asked by ``set_holdings`` (NaN where none), and the
        weights after LEAN's buffer, after the minimum order filter and after LEAN's sizing;
        used by :attr:`reconciliation`.
    """

    log_entries: tuple[LogEntry, ...] = ()
    order_events: tuple[OrderEvent, ...] = ()
    order_tickets: tuple[Order, ...] = ()
    algorithm: Any = None
    lean_stages: Mapping[str, np.ndarray] | None = None
    plots: tuple[tuple, ...] = ()

    @property
    def logs(self) -> list[str]:
        """The messages as LEAN prints them: ``"YYYY-MM-DD HH:MM:SS message"``."""
        return [str(entry) for entry in self.log_entries]

    @cached_property
    def lean_orders(self) -> pd.DataFrame:
        """One row per order: id, times, symbol, quantity, status, fill price, fee, message."""
        return pd.DataFrame(
            {
                "id": [o.id for o in self.order_tickets],
                "time": pd.DatetimeIndex([o.time for o in self.order_tickets]),
                "symbol": [str(o.symbol) for o in self.order_tickets],
                "quantity": [o.quantity for o in self.order_tickets],
                "status": [o.status.name for o in self.order_tickets],
                "fill_time": pd.DatetimeIndex([o.fill_time for o in self.order_tickets]),
                "quantity_filled": [o.quantity_filled for o in self.order_tickets],
                "fill_price": [o.average_fill_price for o in self.order_tickets],
                "fee": [o.fee for o in self.order_tickets],
                "tag": [o.tag for o in self.order_tickets],
                "message": [o.message for o in self.order_tickets],
            }
        )

    @property
    def engine_reconciliation(self) -> pd.DataFrame:
        """The engine's reconciliation: LEAN-sized target weights vs held weights."""
        return BacktestResult.reconciliation.func(self)  # type: ignore[attr-defined]

    @cached_property
    def reconciliation(self) -> pd.DataFrame:
        """Asked vs held weight after every rebalance, and the residual's components.

        For a symbol traded with ``set_holdings`` the target is the percent asked; LEAN's
        sizing adds to the engine's components: ``cash_buffer`` (the free portfolio value,
        0.25% by default), ``skipped`` (below the minimum order margin), ``rounding`` (whole
        shares, including LEAN's reserve for the estimated fee), ``cash_shortfall`` (orders
        refused for buying power); ``costs`` and ``price_move`` are the engine's. Other symbols
        (market orders, untouched holdings) have the engine's target: what was ordered.
        ``residual = held_weight - target_weight`` is the sum of the components.
        """
        records = self.records
        st = records.stage
        comps = attribute(
            st["target"],
            records.equity[:, None],
            st["price"],
            st["buffered"],
            st["kept"],
            st["rounded"],
            st["final"],
            records.costs[:, None],
            st["held"],
        )
        lean = self.lean_stages
        target = st["target"].copy()
        if lean is not None and len(lean["requested"]):
            asked = np.isfinite(lean["requested"])
            requested = np.where(asked, lean["requested"], 0.0)
            extra = {
                "cash_buffer": lean["buffered"] - requested,
                "skipped": lean["kept"] - lean["buffered"],
                "rounding": lean["sized"] - lean["kept"],
                "cash_shortfall": st["target"] - lean["sized"],
            }
            for name, value in extra.items():
                comps[name] = comps[name] + np.where(asked, value, 0.0)
            target = np.where(asked, requested, target)
        else:
            asked = np.zeros_like(target, dtype=bool)
        rows = (st["target"] != 0) | (st["current"] != 0) | (st["final"] != 0) | asked
        k, j = np.nonzero(rows)
        frame = pd.DataFrame(
            {
                "date": pd.DatetimeIndex(self.decision_times[k]),
                "fill_time": pd.DatetimeIndex(self.fill_times[k]),
                "symbol": np.asarray(self.symbols, dtype=object)[j],
                "target_weight": target[rows],
                "held_weight": st["held"][rows],
                "residual": st["held"][rows] - target[rows],
            }
        )
        for name in COMPONENTS:
            frame[name] = comps[name][rows]
        return frame


@dataclass
class _Batch:
    """The orders sent at one decision and what is needed to deliver their fills."""

    decision_bar: int
    fill_bar: int
    orders: list[Order]
    invalid: dict[int, str]  # order id -> why it failed the buying-power check at the fill
    q0: np.ndarray
    target: np.ndarray
    fill_price: np.ndarray  # per symbol, slippage included
    order_fee: dict[int, float]
    sent: bool


class _Driver:
    """The strategy the engine calls: one LEAN time step per decision."""

    def __init__(
        self,
        algorithm: QCAlgorithm,
        data: MarketData,
        costs: Costs,
        fill_model: Any,
        decisions: np.ndarray,
        on_every_bar: bool,
    ) -> None:
        self.algo = algorithm
        self.state = algorithm._qc
        self.data = data
        self.costs = costs
        self.column = {s: i for i, s in enumerate(data.symbols)}
        schedule = fill_model.schedule(data, decisions)
        self.fills = {
            int(d): (
                int(schedule.index[k]),
                schedule.price[k],
                None if schedule.volume is None else schedule.volume[k],
            )
            for k, d in enumerate(decisions)
        }
        self.fill_model = fill_model
        self.on_every_bar = on_every_bar
        self.started = False
        self.pending: _Batch | None = None
        self.batches: list[_Batch] = []
        self.stages: list[dict[str, np.ndarray]] = []

    # ------------------------------------------------------------ the engine's entry point
    def targets(self, view: Any, portfolio: Any) -> np.ndarray | None:
        bar = len(view) - 1
        if not self.started:
            self._start(bar)
        self.algo._set_bar(bar)
        self.state.requested = {}
        self.state.step_orders = []
        self._deliver(bar, portfolio.positions, portfolio.cash)
        if self.state.quit:
            return None
        self._step()
        return self._send(bar, portfolio)

    def _step(self) -> None:
        """One LEAN time step at the current bar: on_data, then the framework."""
        algo = self.algo
        data = algo._slice()
        handler = algo._handler("on_data")
        if handler is not None:
            handler(data)
        if algo.is_framework:
            algo._framework_step(data)

    def _start(self, first_bar: int) -> None:
        """Securities-changed events, then the warm-up replay, before the first decision."""
        from riskbook.construct.portfolio_construction import SecurityChanges

        self.started = True
        algo, state = self.algo, self.state
        warm = state.warm_up
        bars: list[int] = []
        if isinstance(warm, int) and warm > 0:
            bars = list(range(max(0, first_bar - warm), first_bar))
        elif warm is not None and not isinstance(warm, int):
            begin = algo._qc.clock.bar_time(first_bar) - warm
            bars = [b for b in range(first_bar) if algo._qc.clock.bar_time(b) > begin]
        algo._set_bar(bars[0] if bars else first_bar)
        algo._securities_changed(SecurityChanges(list(state.securities.values()), []))
        if not bars:
            return
        state.warming_up = True
        try:
            for b in bars:
                algo._set_bar(b)
                self._step()
        finally:
            state.warming_up = False
            state.pending = []
        handler = algo._handler("on_warmup_finished")
        if handler is not None:
            handler()

    # ------------------------------------------------------------ orders out
    def _fits(
        self,
        q: np.ndarray,
        cash: float,
        ref: np.ndarray,
        leverage: np.ndarray,
        j: int,
        dq: float,
        px: float,
        fee: float,
    ) -> str | None:
        """LEAN's buying-power re-check of one order at its fill, on the running portfolio."""
        if self.state.account == AccountType.CASH:
            if dq < 0 and -dq > q[j] + 1e-9:
                return f"a cash account cannot sell {-dq:g} holding {q[j]:g}"
            if dq > 0 and dq * px + fee > cash + 1e-9:
                return f"cash {cash:.2f} is less than the order's cost {dq * px + fee:.2f}"
            return None
        margin = (abs(q[j] + dq) - abs(q[j])) * px / leverage[j]
        if margin <= 0:
            return None
        held = q != 0
        tpv = cash + float(np.dot(q[held], ref[held]))
        free = tpv - float(np.sum(np.abs(q[held] * ref[held]) / leverage[held]))
        if margin + fee > free + 1e-9:
            return f"Initial Margin: {margin + fee:.2f}, Free Margin: {free:.2f}"
        return None

    def _send(self, bar: int, portfolio: Any) -> np.ndarray | None:
        """The orders placed in this step -> target weights for the engine."""
        state = self.state
        orders = sorted(
            (o for o in state.pending if o.status == OrderStatus.SUBMITTED), key=lambda o: o.id
        )
        requested = dict(state.requested)
        placed = [o for o in state.step_orders if o.status != OrderStatus.CANCELED]
        state.pending = []
        if not orders:
            return None
        n = len(self.data.symbols)
        fill_bar, ref, volume = self.fills[bar]
        prices = state.quotes.prices
        ref_safe = np.where(np.isfinite(ref) & (ref > 0), ref, prices)
        q0 = np.array(portfolio.positions, dtype=float)
        q, cash = q0.copy(), float(portfolio.cash)
        invalid: dict[int, str] = {}
        leverage = np.array([state.securities[s].leverage for s in self.data.symbols])
        for order in orders:  # id sequence, the portfolio updated after each fill
            j = self.column[str(order.symbol)]
            dq = np.array([order.quantity])
            px = float(
                self.costs.slippage.price(
                    dq, ref_safe[j : j + 1], None if volume is None else volume[j : j + 1]
                )[0]
            )
            fee = float(self.costs.fee.fee(dq, np.array([px]))[0])
            why = self._fits(q, cash, ref_safe, leverage, j, order.quantity, px, fee)
            if why is not None:
                invalid[order.id] = (
                    f"Insufficient buying power to complete order at the fill: {why}"
                )
                continue
            q[j] += order.quantity
            cash -= order.quantity * px + fee
        target = q0.copy()
        for order in orders:
            order.batch = len(self.batches)  # sent: no longer cancellable
            if order.id not in invalid:
                target[self.column[str(order.symbol)]] += order.quantity
        net = target - q0
        fill_price = np.asarray(self.costs.slippage.price(net, ref_safe, volume), dtype=float)
        fee_sym = np.asarray(self.costs.fee.fee(net, fill_price), dtype=float)
        gross = np.zeros(n)
        for order in orders:
            if order.id not in invalid:
                gross[self.column[str(order.symbol)]] += abs(order.quantity)
        order_fee: dict[int, float] = {}
        for order in orders:  # the engine bills one fee per symbol: split it by quantity
            j = self.column[str(order.symbol)]
            if order.id not in invalid and gross[j]:
                order_fee[order.id] = float(fee_sym[j] * abs(order.quantity) / gross[j])
        sent = bool(np.any(net != 0))
        batch = _Batch(bar, fill_bar, orders, invalid, q0, target, fill_price, order_fee, sent)
        self.pending = batch
        if not sent:
            return None
        self.batches.append(batch)
        self.stages.append(self._lean_stages(portfolio, requested, placed))
        price = np.asarray(portfolio.prices, dtype=float)
        weights = np.zeros(n)
        held = target != 0
        # a NaN price stays NaN: the engine then names the symbol it cannot value
        weights[held] = target[held] * price[held] / float(portfolio.equity)
        return weights

    def _lean_stages(
        self, portfolio: Any, requested: dict[str, float], placed: list[Order]
    ) -> dict[str, np.ndarray]:
        """Weights after each of LEAN's sizing steps for the symbols set_holdings asked for."""
        state = self.state
        n = len(self.data.symbols)
        out = {name: np.full(n, np.nan) for name in ("requested", "buffered", "kept", "sized")}
        if not requested:
            return out
        equity = float(portfolio.equity)
        price = np.asarray(portfolio.prices, dtype=float)
        q0 = np.asarray(portfolio.positions, dtype=float)
        settings = state.settings
        free = settings.free_portfolio_value
        if free is None:
            free = equity * settings.free_portfolio_value_percentage
        minimum = equity * settings.minimum_order_margin_portfolio_percentage
        sized = q0.copy()
        for order in placed:
            if order.quantity and order.status in (OrderStatus.SUBMITTED, OrderStatus.INVALID):
                sized[self.column[str(order.symbol)]] += order.quantity
        for symbol, pct in requested.items():
            j = self.column[symbol]
            p = price[j] if np.isfinite(price[j]) else 0.0
            current = q0[j] * p / equity
            buffered = pct * (equity - free) / equity
            leverage = state.securities[symbol].leverage
            change = abs(buffered * equity - q0[j] * p) / leverage
            skip = buffered != 0 and change < minimum and state.portfolio.margin_remaining > 0
            out["requested"][j] = pct
            out["buffered"][j] = buffered
            out["kept"][j] = current if skip else buffered
            out["sized"][j] = sized[j] * p / equity
        return out

    # ------------------------------------------------------------ fills back
    def _event_time(self, fill_bar: int) -> Any:
        """When a fill happens: the fill bar's open (09:30) or close (16:00) on daily bars."""
        clock = self.state.clock
        end = clock.bar_time(fill_bar)
        if clock.daily and self.fill_model.name == "next_open":
            return end - (SESSION_CLOSE - SESSION_OPEN)
        return end

    def _deliver(self, bar: int, positions: np.ndarray, cash: float) -> None:
        """Fire the fills of the pending orders (once their fill bar is reached), then align the
        algorithm's books with the engine's."""
        algo, state = self.algo, self.state
        batch = self.pending
        if batch is not None and batch.fill_bar <= bar:
            self.pending = None
            when = self._event_time(batch.fill_bar)
            utc = pd.Timestamp(when).tz_localize("America/New_York").tz_convert("UTC")
            utc = utc.tz_localize(None).to_pydatetime()
            filled = self._filled_quantities(batch, np.asarray(positions, dtype=float))
            for order in batch.orders:
                if order.id in batch.invalid:
                    order.status = OrderStatus.INVALID
                    order.message = batch.invalid[order.id]
                    algo.error(f"Order Error: id: {order.id}, {order.message}")
                    event = OrderEvent(
                        order.id,
                        order.symbol,
                        utc,
                        when,
                        OrderStatus.INVALID,
                        order.direction,
                        order.quantity,
                        message=order.message,
                    )
                    algo._emit(event)
                    continue
                q = filled.get(order.id, 0.0)
                j = self.column[str(order.symbol)]
                px = float(batch.fill_price[j])
                fee = batch.order_fee.get(order.id, 0.0) * (abs(q) / abs(order.quantity))
                if q:
                    state.portfolio[order.symbol].apply_fill(q, px, fee)
                order.quantity_filled = q
                order.average_fill_price = px if q else 0.0
                order.fee = fee
                order.fill_time = when
                if q == order.quantity:
                    order.status = OrderStatus.FILLED
                elif q:
                    order.status = OrderStatus.PARTIALLY_FILLED
                else:
                    order.status = OrderStatus.CANCELED
                    order.message = "not filled: the engine reduced the order"
                event = OrderEvent(
                    order.id,
                    order.symbol,
                    utc,
                    when,
                    order.status,
                    order.direction,
                    order.quantity,
                    px if q else 0.0,
                    q,
                    fee,
                    order.message,
                )
                algo._emit(event)
        # the engine's books are the truth: remove float dust left by per-order bookkeeping
        for j, symbol in enumerate(self.data.symbols):
            state.portfolio[symbol].quantity = float(positions[j])
        state.portfolio.cash = float(cash)

    def _filled_quantities(self, batch: _Batch, positions: np.ndarray) -> dict[int, float]:
        """Each order's filled quantity: all of it when the engine traded what was sent;
        otherwise the symbol's actual change, given to the orders in id sequence."""
        out: dict[int, float] = {}
        actual = positions - batch.q0 if batch.sent else np.zeros_like(positions)
        for j in range(len(actual)):
            orders = [
                o
                for o in batch.orders
                if self.column[str(o.symbol)] == j and o.id not in batch.invalid
            ]
            if not orders:
                continue
            if math.isclose(actual[j], batch.target[j] - batch.q0[j], abs_tol=1e-9):
                out.update({o.id: o.quantity for o in orders})
                continue
            left = actual[j]
            for o in orders:
                same_side = left * o.quantity > 0
                take = (
                    math.copysign(min(abs(left), abs(o.quantity)), o.quantity) if same_side else 0.0
                )
                out[o.id] = take
                left -= take
        return out

    def finish(self, result: BacktestResult) -> None:
        """After the engine: the last fills, the last session's on_data (its orders never
        fill, as at the end of a LEAN backtest), then ``on_end_of_algorithm``."""
        state = self.state
        last = len(self.data.dates) - 1
        positions = result.positions.iloc[-1].to_numpy(dtype=float)
        cash = float(result.cash_values[-1])
        if self.started and state.bar < last:
            self.algo._set_bar(last)
            self._deliver(last, positions, cash)
            if self.on_every_bar and not state.quit:
                self._step()
        elif self.pending is not None:
            self._deliver(max(state.bar, self.pending.fill_bar), positions, cash)
        handler = self.algo._handler("on_end_of_algorithm")
        if handler is not None:
            handler()


def _stack(stages: list[dict[str, np.ndarray]], n: int) -> dict[str, np.ndarray]:
    names = ("requested", "buffered", "kept", "sized")
    if not stages:
        return {name: np.zeros((0, n)) for name in names}
    return {name: np.vstack([s[name] for s in stages]) for name in names}


def run(
    algorithm: type[QCAlgorithm] | QCAlgorithm,
    *,
    start: Any = None,
    end: Any = None,
    cash: float | None = None,
    data: Any = None,
    fill: Any = "auto",
    costs: Any = "ib",
    account: str | None = None,
    leverage: float | None = None,
    schedule: Any = "daily",
    at: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> LeanResult:
    """Run a LEAN algorithm on riskbook's engine with LEAN's daily timing.

    Parameters
    ----------
    algorithm
        A :class:`~riskbook.lean.QCAlgorithm` subclass (or a fresh instance of one).
    start, end, cash
        Override ``set_start_date`` / ``set_end_date`` / ``set_cash`` (the algorithm's own
        calls are then ignored, so ``initialize`` already sees the overrides).
    data
        Prices to resolve tickers from first: a MarketData or a name/path for
        :func:`riskbook.load_prices`. Otherwise the bundled data sets, then the local store.
    fill
        The engine's fill model; ``"auto"`` is LEAN's market-on-open: the next session's open,
        or its close on close-only data (the bundled sets).
    costs
        The engine's costs; ``"ib"`` is LEAN's default equity fee ($0.005 a share, $1 minimum,
        0.5% maximum), no slippage. The fee model is also what LEAN's sizing subtracts.
    account, leverage
        ``"margin"`` (LEAN's default, leverage 2) or ``"cash"``; overrides
        ``set_brokerage_model``.
    schedule, at
        When ``on_data`` is called; ``"daily"`` (every session, as LEAN) unless a coarser
        schedule is wanted for speed. ``at`` picks the clock time on minute data.
    parameters
        Values for ``get_parameter``.

    Returns
    -------
    LeanResult
        The engine's result (trades with fill prices, reconciliation, equity) plus ``logs``,
        ``order_events``, ``order_tickets`` and the algorithm instance.

    Raises
    ------
    DataError
        An unknown ticker (named).
    ConfigError
        Bad dates, account or overrides.
    StrategyError
        The algorithm raised (``.partial`` holds the result so far).
    """
    algo = algorithm() if isinstance(algorithm, type) else algorithm
    if not isinstance(algo, QCAlgorithm):
        raise ConfigError(
            f"{type(algo).__name__} is not a QCAlgorithm subclass", parameter="algorithm"
        )
    state = algo._qc
    state.resolver = TickerResolver(data)
    state.costs = Costs.resolve(costs)
    state.parameters = {str(k): v for k, v in (parameters or {}).items()}
    if start is not None:
        algo.set_start_date(start)
        state.locked.add("start")
    if end is not None:
        algo.set_end_date(end)
        state.locked.add("end")
    if cash is not None:
        algo.set_cash(cash)
        state.locked.add("cash")
    state.initializing = True
    try:
        handler = algo._handler("initialize")
        if handler is not None:
            handler()
    finally:
        state.initializing = False
    if account is not None:
        if account not in ("margin", "cash"):
            raise ConfigError(
                f"unknown account {account!r}; use 'margin' or 'cash'", parameter="account"
            )
        algo._set_account(AccountType[account.upper()], leverage)
    elif leverage is not None:
        algo._set_account(state.account, leverage)
    full = algo._data()
    begin = state.start or pd.Timestamp(full.dates[0]).to_pydatetime()
    stop = state.end
    if stop is not None and np.datetime64(stop) < full.dates[-1]:
        full = full.slice(None, stop.date())
    algo._bind(full)
    account_name = "cash" if state.account == AccountType.CASH else "margin"
    fill_model = resolve_fill(fill, full)
    decisions = decision_bars(full, schedule, start=begin, at=at)
    driver = _Driver(algo, full, state.costs, fill_model, decisions, schedule == "daily")
    benchmark = state.benchmark if state.benchmark in full.symbols else None
    if state.benchmark is not None and benchmark is None:
        algo.debug(f"benchmark {state.benchmark} is not an added security; none is kept")
    result = backtest(
        full,
        driver,
        schedule=schedule,
        fill=fill_model,
        costs=state.costs,
        cash=state.portfolio.cash,
        account=account_name,
        leverage=1.0 if account_name == "cash" else _ENGINE_MARGIN_CAP,
        start=begin,
        at=at,
        benchmark=benchmark,
    )
    driver.finish(result)
    settings = dict(result.settings)
    settings["leverage"] = state.leverage
    settings["buying_power"] = "LEAN's model, checked by riskbook.lean at submission and fill"
    settings["lean_settings"] = {
        "free_portfolio_value": state.settings.free_portfolio_value,
        "free_portfolio_value_percentage": state.settings.free_portfolio_value_percentage,
        "minimum_order_margin_portfolio_percentage": (
            state.settings.minimum_order_margin_portfolio_percentage
        ),
    }
    base = {f.name: getattr(result, f.name) for f in fields(BacktestResult)}
    base["settings"] = settings
    return LeanResult(
        **base,
        log_entries=tuple(state.logs),
        order_events=tuple(state.events),
        order_tickets=tuple(state.transactions),
        algorithm=algo,
        lean_stages=_stack(driver.stages, len(full.symbols)),
        plots=tuple(state.plots),
    )


@contextlib.contextmanager
def _algorithm_imports():
    """Let ``from AlgorithmImports import *`` resolve to riskbook.lean while a file loads."""
    import riskbook.lean as lean

    added = "AlgorithmImports" not in sys.modules
    if added:
        sys.modules["AlgorithmImports"] = lean
    try:
        yield
    finally:
        if added:
            sys.modules.pop("AlgorithmImports", None)


def load_algorithm(path: str | Path, name: str | None = None) -> type[QCAlgorithm]:
    """The QCAlgorithm subclass defined in a Python file (``name`` picks one of several).

    Raises
    ------
    ConfigError
        No such file, no subclass, or several without ``name`` (they are listed).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("no such algorithm file", parameter="path", file=str(path))
    module_name = f"riskbook_lean_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError("cannot load the file as Python", parameter="path", file=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with _algorithm_imports():
            spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(module_name, None)
        raise
    found = {
        obj.__name__: obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, QCAlgorithm)
        and obj is not QCAlgorithm
        and obj.__module__ == module_name
    }
    if name is not None:
        if name not in found:
            raise ConfigError(
                f"no QCAlgorithm subclass {name!r} in the file; found {sorted(found)}",
                parameter="algorithm",
                file=str(path),
            )
        return found[name]
    if len(found) != 1:
        raise ConfigError(
            f"expected one QCAlgorithm subclass in the file, found {sorted(found) or 'none'}; "
            "name one with algorithm=",
            parameter="algorithm",
            file=str(path),
        )
    return next(iter(found.values()))


def run_file(path: str | Path, *, algorithm: str | None = None, **overrides: Any) -> LeanResult:
    """Load the algorithm class from a Python file and :func:`run` it (the CLI's entry point).

    The file may import ``from riskbook.lean import *`` or LEAN's own
    ``from AlgorithmImports import *``.

    Parameters
    ----------
    path
        The ``.py`` file.
    algorithm
        The class name when the file defines several QCAlgorithm subclasses.
    **overrides
        Passed to :func:`run` (``start``, ``end``, ``cash``, ``data``, ``fill``, ``costs``,
        ``account``, ``leverage``, ``schedule``, ``at``, ``parameters``).
    """
    return run(load_algorithm(path, algorithm), **overrides)
