"""Slippage models: the executed price as a function of the reference fill price.

A slippage model is any object with ``price(quantity, reference, volume) -> ndarray`` returning
the executed price per share: above the reference for buys (quantity > 0), below it for sells.
``volume`` is the fill bar's volume (None when the data has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from riskbook.errors import ConfigError, DataError


class SlippageModel(Protocol):
    needs_volume: bool

    def price(
        self, quantity: np.ndarray, reference: np.ndarray, volume: np.ndarray | None
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class NoSlippage:
    """Fill at the reference price."""

    needs_volume: bool = False

    def price(self, quantity, reference, volume=None):
        return np.asarray(reference, dtype=float)


@dataclass(frozen=True)
class FixedBpsSlippage:
    """Pay ``bps`` basis points over the reference on buys, receive that much less on sells.

    Examples
    --------
    >>> import numpy as np
    >>> FixedBpsSlippage(10).price(np.array([5.0, -5.0]), np.array([100.0, 100.0])).tolist()
    [100.1, 99.9]
    """

    bps: float
    needs_volume: bool = False

    def __post_init__(self) -> None:
        if self.bps < 0:
            raise ConfigError("bps must be >= 0", parameter="FixedBpsSlippage.bps")

    def price(self, quantity, reference, volume=None):
        return np.asarray(reference, dtype=float) * (1.0 + np.sign(quantity) * self.bps * 1e-4)


@dataclass(frozen=True)
class HalfSpreadSlippage:
    """Cross half of a quoted spread (given in basis points of the price)."""

    spread_bps: float
    needs_volume: bool = False

    def __post_init__(self) -> None:
        if self.spread_bps < 0:
            raise ConfigError("spread_bps must be >= 0", parameter="HalfSpreadSlippage.spread_bps")

    def price(self, quantity, reference, volume=None):
        return np.asarray(reference, dtype=float) * (
            1.0 + np.sign(quantity) * 0.5 * self.spread_bps * 1e-4
        )


@dataclass(frozen=True)
class VolumeShareSlippage:
    """Square-root market impact: the price moves by ``impact * sqrt(|quantity| / volume)``.

    ``impact`` is the relative price move for an order the size of the whole bar's volume
    (0.1 = 10%); an order of 1% of the bar's volume moves the price by ``impact * 0.1``. Needs
    volume; a zero-volume bar is a DataError, as no order can be filled there.
    """

    impact: float = 0.1
    needs_volume: bool = True

    def __post_init__(self) -> None:
        if self.impact < 0:
            raise ConfigError("impact must be >= 0", parameter="VolumeShareSlippage.impact")

    def price(self, quantity, reference, volume=None):
        if volume is None:
            raise DataError(
                "VolumeShareSlippage needs volume; the data has none", parameter="volume"
            )
        q = np.abs(np.asarray(quantity, dtype=float))
        vol = np.asarray(volume, dtype=float)
        if ((q > 0) & ~(vol > 0)).any():
            raise DataError(
                "an order on a bar with zero volume cannot be filled", parameter="volume"
            )
        share = np.divide(q, vol, out=np.zeros_like(q), where=vol > 0)
        move = self.impact * np.sqrt(share)
        return np.asarray(reference, dtype=float) * (1.0 + np.sign(quantity) * move)
