"""The built-in models against hand-computed percents and quantities.

Prices (conftest): A 50, B 20, C 10, D 25; TPV 100,000 in cash; LEAN's 0.25% buffer and IB-like
fee ($0.005 a share, $1 minimum). A percent p becomes ``p * 99,750`` of value, floored to whole
shares, then reduced while the shares cost more than ``p * 0.9975 * (TPV - fee)``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import pytest

from riskbook.construct import (
    AccumulativeInsightPortfolioConstructionModel,
    ConfidenceWeightedPortfolioConstructionModel,
    DateRule,
    EqualWeightingPortfolioConstructionModel,
    Insight,
    InsightDirection,
    InsightWeightingPortfolioConstructionModel,
    PortfolioBias,
    Resolution,
    SectorWeightingPortfolioConstructionModel,
    SimpleAlgorithm,
)

from .conftest import day, flat_data

UP, DOWN, FLAT = InsightDirection.UP, InsightDirection.DOWN, InsightDirection.FLAT


def ins(symbol, direction=UP, days=10, **kw):
    return Insight.price(symbol, timedelta(days=days), direction, **kw)


def as_dict(targets):
    return {t.symbol: t.quantity for t in targets}


def percents(model, insights):
    return {i.symbol: round(p, 10) for i, p in model.determine_target_percent(insights).items()}


class TestDefaults:
    @pytest.mark.parametrize(
        "cls",
        [
            EqualWeightingPortfolioConstructionModel,
            InsightWeightingPortfolioConstructionModel,
            ConfidenceWeightedPortfolioConstructionModel,
            SectorWeightingPortfolioConstructionModel,
        ],
    )
    def test_daily_rebalance_by_default(self, cls):
        t = day(0).to_pydatetime()
        assert cls()._rebalancing_func(t) == t + timedelta(days=1)

    def test_accumulative_rebalances_on_every_call(self):
        model = AccumulativeInsightPortfolioConstructionModel()
        assert model._rebalancing_func is None and model.percent == 0.03
        assert AccumulativeInsightPortfolioConstructionModel(percent=-0.05).percent == 0.05

    def test_any_rebalance_form_is_accepted(self):
        for rebalance in (timedelta(days=7), Resolution.HOUR, DateRule.month_start(), None):
            EqualWeightingPortfolioConstructionModel(rebalance)
            SectorWeightingPortfolioConstructionModel(rebalance)


class TestEqualWeighting:
    def test_percents(self):
        model = EqualWeightingPortfolioConstructionModel()
        got = percents(model, [ins("A", UP), ins("B", DOWN), ins("C", FLAT)])
        assert got == {"A": 0.5, "B": -0.5, "C": 0.0}
        assert percents(model, [ins("C", FLAT)]) == {"C": 0.0}
        assert percents(model, []) == {}

    @pytest.mark.parametrize(
        ("bias", "expected"),
        [
            (PortfolioBias.LONG, {"A": 0.5, "B": 0.0, "C": 0.5, "D": 0.0}),
            (PortfolioBias.SHORT, {"A": 0.0, "B": -1.0, "C": 0.0, "D": 0.0}),
        ],
    )
    def test_bias(self, bias, expected):
        model = EqualWeightingPortfolioConstructionModel(portfolio_bias=bias)
        insights = [ins("A", UP), ins("B", DOWN), ins("C", UP), ins("D", FLAT)]
        assert percents(model, insights) == expected

    def test_quantities(self, algo):
        targets = EqualWeightingPortfolioConstructionModel().create_targets(
            algo, [ins("A", UP), ins("B", DOWN), ins("C", FLAT)]
        )
        # A: 49875 / 50 = 997.5 -> 997 (fee 4.99, 49850 <= 49872.5)
        # B: -49875 / 20 = -2493.75 -> -2493 (fee 12.47, 49860 <= 49868.8); C flat: 0
        assert as_dict(targets) == {"A": 997.0, "B": -2493.0, "C": 0.0}


class TestInsightWeighting:
    def test_percents_below_one_keep_cash(self):
        model = InsightWeightingPortfolioConstructionModel()
        got = percents(model, [ins("A", UP, weight=0.3), ins("B", DOWN, weight=0.2)])
        assert got == {"A": 0.3, "B": -0.2}

    def test_percents_above_one_are_scaled_flat_weights_included(self):
        model = InsightWeightingPortfolioConstructionModel()
        insights = [
            ins("A", UP, weight=0.8),
            ins("B", DOWN, weight=-0.4),  # |weight|
            ins("C", FLAT, weight=0.3),  # counts in the sum, gets 0
        ]
        assert percents(model, insights) == {
            "A": round(0.8 / 1.5, 10),
            "B": round(-0.4 / 1.5, 10),
            "C": 0.0,
        }

    def test_bias_excludes_from_the_sum(self):
        model = InsightWeightingPortfolioConstructionModel(portfolio_bias=PortfolioBias.LONG)
        insights = [ins("A", UP, weight=0.8), ins("B", DOWN, weight=0.9)]
        assert percents(model, insights) == {"A": 0.8, "B": 0.0}

    def test_insights_without_weight_are_ignored(self, algo):
        model = InsightWeightingPortfolioConstructionModel()
        targets = model.create_targets(
            algo, [ins("A", UP, weight=0.3), ins("B", DOWN, weight=0.2), ins("C", UP)]
        )
        # A: 29925 / 50 = 598.5 -> 598; B: -19950 / 20 = -997.5 -> -997; C: no weight
        assert as_dict(targets) == {"A": 598.0, "B": -997.0}

    def test_lean_style_get_value_override(self):
        class ByMagnitude(InsightWeightingPortfolioConstructionModel):
            def ShouldCreateTargetForInsight(self, insight):
                return insight.magnitude is not None

            def GetValue(self, insight):
                return abs(insight.magnitude) * 10

        model = ByMagnitude()
        assert percents(model, [ins("A", UP, magnitude=0.02)]) == {"A": 0.2}
        assert model.should_create_target_for_insight(ins("A", magnitude=0.1))


class TestConfidenceWeighted:
    def test_percents(self):
        model = ConfidenceWeightedPortfolioConstructionModel()
        insights = [ins("A", UP, confidence=0.9), ins("B", UP, confidence=0.6)]
        assert percents(model, insights) == {"A": 0.6, "B": 0.4}
        assert percents(model, [ins("A", DOWN, confidence=0.25)]) == {"A": -0.25}

    def test_quantities_with_fee_steps(self, algo):
        model = ConfidenceWeightedPortfolioConstructionModel()
        targets = model.create_targets(
            algo,
            [ins("A", UP, confidence=0.9), ins("B", UP, confidence=0.6), ins("C", UP, weight=1)],
        )
        # A: 0.6 -> 59850 / 50 = 1197 exactly; the $5.99 fee leaves 59846.4: 1196
        # B: 0.4 -> 39900 / 20 = 1995 exactly; the $9.98 fee leaves 39896.0: 1994
        assert as_dict(targets) == {"A": 1196.0, "B": 1994.0}


class TestAccumulative:
    def at(self, algo, n):
        algo.set_time(day(n))
        return algo

    def test_steps_in_time_order(self, algo):
        model = AccumulativeInsightPortfolioConstructionModel()
        assert as_dict(model.create_targets(algo, [ins("A", UP), ins("B", UP)])) == {
            "A": 59.0,  # 0.03 * 99750 / 50 = 59.85
            "B": 149.0,  # 0.03 * 99750 / 20 = 149.6
        }
        self.at(algo, 1)
        got = model.create_targets(algo, [ins("A", UP), ins("B", FLAT)])
        # A: 6% -> 119.7 -> 119; B: 3% then flat -> 0
        assert as_dict(got) == {"A": 119.0, "B": 0.0}
        self.at(algo, 2)
        got = model.create_targets(algo, [ins("A", DOWN)])
        assert as_dict(got) == {"A": 59.0, "B": 0.0}

    @pytest.mark.parametrize(
        ("directions", "expected"),
        [
            ([UP, UP, DOWN], 0.03),
            ([UP, UP, FLAT], 0.03),
            ([UP, FLAT], 0.0),
            ([FLAT], 0.0),
            ([DOWN, DOWN, FLAT, DOWN], -0.06),
            ([UP, FLAT, FLAT, DOWN], -0.03),
        ],
    )
    def test_rules(self, algo, directions, expected):
        model = AccumulativeInsightPortfolioConstructionModel()
        t = algo.utc_time
        insights = [
            ins("A", d).set_times(t - timedelta(hours=len(directions) - k))
            for k, d in enumerate(directions)
        ]
        assert round(next(iter(model.percents_at(algo, insights).values())), 10) == expected

    def test_percent_and_bias(self, algo):
        t = algo.utc_time
        model = AccumulativeInsightPortfolioConstructionModel(
            portfolio_bias=PortfolioBias.LONG, percent=0.05
        )
        insights = [
            ins("A", UP).set_times(t - timedelta(hours=2)),
            ins("A", UP).set_times(t - timedelta(hours=1)),
            ins("B", DOWN).set_times(t - timedelta(hours=1)),
        ]
        got = {i.symbol: round(p, 10) for i, p in model.percents_at(algo, insights).items()}
        assert got == {"A": 0.1, "B": 0.0}

    def test_expired_insights_stop_counting(self, algo):
        model = AccumulativeInsightPortfolioConstructionModel()
        model.create_targets(algo, [ins("A", UP, days=1), ins("A", UP, days=10)])
        self.at(algo, 2)
        assert as_dict(model.create_targets(algo, [])) == {"A": 59.0}


class TestSectorWeighting:
    SECTORS: ClassVar[dict[str, str]] = {"A": "tech", "B": "tech", "C": "energy"}  # D: unknown

    def algo(self):
        return SimpleAlgorithm(flat_data(), day(0), sectors=self.SECTORS, time_zone="UTC")

    def test_percents(self):
        model = SectorWeightingPortfolioConstructionModel()
        model.sector_code_by_symbol.update(self.SECTORS)
        insights = [ins("A", UP), ins("B", DOWN), ins("C", UP)]
        assert percents(model, insights) == {"A": 0.25, "B": -0.25, "C": 0.5}
        assert percents(model, [ins("A", UP), ins("B", FLAT), ins("C", UP)]) == {
            "B": 0.0,
            "A": 0.5,
            "C": 0.5,
        }

    def test_quantities_and_unknown_sector_ignored(self):
        algo = self.algo()
        model = SectorWeightingPortfolioConstructionModel()
        model.on_securities_changed(algo, algo.security_changes(added=list(algo.securities)))
        targets = model.create_targets(
            algo, [ins("A", UP), ins("B", DOWN), ins("C", UP), ins("D", UP)]
        )
        # A: 24937.5 / 50 -> 498; B: -24937.5 / 20 -> -1246; C: 49875 / 10 = 4987.5 -> 4987,
        # whose $24.94 fee leaves 49862.6 < 49870: 4986; D has no sector
        assert as_dict(targets) == {"A": 498.0, "B": -1246.0, "C": 4986.0}
        assert model.sector_code_by_symbol == self.SECTORS

    def test_sectors_learned_without_universe_events(self):
        algo = self.algo()
        targets = SectorWeightingPortfolioConstructionModel().create_targets(
            algo, [ins("A", UP), ins("C", UP), ins("D", UP)]
        )
        assert as_dict(targets) == {"A": 997.0, "C": 4986.0}

    def test_removed_security_leaves_its_sector(self):
        algo = self.algo()
        model = SectorWeightingPortfolioConstructionModel()
        model.create_targets(algo, [ins("A", UP), ins("B", UP), ins("C", UP)])
        model.on_securities_changed(algo, algo.security_changes(removed=["C"]))
        assert "C" not in model.sector_code_by_symbol
        targets = model.create_targets(algo, [])
        # tech is now the only sector: A and B get 50% each; C's insight expired -> 0
        assert as_dict(targets) == {"A": 997.0, "B": 2493.0, "C": 0.0}
        assert not model.should_create_target_for_insight(ins("C", UP))
        model.on_securities_changed(algo, algo.security_changes(added=["C"]))
        assert model.sector_code_by_symbol["C"] == "energy"

    def test_lean_style_sector_code_override(self):
        class FirstLetter(SectorWeightingPortfolioConstructionModel):
            def GetSectorCode(self, security):
                return "vowel" if security.symbol in "AEIOU" else "consonant"

        algo = self.algo()
        model = FirstLetter()
        model.on_securities_changed(algo, algo.security_changes(added=["A", "B", "C"]))
        assert model.sector_code_by_symbol == {"A": "vowel", "B": "consonant", "C": "consonant"}
