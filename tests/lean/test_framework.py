"""Framework algorithms (alpha -> portfolio construction -> risk -> execution) and run_file."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from riskbook.construct import (
    ConstantAlphaModel,
    EqualWeightingPortfolioConstructionModel,
    InsightDirection,
    SimpleAlgorithm,
)
from riskbook.construct.alphas import framework_step
from riskbook.datasets import load_sp500
from riskbook.errors import ConfigError
from riskbook.lean import (
    ManualUniverseSelectionModel,
    PortfolioTarget,
    QCAlgorithm,
    RiskManagementModel,
    Symbol,
    run,
    run_file,
)

DAY = "2020-03-16"


class EqualWeight(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2020, 3, 16)
        self.set_end_date(2020, 3, 27)
        self.set_universe_selection(ManualUniverseSelectionModel([Symbol.create("AAPL"), "KO"]))
        self.set_alpha(ConstantAlphaModel(InsightDirection.UP, timedelta(days=30)))
        self.set_portfolio_construction(EqualWeightingPortfolioConstructionModel())


def construct_targets() -> dict[str, float]:
    """The same models on riskbook.construct's SimpleAlgorithm at the first decision."""
    algo = SimpleAlgorithm(load_sp500().select(["AAPL", "KO"]), DAY, cash=100_000)
    alpha = ConstantAlphaModel(InsightDirection.UP, timedelta(days=30))
    pcm = EqualWeightingPortfolioConstructionModel()
    changes = algo.security_changes(added=["AAPL", "KO"])
    alpha.on_securities_changed(algo, changes)
    pcm.on_securities_changed(algo, changes)
    _, targets = framework_step(algo, alpha, pcm)
    return {t.symbol: t.quantity for t in targets}


def test_framework_orders_are_the_construct_targets():
    result = run(EqualWeight)
    first = result.trades[result.trades["decision_time"] == DAY]
    assert dict(zip(first["symbol"], first["quantity"], strict=True)) == construct_targets()
    assert construct_targets() == {"AAPL": 841.0, "KO": 1218.0}
    insights = result.algorithm.insights
    assert len(insights) >= 2  # the alpha's insights reached algorithm.insights


def test_risk_model_overrides_targets():
    class NoKO(RiskManagementModel):
        def ManageRisk(self, algorithm, targets):  # LEAN's spelling on a user model
            return [PortfolioTarget("KO", 0)]

    class Risky(EqualWeight):
        def initialize(self):
            super().initialize()
            self.add_risk_management(NoKO())

    result = run(Risky)
    assert set(result.trades["symbol"]) == {"AAPL"}


def test_only_a_manual_universe():
    class Dynamic(QCAlgorithm):
        def initialize(self):
            self.set_universe_selection(object())

    with pytest.raises(ConfigError, match="ManualUniverseSelectionModel"):
        run(Dynamic)


SOURCE = """
from AlgorithmImports import *


class FromFile(QCAlgorithm):
    def Initialize(self):
        self.SetStartDate(2021, 1, 4)
        self.SetEndDate(2021, 1, 8)
        self.AddEquity("PEP", Resolution.Daily)

    def OnData(self, data):
        if not self.Portfolio.Invested:
            self.SetHoldings("PEP", float(self.GetParameter("weight", 0.5)))
            self.Debug(f"bought at {data['PEP'].Close}")
"""


def test_run_file_with_lean_imports(tmp_path):
    path = tmp_path / "algo.py"
    path.write_text(textwrap.dedent(SOURCE))
    result = run_file(path, parameters={"weight": "0.25"}, cash=40_000)
    assert result.trades["symbol"].tolist() == ["PEP"]
    assert result.trades["quantity"].iloc[0] * result.trades["decision_price"].iloc[0] < 10_000
    assert result.logs[0].startswith("2021-01-04 16:00:00 bought at")
    two = path.read_text() + "\n\nclass Other(FromFile):\n    pass\n"
    path.write_text(two)
    with pytest.raises(ConfigError, match="FromFile"):
        run_file(path)
    assert run_file(path, algorithm="Other").trades["symbol"].tolist() == ["PEP"]
