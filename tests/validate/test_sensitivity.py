"""Parameter sensitivity: the design, the perturbations, the peaked rule, the book wrapper."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest

import riskbook
from riskbook.book import BookBuilder, BookConfig, demo_sleeves
from riskbook.errors import ConfigError, DataError
from riskbook.validate import ProcessExecutor
from riskbook.validate.sensitivity import (
    BOOK_PARAMETERS,
    BookRun,
    book_config,
    book_sensitivity,
    perturb,
    sensitivity,
)

T = 1000
PPY = 252.0


def _unit_noise() -> np.ndarray:
    """A fixed series with mean exactly 0 and sample sd exactly 1."""
    z = np.random.default_rng(0).standard_normal(T)
    z -= z.mean()
    return z / z.std(ddof=1)


Z = _unit_noise()


def _with_sharpe(sharpe: float, vol: float = 0.01) -> np.ndarray:
    """Daily returns whose annualised Sharpe is exactly ``sharpe``."""
    return sharpe / math.sqrt(PPY) * vol + vol * Z


def _se(sharpe: float) -> float:
    s = sharpe / math.sqrt(PPY)
    return math.sqrt((1 + s * s / 2) / T) * math.sqrt(PPY)


def shaped_run(params: dict, *, base_sharpe: float, edge_sharpe: float) -> np.ndarray:
    """Sharpe ``base_sharpe`` at every parameter's base (1.0), ``edge_sharpe`` elsewhere."""
    at_base = all(v == 1.0 for v in params.values())
    return _with_sharpe(base_sharpe if at_base else edge_sharpe)


def sloped_run(params: dict) -> np.ndarray:
    """Sharpe rising linearly with the parameter: sensitive, but no peak at the base."""
    return _with_sharpe(1.0 + 2.0 * (params["p"] - 1.0))


def flat_run(params: dict) -> np.ndarray:
    """Noisy returns that do not depend on the parameters at all."""
    return np.random.default_rng(1).normal(0.0004, 0.01, 750)


def peaked_run(params: dict) -> np.ndarray:
    """Drift that collapses away from the base values (window 60, lam 0.9): a tuned optimum."""
    f = params["window"] / 60.0
    g = (1 - params["lam"]) / 0.1
    drift = 0.0015 * math.exp(-8 * (math.log(f) ** 2 + math.log(g) ** 2))
    return drift + np.random.default_rng(2).normal(0.0, 0.01, 750)


def seeded_run(params: dict) -> dict:
    """Returns drawn from a seed made of the parameter values, plus what the task received."""
    seed = int(params["window"]) * 1000 + round(params["lam"] * 1000)
    r = np.random.default_rng(seed).normal(0.0003, 0.01, 300)
    return {"returns": r, "window_type": type(params["window"]).__name__}


# --- perturbations -----------------------------------------------------------------------------


def test_perturb_kinds():
    assert perturb(0.1, 1.5, "linear") == (pytest.approx(0.15), pytest.approx(0.15))
    assert perturb(252, 0.75, "integer") == (189, 189.0)
    assert perturb(63, 0.5, "integer") == (32, 31.5)  # half up
    assert perturb(1, 0.25, "integer") == (1, 0.25)  # at least 1
    assert perturb(0.8, 0.5, "complement")[0] == pytest.approx(0.9)
    assert perturb(0.8, 1.5, "complement")[0] == pytest.approx(0.7)
    lam, _ = perturb(0.8, 2.0, "halflife")
    halflife = math.log(0.5) / math.log(0.8)
    assert math.log(0.5) / math.log(lam) == pytest.approx(2 * halflife)
    with pytest.raises(ConfigError) as err:
        perturb(0.2, 1.5, "complement", name="lam")  # 1 - 0.8 * 1.5 < 0
    assert err.value.parameter == "lam"
    with pytest.raises(ConfigError):
        perturb(1.2, 0.5, "halflife")
    with pytest.raises(ConfigError):
        perturb(1.0, 0.0, "linear")
    with pytest.raises(ConfigError):
        perturb(1.0, 1.5, "log")


def test_integer_rounding_is_reported_and_ints_reach_the_run():
    res = sensitivity(seeded_run, {"window": 63, "lam": 0.9}, kinds={"lam": "complement"})
    assert res.rounding.to_dict("list") == {
        "parameter": ["window"] * 4,
        "factor": [0.5, 0.75, 1.25, 1.5],
        "raw": [31.5, 47.25, 78.75, 94.5],
        "used": [32, 47, 79, 95],
    }
    assert set(res.table["window_type"]) == {"int"}
    assert res.parameters.loc["window", "values"] == (32, 47, 63, 79, 95)
    np.testing.assert_allclose(res.parameters.loc["lam", "values"], [0.95, 0.925, 0.9, 0.875, 0.85])
    assert res.kinds == {"window": "integer", "lam": "complement"}


def test_points_equal_after_rounding_run_once():
    calls = []

    def run(params):
        calls.append(params["n"])
        return _with_sharpe(1.0)

    res = sensitivity(run, {"n": 2})  # 1, 1.5 -> 2, 2, 2.5 -> 3, 3
    assert len(res.table) == 5 and res.n_evaluations == 3
    assert sorted(calls) == [1, 2, 3]
    assert res.rounding["factor"].tolist() == [0.75, 1.25]


# --- the design --------------------------------------------------------------------------------


def test_one_at_a_time_design():
    base = {"a": 10, "b": 0.5, "c": 2.0}
    res = sensitivity(flat_run, base)
    t = res.table
    assert len(t) == 1 + 3 * 4 == res.n_evaluations
    assert t.loc[0, "perturbed"] == "base"
    assert (t.loc[0, ["a_factor", "b_factor", "c_factor"]] == 1.0).all()
    moved = t[t["perturbed"] == "b"]
    assert moved["b"].tolist() == pytest.approx([0.25, 0.375, 0.625, 0.75])
    assert (moved["a"] == 10).all() and (moved["c"] == 2.0).all()


def test_grid_design_contains_the_one_at_a_time_axes():
    base = {"window": 60, "lam": 0.9}
    kw = {"factors": (0.5, 1.0, 1.5), "kinds": {"lam": "complement"}}
    grid = sensitivity(peaked_run, base, mode="grid", **kw)
    oat = sensitivity(peaked_run, base, **kw)
    assert len(grid.table) == 9 and grid.table.loc[0, "perturbed"] == "base"
    assert "window, lam" in set(grid.table["perturbed"])
    for name in base:
        np.testing.assert_array_equal(grid.surface(name), oat.surface(name))
    assert grid.parameters["status"].tolist() == oat.parameters["status"].tolist()


def test_serial_and_processes_agree():
    base = {"window": 63, "lam": 0.9}
    kw = {"kinds": {"lam": "complement"}, "mode": "grid", "factors": (0.5, 1.0, 1.5)}
    ticks = []
    serial = sensitivity(seeded_run, base, **kw)
    parallel = sensitivity(
        seeded_run,
        base,
        executor=ProcessExecutor(2),
        progress=lambda d, n: ticks.append((d, n)),
        **kw,
    )
    assert serial.table.equals(parallel.table)
    assert serial.parameters.equals(parallel.parameters)
    assert serial.verdict == parallel.verdict
    assert sorted(ticks)[-1] == (9, 9)


# --- the statistics and the peaked rule --------------------------------------------------------


def test_table_statistics_are_exact():
    res = sensitivity(partial(shaped_run, base_sharpe=1.0, edge_sharpe=0.5), {"p": 1.0})
    base = res.table.iloc[0]
    assert base["sharpe"] == pytest.approx(1.0, abs=1e-9)
    assert base["sharpe_se"] == pytest.approx(_se(1.0), abs=1e-12)
    assert base["volatility"] == pytest.approx(0.01 * math.sqrt(PPY), rel=1e-9)
    r = _with_sharpe(1.0)
    eq = np.r_[1.0, np.cumprod(1 + r)]
    assert base["max_drawdown"] == pytest.approx(np.max(1 - eq / np.maximum.accumulate(eq)))
    assert base["n_obs"] == T
    np.testing.assert_allclose(res.table["sharpe"].iloc[1:], 0.5, atol=1e-9)


@pytest.mark.parametrize(
    ("drop_in_se", "status"),
    [(0.0, "flat"), (0.9, "flat"), (1.1, "peaked"), (3.0, "peaked"), (-1.5, "sensitive")],
)
def test_peaked_rule_threshold(drop_in_se, status):
    edge = 1.0 - drop_in_se * _se(1.0)
    res = sensitivity(partial(shaped_run, base_sharpe=1.0, edge_sharpe=edge), {"p": 1.0})
    row = res.parameters.loc["p"]
    assert row["drop_in_se"] == pytest.approx(drop_in_se, abs=1e-6)
    assert row["edge_sharpe"] == pytest.approx(edge, abs=1e-9)
    assert row["status"] == status
    assert res.peaked == (status == "peaked")
    assert res.verdict.startswith(f"{status}:")
    if status == "peaked":
        assert "likely overfit" in res.verdict
    # a stricter threshold turns the peak flat again
    strict = sensitivity(
        partial(shaped_run, base_sharpe=1.0, edge_sharpe=edge), {"p": 1.0}, threshold=4.0
    )
    assert not strict.peaked


def test_sloped_surface_is_sensitive_not_peaked():
    res = sensitivity(sloped_run, {"p": 1.0})
    row = res.parameters.loc["p"]
    assert row["drop"] == pytest.approx(0.0, abs=1e-9)  # median of 0 and 2 is the base's 1
    assert row["sharpe_range"] == pytest.approx(2.0, abs=1e-9)
    assert row["status"] == "sensitive" and not res.peaked
    assert res.verdict.startswith("sensitive:")


def test_flat_and_peaked_synthetic_runs():
    flat = sensitivity(flat_run, {"window": 60, "lam": 0.9}, kinds={"lam": "complement"})
    assert not flat.peaked and flat.verdict.startswith("flat:")
    assert (flat.parameters["sharpe_range"] == 0).all()

    peaked = sensitivity(peaked_run, {"window": 60, "lam": 0.9}, kinds={"lam": "complement"})
    assert peaked.peaked and peaked.verdict.startswith("peaked:")
    assert peaked.parameters["status"].tolist() == ["peaked", "peaked"]
    assert (peaked.parameters["drop_in_se"] > 1).all()
    surface = peaked.surface("window")
    assert surface.idxmax() == 1.0 and surface[1.0] - surface[0.5] > 1.0


def test_zero_volatility_is_undetermined():
    res = sensitivity(lambda p: np.zeros(10), {"p": 1.0})
    assert res.parameters.loc["p", "status"] == "undetermined"
    assert res.verdict.startswith("undetermined:") and not res.peaked


def test_sensitivity_errors():
    with pytest.raises(ConfigError) as err:
        sensitivity(flat_run, {"p": 1.0}, factors=(0.5, 1.5))
    assert err.value.parameter == "factors"
    with pytest.raises(ConfigError) as err:
        sensitivity(flat_run, {"p": 1.0}, mode="random")
    assert err.value.parameter == "mode"
    with pytest.raises(ConfigError) as err:
        sensitivity(flat_run, {"p": True})
    assert err.value.parameter == "p"
    with pytest.raises(ConfigError) as err:
        sensitivity(flat_run, {"lam": 0.2}, kinds={"lam": "complement"})  # 1 - 0.8 * 1.5 < 0
    assert err.value.parameter == "lam"
    with pytest.raises(ConfigError) as err:
        sensitivity(flat_run, {"p": 1.0}, kinds={"q": "linear"})
    assert err.value.parameter == "q"
    with pytest.raises(ConfigError):
        sensitivity(flat_run, {})
    with pytest.raises(DataError) as err:
        sensitivity(lambda p: np.ones((3, 2)), {"p": 1.0})
    assert err.value.parameter == "run"
    with pytest.raises(DataError):
        sensitivity(lambda p: {"r": np.ones(3)}, {"p": 1.0})


# --- the book ----------------------------------------------------------------------------------


def test_book_config_mapping():
    base = BookConfig()
    cfg = book_config(base, {"lookback": 189, "shrinkage": 0.5})
    assert cfg.allocation.window == 189 and cfg.portfolio_vol.window == 90  # 120 * 0.75
    assert cfg.allocation.shrinkage_scale == 0.5
    assert cfg.portfolio_vol.target == 0.10 and cfg.allocation.smoothing == 0.8
    cfg = book_config(base, {"vol_target": 0.15, "ewma_lambda": 0.7, "sleeve_halflife": 21.0})
    assert cfg.portfolio_vol.target == 0.15
    assert cfg.portfolio_vol.band == pytest.approx((0.12, 0.18))
    assert cfg.regime.vol_targets == pytest.approx(
        {"risk_on": 0.18, "neutral": 0.15, "crisis": 0.12}
    )
    assert cfg.allocation.smoothing == 0.7 and cfg.sleeve_vol.halflife == 21.0
    assert cfg.allocation.window == 252 and cfg.portfolio_vol.window == 120
    assert base.portfolio_vol.target == 0.10  # the base is not changed
    with pytest.raises(ConfigError) as err:
        book_config(base, {"lookbak": 100})
    assert err.value.parameter == "lookbak"
    with pytest.raises(ConfigError) as err:
        book_config(base, {"ewma_lambda": 1.2})
    assert err.value.parameter == "ewma_lambda"
    assert set(BOOK_PARAMETERS) >= {"lookback", "shrinkage", "vol_target", "ewma_lambda"}


@pytest.fixture(scope="module")
def book_data(sp500):
    return sp500.slice("2017-06-01", "2019-12-31")


BT = {"start": "2018-01-01", "cash": 1_000_000}


def test_book_sensitivity_moves_the_documented_fields(book_data):
    res = book_sensitivity(
        book_data,
        demo_sleeves()[:3],
        parameters=("lookback", "vol_target"),
        factors=(0.5, 1.0, 1.5),
        backtest_kwargs=BT,
    )
    t = res.table.set_index(["perturbed", "lookback_factor", "vol_target_factor"])
    assert len(t) == 5 and res.n_evaluations == 5
    base = t.loc[("base", 1.0, 1.0)]
    assert base["allocation.window"] == 252 and base["portfolio_vol.window"] == 120
    assert base["portfolio_vol.target"] == 0.10
    for f, window, pwindow in ((0.5, 126, 60), (1.5, 378, 180)):
        row = t.loc[("lookback", f, 1.0)]
        assert row["lookback"] == window
        assert row["allocation.window"] == window and row["portfolio_vol.window"] == pwindow
        assert row["portfolio_vol.target"] == 0.10 and row["portfolio_vol.band"] == (0.08, 0.12)
    for f in (0.5, 1.5):
        row = t.loc[("vol_target", 1.0, f)]
        assert row["portfolio_vol.target"] == pytest.approx(0.10 * f)
        assert row["portfolio_vol.band"] == pytest.approx((0.08 * f, 0.12 * f))
        assert row["allocation.window"] == 252
    assert (t["allocation.smoothing"] == 0.8).all() and (t["allocation.shrinkage_scale"] == 1).all()
    # the vol target does reach the book: realised vol rises with it
    vols = [t.loc[("vol_target", 1.0, 0.5), "volatility"], base["volatility"]]
    vols.append(t.loc[("vol_target", 1.0, 1.5), "volatility"])
    assert vols[0] < vols[1] < vols[2]
    assert res.parameters.loc["lookback", "kind"] == "integer"
    assert res.verdict.split(":")[0] in {"flat", "peaked", "sensitive"}


def test_book_sensitivity_same_on_processes(book_data):
    kw = {
        "parameters": ("ewma_lambda",),
        "factors": (0.5, 1.0, 1.5),
        "backtest_kwargs": BT,
    }
    serial = book_sensitivity(book_data, demo_sleeves()[:2], **kw)
    parallel = book_sensitivity(book_data, demo_sleeves()[:2], executor=ProcessExecutor(2), **kw)
    assert serial.table.equals(parallel.table)
    np.testing.assert_allclose(serial.table["allocation.smoothing"], [0.8, 0.9, 0.7])


def test_book_run_returns_daily_equity_returns(book_data):
    out = BookRun(book_data, tuple(demo_sleeves()[:2]), None, BT)({})
    # the documented defaults: weekly decisions, next close fills, a 2x margin account
    result = riskbook.backtest(
        book_data,
        BookBuilder(demo_sleeves()[:2]),
        schedule="weekly",
        fill="next_close",
        account="margin",
        leverage=2.0,
        **BT,
    )
    equity = result.equity.to_numpy()
    np.testing.assert_array_equal(out["returns"], equity[1:] / equity[:-1] - 1)
    assert out["returns"].std() > 0
    assert out["allocation.window"] == 252
