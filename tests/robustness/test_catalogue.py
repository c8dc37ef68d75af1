"""The robustness catalogue (docs/robustness.md): one test per bad input or fault not already
covered elsewhere. Each asserts what riskbook does: a correct result (constraints hold, finite,
matches a reference) or a typed error naming the problem; never NaN weights, never a half write."""

from __future__ import annotations

import errno
import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook import MarketData
from riskbook.book import BookBuilder, BookConfig, demo_sleeves
from riskbook.book.caps import apply_caps
from riskbook.book.config import CapsConfig
from riskbook.data.store import Store
from riskbook.errors import (
    ConfigError,
    DataError,
    InfeasibleError,
    OptimizationError,
    StoreError,
    StrategyError,
    TargetError,
)
from riskbook.estimate import ewma_covariance, ledoit_wolf, pairwise_covariance, sample_covariance
from riskbook.execute import Costs, VolumeShareSlippage, planner
from riskbook.optimize import (
    hrp,
    max_sharpe,
    mean_variance,
    min_variance,
    optimize_with_fallback,
    risk_contributions,
    risk_parity,
)
from riskbook.report import registry as registry_module
from riskbook.report.registry import Registry

DATES = pd.bdate_range("2024-01-01", periods=60)


def _prices(n_assets: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (len(DATES), n_assets)), axis=0))


def _returns(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0, 0.01, (50, 3)), columns=list("ABC"), index=DATES[:50])


def _kkt_min_variance(S: np.ndarray, w: np.ndarray, tol: float) -> None:
    """Long-only min variance optimality: (Sw)_i equal on the support, not below it off it."""
    g = S @ w
    lam = g[w > 1e-9].mean()
    assert np.all(np.abs(g[w > 1e-9] - lam) <= tol * abs(lam))
    assert np.all(g[w <= 1e-9] >= lam * (1 - tol))


# ----------------------------------------------------------------------------------- data
@pytest.mark.parametrize(
    "estimator", [sample_covariance, ledoit_wolf, lambda R: ewma_covariance(R, halflife=10)]
)
def test_all_nan_window_is_named_by_the_estimators(estimator):
    R = _returns()
    R["B"] = np.nan  # B has no observation in the window
    with pytest.raises(DataError) as err:
        estimator(R)
    assert (err.value.symbol, err.value.date, err.value.parameter) == ("B", "2024-01-01", "returns")


def test_all_nan_window_in_pairwise_covariance_is_named():
    R = _returns()
    R["B"] = np.nan
    with pytest.raises(DataError, match="0 observation") as err:
        pairwise_covariance(R)
    assert err.value.symbol == "B"


def test_zero_volume_day_with_volume_share_slippage_names_symbol_and_date():
    volume = np.full((len(DATES), 2), 1e6)
    volume[10, 1] = 0.0  # B does not trade on 2024-01-15
    data = MarketData.from_arrays(DATES, ["A", "B"], close=_prices(2), volume=volume)
    costs = Costs(slippage=VolumeShareSlippage())
    with pytest.raises(DataError, match="zero volume") as err:
        riskbook.backtest(
            data, lambda v: {"A": 0.45, "B": 0.45}, schedule="daily", fill="next_close", costs=costs
        )
    assert (err.value.symbol, err.value.date, err.value.parameter) == ("B", "2024-01-15", "volume")
    # a fill-free day (hold) on the zero-volume bar is fine: weekly decisions miss it
    res = riskbook.backtest(
        data, lambda v: {"A": 0.45, "B": 0.45}, schedule="weekly", fill="close", costs=costs
    )
    assert 10 not in set(DATES.get_indexer(res.trades["fill_time"]))
    assert (res.trades["slippage"] > 0).all()


@pytest.mark.parametrize("fn", [min_variance, hrp, risk_parity])
def test_single_asset_through_the_optimizers(fn):
    w = fn(pd.DataFrame([[0.04]], index=["A"], columns=["A"]))
    assert w.to_dict() == {"A": 1.0}


def test_single_asset_through_mean_variance_max_sharpe_and_estimators():
    assert mean_variance(np.array([[0.04]]), np.array([0.05]), risk_aversion=1.0).tolist() == [1.0]
    assert max_sharpe(np.array([[0.04]]), np.array([0.05])).tolist() == [1.0]
    R = _returns()[["A"]]
    np.testing.assert_allclose(ledoit_wolf(R).to_numpy(), [[R["A"].var(ddof=0)]], rtol=1e-12)


def test_single_asset_through_caps_and_backtest():
    w, _ = apply_caps(np.array([0.9]), ("A",), CapsConfig())
    assert w.tolist() == [0.15]  # the per-name cap binds
    data = MarketData.from_arrays(DATES, ["A"], close=_prices(1))
    res = riskbook.backtest(data, lambda v: {"A": 0.9}, schedule="weekly", fill="close")
    assert res.equity.notna().all() and (res.cash >= 0).all()
    held = res.reconciliation["held_weight"]
    assert (held - 0.9).abs().max() <= 1.5e-4  # one share (~$100 of $1m) of rounding


def test_single_asset_through_the_book(sp500):
    data = sp500.slice("2013-01-01", "2015-12-31").select(["AAPL"])
    book = BookBuilder(demo_sleeves()).build(data.until(data.dates[-1]))
    assert np.isfinite(book.weights).all()
    assert np.abs(book.weights).sum() <= BookConfig().caps.per_name + 1e-12


def test_empty_universe():
    data = MarketData.from_arrays(DATES, ["A", "B"], close=_prices(2))
    with pytest.raises(DataError, match="at least one symbol") as err:
        data.select([])
    assert err.value.parameter == "symbols"
    res = riskbook.backtest(data, lambda v: {}, schedule="weekly", fill="next_close")
    assert len(res.trades) == 0
    assert (res.equity == res.initial_cash).all()


def _listing_data() -> MarketData:
    close = _prices(3)
    close[40:, 1] = np.nan  # B delisted after 2024-02-23
    close[:20, 2] = np.nan  # C listed on 2024-01-29
    return MarketData.from_arrays(DATES, ["A", "B", "C"], close=close)


def test_late_listed_symbol_is_never_bought_before_listing():
    data = _listing_data()

    def listed_only(view):  # equal weight over what has a price and stays listed
        last = view.close[-1]
        ok = np.isfinite(last) & (np.asarray(view.symbols) != "B")
        return dict(zip(view.symbols, np.where(ok, 0.95 / ok.sum(), 0.0), strict=True))

    res = riskbook.backtest(data, listed_only, schedule="weekly", fill="next_close")
    before = res.positions.loc[: DATES[19], "C"]
    assert (before == 0).all() and res.positions["C"].iloc[-1] > 0
    # a strategy that asks for C before its listing gets an error naming C and the date
    with pytest.raises(DataError, match="no usable price") as err:
        riskbook.backtest(
            data, lambda v: {"A": 0.3, "C": 0.3}, schedule="weekly", fill="next_close"
        )
    assert (err.value.symbol, err.value.date) == ("C", "2024-01-05")


def test_delisted_symbol_held_is_an_error_naming_it_and_the_first_unpriced_day():
    data = _listing_data()

    def listed_only(view):
        last = view.close[-1]
        ok = np.isfinite(last)
        return dict(zip(view.symbols, np.where(ok, 0.95 / ok.sum(), 0.0), strict=True))

    # documented shortcut: no automatic liquidation at the last price
    with pytest.raises(DataError) as err:
        riskbook.backtest(data, listed_only, schedule="daily", fill="close")
    assert (err.value.symbol, err.value.date) == ("B", "2024-02-26")
    # a strategy that exits before the delisting runs to the end
    exits = riskbook.backtest(
        data,
        lambda v: {"A": 0.9} if len(v) >= 35 else {"A": 0.45, "B": 0.45},
        fill="close",
        schedule="daily",
    )
    assert exits.positions["B"].iloc[-1] == 0 and exits.equity.notna().all()


# ---------------------------------------------------------------------------- covariances
def _duplicate_asset_cov() -> np.ndarray:
    cov = _returns().cov().to_numpy() * 252
    return np.block([[cov, cov[:, [0]]], [cov[[0], :], cov[[0]][:, [0]]]])


@pytest.mark.parametrize("fn", [min_variance, hrp, risk_parity])
def test_singular_covariance_duplicate_asset(fn):
    S = _duplicate_asset_cov()
    w = fn(S)
    assert np.isfinite(w).all() and w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    if fn is min_variance:
        _kkt_min_variance(S, w, 1e-7)
    if fn is risk_parity:
        rc = risk_contributions(w, S)
        np.testing.assert_allclose(rc, rc.mean(), rtol=1e-6)


NON_PSD = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]]) * 0.04


@pytest.mark.parametrize(
    "call",
    [
        lambda S: min_variance(S),
        lambda S: mean_variance(S, np.array([0.05, 0.06, 0.07]), risk_aversion=1.0),
        lambda S: max_sharpe(S, np.array([0.05, 0.06, 0.07])),
    ],
)
def test_non_psd_covariance_is_refused_by_the_qp_optimizers(call):
    assert np.linalg.eigvalsh(NON_PSD)[0] == pytest.approx(-0.032)
    with pytest.raises(OptimizationError, match="not positive semidefinite") as err:
        call(NON_PSD)
    assert err.value.parameter == "cov"
    assert err.value.context["min_eigenvalue"] == pytest.approx(-0.032)


def test_non_psd_covariance_through_hrp_risk_parity_and_the_ladder():
    # HRP reads only 2x2 minors and cluster variances, all valid here: a finite long-only result
    w = hrp(NON_PSD)
    np.testing.assert_allclose(w, [10 / 39, 10 / 39, 19 / 39], rtol=1e-12)
    # ERC is defined by equal risk contributions, which hold (w'Sw > 0)
    w = risk_parity(NON_PSD)
    rc = risk_contributions(w, NON_PSD)
    np.testing.assert_allclose(rc, rc.mean(), rtol=1e-8)
    # the ladder skips every rung that needs a PSD matrix and says why
    result = optimize_with_fallback(NON_PSD)
    assert result.method == "inverse_volatility"
    assert [m for m, _ in result.failures] == ["hrp", "risk_parity"]
    assert all("positive semidefinite" in r for _, r in result.failures)
    # and a repaired covariance (Ledoit-Wolf on returns) is accepted by every optimizer
    S = ledoit_wolf(_returns()).to_numpy()
    assert np.linalg.eigvalsh(S)[0] > 0
    assert min_variance(S).sum() == pytest.approx(1.0)


def _ill_conditioned() -> np.ndarray:
    rng = np.random.default_rng(7)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    C = Q @ np.diag([1.0, 1e-4, 1e-8, 1e-12]) @ Q.T * 0.04
    return (C + C.T) / 2


def test_condition_number_1e12():
    C = _ill_conditioned()
    assert np.linalg.cond(C) > 1e11
    w = min_variance(C)
    assert np.isfinite(w).all() and w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    _kkt_min_variance(C, w, 1e-6)
    w = hrp(C)
    assert np.isfinite(w).all() and w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
    # ERC: converges or says it did not; never NaN
    try:
        w = risk_parity(C)
    except OptimizationError as err:
        assert err.parameter == "cov" and "did not converge" in str(err)
    else:
        assert np.isfinite(w).all()
    assert np.isfinite(optimize_with_fallback(C).weights).all()


# -------------------------------------------------------------------------------- configs
@pytest.mark.parametrize(
    ("tree", "parameter"),
    [
        ({"portfolio_vol": {"target": -0.1}}, "portfolio_vol.target"),
        ({"portfolio_vol": {"leverage": [2.0, 0.3]}}, "portfolio_vol.leverage"),
        ({"portfolio_vol": {"leverage": [-0.5, 2.0]}}, "portfolio_vol.leverage"),
        ({"portfolio_vol": {"target": 0.2}}, "portfolio_vol.band"),
        ({"portfolio_vol": {"window": 1}}, "portfolio_vol.window"),
        ({"portfolio_vol": {"estimator": "magic"}}, "portfolio_vol.estimator"),
        ({"caps": {"gross": -1.0}}, "caps.gross"),
        ({"caps": {"per_name": 0.5, "gross": 0.3}}, "caps.per_name"),
        ({"governor": {"start": 0.12, "floor_at": 0.10}}, "governor.floor_at"),
        ({"governor": {"floor": 1.5}}, "governor.floor"),
        ({"governor": {"hard_cap": 0.10}}, "governor.hard_cap"),
        ({"kill_tiers": {"warn": 0.12}}, "kill_tiers.throttle"),
        ({"kelly_fraction": 0.0}, "kelly_fraction"),
        ({"kelly_fraction": 1.5}, "kelly_fraction"),
        ({"allocation": {"smoothing": 1.0}}, "allocation.smoothing"),
        ({"allocation": {"window": 1}}, "allocation.window"),
        ({"allocation": {"halflife": 0.0}}, "allocation.halflife"),
        ({"allocation": {"sleeve_cap": 1.5}}, "allocation.sleeve_cap"),
        ({"sleeve_vol": {"halflife": -1.0}}, "sleeve_vol.halflife"),
        ({"regime": {"max_tilt": 2.0}}, "regime.max_tilt"),
        ({"regime": {"vol_targets": {"crisis": -0.1}}}, "regime.vol_targets.crisis"),
        ({"turnover": {"no_trade_band": -0.01}}, "turnover.no_trade_band"),
        ({"warmup_days": -1}, "warmup_days"),
        ({"periods_per_year": 0}, "periods_per_year"),
        ({"ladder": {"tiers": []}}, "ladder.tiers"),
    ],
)
def test_out_of_range_and_contradictory_config_values_are_named(tree, parameter):
    with pytest.raises(ConfigError) as err:
        BookConfig.from_dict(tree)
    assert err.value.parameter == parameter
    assert parameter in str(err.value)


def test_unknown_config_keys_are_named_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError, match=r"did you mean 'governor\.floor_at'") as err:
        BookConfig.from_dict({"governor": {"floor_a": 0.1}})
    assert err.value.parameter == "governor.floor_a"
    path = tmp_path / "book.toml"
    path.write_text("[capz]\nper_name = 0.1\n")
    with pytest.raises(ConfigError, match="did you mean 'caps'") as err:
        BookConfig.from_toml(path)
    assert err.value.parameter == "capz"


def test_config_edges_that_stay_valid(tmp_path):
    # the sensitivity sweep's x0.5 .. x1.5 vol targets, with their band, stay valid
    from riskbook.validate.sensitivity import book_config

    for t in (0.05, 0.10, 0.15):
        cfg = book_config(None, {"vol_target": t})
        lo, hi = cfg.portfolio_vol.band
        assert lo <= cfg.portfolio_vol.target == t <= hi
    cfg = BookConfig.from_dict(
        {"caps": {"per_name": 2.0, "gross": 2.0}, "allocation": {"smoothing": 0.0}}
    )
    assert cfg.caps.per_name == cfg.caps.gross
    path = tmp_path / "book.toml"
    path.write_text("[portfolio_vol]\nleverage = [1.5, 1.0]\n")
    with pytest.raises(ConfigError) as err:
        BookConfig.from_toml(path)
    assert err.value.parameter == "portfolio_vol.leverage"


# ----------------------------------------------------------------------------- strategies
def test_strategy_leverage_beyond_a_cash_account():
    data = MarketData.from_arrays(DATES, ["A", "B"], close=_prices(2))
    with pytest.raises(TargetError, match="gross exposure") as err:
        riskbook.backtest(data, lambda v: {"A": 0.8, "B": 0.8}, schedule="weekly")
    assert err.value.date == "2024-01-05"
    # the same targets on a 2x margin account trade as asked
    res = riskbook.backtest(
        data,
        lambda v: {"A": 0.8, "B": 0.8},
        schedule="weekly",
        fill="close",
        account="margin",
        leverage=2.0,
    )
    gross = res.reconciliation.groupby("date")["held_weight"].sum()
    assert (gross - 1.6).abs().max() <= 3e-4  # a share of rounding in each name


def test_strategy_returning_nan_or_raising_is_named():
    data = MarketData.from_arrays(DATES, ["A", "B"], close=_prices(2))
    with pytest.raises(TargetError) as err:
        riskbook.backtest(data, lambda v: {"A": 0.5, "B": float("nan")}, schedule="weekly")
    assert (err.value.symbol, err.value.date) == ("B", "2024-01-05")

    def boom(view):
        if len(view) > 30:
            raise ValueError("model blew up")
        return {"A": 0.5}

    with pytest.raises(StrategyError, match="ValueError: model blew up") as err:
        riskbook.backtest(data, boom, schedule="weekly", fill="next_close")
    assert err.value.date == "2024-02-16"
    assert err.value.partial.positions["A"].iloc[-1] > 0


# -------------------------------------------------------------------------------- solvers
def test_forced_qp_failure_falls_back_with_the_reason(monkeypatch):
    module = importlib.import_module("riskbook.optimize.min_variance")

    def broken(*args, **kwargs):
        raise OptimizationError("QP backend failed (forced)", parameter="cov")

    monkeypatch.setattr(module, "solve_portfolio", broken)
    S = _returns().cov().to_numpy()
    result = optimize_with_fallback(S, ladder=("min_variance", "hrp"))
    assert result.method == "hrp"
    assert result.failures == (
        ("min_variance", "OptimizationError: QP backend failed (forced) [parameter=cov]"),
    )
    np.testing.assert_allclose(result.weights, hrp(S), rtol=0, atol=0)


def test_infeasible_constraints_name_the_constraint():
    S = _returns().cov().to_numpy()
    with pytest.raises(InfeasibleError, match=r"upper bounds sum to 0\.6") as err:
        min_variance(S, bounds=(0.0, 0.2))
    assert err.value.parameter == "bounds"
    with pytest.raises(InfeasibleError) as err:
        min_variance(S, groups={"AB": ([0, 1], 0.9, None)}, bounds=(0.0, 0.4))
    assert err.value.parameter == "groups"
    assert err.value.context["constraint"] == "groups['AB'] lower"
    assert "group 'AB' lower limit 0.9 cannot hold" in str(err.value)
    assert "force at most 0.8 in the group" in str(err.value)
    with pytest.raises(InfeasibleError) as err:
        min_variance(S, groups={"AB": ([0, 1], None, 0.5)}, bounds=(0.3, 1.0))
    assert "group 'AB' upper limit 0.5 cannot hold" in str(err.value)
    assert "force at least 0.6 in the group" in str(err.value)


# -------------------------------------------------------------------------------- storage
@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "prices.csv"
    frame = pd.DataFrame(_prices(2), index=pd.Index(DATES, name="date"), columns=["A", "B"])
    frame.to_csv(path)
    return path


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_store_full_disk_names_the_data_set_and_leaves_nothing(csv_file, tmp_path, monkeypatch):
    store = Store(tmp_path / "home")
    store.ingest(csv_file, "prices")
    before = (store.root / "prices.parquet").read_bytes()

    def partial_then_full(data, tmp, meta):
        tmp.write_bytes(b"PAR1 half")
        _enospc()

    monkeypatch.setattr(Store, "_write", staticmethod(partial_then_full))
    with pytest.raises(StoreError, match="No space left") as err:
        store.ingest(csv_file, "prices")
    assert err.value.context["name"] == "prices"
    assert isinstance(err.value.__cause__, OSError) and err.value.__cause__.errno == errno.ENOSPC
    assert (store.root / "prices.parquet").read_bytes() == before
    assert sorted(os.listdir(store.root)) == ["prices.parquet"]
    with pytest.raises(StoreError):
        store.ingest(csv_file, "other")
    assert [e.name for e in store.list()] == ["prices"]


def test_store_interrupted_replace_keeps_the_previous_version(csv_file, tmp_path, monkeypatch):
    store = Store(tmp_path / "home")
    store.ingest(csv_file, "prices")
    before = store.load("prices")

    def killed(src, dst):
        raise KeyboardInterrupt  # the process is interrupted at the commit

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.ingest(csv_file, "prices")
    monkeypatch.undo()
    assert sorted(os.listdir(store.root)) == ["prices.parquet"]
    np.testing.assert_array_equal(store.load("prices").close, before.close)


def test_store_concurrent_writers_both_land(csv_file, tmp_path):
    home = tmp_path / "home"
    script = textwrap.dedent(
        """
        import sys
        from riskbook.data.store import Store
        Store(sys.argv[1]).ingest(sys.argv[2], sys.argv[3])
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(home), str(csv_file), name])
        for name in ("first", "second", "third")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    store = Store(home)
    assert sorted(e.name for e in store.list()) == ["first", "second", "third"]
    for name in ("first", "second", "third"):
        assert store.load(name).shape == (len(DATES), 2)
    assert not [f for f in os.listdir(store.root) if f.startswith(".")]


def test_registry_full_disk_is_a_store_error_and_saves_nothing(tmp_path, monkeypatch):
    data = MarketData.from_arrays(DATES, ["A", "B"], close=_prices(2))
    result = riskbook.backtest(data, lambda v: {"A": 0.5, "B": 0.4}, schedule="weekly")
    registry = Registry(tmp_path / "reg")
    first = registry.save(result, name="first", data=data)
    real = registry_module._write_parquet
    calls = []

    def full_on_second(con, flat, meta, path):
        calls.append(path)
        if len(calls) == 2:
            path.write_bytes(b"PAR1 half")
            _enospc()
        real(con, flat, meta, path)

    monkeypatch.setattr(registry_module, "_write_parquet", full_on_second)
    with pytest.raises(StoreError, match="No space left") as err:
        registry.save(result, name="second", data=data)
    assert err.value.context["registry"] == str(registry.root)
    monkeypatch.undo()
    assert list(registry.list()["run_id"]) == [first.run_id]
    staging = registry.root / registry_module.PARTIAL_DIR
    assert not any(staging.iterdir())


def test_planner_orders_file_full_disk_names_the_file(tmp_path, monkeypatch):
    p = riskbook.plan({"A": 10}, {"A": 0.2, "B": 0.5}, {"A": 100.0, "B": 50.0}, cash=5_000.0)
    out = tmp_path / "orders.csv"
    out.write_text("previous\n")

    def full(handle, text):
        handle.write(text[:5])
        _enospc()

    monkeypatch.setattr(planner, "_write_text", full)
    with pytest.raises(ConfigError, match="cannot write the orders file") as err:
        p.write_orders(out)
    assert err.value.context["file"] == str(out)
    assert out.read_text() == "previous\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["orders.csv"]
