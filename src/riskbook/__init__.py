"""riskbook: strategy signals in, one risk-targeted, drawdown-controlled portfolio out.

The pipeline runs data -> estimate -> optimize -> book -> execute -> simulate -> validate ->
report; each sub-package imports only from those to its left.
"""

from importlib.metadata import PackageNotFoundError, version

from riskbook import errors
from riskbook.data import DataReport, MarketData, PointInTimeView, load_prices
from riskbook.execute.planner import RebalancePlan, plan, plan_from_book
from riskbook.simulate import BacktestResult, backtest

try:
    __version__ = version("riskbook")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "BacktestResult",
    "DataReport",
    "MarketData",
    "PointInTimeView",
    "RebalancePlan",
    "__version__",
    "backtest",
    "errors",
    "load_prices",
    "plan",
    "plan_from_book",
]
