"""Insight and InsightCollection: LEAN's semantics, method by method."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from riskbook.construct import Insight, InsightCollection, InsightDirection, InsightType, Resolution
from riskbook.construct.insight import latest_per_symbol, period_span
from riskbook.errors import ConfigError

T0 = datetime(2024, 1, 2, 21, 0)
DAY = timedelta(days=1)


def emitted(symbol, days=1.0, direction=1, at=T0, **kw):
    return Insight(symbol, timedelta(days=days), direction, **kw).set_times(at)


class TestInsight:
    def test_fields_and_defaults(self):
        ins = Insight("AAPL", DAY, InsightDirection.DOWN, 0.02, 0.7, "alpha", 0.3, tag="t")
        assert (ins.symbol, ins.direction, ins.magnitude, ins.confidence) == (
            "AAPL",
            InsightDirection.DOWN,
            0.02,
            0.7,
        )
        assert (ins.source_model, ins.weight, ins.tag, ins.insight_type) == (
            "alpha",
            0.3,
            "t",
            InsightType.PRICE,
        )
        assert ins.generated_time_utc is None and ins.close_time_utc is None

    def test_price_factory_and_lean_spellings(self):
        ins = Insight.Price("SPY", DAY, 1, magnitude=0.01, weight=0.5)
        assert ins.insight_type == InsightType.PRICE
        assert (ins.Symbol, ins.Direction, ins.Magnitude, ins.Weight) == ("SPY", 1, 0.01, 0.5)
        assert InsightDirection.Up is InsightDirection.UP

    def test_ids_are_unique_and_identity_hashing(self):
        a, b = Insight("A", DAY, 1), Insight("A", DAY, 1)
        assert a.id != b.id
        assert a != b and len({a: 1, b: 2}) == 2

    @pytest.mark.parametrize("direction", [2, "up", None])
    def test_bad_direction(self, direction):
        with pytest.raises(ConfigError, match="direction"):
            Insight("A", DAY, direction)

    @pytest.mark.parametrize("period", [5, timedelta(milliseconds=500), timedelta(0)])
    def test_bad_period(self, period):
        with pytest.raises(ConfigError, match="period"):
            Insight("A", period, 1)

    def test_tick_period_counts_as_one_second(self):
        assert Insight("A", Resolution.TICK, 1).span == timedelta(seconds=1)

    @pytest.mark.parametrize(
        ("period", "span"),
        [
            (timedelta(hours=3), timedelta(hours=3)),
            (Resolution.DAILY, DAY),
            (Resolution.HOUR, timedelta(hours=1)),
            (Resolution.MINUTE, timedelta(minutes=1)),
        ],
    )
    def test_period_as_timedelta_or_one_bar(self, period, span):
        ins = Insight("A", period, 1).set_times(T0)
        assert ins.close_time_utc == T0 + span
        assert period_span(period) == span

    def test_set_times_accepts_strings_and_aware_times(self):
        ins = Insight("A", DAY, 1).set_times("2024-01-02T16:00:00-05:00")
        assert ins.generated_time_utc == datetime(2024, 1, 2, 21, 0)

    def test_active_and_expired_at_the_boundary(self):
        ins = emitted("A", 1)
        close = T0 + DAY
        assert ins.is_active(close) and not ins.is_expired(close)  # still active at close
        later = close + timedelta(microseconds=1)
        assert ins.is_expired(later) and not ins.is_active(later)
        assert ins.IsActive(T0)

    def test_unemitted_insight_has_no_times(self):
        with pytest.raises(ConfigError, match="set_times"):
            Insight("A", DAY, 1).is_active(T0)

    def test_expire(self):
        ins = emitted("A", 10)
        now = T0 + 2 * DAY
        ins.expire(now)
        assert not ins.is_active(now)
        assert ins.close_time_utc < now
        assert ins.period == ins.close_time_utc - T0
        old_close = ins.close_time_utc
        ins.expire(now + DAY)  # already closed: unchanged
        assert ins.close_time_utc == old_close


class TestInsightCollection:
    def test_add_add_range_len_iter(self):
        c = InsightCollection()
        a, b, a2 = emitted("A"), emitted("B"), emitted("A", 3)
        c.add(a)
        c.add_range([b, a2])
        c.add(a)  # the same insight twice is kept once
        assert len(c) == 3
        assert list(c) == [a, a2, b]  # grouped by symbol, symbols in first-arrival order
        assert c.keys() == ["A", "B"]
        assert c["A"] == [a, a2] and c["Z"] == []

    def test_add_requires_emitted_insight(self):
        with pytest.raises(ConfigError):
            InsightCollection().add(Insight("A", DAY, 1))

    def test_contains_and_contains_key(self):
        a = emitted("A")
        c = InsightCollection([a])
        assert c.contains(a) and a in c and c.Contains(a)
        assert not c.contains(emitted("A"))
        assert c.contains_key("A") and not c.contains_key("B") and c.ContainsKey("A")
        assert c.try_get_value("A") == [a] and c.try_get_value("B") is None

    def test_get_active_insights_and_has_active(self):
        short, long_ = emitted("A", 1), emitted("B", 5)
        c = InsightCollection([short, long_])
        later = T0 + 2 * DAY
        assert c.get_active_insights(T0) == [short, long_]
        assert c.get_active_insights(later) == [long_]
        assert c.has_active_insights("B", later) and not c.has_active_insights("A", later)
        assert not c.has_active_insights("Z", T0)

    def test_next_expiry_time(self):
        c = InsightCollection()
        assert c.get_next_expiry_time() is None
        c.add_range([emitted("A", 3), emitted("B", 1), emitted("C", 2)])
        assert c.get_next_expiry_time() == T0 + DAY

    def test_remove_expired_insights(self):
        a, b, a_long = emitted("A", 1), emitted("B", 1), emitted("A", 4)
        c = InsightCollection([a, b, a_long])
        assert c.remove_expired_insights(T0 + DAY) == []  # not yet: active at close
        removed = c.remove_expired_insights(T0 + 2 * DAY)
        assert removed == [a, b]
        assert list(c) == [a_long] and c.keys() == ["A"]

    def test_expire_by_symbol_insight_and_iterable(self):
        a1, a2, b, c_ = emitted("A", 5), emitted("A", 6), emitted("B", 5), emitted("C", 5)
        coll = InsightCollection([a1, a2, b, c_])
        now = T0 + DAY
        assert coll.expire("A", now) == [a1, a2]
        assert coll.expire(b, now) == [b]
        assert coll.expire(["C", "Z"], now) == [c_]
        assert coll.get_active_insights(now) == []
        assert len(coll) == 4  # expired, not removed: the next removal returns them
        assert len(coll.remove_expired_insights(now)) == 4

    def test_remove(self):
        a, b = emitted("A"), emitted("B")
        c = InsightCollection([a, b])
        assert c.remove(a) and not c.remove(a)
        assert list(c) == [b] and not c.contains_key("A")

    def test_clear(self):
        c = InsightCollection([emitted("A"), emitted("B"), emitted("C")])
        c.clear(["A", "Z"])
        assert c.keys() == ["B", "C"]
        c.clear("B")
        assert c.keys() == ["C"]
        c.clear()
        assert len(c) == 0 and c.get_next_expiry_time() is None

    def test_get_insights_with_predicate(self):
        c = InsightCollection([emitted("A", direction=1), emitted("B", direction=-1)])
        assert [i.symbol for i in c.get_insights(lambda i: i.direction < 0)] == ["B"]
        assert len(c.GetInsights()) == 2


def test_latest_per_symbol_uses_generated_time_then_emission_order():
    old = emitted("A", 5, at=T0)
    new = emitted("A", 5, -1, at=T0 + timedelta(hours=1))
    b1 = emitted("B", 5, 1, at=T0)
    b2 = emitted("B", 5, -1, at=T0)  # same time: the one emitted later wins
    assert latest_per_symbol([new, b1, old, b2]) == [new, b2]
