"""Execution: targets to orders, fill models, fees and slippage, reconciliation."""

from riskbook.execute.costs import Costs
from riskbook.execute.fees import BpsFee, FixedFee, NoFee, PerShareFee
from riskbook.execute.fills import (
    VWAP,
    Close,
    FillModel,
    MinuteOffset,
    NextClose,
    NextOpen,
    resolve_fill,
)
from riskbook.execute.orders import OrderPlan, OrderRules, plan_orders
from riskbook.execute.planner import (
    RebalancePlan,
    plan,
    plan_from_book,
    read_holdings,
    read_prices,
    read_targets,
)
from riskbook.execute.reconcile import COMPONENTS
from riskbook.execute.slippage import (
    FixedBpsSlippage,
    HalfSpreadSlippage,
    NoSlippage,
    VolumeShareSlippage,
)

__all__ = [
    "COMPONENTS",
    "VWAP",
    "BpsFee",
    "Close",
    "Costs",
    "FillModel",
    "FixedBpsSlippage",
    "FixedFee",
    "HalfSpreadSlippage",
    "MinuteOffset",
    "NextClose",
    "NextOpen",
    "NoFee",
    "NoSlippage",
    "OrderPlan",
    "OrderRules",
    "PerShareFee",
    "RebalancePlan",
    "VolumeShareSlippage",
    "plan",
    "plan_from_book",
    "plan_orders",
    "read_holdings",
    "read_prices",
    "read_targets",
    "resolve_fill",
]
