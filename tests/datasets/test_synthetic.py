import numpy as np
import pandas as pd
import pytest

from riskbook import MarketData
from riskbook.datasets import synthetic_minutes
from riskbook.errors import DataError


@pytest.fixture(scope="module")
def daily(sp500):
    return sp500.slice("2020-02-03", "2020-04-30")


@pytest.fixture(scope="module")
def minutes(daily):
    return synthetic_minutes(daily, seed=7)


def test_resampled_minutes_reproduce_daily_closes(daily, minutes):
    back = minutes.resample("1D")
    np.testing.assert_array_equal(back.dates, daily.dates)
    assert np.max(np.abs(back.close - daily.close)) <= 1e-12
    assert back.fields == ("open", "high", "low", "close", "volume")


def test_session_layout(daily, minutes):
    assert minutes.frequency == "minute"
    assert minutes.shape == (len(daily) * 390, 20)
    first = pd.DatetimeIndex(minutes.dates[:390])
    assert first[0] == pd.Timestamp("2020-02-03 09:31")
    assert first[-1] == pd.Timestamp("2020-02-03 16:00")
    # bars are internally consistent and validate as MarketData
    assert (minutes.high >= np.maximum(minutes.open, minutes.close)).all()
    assert (minutes.low <= np.minimum(minutes.open, minutes.close)).all()
    MarketData.from_frame(minutes.select(["AAPL"]).to_frame())


def test_resampled_ohlc_brackets_and_aggregates(minutes):
    day = minutes.resample("1D")
    m = minutes.close.reshape(-1, 390, 20)
    np.testing.assert_array_equal(day.high, minutes.high.reshape(-1, 390, 20).max(axis=1))
    np.testing.assert_array_equal(day.open, minutes.open.reshape(-1, 390, 20)[:, 0])
    np.testing.assert_array_equal(day.close, m[:, -1])
    np.testing.assert_allclose(day.volume, minutes.volume.reshape(-1, 390, 20).sum(axis=1))


def test_deterministic_by_seed(daily):
    a = synthetic_minutes(daily.select(["KO"]), seed=1)
    b = synthetic_minutes(daily.select(["KO"]), seed=1)
    c = synthetic_minutes(daily.select(["KO"]), seed=2)
    np.testing.assert_array_equal(a.open, b.open)
    assert not np.array_equal(a.open, c.open)


def test_late_listing_stays_missing():
    close = np.array([[np.nan, 20.0], [11.0, 21.0], [12.0, 19.0]])
    daily = MarketData.from_arrays(
        ["2024-01-02", "2024-01-03", "2024-01-04"], ["A", "B"], close=close
    )
    minutes = synthetic_minutes(daily, seed=0, minutes_per_day=30)
    assert np.isnan(minutes.close[:30, 0]).all()
    np.testing.assert_array_equal(minutes.resample("1D").close, close)


def test_needs_daily_input(minutes):
    with pytest.raises(DataError):
        synthetic_minutes(minutes)
