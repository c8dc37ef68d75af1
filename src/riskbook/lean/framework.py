"""The framework pieces riskbook.construct does not have: risk management, execution, universe.

With ``set_alpha`` / ``set_portfolio_construction`` an algorithm runs LEAN's framework loop after
each ``on_data``: the alpha model's insights go to ``algorithm.insights``, the portfolio
construction model turns them into targets, the risk management model may override some, and
the execution model places the orders. The defaults are LEAN's: no risk management and
:class:`ImmediateExecutionModel`.

Examples
--------
>>> NullRiskManagementModel().manage_risk(None, [])
[]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from riskbook.construct.target import PortfolioTarget, PortfolioTargetCollection
from riskbook.lean.symbols import Symbol

__all__ = [
    "ExecutionModel",
    "ImmediateExecutionModel",
    "ManualUniverseSelectionModel",
    "NullExecutionModel",
    "NullRiskManagementModel",
    "RiskManagementModel",
    "unordered_quantity",
]


def call_model(model: Any, snake: str, camel: str, *args: Any) -> Any:
    """Call a model's method by either spelling (a user's subclass may define only ``Execute``)."""
    for cls in type(model).__mro__:
        for name in (snake, camel):
            if name in cls.__dict__:
                return getattr(model, name)(*args)
    raise AttributeError(f"{type(model).__name__} has neither {snake} nor {camel}")


class RiskManagementModel:
    """Base of risk management models: ``manage_risk`` returns targets that override the
    portfolio construction model's (none here)."""

    def manage_risk(self, algorithm: Any, targets: list[PortfolioTarget]) -> list[PortfolioTarget]:
        return []

    def on_securities_changed(self, algorithm: Any, changes: Any) -> None:
        """React to universe changes (nothing in the base class)."""

    def ManageRisk(self, algorithm: Any, targets: list[PortfolioTarget]) -> list[PortfolioTarget]:
        return self.manage_risk(algorithm, targets)


class NullRiskManagementModel(RiskManagementModel):
    """LEAN's default: no risk management."""


class ExecutionModel:
    """Base of execution models: ``execute(algorithm, targets)`` places orders."""

    def execute(self, algorithm: Any, targets: list[PortfolioTarget]) -> None:
        """Place no order."""

    def on_securities_changed(self, algorithm: Any, changes: Any) -> None:
        """React to universe changes (nothing in the base class)."""

    def Execute(self, algorithm: Any, targets: list[PortfolioTarget]) -> None:
        self.execute(algorithm, targets)


class NullExecutionModel(ExecutionModel):
    """Places no orders."""


def unordered_quantity(algorithm: Any, target: PortfolioTarget) -> float:
    """LEAN's ``OrderSizing.GetUnorderedQuantity``: target minus holdings minus open orders,
    truncated to whole lots.

    Examples
    --------
    >>> from riskbook.construct import SimpleAlgorithm
    >>> from riskbook.data import MarketData
    >>> md = MarketData.from_arrays(["2024-01-02"], ["A"], close=[[10.0]])
    >>> unordered_quantity(SimpleAlgorithm(md, "2024-01-02", positions={"A": 3}),
    ...                    PortfolioTarget("A", 10.5))
    7.0
    """
    holding = algorithm.portfolio[target.symbol].quantity
    open_quantity = getattr(algorithm, "open_order_quantity", None)
    if callable(open_quantity):
        holding += open_quantity(target.symbol)
    security = algorithm.securities[target.symbol]
    lot = float(getattr(getattr(security, "symbol_properties", None), "lot_size", 1.0) or 1.0)
    delta = target.quantity - holding
    return math.copysign(math.floor(abs(delta) / lot + 1e-9) * lot, delta) + 0.0


class ImmediateExecutionModel(ExecutionModel):
    """LEAN's ``ImmediateExecutionModel``: market orders for the unordered part of each target,
    position-reducing first, skipping orders below the minimum order margin; fulfilled targets
    are then forgotten."""

    def __init__(self) -> None:
        self.targets_collection = PortfolioTargetCollection()

    def execute(self, algorithm: Any, targets: list[PortfolioTarget]) -> None:
        self.targets_collection.add_range(targets)
        if self.targets_collection.is_empty:
            return
        settings = getattr(algorithm, "settings", None)
        minimum = float(getattr(settings, "minimum_order_margin_portfolio_percentage", 0) or 0)
        tpv = algorithm.portfolio.total_portfolio_value
        for target in self.targets_collection.order_by_margin_impact(algorithm):
            security = algorithm.securities[target.symbol]
            quantity = unordered_quantity(algorithm, target)
            if quantity == 0:
                continue
            margin = abs(quantity * security.price) / float(getattr(security, "leverage", 1.0))
            if minimum == 0 or margin >= tpv * minimum:
                algorithm.market_order(target.symbol, quantity)
        self.targets_collection.clear_fulfilled(algorithm)


class ManualUniverseSelectionModel:
    """A fixed universe: the securities are added when the model is set (LEAN's
    ``ManualUniverseSelectionModel``)."""

    def __init__(self, symbols: Iterable[Any] = ()) -> None:
        if isinstance(symbols, str):
            symbols = [symbols]
        self.symbols = [Symbol(str(s)) for s in symbols]
