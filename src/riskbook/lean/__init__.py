"""LEAN algorithms on riskbook: ``from riskbook.lean import *`` stands in for
``from AlgorithmImports import *``.

A QuantConnect LEAN algorithm runs locally with its import line and tickers changed: subclass
:class:`QCAlgorithm`, add equities by ticker (the bundled data's 20 stocks, ``SP500`` for the
index, the five factor ETFs, or the local store), trade with ``set_holdings`` / ``liquidate`` /
``market_order`` or the framework models, and run it with :func:`run` (or
``riskbook lean run FILE.py``, through :func:`run_file`). The result is riskbook's
:class:`~riskbook.BacktestResult` (trades with fill prices, the reconciliation of asked vs held
weights) plus the algorithm's log (``result.logs``).

Timing is LEAN's daily backtest: ``on_data`` at each session's 16:00 bar, orders filled at the
next session (its open, or on close-only data its close), fills reported to ``on_order_event``
before the next ``on_data``. See ``docs/lean.md`` for what is supported and what differs.

Examples
--------
>>> from riskbook.lean import *
>>> class Half(QCAlgorithm):
...     def Initialize(self):
...         self.SetStartDate(2022, 1, 3)
...         self.SetEndDate(2022, 1, 7)
...         self.ko = self.AddEquity("KO", Resolution.Daily).Symbol
...     def OnData(self, data):
...         if not self.Portfolio.Invested:
...             self.SetHoldings(self.ko, 0.5)
>>> result = run(Half)
>>> rec = result.reconciliation
>>> rec[["symbol", "target_weight", "held_weight", "price_move", "cash_buffer"]].round(5)
  symbol  target_weight  held_weight  price_move  cash_buffer
0     KO            0.5      0.50697     0.00832     -0.00125
"""

import math
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from riskbook.construct import (
    AccumulativeInsightPortfolioConstructionModel,
    AlphaModel,
    BlackLittermanOptimizationPortfolioConstructionModel,
    CompositeAlphaModel,
    ConfidenceWeightedPortfolioConstructionModel,
    ConstantAlphaModel,
    EmaCrossAlphaModel,
    EqualWeightingPortfolioConstructionModel,
    HistoricalReturnsAlphaModel,
    Insight,
    InsightCollection,
    InsightDirection,
    InsightType,
    InsightWeightingPortfolioConstructionModel,
    MaximumSharpeRatioPortfolioOptimizer,
    MeanReversionPortfolioConstructionModel,
    MeanVarianceOptimizationPortfolioConstructionModel,
    MinimumVariancePortfolioOptimizer,
    PortfolioBias,
    PortfolioConstructionModel,
    PortfolioTarget,
    PortfolioTargetCollection,
    Resolution,
    RiskParityPortfolioConstructionModel,
    SectorWeightingPortfolioConstructionModel,
    SecurityChanges,
    UnconstrainedMeanVariancePortfolioOptimizer,
)
from riskbook.lean.algorithm import LogEntry, QCAlgorithm
from riskbook.lean.data import Slice, TradeBar
from riskbook.lean.framework import (
    ExecutionModel,
    ImmediateExecutionModel,
    ManualUniverseSelectionModel,
    NullExecutionModel,
    NullRiskManagementModel,
    RiskManagementModel,
)
from riskbook.lean.orders import (
    Order,
    OrderDirection,
    OrderEvent,
    OrderStatus,
    OrderTicket,
    OrderType,
)
from riskbook.lean.portfolio import AccountType, BrokerageName, DataNormalizationMode
from riskbook.lean.runner import LeanResult, load_algorithm, run, run_file
from riskbook.lean.symbols import Market, SecurityType, Symbol

__all__ = [
    "AccountType",
    "AccumulativeInsightPortfolioConstructionModel",
    "AlphaModel",
    "BlackLittermanOptimizationPortfolioConstructionModel",
    "BrokerageName",
    "CompositeAlphaModel",
    "ConfidenceWeightedPortfolioConstructionModel",
    "ConstantAlphaModel",
    "DataNormalizationMode",
    "EmaCrossAlphaModel",
    "EqualWeightingPortfolioConstructionModel",
    "ExecutionModel",
    "HistoricalReturnsAlphaModel",
    "ImmediateExecutionModel",
    "Insight",
    "InsightCollection",
    "InsightDirection",
    "InsightType",
    "InsightWeightingPortfolioConstructionModel",
    "LeanResult",
    "LogEntry",
    "ManualUniverseSelectionModel",
    "Market",
    "MaximumSharpeRatioPortfolioOptimizer",
    "MeanReversionPortfolioConstructionModel",
    "MeanVarianceOptimizationPortfolioConstructionModel",
    "MinimumVariancePortfolioOptimizer",
    "NullExecutionModel",
    "NullRiskManagementModel",
    "Order",
    "OrderDirection",
    "OrderEvent",
    "OrderStatus",
    "OrderTicket",
    "OrderType",
    "PortfolioBias",
    "PortfolioConstructionModel",
    "PortfolioTarget",
    "PortfolioTargetCollection",
    "QCAlgorithm",
    "Resolution",
    "RiskManagementModel",
    "RiskParityPortfolioConstructionModel",
    "SectorWeightingPortfolioConstructionModel",
    "SecurityChanges",
    "SecurityType",
    "Slice",
    "Symbol",
    "TradeBar",
    "UnconstrainedMeanVariancePortfolioOptimizer",
    "date",
    "datetime",
    "load_algorithm",
    "math",
    "np",
    "pd",
    "run",
    "run_file",
    "time",
    "timedelta",
]
