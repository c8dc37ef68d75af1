"""Alpha models: LEAN's rules, indicators against independent references, no look-ahead."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from riskbook.construct import (
    AlphaModel,
    CompositeAlphaModel,
    ConstantAlphaModel,
    EmaCrossAlphaModel,
    EqualWeightingPortfolioConstructionModel,
    ExponentialMovingAverage,
    HistoricalReturnsAlphaModel,
    Insight,
    InsightDirection,
    RateOfChange,
    SimpleAlgorithm,
    framework_step,
)
from riskbook.data import MarketData
from riskbook.datasets import load_sp500
from riskbook.errors import ConfigError

from .conftest import day, flat_data

UP, DOWN = InsightDirection.UP, InsightDirection.DOWN


@pytest.fixture(scope="module")
def aapl() -> MarketData:
    return load_sp500().select(["AAPL", "KO"]).slice("2018-06-01", "2019-12-31")


def add_all(algo, *models):
    changes = algo.security_changes(added=list(algo.securities))
    for model in models:
        model.on_securities_changed(algo, changes)


def reference_ema(values, period):
    """EMA seeded with the mean of the first ``period`` values (pandas, not riskbook)."""
    values = list(values)
    seeded = [float(np.mean(values[:period])), *values[period:]]
    return float(pd.Series(seeded).ewm(span=period, adjust=False).mean().iloc[-1])


# ===================================================================== indicators
class TestIndicators:
    def test_ema_matches_pandas(self):
        x = list(np.random.default_rng(1).normal(100, 5, 40))
        ema = ExponentialMovingAverage(12)
        for k, v in enumerate(x):
            ema.update(v)
            assert ema.is_ready == (k + 1 >= 12)
        assert ema.value == pytest.approx(reference_ema(x, 12), rel=1e-12)

    def test_rate_of_change(self):
        roc = RateOfChange(3)
        values = [10.0, 11.0, 12.0, 13.0, 15.0]
        got = [roc.update(v) for v in values]
        assert not RateOfChange(3).is_ready and roc.warm_up_period == 4
        assert got[:3] == [0.0, 0.0, 0.0]
        assert got[3:] == pytest.approx([13 / 10 - 1, 15 / 11 - 1])

    def test_bad_periods(self):
        with pytest.raises(ConfigError):
            ExponentialMovingAverage(0)
        with pytest.raises(ConfigError):
            RateOfChange(0)
        with pytest.raises(ConfigError):
            EmaCrossAlphaModel(26, 12)


# ===================================================================== base and constant
class TestConstantAlpha:
    def test_emits_for_each_security_and_again_after_the_period(self):
        algo = SimpleAlgorithm(flat_data(), day(0), time_zone="UTC")
        alpha = ConstantAlphaModel(
            UP, timedelta(days=2), magnitude=0.01, confidence=0.5, weight=0.2
        )
        add_all(algo, alpha)
        first = alpha.generate(algo)
        assert [i.symbol for i in first] == ["A", "B", "C", "D"]
        i = first[0]
        assert (i.direction, i.magnitude, i.confidence, i.weight) == (UP, 0.01, 0.5, 0.2)
        assert i.source_model == alpha.name and i.generated_time_utc == algo.utc_time
        algo.set_time(day(1))
        assert alpha.generate(algo) == []  # one day < two
        algo.set_time(day(2))
        assert len(alpha.generate(algo)) == 4

    def test_skips_securities_without_price_and_resets_on_removal(self):
        md = flat_data(3, {"A": 50.0})
        md = md.from_arrays(md.dates, ["A", "L"], close=np.c_[md.close, [np.nan, 9.0, 9.0]])
        algo = SimpleAlgorithm(md, day(0), time_zone="UTC")
        alpha = ConstantAlphaModel(DOWN, timedelta(days=30))
        add_all(algo, alpha)
        assert [i.symbol for i in alpha.generate(algo)] == ["A"]
        algo.set_time(day(1))
        assert [i.symbol for i in alpha.generate(algo)] == ["L"]
        alpha.on_securities_changed(algo, algo.security_changes(removed=["A"]))
        alpha.on_securities_changed(algo, algo.security_changes(added=["A"]))
        assert [i.symbol for i in alpha.generate(algo)] == ["A"]  # re-sent on rejoining

    def test_lean_style_subclass(self):
        class Lean(AlphaModel):
            def Update(self, algorithm, data):
                return [Insight.price("A", timedelta(days=1), UP)]

        algo = SimpleAlgorithm(flat_data(), day(0))
        assert [i.source_model for i in Lean().generate(algo)] == ["Lean"]
        assert AlphaModel().update(algo, None) == []


# ===================================================================== momentum
class TestHistoricalReturns:
    def test_sign_and_magnitude_of_the_lookback_return(self, aapl):
        algo = SimpleAlgorithm(aapl, "2019-03-15")
        alpha = HistoricalReturnsAlphaModel(lookback=5)
        add_all(algo, alpha)
        closes = aapl.slice(end="2019-03-15").to_frame()
        expected = closes.iloc[-1] / closes.iloc[-6] - 1
        got = {i.symbol: i for i in alpha.generate(algo)}
        for symbol in ("AAPL", "KO"):
            assert got[symbol].magnitude == pytest.approx(expected[symbol], rel=1e-12)
            assert int(got[symbol].direction) == np.sign(expected[symbol])
            assert got[symbol].period == timedelta(days=5)

    def test_once_per_bar(self, aapl):
        algo = SimpleAlgorithm(aapl, "2019-03-15")
        alpha = HistoricalReturnsAlphaModel()
        add_all(algo, alpha)
        assert len(alpha.generate(algo)) == 2
        assert alpha.generate(algo) == []  # no new bar
        algo.set_time("2019-03-18")
        assert len(alpha.generate(algo)) == 2

    def test_zero_return_cancels_the_symbols_insights(self):
        algo = SimpleAlgorithm(flat_data(), day(3), time_zone="UTC")
        old = Insight.price("A", timedelta(days=10), UP).set_times(algo.utc_time)
        algo.insights.add(old)
        alpha = HistoricalReturnsAlphaModel()
        add_all(algo, alpha)
        assert alpha.generate(algo) == []
        assert not old.is_active(algo.utc_time)


# ===================================================================== EMA cross
def run_ema_cross(data, start, stop, **kw):
    """Step an EMA cross alpha bar by bar; returns (alpha, [(date, direction), ...])."""
    dates = [pd.Timestamp(d) for d in data.dates if start <= pd.Timestamp(d) <= stop]
    algo = SimpleAlgorithm(data, dates[0])
    alpha = EmaCrossAlphaModel(**kw)
    alpha.on_securities_changed(algo, algo.security_changes(added=["AAPL"]))
    emitted = []
    for d in dates:
        algo.set_time(d)
        emitted += [(d, i.direction) for i in alpha.generate(algo) if i.symbol == "AAPL"]
    return alpha, emitted


class TestEmaCross:
    START, STOP = pd.Timestamp("2019-01-02"), pd.Timestamp("2019-06-28")

    def test_indicators_equal_a_reference_from_history_up_to_time(self, aapl):
        alpha, _ = run_ema_cross(aapl, self.START, self.STOP)
        closes = aapl.to_frame()["AAPL"]
        i0 = closes.index.get_loc(self.START)
        i1 = closes.index.get_loc(self.STOP)
        sd = alpha.symbol_data["AAPL"]
        # each EMA was warmed up on its own period of bars ending at the start, then updated
        fast_ref = reference_ema(closes.iloc[i0 - 11 : i1 + 1], 12)
        slow_ref = reference_ema(closes.iloc[i0 - 25 : i1 + 1], 26)
        assert sd.fast.value == pytest.approx(fast_ref, rel=1e-12)
        assert sd.slow.value == pytest.approx(slow_ref, rel=1e-12)
        assert sd.last_time == self.STOP

    def test_insights_on_crossovers_only(self, aapl):
        alpha, emitted = run_ema_cross(aapl, self.START, self.STOP)
        closes = aapl.to_frame()["AAPL"]
        i0 = closes.index.get_loc(self.START)
        fast, slow = ExponentialMovingAverage(12), ExponentialMovingAverage(26)
        for v in closes.iloc[i0 - 25 : i0 + 1]:
            slow.update(v)
        for v in closes.iloc[i0 - 11 : i0 + 1]:
            fast.update(v)
        expected, over = [], False
        for d, v in closes.loc[self.START : self.STOP].items():
            if d > self.START:
                fast.update(v)
                slow.update(v)
            now_over = fast.value > slow.value
            if now_over != over:
                expected.append((d, UP if now_over else DOWN))
            over = now_over
        assert emitted == expected
        assert len(expected) >= 2  # the window holds real crossovers
        assert alpha.prediction_interval == timedelta(days=12)

    def test_no_look_ahead(self, aapl):
        # scramble every bar after the stop date: nothing up to the stop may change
        cut = int(np.searchsorted(aapl.dates, np.datetime64(self.STOP), side="right"))
        close = aapl.close.copy()
        close[cut:] *= np.linspace(0.2, 5.0, len(close) - cut)[:, None]
        scrambled = MarketData.from_arrays(aapl.dates, aapl.symbols, close=close)
        a1, e1 = run_ema_cross(aapl, self.START, self.STOP)
        a2, e2 = run_ema_cross(scrambled, self.START, self.STOP)
        assert e1 == e2
        assert a1.symbol_data["AAPL"].slow.value == a2.symbol_data["AAPL"].slow.value

    def test_catch_up_when_updated_rarely(self, aapl):
        daily, _ = run_ema_cross(aapl, self.START, self.STOP)
        algo = SimpleAlgorithm(aapl, self.START)
        rare = EmaCrossAlphaModel()
        rare.on_securities_changed(algo, algo.security_changes(added=["AAPL"]))
        algo.set_time(self.STOP)
        rare.generate(algo)  # 124 bars at once
        assert rare.symbol_data["AAPL"].fast.value == pytest.approx(
            daily.symbol_data["AAPL"].fast.value, rel=1e-12
        )

    def test_removed_security_is_forgotten(self, aapl):
        algo = SimpleAlgorithm(aapl, self.START)
        alpha = EmaCrossAlphaModel(fast_period=5, slow_period=10)
        add_all(algo, alpha)
        alpha.on_securities_changed(algo, algo.security_changes(removed=["KO"]))
        assert list(alpha.symbol_data) == ["AAPL"]
        assert alpha.name == "EmaCrossAlphaModel(5,10,DAILY)"


# ===================================================================== composite / framework
class TestCompositeAndFramework:
    def test_composite_orders_and_names(self):
        algo = SimpleAlgorithm(flat_data(), day(0), time_zone="UTC")
        up = ConstantAlphaModel(UP, timedelta(days=3))
        down = ConstantAlphaModel(DOWN, timedelta(days=3))
        combo = CompositeAlphaModel(up)
        combo.add_alpha(down)
        add_all(algo, combo)
        insights = combo.generate(algo)
        assert [i.source_model for i in insights] == [up.name] * 4 + [down.name] * 4
        with pytest.raises(ConfigError):
            CompositeAlphaModel()

    def test_multi_alpha_latest_insight_per_symbol(self):
        class OnceDown(AlphaModel):
            """A one-day DOWN view on every symbol, emitted on the first call only."""

            done = False

            def update(self, algorithm, data):
                if self.done:
                    return []
                self.done = True
                return [Insight.price(s, timedelta(days=1), DOWN) for s in algorithm.securities]

        algo = SimpleAlgorithm(flat_data(), day(0), time_zone="UTC")
        combo = CompositeAlphaModel(ConstantAlphaModel(UP, timedelta(days=5)), OnceDown())
        pcm = EqualWeightingPortfolioConstructionModel()
        add_all(algo, combo, pcm)
        _, targets = framework_step(algo, combo, pcm)
        # same time: the later model's DOWN wins for every symbol, 25% short each
        assert {t.symbol: t.quantity for t in targets} == {
            "A": -498.0,
            "B": -1246.0,
            "C": -2493.0,
            "D": -997.0,
        }
        algo.set_time(day(3))  # the DOWN insights expired; the UP ones remain
        _, targets = framework_step(algo, combo, pcm)
        # 0.25 * 99750 = 24937.5: A 498.75 -> 498, B 1246.9 -> 1246, C 2493.75 -> 2493
        # (fee 12.47 leaves 24934.4 >= 24930), D 997.5 -> 997
        assert {t.symbol: t.quantity for t in targets} == {
            "A": 498.0,
            "B": 1246.0,
            "C": 2493.0,
            "D": 997.0,
        }

    def test_framework_step_records_insights_once(self):
        algo = SimpleAlgorithm(flat_data(), day(0), time_zone="UTC")
        alpha = ConstantAlphaModel(UP, timedelta(days=3))
        pcm = EqualWeightingPortfolioConstructionModel()
        add_all(algo, alpha, pcm)
        insights, targets = framework_step(algo, alpha, pcm)
        assert len(algo.insights) == len(insights) == 4 and len(targets) == 4
