"""Shadow runs: identical sides track exactly, hand cases give the hand numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook.errors import ConfigError, DataError
from riskbook.estimate import ledoit_wolf
from riskbook.validate.shadow import COLUMNS, ShadowResult, shadow


def frame(T: int, N: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    R = rng.normal(0.0003, 0.008, (T, 1)) + rng.normal(0.0, 0.01, (T, N))
    return pd.DataFrame(
        R, index=pd.bdate_range("2020-01-01", periods=T), columns=[f"S{i}" for i in range(N)]
    )


def half_half(x: np.ndarray) -> np.ndarray:
    return np.array([0.5, 0.5])


def all_first(x: np.ndarray) -> np.ndarray:
    return np.array([1.0, 0.0])


def all_second(x: np.ndarray) -> np.ndarray:
    return np.array([0.0, 1.0])


def test_identical_allocators_track_exactly():
    r = frame(400, 4, seed=1)
    res = shadow("hrp", "hrp", r, names=("live", "shadow"), train=100, test=21, window=21)
    assert isinstance(res, ShadowResult)
    ts = res.timeseries
    assert list(ts.columns) == list(COLUMNS)
    assert (ts["tracking_difference"] == 0.0).all()
    assert res.tracking_error == 0.0
    assert res.tracking_difference == 0.0
    assert res.ex_ante_tracking_error == 0.0
    assert (ts["rolling_tracking_error"].dropna() == 0.0).all()
    assert (ts["ex_ante_tracking_error"] == 0.0).all()
    s = res.summary()
    assert list(s.index) == ["live", "shadow", "live - shadow"]
    pd.testing.assert_series_equal(s.loc["live"], s.loc["shadow"], check_names=False)
    assert np.isnan(s.loc["live - shadow", "information_ratio"])


def test_hand_case_two_constant_weight_allocators():
    """50/50 buy and hold against all in the first asset, one fold, no costs."""
    r = frame(90, 2, seed=4)
    train, window = 60, 10
    res = shadow(half_half, all_first, r, names=("mix", "first"), train=train, test=30, costs=0)
    R = r.to_numpy()[train:]
    growth = np.cumprod(1.0 + R, axis=0)
    value_a = 0.5 * growth.sum(axis=1)  # drifting, never rebalanced inside the fold
    r_a = np.r_[0.0, value_a / np.r_[1.0, value_a[:-1]] - 1.0]
    r_b = np.r_[0.0, R[:, 0]]
    d = r_a - r_b
    ts = res.timeseries
    assert ts.index[0] == r.index[train - 1]  # the refit date
    np.testing.assert_allclose(ts["return_a"], r_a, rtol=0, atol=1e-15)
    np.testing.assert_allclose(ts["return_b"], r_b, rtol=0, atol=1e-15)
    np.testing.assert_allclose(ts["tracking_difference"], d, rtol=0, atol=1e-15)
    assert res.tracking_difference == pytest.approx(d.mean() * 252, rel=1e-12)
    assert res.tracking_error == pytest.approx(d.std(ddof=1) * np.sqrt(252), rel=1e-12)
    assert res.summary().loc["mix - first", "information_ratio"] == pytest.approx(
        d.mean() * 252 / (d.std(ddof=1) * np.sqrt(252)), rel=1e-12
    )
    # rolling realised vol of the first side over the last `window` rows
    res_w = shadow(
        half_half, all_first, r, names=("mix", "first"), train=train, test=30, costs=0, window=10
    )
    assert res_w.timeseries["rolling_vol_a"].iloc[-1] == pytest.approx(
        r_a[-window:].std(ddof=1) * np.sqrt(252), rel=1e-10
    )
    assert res_w.timeseries["rolling_vol_a"].iloc[: window - 1].isna().all()
    # ex ante: (w_a - w_b) = (-0.5, 0.5) on the training window's Ledoit-Wolf covariance
    S = ledoit_wolf(r.to_numpy()[:train], "constant_correlation")
    dw = np.array([-0.5, 0.5])
    assert res.ex_ante_tracking_error == pytest.approx(np.sqrt(dw @ S @ dw * 252), rel=1e-12)
    assert (ts["ex_ante_tracking_error"] == res.ex_ante_tracking_error).all()
    # gross exposure: fully invested, no cash, long only
    np.testing.assert_allclose(ts[["gross_a", "gross_b"]].to_numpy(), 1.0, atol=1e-14)
    np.testing.assert_allclose(ts["turnover_a"].iloc[0], 1.0)
    assert (ts["turnover_a"].iloc[1:] == 0.0).all()


def test_turnover_and_costs_of_single_asset_sides():
    """All in one asset: the drift never moves the weight, so only the first purchase trades."""
    r = frame(160, 2, seed=2)
    res = shadow(all_first, all_second, r, train=60, test=20, costs=0)
    ts = res.timeseries
    refits = res.walk_forward.refit_dates
    assert ts.loc[refits, "turnover_a"].tolist() == [1.0] + [0.0] * (len(refits) - 1)
    np.testing.assert_allclose(
        ts["tracking_difference"].iloc[1:], (r["S0"] - r["S1"]).iloc[60:], rtol=0, atol=1e-15
    )
    assert res.summary().loc["a", "annual_turnover"] == pytest.approx(1.0 / (len(ts) / 252))
    # With costs both pay 10 bps to get in; the fee was paid from cash (weights are fractions
    # of total equity, as in riskbook.backtest), so the next refit sells that much back.
    res = shadow(all_first, all_second, r, train=60, test=20, costs=10)
    ts, wf = res.timeseries, res.walk_forward
    assert ts["tracking_difference"].iloc[0] == 0.0
    post = wf.equity["a"].loc[refits[1]]
    pre = post / (1.0 - wf.costs["a"].iloc[1])
    assert ts.loc[refits[1], "turnover_a"] == pytest.approx(10e-4 / pre, rel=1e-12)


def test_vol_target_and_realised_vol_reported():
    r = frame(500, 3, seed=3)
    res = shadow("erc", "equal_weight", r, train=120, test=21, vol_target=0.1, window=63)
    ts = res.timeseries
    assert (ts["target_vol_a"] == 0.1).all() and (ts["target_vol_b"] == 0.1).all()
    assert ts["rolling_vol_a"].notna().sum() == len(ts) - 62
    s = res.summary()
    assert (s.loc[["a", "b"], "target_vol"] == 0.1).all()
    assert s.loc[["a", "b"], "volatility"].between(0.05, 0.2).all()


@pytest.fixture(scope="module")
def three_stocks():
    return (
        riskbook.datasets.load_sp500()
        .slice("2017-01-01", "2019-12-31")
        .select(["KO", "PEP", "XOM"])
    )


def _equal(view) -> np.ndarray:
    return np.full(3, 1 / 3)


def _tilted(view) -> np.ndarray:
    return np.array([0.5, 0.3, 0.2])


def test_backtest_results_as_sides(three_stocks):
    kw = {"schedule": "monthly", "fill": "close", "fractional": True, "costs": 10.0}
    a = riskbook.backtest(three_stocks, _equal, **kw)
    b = riskbook.backtest(three_stocks, _tilted, **kw)
    res = shadow(a, b, names=("equal", "tilted"))
    ts = res.timeseries
    ra = a.equity.pct_change().iloc[1:]
    np.testing.assert_allclose(ts["return_a"], ra.to_numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        ts["gross_b"], b.to_frame()["gross_exposure"].iloc[1:].to_numpy(), rtol=1e-15
    )
    trades = b.trades
    first = trades[trades["decision_time"] == trades["decision_time"].iloc[0]]
    traded = (first["quantity"].abs() * first["reference_price"]).sum()
    day = first["decision_time"].iloc[0]
    # over the equity the orders were sized on: all cash at the first decision
    assert ts.loc[day, "turnover_b"] == pytest.approx(traded / b.initial_cash, rel=1e-12)
    later = trades[trades["decision_time"] == trades["decision_time"].iloc[-1]]
    day = later["decision_time"].iloc[0]
    i = int(np.searchsorted(b.dates, day.to_datetime64()))
    pre = b.cash_values[i - 1] + b.positions.iloc[i - 1].to_numpy() @ b.close[i]
    traded = (later["quantity"].abs() * later["reference_price"]).sum()
    assert ts.loc[day, "turnover_b"] == pytest.approx(traded / pre, rel=1e-12)
    assert np.isnan(res.ex_ante_tracking_error)
    assert ts["ex_ante_tracking_error"].isna().all()
    assert shadow(a, a, names=("x", "y")).tracking_error == 0.0


def test_allocator_against_the_engine_running_it(three_stocks):
    """Walk-forward 1/N against riskbook.backtest of 1/N at the same refits: no tracking."""
    wf_side = "equal_weight"
    probe = shadow(wf_side, wf_side, three_stocks, names=("x", "y"), train=252, test=21)
    refits = list(probe.walk_forward.refit_dates)
    bt = riskbook.backtest(
        three_stocks,
        _equal,
        schedule=refits,
        fill="close",
        fractional=True,
        costs=10.0,
        account="margin",
    )
    res = shadow(wf_side, bt, three_stocks, names=("walk-forward", "engine"), train=252, test=21)
    ts = res.timeseries
    assert ts.index[0] == refits[0]  # the dates both sides have
    assert np.abs(ts.loc[refits[0] :, "tracking_difference"]).max() < 1e-12
    np.testing.assert_allclose(
        ts.loc[refits, "turnover_a"], ts.loc[refits, "turnover_b"], rtol=0, atol=1e-9
    )


def test_errors():
    r = frame(100, 2)
    with pytest.raises(ConfigError, match="distinct") as err:
        shadow("hrp", "erc", r, names=("x", "x"), train=40, test=20)
    assert err.value.parameter == "names"
    with pytest.raises(ConfigError) as err:
        shadow("hrp", "erc", r, window=1, train=40, test=20)
    assert err.value.parameter == "window"
    with pytest.raises(ConfigError, match="BacktestResult") as err:
        shadow("hrp", 3, r, train=40, test=20)
    assert err.value.parameter == "b"
    with pytest.raises(ConfigError, match="need data") as err:
        shadow("hrp", "erc")
    assert err.value.parameter == "data"
    with pytest.raises(ConfigError) as err:
        shadow("hrp", "erc", r, periods_per_year="daily", train=40, test=20)
    assert err.value.parameter == "periods_per_year"
    with pytest.raises(ConfigError, match="unknown allocator 'hrpp'"):
        shadow("hrpp", "erc", r, train=40, test=20)


def test_sides_without_common_dates():
    early = riskbook.datasets.load_sp500().slice("2010-01-01", "2010-06-30").select(["KO", "PEP"])
    late = riskbook.datasets.load_sp500().slice("2012-01-01", "2012-06-30").select(["KO", "PEP"])
    a = riskbook.backtest(early, lambda v: [0.5, 0.5], fill="close")
    b = riskbook.backtest(late, lambda v: [0.5, 0.5], fill="close")
    with pytest.raises(DataError, match="share no date"):
        shadow(a, b)
