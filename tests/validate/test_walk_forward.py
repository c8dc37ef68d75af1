"""Walk-forward ladder: hand computations, the engine, no look-ahead, executors, verdict, errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook.errors import ConfigError, DataError, StrategyError
from riskbook.estimate import ledoit_wolf
from riskbook.optimize import inverse_volatility
from riskbook.validate.executor import ProcessExecutor
from riskbook.validate.walk_forward import DEFAULT_LADDER, WalkForwardResult, walk_forward

# ----------------------------------------------------------------------------- helpers


def frame(T: int, N: int, seed: int = 0, start: str = "2020-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.normal(0.0003, 0.008, (T, 1))
    R = common + rng.normal(0.0, 0.01, (T, N)) * rng.uniform(0.5, 2.0, N)
    return pd.DataFrame(
        R, index=pd.bdate_range(start, periods=T), columns=[f"S{i}" for i in range(N)]
    )


def fixed_weights(x: np.ndarray) -> np.ndarray:
    """Module level, so process and Dask workers can import it."""
    return np.array([0.5, 0.3, 0.1])[: x.shape[1]]


def half_half(x: np.ndarray) -> np.ndarray:
    return np.full(x.shape[1], 1.0 / x.shape[1])


def inverse_variance(x: np.ndarray) -> np.ndarray:
    iv = 1.0 / x.var(axis=0, ddof=1)
    return iv / iv.sum()


def wrong_length(x: np.ndarray) -> np.ndarray:
    return np.ones(x.shape[1] + 1) / (x.shape[1] + 1)


def with_nan(x: np.ndarray) -> np.ndarray:
    w = np.full(x.shape[1], 1.0 / x.shape[1])
    w[0] = np.nan
    return w


def raises(x: np.ndarray) -> np.ndarray:
    raise RuntimeError("model not fitted")


# ----------------------------------------------------------------------------- (1) by hand


def test_single_fold_without_costs_is_drifting_buy_and_hold():
    r = frame(40, 3)
    res = walk_forward(r, {"fixed": fixed_weights}, train=30, test=10, costs=0)
    assert len(res.folds) == 1
    growth = np.cumprod(1.0 + r.to_numpy()[30:], axis=0)
    value = growth @ np.array([0.5, 0.3, 0.1]) + 0.1  # 10% cash at 0%
    expected = np.r_[0.0, value / np.r_[1.0, value[:-1]] - 1.0]
    got = res.returns["fixed"]
    assert got.index[0] == r.index[29]  # the refit date, then the test rows
    assert list(got.index[1:]) == list(r.index[30:])
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.equity["fixed"].to_numpy()[1:], value, rtol=1e-14)
    held = growth * np.array([0.5, 0.3, 0.1])
    np.testing.assert_allclose(
        res.gross_exposure["fixed"].to_numpy()[1:], held.sum(axis=1) / value, rtol=1e-14
    )
    # the weights drift: they are not rebalanced daily
    assert not np.allclose(held[-1] / value[-1], [0.5, 0.3, 0.1], atol=1e-3)


def test_costs_are_bps_of_traded_value_at_each_refit():
    r = frame(60, 2, seed=3)
    bps = 25.0
    res = walk_forward(r, {"half": half_half}, train=20, test=20, costs=bps)
    f = bps * 1e-4
    R = r.to_numpy()
    # fold 0: buy from cash; the fee comes out of cash
    fee0 = f * 1.0
    cash = 1.0 - 1.0 - fee0
    h = 0.5 * np.cumprod(1.0 + R[20:40], axis=0)
    E1 = cash + h[-1].sum()
    drifted = h[-1] / E1
    traded1 = np.abs(0.5 - drifted).sum()
    fee1 = f * traded1  # as a fraction of the pre-trade equity E1
    np.testing.assert_allclose(res.turnover["half"].to_numpy(), [1.0, traded1], rtol=1e-13)
    np.testing.assert_allclose(res.costs["half"].to_numpy(), [fee0, fee1], rtol=1e-13)
    eq = res.equity["half"]
    assert eq.iloc[0] == pytest.approx(1.0 - fee0, rel=1e-15)
    # the second refit date (last row of fold 0) carries that fee
    assert eq.loc[r.index[39]] == pytest.approx(E1 * (1.0 - fee1), rel=1e-13)
    assert res.summary().loc["half", "cost_drag"] == pytest.approx(
        (fee0 + fee1) / (40 / 252), rel=1e-12
    )


# ----------------------------------------------------------------------------- (2) the engine


@pytest.fixture(scope="module")
def four_stocks():
    return (
        riskbook.datasets.load_sp500()
        .slice("2015-01-01", "2019-12-31")
        .select(["KO", "PEP", "XOM", "JNJ"])
    )


def _engine_inverse_vol(view) -> np.ndarray:
    """Independent of the walk-forward: the last 252 returns the engine's view allows."""
    X = view.returns(length=252).to_numpy()
    return inverse_volatility(ledoit_wolf(X, "constant_correlation"))


def _engine_equal(view) -> np.ndarray:
    return np.full(len(view.symbols), 0.25)


@pytest.mark.parametrize(
    ("spec", "strategy"), [("equal_weight", _engine_equal), ("inverse_vol", _engine_inverse_vol)]
)
def test_matches_the_backtest_engine(four_stocks, spec, strategy):
    res = walk_forward(four_stocks, {spec: spec}, train=252, test=21, costs=10.0)
    # Fill at the decision bar's close, fractional shares, 10 bps fee, no slippage; a margin
    # account so the fee may take cash below 0 (the walk-forward pays it out of cash too).
    bt = riskbook.backtest(
        four_stocks,
        strategy,
        schedule=list(res.refit_dates),
        fill="close",
        fractional=True,
        costs=10.0,
        account="margin",
        leverage=1.0,
    )
    engine = bt.equity.loc[res.equity.index[0] :] / bt.initial_cash
    assert list(engine.index) == list(res.equity.index)
    np.testing.assert_allclose(res.equity[spec].to_numpy(), engine.to_numpy(), rtol=1e-10, atol=0)
    # the fees: engine currency over its pre-trade equity equals the walk-forward's costs
    fees = bt.trades.groupby("decision_time")["fee"].sum() / bt.initial_cash
    post = res.equity[spec].reindex(res.refit_dates).to_numpy()
    pre = post / (1.0 - res.costs[spec].to_numpy())
    np.testing.assert_allclose(fees.to_numpy() / pre, res.costs[spec].to_numpy(), rtol=1e-10)


# ----------------------------------------------------------------------------- (3) no look-ahead


def test_weights_at_a_refit_ignore_every_later_return():
    r = frame(252 + 5 * 21, 5, seed=7)
    base = walk_forward(r, None, train=252, test=21, costs=10)
    k = 2
    first_test = base.folds.loc[k, "test_start"]
    bumped = r.copy()
    later = bumped.index >= first_test
    bumped.loc[later] = bumped.loc[later] * 3.0 + 0.01
    moved = walk_forward(bumped, None, train=252, test=21, costs=10)
    for name in DEFAULT_LADDER:
        a, b = base.weights[name].to_numpy(), moved.weights[name].to_numpy()
        np.testing.assert_array_equal(a[: k + 1], b[: k + 1])
        if name != "1/N":  # the others do use the bumped rows once they are in the past
            assert not np.array_equal(a[k + 1 :], b[k + 1 :])
        before = base.returns.index < first_test
        np.testing.assert_array_equal(
            base.returns[name][before].to_numpy(), moved.returns[name][before].to_numpy()
        )


# ----------------------------------------------------------------------------- (4) windows


def test_rolling_and_anchored_windows_have_the_documented_lengths():
    r = frame(140, 3)
    rolling = walk_forward(r, ["equal_weight"], train=50, test=20)
    anchored = walk_forward(r, ["equal_weight"], train=50, test=20, anchored=True)
    starts = np.array([50, 70, 90, 110, 130])
    for res in (rolling, anchored):
        f = res.folds
        assert list(f["test_start"]) == list(r.index[starts])
        assert list(f["refit_date"]) == list(r.index[starts - 1])
        assert list(f["train_end"]) == list(r.index[starts - 1])
        assert f["test_rows"].tolist() == [20, 20, 20, 20, 10]  # the last one is short
        assert any("last test window is short" in n for n in res.notes)
    assert rolling.folds["train_rows"].tolist() == [50] * 5
    assert list(rolling.folds["train_start"]) == list(r.index[starts - 50])
    assert anchored.folds["train_rows"].tolist() == [50, 70, 90, 110, 130]
    assert set(anchored.folds["train_start"]) == {r.index[0]}
    assert anchored.returns.index[-1] == r.index[-1]


def test_windows_see_exactly_their_rows():
    r = frame(120, 2, seed=5)
    seen = []

    def record(x):
        seen.append(x.copy())
        return np.array([0.5, 0.5])

    walk_forward(r, {"rec": record}, train=40, test=40, anchored=True)
    walk_forward(r, {"rec": record}, train=40, test=40)
    R = r.to_numpy()
    expected = [R[:40], R[:80], R[0:40], R[40:80]]
    assert len(seen) == 4
    for got, want in zip(seen, expected, strict=True):
        np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- (5) executors


def test_serial_and_processes_are_bit_identical():
    r = frame(252 + 30 * 10, 6, seed=11)
    ladder = dict(DEFAULT_LADDER) | {"inverse variance": inverse_variance}
    ticks = []
    kwargs = {"train": 252, "test": 10, "costs": 10, "vol_target": 0.1}
    serial = walk_forward(r, ladder, **kwargs)
    parallel = walk_forward(
        r, ladder, executor=ProcessExecutor(2), progress=lambda d, n: ticks.append((d, n)), **kwargs
    )
    assert parallel.settings["executor"] == "processes(2)"
    # 30 folds in blocks of FOLDS_PER_TASK (12), every strategy in each: 3 tasks
    assert sorted(ticks)[-1] == (3, 3)
    for key in ("returns", "equity", "gross_exposure", "turnover", "costs", "leverage"):
        pd.testing.assert_frame_equal(
            getattr(serial, key), getattr(parallel, key), check_exact=True
        )
    for name in ladder:
        pd.testing.assert_frame_equal(
            serial.weights[name], parallel.weights[name], check_exact=True
        )


# ----------------------------------------------------------------------------- (6) the verdict


def _hrp_case(sign: int) -> pd.DataFrame:
    """A and B near-duplicates, C independent: HRP holds about half in C, inverse-vol a third.

    ``sign=1``: C earns and A, B lose, so HRP's tilt to C wins; ``sign=-1``: the reverse.
    """
    rng = np.random.default_rng(0)
    T = 400
    common = rng.normal(0, 0.01, T)
    return pd.DataFrame(
        {
            "A": common + rng.normal(0, 0.002, T) - sign * 0.001,
            "B": common + rng.normal(0, 0.002, T) - sign * 0.001,
            "C": rng.normal(0, 0.01, T) + sign * 0.001,
        },
        index=pd.bdate_range("2020-01-01", periods=T),
    )


@pytest.mark.parametrize("sign", [1, -1])
def test_verdict_each_way(sign):
    ladder = {"HRP": "hrp", "1/N-risk": "inverse_vol", "1/N": "equal_weight"}
    res = walk_forward(_hrp_case(sign), ladder, train=100, test=50, costs=10)
    assert res.weights["HRP"]["C"].min() > 0.4 > res.weights["1/N-risk"]["C"].max()
    a, b = res.summary()["sharpe"][["HRP", "1/N-risk"]]
    if sign == 1:
        assert a > b
        want = f"HRP beats 1/N-risk net of costs (Sharpe {a:.3f} vs {b:.3f}): ship HRP"
    else:
        assert a < b
        want = f"HRP does not beat 1/N-risk net of costs (Sharpe {a:.3f} vs {b:.3f}): ship 1/N-risk"
    assert res.verdict == want
    assert re.fullmatch(
        r"HRP (beats|does not beat) 1/N-risk net of costs \(Sharpe -?\d+\.\d{3} vs -?\d+\.\d{3}\): "
        r"ship (HRP|1/N-risk)",
        res.verdict,
    )


def test_verdict_needs_both_rungs_and_finds_them_by_allocator():
    r = _hrp_case(1)
    assert walk_forward(r, ["hrp", "equal_weight"], train=100, test=50).verdict is None
    renamed = walk_forward(r, {"mine": "hrp", "benchmark": "inverse_vol"}, train=100, test=50)
    assert renamed.verdict.startswith("HRP beats 1/N-risk")


# ----------------------------------------------------------------------------- summary, options


def test_summary_columns_and_defaults(four_stocks):
    res = walk_forward(four_stocks, train=252, test=21)
    assert isinstance(res, WalkForwardResult)
    s = res.summary()
    assert list(s.index) == list(DEFAULT_LADDER)
    assert list(s.columns) == [
        "sharpe",
        "annual_return",
        "volatility",
        "target_vol",
        "max_drawdown",
        "annual_turnover",
        "effective_n",
        "effective_bets",
        "cost_drag",
    ]
    assert s["target_vol"].isna().all()
    assert (s["max_drawdown"] <= 0).all()
    np.testing.assert_allclose(s.loc["1/N", "effective_n"], 4.0)
    np.testing.assert_allclose(s.loc["ERC", "effective_bets"], 4.0, rtol=1e-6)
    for name in DEFAULT_LADDER:  # long-only, fully invested
        w = res.weights[name].to_numpy()
        assert (w >= -1e-12).all()
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-9)
    # the summary's Sharpe is performance() on the equity curve
    eq = res.equity["HRP"].to_numpy()
    rets = np.r_[eq[0] - 1.0, eq[1:] / eq[:-1] - 1.0]
    assert s.loc["HRP", "sharpe"] == pytest.approx(rets.mean() / rets.std(ddof=1) * np.sqrt(252))


def test_vol_target_scales_ex_ante_and_is_clipped(four_stocks):
    res = walk_forward(
        four_stocks,
        ["hrp", "min_variance"],
        train=252,
        test=21,
        vol_target=0.15,
        leverage=(0.0, 1.2),
    )
    lev, vol = res.leverage, res.ex_ante_vol
    free = lev < 1.2
    assert free.to_numpy().any() and (~free).to_numpy().any()
    np.testing.assert_allclose(vol.to_numpy()[free.to_numpy()], 0.15, rtol=1e-12)
    assert (vol.to_numpy()[~free.to_numpy()] < 0.15).all()
    for name in ("hrp", "min_variance"):
        np.testing.assert_allclose(res.weights[name].sum(axis=1), lev[name], rtol=1e-12)
    assert (res.summary()["target_vol"] == 0.15).all()


def test_market_data_and_return_frame_agree(four_stocks):
    a = walk_forward(four_stocks, ["erc"], train=252, test=63)
    b = walk_forward(four_stocks.returns(), ["erc"], train=252, test=63)
    pd.testing.assert_frame_equal(a.returns, b.returns, check_exact=True)


def test_nan_in_a_training_window_excludes_the_asset_for_that_fold_only():
    r = frame(140, 3, seed=2)
    r.iloc[30:35, 1] = np.nan  # inside fold 0's training window [0, 60) only
    res = walk_forward(r, ["hrp", "equal_weight"], train=60, test=20)
    ex = res.excluded
    assert ex["S1"].tolist() == [True, True, False, False]  # windows [0,60), [20,80), ...
    assert not ex[["S0", "S2"]].to_numpy().any()
    w = res.weights["equal_weight"]
    np.testing.assert_allclose(w.iloc[0].to_numpy(), [0.5, 0.0, 0.5])
    np.testing.assert_allclose(w.iloc[2].to_numpy(), [1 / 3, 1 / 3, 1 / 3])
    assert res.weights["hrp"]["S1"].iloc[:2].eq(0.0).all()
    assert any(n.startswith("S1 left out of 2 of 4 folds") for n in res.notes)


# ----------------------------------------------------------------------------- (7) errors


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"train": 1}, "train"),
        ({"train": 2.5}, "train"),
        ({"test": 0}, "test"),
        ({"step": 5}, "step"),
        ({"costs": -1}, "costs"),
        ({"costs": "ib"}, "costs"),
        ({"vol_target": 0}, "vol_target"),
        ({"leverage": (1.0, 0.5)}, "leverage"),
        ({"periods_per_year": -252}, "periods_per_year"),
        ({"executor": "nonsense"}, "executor"),
    ],
)
def test_bad_parameters_are_config_errors(kwargs, parameter):
    with pytest.raises(ConfigError) as err:
        walk_forward(frame(100, 2), ["equal_weight"], **{"train": 20, "test": 10} | kwargs)
    assert err.value.parameter == parameter


def test_too_few_rows_or_assets():
    with pytest.raises(DataError, match="one fold needs train \\+ test = 80") as err:
        walk_forward(frame(79, 3), train=60, test=20)
    assert err.value.parameter == "data"
    with pytest.raises(DataError, match="at least 2 assets"):
        walk_forward(frame(100, 1), train=60, test=20)
    with pytest.raises(DataError, match="MarketData or a DataFrame"):
        walk_forward(frame(100, 2).to_numpy(), train=60, test=20)
    with pytest.raises(DataError, match="date index"):
        walk_forward(frame(100, 2).reset_index(drop=True), train=60, test=20)
    shuffled = frame(100, 2).iloc[::-1]
    with pytest.raises(DataError, match="strictly increasing") as err:
        walk_forward(shuffled, train=60, test=20)
    assert err.value.date == str(shuffled.index[1].date())


def test_unknown_builtin_names_itself_and_the_valid_ones():
    with pytest.raises(ConfigError) as err:
        walk_forward(frame(100, 2), {"mine": "risk_parity"}, train=60, test=20)
    msg = str(err.value)
    assert "'risk_parity'" in msg and "'mine'" in msg
    for valid in ("equal_weight", "erc", "hrp", "inverse_vol", "min_variance"):
        assert valid in msg
    with pytest.raises(ConfigError, match="built-in name or a callable"):
        walk_forward(frame(100, 2), {"mine": 3}, train=60, test=20)


@pytest.mark.parametrize(
    ("allocator", "what"),
    [
        (wrong_length, "returned 3 weights for 2 assets"),
        (with_nan, "non-finite weight"),
        (raises, "raised: RuntimeError: model not fitted"),
    ],
)
def test_bad_allocators_are_strategy_errors_naming_the_strategy(allocator, what):
    r = frame(100, 2)
    with pytest.raises(StrategyError) as err:
        walk_forward(r, {"my model": allocator}, train=60, test=20)
    assert "'my model'" in str(err.value) and what in str(err.value)
    assert err.value.date == str(r.index[59].date())
    assert err.value.context["strategy"] == "my model"


def test_bad_data_names_symbol_and_date():
    r = frame(100, 3)
    r.iloc[70, 2] = np.nan  # inside fold 0's test window, asset held
    with pytest.raises(DataError, match="no return inside a test window") as err:
        walk_forward(r, ["equal_weight"], train=60, test=20)
    assert err.value.symbol == "S2" and err.value.date == str(r.index[70].date())
    r = frame(100, 3)
    r.iloc[:, 1] = 0.0
    with pytest.raises(DataError, match="constant returns") as err:
        walk_forward(r, ["hrp"], train=60, test=20)
    assert err.value.symbol == "S1"
    r = frame(100, 3)
    r.iloc[5, 0] = -1.5
    with pytest.raises(DataError, match="below -100%") as err:
        walk_forward(r, ["hrp"], train=60, test=20)
    assert err.value.symbol == "S0"
    r = frame(100, 2)
    r.iloc[10:12] = np.nan
    with pytest.raises(DataError, match="no asset has a complete training window"):
        walk_forward(r, ["hrp"], train=60, test=20)
