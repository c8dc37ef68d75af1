"""The base portfolio construction model: LEAN's flow, every rebalance form, the triggers."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from riskbook.construct import (
    DateRule,
    Insight,
    PortfolioBias,
    PortfolioConstructionModel,
    PortfolioTarget,
    Resolution,
    SecurityChanges,
    SimpleAlgorithm,
    rebalancing_function,
)
from riskbook.datasets import load_sp500, synthetic_minutes
from riskbook.errors import ConfigError, DataError

from .conftest import day, flat_data

DAY = timedelta(days=1)
D = [datetime(2024, 1, d) for d in range(1, 32)]  # D[1] is 2 January


class TenPercent(PortfolioConstructionModel):
    """10% of portfolio value per insight, in its direction."""

    def determine_target_percent(self, active_insights):
        return {i: 0.1 * int(i.direction) for i in active_insights}


def as_dict(targets):
    return {t.symbol: t.quantity for t in targets}


def ins(symbol, days=5, direction=1, **kw):
    return Insight.price(symbol, timedelta(days=days), direction, **kw)


def due_sequence(model, times, insights=()):
    return [model.is_rebalance_due(list(insights), t) for t in times]


# ===================================================================== rebalance forms
class TestRebalanceForms:
    def quiet(self, rebalance):
        model = PortfolioConstructionModel(rebalance)
        model.rebalance_portfolio_on_insight_changes = False
        return model

    def test_none_rebalances_on_every_call(self):
        assert due_sequence(self.quiet(None), D[1:5]) == [True] * 4

    def test_timedelta(self):
        model = self.quiet(timedelta(days=2))
        assert due_sequence(model, D[1:7]) == [False, False, True, False, True, False]

    def test_resolution_daily_is_one_day(self):
        model = self.quiet(Resolution.DAILY)
        assert due_sequence(model, D[1:5]) == [False, True, True, True]
        # a call in between does not move the schedule
        model = self.quiet(Resolution.DAILY)
        times = [D[1], D[1] + timedelta(hours=12), D[2], D[2] + timedelta(hours=1)]
        assert due_sequence(model, times) == [False, False, True, False]

    def test_resolution_hour_and_int(self):
        hours = [D[1] + timedelta(minutes=30 * k) for k in range(5)]
        assert due_sequence(self.quiet(Resolution.HOUR), hours) == [F, F, T, F, T]
        assert due_sequence(self.quiet(int(Resolution.HOUR)), hours) == [F, F, T, F, T]
        assert due_sequence(self.quiet(pd.Timedelta(hours=1)), hours) == [F, F, T, F, T]

    def test_callable_returning_the_next_time(self):
        def next_monday(t):
            return (t + timedelta(days=7 - t.weekday())).replace(hour=0)

        model = self.quiet(next_monday)  # 1 Jan 2024 is a Monday
        assert due_sequence(model, D[1:16]) == [d.weekday() == 0 for d in D[1:16]]

    def test_callable_returning_none_waits_for_changes(self):
        calls = []

        def never(t):
            calls.append(t)

        model = self.quiet(never)
        assert due_sequence(model, D[1:4]) == [False] * 3
        assert calls == D[1:4]  # asked again on every call
        model.rebalance_portfolio_on_insight_changes = True
        assert model.is_rebalance_due([ins("A")], D[4])

    def test_callable_returning_now_rebalances_at_once_and_is_asked_again(self):
        calls = []

        def on_day_three(t):
            calls.append(t)
            return t if t == D[3] else None

        model = self.quiet(on_day_three)
        assert due_sequence(model, D[1:6]) == [False, False, True, False, False]
        assert calls == D[1:6]  # exactly once a call

    def test_date_rule_with_explicit_dates(self):
        model = self.quiet(DateRule([D[3], D[6]]))
        assert due_sequence(model, D[1:10]) == [F, F, T, F, F, T, F, F, F]

    def test_date_rule_month_start(self):
        model = self.quiet(DateRule.month_start())
        times = [datetime(2024, 1, 15), datetime(2024, 1, 31), datetime(2024, 2, 1)]
        times += [datetime(2024, 2, 2), datetime(2024, 3, 1, 16)]
        assert due_sequence(model, times) == [F, F, T, F, T]

    def test_date_rule_week_start_and_every_day(self):
        mondays = [d.weekday() == 0 for d in D[2:16]]
        assert due_sequence(self.quiet(DateRule.week_start()), D[2:16]) == mondays
        assert due_sequence(self.quiet(DateRule.every_day()), D[2:6]) == [F, T, T, T]

    def test_lean_style_date_rule_object(self):
        class LeanRule:
            def GetDates(self, start, end):
                return iter([D[2], D[4]])

        model = self.quiet(LeanRule())
        assert due_sequence(model, D[1:7]) == [F, T, F, T, F, F]

    @pytest.mark.parametrize("bad", ["monthly", 3.5, True, timedelta(0), timedelta(days=-1)])
    def test_invalid_rebalance(self, bad):
        with pytest.raises(ConfigError, match="rebalance"):
            PortfolioConstructionModel(bad)

    def test_set_rebalancing_func_resets_the_schedule(self):
        model = self.quiet(timedelta(days=10))
        model.is_rebalance_due([], D[1])
        model.SetRebalancingFunc(Resolution.DAILY)
        assert due_sequence(model, D[2:4]) == [False, True]

    def test_callable_may_return_a_timestamp(self):
        model = self.quiet(lambda t: pd.Timestamp(t) + pd.Timedelta(days=1))
        assert due_sequence(model, D[1:4]) == [False, True, True]

    def test_rebalancing_function_values(self):
        assert rebalancing_function(None) is None
        assert rebalancing_function(timedelta(hours=2))(D[1]) == D[1] + timedelta(hours=2)
        assert rebalancing_function(Resolution.MINUTE)(D[1]) == D[1] + timedelta(minutes=1)


T, F = True, False


# ===================================================================== triggers
class TestTriggers:
    def model(self, algo, **kw):
        model = TenPercent(timedelta(days=30), **kw)
        return model

    def step(self, algo, n):
        algo.set_time(day(n))

    def test_new_insights_and_expiry_trigger_a_rebalance(self, algo):
        model = self.model(algo)
        assert model.create_targets(algo, []) == []
        first = model.create_targets(algo, [ins("A", days=1)])
        assert as_dict(first) == {"A": 199.0}
        self.step(algo, 1)  # the insight closes exactly now: still active, nothing new
        assert model.create_targets(algo, []) == []
        self.step(algo, 2)  # now it has expired
        assert as_dict(model.create_targets(algo, [])) == {"A": 0.0}
        self.step(algo, 3)
        assert model.create_targets(algo, []) == []

    def test_insight_trigger_disabled(self, algo):
        model = self.model(algo)
        model.rebalance_portfolio_on_insight_changes = False
        assert model.create_targets(algo, [ins("A")]) == []
        model.RebalanceOnInsightChanges = True
        assert model.RebalanceOnInsightChanges
        assert as_dict(model.create_targets(algo, [ins("B")])) == {"A": 199.0, "B": 498.0}

    def test_algorithm_settings_override_the_model(self, algo):
        model = self.model(algo)
        algo.settings.rebalance_portfolio_on_insight_changes = False
        assert model.create_targets(algo, [ins("A")]) == []
        assert model.rebalance_portfolio_on_insight_changes is False

    def test_security_changes_trigger_a_rebalance(self, algo):
        model = self.model(algo)
        model.create_targets(algo, [ins("A", days=10)])
        self.step(algo, 1)
        assert model.create_targets(algo, []) == []
        model.on_securities_changed(algo, algo.security_changes(added=["B"]))
        assert as_dict(model.create_targets(algo, [])) == {"A": 199.0}
        assert model.create_targets(algo, []) == []  # the flag is consumed
        model.on_securities_changed(algo, SecurityChanges())  # no change: no trigger
        assert model.create_targets(algo, []) == []

    def test_security_trigger_disabled(self, algo):
        model = self.model(algo)
        model.create_targets(algo, [ins("A", days=10)])
        model.rebalance_portfolio_on_security_changes = False
        model.on_securities_changed(algo, algo.security_changes(added=["B"]))
        assert model.create_targets(algo, []) == []
        model.RebalanceOnSecurityChanges = True
        model.on_securities_changed(algo, algo.security_changes(added=["B"]))
        assert len(model.create_targets(algo, [])) == 1

    def test_schedule_rebalances_without_changes(self, algo):
        model = TenPercent(Resolution.DAILY)
        model.create_targets(algo, [ins("A", days=30)])
        algo.set_time(day(0) + timedelta(hours=6))
        assert model.create_targets(algo, []) == []
        self.step(algo, 1)
        assert as_dict(model.create_targets(algo, [])) == {"A": 199.0}


# ===================================================================== the flow
class TestFlow:
    def test_sizes_every_latest_insight(self, algo):
        targets = TenPercent().create_targets(
            algo, [ins("A"), ins("B", direction=-1), ins("C"), ins("D")]
        )
        # A 199 (fee $1); B -498 (498.75 rounded toward zero); C 997; D 399 shares would cost
        # $1.995, leaving 9974.80 < 9975, so 398
        assert as_dict(targets) == {"A": 199.0, "B": -498.0, "C": 997.0, "D": 398.0}

    def test_expired_insights_give_zero_targets_unless_another_is_active(self, algo):
        model = TenPercent()
        model.create_targets(algo, [ins("A", days=1), ins("B", days=1), ins("B", days=10)])
        algo.set_time(day(3))
        assert as_dict(model.create_targets(algo, [])) == {"B": 498.0, "A": 0.0}
        assert as_dict(model.create_targets(algo, [])) == {"B": 498.0}  # zero only once

    def test_removed_securities_expire_their_insights(self, algo):
        model = TenPercent()
        model.create_targets(algo, [ins("A"), ins("B")])
        model.on_securities_changed(algo, algo.security_changes(removed=["A"]))
        assert not algo.insights.has_active_insights("A", algo.utc_time)
        assert as_dict(model.create_targets(algo, [])) == {"B": 498.0, "A": 0.0}

    def test_removal_accepts_bare_symbols(self, algo):
        model = TenPercent()
        model.create_targets(algo, [ins("A")])
        model.OnSecuritiesChanged(algo, SecurityChanges(removed_securities=["A"]))
        assert as_dict(model.create_targets(algo, [])) == {"A": 0.0}

    def test_error_symbols_get_no_target(self):
        md = flat_data(5, {"A": 50.0})
        late = np.r_[np.nan, np.full(4, 20.0)]
        md = md.from_arrays(md.dates, ["A", "L"], close=np.c_[md.close, late])
        algo = SimpleAlgorithm(md, day(0), time_zone="UTC")
        targets = TenPercent().create_targets(algo, [ins("A"), ins("L")])
        assert as_dict(targets) == {"A": 199.0}
        assert len(algo.errors) == 1 and "L" in algo.errors[0]

    def test_insights_are_stamped_and_shared_with_the_algorithm(self, algo):
        i = ins("A")
        TenPercent().create_targets(algo, [i])
        assert i.generated_time_utc == algo.utc_time
        assert algo.insights.contains(i) and len(algo.insights) == 1

    def test_already_recorded_insights_are_not_added_twice(self, algo):
        i = ins("A").set_times(algo.utc_time)
        algo.insights.add(i)
        TenPercent().create_targets(algo, [i])
        assert len(algo.insights) == 1

    def test_own_collection_without_algorithm_insights(self, algo):
        algo.insights = None
        model = TenPercent()
        model.create_targets(algo, [ins("A")])
        assert len(model.insight_collection) == 1

    def test_base_class_needs_determine_target_percent(self, algo):
        with pytest.raises(NotImplementedError, match="determine_target_percent"):
            PortfolioConstructionModel().create_targets(algo, [ins("A")])

    def test_get_target_insights_needs_an_algorithm(self):
        with pytest.raises(ConfigError, match="algorithm"):
            TenPercent().get_target_insights()

    def test_percent_missing_from_the_dict_means_no_target(self, algo):
        class OnlyA(PortfolioConstructionModel):
            def determine_target_percent(self, active_insights):
                return {i: 0.1 for i in active_insights if i.symbol == "A"}

        assert as_dict(OnlyA().create_targets(algo, [ins("A"), ins("B")])) == {"A": 199.0}


class TestBias:
    @pytest.mark.parametrize(
        ("bias", "expected"),
        [
            (PortfolioBias.LONG_SHORT, [True, True, True]),
            (PortfolioBias.LONG, [True, False, False]),
            (PortfolioBias.SHORT, [False, True, False]),
        ],
    )
    def test_respects_portfolio_bias(self, bias, expected):
        model = PortfolioConstructionModel(portfolio_bias=bias)
        got = [model.respects_portfolio_bias(ins("A", direction=d)) for d in (1, -1, 0)]
        assert got == expected
        assert model.RespectPortfolioBias(ins("A", direction=1)) == expected[0]

    def test_values(self):
        assert [int(b) for b in PortfolioBias] == [-1, 0, 1]
        assert PortfolioBias.LongShort is PortfolioBias.LONG_SHORT


# ===================================================================== multi-alpha
class TestMultiAlpha:
    def test_latest_insight_per_symbol_wins(self, algo):
        model = TenPercent()
        old = ins("A", direction=1, source_model="slow").set_times(algo.utc_time - DAY)
        algo.insights.add(old)
        new = ins("A", direction=-1, source_model="fast")
        assert as_dict(model.create_targets(algo, [new])) == {"A": -199.0}
        assert model.get_target_insights() == [new]

    def test_same_time_the_last_emitted_wins(self, algo):
        first, second = ins("A", direction=1), ins("A", direction=-1)
        assert as_dict(TenPercent().create_targets(algo, [first, second])) == {"A": -199.0}

    def test_custom_combination_by_overriding_get_target_insights(self, algo):
        class NetVotes(PortfolioConstructionModel):
            """5% per net vote, carried by the latest insight of each symbol."""

            def get_target_insights(self):
                return self.insight_collection.get_active_insights(self.algorithm.utc_time)

            def determine_target_percent(self, active_insights):
                votes, latest = {}, {}
                for i in active_insights:
                    votes[i.symbol] = votes.get(i.symbol, 0) + int(i.direction)
                    latest[i.symbol] = i
                return {i: 0.05 * votes[s] for s, i in latest.items()}

        insights = [ins("A", 5, 1), ins("A", 5, 1), ins("A", 5, -1), ins("B", 5, 1)]
        targets = NetVotes().create_targets(algo, insights)
        # A: one net vote -> 5% of 99750 = 4987.5 -> 99 shares at 50; B: 249 shares at 20
        assert as_dict(targets) == {"A": 99.0, "B": 249.0}


# ===================================================================== LEAN spellings
class TestCamelCase:
    def test_determine_target_percent_override(self, algo):
        class Lean(PortfolioConstructionModel):
            def DetermineTargetPercent(self, activeInsights):
                return {i: 0.1 for i in activeInsights}

        model = Lean()
        assert as_dict(model.create_targets(algo, [ins("A")])) == {"A": 199.0}
        assert as_dict(model.CreateTargets(algo, [])) == {"A": 199.0}

    def test_create_targets_override_calling_super(self, algo):
        class Tagged(TenPercent):
            def CreateTargets(self, algorithm, insights):
                targets = super().CreateTargets(algorithm, insights)
                return [PortfolioTarget(t.symbol, t.quantity, "lean") for t in targets]

        model = Tagged()
        assert [t.tag for t in model.create_targets(algo, [ins("A")])] == ["lean"]
        assert [t.tag for t in model.CreateTargets(algo, [])] == ["lean"]

    def test_snake_case_override_reached_through_camel_case(self, algo):
        model = TenPercent()
        assert as_dict(model.CreateTargets(algo, [ins("A")])) == {"A": 199.0}
        assert model.DetermineTargetPercent([ins("B")])  # bound to the subclass' method

    def test_lean_multi_alpha_example(self, algo):
        class MultipleAlpha(PortfolioConstructionModel):
            def GetTargetInsights(self):
                return list(self.InsightCollection.GetActiveInsights(self.Algorithm.UtcTime))

            def DetermineTargetPercent(self, activeInsights):
                return {activeInsights[-1]: 0.1} if activeInsights else {}

        targets = MultipleAlpha().create_targets(algo, [ins("A"), ins("B")])
        assert as_dict(targets) == {"B": 498.0}

    def test_should_create_and_rebalance_and_securities_overrides(self, algo):
        seen = []

        class Lean(TenPercent):
            def ShouldCreateTargetForInsight(self, insight):
                return insight.symbol != "B"

            def IsRebalanceDue(self, insights, algorithmUtc):
                return len(insights) > 0

            def OnSecuritiesChanged(self, algorithm, changes):
                seen.append(changes.added_symbols)
                super().OnSecuritiesChanged(algorithm, changes)

        model = Lean()
        assert as_dict(model.create_targets(algo, [ins("A"), ins("B")])) == {"A": 199.0}
        assert model.create_targets(algo, []) == []
        model.on_securities_changed(algo, algo.security_changes(added=["C"]))
        assert seen == [["C"]]

    def test_lean_properties(self, algo):
        model = TenPercent()
        model.create_targets(algo, [ins("A")])
        assert model.Algorithm is algo and model.InsightCollection is algo.insights


# ===================================================================== history helpers
class TestHistory:
    def test_history_returns_are_lean_rate_of_change_point_in_time(self):
        data = load_sp500().select(["AAPL", "KO"])
        algo = SimpleAlgorithm(data, "2020-03-16")
        model = PortfolioConstructionModel()
        got = model.history_returns(["AAPL", "KO"], 63, algorithm=algo)
        want = data.slice(end="2020-03-16").returns().tail(62)
        pd.testing.assert_frame_equal(got, want, check_names=False, check_freq=False)
        weekly = model.history_returns(["AAPL"], 10, roc_period=5, algorithm=algo)
        closes = data.slice(end="2020-03-16").to_frame()["AAPL"].tail(50)
        np.testing.assert_allclose(weekly["AAPL"], (closes / closes.shift(5) - 1).tail(10))
        assert weekly.index[-1] == pd.Timestamp("2020-03-16")

    def test_history_closes_uses_the_stored_algorithm(self, algo):
        model = TenPercent()
        with pytest.raises(ConfigError):
            model.history_closes(["A"], 5)
        model.create_targets(algo, [])
        algo.set_time(day(9))
        closes = model.history_closes(["A", "B"], 5)
        assert closes.shape == (5, 2) and closes.index[-1] == day(9)
        assert model.history_closes([], 5).empty


# ===================================================================== SimpleAlgorithm
class TestSimpleAlgorithm:
    def test_history_never_returns_a_bar_after_time(self):
        data = load_sp500()
        for when in ["1995-06-30", "2008-09-15", "2020-03-16 12:00"]:
            algo = SimpleAlgorithm(data, when)
            h = algo.history(list(data.symbols), 500)
            assert h.index.get_level_values("time").max() <= pd.Timestamp(when)

    def test_history_on_minute_data(self):
        minutes = synthetic_minutes(load_sp500().select(["AAPL"]).slice("2020-03-10", "2020-03-13"))
        algo = SimpleAlgorithm(minutes, "2020-03-12 12:00")
        m = algo.history("AAPL", 10, Resolution.MINUTE)
        assert m.index.get_level_values("time").max() == pd.Timestamp("2020-03-12 12:00")
        assert len(m) == 10 and set(m.columns) == {"open", "high", "low", "close", "volume"}
        d = algo.history("AAPL", 10, Resolution.DAILY)  # only completed sessions
        assert d.index.get_level_values("time").max() == pd.Timestamp("2020-03-11")
        with pytest.raises(ConfigError):
            algo.history("AAPL", 3, Resolution.HOUR)

    def test_history_by_timedelta_and_errors(self, algo):
        algo.set_time(day(9))
        h = algo.history(["A"], timedelta(days=7))
        assert list(h.index.get_level_values("time")) == [day(k) for k in range(5, 10)]
        with pytest.raises(DataError):
            algo.history(["NOPE"], 3)
        with pytest.raises(ConfigError):
            algo.history(["A"], -1)

    def test_prices_follow_time_and_late_listings_have_no_data(self):
        md = flat_data(3, {"A": 50.0})
        md = md.from_arrays(md.dates, ["A", "L"], close=np.c_[[50.0, 51.0, 52.0], [np.nan, 9, 10]])
        algo = SimpleAlgorithm(md, day(0))
        assert not algo.securities["L"].has_data and algo.securities["L"].price == 0
        algo.set_time(day(2))
        assert algo.securities["A"].price == 52.0 and algo.securities["L"].has_data
        gone = md.from_arrays(md.dates, ["A", "X"], close=np.c_[[50.0, 51, 52], [7.0, 8, np.nan]])
        assert SimpleAlgorithm(gone, day(2)).securities["X"].price == 8.0  # last known close

    def test_portfolio_values_and_fills(self, algo):
        algo.set_quantity("A", 100)
        assert algo.portfolio["A"].holdings_value == 5000.0 and algo.portfolio["A"].invested
        assert algo.portfolio.total_portfolio_value == 105_000.0
        assert algo.portfolio.margin_remaining == 105_000 - 2500
        fee = algo.fill_targets([PortfolioTarget("A", 0), PortfolioTarget("B", 10)])
        assert fee == 2.0 and algo.portfolio.cash == 100_000 + 5000 - 200 - 2
        with pytest.raises(KeyError):
            algo.portfolio["NOPE"]

    def test_utc_time_and_lean_spellings(self):
        algo = SimpleAlgorithm(flat_data(), "2024-01-02")
        assert algo.UtcTime == datetime(2024, 1, 2, 5, 0)  # New York, winter
        assert algo.Time == datetime(2024, 1, 2)
        assert algo.Portfolio.TotalPortfolioValue == 100_000
        assert algo.Securities["A"].Price == 50.0

    def test_bad_arguments(self):
        with pytest.raises(DataError):
            SimpleAlgorithm(flat_data(), day(0), positions={"NOPE": 1})
        with pytest.raises(ConfigError):
            SimpleAlgorithm(flat_data(), day(0), leverage=0)
