"""Fee models: what a broker charges for an order, vectorised over orders.

A fee model is any object with ``fee(quantity, price) -> ndarray`` where both arguments are
arrays of the same shape (shares, signed or not, and the fill price per share).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from riskbook.errors import ConfigError


class FeeModel(Protocol):
    def fee(self, quantity: np.ndarray, price: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class NoFee:
    """No fees."""

    def fee(self, quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(quantity))


@dataclass(frozen=True)
class PerShareFee:
    """A fee per share with a minimum and a maximum per order (Interactive Brokers-like).

    The defaults are US equities' fixed tier: $0.005 a share, at least $1, at most 0.5% of the
    order's value.

    Examples
    --------
    >>> import numpy as np
    >>> PerShareFee().fee(np.array([10, 1000, 100_000]), np.array([50.0, 50.0, 0.5])).tolist()
    [1.0, 5.0, 250.0]
    """

    per_share: float = 0.005
    minimum: float = 1.0
    maximum_pct: float = 0.005

    def __post_init__(self) -> None:
        if min(self.per_share, self.minimum, self.maximum_pct) < 0:
            raise ConfigError("fee parameters must be >= 0", parameter="PerShareFee")

    def fee(self, quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
        shares = np.abs(np.asarray(quantity, dtype=float))
        value = shares * np.asarray(price, dtype=float)
        raw = np.maximum(shares * self.per_share, self.minimum)
        return np.where(shares > 0, np.minimum(raw, value * self.maximum_pct), 0.0)


@dataclass(frozen=True)
class BpsFee:
    """A fee in basis points of the traded value.

    Examples
    --------
    >>> import numpy as np
    >>> BpsFee(10).fee(np.array([-100.0]), np.array([20.0])).tolist()
    [2.0]
    """

    bps: float

    def __post_init__(self) -> None:
        if self.bps < 0:
            raise ConfigError("bps must be >= 0", parameter="BpsFee.bps")

    def fee(self, quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
        return (
            np.abs(np.asarray(quantity, dtype=float))
            * np.asarray(price, dtype=float)
            * self.bps
            * 1e-4
        )


@dataclass(frozen=True)
class FixedFee:
    """A fixed amount per order (charged only when something trades)."""

    amount: float

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ConfigError("amount must be >= 0", parameter="FixedFee.amount")

    def fee(self, quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(quantity) != 0, self.amount, 0.0)
