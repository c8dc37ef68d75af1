"""Stages of the book on random inputs: caps hold, the governor and kill tiers only reduce, the
vol target stays within its leverage bounds, turnover control keeps only held weights or targets.

Example counts (``dev`` profile; ``ci`` a third, ``thorough`` x5): 80 for each of the caps,
the governor curve, the kill-tier overlay and the no-trade band; 50 for ``govern`` paths, the vol
target and the cost gate.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskbook.book.caps import apply_caps
from riskbook.book.config import CapsConfig, GovernorConfig, KillTierConfig, PortfolioVolConfig
from riskbook.book.governor import (
    TIERS,
    DrawdownGovernor,
    apply_kill_tier,
    drawdown_multiplier,
    govern,
    kill_tier,
)
from riskbook.book.stages import cost_gate, no_trade_band, vol_target
from riskbook.execute import Costs, FixedBpsSlippage, PerShareFee

from .conftest import prop

TOL = 1e-12
finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


def weights(min_n: int = 1, max_n: int = 10):
    return st.integers(min_n, max_n).flatmap(lambda n: arrays(float, n, elements=finite))


@st.composite
def caps_inputs(draw):
    w = draw(weights())
    n = len(w)
    symbols = tuple(f"S{i}" for i in range(n))
    clusters = {}
    for c in range(draw(st.integers(0, 3))):
        members = draw(st.lists(st.sampled_from(symbols), min_size=1, max_size=n, unique=True))
        clusters[f"c{c}"] = (tuple(members), draw(st.floats(0.0, 2.0)))
    cfg = CapsConfig(
        gross=draw(st.floats(0.0, 4.0)),
        net=draw(st.floats(0.0, 2.0)),
        per_name=draw(st.floats(0.0, 1.0)),
        clusters=clusters,
    )
    gross_override = draw(st.none() | st.floats(0.0, 4.0))
    name_override = draw(st.none() | st.floats(0.0, 1.0))
    return w, symbols, cfg, gross_override, name_override


@prop(80)
@given(caps_inputs())
def test_caps_hold_together_and_only_shrink(inputs):
    w, symbols, cfg, g_over, n_over = inputs
    out, info = apply_caps(w, symbols, cfg, gross_cap=g_over, per_name_cap=n_over)
    per_name = min(cfg.per_name, n_over if n_over is not None else np.inf)
    gross = min(cfg.gross, g_over if g_over is not None else np.inf)
    scale = 1e-12 * max(1.0, float(np.abs(w).sum()))
    assert np.isfinite(out).all()
    assert (np.abs(out) <= per_name + scale).all()
    assert np.abs(out).sum() <= gross + scale
    assert abs(out.sum()) <= cfg.net + scale
    for members, cap in cfg.clusters.values():
        idx = [symbols.index(s) for s in members]
        assert np.abs(out[idx]).sum() <= cap + scale
    assert (np.abs(out) <= np.abs(w) + TOL).all()  # only toward zero
    assert (out * w >= 0).all()  # never flips
    assert info["gross_after"] == pytest.approx(np.abs(out).sum(), abs=1e-15)


drawdowns = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def governor_configs(draw):
    start = draw(st.floats(0.0, 0.2))
    floor_at = start + draw(st.floats(0.001, 0.2))
    hard_cap = floor_at + draw(st.floats(0.001, 0.2))
    return GovernorConfig(
        start=start, floor_at=floor_at, hard_cap=hard_cap, floor=draw(st.floats(0.0, 1.0))
    )


@prop(80)
@given(governor_configs(), st.lists(drawdowns, min_size=2, max_size=20))
def test_governor_multiplier_is_in_0_1_and_non_increasing(cfg, dds):
    dd = np.sort(np.asarray(dds))
    m = drawdown_multiplier(dd, cfg)
    assert ((m >= 0.0) & (m <= 1.0)).all()
    assert (np.diff(m) <= 0.0).all(), (dd, m)
    assert drawdown_multiplier(0.0, cfg) == 1.0


@st.composite
def tier_configs(draw):
    levels = sorted(draw(st.lists(st.floats(0.0, 0.5), min_size=4, max_size=4)))
    return KillTierConfig(*levels[:2], draw(st.floats(0.0, 1.0)), *levels[2:])


@prop(80)
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(arrays(float, n, elements=finite), arrays(float, n, elements=finite))
    ),
    tier_configs(),
)
def test_kill_tiers_only_reduce_and_harder_tiers_reduce_more(pair, cfg):
    w, prev = pair
    gross = []
    for tier in TIERS:
        out, info = apply_kill_tier(w, prev, tier, cfg)
        assert (np.abs(out) <= np.abs(w)).all()
        assert (out * w >= 0).all()
        if tier in ("NO_NEW", "FLATTEN"):
            assert (np.abs(out) <= np.abs(prev)).all()  # nothing grows beyond what is held
            assert (out * prev >= 0).all()  # nothing opened on the other side
        gross.append(info["gross_after"])
    assert all(b <= a for a, b in itertools.pairwise(gross)), gross
    # the tier is monotone in the drawdown too
    levels = [TIERS.index(kill_tier(dd, cfg)) for dd in np.linspace(0, 0.6, 25)]
    assert levels == sorted(levels)


@prop(50)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(arrays(float, n, elements=finite), arrays(float, n, elements=finite))
    ),
    st.lists(st.floats(-0.08, 0.08), min_size=1, max_size=40),
    governor_configs(),
    tier_configs(),
)
def test_govern_never_raises_any_position_along_an_equity_path(pair, moves, gcfg, tcfg):
    w, prev = pair
    gov = DrawdownGovernor(gcfg)
    equity, day = 100.0, np.datetime64("2024-01-01")
    for k, r in enumerate(moves):
        equity *= 1.0 + r
        out, info = govern(w, prev, equity, day + k, gov, tcfg)
        assert np.isfinite(out).all()
        assert (np.abs(out) <= np.abs(w) + TOL).all()
        assert (out * w >= 0).all()
        assert 0.0 <= info["multiplier"] <= 1.0
        if info["tier"] in ("NO_NEW", "FLATTEN"):
            assert (np.abs(out) <= np.abs(prev) + TOL).all()


@prop(50)
@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.floats(0.01, 0.5))
def test_vol_target_leverage_stays_within_bounds(seed, n, target):
    rng = np.random.default_rng(seed)
    lo, hi = sorted(rng.uniform(0.1, 3.0, 2))
    cfg = PortfolioVolConfig(target=target, leverage=(lo, hi))
    b = rng.normal(size=(n, n)) * 0.01
    cov = b @ b.T + np.diag(rng.uniform(1e-5, 1e-3, n))
    W = rng.normal(size=n) * rng.integers(0, 2, n)
    caps = CapsConfig(per_name=float(rng.uniform(0.05, 1.0)), gross=2.0, net=1.0)
    symbols = tuple(f"S{i}" for i in range(n))
    for limits in (None, lambda x: apply_caps(x, symbols, caps)[0]):
        out, info = vol_target(W, cov, target, cfg, 252.0, limits)
        lev = info["leverage"]
        assert lo - 1e-12 <= lev <= hi + 1e-12
        np.testing.assert_allclose(out, W * lev, rtol=0, atol=1e-15)


@prop(80)
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(arrays(float, n, elements=finite), arrays(float, n, elements=finite))
    ),
    st.floats(0.0, 1.0),
)
def test_no_trade_band_keeps_held_or_target_only(pair, band):
    W, current = pair
    out, info = no_trade_band(W, current, band)
    assert ((out == W) | (out == current)).all()
    moved = out != current
    assert (np.abs(W - current)[moved] > band).all()  # a trade happens only beyond the band
    assert info["held_by_band"] == int(((out == current) & (current != W)).sum())


@prop(50)
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            arrays(float, n, elements=st.floats(-1, 1)),
            arrays(float, n, elements=st.floats(-1, 1)),
            arrays(float, n, elements=st.floats(1.0, 500.0)),
        )
    ),
    st.floats(1e3, 1e7),
    st.floats(0.0, 50.0),
)
def test_cost_gate_keeps_held_or_target_and_never_blocks_a_reduction(triple, equity, edge):
    W, current, prices = triple
    costs = Costs(fee=PerShareFee(), slippage=FixedBpsSlippage(5))
    out, _ = cost_gate(W, current, equity, prices, costs, edge)
    assert ((out == W) | (out == current)).all()
    reduces = (np.abs(W) <= np.abs(current)) & (np.sign(W) * np.sign(current) >= 0)
    assert (out[reduces] == W[reduces]).all()
