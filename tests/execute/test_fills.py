import numpy as np
import pytest

from riskbook import MarketData
from riskbook.datasets import synthetic_minutes
from riskbook.errors import ConfigError, DataError
from riskbook.execute import VWAP, Close, MinuteOffset, NextClose, NextOpen, resolve_fill
from riskbook.execute.fills import NO_FILL


@pytest.fixture(scope="module")
def minutes(sp500):
    return synthetic_minutes(sp500.slice("2022-06-01", "2022-06-10").select(["KO", "XOM"]), seed=5)


@pytest.fixture(scope="module")
def daily(minutes):
    return minutes.resample("1D")


def test_daily_fill_bars_and_prices(daily):
    d = np.array([0, 3, len(daily) - 1])
    nxt_open = NextOpen().schedule(daily, d)
    np.testing.assert_array_equal(nxt_open.index, [1, 4, NO_FILL])
    np.testing.assert_array_equal(nxt_open.price[:2], daily.open[[1, 4]])
    assert np.isnan(nxt_open.price[2]).all()
    np.testing.assert_array_equal(NextClose().schedule(daily, d).price[:2], daily.close[[1, 4]])
    same = Close().schedule(daily, d)
    np.testing.assert_array_equal(same.index, d)
    np.testing.assert_array_equal(same.price, daily.close[d])
    typical = (daily.high + daily.low + daily.close) / 3
    np.testing.assert_allclose(VWAP().schedule(daily, d).price[:2], typical[[1, 4]])


def test_minute_fills_match_the_daily_aggregate(minutes, daily):
    session_close = np.flatnonzero(
        np.r_[
            minutes.dates[1:].astype("datetime64[D]") != minutes.dates[:-1].astype("datetime64[D]"),
            True,
        ]
    )
    d = session_close[[0, 3]]
    np.testing.assert_array_equal(NextOpen().schedule(minutes, d).price, daily.open[[1, 4]])
    np.testing.assert_array_equal(NextClose().schedule(minutes, d).price, daily.close[[1, 4]])
    np.testing.assert_array_equal(Close().schedule(minutes, d).price, daily.close[[0, 3]])
    # a decision at noon fills at that session's close under "close"
    noon = session_close[0] - 240
    assert Close().schedule(minutes, np.array([noon])).index[0] == session_close[0]


def test_minute_vwap_and_offset(minutes):
    d = np.array([389])  # the first session's last bar
    sched = VWAP().schedule(minutes, d)
    bars = slice(390, 780)
    typical = (minutes.high[bars] + minutes.low[bars] + minutes.close[bars]) / 3
    vol = minutes.volume[bars]
    np.testing.assert_allclose(
        sched.price[0], (typical * vol).sum(axis=0) / vol.sum(axis=0), rtol=1e-12
    )
    assert sched.index[0] == 779
    np.testing.assert_allclose(sched.volume[0], vol.sum(axis=0))
    five = MinuteOffset(5).schedule(minutes, d)
    assert five.index[0] == 394  # the bar ending 09:35
    np.testing.assert_array_equal(five.price[0], minutes.close[394])
    at_open = MinuteOffset(0).schedule(minutes, d)
    np.testing.assert_array_equal(at_open.price[0], minutes.open[390])


def test_models_name_what_they_need(daily, sp500):
    close_only = sp500.slice("2022-06-01", "2022-06-10")
    with pytest.raises(DataError) as err:
        NextOpen().schedule(close_only, np.array([0]))
    assert err.value.parameter == "open"
    with pytest.raises(DataError):
        MinuteOffset(5).schedule(daily, np.array([0]))
    assert isinstance(resolve_fill("auto", close_only), NextClose)
    assert isinstance(resolve_fill("auto", daily), NextOpen)
    with pytest.raises(ConfigError):
        resolve_fill("midnight", daily)


def test_price_missing_at_fill_names_symbol_and_date():
    import riskbook

    close = np.array([[10.0, 5.0], [11.0, 5.5], [12.0, np.nan]])
    data = MarketData.from_arrays(
        ["2024-01-02", "2024-01-03", "2024-01-04"], ["A", "B"], close=close
    )
    with pytest.raises(DataError) as err:
        riskbook.backtest(
            data, lambda v: {"A": 0.5, "B": 0.5}, schedule=["2024-01-03"], fill="next_close"
        )
    assert (err.value.symbol, err.value.date) == ("B", "2024-01-04")
