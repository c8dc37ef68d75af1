"""Orders, tickets and order events, with LEAN's names.

An order placed in ``on_data`` is *submitted* at once (an event with status SUBMITTED, or
INVALID when the buying-power check at submission fails) and *filled* when the next session's
bar is processed: its FILLED (or INVALID) event reaches ``on_order_event`` before the next
``on_data``, as in a LEAN daily backtest.

Examples
--------
>>> from datetime import datetime
>>> order = Order(1, "KO", 10.0, datetime(2020, 3, 16, 16), price=50.0)
>>> order.status.name, order.direction.name, order.is_open
('NEW', 'BUY', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from riskbook.lean._names import LeanNames

__all__ = [
    "Order",
    "OrderDirection",
    "OrderEvent",
    "OrderStatus",
    "OrderTicket",
    "OrderType",
    "Transactions",
]


class OrderStatus(IntEnum):
    """LEAN's order statuses (values as in LEAN)."""

    NEW = 0
    SUBMITTED = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 5
    NONE = 6
    INVALID = 7
    CANCEL_PENDING = 8
    UPDATE_SUBMITTED = 9

    New = 0
    Submitted = 1
    PartiallyFilled = 2
    Filled = 3
    Canceled = 5
    Invalid = 7

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)


class OrderDirection(IntEnum):
    """Buy, sell or hold (a zero quantity)."""

    BUY = 0
    SELL = 1
    HOLD = 2

    Buy = 0
    Sell = 1
    Hold = 2


class OrderType(IntEnum):
    """LEAN's order types; riskbook.lean places market orders (market-on-open on daily data)."""

    MARKET = 0
    LIMIT = 1
    STOP_MARKET = 2
    STOP_LIMIT = 3
    MARKET_ON_OPEN = 4
    MARKET_ON_CLOSE = 5

    Market = 0
    MarketOnOpen = 4
    MarketOnClose = 5


def _direction(quantity: float) -> OrderDirection:
    if quantity > 0:
        return OrderDirection.BUY
    return OrderDirection.SELL if quantity < 0 else OrderDirection.HOLD


@dataclass(eq=False)
class Order(LeanNames):
    """One order and its state; also serves as its own ticket.

    Attributes
    ----------
    id, symbol, quantity
        LEAN's fields (quantity signed).
    time
        Submission time (exchange time).
    price
        The security's price at submission.
    status, quantity_filled, average_fill_price, fee
        Updated when the fill is processed.
    tag
        Free text given with the order.
    """

    id: int
    symbol: Any
    quantity: float
    time: datetime
    price: float = 0.0
    tag: str = ""
    type: OrderType = OrderType.MARKET_ON_OPEN
    status: OrderStatus = OrderStatus.NEW
    quantity_filled: float = 0.0
    average_fill_price: float = 0.0
    fee: float = 0.0
    fill_time: datetime | None = None
    message: str = ""
    # the batch (decision) the order was sent with; -1 until sent
    batch: int = field(default=-1, repr=False)

    @property
    def order_id(self) -> int:
        return self.id

    @property
    def direction(self) -> OrderDirection:
        return _direction(self.quantity)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def order_type(self) -> OrderType:
        return self.type

    @property
    def value(self) -> float:
        """Quantity times the submission price."""
        return self.quantity * self.price

    @property
    def quantity_remaining(self) -> float:
        return self.quantity - self.quantity_filled

    @property
    def created_time(self) -> datetime:
        return self.time

    def cancel(self, tag: str = "") -> bool:
        """Cancel if still open (only orders of the current time step can be); True if done."""
        if self.status.is_open and self.batch < 0:
            self.status = OrderStatus.CANCELED
            if tag:
                self.message = tag
            return True
        return False

    def __str__(self) -> str:
        return (
            f"OrderId: {self.id} {self.status.name} {self.type.name} order for "
            f"{self.quantity:g} units of {self.symbol}"
        )


#: LEAN returns an ``OrderTicket`` from order methods; here the order object is the ticket.
OrderTicket = Order


@dataclass(frozen=True)
class OrderEvent(LeanNames):
    """What ``on_order_event`` receives.

    ``fill_price`` and ``fill_quantity`` are those of this event (0 for SUBMITTED / INVALID /
    CANCELED); ``order_fee`` is the fee in account currency (a number, not LEAN's OrderFee
    object).
    """

    order_id: int
    symbol: Any
    utc_time: datetime
    time: datetime
    status: OrderStatus
    direction: OrderDirection
    quantity: float
    fill_price: float = 0.0
    fill_quantity: float = 0.0
    order_fee: float = 0.0
    message: str = ""

    @property
    def absolute_fill_quantity(self) -> float:
        return abs(self.fill_quantity)

    @property
    def is_assignment(self) -> bool:
        return False

    def __str__(self) -> str:
        text = (
            f"Time: {self.time:%Y-%m-%d %H:%M:%S} OrderID: {self.order_id} Symbol: {self.symbol} "
            f"Status: {self.status.name} Quantity: {self.quantity:g}"
        )
        if self.fill_quantity:
            text += (
                f" FillQuantity: {self.fill_quantity:g} FillPrice: {self.fill_price:.4f} "
                f"OrderFee: {self.order_fee:.2f}"
            )
        if self.message:
            text += f" Message: {self.message}"
        return text


class Transactions(LeanNames):
    """LEAN's ``algorithm.transactions``: the order book of one run.

    Examples
    --------
    >>> book = Transactions()
    >>> o = book.add(Order(0, "KO", 5.0, datetime(2020, 1, 2, 16)))
    >>> o.id, [x.id for x in book.get_open_orders("KO")], book.get_open_orders_remaining_quantity("KO")
    (1, [1], 5.0)
    """

    def __init__(self) -> None:
        self._orders: dict[int, Order] = {}

    def add(self, order: Order) -> Order:
        """Give the order the next id and keep it."""
        order.id = len(self._orders) + 1
        self._orders[order.id] = order
        return order

    def _match(self, order: Order, symbol: Any) -> bool:
        return symbol is None or order.symbol == symbol

    def get_open_orders(self, symbol: Any = None) -> list[Order]:
        """Open orders (all, or of one symbol), oldest first."""
        return [o for o in self._orders.values() if o.is_open and self._match(o, symbol)]

    def get_open_order_tickets(self, symbol: Any = None) -> list[Order]:
        return self.get_open_orders(symbol)

    def get_open_orders_remaining_quantity(self, symbol: Any) -> float:
        """Signed quantity of the open orders of ``symbol`` still to fill."""
        return float(sum(o.quantity_remaining for o in self.get_open_orders(symbol)))

    def get_orders(self, predicate: Any = None) -> list[Order]:
        """Every order, optionally filtered by ``predicate(order)``."""
        orders = list(self._orders.values())
        return orders if predicate is None else [o for o in orders if predicate(o)]

    def get_order_tickets(self, predicate: Any = None) -> list[Order]:
        return self.get_orders(predicate)

    def get_order_by_id(self, order_id: int) -> Order | None:
        return self._orders.get(int(order_id))

    def get_order_ticket(self, order_id: int) -> Order | None:
        return self.get_order_by_id(order_id)

    def cancel_open_orders(self, symbol: Any = None, tag: str = "") -> list[Order]:
        """Cancel the open orders not yet sent; returns those cancelled."""
        return [o for o in self.get_open_orders(symbol) if o.cancel(tag)]

    @property
    def orders_count(self) -> int:
        return len(self._orders)

    def __len__(self) -> int:
        return len(self._orders)

    def __iter__(self):
        return iter(self._orders.values())
