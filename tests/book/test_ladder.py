"""Stage 8 capital ladder: tier boundaries, dust, overrides for Stage 4, bad configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.book.caps import apply_caps
from riskbook.book.config import CapitalTier, CapsConfig, LadderConfig
from riskbook.book.ladder import apply_ladder, capital_tier
from riskbook.errors import ConfigError, TargetError


@pytest.mark.parametrize(
    ("equity", "expected"),
    [
        (1.0, (0.0, 1.0, 0.20, 500.0)),
        (99_999.99, (0.0, 1.0, 0.20, 500.0)),
        (100_000.0, (100_000.0, 1.5, 0.15, 250.0)),
        (999_999.99, (100_000.0, 1.5, 0.15, 250.0)),
        (1_000_000.0, (1_000_000.0, 2.0, 0.12, 100.0)),
        (9_999_999.99, (1_000_000.0, 2.0, 0.12, 100.0)),
        (10_000_000.0, (10_000_000.0, 3.0, 0.10, 100.0)),
        (1e12, (10_000_000.0, 3.0, 0.10, 100.0)),
    ],
)
def test_tier_boundaries_belong_to_the_tier_they_open(equity, expected):
    tier = capital_tier(equity, LadderConfig())
    assert (tier.min_equity, tier.gross_cap, tier.per_name_cap, tier.dust) == expected


def test_vehicles_follow_the_seed_table():
    assert capital_tier(50_000.0).vehicles == ("etf",)
    assert capital_tier(2e7).vehicles == ("future", "etf", "option")


@pytest.mark.parametrize("equity", [0.0, -1.0, float("nan"), float("inf"), "lots", True])
def test_equity_must_be_positive(equity):
    with pytest.raises(ConfigError) as err:
        capital_tier(equity, LadderConfig())
    assert err.value.parameter == "equity"


@pytest.mark.parametrize(
    ("tiers", "parameter"),
    [
        ((), "ladder.tiers"),
        ((CapitalTier(0.0, 1.0, 0.2), CapitalTier(0.0, 1.5, 0.15)), "ladder.tiers[1].min_equity"),
        (
            (CapitalTier(0.0, 1.0, 0.2), CapitalTier(1e6, 2.0, 0.1), CapitalTier(1e5, 1.5, 0.15)),
            "ladder.tiers[2].min_equity",
        ),
        ((CapitalTier(1e5, 1.0, 0.2),), "ladder.tiers[0].min_equity"),
        ((CapitalTier(0.0, 0.0, 0.2),), "ladder.tiers[0].gross_cap"),
        ((CapitalTier(0.0, 1.0, float("nan")),), "ladder.tiers[0].per_name_cap"),
        ((CapitalTier(0.0, 1.0, 0.2, dust=-5.0),), "ladder.tiers[0].dust"),
    ],
)
def test_bad_ladders_name_the_field(tiers, parameter):
    with pytest.raises(ConfigError) as err:
        capital_tier(5e5, LadderConfig(tiers=tiers))
    assert err.value.parameter == parameter


def test_dust_is_zeroed_and_named():
    # 256k is tier 1 (dust 250): 2**-10 of it is exactly 250, which is not below the threshold.
    w = np.array([2.0**-10, 0.0009, -0.0005, 0.0, 0.5])
    symbols = ("EDGE", "SMALL", "SHORT", "FLAT", "BIG")
    out, info = apply_ladder(w, symbols, 256_000.0, LadderConfig())
    np.testing.assert_array_equal(out, [2.0**-10, 0.0, 0.0, 0.0, 0.5])
    assert info["dust_zeroed"] == ["SMALL", "SHORT"]
    assert info["dust_values"] == pytest.approx({"SMALL": 230.4, "SHORT": 128.0})
    assert info["tier"] == 1
    assert info["dust"] == 250.0
    np.testing.assert_array_equal(w[:2], [2.0**-10, 0.0009])  # input untouched
    json.dumps(info)


def test_ladder_returns_caps_without_applying_them():
    w = np.array([0.9, 0.9])
    out, info = apply_ladder(w, ("A", "B"), 50_000.0, LadderConfig())
    np.testing.assert_array_equal(out, w)
    assert (info["gross_cap"], info["per_name_cap"]) == (1.0, 0.2)
    assert info["vehicles"] == ["etf"]
    assert info["min_equity"] == 0.0


def test_ladder_caps_feed_stage_4_where_the_tighter_wins():
    w = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    symbols = tuple("ABCDEFG")
    _, ladder = apply_ladder(w, symbols, 50_000.0, LadderConfig())
    out, info = apply_caps(
        w,
        symbols,
        CapsConfig(),
        gross_cap=ladder["gross_cap"],
        per_name_cap=ladder["per_name_cap"],
    )
    # per-name: min(0.15, 0.20) = 0.15 -> gross 1.05; gross: min(2.0, 1.0) = 1.0.
    assert (info["per_name_cap"], info["gross_cap"]) == (0.15, 1.0)
    np.testing.assert_allclose(out, np.full(7, 1 / 7), rtol=0, atol=1e-15)


def test_disabled_ladder_changes_nothing():
    w = np.array([0.0001, 0.5])
    out, info = apply_ladder(w, ("A", "B"), 1_000.0, LadderConfig(enabled=False))
    np.testing.assert_array_equal(out, w)
    assert info["gross_cap"] is None and info["per_name_cap"] is None
    assert info["dust_zeroed"] == []


def test_bad_weights():
    with pytest.raises(TargetError) as err:
        apply_ladder(np.array([np.nan]), ("A",), 1e6)
    assert err.value.symbol == "A"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-0.01, 0.01), min_size=1, max_size=8),
    st.floats(1.0, 5e7),
)
def test_ladder_only_zeroes_the_names_below_dust(values, equity):
    w = np.array(values)
    symbols = tuple(f"S{i}" for i in range(w.size))
    out, info = apply_ladder(w, symbols, equity, LadderConfig())
    tier = capital_tier(equity, LadderConfig())
    dust = (equity * np.abs(w) < tier.dust) & (w != 0)
    np.testing.assert_array_equal(out, np.where(dust, 0.0, w))
    assert info["dust_zeroed"] == [s for s, d in zip(symbols, dust, strict=True) if d]
