"""Small, hand-checkable data for the construct tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskbook.construct import SimpleAlgorithm
from riskbook.data import MarketData

#: Constant prices, so every target can be worked out by hand.
PRICES = {"A": 50.0, "B": 20.0, "C": 10.0, "D": 25.0}


def flat_data(days: int = 30, prices: dict | None = None) -> MarketData:
    """Business days from 2024-01-01 with constant closes."""
    prices = prices or PRICES
    dates = pd.bdate_range("2024-01-01", periods=days)
    close = np.tile(np.array(list(prices.values())), (days, 1))
    return MarketData.from_arrays(dates, list(prices), close=close)


def day(n: int) -> pd.Timestamp:
    """The n-th business day (0-based) of :func:`flat_data`."""
    return pd.bdate_range("2024-01-01", periods=n + 1)[-1]


@pytest.fixture
def algo() -> SimpleAlgorithm:
    """TPV 100,000 in cash on day 0, UTC exchange clock so utc_time == time."""
    return SimpleAlgorithm(flat_data(), day(0), time_zone="UTC")
