"""`Costs`: the fee and slippage models a backtest applies, in one swappable object."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from riskbook.errors import ConfigError
from riskbook.execute.fees import BpsFee, FeeModel, NoFee, PerShareFee
from riskbook.execute.slippage import NoSlippage, SlippageModel


@dataclass(frozen=True)
class Costs:
    """Fees and slippage applied to every fill.

    Examples
    --------
    >>> from riskbook.execute import Costs, PerShareFee, FixedBpsSlippage
    >>> Costs(fee=PerShareFee(), slippage=FixedBpsSlippage(2)).fee.minimum
    1.0
    """

    fee: FeeModel = field(default_factory=NoFee)
    slippage: SlippageModel = field(default_factory=NoSlippage)

    @classmethod
    def resolve(cls, costs: Any) -> Costs:
        """None (no costs), a Costs, a fee model, ``"ib"`` or a number of basis points."""
        if costs is None:
            return cls()
        if isinstance(costs, Costs):
            return costs
        if isinstance(costs, str):
            if costs == "ib":
                return cls(fee=PerShareFee())
            raise ConfigError(
                f"unknown costs preset {costs!r}; use 'ib' or a Costs object", parameter="costs"
            )
        if isinstance(costs, int | float):
            return cls(fee=BpsFee(float(costs)))
        if hasattr(costs, "fee"):
            return cls(fee=costs)
        if hasattr(costs, "price"):
            return cls(slippage=costs)
        raise ConfigError(f"cannot use {costs!r} as costs", parameter="costs")

    def expected(
        self,
        quantity: np.ndarray,
        price: np.ndarray,
        volume: np.ndarray | None = None,
    ) -> np.ndarray:
        """Expected cost of trading ``quantity`` shares at ``price``: fee plus slippage, in cash.

        The same models the engine charges at fill, so a pre-trade estimate (the book's cost
        gate) and the backtest's bill agree. Zero quantities cost nothing.

        Examples
        --------
        >>> import numpy as np
        >>> from riskbook.execute import Costs, PerShareFee, FixedBpsSlippage
        >>> c = Costs(fee=PerShareFee(), slippage=FixedBpsSlippage(2))
        >>> c.expected(np.array([100.0, -10.0, 0.0]), np.array([50.0, 50.0, 50.0])).round(4).tolist()
        [2.0, 1.1, 0.0]
        """
        q = np.asarray(quantity, dtype=float)
        p = np.asarray(price, dtype=float)
        trading = q != 0
        fee = np.where(trading, self.fee.fee(q, p), 0.0)
        vol = None if volume is None or not self.slippage.needs_volume else volume
        slip = np.abs(np.asarray(self.slippage.price(q, p, vol), dtype=float) - p) * np.abs(q)
        return fee + np.where(trading, slip, 0.0)

    @cached_property
    def is_free(self) -> bool:
        """True when neither fees nor slippage apply (lets hot paths skip them)."""
        return isinstance(self.fee, NoFee) and isinstance(self.slippage, NoSlippage)


__all__ = ["Costs"]
