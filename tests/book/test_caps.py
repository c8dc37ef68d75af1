"""Stage 4 caps: hand-computed clips and trims, the spec's order, bad input, and properties."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.book.caps import apply_caps, as_weight_vector
from riskbook.book.config import CapsConfig
from riskbook.errors import ConfigError, TargetError

LOOSE = {"gross": 100.0, "net": 100.0, "per_name": 100.0}


def caps(**kwargs) -> CapsConfig:
    return CapsConfig(**{**LOOSE, **kwargs})


def test_per_name_clip_with_seed_defaults():
    w, info = apply_caps(np.array([0.3, -0.2, 0.1]), ("A", "B", "C"), CapsConfig())
    np.testing.assert_array_equal(w, [0.15, -0.15, 0.1])
    assert info["clipped"] == ["A", "B"]
    assert info["per_name_cap"] == 0.15
    assert info["gross_multiplier"] == 1.0
    assert info["net_trim_level"] is None
    assert info["net_trimmed"] == []


def test_gross_scale():
    w, info = apply_caps(np.array([0.5, 0.5, -0.5, -0.5]), tuple("ABCD"), caps(gross=1.0))
    np.testing.assert_array_equal(w, [0.25, 0.25, -0.25, -0.25])
    assert info["gross_before"] == 2.0
    assert info["gross_multiplier"] == 0.5
    assert info["gross_after"] == 1.0


def test_cluster_members_scaled_together():
    cfg = caps(per_name=0.15, clusters={"tech": (("A", "B"), 0.2)})
    w, info = apply_caps(np.array([0.15, 0.15, 0.1]), ("A", "B", "C"), cfg)
    np.testing.assert_allclose(w, [0.1, 0.1, 0.1], rtol=0, atol=1e-15)
    assert info["cluster_multipliers"] == {"tech": pytest.approx(2 / 3, abs=1e-15)}


def test_cluster_under_its_cap_is_untouched_and_recorded():
    cfg = caps(clusters={"bonds": (("B",), 0.5), "tech": (("A", "C"), 1.0)})
    w, info = apply_caps(np.array([0.25, -0.25, 0.5]), ("A", "B", "C"), cfg)
    np.testing.assert_array_equal(w, [0.25, -0.25, 0.5])
    assert info["cluster_multipliers"] == {"bonds": 1.0, "tech": 1.0}


def test_overlapping_clusters_all_hold():
    cfg = caps(clusters={"x": (("A", "B"), 0.5), "y": (("B", "C"), 0.25)})
    w, _ = apply_caps(np.array([0.5, 0.5, 0.5]), ("A", "B", "C"), cfg)
    # x: 1.0 -> 0.5 (A, B to 0.25); y: 0.75 -> 0.25 (B, C scaled by 1/3).
    np.testing.assert_allclose(w, [0.25, 0.25 / 3, 0.5 / 3], rtol=0, atol=1e-15)
    assert abs(w[0]) + abs(w[1]) <= 0.5 + 1e-12
    assert abs(w[1]) + abs(w[2]) <= 0.25 + 1e-12


def test_net_trim_water_fills_the_largest_first():
    # net 1.375 over a 0.625 cap: 0.75 alone would have to fall to 0 (below 0.5), so 0.75 and
    # 0.5 fall together to L with (0.75 - L) + (0.5 - L) = 0.75, L = 0.25; 0.25 is untouched.
    w, info = apply_caps(np.array([0.75, 0.5, 0.25, -0.125]), tuple("ABCD"), caps(net=0.625))
    np.testing.assert_array_equal(w, [0.25, 0.25, 0.25, -0.125])
    assert info["net_before"] == 1.375
    assert info["net_trim_level"] == 0.25
    assert info["net_trimmed"] == ["A", "B"]
    assert info["net_after"] == 0.625


def test_net_trim_stops_at_the_first_name_when_that_suffices():
    w, info = apply_caps(np.array([0.75, 0.25, -0.25]), tuple("ABC"), caps(net=0.5))
    np.testing.assert_array_equal(w, [0.5, 0.25, -0.25])
    assert info["net_trimmed"] == ["A"]


def test_net_trim_of_a_short_book_leaves_the_longs():
    w, info = apply_caps(np.array([-0.75, -0.5, 0.25]), tuple("ABC"), caps(net=0.5))
    np.testing.assert_array_equal(w, [-0.375, -0.375, 0.25])
    assert info["net_trim_level"] == 0.375


def test_net_cap_zero_makes_the_book_market_neutral():
    w, _ = apply_caps(np.array([0.5, 0.25, -0.25]), tuple("ABC"), caps(net=0.0))
    np.testing.assert_array_equal(w, [0.125, 0.125, -0.25])


def test_per_name_runs_before_gross():
    # Clip then scale: [1, 0.5] -> [0.5, 0.5] -> x0.75. Scaling first would give [0.5, 0.25].
    w, _ = apply_caps(np.array([1.0, 0.5]), ("A", "B"), caps(per_name=0.5, gross=0.75))
    np.testing.assert_array_equal(w, [0.375, 0.375])


def test_gross_runs_before_net():
    # Scale to gross 1 gives [0.5, 0.5] (net 1 <= 1): no trim. Trimming first would cut A alone.
    w, info = apply_caps(np.array([1.5, 0.5]), ("A", "B"), caps(gross=1.0, net=1.0))
    np.testing.assert_array_equal(w, [0.75, 0.25])
    assert info["net_trimmed"] == []


def test_tighter_of_config_and_ladder_override_applies():
    cfg = CapsConfig(gross=2.0, per_name=0.15)
    w = np.array([0.3, 0.3])
    out, info = apply_caps(w, ("A", "B"), cfg, per_name_cap=0.1, gross_cap=0.15)
    assert (info["per_name_cap"], info["gross_cap"]) == (0.1, 0.15)
    np.testing.assert_allclose(out, [0.075, 0.075], rtol=0, atol=1e-16)
    out, info = apply_caps(w, ("A", "B"), cfg, per_name_cap=0.5, gross_cap=3.0)
    assert (info["per_name_cap"], info["gross_cap"]) == (0.15, 2.0)
    np.testing.assert_array_equal(out, [0.15, 0.15])


def test_input_is_not_modified_and_info_is_json():
    w = np.array([0.5, -0.5, 0.4])
    kept = w.copy()
    out, info = apply_caps(w, ("A", "B", "C"), CapsConfig(clusters={"c": (("A", "C"), 0.2)}))
    np.testing.assert_array_equal(w, kept)
    assert out is not w
    json.dumps(info)


def test_empty_book():
    out, info = apply_caps(np.array([]), (), CapsConfig())
    assert out.shape == (0,)
    assert info["gross_after"] == 0.0


def test_unknown_cluster_member_is_named():
    cfg = CapsConfig(clusters={"tech": (("AAPL", "XYZ"), 0.3)})
    with pytest.raises(ConfigError, match="not in the book") as err:
        apply_caps(np.array([0.1]), ("AAPL",), cfg)
    assert err.value.symbol == "XYZ"
    assert err.value.parameter == "caps.clusters.tech"


def test_cluster_member_listed_twice():
    cfg = CapsConfig(clusters={"tech": (("A", "A"), 0.3)})
    with pytest.raises(ConfigError) as err:
        apply_caps(np.array([0.1]), ("A",), cfg)
    assert err.value.symbol == "A"


@pytest.mark.parametrize(
    ("kwargs", "overrides", "parameter"),
    [
        ({"gross": -1.0}, {}, "caps.gross"),
        ({"net": float("nan")}, {}, "caps.net"),
        ({"per_name": float("inf")}, {}, "caps.per_name"),
        ({"clusters": {"c": (("A",), -0.1)}}, {}, "caps.clusters.c"),
        ({"clusters": {"c": "A"}}, {}, "caps.clusters.c"),
        ({}, {"gross_cap": -0.5}, "gross_cap"),
        ({}, {"per_name_cap": float("nan")}, "per_name_cap"),
    ],
)
def test_bad_caps_name_the_parameter(kwargs, overrides, parameter):
    with pytest.raises(ConfigError) as err:
        apply_caps(np.array([0.1]), ("A",), CapsConfig(**kwargs), **overrides)
    assert err.value.parameter == parameter


def test_bad_weights():
    with pytest.raises(TargetError) as err:
        apply_caps(np.array([0.1, np.nan]), ("A", "B"), CapsConfig())
    assert err.value.symbol == "B"
    with pytest.raises(TargetError) as err:
        apply_caps(np.array([0.1, 0.2]), ("A",), CapsConfig())
    assert err.value.parameter == "symbols"
    with pytest.raises(TargetError) as err:
        apply_caps(np.array([0.1, 0.2]), ("A", "A"), CapsConfig())
    assert err.value.symbol == "A"
    with pytest.raises(TargetError, match="1-D"):
        apply_caps(np.ones((2, 2)), ("A", "B"), CapsConfig())
    with pytest.raises(TargetError) as err:
        as_weight_vector([0.1, np.inf])
    assert err.value.context == {"position": 1}


@st.composite
def books(draw):
    n = draw(st.integers(1, 10))
    w = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=n, max_size=n)))
    symbols = tuple(f"S{i}" for i in range(n))
    clusters = {}
    for k in range(draw(st.integers(0, 3))):
        members = draw(st.lists(st.sampled_from(symbols), unique=True, max_size=n))
        clusters[f"c{k}"] = (tuple(members), draw(st.floats(0.0, 1.0)))
    cfg = CapsConfig(
        gross=draw(st.floats(0.0, 3.0)),
        net=draw(st.floats(0.0, 2.0)),
        per_name=draw(st.floats(0.0, 0.6)),
        clusters=clusters,
    )
    gross_cap = draw(st.none() | st.floats(0.0, 3.0))
    per_name_cap = draw(st.none() | st.floats(0.0, 0.6))
    return w, symbols, cfg, gross_cap, per_name_cap


@settings(max_examples=150, deadline=None)
@given(books())
def test_caps_only_shrink_and_all_hold(book):
    w, symbols, cfg, gross_cap, per_name_cap = book
    out, info = apply_caps(w, symbols, cfg, gross_cap=gross_cap, per_name_cap=per_name_cap)
    tol = 1e-12
    assert np.all(np.abs(out) <= np.abs(w))
    assert np.all(out * w >= 0)
    assert np.abs(out).max() <= info["per_name_cap"] + tol
    assert info["per_name_cap"] <= cfg.per_name
    assert info["gross_cap"] <= cfg.gross
    for members, cap in cfg.clusters.values():
        idx = [symbols.index(s) for s in members]
        assert np.abs(out[idx]).sum() <= cap + tol
    assert np.abs(out).sum() <= info["gross_cap"] + tol
    assert abs(out.sum()) <= cfg.net + tol
    if info["net_trim_level"] is not None:
        # Trimmed only as far as needed: the net lands on the cap, not below it.
        assert abs(abs(out.sum()) - cfg.net) <= tol


def test_capper_equals_apply_caps():
    """The hot-loop twin gives exactly apply_caps' weights (clusters, gross and net included)."""
    from riskbook.book.caps import capper

    symbols = tuple("ABCDEFGH")
    config = CapsConfig(gross=1.5, net=0.4, per_name=0.3, clusters={"x": (("A", "B", "C"), 0.5)})
    cap = capper(symbols, config, gross_cap=1.2, per_name_cap=0.25)
    rng = np.random.default_rng(11)
    for _ in range(200):
        w = rng.normal(0.1, 0.4, size=8)
        expected, _ = apply_caps(w, symbols, config, gross_cap=1.2, per_name_cap=0.25)
        np.testing.assert_array_equal(cap(w), expected)
