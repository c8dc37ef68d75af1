"""`Costs`: the fee and slippage models a backtest applies, in one swappable object."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

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

    @cached_property
    def is_free(self) -> bool:
        """True when neither fees nor slippage apply (lets hot paths skip them)."""
        return isinstance(self.fee, NoFee) and isinstance(self.slippage, NoSlippage)


__all__ = ["Costs"]
