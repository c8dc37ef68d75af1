"""Skill from rank IC: Spearman against scipy, the EWMA by hand, foresight and anti-foresight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr

from riskbook import MarketData
from riskbook.book.config import AllocationConfig
from riskbook.book.skill import SkillTracker, _average_ranks, rank_ic
from riskbook.book.tracker import SleeveReturnTracker
from riskbook.errors import ConfigError


def test_rank_ic_matches_scipy_spearman_with_ties_and_nan():
    rng = np.random.default_rng(5)
    for _ in range(20):
        weights = np.round(rng.normal(size=(3, 12)), 0)  # rounding makes many ties
        realised = rng.normal(size=12)
        realised[rng.integers(0, 12)] = np.nan
        valid = np.isfinite(realised)
        expected = [spearmanr(w[valid], realised[valid]).statistic for w in weights]
        np.testing.assert_allclose(rank_ic(weights, realised), expected, rtol=1e-12)


def test_average_ranks_match_scipy_rankdata():
    rng = np.random.default_rng(8)
    for _ in range(200):
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 25)))
        x = np.round(rng.normal(size=shape), int(rng.integers(0, 2)))
        np.testing.assert_array_equal(_average_ranks(x), rankdata(x, axis=1))


def test_rank_ic_is_nan_when_undefined():
    assert np.isnan(rank_ic(np.ones(5), np.arange(5.0)))  # flat weights: no forecast
    assert np.isnan(rank_ic(np.arange(5.0), np.zeros(5)))  # nothing moved
    assert np.isnan(rank_ic(np.arange(4.0), np.array([1.0, np.nan, np.nan, 2.0])))  # 2 symbols
    assert np.isnan(rank_ic(np.array([1.0, np.nan, 2.0, 3.0]), np.arange(4.0)))
    assert rank_ic(np.arange(4.0), np.arange(4.0) ** 3) == pytest.approx(1.0)


def test_ewma_ic_and_mapping_by_hand():
    skill = SkillTracker(window=3, halflife=1.0, warmup=4)
    base = np.array([0.01, 0.02, 0.03, 0.04])
    forecasts = [
        np.array([1.0, 2.0, 3.0, 4.0]),  # IC  1
        np.array([4.0, 3.0, 2.0, 1.0]),  # IC -1
        np.array([2.0, 1.0, 3.0, 4.0]),  # one adjacent swap: IC 1 - 6 * 2 / 60 = 0.8
        np.array([1.0, 2.0, 4.0, 3.0]),  # IC 0.8
    ]
    for i, w in enumerate(forecasts):
        assert skill.score("s") == 0.5  # warm-up: four observations needed
        ics = skill.observe({"s": w}, base)
        assert ics["s"] == pytest.approx([1.0, -1.0, 0.8, 0.8][i])
    # last three ICs -1, 0.8, 0.8 at ages 2, 1, 0 with half-life 1: weights 1/4, 1/2, 1
    ic = (-0.25 + 0.4 + 0.8) / 1.75
    assert skill.count("s") == 4
    assert skill.ic("s") == pytest.approx(ic)
    assert skill.score("s") == pytest.approx(0.5 + ic / 2)
    np.testing.assert_allclose(skill.multipliers(["s"], kappa=0.6), [1.0 + ic])
    np.testing.assert_allclose(skill.multipliers(["s"], kappa=0.25), [1.25])
    scaled = SkillTracker(window=3, halflife=1.0, warmup=0, ic_scale=0.25)
    for w in forecasts:
        scaled.observe({"s": w}, base)
    assert scaled.score("s") == 1.0  # 0.5 + 0.54 / 0.5 saturates


def test_undefined_ics_are_not_observations():
    skill = SkillTracker(warmup=1)
    out = skill.observe({"flat": np.zeros(4), "live": np.arange(4.0)}, np.arange(4.0))
    assert np.isnan(out["flat"]) and out["live"] == 1.0
    assert skill.count("flat") == 0 and np.isnan(skill.ic("flat")) and skill.score("flat") == 0.5
    assert skill.observe({}, np.arange(4.0)) == {}


@pytest.fixture(scope="module")
def foresight():
    rng = np.random.default_rng(21)
    n_bars, n_symbols = 120, 8
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (n_bars, n_symbols)), axis=0))
    dates = pd.bdate_range("2020-01-01", periods=n_bars).to_numpy()
    md = MarketData.from_arrays(dates, [f"S{i}" for i in range(n_symbols)], close=close)
    next_returns = md.returns().to_numpy()  # row d is the return of bar d + 1
    tracker = SleeveReturnTracker()
    skill = SkillTracker.from_config(AllocationConfig())
    scores = []
    for bar in range(n_bars):
        tracker.update(md.until(md.dates[bar]))
        skill.update(tracker)
        scores.append(skill.score("oracle"))
        if bar + 1 < n_bars:
            peek = next_returns[bar]  # cheating on purpose: the sleeve knows the next bar
            weights = {"oracle": peek, "contrarian": -peek, "noise": rng.normal(size=n_symbols)}
            tracker.record(md.dates[bar], weights)
    return tracker, skill, scores


def test_perfect_foresight_reaches_the_upper_bound(foresight):
    tracker, skill, _ = foresight
    assert skill.count("oracle") == len(tracker) == 119
    assert skill.ic("oracle") == pytest.approx(1.0)
    assert skill.ic("contrarian") == pytest.approx(-1.0)
    assert skill.score("oracle") == 1.0 and skill.score("contrarian") == 0.0
    np.testing.assert_allclose(
        skill.multipliers(["oracle", "contrarian", "unknown"], kappa=0.25), [1.25, 0.75, 1.0]
    )
    assert abs(skill.ic("noise")) < 0.3


def test_tilt_stays_off_through_the_warmup(foresight):
    _, _, scores = foresight
    warmup = AllocationConfig().skill_warmup
    # the score at bar b has seen the b bars 1..b; the 40th arrives at bar 40
    assert scores[:warmup] == [0.5] * warmup
    assert scores[warmup:] == [1.0] * (len(scores) - warmup)


def test_update_consumes_each_bar_once(foresight):
    tracker, skill, _ = foresight
    count = skill.count("oracle")
    assert skill.update(tracker) == 0
    assert skill.count("oracle") == count


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"window": 0}, "skill_window"),
        ({"halflife": 0.0}, "skill_halflife"),
        ({"warmup": -1}, "skill_warmup"),
        ({"ic_scale": 0.0}, "ic_scale"),
    ],
)
def test_bad_parameters_raise(kwargs, parameter):
    with pytest.raises(ConfigError) as err:
        SkillTracker(**kwargs)
    assert err.value.parameter == parameter


def test_kappa_must_be_a_fraction():
    with pytest.raises(ConfigError, match="kappa"):
        SkillTracker().multipliers(["a"], kappa=1.5)
