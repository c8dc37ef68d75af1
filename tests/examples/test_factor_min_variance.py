"""Seed 000 through riskbook: after every rebalance each held weight is within one share's value
(plus fees) of its target once the market's move between decision and fill is set aside, and the
attribution explains the whole residual."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskbook.execute import COMPONENTS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "factor_min_variance.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("factor_min_variance", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(example):
    return example.run()


def test_held_within_one_share_plus_fees(run, example):
    result, _strategy = run
    rec = result.reconciliation
    assert rec["date"].nunique() == 19  # every 100 days from 2018-01-02 to 2022-12-15
    fees = result.trades.set_index(["decision_time", "symbol"])["fee"]
    closes = example.traded_and_factor().to_frame()
    equity = result.equity.reindex(rec["date"]).to_numpy()
    key = pd.MultiIndex.from_arrays([rec["date"], rec["symbol"]])
    fee = fees.reindex(key).fillna(0.0).to_numpy()
    share = closes.stack().reindex(key).to_numpy()  # one share at the decision price
    gap = (rec["residual"] - rec["price_move"]).abs().to_numpy()
    assert (gap <= (share + fee) / equity + 1e-12).all()
    assert rec["price_move"].abs().max() > 1e-3  # the market did move between decision and fill


def test_attribution_sums_to_the_residual(run):
    rec = run[0].reconciliation
    assert (rec[list(COMPONENTS)].sum(axis=1) - rec["residual"]).abs().max() <= 1e-12


def test_qp_beats_clip_and_renormalise_and_holds_the_beta_limit(run, example):
    _, strategy = run
    differs = 0
    for entry in strategy.log:
        qp, clipped = entry["qp"], entry["clip_and_renormalise"]
        assert entry["beta"] <= example.BETA_LIMIT + 1e-9
        assert qp.min() >= -1e-12 and abs(qp.sum() - 1) < 1e-9
        differs += bool(np.abs(qp - clipped).max() > 1e-4)
    assert differs >= 10  # most rebalances: clipping is not the long-only optimum


def test_main_prints_every_rebalance(example, capsys):
    example.main()
    out = capsys.readouterr().out
    assert out.count("clip+renorm (seed)") == 19
    assert "held after fill" in out and "price_move" in out
