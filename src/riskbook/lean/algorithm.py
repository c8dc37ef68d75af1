"""`QCAlgorithm`: LEAN's algorithm base class on top of riskbook's data and engine.

A LEAN algorithm subclasses :class:`QCAlgorithm`, sets itself up in ``initialize`` and trades in
``on_data``; :func:`riskbook.lean.run` drives it through :func:`riskbook.backtest`. What it sees
is LEAN's daily backtest:

- ``on_data`` is called at 16:00 of every session with the bars that just completed; ``time`` is
  that instant and ``history`` / prices reach no later bar;
- an order is sized against the portfolio at the moment it is placed, submitted at once, and
  filled at the next session (market-on-open: the next open, or on close-only data the next
  close), so holdings read in the same ``on_data`` are the old ones; the fill reaches
  ``on_order_event`` before the next ``on_data``;
- ``set_holdings(symbol, pct)`` sizes each call against the portfolio as it is (called in a loop
  the orders go out in loop order); ``set_holdings([PortfolioTarget, ...])`` sizes all from one
  snapshot and sends position-reducing orders first;
- buying power is checked at submission and again, order by order in id sequence, at the fill
  (LEAN's margin model: ``|value| / leverage`` per position, leverage 2 on the default margin
  account; a cash account cannot short or spend more than its cash). A failing order becomes
  INVALID and is not traded.

Both of LEAN's spellings work: ``self.SetHoldings`` and ``self.set_holdings``,
``self.Settings.MinimumOrderMarginPortfolioPercentage`` and
``self.settings.minimum_order_margin_portfolio_percentage``.

Examples
--------
>>> class Hold(QCAlgorithm):
...     def initialize(self):
...         self.set_start_date(2020, 3, 2)
...         self.set_end_date(2020, 3, 6)
...         self.ko = self.add_equity("KO").symbol
...     def on_data(self, data):
...         if not self.portfolio.invested:
...             self.set_holdings(self.ko, 0.5)
>>> from riskbook.lean import run
>>> result = run(Hold)
>>> result.trades[["decision_time", "fill_time", "symbol", "quantity"]].to_string(index=False)
'decision_time  fill_time symbol  quantity\\n   2020-03-02 2020-03-03     KO     994.0'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from riskbook.construct.insight import Insight, InsightCollection
from riskbook.construct.portfolio_construction import Resolution, SecurityChanges
from riskbook.construct.target import PortfolioTarget, PortfolioTargetCollection
from riskbook.data.market_data import MarketData
from riskbook.errors import ConfigError, DataError
from riskbook.execute.costs import Costs
from riskbook.execute.fees import PerShareFee
from riskbook.lean._names import LeanNames, snake_case
from riskbook.lean.data import Clock, Slice, history_frame
from riskbook.lean.framework import (
    ImmediateExecutionModel,
    ManualUniverseSelectionModel,
    call_model,
)
from riskbook.lean.orders import Order, OrderEvent, OrderStatus, OrderType, Transactions
from riskbook.lean.portfolio import (
    AccountType,
    Quotes,
    Securities,
    Security,
    SecurityPortfolioManager,
    Settings,
    UniverseSettings,
)
from riskbook.lean.symbols import Symbol, TickerResolver, combine

__all__ = ["LogEntry", "QCAlgorithm"]

TIME_ZONE = "America/New_York"
_UNSUPPORTED = frozenset({"schedule", "date_rules", "time_rules"})


@dataclass(frozen=True)
class LogEntry:
    """One message: when (algorithm time), how (debug / log / error) and what."""

    time: datetime
    level: str
    message: str

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.message}"


class _State:
    """Everything a QCAlgorithm keeps for itself, in one attribute so that it cannot collide
    with a user's own attribute names."""

    def __init__(self) -> None:
        self.resolver = TickerResolver()
        self.costs = Costs(fee=PerShareFee())
        self.parts: dict[str, MarketData] = {}
        self.data: MarketData | None = None
        self.clock: Clock | None = None
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.locked: set[str] = set()
        self.account = AccountType.MARGIN
        self.leverage = 2.0
        self.quotes = Quotes(())
        self.quote_bar = -2
        self.time: datetime | None = None
        self.utc_time: datetime | None = None
        self.bar = -1
        self.portfolio = SecurityPortfolioManager(100_000.0)
        self.securities = Securities()
        self.settings = Settings()
        self.universe_settings = UniverseSettings()
        self.transactions = Transactions()
        self.insights = InsightCollection()
        self.logs: list[LogEntry] = []
        self.events: list[OrderEvent] = []
        self.plots: list[tuple[datetime, str, str, float]] = []
        self.alpha: Any = None
        self.portfolio_construction: Any = None
        self.risk: list[Any] = []
        self.execution: Any = None
        self.pending: list[Order] = []  # submitted in this time step, not sent to the engine
        self.requested: dict[str, float] = {}  # set_holdings percent per symbol, this step
        self.warm_up: int | timedelta | None = None
        self.warming_up = False
        self.initializing = False
        self.parameters: dict[str, str] = {}
        self.benchmark: str | None = None
        self.quit = False
        self.handlers: dict[str, Any] = {}
        self.emitted: list[Insight] = []
        self.step_orders: list[Order] = []  # every order placed in this time step


def _as_datetime(value: Any, month: Any, day: Any, parameter: str) -> datetime:
    if month is not None:
        try:
            return datetime(int(value), int(month), int(day if day is not None else 1))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"not a date: {value}-{month}-{day}", parameter=parameter) from exc
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"not a date: {value!r}", parameter=parameter) from exc


def _symbol_of(item: Any) -> Symbol:
    """A Symbol from a Symbol, a ticker, a Security or a holding."""
    if isinstance(item, str):
        return Symbol(item)
    inner = getattr(item, "symbol", None)
    if inner is not None:
        return Symbol(str(inner))
    raise DataError(f"not a symbol: {item!r}", parameter="symbol")


class QCAlgorithm(LeanNames):
    """LEAN's algorithm base class (subclass it; run it with :func:`riskbook.lean.run`).

    Override ``initialize`` and ``on_data`` (or ``Initialize`` / ``OnData``), and optionally
    ``on_order_event``, ``on_securities_changed``, ``on_end_of_algorithm``,
    ``on_warmup_finished``.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> QCAlgorithm:
        self = super().__new__(cls)
        object.__setattr__(self, "_qc", _State())
        return self

    # ================================================================ event handlers (no-ops)
    def initialize(self) -> None:
        """Set dates, cash and securities (override)."""

    def on_data(self, data: Slice) -> None:
        """Called with each time step's bars (override)."""

    def on_order_event(self, order_event: OrderEvent) -> None:
        """Called when an order is submitted, filled or rejected (override)."""

    def on_securities_changed(self, changes: SecurityChanges) -> None:
        """Called when securities join the universe (override)."""

    def on_end_of_algorithm(self) -> None:
        """Called once after the last time step (override)."""

    def on_warmup_finished(self) -> None:
        """Called when the warm-up period ends (override)."""

    def _handler(self, snake: str) -> Any:
        """The user's override of a handler, in either spelling (None: not overridden)."""
        cache = self._qc.handlers
        if snake not in cache:
            camel = "".join(part.capitalize() for part in snake.split("_"))
            found = None
            for cls in type(self).__mro__:
                if cls is QCAlgorithm:
                    break
                for name in (snake, camel):
                    if name in cls.__dict__:
                        found = getattr(self, name)
                        break
                if found is not None:
                    break
            cache[snake] = found
        return cache[snake]

    # ================================================================ setup
    def set_start_date(self, year: Any, month: Any = None, day: Any = None) -> None:
        """``set_start_date(2018, 1, 1)`` or ``set_start_date(datetime(...))``."""
        if "start" not in self._qc.locked:
            self._qc.start = _as_datetime(year, month, day, "start")

    def set_end_date(self, year: Any, month: Any = None, day: Any = None) -> None:
        """``set_end_date(2022, 12, 31)`` or a datetime; clamped to the data's last bar."""
        if "end" not in self._qc.locked:
            self._qc.end = _as_datetime(year, month, day, "end")

    def set_cash(self, *args: Any) -> None:
        """``set_cash(100000)`` (or LEAN's ``set_cash("USD", 100000)``)."""
        amount = args[-1] if args and not isinstance(args[-1], str) else None
        if len(args) == 3:
            amount = args[1]
        if amount is None or not math.isfinite(float(amount)) or float(amount) <= 0:
            raise ConfigError(f"cash must be a positive number, not {args!r}", parameter="cash")
        if "cash" not in self._qc.locked:
            self._qc.portfolio.cash = float(amount)

    def add_equity(
        self,
        ticker: Any,
        resolution: Any = None,
        market: Any = None,
        fill_forward: bool = True,
        leverage: float | None = None,
        extended_market_hours: bool = False,
        data_normalization_mode: Any = None,
    ) -> Security:
        """Add a security by ticker; its prices come from the bundled data, the store or the
        run's ``data`` (see :mod:`riskbook.lean.symbols`).

        Raises
        ------
        DataError
            Naming the ticker when no source has it.
        ConfigError
            Adding a ticker after ``initialize`` (the engine's universe is fixed by then).
        """
        state = self._qc
        symbol = Symbol.create(str(ticker))
        if symbol in state.securities:
            return state.securities[symbol]
        if not state.initializing:
            raise ConfigError(
                "securities can only be added in initialize: riskbook fixes the universe "
                "before the backtest starts",
                symbol=str(symbol),
                parameter="add_equity",
            )
        state.parts[str(symbol)] = state.resolver.load(str(symbol))
        state.data = None
        security = Security(
            symbol,
            state.quotes,
            state.portfolio,
            fee_model=state.costs.fee,
            leverage=state.leverage if leverage is None else float(leverage),
            resolution=Resolution.DAILY if resolution is None else Resolution(resolution),
        )
        state.securities.add(security)
        state.portfolio.add_security(security)
        return security

    def add_security(self, security_type: Any, ticker: Any, resolution: Any = None, *args: Any):
        """LEAN's ``AddSecurity(SecurityType.Equity, ticker, resolution)``: equities only."""
        return self.add_equity(ticker, resolution)

    def set_warm_up(self, period: Any, resolution: Any = None) -> None:
        """Replay ``period`` bars (an int) or a ``timedelta`` before the start date through
        ``on_data`` with ``is_warming_up`` True; orders are refused meanwhile, as in LEAN."""
        if isinstance(period, bool) or not isinstance(period, int | timedelta):
            raise ConfigError("warm-up is a bar count or a timedelta", parameter="warm_up")
        self._qc.warm_up = period

    def set_benchmark(self, symbol: Any) -> None:
        """Use an added security as the result's benchmark (others are ignored, with a note)."""
        self._qc.benchmark = str(_symbol_of(symbol))

    def set_brokerage_model(self, brokerage: Any = None, account_type: Any = AccountType.MARGIN):
        """Only the account type matters: MARGIN (leverage 2) or CASH (leverage 1, no shorts)."""
        self._set_account(AccountType(account_type))

    def _set_account(self, account: AccountType, leverage: float | None = None) -> None:
        state = self._qc
        state.account = account
        state.leverage = float(leverage or (1.0 if account == AccountType.CASH else 2.0))
        for security in state.securities.values():
            security.leverage = state.leverage

    def get_parameter(self, name: str, default: Any = None) -> Any:
        """A run parameter (``run(..., parameters={...})``), or ``default``."""
        return self._qc.parameters.get(name, default)

    # ================================================================ framework
    def set_alpha(self, model: Any) -> None:
        self._qc.alpha = model

    def add_alpha(self, model: Any) -> None:
        from riskbook.construct.alphas import CompositeAlphaModel

        current = self._qc.alpha
        self._qc.alpha = model if current is None else CompositeAlphaModel(current, model)

    def set_portfolio_construction(self, model: Any) -> None:
        self._qc.portfolio_construction = model

    def set_risk_management(self, model: Any) -> None:
        self._qc.risk = [model]

    def add_risk_management(self, model: Any) -> None:
        self._qc.risk.append(model)

    def set_execution(self, model: Any) -> None:
        self._qc.execution = model

    def set_universe_selection(self, model: Any) -> None:
        """A :class:`ManualUniverseSelectionModel`: its symbols are added now."""
        if not isinstance(model, ManualUniverseSelectionModel):
            raise ConfigError(
                "only ManualUniverseSelectionModel is supported (a fixed universe)",
                parameter="universe_selection",
            )
        for symbol in model.symbols:
            self.add_equity(symbol)

    add_universe_selection = set_universe_selection

    def emit_insights(self, *insights: Any) -> None:
        """Add insights for the portfolio construction model (LEAN's ``EmitInsights``)."""
        flat: list[Insight] = []
        for item in insights:
            flat.extend(item if isinstance(item, list | tuple) else [item])
        for insight in flat:
            if insight.generated_time_utc is None:
                insight.set_times(self.utc_time)
        self._qc.insights.add_range(flat)
        self._qc.emitted.extend(flat)

    @property
    def is_framework(self) -> bool:
        state = self._qc
        return state.alpha is not None or state.portfolio_construction is not None

    def _framework_step(self, data: Slice) -> None:
        """LEAN's ``OnFrameworkData``: alpha -> insights -> targets -> risk -> execution."""
        state = self._qc
        insights: list[Insight] = state.emitted
        state.emitted = []
        if state.alpha is not None:
            generated = list(state.alpha.generate(self, data))
            state.insights.add_range(generated)
            insights = insights + generated
        targets: list[PortfolioTarget] = []
        if state.portfolio_construction is not None:
            targets = list(state.portfolio_construction.create_targets(self, insights))
        overrides: list[PortfolioTarget] = []
        for model in state.risk:
            overrides.extend(call_model(model, "manage_risk", "ManageRisk", self, targets) or [])
        if overrides:
            merged = PortfolioTargetCollection(targets)
            merged.add_range(overrides)
            targets = merged.values
        if state.execution is None:
            state.execution = ImmediateExecutionModel()
        call_model(state.execution, "execute", "Execute", self, targets)

    def _securities_changed(self, changes: SecurityChanges) -> None:
        state = self._qc
        for model in (state.alpha, state.portfolio_construction, *state.risk, state.execution):
            has_hook = hasattr(model, "on_securities_changed") or hasattr(
                model, "OnSecuritiesChanged"
            )
            if model is not None and has_hook:
                call_model(model, "on_securities_changed", "OnSecuritiesChanged", self, changes)
        handler = self._handler("on_securities_changed")
        if handler is not None:
            handler(changes)

    # ================================================================ clock and data
    @property
    def time(self) -> datetime:
        """The current exchange time (16:00 of the session on daily data)."""
        state = self._qc
        if state.time is None:
            return state.start or datetime(1998, 1, 1)
        return state.time

    @property
    def utc_time(self) -> datetime:
        state = self._qc
        if state.utc_time is None or state.time is None:
            stamp = pd.Timestamp(self.time).tz_localize(TIME_ZONE).tz_convert("UTC")
            return stamp.tz_localize(None).to_pydatetime()
        return state.utc_time

    @property
    def start_date(self) -> datetime | None:
        return self._qc.start

    @property
    def end_date(self) -> datetime | None:
        return self._qc.end

    @property
    def is_warming_up(self) -> bool:
        return self._qc.warming_up

    @property
    def live_mode(self) -> bool:
        return False

    @property
    def portfolio(self) -> SecurityPortfolioManager:
        return self._qc.portfolio

    @property
    def securities(self) -> Securities:
        return self._qc.securities

    @property
    def settings(self) -> Settings:
        return self._qc.settings

    @property
    def universe_settings(self) -> UniverseSettings:
        return self._qc.universe_settings

    @property
    def transactions(self) -> Transactions:
        return self._qc.transactions

    @property
    def insights(self) -> InsightCollection:
        return self._qc.insights

    @property
    def benchmark(self) -> str | None:
        return self._qc.benchmark

    @benchmark.setter
    def benchmark(self, symbol: Any) -> None:
        self.set_benchmark(symbol)

    def __getattr__(self, name: str) -> Any:
        if snake_case(name) in _UNSUPPORTED:
            raise AttributeError(
                f"{name} (scheduled events) is not supported by riskbook.lean; check the time in "
                "on_data instead, which runs at every session's close"
            )
        return super().__getattr__(name)

    def _data(self) -> MarketData:
        """The added tickers' bars in one MarketData (built once the universe is known)."""
        state = self._qc
        if state.data is None:
            state.data = combine(list(state.parts.values()))
            self._bind(state.data)
        return state.data

    def _bind(self, data: MarketData) -> None:
        """Point the clock and the quotes at ``data`` (the run may cut it at the end date)."""
        state = self._qc
        state.data = data
        state.clock = Clock(data)
        quotes = state.quotes
        quotes.symbols = data.symbols
        quotes.column = {s: i for i, s in enumerate(data.symbols)}
        quotes.prices = np.zeros(len(data.symbols))
        quotes.has_bar = np.zeros(len(data.symbols), dtype=bool)
        state.quote_bar = -2

    def _visible(self) -> int:
        """Bars known now: through the current bar, or before the start during initialize."""
        state = self._qc
        self._data()  # builds the clock
        if state.bar >= 0:
            return state.bar + 1
        return state.clock.visible(self.time)

    def _set_bar(self, bar: int) -> None:
        """Move the clock to the end of bar ``bar``: time, UTC time and prices."""
        state = self._qc
        data = self._data()
        state.bar = bar
        state.time = state.clock.bar_time(bar)
        stamp = pd.Timestamp(state.time).tz_localize(TIME_ZONE).tz_convert("UTC")
        state.utc_time = stamp.tz_localize(None).to_pydatetime()
        row = data.close[bar]
        quotes = state.quotes
        finite = np.isfinite(row)
        if bar == state.quote_bar + 1:
            np.copyto(quotes.prices, row, where=finite)
        else:  # a jump: the last known close of each symbol
            seen = np.isfinite(data.close[: bar + 1])
            last = bar - np.argmax(seen[::-1], axis=0)
            has = seen.any(axis=0)
            cols = np.arange(len(row))
            quotes.prices[:] = np.where(has, data.close[last, cols], 0.0)
        quotes.has_bar = finite
        state.quote_bar = bar

    def _slice(self) -> Slice:
        state = self._qc
        return Slice(self._data(), state.bar, state.time, state.clock)

    def history(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """LEAN's history request: a DataFrame indexed by ``(symbol, time)``.

        Forms: ``history(symbols, n)``, ``history(symbols, timedelta)``,
        ``history(symbols, start, end)``, each with an optional resolution, and
        ``history(n)`` / ``history(timedelta)`` for every security. ``symbols`` is one symbol
        (or ticker) or a list. Only bars complete at the algorithm's time are returned (during
        ``initialize``: before the start date). ``history.close.unstack(level=0)`` gives a
        dates x symbols frame.

        Raises
        ------
        DataError
            A symbol that was not added (named).
        """
        args = list(args)
        if args and isinstance(args[0], type):  # history(TradeBar, symbols, ...)
            args.pop(0)
        symbols = kwargs.pop("symbols", kwargs.pop("tickers", None))
        if symbols is None:
            if args and not (
                isinstance(args[0], int | timedelta) and not isinstance(args[0], bool)
            ):
                symbols = args.pop(0)
            else:
                symbols = list(self._qc.securities)
        if "periods" in kwargs:
            periods = kwargs.pop("periods")
        elif "start" in kwargs:
            periods = kwargs.pop("start")
        else:
            periods = args.pop(0) if args else None
        end = kwargs.pop("end", None)
        resolution = kwargs.pop("resolution", None)
        if kwargs:
            raise ConfigError(f"unknown history arguments {sorted(kwargs)}", parameter="history")
        if isinstance(periods, datetime | date) and args and isinstance(args[0], datetime | date):
            end = args.pop(0)
        if args:
            resolution = args.pop(0)
        if isinstance(symbols, str) or not isinstance(symbols, Iterable):
            symbols = [symbols]
        names = [_symbol_of(s) for s in symbols]
        if periods is None:
            raise ConfigError(
                "history needs a bar count, a timedelta or a start", parameter="periods"
            )
        if isinstance(periods, date) and not isinstance(periods, datetime):
            periods = datetime(periods.year, periods.month, periods.day)
        if isinstance(periods, datetime):
            end = self.time if end is None else min(_as_datetime(end, None, None, "end"), self.time)
        elif isinstance(periods, timedelta):
            end = self.time
        return history_frame(self._data(), self._visible(), names, periods, resolution, end)

    # ================================================================ messages
    def _message(self, level: str, message: Any) -> None:
        self._qc.logs.append(LogEntry(self.time, level, str(message)))

    def debug(self, message: Any) -> None:
        self._message("debug", message)

    def log(self, message: Any) -> None:
        self._message("log", message)

    def error(self, message: Any) -> None:
        self._message("error", message)

    def plot(self, chart: str, series: Any, value: Any = None) -> None:
        """Kept in ``result.plots`` (chart, series, value by time)."""
        if value is None:  # plot(series, value)
            chart, series, value = "Strategy Equity", chart, series
        self._qc.plots.append((self.time, str(chart), str(series), float(value)))

    def quit(self, message: str = "") -> None:
        """Stop: no further on_data calls and no new orders."""
        if message:
            self.log(message)
        self._qc.quit = True

    # ================================================================ orders
    def open_order_quantity(self, symbol: Any) -> float:
        """Signed quantity of the open orders of ``symbol`` (for target collections)."""
        return self._qc.transactions.get_open_orders_remaining_quantity(symbol)

    def _security(self, symbol: Any) -> Security:
        state = self._qc
        key = _symbol_of(symbol)
        if key not in state.securities:
            raise DataError(
                "order for a symbol that was not added; call add_equity first",
                symbol=str(key),
                parameter="symbol",
            )
        return state.securities[key]

    def _event(self, order: Order, status: OrderStatus, **fill: Any) -> OrderEvent:
        return OrderEvent(
            order.id,
            order.symbol,
            self.utc_time,
            self.time,
            status,
            order.direction,
            order.quantity,
            message=order.message,
            **fill,
        )

    def _emit(self, event: OrderEvent) -> None:
        self._qc.events.append(event)
        handler = self._handler("on_order_event")
        if handler is not None:
            handler(event)

    def _reject(self, order: Order, message: str) -> Order:
        order.status = OrderStatus.INVALID
        order.message = message
        self.error(f"Order Error: id: {order.id}, {message}")
        self._emit(self._event(order, OrderStatus.INVALID))
        return order

    def _buying_power_shortfall(self, security: Security, quantity: float) -> str | None:
        """LEAN's check at submission, against holdings and cash now (open orders not counted
        by the margin model; a cash account reserves them)."""
        state = self._qc
        price = security.price
        holding = state.portfolio[security.symbol].quantity
        fee = float(np.asarray(state.costs.fee.fee(np.array([quantity]), np.array([price])))[0])
        if state.account == AccountType.CASH:
            open_orders = state.transactions.get_open_orders(security.symbol)
            if quantity < 0:
                selling = -sum(o.quantity for o in open_orders if o.quantity < 0)
                if -quantity > holding - selling + 1e-9:
                    return (
                        f"Insufficient buying power to complete order: a cash account cannot "
                        f"sell {-quantity:g} of {security.symbol} holding {holding:g}"
                    )
                return None
            reserved = sum(
                o.quantity * o.price for o in state.transactions.get_open_orders() if o.quantity > 0
            )
            need = quantity * price + fee
            free = state.portfolio.cash - reserved
            if need > free + 1e-9:
                return (
                    f"Insufficient buying power to complete order (Value:{quantity * price:.2f}), "
                    f"Reason: cash {free:.2f} is less than the order's cost {need:.2f}"
                )
            return None
        margin = (abs(holding + quantity) - abs(holding)) * price / security.leverage
        if margin <= 0:
            return None
        free = state.portfolio.margin_remaining
        if margin + fee > free + 1e-9:
            return (
                f"Insufficient buying power to complete order (Value:{quantity * price:.2f}), "
                f"Reason: Initial Margin: {margin + fee:.2f}, Free Margin: {free:.2f}"
            )
        return None

    def _submit(self, symbol: Any, quantity: float, tag: str = "") -> Order:
        """Place one market order (market-on-open on daily bars) and send its SUBMITTED event."""
        state = self._qc
        security = self._security(symbol)
        lot = security.symbol_properties.lot_size
        quantity = float(quantity)
        rounded = math.copysign(math.floor(abs(quantity) / lot + 1e-9) * lot, quantity) + 0.0
        order = state.transactions.add(
            Order(
                0,
                security.symbol,
                rounded,
                self.time,
                security.price,
                tag,
                OrderType.MARKET_ON_OPEN,
            )
        )
        state.step_orders.append(order)
        if state.initializing:
            return self._reject(order, "orders cannot be placed in initialize")
        if state.warming_up:
            return self._reject(
                order, "This order was not sent because the algorithm is warming up"
            )
        if state.quit:
            return self._reject(order, "the algorithm has quit")
        if rounded == 0:
            return self._reject(
                order, f"order quantity {quantity:g} is less than one lot ({lot:g})"
            )
        if security.price <= 0:
            return self._reject(order, f"{security.symbol} has no price yet")
        shortfall = self._buying_power_shortfall(security, rounded)
        if shortfall is not None:
            return self._reject(order, shortfall)
        order.status = OrderStatus.SUBMITTED
        state.pending.append(order)
        self._emit(self._event(order, OrderStatus.SUBMITTED))
        return order

    def market_order(
        self, symbol: Any, quantity: float, asynchronous: bool = False, tag: str = "", **_: Any
    ) -> Order:
        """Buy (positive) or sell (negative) ``quantity``; fills at the next session."""
        return self._submit(symbol, quantity, tag)

    market_on_open_order = market_order

    def calculate_order_quantity(self, symbol: Any, target: float) -> float:
        """The order that moves ``symbol`` to ``target`` (a fraction of total portfolio value),
        sized as LEAN sizes it (buffer, fees, lots; 0 below the minimum order margin)."""
        security = self._security(symbol)
        sized = PortfolioTarget.percent(self, security.symbol, float(target), True)
        return 0.0 if sized is None else sized.quantity

    def _set_holdings_one(self, symbol: Any, percent: float, tag: str) -> list[Order]:
        security = self._security(symbol)
        self._qc.requested[str(security.symbol)] = float(percent)
        delta = self.calculate_order_quantity(security.symbol, percent)
        quantity = delta - self.open_order_quantity(security.symbol)
        if abs(quantity) <= 0:
            return []
        return [self._submit(security.symbol, quantity, tag)]

    def set_holdings(
        self,
        symbol: Any,
        percent: float | None = None,
        liquidate_existing_holdings: bool = False,
        tag: str = "",
        order_properties: Any = None,
    ) -> list[Order]:
        """Trade toward ``percent`` of total portfolio value, or toward a list of
        ``PortfolioTarget`` whose quantities are fractions.

        One symbol: sized against the portfolio now, submitted at once. A list: every order
        sized from the same snapshot, position-reducing orders first, then by value (LEAN's
        ``OrderByMarginImpact``). Returns the orders placed.
        """
        state = self._qc
        orders: list[Order] = []
        if isinstance(symbol, list | tuple):
            targets = [t for t in symbol if t is not None]
            wanted = {str(_symbol_of(t.symbol)) for t in targets}
            if liquidate_existing_holdings:
                orders += self._liquidate_except(wanted, tag)
            sized = []
            for target in targets:
                security = self._security(target.symbol)
                state.requested[str(security.symbol)] = float(target.quantity)
                delta = self.calculate_order_quantity(security.symbol, target.quantity)
                if delta != 0:
                    holding = state.portfolio[security.symbol].quantity
                    sized.append(PortfolioTarget(security.symbol, holding + delta, target.tag))
            for target in PortfolioTargetCollection(sized).order_by_margin_impact(self):
                quantity = (
                    target.quantity
                    - state.portfolio[target.symbol].quantity
                    - self.open_order_quantity(target.symbol)
                )
                if quantity != 0:
                    orders.append(self._submit(target.symbol, quantity, tag or target.tag))
            return orders
        if percent is None:
            raise ConfigError("set_holdings(symbol, percent) needs a percent", parameter="percent")
        if liquidate_existing_holdings:
            orders += self._liquidate_except({str(_symbol_of(symbol))}, tag)
        return orders + self._set_holdings_one(symbol, percent, tag)

    def _liquidate_except(self, keep: set[str], tag: str) -> list[Order]:
        out: list[Order] = []
        for symbol, holding in self._qc.portfolio.items():
            if str(symbol) not in keep and holding.quantity:
                out += self.liquidate(symbol, tag=tag or "Liquidated")
        return out

    def liquidate(self, symbol: Any = None, tag: str = "Liquidated", **_: Any) -> list[Order]:
        """Cancel the symbol's unsent orders and sell (or cover) its whole position; every
        symbol when None."""
        state = self._qc
        symbols = list(state.portfolio) if symbol is None else [self._security(symbol).symbol]
        orders: list[Order] = []
        for s in symbols:
            for cancelled in state.transactions.cancel_open_orders(s, tag):
                self._emit(self._event(cancelled, OrderStatus.CANCELED))
            state.pending = [o for o in state.pending if o.is_open]
            state.requested[str(s)] = 0.0
            quantity = state.portfolio[s].quantity
            if quantity:
                orders.append(self._submit(s, -quantity, tag))
        return orders

    def __repr__(self) -> str:
        return f"{type(self).__name__}(time={self._qc.time}, securities={len(self._qc.securities)})"
