"""Stress tests: historical windows, hypothetical shocks, and the governed Monte Carlo paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import riskbook
from riskbook.book import BookBuilder, BookConfig, DrawdownGovernor, demo_sleeves
from riskbook.book.config import GovernorConfig, PortfolioVolConfig
from riskbook.book.governor import drawdown_multiplier
from riskbook.datasets import load_sp500_index
from riskbook.errors import ConfigError, DataError
from riskbook.validate import ProcessExecutor
from riskbook.validate.stress import (
    HISTORICAL_SCENARIOS,
    SCENARIO_SOURCES,
    _stressed_series,
    govern_paths,
    historical_stress,
    hypothetical_stress,
    monte_carlo_stress,
    shock_loss,
    stationary_bootstrap_indices,
)

# --- the scenarios -----------------------------------------------------------------------------


def test_every_scenario_is_inside_the_bundled_data_and_has_a_source(sp500):
    first, last = np.datetime64(sp500.dates[0], "D"), np.datetime64(sp500.dates[-1], "D")
    assert set(SCENARIO_SOURCES) == set(HISTORICAL_SCENARIOS)
    for start, end in HISTORICAL_SCENARIOS.values():
        assert first <= np.datetime64(start) < np.datetime64(end) <= last


@pytest.mark.parametrize(
    ("name", "high", "low"),
    [
        ("2020 COVID crash", 3386.15, 2237.40),
        ("2022 bear market", 4796.56, 3577.03),
    ],
)
def test_peak_to_trough_windows_match_the_index(name, high, low):
    """The sources quote S&P 500 closes: the window starts at the high and ends at the low."""
    index = load_sp500_index()
    close = pd.Series(index.close[:, 0], index=pd.DatetimeIndex(index.dates))
    start, end = HISTORICAL_SCENARIOS[name]
    window = close[start:end]
    assert window.iloc[0] == pytest.approx(high) == window.max()
    assert window.iloc[-1] == pytest.approx(low) == window.min()


def test_2008_window_ends_at_the_march_2009_low():
    index = load_sp500_index()
    close = pd.Series(index.close[:, 0], index=pd.DatetimeIndex(index.dates))
    assert close["2007":"2012"].idxmin() == pd.Timestamp(HISTORICAL_SCENARIOS["2008 crisis"][1])
    start, end = HISTORICAL_SCENARIOS["August 2011"]
    assert close[start] == pytest.approx(1345.02) == close[start:end].max()
    assert close[start:end].idxmin() == pd.Timestamp("2011-08-08")


# --- historical_stress on a real backtest --------------------------------------------------------


@pytest.fixture(scope="module")
def covid_run(sp500):
    data = sp500.slice("2018-06-01", "2020-06-30")
    builder = BookBuilder(demo_sleeves()[:3])
    result = riskbook.backtest(
        data,
        builder,
        schedule="weekly",
        fill="next_close",
        start="2019-06-01",
        account="margin",
        leverage=2.0,
        cash=1_000_000,
    )
    return result, builder.history_frame()


def test_scenario_table_on_a_backtest(covid_run):
    result, history = covid_run
    table = historical_stress(result, history)
    assert list(table.index) == list(HISTORICAL_SCENARIOS)  # none dropped
    assert table["covered"].tolist() == [False, False, True, False]
    for name in ("2008 crisis", "August 2011", "2022 bear market"):
        assert table.loc[name, "note"].startswith("not covered")
        assert np.isnan(table.loc[name, "book_return"])
    row = table.loc["2020 COVID crash"]

    equity = result.equity
    base, last = equity["2020-02-19"], equity["2020-03-23"]
    assert row["book_return"] == pytest.approx(last / base - 1.0, rel=1e-12)
    assert row["days"] == len(equity["2020-02-20":"2020-03-23"])
    win = equity["2020-02-19":"2020-03-23"].to_numpy()
    assert row["window_drawdown"] == pytest.approx(np.max(1 - win / np.maximum.accumulate(win)))
    upto = equity[:"2020-03-23"].to_numpy()
    dd = 1 - upto / np.maximum.accumulate(upto)
    assert row["peak_to_trough"] == pytest.approx(dd[-len(win) :].max())
    assert row["carried_drawdown"] == pytest.approx(dd[-len(win)])
    assert row["peak_to_trough"] >= row["window_drawdown"] - 1e-15
    assert row["cap_breached"] == (row["peak_to_trough"] >= 0.15)

    # equal-weight buy-and-hold from the 2020-02-19 close
    close = pd.DataFrame(result.close, index=result.equity.index, columns=result.symbols)
    expected = (close.loc["2020-03-23"] / close.loc["2020-02-19"]).mean() - 1.0
    assert row["benchmark_return"] == pytest.approx(expected, rel=1e-12)
    assert row["benchmark_return"] < -0.25  # the crash itself
    assert row["book_return"] > row["benchmark_return"]

    gross = result.to_frame()["gross_exposure"]
    assert row["gross_start"] == pytest.approx(gross["2020-02-19"])
    assert row["gross_min"] == pytest.approx(gross["2020-02-19":"2020-03-23"].min())
    assert row["gross_min"] < 0.5 * row["gross_start"]  # gross was cut in the crash

    # the governor's timing, read independently from the history
    crossed = equity.index[equity.index.get_loc("2020-02-19") + np.argmax(dd[-len(win) :] > 0.05)]
    assert row["dd_crossed"] == crossed
    after = history[history.index >= crossed]
    assert row["first_decision_after"] == after.index[0]
    assert row["in_time"] == bool(after["governor"].iloc[0] < 1 or after["tier_factor"].iloc[0] < 1)
    assert row["governor_min"] == pytest.approx(
        history.loc["2020-02-19":"2020-03-23", "governor"].min()
    )


# --- "in time" on constructed histories ----------------------------------------------------------


DAYS = pd.bdate_range("2021-01-04", periods=30)  # Mon 4 Jan ... ; Fridays at 4, 9, 14, 19, 24, 29


def _equity(cross_at: int, depth: float = 0.08) -> pd.Series:
    """Flat at 100, one loss of ``depth`` on day ``cross_at``, flat after."""
    eq = np.full(len(DAYS), 100.0)
    eq[cross_at:] = 100.0 * (1 - depth)
    return pd.Series(eq, index=DAYS)


def _history(cut: dict[int, float], tier: dict[int, float] | None = None) -> pd.DataFrame:
    fridays = DAYS[4::5]
    gov = np.ones(len(fridays))
    tf = np.ones(len(fridays))
    for k, m in cut.items():
        gov[k] = m
    for k, f in (tier or {}).items():
        tf[k] = f
    return pd.DataFrame({"governor": gov, "tier_factor": tf}, index=fridays)


SCEN = {"test window": (str(DAYS[0].date()), str(DAYS[-1].date()))}


@pytest.mark.parametrize(
    ("history", "in_time", "cut", "lag"),
    [
        (_history({1: 0.77, 2: 0.77}), True, 1, 0),  # cut at the first Friday after the crossing
        (_history({2: 0.77}), False, 2, 1),  # one decision late
        (_history({}), False, None, None),  # never cut
        (_history({}, tier={1: 0.5}), True, 1, 0),  # a kill tier's cut counts
        (_history({0: 0.9, 1: 0.9}), True, 1, 0),  # a cut already in force counts
    ],
)
def test_in_time_rule(history, in_time, cut, lag):
    # the loss lands on Wednesday 13 Jan (day 7); the first decision on or after is Fri 15 Jan
    table = historical_stress(_equity(7), history, SCEN)
    row = table.loc["test window"]
    assert row["dd_crossed"] == DAYS[7]
    assert row["first_decision_after"] == DAYS[9]
    assert row["in_time"] is in_time
    if cut is None:
        assert pd.isna(row["governor_cut"]) and np.isnan(row["cut_lag"])
    else:
        assert row["governor_cut"] == history.index[cut]
        assert row["cut_lag"] == lag


def test_crossing_on_a_decision_day_needs_the_cut_that_day():
    # loss on Friday 15 Jan (day 9), itself a decision
    row = historical_stress(_equity(9), _history({1: 0.77}), SCEN).loc["test window"]
    assert row["first_decision_after"] == DAYS[9] and row["in_time"] is True
    row = historical_stress(_equity(9), _history({2: 0.77}), SCEN).loc["test window"]
    assert row["in_time"] is False and row["cut_lag"] == 1


def test_in_time_is_undefined_without_a_crossing_or_a_later_decision():
    row = historical_stress(_equity(7, depth=0.04), _history({}), SCEN).loc["test window"]
    assert row["in_time"] is None and pd.isna(row["dd_crossed"])  # 4% is not above start
    assert "within governor.start" in row["note"]
    # the loss comes after the last decision (Fri 12 Feb is day 29; loss on day 29 needs a
    # decision on or after it, and the last one is that same day; drop it)
    row = historical_stress(_equity(29), _history({}).iloc[:-1], SCEN).loc["test window"]
    assert row["dd_crossed"] == DAYS[29] and row["in_time"] is None
    assert "no decision after" in row["note"]
    # a custom start threshold moves the crossing
    cfg = BookConfig.from_dict({"governor": {"start": 0.09, "floor_at": 0.12}})
    row = historical_stress(_equity(7), _history({}), SCEN, config=cfg).loc["test window"]
    assert row["in_time"] is None


def test_partial_window_is_reported_not_covered():
    scen = {"inside": ("2021-01-05", "2021-01-20"), "late": ("2021-01-20", "2021-03-31")}
    table = historical_stress(_equity(7), None, scen)
    assert table["covered"].tolist() == [True, False]
    assert "not covered" in table.loc["late", "note"]
    # an equity series alone: no benchmark, no gross, no governor
    assert np.isnan(table.loc["inside", "benchmark_return"])
    assert table.loc["inside", "in_time"] is None
    # base bar = close of 5 Jan (100), end = 20 Jan (92)
    assert table.loc["inside", "book_return"] == pytest.approx(-0.08)
    assert table.loc["inside", "worst_day"] == pytest.approx(0.08)


def test_historical_stress_errors():
    with pytest.raises(DataError) as err:
        historical_stress(_equity(7), pd.DataFrame({"x": [1.0]}, index=DAYS[:1]))
    assert err.value.parameter == "history"
    with pytest.raises(DataError) as err:
        historical_stress(_equity(7), None, {"bad": ("2021-02-01", "2021-01-01")})
    assert err.value.parameter == "scenarios"
    with pytest.raises(DataError):
        historical_stress(pd.Series([100.0, -1.0], index=DAYS[:2]))
    with pytest.raises(DataError):
        historical_stress([1.0, 2.0])


# --- hypothetical shocks -----------------------------------------------------------------------


def test_shock_loss_by_hand():
    assert shock_loss([0.5, 0.3, 0.2], [-0.1, -0.2, 0.05]) == pytest.approx(0.10)
    # long/short, aligned by symbol whatever the order
    w = pd.Series({"A": 0.6, "B": -0.4, "C": 0.8})
    r = pd.Series({"C": -0.05, "A": -0.1, "B": -0.2, "D": 0.3})
    assert shock_loss(w, r) == pytest.approx(0.06 - 0.08 + 0.04)
    with pytest.raises(DataError) as err:
        shock_loss(w, r.drop("B"))
    assert err.value.symbol == "B"
    with pytest.raises(DataError):
        shock_loss([0.5, 0.5], [0.1])


@pytest.fixture(scope="module")
def three_assets():
    rng = np.random.default_rng(5)
    market = rng.normal(0, 0.01, 500)
    R = np.column_stack([0.5 * market, 1.0 * market, 1.5 * market]) + rng.normal(0, 0.004, (500, 3))
    return pd.DataFrame(R, columns=["LOW", "MID", "HIGH"])


def test_crash_day_uses_betas_to_the_equal_weight_market(three_assets):
    R = three_assets
    m = R.mean(axis=1)
    betas = np.array([np.cov(R[c], m)[0, 1] / m.var() for c in R])
    w = np.array([0.5, 0.2, 0.3])
    table = hypothetical_stress(w, R)
    np.testing.assert_allclose(table.attrs["betas"].to_numpy(), betas, rtol=1e-12)
    assert betas.mean() == pytest.approx(1.0)
    assert table.loc["1987-style day", "loss"] == pytest.approx(0.2 * w @ betas)
    # the equal-weight book falls exactly 20%
    eq = hypothetical_stress(np.full(3, 1 / 3), R)
    assert eq.loc["1987-style day", "loss"] == pytest.approx(0.2, abs=1e-15)
    assert eq.loc["1987-style day", "breaches_hard_cap"]
    assert eq.loc["1987-style day", "governor_multiplier"] == 0.0
    # a Series of weights aligns by name
    named = hypothetical_stress(pd.Series({"HIGH": 0.3, "LOW": 0.5, "MID": 0.2}), R)
    pd.testing.assert_frame_equal(named, table)


def test_correlations_to_one_and_vol_x3(three_assets):
    R = three_assets
    sigma = R.std(ddof=1).to_numpy() * np.sqrt(252)
    cov = R.cov().to_numpy() * 252
    long = np.array([0.5, 0.2, 0.3])
    t = hypothetical_stress(long, R)
    assert t.loc["current", "value"] == pytest.approx(np.sqrt(long @ cov @ long))
    assert t.loc["correlations to 1", "value"] == pytest.approx(np.abs(long) @ sigma)
    assert t.loc["correlation matrix of ones", "value"] == pytest.approx(long @ sigma)
    assert t.loc["vol x3", "value"] == pytest.approx(3 * t.loc["current", "value"], rel=1e-12)

    ls = np.array([0.8, -0.5, 0.3])
    t = hypothetical_stress(ls, R)
    worst_corr = np.sign(np.outer(ls, ls))  # +1 same side, -1 opposite sides
    worst = np.sqrt(ls @ (np.outer(sigma, sigma) * worst_corr) @ ls)
    assert t.loc["correlations to 1", "value"] == pytest.approx(worst)
    assert t.loc["correlations to 1", "value"] == pytest.approx(np.abs(ls) @ sigma)
    assert t.loc["correlation matrix of ones", "value"] == pytest.approx(abs(ls @ sigma))
    assert t.loc["correlation matrix of ones", "value"] < t.loc["correlations to 1", "value"]

    # losses of the vol rows: 99% normal over 21 days, and what the governor does there
    z = norm.ppf(0.99) * np.sqrt(21 / 252)
    for name in ("current", "correlations to 1", "vol x3"):
        loss = t.loc[name, "value"] * z
        assert t.loc[name, "loss"] == pytest.approx(loss, rel=1e-12)
        assert t.loc[name, "governor_multiplier"] == pytest.approx(drawdown_multiplier(loss))
        assert t.loc[name, "breaches_hard_cap"] == (loss >= 0.15)


def test_hypothetical_stress_errors(three_assets):
    with pytest.raises(DataError) as err:
        hypothetical_stress(pd.Series({"NOPE": 1.0}), three_assets)
    assert err.value.symbol == "NOPE"
    with pytest.raises(DataError):
        hypothetical_stress([0.5, 0.5], three_assets)
    bad = three_assets.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(DataError):
        hypothetical_stress([0.3, 0.3, 0.4], bad)
    with pytest.raises(ConfigError) as err:
        hypothetical_stress([0.3, 0.3, 0.4], three_assets, crash=-0.2)
    assert err.value.parameter == "crash"


# --- the governor along paths ------------------------------------------------------------------


def _reference(returns: np.ndarray, config: GovernorConfig, vol_target=None) -> np.ndarray:
    """The stateful DrawdownGovernor, one update per day's close (the hand loop)."""
    gov = DrawdownGovernor(config)
    day = np.datetime64("2024-01-01")
    equity = 1.0
    m = gov.update(equity, day, vol_target=vol_target).multiplier
    out = []
    for t, r in enumerate(returns, 1):
        out.append(m)
        equity *= 1.0 + m * r
        m = gov.update(equity, day + t, vol_target=vol_target).multiplier
    return np.array(out)


def test_governed_path_by_hand():
    # -10%: DD 10% -> m = 1 - 0.8 * 5/7; then DD 13.9% -> floor 0.2; then DD 15.6% -> cooloff
    r = np.array([-0.10, -0.10, -0.10, 0.05])
    g, m = govern_paths(r)
    np.testing.assert_allclose(m, [1.0, 1 - 0.8 * 5 / 7, 0.2, 0.0])
    np.testing.assert_allclose(g, [-0.1, -0.1 * (1 - 0.8 * 5 / 7), -0.02, 0.0])


def test_cooloff_lasts_its_days_and_re_enters_at_the_floor():
    r = np.r_[-0.20, np.zeros(25), 0.01]
    _, m = govern_paths(r)
    assert m[0] == 1.0
    assert (m[1:21] == 0.0).all() and len(m[1:21]) == 20  # cooloff_days = 20
    assert m[21] == pytest.approx(0.2)  # peak rebased: DD = floor_at -> the floor
    _, m5 = govern_paths(r, GovernorConfig(cooloff_days=5))
    assert (m5[1:6] == 0.0).all() and m5[6] == pytest.approx(0.2)


@pytest.mark.parametrize(
    "config",
    [
        GovernorConfig(),
        GovernorConfig(cooloff_days=3),
        GovernorConfig(cooloff_days=0),
        GovernorConfig(start=0.02, floor_at=0.06, hard_cap=0.08, floor=0.3, cooloff_days=4),
    ],
)
def test_vectorised_governor_equals_the_stateful_one(config):
    rng = np.random.default_rng(11)
    paths = rng.standard_t(3, (6, 300)) * 0.012
    g, m = govern_paths(paths, config)
    for p in range(len(paths)):
        expected = _reference(paths[p], config)
        np.testing.assert_allclose(m[p], expected, rtol=0, atol=1e-13)
        np.testing.assert_allclose(g[p], expected * paths[p], rtol=0, atol=1e-15)
    assert (m == 0).any() and ((m > 0) & (m < 1)).any()  # curve and cooloff both exercised


def test_vol_adjusted_governor_reads_the_book_vol_target():
    cfg = BookConfig(
        governor=GovernorConfig(vol_adjusted=True), portfolio_vol=PortfolioVolConfig(target=0.12)
    )
    rng = np.random.default_rng(2)
    path = rng.standard_t(3, 400) * 0.012
    _, m = govern_paths(path, cfg)
    np.testing.assert_allclose(m, _reference(path, cfg.governor, vol_target=0.12), atol=1e-13)
    _, plain = govern_paths(path)
    assert not np.allclose(m, plain)


# --- bootstrap and Monte Carlo -----------------------------------------------------------------


def test_stationary_bootstrap_blocks():
    T, block = 500, 10
    idx = stationary_bootstrap_indices(T, 400, 252, block, np.random.default_rng(0))
    assert idx.shape == (400, 252) and idx.min() >= 0 and idx.max() < T
    continues = np.diff(idx, axis=1) % T == 1
    # a new block starts with probability 1/block (a fresh start can also land on idx + 1)
    starts = 1 - continues.mean()
    assert starts == pytest.approx(1 / block * (1 - 1 / T), rel=0.05)
    iid = stationary_bootstrap_indices(T, 50, 252, 1, np.random.default_rng(0))
    assert (np.diff(iid, axis=1) % T == 1).mean() < 0.01


@pytest.fixture(scope="module")
def fat_tails():
    return np.random.default_rng(8).standard_t(4, 2000) * 0.005 + 0.0003


def test_monte_carlo_same_on_every_executor(fat_tails):
    kw = {"n_paths": 250, "horizon": 126, "chunk_size": 100, "seed": 4}
    serial = monte_carlo_stress(fat_tails, **kw)
    parallel = monte_carlo_stress(fat_tails, executor=ProcessExecutor(2), **kw)
    pd.testing.assert_frame_equal(serial.paths, parallel.paths, check_exact=True)
    pd.testing.assert_frame_equal(serial.summary, parallel.summary, check_exact=True)
    other = monte_carlo_stress(fat_tails, **(kw | {"seed": 5}))
    assert not serial.paths.equals(other.paths)


def test_monte_carlo_governor_cuts_the_tail(fat_tails):
    out = monte_carlo_stress(fat_tails, n_paths=2000, horizon=252, seed=1)
    s, p = out.summary, out.paths
    assert len(p) == 2000 and out.hard_cap == 0.15
    assert s.loc["max_drawdown_governed", "q99"] <= s.loc["max_drawdown", "q99"]
    assert s.loc["max_drawdown_governed", "p_breach"] < s.loc["max_drawdown", "p_breach"]
    assert s.loc["max_drawdown", "p_breach"] > 0.05  # the stress does reach the cap
    # the summary is read from the paths
    x = p["max_drawdown"].to_numpy()
    assert s.loc["max_drawdown", "q95"] == pytest.approx(np.quantile(x, 0.95))
    assert s.loc["max_drawdown", "worst"] == x.max()
    assert s.loc["max_drawdown", "p_breach"] == pytest.approx(np.mean(x >= 0.15))
    assert ((p["mean_exposure"] > 0) & (p["mean_exposure"] <= 1)).all()
    # a path that never leaves m = 1 is identical with and without the governor
    calm = p["max_drawdown"] <= 0.05
    assert calm.any()
    np.testing.assert_allclose(p.loc[calm, "final_loss"], p.loc[calm, "final_loss_governed"])


def test_monte_carlo_paths_are_bootstrapped_from_the_series():
    # a series of +1% and -1% only: each path's final equity is 1.01^u 0.99^d with u + d = H
    r = np.tile([0.01, -0.01], 100)
    out = monte_carlo_stress(r, n_paths=50, horizon=20, seed=0, block=3)
    final = 1 - out.paths["final_loss"].to_numpy()
    ups = np.round(np.log(final / 0.99**20) / np.log(1.01 / 0.99))
    np.testing.assert_allclose(final, 1.01**ups * 0.99 ** (20 - ups), rtol=1e-12)


def test_factor_shock_recolours_to_the_stressed_covariance(three_assets):
    R = three_assets.to_numpy()
    w = np.array([0.5, 0.2, 0.3])
    k, c = 2.0, 0.5
    series, _ = _stressed_series(R, w, k, c)
    S = np.cov(R, rowvar=False)
    sd = np.sqrt(np.diag(S))
    C = S / np.outer(sd, sd)
    S_s = k**2 * np.outer(sd, sd) * ((1 - c) * C + c)
    assert series.std(ddof=1) == pytest.approx(np.sqrt(w @ S_s @ w), rel=1e-10)
    assert series.mean() == pytest.approx(0.0, abs=1e-15)
    # correlations all the way to 1: the long book's vol is k * sum w_i sigma_i
    series, _ = _stressed_series(R, w, 3.0, 1.0)
    assert series.std(ddof=1) == pytest.approx(3.0 * w @ sd, rel=1e-10)
    # one-dimensional input: the demeaned series times k
    one, _ = _stressed_series(R[:, :1], np.ones(1), 2.0, 0.5)
    np.testing.assert_allclose(one, 2.0 * (R[:, 0] - R[:, 0].mean()))

    out = monte_carlo_stress(
        three_assets, weights=w, method="factor_shock", n_paths=300, horizon=63, seed=2
    )
    assert out.settings["stressed_daily_vol"] == pytest.approx(np.sqrt(w @ S_s @ w))
    base = monte_carlo_stress(three_assets, weights=w, n_paths=300, horizon=63, seed=2)
    assert out.summary.loc["max_drawdown", "q50"] > base.summary.loc["max_drawdown", "q50"]


def test_monte_carlo_errors(fat_tails):
    with pytest.raises(ConfigError) as err:
        monte_carlo_stress(fat_tails, method="garch")
    assert err.value.parameter == "method"
    with pytest.raises(ConfigError) as err:
        monte_carlo_stress(fat_tails, n_paths=0)
    assert err.value.parameter == "n_paths"
    with pytest.raises(ConfigError) as err:
        monte_carlo_stress(fat_tails, block=0.5)
    assert err.value.parameter == "block"
    with pytest.raises(DataError):
        monte_carlo_stress(np.r_[fat_tails, np.nan])
    with pytest.raises(DataError) as err:
        monte_carlo_stress(np.ones((10, 3)) * 0.01)
    assert err.value.parameter == "weights"
