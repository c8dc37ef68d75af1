"""Stage 5: the m(DD) curve, vol-adjusted units, the stateful governor, kill tiers, govern()."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.book.config import GovernorConfig, KillTierConfig
from riskbook.book.governor import (
    TIERS,
    DrawdownGovernor,
    apply_kill_tier,
    drawdown_multiplier,
    effective_drawdown,
    govern,
    kill_tier,
)
from riskbook.errors import ConfigError, DataError, TargetError

DAY = np.datetime64("2024-01-02", "D")


# --- the curve ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dd", "m"),
    [
        (0.0, 1.0),
        (0.03, 1.0),
        (0.05, 1.0),
        (0.065, 29 / 35),  # 1 - 0.8 * 0.015 / 0.07
        (0.085, 0.6),  # halfway down the taper
        (0.10, 3 / 7),  # 1 - 0.8 * 5 / 7
        (0.12, 0.2),
        (0.135, 0.2),
        (0.1499, 0.2),
        (0.15, 0.0),
        (0.5, 0.0),
        (1.0, 0.0),
    ],
)
def test_curve_hand_values(dd, m):
    assert drawdown_multiplier(dd) == pytest.approx(m, abs=1e-12)


def test_curve_is_vectorised_and_keeps_the_kind():
    out = drawdown_multiplier(np.array([[0.0, 0.085], [0.12, 0.2]]))
    assert isinstance(out, np.ndarray) and out.shape == (2, 2)
    np.testing.assert_allclose(out, [[1.0, 0.6], [0.2, 0.0]], rtol=0, atol=1e-12)
    assert isinstance(drawdown_multiplier(0.1), float)
    assert drawdown_multiplier([0.0, 0.2]).tolist() == [1.0, 0.0]


def test_curve_with_a_custom_config():
    cfg = GovernorConfig(start=0.1, floor_at=0.2, floor=0.5, hard_cap=0.3)
    assert drawdown_multiplier(0.15, cfg) == pytest.approx(0.75, abs=1e-12)
    assert drawdown_multiplier(0.25, cfg) == 0.5
    assert drawdown_multiplier(0.3, cfg) == 0.0


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 0.3), st.floats(0.0, 0.3))
def test_curve_is_non_increasing(a, b):
    lo, hi = sorted((a, b))
    assert drawdown_multiplier(hi) <= drawdown_multiplier(lo)


def test_curve_is_non_increasing_on_a_fine_grid():
    # Dense around the joins, where rounding could otherwise make it tick up by an ulp.
    grid = np.sort(np.concatenate([np.linspace(0, 0.2, 20001), 0.12 + np.arange(-50, 50) * 1e-17]))
    assert np.all(np.diff(drawdown_multiplier(grid)) <= 0)


@pytest.mark.parametrize("dd", [-0.01, float("nan"), np.array([0.1, -0.1]), "deep"])
def test_bad_drawdown_is_named(dd):
    with pytest.raises(ConfigError) as err:
        drawdown_multiplier(dd)
    assert err.value.parameter == "drawdown"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"start": 0.12, "floor_at": 0.12}, "governor.floor_at"),
        ({"floor_at": 0.15, "hard_cap": 0.15}, "governor.hard_cap"),
        ({"floor": 1.5}, "governor.floor"),
        ({"start": -0.01}, "governor.start"),
        ({"hard_cap": float("nan")}, "governor.hard_cap"),
        ({"cooloff_days": -1}, "governor.cooloff_days"),
        ({"cooloff_days": 2.5}, "governor.cooloff_days"),
    ],
)
def test_bad_governor_config_is_named(kwargs, parameter):
    with pytest.raises(ConfigError) as err:
        drawdown_multiplier(0.1, GovernorConfig(**kwargs))
    assert err.value.parameter == parameter
    with pytest.raises(ConfigError):
        DrawdownGovernor(GovernorConfig(**kwargs))


# --- vol-adjusted units ------------------------------------------------------------------------

ADJ = GovernorConfig(vol_adjusted=True)


@pytest.mark.parametrize(
    ("vol_target", "dd", "m"),
    [
        (0.12, 0.06, 1.0),  # 0.06 * 0.10 / 0.12 = 0.05: just at the start
        (0.12, 0.102, 0.6),  # -> 0.085
        (0.12, 0.144, 0.2),  # -> 0.12
        (0.12, 0.16, 0.2),  # -> 0.1333: a plain governor would be flat here
        (0.12, 0.19, 0.0),  # -> 0.1583
        (0.08, 0.04, 1.0),  # -> 0.05
        (0.08, 0.068, 0.6),  # -> 0.085
        (0.08, 0.13, 0.0),  # -> 0.1625
        (0.10, 0.085, 0.6),  # the reference target changes nothing
    ],
)
def test_vol_adjusted_thresholds_scale_with_the_target(vol_target, dd, m):
    assert drawdown_multiplier(dd, ADJ, vol_target=vol_target) == pytest.approx(m, abs=1e-12)


def test_vol_adjustment_only_when_asked_and_given():
    assert effective_drawdown(0.102, ADJ, vol_target=0.12) == pytest.approx(0.085, abs=1e-15)
    assert effective_drawdown(0.102, GovernorConfig(), vol_target=0.12) == 0.102
    assert effective_drawdown(0.102, ADJ) == 0.102
    with pytest.raises(ConfigError) as err:
        drawdown_multiplier(0.1, ADJ, vol_target=0.0)
    assert err.value.parameter == "vol_target"


# --- kill tiers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dd", "tier"),
    [
        (0.0, "NORMAL"),
        (0.0799, "NORMAL"),
        (0.08, "WARN"),
        (0.0999, "WARN"),
        (0.10, "THROTTLE"),
        (0.1299, "THROTTLE"),
        (0.13, "NO_NEW"),
        (0.1499, "NO_NEW"),
        (0.15, "FLATTEN"),
        (0.9, "FLATTEN"),
    ],
)
def test_kill_tier_boundaries(dd, tier):
    assert kill_tier(dd, KillTierConfig()) == tier


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"warn": 0.12}, "kill_tiers.throttle"),
        ({"flatten": 0.12}, "kill_tiers.flatten"),
        ({"warn": -0.1}, "kill_tiers.warn"),
        ({"throttle_factor": 1.5}, "kill_tiers.throttle_factor"),
    ],
)
def test_bad_kill_tier_config_is_named(kwargs, parameter):
    with pytest.raises(ConfigError) as err:
        kill_tier(0.1, KillTierConfig(**kwargs))
    assert err.value.parameter == parameter


def test_kill_tier_refuses_bad_drawdowns():
    for bad in (-0.1, float("nan"), [0.1, 0.2]):
        with pytest.raises(ConfigError) as err:
            kill_tier(bad)
        assert err.value.parameter == "drawdown"


W = np.array([0.4, 0.2, -0.2, 0.1])
PREV = np.array([0.1, 0.0, -0.3, -0.1])


def test_normal_and_warn_change_nothing():
    for tier in ("NORMAL", "WARN"):
        out, info = apply_kill_tier(W, PREV, tier)
        np.testing.assert_array_equal(out, W)
        assert info["factor"] == 1.0
        assert info["alert"] is (tier == "WARN")


def test_throttle_halves():
    out, info = apply_kill_tier(W, PREV, "THROTTLE", KillTierConfig(throttle_factor=0.5))
    np.testing.assert_array_equal(out, W * 0.5)
    assert info["gross_before"] == pytest.approx(0.9)
    assert info["gross_after"] == pytest.approx(0.45)


def test_no_new_throttles_then_lets_nothing_grow():
    out, info = apply_kill_tier(W, PREV, "NO_NEW", symbols=("A", "B", "C", "D"))
    # throttled: [0.2, 0.1, -0.1, 0.05]; A capped at its 0.1, B not held, C shrinks (allowed),
    # D is held short so a long target would open a new position: flat instead.
    np.testing.assert_array_equal(out, [0.1, 0.0, -0.1, 0.0])
    assert info["held_back"] == ["A", "B", "D"]


def test_no_new_without_holdings_opens_nothing():
    out, _ = apply_kill_tier(W, None, "NO_NEW")
    np.testing.assert_array_equal(out, np.zeros(4))


def test_flatten_is_flat():
    out, info = apply_kill_tier(W, PREV, "FLATTEN")
    np.testing.assert_array_equal(out, np.zeros(4))
    assert info["factor"] == 0.0


def test_bad_tier_and_weights():
    with pytest.raises(ConfigError) as err:
        apply_kill_tier(W, PREV, "PANIC")
    assert err.value.parameter == "tier"
    with pytest.raises(TargetError) as err:
        apply_kill_tier(W, PREV[:3], "NO_NEW")
    assert err.value.parameter == "previous_weights"


vectors = st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4).map(np.array)


@settings(max_examples=150, deadline=None)
@given(vectors, vectors, st.floats(0.0, 1.0))
def test_kill_tiers_only_reduce_and_harden_monotonically(w, prev, factor):
    cfg = KillTierConfig(throttle_factor=factor)
    gross = []
    for tier in TIERS:
        out, _ = apply_kill_tier(w, prev, tier, cfg)
        assert np.all(np.abs(out) <= np.abs(w))
        assert np.all(out * w >= 0)
        if tier == "NO_NEW":
            assert np.all(np.abs(out) <= np.abs(prev))
        gross.append(np.abs(out).sum())
    assert all(b <= a for a, b in itertools.pairwise(gross))


# --- the stateful governor ---------------------------------------------------------------------


def test_peak_and_drawdown_tracking():
    gov = DrawdownGovernor()
    gov.update(100.0, DAY)
    assert gov.update(110.0, DAY + 1).peak == 110.0
    s = gov.update(99.0, DAY + 2)
    assert s.drawdown == pytest.approx(0.1, abs=1e-15)
    assert s.multiplier == pytest.approx(3 / 7, abs=1e-12)
    assert (s.in_cooloff, s.cooloff_day, s.rebased) == (False, 0, False)


def test_cooloff_counts_distinct_trading_days_and_re_enters_at_the_floor():
    gov = DrawdownGovernor(GovernorConfig(cooloff_days=3))
    gov.update(100.0, DAY)
    s = gov.update(84.0, np.datetime64("2024-01-05T10:00"))  # a Friday: cooloff day 1
    assert (s.multiplier, s.in_cooloff, s.cooloff_day, s.cooloff_remaining) == (0.0, True, 1, 2)
    s = gov.update(84.0, np.datetime64("2024-01-05T15:30"))  # same day: still day 1
    assert (s.cooloff_day, s.cooloff_remaining) == (1, 2)
    s = gov.update(84.0, np.datetime64("2024-01-08T10:00"))  # next trading day (Monday)
    assert (s.cooloff_day, s.cooloff_remaining) == (2, 1)
    s = gov.update(84.0, np.datetime64("2024-01-09T10:00"))
    assert (s.in_cooloff, s.cooloff_day, s.cooloff_remaining) == (True, 3, 0)
    s = gov.update(84.0, np.datetime64("2024-01-10T10:00"))  # cooloff served: back on the curve
    assert s.rebased and not s.in_cooloff
    assert s.peak == pytest.approx(84.0 / 0.88)
    assert s.high_water == 100.0
    assert s.drawdown == pytest.approx(0.12, abs=1e-12)
    assert s.multiplier == pytest.approx(0.2, abs=1e-12)
    # No whipsaw: standing still keeps the floor instead of re-triggering...
    s = gov.update(84.0, np.datetime64("2024-01-11"))
    assert (s.in_cooloff, s.rebased) == (False, False)
    assert s.multiplier == pytest.approx(0.2, abs=1e-12)
    # ...a further 2.4% loss is still on the floor (DD 14.1% of the lowered peak)...
    assert gov.update(82.0, np.datetime64("2024-01-12")).multiplier == pytest.approx(0.2)
    # ...and recovery ramps up along the curve, full size only near the lowered peak.
    s = gov.update(88.0, np.datetime64("2024-01-16"))
    assert s.multiplier == pytest.approx(1 - 0.8 * (1 - 88.0 * 0.88 / 84.0 - 0.05) / 0.07)
    assert gov.update(91.0, np.datetime64("2024-01-17")).multiplier == 1.0


def test_a_fresh_loss_after_re_entry_triggers_a_new_cooloff():
    gov = DrawdownGovernor(GovernorConfig(cooloff_days=1))
    gov.update(100.0, DAY)
    assert gov.update(84.0, DAY + 1).in_cooloff
    assert gov.update(84.0, DAY + 2).rebased
    # 81 / (84 / 0.88) = 0.8486: a 15.1% drawdown from the lowered peak.
    s = gov.update(81.0, DAY + 3)
    assert (s.in_cooloff, s.cooloff_day, s.multiplier) == (True, 1, 0.0)


def test_re_entry_keeps_the_peak_if_equity_recovered_during_cooloff():
    gov = DrawdownGovernor(GovernorConfig(cooloff_days=1))
    gov.update(100.0, DAY)
    gov.update(85.0, DAY + 1)
    s = gov.update(96.0, DAY + 2)
    assert (s.peak, s.rebased) == (100.0, False)
    assert s.multiplier == 1.0


def test_no_cooloff_when_cooloff_days_is_zero():
    gov = DrawdownGovernor(GovernorConfig(cooloff_days=0))
    gov.update(100.0, DAY)
    s = gov.update(84.0, DAY + 1)
    assert (s.multiplier, s.in_cooloff) == (0.0, False)
    s = gov.update(86.0, DAY + 2)
    assert s.multiplier == 0.2 and s.peak == 100.0


def test_vol_adjusted_governor():
    gov = DrawdownGovernor(GovernorConfig(vol_adjusted=True, cooloff_days=1))
    gov.update(100.0, DAY, vol_target=0.12)
    s = gov.update(84.0, DAY + 1, vol_target=0.12)
    assert s.effective_drawdown == pytest.approx(0.16 / 1.2)
    assert (s.multiplier, s.in_cooloff) == (0.2, False)
    s = gov.update(81.0, DAY + 2, vol_target=0.12)
    assert s.in_cooloff
    s = gov.update(81.0, DAY + 3, vol_target=0.12)
    # Re-entry at effective DD 0.12, i.e. a raw DD of 0.12 * 0.12 / 0.10 = 0.144.
    assert s.peak == pytest.approx(81.0 / (1 - 0.144))
    assert s.effective_drawdown == pytest.approx(0.12)


def test_update_refuses_bad_input():
    gov = DrawdownGovernor()
    gov.update(100.0, DAY + 5)
    with pytest.raises(DataError) as err:
        gov.update(100.0, DAY + 4)
    assert (err.value.parameter, err.value.date) == ("time", "2024-01-06")
    for bad in (0.0, -5.0, float("nan"), "rich"):
        with pytest.raises(DataError) as err:
            gov.update(bad, DAY + 6)
        assert err.value.parameter == "equity"
    with pytest.raises(DataError):
        gov.update(100.0, np.datetime64("NaT"))
    with pytest.raises(DataError):
        gov.update(100.0, "not a date")


def test_state_is_json_friendly():
    gov = DrawdownGovernor()
    json.dumps(gov.update(100.0, "2024-01-02T15:30").to_dict())


# --- govern: the single coordination point ------------------------------------------------------


def test_govern_at_zero_drawdown_changes_nothing():
    gov = DrawdownGovernor()
    out, info = govern(W, PREV, 100.0, DAY, gov, KillTierConfig())
    np.testing.assert_array_equal(out, W)
    assert (info["drawdown"], info["multiplier"], info["tier"]) == (0.0, 1.0, "NORMAL")


def test_govern_multiplier_then_throttle():
    gov = DrawdownGovernor()
    govern(W, PREV, 100.0, DAY, gov)
    out, info = govern(W, PREV, 89.0, DAY + 1, gov, KillTierConfig())
    # DD 0.11: m = 1 - 0.8 * 0.06 / 0.07 = 11/35, THROTTLE x 0.5.
    np.testing.assert_allclose(out, W * 11 / 70, rtol=1e-12)
    assert info["multiplier"] == pytest.approx(11 / 35)
    assert (info["tier"], info["factor"], info["alert"]) == ("THROTTLE", 0.5, True)
    json.dumps(info)


def test_govern_no_new_uses_the_same_drawdown():
    gov = DrawdownGovernor()
    govern(W, PREV, 100.0, DAY, gov)
    out, info = govern(W, PREV, 86.0, DAY + 1, gov, symbols=("A", "B", "C", "D"))
    # DD 0.14: m = 0.2, x 0.5 -> [0.04, 0.02, -0.02, 0.01], then nothing may grow or open.
    np.testing.assert_allclose(out, [0.04, 0.0, -0.02, 0.0], rtol=1e-12)
    assert info["tier"] == "NO_NEW"
    assert info["held_back"] == ["B", "D"]


def test_govern_reports_flatten_during_cooloff():
    gov = DrawdownGovernor(GovernorConfig(cooloff_days=2))
    govern(W, PREV, 100.0, DAY, gov)
    out, info = govern(W, PREV, 84.0, DAY + 1, gov)
    np.testing.assert_array_equal(out, np.zeros(4))
    assert (info["tier"], info["in_cooloff"]) == ("FLATTEN", True)
    # Equity recovered to a 12% drawdown, which alone would be THROTTLE: still flat, still FLATTEN.
    out, info = govern(W, PREV, 88.0, DAY + 2, gov)
    np.testing.assert_array_equal(out, np.zeros(4))
    assert (info["tier"], info["cooloff_day"]) == ("FLATTEN", 2)


def test_govern_checks_weights_before_advancing_the_governor():
    gov = DrawdownGovernor()
    with pytest.raises(TargetError):
        govern(W, PREV[:2], 100.0, DAY, gov)
    assert gov.state is None


@settings(max_examples=100, deadline=None)
@given(
    vectors,
    vectors,
    st.floats(0.0, 0.3),
    st.floats(0.0, 0.3),
    st.booleans(),
    st.floats(0.05, 0.2),
)
def test_govern_is_monotone_in_drawdown_and_only_reduces(w, prev, a, b, adjusted, vol_target):
    cfg = GovernorConfig(vol_adjusted=adjusted)
    gross = []
    for dd in sorted((a, b)):
        gov = DrawdownGovernor(cfg)
        gov.update(1.0, DAY, vol_target=vol_target)
        out, _ = govern(w, prev, 1.0 - dd, DAY + 1, gov, vol_target=vol_target)
        assert np.all(np.abs(out) <= np.abs(w))
        assert np.all(out * w >= 0)
        gross.append(np.abs(out).sum())
    assert gross[1] <= gross[0]
