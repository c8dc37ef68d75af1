"""The sleeve return tracker: hand-computed returns, decision timing, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskbook import MarketData
from riskbook.book.sleeves import demo_sleeves, unit_gross
from riskbook.book.tracker import SleeveReturnTracker
from riskbook.datasets import synthetic_minutes
from riskbook.errors import DataError, TargetError

NAN = np.nan


def _data(close, symbols=None) -> MarketData:
    close = np.asarray(close, dtype=float)
    symbols = symbols or [f"S{i + 1}" for i in range(close.shape[1])]
    dates = pd.bdate_range("2024-01-01", periods=close.shape[0]).to_numpy()
    return MarketData.from_arrays(dates, symbols, close=close)


@pytest.fixture
def small() -> MarketData:
    # returns (bars 1..5): S1 +10%, -10%, +20%, 0, +5%; S2 -5%, +10%, 0, -20%, +10%;
    # S3 lists at bar 2, then +50%, -10%, +20%
    return _data(
        [
            [100.0, 100.0, NAN],
            [110.0, 95.0, NAN],
            [99.0, 104.5, 10.0],
            [118.8, 104.5, 15.0],
            [118.8, 83.6, 13.5],
            [124.74, 91.96, 16.2],
        ]
    )


def test_returns_by_hand_with_decisions_held_between_bars(small):
    tracker = SleeveReturnTracker()
    d = small.dates
    tracker.record(d[0], {"a": np.array([1.0, 1.0, 0.0])})  # -> [0.5, 0.5, 0]
    assert tracker.update(small.until(d[2])) == 2
    tracker.record(d[2], {"a": np.array([0.0, -2.0, 2.0]), "b": np.array([3.0, 0.0, 1.0])})
    assert tracker.update(small.until(d[4])) == 2
    tracker.record(d[4], {"a": np.array([-1.0, 0.0, 0.0]), "b": None})
    assert tracker.update(small.until(d[5])) == 1

    dates, r, names = tracker.returns()
    assert names == ("a", "b")
    np.testing.assert_array_equal(dates, d[1:])
    expected_a = [
        0.5 * 0.10 + 0.5 * -0.05,  # bar 1: first decision
        0.5 * -0.10 + 0.5 * 0.10,  # bar 2: still the first decision (held, rebalanced daily)
        -0.5 * 0.0 + 0.5 * 0.50,  # bar 3: decision at bar 2
        -0.5 * -0.20 + 0.5 * -0.10,  # bar 4
        -1.0 * 0.05,  # bar 5: decision at bar 4
    ]
    expected_b = [NAN, NAN, 0.75 * 0.20 + 0.25 * 0.50, 0.75 * 0.0 + 0.25 * -0.10, NAN]
    np.testing.assert_allclose(r[0], expected_a, atol=1e-12)
    np.testing.assert_allclose(r[1], expected_b, atol=1e-12)
    assert tracker.observations("a") == 5 and tracker.observations("b") == 2
    frame = tracker.frame(window=2)
    assert list(frame.columns) == ["a", "b"] and frame.index[-1] == pd.Timestamp(d[5])
    np.testing.assert_allclose(frame["a"], expected_a[-2:], atol=1e-12)


def test_unlisted_symbol_returns_count_as_zero(small):
    tracker = SleeveReturnTracker()
    tracker.record(small.dates[0], {"c": np.array([0.0, 0.0, 1.0])})  # S3 not yet listed
    tracker.update(small.until(small.dates[3]))
    _, r, _ = tracker.returns()
    np.testing.assert_allclose(r[0], [0.0, 0.0, 0.5])


def test_update_is_incremental_and_idempotent(small):
    tracker = SleeveReturnTracker()
    assert tracker.update(small.until(small.dates[5])) == 0  # nothing recorded yet
    tracker.record(small.dates[1], {"a": np.array([1.0, 0.0, 0.0])})
    assert tracker.update(small.until(small.dates[1])) == 0  # no bar after the decision yet
    assert tracker.update(small.until(small.dates[3])) == 2
    assert tracker.update(small.until(small.dates[3])) == 0
    assert tracker.update(small.until(small.dates[2])) == 0  # an older view adds nothing
    assert len(tracker) == 2 and tracker.last_date == small.dates[3]


def test_daily_loop_matches_an_independent_computation(sp500):
    data = sp500.slice("2011-01-01", "2013-12-31")
    sleeves = demo_sleeves()
    tracker = SleeveReturnTracker()
    held = {}
    for bar in range(260, len(data.dates)):
        view = data.until(data.dates[bar])
        tracker.update(view)
        held[bar] = {s.name: s.weights(view) for s in sleeves}
        tracker.record(data.dates[bar], held[bar])
    dates, r, names = tracker.returns()
    asset = data.returns().to_numpy()  # row j - 1 is bar j's return
    expected = np.array(
        [
            [unit_gross(held[j - 1][n]) @ asset[j - 1] for j in range(261, len(data.dates))]
            for n in names
        ]
    )
    np.testing.assert_allclose(r, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(dates, data.dates[261:])


def test_weekly_decisions_hold_weights_over_the_week(sp500):
    data = sp500.slice("2012-01-01", "2012-12-31")
    tracker = SleeveReturnTracker()
    rng = np.random.default_rng(3)
    decisions = list(range(0, len(data.dates), 5))
    weights = {bar: rng.normal(size=20) for bar in decisions}
    for bar in range(len(data.dates)):
        tracker.update(data.until(data.dates[bar]))
        if bar in weights:
            tracker.record(data.dates[bar], {"w": weights[bar]})
    _, r, _ = tracker.returns()
    asset = data.returns().to_numpy()
    for j in range(1, len(data.dates)):
        last = max(b for b in decisions if b < j)
        assert r[0, j - 1] == pytest.approx(unit_gross(weights[last]) @ asset[j - 1], abs=1e-15)


def test_no_look_ahead_perturbing_after_t_leaves_returns_through_t_unchanged(sp500):
    data = sp500.slice("2005-01-01", "2008-12-31")
    t_bar = 700
    rng = np.random.default_rng(11)
    future = data.close.copy()
    future[t_bar + 1 :] *= np.exp(rng.normal(0.0, 0.2, future[t_bar + 1 :].shape))
    other = MarketData.from_arrays(data.dates, data.symbols, close=future)
    sleeves = demo_sleeves()

    def run(md: MarketData) -> tuple[np.ndarray, np.ndarray]:
        tracker = SleeveReturnTracker()
        for bar in range(300, t_bar + 1, 3):
            view = md.until(md.dates[bar])
            tracker.update(view)
            tracker.record(view.time, {s.name: s.weights(view) for s in sleeves})
        tracker.update(md.until(md.dates[t_bar]))
        dates, r, _ = tracker.returns()
        return dates, r

    dates, r = run(data)
    dates_other, r_other = run(other)
    assert dates[-1] == data.dates[t_bar]
    np.testing.assert_array_equal(dates, dates_other)
    np.testing.assert_array_equal(r, r_other)


def test_minute_decisions_earn_from_the_next_daily_bar(sp500):
    daily = sp500.slice("2015-01-01", "2015-02-27").select(["KO", "PEP", "XOM"])
    minutes = synthetic_minutes(daily, minutes_per_day=10)
    tracker = SleeveReturnTracker()
    w = np.array([1.0, -1.0, 0.0])
    # decisions at the 5th minute of sessions 10 and 20 (they see the daily bars through 9, 19)
    for session in (10, 20):
        tracker.update(minutes.until(minutes.dates[session * 10 + 4]))
        tracker.record(minutes.dates[session * 10 + 4], {"kp": w * (1 if session == 10 else -1)})
    tracker.update(minutes.until(minutes.dates[-1]))
    dates, r, _ = tracker.returns()
    np.testing.assert_array_equal(dates, daily.dates[11:])
    asset = daily.returns().to_numpy()
    sign = np.where(np.arange(11, len(daily.dates)) <= 20, 1.0, -1.0)
    np.testing.assert_allclose(r[0], sign * (asset[10:] @ (w / 2)), rtol=1e-12)


def test_same_time_records_merge(small):
    tracker = SleeveReturnTracker()
    tracker.record(small.dates[0], {"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0]})
    tracker.record(small.dates[0], {"b": [1.0, 0.0, 0.0]})
    tracker.update(small.until(small.dates[1]))
    _, r, _ = tracker.returns()
    np.testing.assert_allclose(r[:, 0], [0.10, 0.10])


def test_flat_sleeve_earns_zero_not_nan(small):
    tracker = SleeveReturnTracker()
    tracker.record(small.dates[0], {"flat": np.zeros(3)})
    tracker.update(small.until(small.dates[2]))
    np.testing.assert_array_equal(tracker.returns()[1], [[0.0, 0.0]])


def test_periods_pair_the_held_weights_with_what_followed(small):
    tracker = SleeveReturnTracker()
    tracker.record(small.dates[0], {"a": [2.0, 2.0, 0.0]})
    tracker.update(small.until(small.dates[2]))
    periods = list(tracker.periods())
    assert [p.date for p in periods] == list(small.dates[1:3])
    np.testing.assert_allclose(periods[0].weights["a"], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(periods[1].returns, [-0.1, 0.1, NAN])
    assert len(list(tracker.periods(start=1))) == 1
    with pytest.raises(TypeError):
        periods[0].weights["a"] = np.zeros(3)  # read-only: the record is the audit trail


def test_bad_input_raises(small):
    tracker = SleeveReturnTracker()
    tracker.record(small.dates[2], {"a": [1.0, 0.0, 0.0]})
    with pytest.raises(DataError, match="time order"):
        tracker.record(small.dates[1], {"a": [1.0, 0.0, 0.0]})
    with pytest.raises(TargetError, match="has 2 weights, expected 3"):
        tracker.record(small.dates[3], {"a": [1.0, 0.0]})
    with pytest.raises(TargetError, match="non-finite weight at position 1"):
        tracker.record(small.dates[3], {"a": [1.0, NAN, 0.0]})
    tracker.update(small.until(small.dates[4]))
    with pytest.raises(DataError, match="already computed"):
        tracker.record(small.dates[3], {"a": [1.0, 0.0, 0.0]})
    with pytest.raises(DataError, match="window"):
        tracker.returns(window=0)
    with pytest.raises(DataError, match="symbols"):
        tracker.update(_data(np.full((6, 2), 10.0)).until("2024-01-08"))
