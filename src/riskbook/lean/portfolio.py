"""Securities, holdings, the portfolio and settings as a LEAN algorithm sees them.

Prices are the last closes at or before the algorithm's time (held in a :class:`Quotes`
object the algorithm moves forward); holdings and cash are the engine's, updated fill by fill
when order events are delivered.

Examples
--------
>>> quotes = Quotes(("KO",))
>>> quotes.prices[:] = 50.0
>>> portfolio = SecurityPortfolioManager(100_000.0)
>>> sec = Security("KO", quotes, portfolio)
>>> portfolio.add_security(sec)
>>> portfolio["KO"].apply_fill(100, 50.0, 1.0)
>>> portfolio.cash, portfolio["KO"].holdings_value, portfolio.total_portfolio_value
(94999.0, 5000.0, 99999.0)
>>> portfolio["KO"].Quantity, portfolio.Invested
(100.0, True)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from riskbook.construct.algorithm import AlgorithmSettings, SymbolProperties
from riskbook.construct.portfolio_construction import Resolution
from riskbook.lean._names import LeanNames

__all__ = [
    "AccountType",
    "BrokerageName",
    "DataNormalizationMode",
    "Quotes",
    "Securities",
    "Security",
    "SecurityHolding",
    "SecurityPortfolioManager",
    "Settings",
    "UniverseSettings",
]


class AccountType(IntEnum):
    """LEAN's account types: MARGIN (equity leverage 2, shorts allowed) or CASH."""

    MARGIN = 0
    CASH = 1

    Margin = 0
    Cash = 1


class BrokerageName(IntEnum):
    """Brokerage names accepted by ``set_brokerage_model`` (only the account type matters)."""

    DEFAULT = 0
    INTERACTIVE_BROKERS_BROKERAGE = 1
    QUANTCONNECT_BROKERAGE = 2

    Default = 0
    InteractiveBrokersBrokerage = 1
    QuantConnectBrokerage = 2


class DataNormalizationMode(IntEnum):
    """Accepted and ignored: the bundled prices are already split- and dividend-adjusted."""

    RAW = 0
    ADJUSTED = 1
    SPLIT_ADJUSTED = 2
    TOTAL_RETURN = 3

    Raw = 0
    Adjusted = 1
    SplitAdjusted = 2
    TotalReturn = 3


class Quotes:
    """The current prices, one per symbol (0 before a symbol's first bar)."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self.symbols = symbols
        self.column = {s: i for i, s in enumerate(symbols)}
        self.prices = np.zeros(len(symbols))
        self.has_bar = np.zeros(len(symbols), dtype=bool)  # a bar at the current time

    def price(self, symbol: Any) -> float:
        i = self.column.get(symbol)
        return 0.0 if i is None else float(self.prices[i])


@dataclass
class _Exchange(LeanNames):
    """Daily bars arrive at 16:00 when the exchange is closed (orders become market-on-open)."""

    exchange_open: bool = False


class Security(LeanNames):
    """One added security.

    Attributes
    ----------
    symbol
        Its :class:`~riskbook.lean.Symbol`.
    price
        The last close at or before the algorithm's time (0 before the first bar).
    fee_model
        The fee model the engine charges (LEAN's IB fee by default), used in sizing too.
    leverage
        Margin leverage (2 on a margin account, 1 on a cash account).
    """

    def __init__(
        self,
        symbol: Any,
        quotes: Quotes,
        portfolio: SecurityPortfolioManager,
        *,
        fee_model: Any = None,
        leverage: float = 2.0,
        resolution: Resolution = Resolution.DAILY,
    ) -> None:
        self.symbol = symbol
        self._quotes = quotes
        self._portfolio = portfolio
        self.fee_model = fee_model
        self.leverage = float(leverage)
        self.resolution = resolution
        self.symbol_properties = SymbolProperties()
        self.is_tradable = True
        self.exchange = _Exchange()
        self.data_normalization_mode = DataNormalizationMode.ADJUSTED

    @property
    def price(self) -> float:
        return self._quotes.price(self.symbol)

    @property
    def close(self) -> float:
        return self.price

    @property
    def has_data(self) -> bool:
        return self.price > 0

    @property
    def holdings(self) -> SecurityHolding:
        return self._portfolio[self.symbol]

    @property
    def invested(self) -> bool:
        return self.holdings.invested

    @property
    def type(self) -> int:
        return 1  # SecurityType.EQUITY

    def set_leverage(self, leverage: float) -> None:
        self.leverage = float(leverage)

    def set_fee_model(self, model: Any) -> None:
        """A riskbook fee model (``fee(quantity, price)`` on arrays), used for sizing only: the
        engine charges the run's ``costs``."""
        self.fee_model = model

    def set_data_normalization_mode(self, mode: Any) -> None:
        self.data_normalization_mode = mode

    def __repr__(self) -> str:
        return f"Security({self.symbol!s}, price={self.price:g})"


class SecurityHolding(LeanNames):
    """The position in one security (LEAN's ``SecurityHolding``)."""

    def __init__(self, security: Security) -> None:
        self._security = security
        self.symbol = security.symbol
        self.quantity = 0.0
        self.average_price = 0.0
        self.total_fees = 0.0
        self.net_profit = 0.0  # realised, before fees

    @property
    def price(self) -> float:
        return self._security.price

    @property
    def holdings_value(self) -> float:
        return self.quantity * self.price if self.quantity else 0.0

    @property
    def absolute_holdings_value(self) -> float:
        return abs(self.holdings_value)

    @property
    def holdings_cost(self) -> float:
        return self.quantity * self.average_price

    @property
    def unrealized_profit(self) -> float:
        return (self.price - self.average_price) * self.quantity if self.quantity else 0.0

    @property
    def absolute_quantity(self) -> float:
        return abs(self.quantity)

    @property
    def invested(self) -> bool:
        return self.quantity != 0

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    @property
    def is_short(self) -> bool:
        return self.quantity < 0

    def apply_fill(self, quantity: float, price: float, fee: float) -> None:
        """Book a fill: average price as LEAN keeps it, realised profit, fees and cash."""
        q0, q = self.quantity, float(quantity)
        q1 = q0 + q
        if q0 == 0 or q0 * q > 0:  # opening or adding
            self.average_price = (self.average_price * abs(q0) + price * abs(q)) / abs(q1)
        else:  # reducing, closing or flipping
            closed = min(abs(q), abs(q0))
            self.net_profit += (price - self.average_price) * closed * np.sign(q0)
            if q1 == 0:
                self.average_price = 0.0
            elif q1 * q0 < 0:
                self.average_price = float(price)
        self.quantity = q1 + 0.0
        self.total_fees += float(fee)
        self._security._portfolio.cash -= q * price + float(fee)
        self._security._portfolio.total_fees += float(fee)

    def __repr__(self) -> str:
        return f"{self.symbol!s}: {self.quantity:g} @ {self.average_price:.4f}"


class SecurityPortfolioManager(LeanNames, Mapping):
    """``algorithm.portfolio``: cash and one holding per added security.

    ``margin_remaining`` is LEAN's: total portfolio value minus the margin the holdings use
    (``|value| / leverage`` each).
    """

    def __init__(self, cash: float = 100_000.0) -> None:
        self.cash = float(cash)
        self.total_fees = 0.0
        self._holdings: dict[Any, SecurityHolding] = {}

    def add_security(self, security: Security) -> None:
        self._holdings.setdefault(security.symbol, SecurityHolding(security))

    def __getitem__(self, symbol: Any) -> SecurityHolding:
        return self._holdings[symbol]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._holdings)

    def __len__(self) -> int:
        return len(self._holdings)

    def contains_key(self, symbol: Any) -> bool:
        return symbol in self._holdings

    @property
    def total_holdings_value(self) -> float:
        return float(sum(h.holdings_value for h in self._holdings.values()))

    @property
    def total_absolute_holdings_value(self) -> float:
        return float(sum(h.absolute_holdings_value for h in self._holdings.values()))

    @property
    def total_portfolio_value(self) -> float:
        return self.cash + self.total_holdings_value

    @property
    def total_unrealized_profit(self) -> float:
        return float(sum(h.unrealized_profit for h in self._holdings.values()))

    @property
    def total_unrealised_profit(self) -> float:
        return self.total_unrealized_profit

    @property
    def total_margin_used(self) -> float:
        return float(
            sum(
                abs(h.holdings_value) / h._security.leverage
                for h in self._holdings.values()
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
    def hold_stock(self) -> bool:
        return self.invested

    def __repr__(self) -> str:
        held = ", ".join(repr(h) for h in self._holdings.values() if h.quantity)
        return f"Portfolio(cash={self.cash:.2f}, tpv={self.total_portfolio_value:.2f}; {held})"


class Securities(LeanNames, Mapping):
    """``algorithm.securities``: symbol -> :class:`Security`, in the order they were added."""

    def __init__(self) -> None:
        self._items: dict[Any, Security] = {}

    def add(self, security: Security) -> None:
        self._items[security.symbol] = security

    def __getitem__(self, symbol: Any) -> Security:
        return self._items[symbol]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def contains_key(self, symbol: Any) -> bool:
        return symbol in self._items


class Settings(LeanNames, AlgorithmSettings):
    """``algorithm.settings`` with LEAN's defaults; both spellings read and write.

    Examples
    --------
    >>> s = Settings()
    >>> s.MinimumOrderMarginPortfolioPercentage = 0
    >>> s.minimum_order_margin_portfolio_percentage, s.FreePortfolioValuePercentage
    (0, 0.0025)
    """


class UniverseSettings(LeanNames):
    """``algorithm.universe_settings``: kept for compatibility (riskbook's universe is the
    securities added in ``initialize``; the resolution is the data's)."""

    def __init__(self) -> None:
        self.resolution = Resolution.DAILY
        self.leverage = 2.0
        self.fill_forward = True
        self.extended_market_hours = False
        self.data_normalization_mode = DataNormalizationMode.ADJUSTED
        self.minimum_time_in_universe = None
