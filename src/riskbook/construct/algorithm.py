"""What the framework needs from an algorithm, and a small concrete one.

:class:`Algorithm` is the protocol the portfolio construction models, alpha models and
:meth:`PortfolioTarget.percent` rely on. :class:`SimpleAlgorithm` satisfies it on top of a
:class:`~riskbook.MarketData` and a decision time, for tests, examples and riskbook's own use;
the LEAN shim ``riskbook.lean.QCAlgorithm`` satisfies the same protocol.

Everything an algorithm shows is point in time: prices and ``history`` come from
``data.until(time)``, so no bar stamped after ``time`` is reachable.

Examples
--------
>>> from riskbook.datasets import load_sp500
>>> algo = SimpleAlgorithm(load_sp500().select(["AAPL", "KO"]), "2020-03-16",
...                        positions={"KO": 100}, cash=50_000)
>>> round(algo.portfolio.total_portfolio_value, 2)
54093.9
>>> algo.history(["AAPL"], 2).index.get_level_values("time")[-1].date()
datetime.date(2020, 3, 16)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from riskbook.construct.insight import InsightCollection
from riskbook.construct.portfolio_construction import Resolution, SecurityChanges
from riskbook.construct.target import (
    DEFAULT_FREE_PORTFOLIO_VALUE_PERCENTAGE,
    DEFAULT_MAX_ABSOLUTE_PORTFOLIO_TARGET_PERCENTAGE,
    DEFAULT_MIN_ABSOLUTE_PORTFOLIO_TARGET_PERCENTAGE,
    DEFAULT_MINIMUM_ORDER_MARGIN_PORTFOLIO_PERCENTAGE,
    PortfolioTarget,
)
from riskbook.data.market_data import MarketData, to_datetime64
from riskbook.errors import ConfigError, DataError

__all__ = [
    "Algorithm",
    "AlgorithmSettings",
    "Holding",
    "Portfolio",
    "Security",
    "SimpleAlgorithm",
    "SymbolProperties",
]


@runtime_checkable
class Algorithm(Protocol):
    """The algorithm interface the construct framework uses.

    Attributes
    ----------
    time : datetime
        The current exchange time (naive).
    utc_time : datetime
        The same instant in UTC (naive); insights and rebalance schedules use it.
    portfolio
        Mapping symbol -> holding (``.quantity``, ``.price``, ``.holdings_value``,
        ``.invested``), plus ``.total_portfolio_value``, ``.cash`` and optionally
        ``.margin_remaining``.
    securities
        Mapping symbol -> security (``.price``, ``.has_data``, ``.is_tradable``,
        ``.symbol_properties.lot_size``, ``.fee_model`` with ``fee(quantity, price)``,
        optionally ``.leverage`` (default 1) and ``.sector``).
    settings
        ``free_portfolio_value`` (None: use the percentage), ``free_portfolio_value_percentage``,
        ``minimum_order_margin_portfolio_percentage``, ``max_/min_absolute_portfolio_target_
        percentage``, ``rebalance_portfolio_on_insight_changes`` / ``..._security_changes``
        (None: leave the model's own setting).
    insights : InsightCollection, optional
        LEAN's ``algorithm.Insights``; models fall back to their own collection without it.

    Methods
    -------
    history(symbols, periods, resolution)
        LEAN's (symbol, time) MultiIndex frame of bars at or before ``time``.
    debug(message), log(message), error(message)
        Messages.

    Notes
    -----
    Open orders are not part of the protocol: an algorithm may offer
    ``open_order_quantity(symbol)`` (the unfilled signed quantity), which
    :meth:`PortfolioTargetCollection.order_by_margin_impact` then adds to the holdings, as LEAN
    does; :class:`SimpleAlgorithm` fills at once and has no open orders.

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> isinstance(SimpleAlgorithm(load_sp500(), "2020-03-16"), Algorithm)
    True
    """

    @property
    def time(self) -> datetime: ...

    @property
    def utc_time(self) -> datetime: ...

    @property
    def portfolio(self) -> Any: ...

    @property
    def securities(self) -> Mapping[Any, Any]: ...

    @property
    def settings(self) -> Any: ...

    def history(self, symbols: Any, periods: Any, resolution: Any = ...) -> pd.DataFrame: ...

    def debug(self, message: str) -> None: ...

    def log(self, message: str) -> None: ...

    def error(self, message: str) -> None: ...


@dataclass
class AlgorithmSettings:
    """Sizing and rebalance settings with LEAN's defaults.

    Examples
    --------
    >>> AlgorithmSettings().free_portfolio_value_percentage
    0.0025
    """

    free_portfolio_value: float | None = None
    free_portfolio_value_percentage: float = DEFAULT_FREE_PORTFOLIO_VALUE_PERCENTAGE
    minimum_order_margin_portfolio_percentage: float = (
        DEFAULT_MINIMUM_ORDER_MARGIN_PORTFOLIO_PERCENTAGE
    )
    max_absolute_portfolio_target_percentage: float = (
        DEFAULT_MAX_ABSOLUTE_PORTFOLIO_TARGET_PERCENTAGE
    )
    min_absolute_portfolio_target_percentage: float = (
        DEFAULT_MIN_ABSOLUTE_PORTFOLIO_TARGET_PERCENTAGE
    )
    rebalance_portfolio_on_insight_changes: bool | None = None
    rebalance_portfolio_on_security_changes: bool | None = None


@dataclass(frozen=True)
class SymbolProperties:
    """Per-symbol trading properties: the lot size and the contract multiplier."""

    lot_size: float = 1.0
    multiplier: float = 1.0


@dataclass
class Security:
    """One tradable symbol as the algorithm sees it now (price read from the algorithm).

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> sec = SimpleAlgorithm(load_sp500(), "2020-03-16").securities["AAPL"]
    >>> sec.has_data, sec.symbol_properties.lot_size
    (True, 1.0)
    """

    symbol: Any
    _algorithm: SimpleAlgorithm = field(repr=False)
    symbol_properties: SymbolProperties = field(default_factory=SymbolProperties)
    fee_model: Any = None
    leverage: float = 1.0
    sector: Any = None
    is_tradable: bool = True

    @property
    def price(self) -> float:
        """The last close at or before the algorithm's time (0 before the first)."""
        return self._algorithm._price_of(self.symbol)

    @property
    def has_data(self) -> bool:
        return self.price > 0

    @property
    def Price(self) -> float:
        return self.price

    @property
    def Symbol(self) -> Any:
        return self.symbol


@dataclass
class Holding:
    """The position in one symbol."""

    symbol: Any
    quantity: float
    _algorithm: SimpleAlgorithm = field(repr=False)

    @property
    def price(self) -> float:
        return self._algorithm._price_of(self.symbol)

    @property
    def holdings_value(self) -> float:
        return self.quantity * self.price

    @property
    def invested(self) -> bool:
        return self.quantity != 0

    @property
    def Quantity(self) -> float:
        return self.quantity

    @property
    def Invested(self) -> bool:
        return self.invested


class Portfolio(Mapping):
    """Cash and holdings; values at the algorithm's current prices."""

    def __init__(self, algorithm: SimpleAlgorithm, cash: float) -> None:
        self._algorithm = algorithm
        self.cash = float(cash)
        self._holdings: dict[Any, Holding] = {}

    def __getitem__(self, symbol: Any) -> Holding:
        holding = self._holdings.get(symbol)
        if holding is None:
            if symbol not in self._algorithm.securities:
                raise KeyError(symbol)
            holding = self._holdings[symbol] = Holding(symbol, 0.0, self._algorithm)
        return holding

    def __iter__(self) -> Iterator[Any]:
        return iter(self._algorithm.securities)

    def __len__(self) -> int:
        return len(self._algorithm.securities)

    @property
    def total_holdings_value(self) -> float:
        return float(sum(h.holdings_value for h in self._holdings.values() if h.quantity))

    @property
    def total_portfolio_value(self) -> float:
        return self.cash + self.total_holdings_value

    @property
    def total_margin_used(self) -> float:
        return float(
            sum(
                abs(h.holdings_value) / self._algorithm.securities[s].leverage
                for s, h in self._holdings.items()
                if h.quantity
            )
        )

    @property
    def margin_remaining(self) -> float:
        return self.total_portfolio_value - self.total_margin_used

    @property
    def invested(self) -> bool:
        return any(h.quantity for h in self._holdings.values())

    @property
    def TotalPortfolioValue(self) -> float:
        return self.total_portfolio_value

    @property
    def Cash(self) -> float:
        return self.cash


class SimpleAlgorithm:
    """A point-in-time algorithm over a :class:`~riskbook.MarketData`.

    Parameters
    ----------
    data
        The bars (daily or minute); only those stamped at or before ``time`` are visible.
    time
        The current exchange time (a daily bar's date means that session's close).
    positions
        Starting quantities by symbol.
    cash
        Starting cash.
    lot_size
        One lot size for all symbols, or a mapping symbol -> lot size.
    fee_model
        A riskbook fee model; default :class:`riskbook.execute.PerShareFee` (LEAN's
        Interactive Brokers-like equity fee: $0.005 a share, $1 minimum, 0.5% maximum).
    sectors
        Mapping symbol -> sector code, for the sector weighting model (None: unknown).
    leverage
        Margin leverage of every security (LEAN's equity default is 2; it changes only which
        orders the minimum-order filter skips, since sizing cancels it out).
    time_zone
        The exchange time zone, to derive ``utc_time``.

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500(), "2020-03-16")
    >>> algo.utc_time
    datetime.datetime(2020, 3, 16, 4, 0)
    """

    def __init__(
        self,
        data: MarketData,
        time: Any,
        positions: Mapping[Any, float] | None = None,
        cash: float = 100_000.0,
        lot_size: float | Mapping[Any, float] = 1,
        fee_model: Any = None,
        sectors: Mapping[Any, Any] | None = None,
        leverage: float = 2.0,
        time_zone: str = "America/New_York",
    ) -> None:
        if fee_model is None:
            from riskbook.execute.fees import PerShareFee

            fee_model = PerShareFee()
        if leverage <= 0:
            raise ConfigError("leverage must be positive", parameter="leverage")
        self.data = data
        self.time_zone = time_zone
        self.settings = AlgorithmSettings()
        self.insights = InsightCollection()
        self.is_warming_up = False
        self.messages: list[tuple[str, str]] = []
        lots = lot_size if isinstance(lot_size, Mapping) else {}
        sectors = dict(sectors or {})
        unknown = [s for s in [*lots, *sectors, *(positions or {})] if s not in data.symbols]
        if unknown:
            raise DataError("symbol not in the data", symbol=str(unknown[0]), parameter="symbols")
        default_lot = 1.0 if isinstance(lot_size, Mapping) else float(lot_size)
        self.securities: dict[Any, Security] = {
            s: Security(
                s,
                self,
                SymbolProperties(float(lots.get(s, default_lot))),
                fee_model,
                float(leverage),
                sectors.get(s),
            )
            for s in data.symbols
        }
        self._column = {s: i for i, s in enumerate(data.symbols)}
        self.portfolio = Portfolio(self, cash)
        self.set_time(time)
        for symbol, quantity in (positions or {}).items():
            self.portfolio[symbol].quantity = float(quantity)

    # ----------------------------------------------------------------- time
    def set_time(self, time: Any) -> None:
        """Move the algorithm to ``time`` (prices and history follow)."""
        self._view = self.data.until(time)
        self._time = pd.Timestamp(to_datetime64(time, parameter="time")).to_pydatetime()
        close = self._view.close
        prices = np.zeros(len(self.data.symbols))
        if len(close):
            prices = np.array(close[-1], dtype=float)
            missing = np.flatnonzero(~np.isfinite(prices))
            if len(missing):  # delisted (last known close) or not listed yet (0)
                sub = close[:, missing]
                seen = np.isfinite(sub)
                last = len(sub) - 1 - np.argmax(seen[::-1], axis=0)
                has = seen.any(axis=0)
                prices[missing] = np.where(has, sub[last, np.arange(len(missing))], 0.0)
        self._prices = prices

    @property
    def time(self) -> datetime:
        return self._time

    @property
    def utc_time(self) -> datetime:
        ts = pd.Timestamp(self._time).tz_localize(self.time_zone).tz_convert("UTC")
        return ts.tz_localize(None).to_pydatetime()

    def _price_of(self, symbol: Any) -> float:
        return float(self._prices[self._column[symbol]])

    # ----------------------------------------------------------------- history
    def history(
        self,
        symbols: Any,
        periods: int | timedelta,
        resolution: Resolution | None = Resolution.DAILY,
    ) -> pd.DataFrame:
        """The last bars at or before ``time`` in LEAN's layout.

        Parameters
        ----------
        symbols
            One symbol or several.
        periods
            A number of bars (the last ``periods`` bars of the data's calendar, each symbol
            keeping only the bars it has) or a ``timedelta`` (bars stamped within it).
        resolution
            ``Resolution.DAILY`` (daily bars; minute data is aggregated, completed sessions
            only) or ``Resolution.MINUTE`` on minute data. None means the data's own.

        Returns
        -------
        pandas.DataFrame
            Index ``(symbol, time)``, columns ``open, high, low, close, volume`` (those the data
            has), ``time`` being riskbook's bar stamp (a daily bar's session date).

        Examples
        --------
        >>> from riskbook.datasets import load_sp500
        >>> algo = SimpleAlgorithm(load_sp500(), "2020-03-16")
        >>> algo.history("AAPL", 3).close.round(2).tolist()
        [60.76, 68.04, 59.29]
        """
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        for s in names:
            if s not in self._column:
                raise DataError("unknown symbol", symbol=str(s), parameter="symbols")
        source = self._source(resolution)
        dates = source.dates
        fields = [f for f in ("open", "high", "low", "close", "volume") if f in source.fields]
        if isinstance(periods, timedelta | pd.Timedelta):
            start = to_datetime64(self._time) - pd.Timedelta(periods).to_timedelta64()
            rows = slice(int(np.searchsorted(dates, start, side="right")), len(dates))
        else:
            if int(periods) < 0:
                raise ConfigError("periods must be >= 0", parameter="periods")
            rows = slice(max(0, len(dates) - int(periods)), len(dates))
        frames = []
        index = {s: i for i, s in enumerate(source.symbols)}
        for s in names:
            col = index[s]
            values = {f: source.field(f)[rows, col] for f in fields}
            keep = np.isfinite(values["close"])
            frame = pd.DataFrame(
                {f: v[keep] for f, v in values.items()},
                index=pd.MultiIndex.from_arrays(
                    [
                        np.full(int(keep.sum()), s, dtype=object),
                        pd.DatetimeIndex(dates[rows][keep]),
                    ],
                    names=["symbol", "time"],
                ),
            )
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=fields)
        return pd.concat(frames)

    def _source(self, resolution: Resolution | None) -> Any:
        frequency = self.data.frequency
        if resolution is None:
            resolution = Resolution.DAILY if frequency == "daily" else Resolution.MINUTE
        resolution = Resolution(resolution)
        view = self._view
        if resolution == Resolution.DAILY and frequency == "minute":
            daily = view.daily()
            return _FieldView(daily.dates, daily.symbols, daily.fields, lambda f: getattr(daily, f))
        if (resolution == Resolution.DAILY and frequency == "daily") or (
            resolution == Resolution.MINUTE and frequency == "minute"
        ):
            # the view's arrays are read-only windows: no copy of the history per call
            return _FieldView(view.dates, view.symbols, self.data.fields, view.field)
        raise ConfigError(
            f"{resolution.name} history is not available from {frequency} data",
            parameter="resolution",
        )

    # ----------------------------------------------------------------- portfolio helpers
    def set_quantity(self, symbol: Any, quantity: float) -> None:
        """Set a holding directly (no cash moves)."""
        self.portfolio[symbol].quantity = float(quantity)

    def fill_targets(self, targets: Iterable[PortfolioTarget]) -> float:
        """Trade to the targets at the current prices, paying fees from cash; returns the fees.

        Examples
        --------
        >>> from riskbook.datasets import load_sp500
        >>> algo = SimpleAlgorithm(load_sp500(), "2020-03-16")
        >>> algo.fill_targets([PortfolioTarget("AAPL", 10)])
        1.0
        """
        fees = 0.0
        for target in targets:
            security = self.securities[target.symbol]
            holding = self.portfolio[target.symbol]
            delta = target.quantity - holding.quantity
            if delta == 0:
                continue
            price = security.price
            fee = float(
                np.asarray(security.fee_model.fee(np.array([delta]), np.array([price]))).ravel()[0]
            )
            self.portfolio.cash -= delta * price + fee
            holding.quantity = target.quantity
            fees += fee
        return fees

    def security_changes(
        self, added: Iterable[Any] = (), removed: Iterable[Any] = ()
    ) -> SecurityChanges:
        """A :class:`SecurityChanges` holding this algorithm's security objects."""
        return SecurityChanges(
            [self.securities[s] for s in added], [self.securities[s] for s in removed]
        )

    # ----------------------------------------------------------------- messages
    def debug(self, message: str) -> None:
        self.messages.append(("debug", str(message)))

    def log(self, message: str) -> None:
        self.messages.append(("log", str(message)))

    def error(self, message: str) -> None:
        self.messages.append(("error", str(message)))

    @property
    def errors(self) -> list[str]:
        """The error messages logged so far."""
        return [m for level, m in self.messages if level == "error"]

    def __repr__(self) -> str:
        return (
            f"SimpleAlgorithm(time={self._time}, symbols={len(self.securities)}, "
            f"tpv={self.portfolio.total_portfolio_value:.2f})"
        )

    # LEAN's spellings
    @property
    def Time(self) -> datetime:
        return self.time

    @property
    def UtcTime(self) -> datetime:
        return self.utc_time

    @property
    def Portfolio(self) -> Portfolio:
        return self.portfolio

    @property
    def Securities(self) -> dict[Any, Security]:
        return self.securities

    @property
    def Insights(self) -> InsightCollection:
        return self.insights

    History = history
    Debug = debug
    Log = log
    Error = error


class _FieldView:
    """Bars of one resolution: dates, symbols, field names and a field accessor."""

    def __init__(self, dates: np.ndarray, symbols: tuple, fields: tuple, getter: Any) -> None:
        self.dates = dates
        self.symbols = symbols
        self.fields = fields
        self.field = getter
