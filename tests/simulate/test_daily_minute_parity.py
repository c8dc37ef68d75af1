"""Seed 002: the same strategy on minute bars and on their daily aggregation gives the same
trades and the same equity at every daily close, when the fill model says it should."""

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook.datasets import synthetic_minutes


@pytest.fixture(scope="module")
def pair(sp500):
    daily_src = sp500.slice("2021-09-01", "2022-02-28").select(["AAPL", "KO", "XOM", "JPM"])
    minutes = synthetic_minutes(daily_src, seed=11)
    return minutes, minutes.resample("1D")


def constant(view):
    return {"AAPL": 0.3, "KO": 0.3, "XOM": 0.2, "JPM": 0.15}


def reads_daily(view):
    daily = view.daily()  # identical on both: completed sessions only
    rets = daily.returns().iloc[-20:]
    if len(rets) < 20:
        return None
    iv = 1.0 / rets.std().to_numpy()
    return iv / iv.sum() * 0.97


@pytest.mark.parametrize("fill", ["next_open", "close"])
@pytest.mark.parametrize("strategy", [constant, reads_daily])
def test_minute_and_daily_runs_agree(pair, fill, strategy):
    minutes, daily = pair
    kwargs = {"schedule": "weekly", "fill": fill, "costs": "ib", "cash": 250_000.0}
    on_minutes = riskbook.backtest(minutes, strategy, **kwargs)
    on_days = riskbook.backtest(daily, strategy, **kwargs)
    tm, td = on_minutes.trades, on_days.trades
    assert len(td) > 20
    np.testing.assert_array_equal(tm["symbol"], td["symbol"])
    np.testing.assert_array_equal(tm["quantity"], td["quantity"])
    np.testing.assert_array_equal(tm["fill_price"], td["fill_price"])
    np.testing.assert_array_equal(tm["fee"], td["fee"])
    # decisions at the same session's close; fills in the same session
    assert (tm["decision_time"].dt.normalize() == td["decision_time"]).all()
    assert (tm["fill_time"].dt.normalize() == td["fill_time"]).all()
    eq_min = on_minutes.daily_equity()
    eq_day = on_days.equity
    assert eq_min.index.equals(eq_day.index)
    np.testing.assert_allclose(eq_min.to_numpy(), eq_day.to_numpy(), rtol=1e-9, atol=0)


def test_minute_fills_show_their_clearing_prices(pair):
    minutes, daily = pair
    res = riskbook.backtest(minutes, constant, schedule="monthly", fill="next_open")
    first = res.trades.iloc[0]
    assert first["fill_time"] == pd.Timestamp("2021-10-01 09:31")  # first bar after 30 Sep close
    bar = minutes.until(first["fill_time"]).at(first["fill_time"]).loc[first["symbol"]]
    assert first["reference_price"] == bar["open"]
    assert (
        first["decision_price"]
        == daily.until("2021-09-30").at("2021-09-30").loc[first["symbol"], "close"]
    )
