"""The integration layer (seed 003): sleeves in, one risk-targeted, governed book out."""

from riskbook.book.builder import BookBuilder, StageRecord, TargetBook
from riskbook.book.config import BookConfig
from riskbook.book.governor import DrawdownGovernor, drawdown_multiplier, kill_tier
from riskbook.book.sleeves import FunctionSleeve, Sleeve, demo_sleeves
from riskbook.book.tracker import SleeveReturnTracker

__all__ = [
    "BookBuilder",
    "BookConfig",
    "DrawdownGovernor",
    "FunctionSleeve",
    "Sleeve",
    "SleeveReturnTracker",
    "StageRecord",
    "TargetBook",
    "demo_sleeves",
    "drawdown_multiplier",
    "kill_tier",
]
