"""No look-ahead, component by component: perturbing every price after t leaves every decision
at t bit-identical.

Covered: the five demo sleeves, the BookBuilder (its whole per-stage audit at t and its history),
the engine running it (targets and fills of every decision up to t), the LEAN construction models
driven by the alpha models through ``framework_step``, the alpha models themselves, and the
walk-forward allocators (weights at every refit up to t). The engine alone also has a
Hypothesis version in ``tests/simulate/test_engine.py``.

Example counts: none (parametrised, two cut points per component, deterministic seeds).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook import MarketData
from riskbook.book import BookBuilder, demo_sleeves
from riskbook.construct import (
    AccumulativeInsightPortfolioConstructionModel,
    BlackLittermanOptimizationPortfolioConstructionModel,
    ConfidenceWeightedPortfolioConstructionModel,
    ConstantAlphaModel,
    EmaCrossAlphaModel,
    EqualWeightingPortfolioConstructionModel,
    HierarchicalRiskParityPortfolioConstructionModel,
    HistoricalReturnsAlphaModel,
    InsightDirection,
    InsightWeightingPortfolioConstructionModel,
    MeanReversionPortfolioConstructionModel,
    MeanVarianceOptimizationPortfolioConstructionModel,
    MinimumVariancePortfolioConstructionModel,
    RiskParityPortfolioConstructionModel,
    SectorWeightingPortfolioConstructionModel,
    SimpleAlgorithm,
    framework_step,
)
from riskbook.validate import walk_forward

SYMBOLS = ["AAPL", "JNJ", "KO", "PEP", "XOM", "CVX", "MSFT", "JPM", "PG", "WMT"]
SECTORS = {"AAPL": "tech", "MSFT": "tech", "JNJ": "health", "KO": "staples", "PG": "staples",
           "WMT": "staples", "XOM": "energy", "JPM": "financials", "PEP": "staples", "CVX": "energy"}  # fmt: skip


@pytest.fixture(scope="module")
def data(sp500):
    return sp500.select(SYMBOLS).slice("2016-01-01", "2018-12-31")


def perturbed(data: MarketData, bar: int, seed: int) -> MarketData:
    """``data`` with every field of every bar after ``bar`` multiplied by random factors."""
    rng = np.random.default_rng(seed)
    fields = {}
    for name, values in data.field_arrays().items():
        out = np.array(values, dtype=float, copy=True)
        tail = out[bar + 1 :]
        out[bar + 1 :] = tail * rng.uniform(0.5, 1.5, size=tail.shape)
        fields[name] = out
    close = fields.pop("close")
    return MarketData.from_arrays(data.dates, list(data.symbols), close=close, **fields)


def cuts(data: MarketData) -> list[int]:
    n = len(data.dates)
    return [int(n * 0.6), n - 5]


# ------------------------------------------------------------------------------------ sleeves
@pytest.mark.parametrize("sleeve", demo_sleeves(), ids=lambda s: s.name)
def test_sleeve_weights_ignore_the_future(data, sleeve):
    for k, bar in enumerate(cuts(data)):
        t = data.dates[bar]
        before = sleeve.weights(data.until(t))
        after = sleeve.weights(perturbed(data, bar, k).until(t))
        assert before is not None
        np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------------- book builder + engine
def book_run(data: MarketData, end):
    builder = BookBuilder(demo_sleeves())
    result = riskbook.backtest(
        data,
        builder,
        schedule="weekly",
        start="2017-06-01",
        end=end,
        fill="next_close",
        account="margin",
        leverage=2.0,
        costs=5,
    )
    return builder, result


def test_book_builder_audit_and_engine_decisions_ignore_the_future(data):
    bar = int(np.searchsorted(data.dates, np.datetime64("2018-03-01")))
    t = data.dates[bar]
    b0, r0 = book_run(data, t)
    b1, r1 = book_run(perturbed(data, bar, 7), t)
    # the whole audit of the last book (every stage, every number) ...
    pd.testing.assert_frame_equal(b0.last_book.audit_frame(), b1.last_book.audit_frame())
    np.testing.assert_array_equal(b0.last_book.weights, b1.last_book.weights)
    pd.testing.assert_frame_equal(b0.history_frame(), b1.history_frame())
    # ... and every engine decision up to t: targets and planned quantities
    assert r0.decision_times[-1] == t
    for stage in ("target", "price", "current", "planned"):
        np.testing.assert_array_equal(r0.records.stage[stage], r1.records.stage[stage])
    # fills before t are at unperturbed prices too
    filled = r0.fill_times <= t
    led0, led1 = r0.ledger, r1.ledger
    early = np.isin(led0.decision, np.flatnonzero(filled))
    np.testing.assert_array_equal(led0.fill_price[early], led1.fill_price[early])


# ------------------------------------------------------------ construction and alpha models
def alphas():
    return {
        "constant": lambda: ConstantAlphaModel(InsightDirection.UP, timedelta(days=5), 0.01, 0.6),
        "historical_returns": lambda: HistoricalReturnsAlphaModel(lookback=10),
        "ema_cross": lambda: EmaCrossAlphaModel(5, 20),
    }


MODELS = {
    "equal": EqualWeightingPortfolioConstructionModel,
    "insight": InsightWeightingPortfolioConstructionModel,
    "confidence": ConfidenceWeightedPortfolioConstructionModel,
    "accumulative": AccumulativeInsightPortfolioConstructionModel,
    "sector": SectorWeightingPortfolioConstructionModel,
    "mean_variance": lambda: MeanVarianceOptimizationPortfolioConstructionModel(target_return=None),
    "black_litterman": BlackLittermanOptimizationPortfolioConstructionModel,
    "risk_parity": RiskParityPortfolioConstructionModel,
    "mean_reversion": MeanReversionPortfolioConstructionModel,
    "hrp": HierarchicalRiskParityPortfolioConstructionModel,
    "min_variance": MinimumVariancePortfolioConstructionModel,
}


def framework_decision(data: MarketData, t, alpha_name: str, model_name: str):
    algo = SimpleAlgorithm(data, t, sectors=SECTORS)
    alpha, pcm = alphas()[alpha_name](), MODELS[model_name]()
    changes = algo.security_changes(added=list(SYMBOLS))
    alpha.on_securities_changed(algo, changes)
    pcm.on_securities_changed(algo, changes)
    insights, targets = framework_step(algo, alpha, pcm)
    seen = [
        (i.symbol, int(i.direction), i.magnitude, i.confidence, i.weight, i.period)
        for i in insights
    ]
    return seen, [(x.symbol, x.quantity) for x in targets]


@pytest.mark.parametrize("alpha_name", sorted(alphas()))
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_framework_decisions_ignore_the_future(data, alpha_name, model_name):
    for k, bar in enumerate(cuts(data)):
        t = data.dates[bar]
        before = framework_decision(data, t, alpha_name, model_name)
        after = framework_decision(perturbed(data, bar, 100 + k), t, alpha_name, model_name)
        assert before == after


# ------------------------------------------------------------------------------ walk-forward
def test_walk_forward_weights_at_each_refit_ignore_the_future(data):
    bar = int(len(data.dates) * 0.75)
    t = data.dates[bar]
    kw = {"train": 126, "test": 21, "costs": 10.0}
    before = walk_forward(data, **kw)
    after = walk_forward(perturbed(data, bar, 3), **kw)
    compared = 0
    for name, w0 in before.weights.items():
        w1 = after.weights[name]
        early = w0.index <= pd.Timestamp(t)
        assert early.sum() >= 3
        pd.testing.assert_frame_equal(w0[early], w1[early[: len(w1)]] if len(w1) else w1)
        compared += 1
        # and the out-of-sample returns before t, which only use prices up to t
        r0, r1 = before.returns[name], after.returns[name]
        pd.testing.assert_series_equal(r0[r0.index <= t], r1[r1.index <= t])
    assert compared >= 4
