import numpy as np
import pandas as pd
import pytest

from riskbook.datasets import synthetic_minutes
from riskbook.errors import ConfigError, DataError
from riskbook.simulate import decision_bars, every


@pytest.fixture(scope="module")
def year(sp500):
    return sp500.slice("2022-01-01", "2022-12-28").select(["AAPL", "KO"])


def days(data, bars):
    return [str(data.dates[i])[:10] for i in bars]


def test_period_ends_and_starts(year):
    monthly = days(year, decision_bars(year, "monthly"))
    assert len(monthly) == 12
    assert monthly[:3] == ["2022-01-31", "2022-02-28", "2022-03-31"]
    assert monthly[-1] == "2022-12-28"  # the last session in the data
    assert days(year, decision_bars(year, "month_start"))[:2] == ["2022-01-03", "2022-02-01"]
    weekly = days(year, decision_bars(year, "weekly"))
    assert weekly[:2] == ["2022-01-07", "2022-01-14"]  # Fridays
    assert days(year, decision_bars(year, "week_start"))[:2] == ["2022-01-03", "2022-01-10"]
    assert days(year, decision_bars(year, "quarterly")) == [
        "2022-03-31",
        "2022-06-30",
        "2022-09-30",
        "2022-12-28",
    ]
    assert len(decision_bars(year, "daily")) == len(year)


def test_every_n_and_dates_and_bounds(year):
    np.testing.assert_array_equal(decision_bars(year, 21)[:3], [0, 21, 42])
    assert days(year, decision_bars(year, ["2022-03-01", "2022-06-01"])) == [
        "2022-03-01",
        "2022-06-01",
    ]
    with pytest.raises(DataError) as err:
        decision_bars(year, ["2022-03-01", "2022-03-05"])  # a Saturday
    assert err.value.date == "2022-03-05"
    bounded = days(year, decision_bars(year, "monthly", start="2022-06-01", end="2022-08-31"))
    assert bounded == ["2022-06-30", "2022-07-29", "2022-08-31"]


def test_callable_schedule_like_lean(year):
    got = days(year, decision_bars(year, every(pd.Timedelta(days=100))))
    assert got == ["2022-01-03", "2022-04-13", "2022-07-22", "2022-10-31"]

    def backwards(last):
        return pd.Timestamp("2022-02-01") if last is None else last - pd.Timedelta(days=1)

    with pytest.raises(ConfigError, match="forward"):
        decision_bars(year, backwards)


def test_unknown_schedule(year):
    with pytest.raises(ConfigError) as err:
        decision_bars(year, "fortnightly")
    assert err.value.parameter == "schedule"
    with pytest.raises(ConfigError):
        decision_bars(year, 0)


def test_minute_schedule_uses_the_same_sessions(year):
    part = year.slice("2022-03-01", "2022-04-29")
    minutes = synthetic_minutes(part, seed=0, minutes_per_day=30)
    daily_days = days(part, decision_bars(part, "monthly"))
    bars = decision_bars(minutes, "monthly")
    assert days(minutes, bars) == daily_days
    assert all(
        str(minutes.dates[i])[11:16] == "10:00" for i in bars
    )  # 30-minute sessions end 10:00
    early = decision_bars(minutes, "monthly", at="09:45")
    assert [str(minutes.dates[i])[11:16] for i in early] == ["09:45", "09:45"]
    with pytest.raises(ConfigError):
        decision_bars(part, "monthly", at="15:30")
