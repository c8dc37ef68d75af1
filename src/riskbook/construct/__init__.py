"""LEAN's algorithm framework in Python: insights, portfolio targets and construction models.

The pieces, leftmost first: alpha models emit :class:`Insight` objects; a portfolio construction
model (a :class:`PortfolioConstructionModel` subclass) turns the active insights into
:class:`PortfolioTarget` quantities sized by :meth:`PortfolioTarget.percent`; a
:class:`PortfolioTargetCollection` orders them for execution. Names follow LEAN in snake_case,
and LEAN's CamelCase spellings work too, so a LEAN model ports in minutes.

Examples
--------
>>> from datetime import timedelta
>>> from riskbook.construct import (EqualWeightingPortfolioConstructionModel, Insight,
...     InsightDirection, SimpleAlgorithm)
>>> from riskbook.datasets import load_sp500
>>> algo = SimpleAlgorithm(load_sp500().select(["AAPL", "KO"]), "2020-03-16")
>>> insights = [Insight.price(s, timedelta(days=5), InsightDirection.UP) for s in ("AAPL", "KO")]
>>> [(t.symbol, t.quantity) for t in
...  EqualWeightingPortfolioConstructionModel().create_targets(algo, insights)]
[('AAPL', 841.0), ('KO', 1218.0)]
"""

from riskbook.construct.algorithm import (
    Algorithm,
    AlgorithmSettings,
    Holding,
    Portfolio,
    Security,
    SimpleAlgorithm,
    SymbolProperties,
)
from riskbook.construct.alphas import (
    AlphaModel,
    CompositeAlphaModel,
    ConstantAlphaModel,
    EmaCrossAlphaModel,
    ExponentialMovingAverage,
    HistoricalReturnsAlphaModel,
    RateOfChange,
    framework_step,
)
from riskbook.construct.insight import Insight, InsightCollection, InsightDirection, InsightType
from riskbook.construct.models import (
    AccumulativeInsightPortfolioConstructionModel,
    ConfidenceWeightedPortfolioConstructionModel,
    EqualWeightingPortfolioConstructionModel,
    InsightWeightingPortfolioConstructionModel,
    SectorWeightingPortfolioConstructionModel,
)
from riskbook.construct.optimization_models import (
    BlackLittermanOptimizationPortfolioConstructionModel,
    HierarchicalRiskParityPortfolioConstructionModel,
    MeanReversionPortfolioConstructionModel,
    MeanVarianceOptimizationPortfolioConstructionModel,
    MinimumVariancePortfolioConstructionModel,
    RiskParityPortfolioConstructionModel,
)
from riskbook.construct.optimizers import (
    MaximumSharpeRatioPortfolioOptimizer,
    MinimumVariancePortfolioOptimizer,
    PortfolioOptimizer,
    RiskParityPortfolioOptimizer,
    UnconstrainedMeanVariancePortfolioOptimizer,
)
from riskbook.construct.portfolio_construction import (
    DateRule,
    PortfolioBias,
    PortfolioConstructionModel,
    Resolution,
    SecurityChanges,
    rebalancing_function,
)
from riskbook.construct.target import PortfolioTarget, PortfolioTargetCollection

__all__ = [
    "AccumulativeInsightPortfolioConstructionModel",
    "Algorithm",
    "AlgorithmSettings",
    "AlphaModel",
    "BlackLittermanOptimizationPortfolioConstructionModel",
    "CompositeAlphaModel",
    "ConfidenceWeightedPortfolioConstructionModel",
    "ConstantAlphaModel",
    "DateRule",
    "EmaCrossAlphaModel",
    "EqualWeightingPortfolioConstructionModel",
    "ExponentialMovingAverage",
    "HierarchicalRiskParityPortfolioConstructionModel",
    "HistoricalReturnsAlphaModel",
    "Holding",
    "Insight",
    "InsightCollection",
    "InsightDirection",
    "InsightType",
    "InsightWeightingPortfolioConstructionModel",
    "MaximumSharpeRatioPortfolioOptimizer",
    "MeanReversionPortfolioConstructionModel",
    "MeanVarianceOptimizationPortfolioConstructionModel",
    "MinimumVariancePortfolioConstructionModel",
    "MinimumVariancePortfolioOptimizer",
    "Portfolio",
    "PortfolioBias",
    "PortfolioConstructionModel",
    "PortfolioOptimizer",
    "PortfolioTarget",
    "PortfolioTargetCollection",
    "RateOfChange",
    "Resolution",
    "RiskParityPortfolioConstructionModel",
    "RiskParityPortfolioOptimizer",
    "SectorWeightingPortfolioConstructionModel",
    "Security",
    "SecurityChanges",
    "SimpleAlgorithm",
    "SymbolProperties",
    "UnconstrainedMeanVariancePortfolioOptimizer",
    "framework_step",
    "rebalancing_function",
]
