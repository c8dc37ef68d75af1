"""Regime detection: known episodes of the bundled data, features against pandas, no look-ahead."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskbook import MarketData
from riskbook.book.regime import REGIMES, Regime, RegimeDetector, VolTrendRegime
from riskbook.errors import ConfigError


def _bars(data: MarketData, start: str, end: str) -> np.ndarray:
    mask = (data.dates >= np.datetime64(start)) & (data.dates <= np.datetime64(end))
    return np.flatnonzero(mask)


@pytest.mark.parametrize(
    ("start", "end"), [("2008-10-01", "2008-12-31"), ("2020-03-09", "2020-03-31")]
)
def test_late_2008_and_march_2020_read_crisis(sp500, start, end):
    detector = VolTrendRegime()
    for bar in _bars(sp500, start, end):
        regime = detector.detect(sp500.until(sp500.dates[bar]))
        assert regime.name == "crisis", str(sp500.dates[bar])
        assert regime.confidence > 0.5


def test_mid_2017_reads_risk_on(sp500):
    detector = VolTrendRegime()
    for bar in _bars(sp500, "2017-06-01", "2017-07-31"):
        regime = detector.detect(sp500.until(sp500.dates[bar]))
        assert regime.name == "risk_on", str(sp500.dates[bar])
        assert regime.confidence > 0.5


def test_features_match_a_pandas_computation(sp500):
    t = "2011-08-19"
    regime = VolTrendRegime().detect(sp500.until(t))
    index_returns = sp500.returns().loc[:t].mean(axis=1)
    rolling = index_returns.rolling(21).std() * math.sqrt(252)
    level = (1.0 + index_returns.iloc[-199:]).cumprod()
    level = pd.concat([pd.Series([1.0]), level.reset_index(drop=True)])
    f = regime.features
    assert f["vol"] == pytest.approx(rolling.iloc[-1], rel=1e-9)
    assert f["vol_median"] == pytest.approx(rolling.iloc[-756:].median(), rel=1e-9)
    assert f["trend"] == pytest.approx(level.iloc[-1] / level.mean() - 1.0, rel=1e-9)
    p_high = 1.0 / (1.0 + math.exp(-math.log(f["vol_ratio"]) / 0.25))
    p_down = 1.0 / (1.0 + math.exp(f["trend"] / 0.02))
    assert (f["p_high_vol"], f["p_down"]) == pytest.approx((p_high, p_down))
    probabilities = {
        "crisis": p_high * p_down,
        "risk_on": (1 - p_high) * (1 - p_down),
        "neutral": p_high * (1 - p_down) + (1 - p_high) * p_down,
    }
    assert regime.name == max(probabilities, key=probabilities.get) == "crisis"
    assert regime.confidence == pytest.approx(probabilities["crisis"])


def test_labels_respect_the_thresholds_and_confidence_is_bounded(sp500):
    detector = VolTrendRegime()
    for bar in range(800, len(sp500.dates), 97):
        regime = detector.detect(sp500.until(sp500.dates[bar]))
        high = regime.features["vol_ratio"] > 1.0
        down = regime.features["trend"] < 0.0
        if regime.name == "crisis":
            assert high and down
        if regime.name == "risk_on":
            assert not high and not down
        assert 1.0 / 3.0 <= regime.confidence <= 1.0


def test_no_look_ahead(sp500):
    rng = np.random.default_rng(2)
    detector = VolTrendRegime()
    for bar in (800, 4700, 7600):
        future = sp500.close.copy()
        future[bar + 1 :] *= np.exp(rng.normal(0.0, 0.3, future[bar + 1 :].shape))
        other = MarketData.from_arrays(sp500.dates, sp500.symbols, close=future)
        t = sp500.dates[bar]
        assert detector.detect(sp500.until(t)) == detector.detect(other.until(t))


def test_short_history_or_flat_prices_mean_no_tilt(sp500):
    detector = VolTrendRegime()
    early = detector.detect(sp500.until(sp500.dates[detector.min_bars - 2]))
    assert (early.name, early.confidence) == ("neutral", 0.0)
    assert detector.detect(sp500.until(sp500.dates[detector.min_bars - 1])).confidence > 0.0
    dates = pd.bdate_range("2000-01-03", periods=detector.min_bars).to_numpy()
    flat = MarketData.from_arrays(dates, ["A", "B"], close=np.full((len(dates), 2), 10.0))
    regime = detector.detect(flat.until(dates[-1]))
    assert (regime.name, regime.confidence) == ("neutral", 0.0)


def test_unlisted_symbols_are_left_out_of_the_index():
    detector = VolTrendRegime(vol_window=3, median_window=4, trend_window=3)
    rng = np.random.default_rng(4)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (8, 3)), axis=0))
    close[:5, 2] = np.nan  # NEW lists at bar 5: its returns count from bar 6 on
    dates = pd.bdate_range("2000-01-03", periods=8).to_numpy()
    md = MarketData.from_arrays(dates, ["A", "B", "NEW"], close=close)
    index_returns = md.returns().mean(axis=1)  # pandas skips the NaN
    vol = index_returns.rolling(3).std().iloc[-1] * math.sqrt(252)
    regime = detector.detect(md.until(dates[-1]))
    assert regime.features["vol"] == pytest.approx(vol, rel=1e-12)
    # priced on one bar only, a symbol has no return yet and leaves the index untouched
    only_last = close.copy()
    only_last[:7, 2] = np.nan
    with_new = MarketData.from_arrays(dates, ["A", "B", "NEW"], close=only_last)
    without = MarketData.from_arrays(dates, ["A", "B"], close=close[:, :2])
    assert detector.detect(with_new.until(dates[-1])) == detector.detect(without.until(dates[-1]))


def test_detector_protocol_and_regime_validation():
    class AlwaysCrisis:
        def detect(self, view):
            return Regime("crisis", 1.0, {})

    assert isinstance(AlwaysCrisis(), RegimeDetector)
    assert isinstance(VolTrendRegime(), RegimeDetector)
    assert set(REGIMES) == {"risk_on", "neutral", "crisis"}
    with pytest.raises(ConfigError, match="regime must be one of"):
        Regime("bear", 0.5)
    with pytest.raises(ConfigError, match="confidence"):
        Regime("crisis", 1.5)
    with pytest.raises(ConfigError):
        VolTrendRegime(vol_window=1)
    with pytest.raises(ConfigError):
        VolTrendRegime(trend_width=0.0)
