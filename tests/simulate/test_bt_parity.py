"""Parity with bt (an independent backtester) where the settings coincide: same-bar close fills,
fractional shares, no costs, bt's RunMonthly (first session of each month) and its inverse
volatility on a one-year window of daily returns."""

import numpy as np
import pandas as pd
import pytest

import riskbook

bt = pytest.importorskip("bt")
LOOKBACK = pd.DateOffset(years=1)


def inverse_vol(view):
    t0 = np.datetime64((pd.Timestamp(view.time) - LOOKBACK).asm8)
    closes = view.close[np.searchsorted(view.dates, t0, "left") :]
    rets = closes[1:] / closes[:-1] - 1.0
    iv = 1.0 / rets.std(axis=0, ddof=1)
    return iv / iv.sum()


def test_equity_matches_bt_to_1e_9(sp500):
    data = sp500.slice("2012-01-01", "2019-12-31").select(
        ["AAPL", "JNJ", "KO", "XOM", "JPM", "WMT"]
    )
    ours = riskbook.backtest(
        data, inverse_vol, schedule="month_start", fill="close", fractional=True, start="2013-01-01"
    )
    strategy = bt.Strategy(
        "iv",
        [
            bt.algos.RunAfterDate("2012-12-31"),
            bt.algos.RunMonthly(),
            bt.algos.SelectAll(),
            bt.algos.WeighInvVol(lookback=LOOKBACK),
            bt.algos.Rebalance(),
        ],
    )
    test = bt.Backtest(
        strategy,
        data.to_frame(),
        integer_positions=False,
        initial_capital=1_000_000.0,
        progress_bar=False,
    )
    theirs = bt.run(test).backtests["iv"].strategy.values.reindex(ours.equity.index)
    assert len(ours.reconciliation["date"].unique()) == 84  # 7 years of month starts
    np.testing.assert_allclose(ours.equity.to_numpy(), theirs.to_numpy(), rtol=1e-9)
