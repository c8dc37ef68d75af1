"""Stages 0-3 and 7 with hand-computed numbers."""

import numpy as np
import pytest

from riskbook.book.config import (
    AllocationConfig,
    NettingConfig,
    PortfolioVolConfig,
    SleeveVolConfig,
)
from riskbook.book.stages import (
    allocate,
    assemble,
    cap_and_renormalise,
    cost_gate,
    no_trade_band,
    probation_factor,
    sleeve_scales,
    smooth,
    vol_target,
)


def test_sleeve_scales_use_realised_vol_floor_and_cap():
    w = {"a": np.array([0.5, -0.5]), "b": np.array([1.0, 0.0]), "c": np.array([0.0, 1.0])}
    realised = {"a": 0.20, "b": 0.001, "c": None}
    cov = np.diag([0.0001, 0.0004])  # per day: 15.9% and 31.7% a year
    scales, info = sleeve_scales(w, realised, cov, SleeveVolConfig(), 252.0)
    assert scales["a"] == pytest.approx(0.10 / 0.20)
    assert scales["b"] == pytest.approx(0.10 / 0.02)  # floored at 2%: scale 5 = max_scale
    assert scales["c"] == pytest.approx(0.10 / np.sqrt(0.0004 * 252))  # ex ante until history
    assert info["vol_used"]["c"].startswith("ex_ante")


def test_cap_and_renormalise_water_fills():
    np.testing.assert_allclose(
        cap_and_renormalise(np.array([0.5, 0.3, 0.2]), 0.4), [0.4, 0.36, 0.24]
    )
    np.testing.assert_allclose(
        cap_and_renormalise(np.array([0.9, 0.05, 0.05]), 0.4), [0.4, 0.3, 0.3]
    )
    # three sleeves capped at 0.3 cannot reach 1: each at the cap, 10% unallocated
    np.testing.assert_allclose(cap_and_renormalise(np.array([0.6, 0.3, 0.1]), 0.3), [0.3, 0.3, 0.3])


def test_smoothing_and_minimum_change():
    cfg = AllocationConfig()
    np.testing.assert_allclose(
        smooth(np.array([0.7, 0.3]), np.array([0.5, 0.5]), cfg), [0.54, 0.46]
    )
    # a smoothed move of 0.01 is below the 2% threshold: the previous weights stay
    np.testing.assert_allclose(
        smooth(np.array([0.55, 0.45]), np.array([0.5, 0.5]), cfg), [0.5, 0.5]
    )
    np.testing.assert_allclose(smooth(np.array([0.55, 0.45]), None, cfg), [0.55, 0.45])


def test_probation_ramp():
    cfg = AllocationConfig()
    assert [probation_factor(d, cfg) for d in (0, 10, 20, 40)] == [0.5, 0.75, 1.0, 1.0]


def test_vol_target_on_a_known_covariance():
    cov = np.diag([0.0004, 0.0001])  # 31.7% and 15.9% a year
    W, info = vol_target(np.array([1.0, 0.0]), cov, 0.10, PortfolioVolConfig(), 252.0)
    assert info["ex_ante_vol"] == pytest.approx(np.sqrt(0.0004 * 252))
    assert W[0] == pytest.approx(0.10 / np.sqrt(0.0004 * 252))
    W, info = vol_target(np.array([0.01, 0.0]), cov, 0.10, PortfolioVolConfig(), 252.0)
    assert info["leverage"] == 2.0  # clipped at the top of [0.3, 2.0]
    W, info = vol_target(np.array([5.0, 5.0]), cov, 0.10, PortfolioVolConfig(), 252.0)
    assert info["leverage"] == 0.3


def test_assemble_nets_across_sleeves_and_merges_wrappers():
    unit = np.array([[0.5, -0.5, 0.0], [-0.5, 0.0, 0.5]])
    W, info = assemble(
        np.array([0.5, 0.5]),
        np.array([1.0, 1.0]),
        unit,
        ("SPY", "GLD", "IAU"),
        NettingConfig(wrappers={"GLD": ("IAU",)}),
    )
    np.testing.assert_allclose(W, [0.0, 0.0, 0.0])  # SPY nets out, IAU folds into GLD and nets
    assert info["netting_saved_gross"] == pytest.approx(1.0)
    assert info["wrappers_netted"] == {"IAU": "GLD"}


def test_no_trade_band_keeps_small_moves():
    W, info = no_trade_band(np.array([0.1, 0.2, 0.0]), np.array([0.095, 0.1, 0.005]), 0.0075)
    np.testing.assert_allclose(W, [0.095, 0.2, 0.005])
    assert info["held_by_band"] == 2


def test_allocation_survives_a_singular_sleeve_covariance():
    vol = np.array([0.1, 0.1, 0.2])
    corr = np.array([[1.0, 1.0, 0.2], [1.0, 1.0, 0.2], [0.2, 0.2, 1.0]])  # two identical sleeves
    cov = corr * np.outer(vol, vol)
    a, info = allocate(cov, ["a", "a_copy", "b"], AllocationConfig(sleeve_cap=1.0))
    assert info["method"] == "hrp" and info["fallbacks"] == []
    assert a.sum() == pytest.approx(1.0)
    # the duplicates share one cluster's budget instead of each taking a full share (W4)
    assert a[0] == pytest.approx(a[1]) and a[0] + a[1] == pytest.approx(0.8, abs=1e-12)


def test_allocation_falls_down_the_ladder_with_reasons():
    cov = np.full((3, 3), np.nan)
    a, info = allocate(cov, ["a", "b", "c"], AllocationConfig())
    np.testing.assert_allclose(a, [1 / 3, 1 / 3, 1 / 3])
    assert info["method"] == "equal_weight"
    assert [f.split(":")[0] for f in info["fallbacks"]] == [
        "hrp",
        "risk_parity",
        "inverse_volatility",
    ]


def test_vol_target_offsets_the_caps_that_follow():
    cov = np.diag([0.0004, 0.0001, 0.0001])
    W = np.array([1.0, 0.5, 0.5])  # plain targeting: L = 0.3, first name at 0.3 > its 0.2 cap

    def first_name_capped(x):  # a per-name cap of 0.2 on the first name only
        return np.minimum(x, [0.2, 1.0, 1.0])

    plain, info = vol_target(W, cov, 0.10, PortfolioVolConfig(), 252.0)
    aware, info_aware = vol_target(
        W, cov, 0.10, PortfolioVolConfig(), 252.0, limits=first_name_capped
    )
    capped = first_name_capped(aware)
    vol = np.sqrt(capped @ cov @ capped * 252)
    assert vol == pytest.approx(0.10, rel=1e-9)  # the capped book carries the target
    # capped book [0.2, L/2, L/2]: 252 (0.04 * 4e-4 + 2 * (L/2)^2 * 1e-4) = 0.01
    assert info_aware["leverage"] == pytest.approx(np.sqrt((0.01 / 252 - 1.6e-5) / 5e-5), rel=1e-9)
    assert info_aware["leverage"] > info["leverage"]
    assert info_aware["cap_aware"] == "raised to offset the caps"
    # caps that do not bind change nothing
    same, _ = vol_target(W, cov, 0.10, PortfolioVolConfig(), 252.0, limits=lambda x: x)
    np.testing.assert_array_equal(same, plain)


def test_cost_gate_hand_numbers():
    """$100k book, $20 shares, IB-like fee ($0.005/share, $1 minimum) and 10 bps of edge.
    A: 0.05 -> 0.10 buys $5,000 (250 sh): fee $1.25 < edge $5: trades.
    B: 0 -> 0.004 buys $400 (20 sh): fee $1 (minimum) > edge $0.40: gated, stays 0.
    C: 0.02 -> 0 sells $2,000: reduces risk, so it is not even a candidate.
    D: 0.003 -> 0.001 sells $200: fee $1 > edge $0.20 but it shrinks risk: trades.
    E: -0.01 -> 0.002 flips sign: adds risk, buys $1,200 (60 sh): fee $1 < edge $1.20: trades.
    F: 0.0 -> -0.003 sells short $300: fee $1 > edge $0.30: gated."""
    from riskbook.execute import Costs, PerShareFee

    held = np.array([0.05, 0.0, 0.02, 0.003, -0.01, 0.0])
    target = np.array([0.10, 0.004, 0.0, 0.001, 0.002, -0.003])
    out, info = cost_gate(target, held, 100_000.0, np.full(6, 20.0), Costs(fee=PerShareFee()), 10)
    np.testing.assert_array_equal(out, [0.10, 0.0, 0.0, 0.001, 0.002, 0.0])
    assert info["gated"] == 2
    assert info["cost_saved"] == pytest.approx(2.0)


def test_cost_gate_uses_a_per_name_edge_and_slippage():
    from riskbook.execute import Costs, FixedBpsSlippage

    held = np.zeros(2)
    target = np.array([0.1, 0.1])
    costs = Costs(slippage=FixedBpsSlippage(5.0))  # 5 bps of value, both names
    out, info = cost_gate(target, held, 1e6, np.array([50.0, 50.0]), costs, np.array([6.0, 4.0]))
    np.testing.assert_array_equal(out, [0.1, 0.0])
    assert info["cost_saved"] == pytest.approx(1e5 * 5e-4)
