"""What the engine writes at each decision, and the tables derived from it on demand.

The hot loop only copies a few rows into preallocated (decisions x symbols) arrays; the ledger,
the reconciliation and the order list are computed once, vectorised, when first asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from riskbook.execute.orders import execution_rank
from riskbook.execute.reconcile import COMPONENTS, attribute

#: Why an order's size changed, by code (stored per decision and symbol, named at the end).
ORDER_REASONS = (
    "rebalance",
    "skipped: no_trade_band",
    "skipped: min_trade_value",
    "reduced: cash at plan",
    "reduced: cash at fill",
)
STAGES = ("target", "price", "current", "buffered", "kept", "rounded", "planned", "final", "held")


@dataclass(frozen=True)
class Ledger:
    """Per-trade records, in execution order (arrays of equal length)."""

    decision: np.ndarray  # decision number
    symbol: np.ndarray  # symbol index
    quantity: np.ndarray
    decision_price: np.ndarray
    reference_price: np.ndarray  # the fill model's price, before slippage
    fill_price: np.ndarray  # what was paid or received per share
    fee: np.ndarray
    reason: np.ndarray

    @property
    def cash_flow(self) -> np.ndarray:
        """Cash paid (negative) or received (positive) for the shares, fees excluded."""
        return -self.quantity * self.fill_price

    @property
    def slippage(self) -> np.ndarray:
        """Cost of slippage per trade (>= 0 when the price moved against the order)."""
        return self.quantity * (self.fill_price - self.reference_price)


class DecisionRecords:
    """Sizing stages, holdings and fills of every filled decision."""

    def __init__(self, stage, skip, equity, costs, fills, n):
        self.stage: dict[str, np.ndarray] = stage
        self.skip: np.ndarray = skip
        self.equity: np.ndarray = equity  # equity at each decision, before costs
        self.costs: np.ndarray = costs  # fees + slippage paid at each fill
        self.fills: list[tuple] = (
            fills  # (order, quantity, reference, fill price, fee) per decision
        )
        self.n = n

    @classmethod
    def allocate(cls, n_decisions: int, n_symbols: int) -> DecisionRecords:
        shape = (n_decisions, n_symbols)
        return cls(
            {name: np.empty(shape) for name in STAGES},
            np.empty(shape, dtype=np.int8),
            np.empty(n_decisions),
            np.empty(n_decisions),
            [],
            0,
        )

    def add(self, plan, final: np.ndarray, held: np.ndarray, costs: float, fill: tuple) -> None:
        n = self.n
        st = self.stage
        st["target"][n] = plan.target_weight
        st["price"][n] = plan.price
        st["current"][n] = plan.current
        st["buffered"][n] = plan.buffered
        st["kept"][n] = plan.kept
        st["rounded"][n] = plan.rounded
        st["planned"][n] = plan.planned
        st["final"][n] = final
        st["held"][n] = held
        self.skip[n] = plan.skip_code
        self.equity[n] = plan.equity
        self.costs[n] = costs
        self.fills.append(fill)
        self.n = n + 1

    def trimmed(self) -> DecisionRecords:
        """The filled part only (views, no copies)."""
        n = self.n
        return DecisionRecords(
            {k: v[:n] for k, v in self.stage.items()},
            self.skip[:n],
            self.equity[:n],
            self.costs[:n],
            self.fills,
            n,
        )

    @cached_property
    def codes(self) -> np.ndarray:
        """Index into ORDER_REASONS per decision and symbol."""
        st = self.stage
        return np.where(
            st["final"] != st["planned"],
            4,
            np.where(st["planned"] != st["rounded"], 3, self.skip.astype(np.int8)),
        )

    @cached_property
    def reconciliation(self) -> dict[str, np.ndarray]:
        st = self.stage
        comps = attribute(
            st["target"],
            self.equity[:, None],
            st["price"],
            st["buffered"],
            st["kept"],
            st["rounded"],
            st["final"],
            self.costs[:, None],
            st["held"],
        )
        rows = (st["target"] != 0) | (st["current"] != 0) | (st["final"] != 0)
        decision, symbol = np.nonzero(rows)
        return {
            "decision": decision,
            "symbol": symbol,
            "target_weight": st["target"][rows],
            "held_weight": st["held"][rows],
            **{c: comps[c][rows] for c in COMPONENTS},
        }

    @cached_property
    def orders(self) -> dict[str, np.ndarray]:
        st = self.stage
        changed = (st["kept"] != st["current"]) | (self.skip != 0) | (st["final"] != st["current"])
        decision, symbol = np.nonzero(changed)
        return {
            "decision": decision,
            "symbol": symbol,
            "current": st["current"][changed],
            "target_quantity": st["buffered"][changed],
            "planned": st["planned"][changed],
            "filled": st["final"][changed],
            "reason": np.asarray(ORDER_REASONS, dtype=object)[self.codes[changed]],
        }

    @cached_property
    def ledger(self) -> Ledger:
        if not self.fills:
            empty = np.zeros(0)
            return Ledger(
                empty.astype(int),
                empty.astype(int),
                empty,
                empty,
                empty,
                empty,
                empty,
                empty.astype(object),
            )
        # Put each decision's fills in execution order (position-reducing first, then by value):
        # the engine's cash check is pro rata, so the order changes no number, only the listing.
        current, final = self.stage["current"], self.stage["final"]
        order = [
            execution_rank(current[n, f[0]], final[n, f[0]], np.abs(f[1]) * f[2])
            for n, f in enumerate(self.fills)
        ]
        k = np.repeat(np.arange(len(self.fills)), [len(f[0]) for f in self.fills])
        sym = np.concatenate([f[0][o] for f, o in zip(self.fills, order, strict=True)]).astype(int)

        def column(j: int) -> np.ndarray:
            return np.concatenate([f[j][o] for f, o in zip(self.fills, order, strict=True)])

        return Ledger(
            decision=k,
            symbol=sym,
            quantity=column(1),
            decision_price=self.stage["price"][k, sym],
            reference_price=column(2),
            fill_price=column(3),
            fee=column(4),
            reason=np.asarray(ORDER_REASONS, dtype=object)[self.codes[k, sym]],
        )
