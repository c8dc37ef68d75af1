"""The two LEAN examples: seed 000's symptom and fix, seed 004's defects, with their numbers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskbook.execute import COMPONENTS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "lean"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"lean_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- seed 000
@pytest.fixture(scope="module")
def fmv():
    return load("factor_min_variance")


@pytest.fixture(scope="module")
def seed(fmv):
    return fmv.run_seed()


@pytest.fixture(scope="module")
def fixed(fmv):
    return fmv.run_fixed()


def test_seed_000_symptom(fmv, seed):
    gaps = fmv.symptom(seed)
    assert len(gaps) == 19  # every 100 days from 2018-01-02 to 2022-12-15
    assert np.isnan(gaps["gap_to_computed"].iloc[0])  # first rebalance: nothing held, 0 / 0
    later = gaps.iloc[1:]
    # the logged "post-trade" weights are far from the weights just computed ...
    assert later["gap_to_computed"].max() == pytest.approx(0.1369, abs=5e-4)  # 2018-04-12
    assert later["gap_to_computed"].min() > 0.01 and later["gap_to_computed"].median() > 0.05
    # ... because they are the old holdings: the orders fill at the next session
    assert later["gap_to_old_holdings"].max() < 1e-7  # the log prints 8 digits


def test_seed_and_fix_send_the_same_orders(seed, fixed):
    key = ["decision_time", "symbol"]
    a = seed.trades.set_index(key)["quantity"].sort_index()
    b = fixed.trades.set_index(key)["quantity"].sort_index()
    pd.testing.assert_series_equal(a, b)  # the symptom is when the holdings are read, not what


def test_fix_reads_the_held_weights_after_the_fills(fmv, fixed):
    held = fmv.logged(fixed, "Held weights")
    rec = fixed.reconciliation.pivot(index="fill_time", columns="symbol", values="held_weight")
    assert len(held) == 19
    assert np.abs(held.to_numpy() - rec[held.columns].to_numpy()).max() < 1e-7
    # the log time is the fill's session, the next one after the decision
    assert (held.index.normalize() == rec.index).all()


def test_fix_holds_the_targets_within_one_share(fmv, fixed):
    rec = fixed.reconciliation
    targets = fixed.algorithm.targets
    assert rec["date"].nunique() == 19 and len(targets) == 19
    asked = np.concatenate(list(targets.values()))
    assert np.allclose(rec["target_weight"].to_numpy(), asked)  # the weights computed
    assert (rec[list(COMPONENTS)].sum(axis=1) - rec["residual"]).abs().max() < 1e-12
    assert np.allclose(rec["cash_buffer"], -0.0025 * rec["target_weight"])  # LEAN's buffer
    trades = fixed.trades.set_index(["decision_time", "symbol"])
    key = pd.MultiIndex.from_arrays([rec["date"], rec["symbol"]])
    share = trades["decision_price"].reindex(key).fillna(0).to_numpy()
    fee = trades["fee"].reindex(key).fillna(0).to_numpy()
    equity = fixed.equity.reindex(rec["date"]).to_numpy()
    rest = (rec["residual"] - rec["price_move"] - rec["cash_buffer"] - rec["costs"]).abs()
    assert (rest.to_numpy() <= (share + fee) / equity + 1e-12).all()  # whole shares only
    assert rest.max() > 1e-4  # and they do show
    assert rec["price_move"].abs().max() > 0.005  # the market moves overnight


def test_examples_main_prints(fmv, capsys):
    fmv.main()
    out = capsys.readouterr().out
    assert "Post-trade" not in out and "logged   [nan, nan, nan, nan]" in out
    assert "price_move" in out and "rebalances" in out


# ----------------------------------------------------------------------------- seed 004
@pytest.fixture(scope="module")
def mvn():
    return load("mean_variance_numerics")


@pytest.fixture(scope="module")
def written(mvn):
    return mvn.run_as_written()


def test_seed_004_defects_quantified(mvn, written):
    d = mvn.defects(written)
    approx = pytest.approx
    # 1. prices, not returns
    assert d["mean_correlation_of_prices"] == approx(0.8713, abs=1e-3)
    assert d["mean_correlation_of_returns"] == approx(0.5165, abs=1e-3)
    assert d["weights_gross"] == approx(23.92, abs=0.01)
    assert d["weights_gross_with_return_correlation"] == approx(2.267, abs=0.01)
    # 2. 2-day returns, indicators never ready
    assert d["bars_in_365_day_history"] == 249 and d["indicators_ready"] == 0
    assert 1.3 < d["vol_2day_over_daily"] < 1.5
    # 3. annual target and rate against 2-day means
    assert d["mean_return_per_2_days"] == approx(0.0021, abs=1e-4)
    assert d["excess_returns_negative"] == 1.0
    # 4. no budget or bounds
    assert d["weights_sum"] == approx(-8.854, abs=0.01) and d["weights_min"] < -16
    assert d["invalid_orders"] == 3 and d["filled_orders"] == 1
    assert d["held_gross_exposure"] == approx(1.319, abs=0.01)
    # 5. risk of the returns vector instead of the weights
    assert d["reported_risk"] == approx(0.0002, abs=5e-5)
    assert d["risk_of_weights_2day"] == approx(0.0377, abs=5e-4)
    # 6. never rebalanced: one leveraged stock decides the result
    assert d["total_return"] == approx(3.089, abs=0.01)
    assert d["max_drawdown"] == approx(-0.471, abs=0.005)
    orders = written.lean_orders.set_index("symbol")
    assert orders["status"].to_dict() == {
        "SP500": "INVALID",
        "JPM": "FILLED",
        "MSFT": "INVALID",
        "BAC": "INVALID",
    }
    assert "at the fill" in orders.loc["MSFT", "message"]
    assert set(written.trades["symbol"]) == {"JPM"}
    assert written.logs[0] == "2013-10-07 00:00:00 Lagrange Multiplier:  0.0158"
    assert written.logs[1] == "2013-10-07 00:00:00 Portfolio Risk:        0.02% "


def test_seed_004_corrected(mvn):
    corrected = mvn.run_corrected()
    s = mvn.corrected_summary(corrected)
    assert s["rebalances"] == 111
    assert s["weights_sum_max_error"] < 1e-8
    assert s["weights_min"] >= -1e-9 and s["weights_max"] <= 0.6 + 1e-9
    assert s["mean_reported_risk"] == pytest.approx(0.178, abs=0.002)
    assert s["total_return"] == pytest.approx(1.778, abs=0.01)
    assert s["max_drawdown"] == pytest.approx(-0.353, abs=0.005)
    rec = corrected.reconciliation
    assert (rec[list(COMPONENTS)].sum(axis=1) - rec["residual"]).abs().max() < 1e-12
