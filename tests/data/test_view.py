"""The point-in-time view: nothing after the decision time is reachable."""

import numpy as np
import pandas as pd
import pytest

from riskbook.datasets import synthetic_minutes
from riskbook.errors import DataError, LookAheadError


def test_view_at_t_sees_bar_t_and_nothing_later(sp500):
    t = "2020-03-16"
    view = sp500.until(t)
    i = int(np.searchsorted(sp500.dates, np.datetime64(t)))
    assert len(view) == i + 1
    assert view.dates[-1] == sp500.dates[i]
    with pytest.raises(LookAheadError) as err:
        view.at(sp500.dates[i + 1])
    assert err.value.date == "2020-03-17"
    with pytest.raises(LookAheadError):
        view.at("2022-12-28")


def test_view_returns_identical_data_for_every_earlier_bar(sp500):
    t = sp500.dates[5000]
    view = sp500.until(t)
    np.testing.assert_array_equal(view.close, sp500.close[:5001])
    full_hist = view.history()
    np.testing.assert_array_equal(full_hist.to_numpy(), sp500.close[:5001])
    for k in (0, 1, 2500, 5000):
        bar = view.at(sp500.dates[k])
        np.testing.assert_array_equal(bar["close"].to_numpy(), sp500.close[k])
    returns = view.returns()
    np.testing.assert_allclose(
        returns.to_numpy(), sp500.returns().to_numpy()[:5000], rtol=0, atol=0
    )


def test_history_and_returns_windows(sp500):
    view = sp500.until("2010-06-30")
    hist = view.history(252, symbols=["KO", "AAPL"])
    assert hist.shape == (252, 2)
    assert list(hist.columns) == ["KO", "AAPL"]
    assert hist.index[-1] == pd.Timestamp("2010-06-30")
    rets = view.returns(length=252, symbols="KO")
    assert rets.shape == (252, 1)
    expected = sp500.returns()["KO"].loc[:"2010-06-30"].iloc[-252:]
    np.testing.assert_array_equal(rets["KO"].to_numpy(), expected.to_numpy())
    with pytest.raises(DataError) as err:
        view.history(symbols=["ZZZ"])
    assert err.value.symbol == "ZZZ"


def test_view_arrays_are_read_only(sp500):
    view = sp500.until("2000-01-03")
    with pytest.raises(ValueError):
        view.close[0, 0] = 1.0


def test_date_not_in_data_is_a_data_error(sp500):
    with pytest.raises(DataError, match="no bar"):
        sp500.until("2020-03-16").at("2020-03-15")  # a Sunday


def test_view_before_the_first_bar_is_empty(sp500):
    view = sp500.until("1989-12-29")
    assert len(view) == 0
    assert view.history().shape == (0, 20)


def test_minute_view_and_daily_aggregation(sp500):
    daily = sp500.slice("2022-12-01", "2022-12-09").select(["AAPL", "KO"])
    minutes = synthetic_minutes(daily, seed=3)
    noon = minutes.until("2022-12-06 12:00")
    assert pd.Timestamp(noon.dates[-1]) == pd.Timestamp("2022-12-06 12:00")
    with pytest.raises(LookAheadError):
        noon.at("2022-12-06 12:01")
    # At noon the 6 December session is incomplete: daily() stops at the 5th.
    d = noon.daily()
    assert pd.Timestamp(d.dates[-1]) == pd.Timestamp("2022-12-05")
    np.testing.assert_array_equal(d.close, daily.close[:3])
    close_view = minutes.until("2022-12-06 16:00")
    np.testing.assert_array_equal(close_view.daily().close, daily.close[:4])
    # On daily data, daily() is the identity on the visible bars.
    np.testing.assert_array_equal(daily.until("2022-12-06").daily().close, daily.close[:4])
