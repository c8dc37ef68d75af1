"""Market regime detection for the bounded regime tilt of stage 6.

A detector is any object with ``detect(view) -> Regime``: a pure function of the point-in-time
view. The integration layer only reads the regime's name and confidence (and gates every tilt on
``RegimeConfig.min_confidence``); the features are kept for the audit trail.

:class:`VolTrendRegime` reads two features of an equal-weighted, daily rebalanced index of the
visible symbols:

- ``vol_ratio``: the index's realised volatility over the last ``vol_window`` days divided by the
  median of that rolling volatility over the last ``median_window`` days (above 1: more turbulent
  than usual for this market, whatever its normal level);
- ``trend``: the index level over its ``trend_window``-day moving average, minus 1.

Each feature casts a soft vote, ``p_high_vol = logistic(log(vol_ratio / vol_threshold) /
vol_width)`` and ``p_down = logistic(-trend / trend_width)``, and the quadrants get the
probabilities of independent votes: crisis ``p_high_vol p_down`` (high vol and a downtrend),
risk_on ``(1 - p_high_vol) (1 - p_down)`` (calm and an uptrend), neutral the two mixed quadrants.
The label is the most probable of the three and the confidence its probability. So crisis
implies ``vol_ratio > vol_threshold`` and ``trend < 0`` (and risk_on the opposite), with a
neutral band around the thresholds where the votes are unsure; the confidence is smooth in the
features, at least 1/3, and near 1 only when both features are well past their thresholds (with
the default gate of 0.5, a crisis tilt needs e.g. both votes above 0.71).

Examples
--------
>>> from riskbook.datasets import load_sp500
>>> sp = load_sp500()
>>> regime = VolTrendRegime().detect(sp.until("2008-11-20"))
>>> regime.name, regime.confidence > 0.9
('crisis', True)
>>> VolTrendRegime().detect(sp.until("2017-07-14")).name
'risk_on'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from riskbook.book.sleeves import daily_closes
from riskbook.errors import ConfigError

if TYPE_CHECKING:
    from riskbook.data.view import PointInTimeView

__all__ = ["REGIMES", "Regime", "RegimeDetector", "VolTrendRegime"]

#: The regime names the overlay knows (``RegimeConfig.vol_targets`` keys).
REGIMES = ("risk_on", "neutral", "crisis")


@dataclass(frozen=True)
class Regime:
    """A detected regime.

    Attributes
    ----------
    name : {"risk_on", "neutral", "crisis"}
    confidence : float
        In [0, 1]; the overlay tilts only above ``RegimeConfig.min_confidence``.
    features : dict
        What the detector saw, for the audit trail.

    Examples
    --------
    >>> Regime("crisis", 0.8).name
    'crisis'
    >>> Regime("panic", 0.8)
    Traceback (most recent call last):
    ...
    riskbook.errors.ConfigError: regime must be one of ('risk_on', 'neutral', 'crisis'), got 'panic' [parameter=name]
    """

    name: str
    confidence: float
    features: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in REGIMES:
            raise ConfigError(
                f"regime must be one of {REGIMES}, got {self.name!r}", parameter="name"
            )
        if not 0.0 <= self.confidence <= 1.0:
            raise ConfigError(
                f"confidence must be in [0, 1], got {self.confidence}", parameter="confidence"
            )


@runtime_checkable
class RegimeDetector(Protocol):
    """Anything with ``detect(view) -> Regime``, a pure function of the point-in-time view.

    Examples
    --------
    >>> isinstance(VolTrendRegime(), RegimeDetector)
    True
    """

    def detect(self, view: PointInTimeView) -> Regime:
        """The regime as of the view's time."""
        ...


def _logistic(x: float) -> float:
    # split by sign so exp never overflows
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Sample std of every ``window``-long run of ``x`` (running sums: O(len(x)))."""
    x = x - x.mean()  # centring keeps the sum-of-squares difference well conditioned
    s1 = np.cumsum(np.concatenate(([0.0], x)))
    s2 = np.cumsum(np.concatenate(([0.0], x * x)))
    m1, m2 = s1[window:] - s1[:-window], s2[window:] - s2[:-window]
    return np.sqrt(np.maximum(m2 - m1 * m1 / window, 0.0) / (window - 1))


@dataclass(frozen=True)
class VolTrendRegime:
    """Crisis / neutral / risk-on from the volatility and trend of an equal-weighted index.

    See the module docstring for the rule and the confidence.

    Parameters
    ----------
    vol_window
        Days in the realised volatility (21, one month).
    median_window
        Days of rolling volatility whose median is the "normal" level (756, three years: a
        one-year median adapts to a long calm spell such as 2017 and reads it as ordinary).
    trend_window
        Days in the moving average (200).
    vol_threshold
        ``vol_ratio`` above which volatility counts as high (1.0: above its own median).
    vol_width
        Softness of the volatility vote, in log ratio (0.25: a ratio 1.28x past the threshold
        votes 73%).
    trend_width
        Softness of the trend vote (0.02: 2% below the average votes 73% "down").
    periods_per_year
        Annualisation of the reported volatility (does not affect the label).

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> regime = VolTrendRegime().detect(load_sp500().until("2020-03-23"))
    >>> regime.name, round(regime.features["vol_ratio"], 1)
    ('crisis', 8.3)
    """

    vol_window: int = 21
    median_window: int = 756
    trend_window: int = 200
    vol_threshold: float = 1.0
    vol_width: float = 0.25
    trend_width: float = 0.02
    periods_per_year: float = 252.0

    def __post_init__(self) -> None:
        for name, minimum in (("vol_window", 2), ("median_window", 1), ("trend_window", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an integer >= {minimum}", parameter=name)
        for name in ("vol_threshold", "vol_width", "trend_width", "periods_per_year"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0", parameter=name)

    @property
    def min_bars(self) -> int:
        """Daily bars needed before the detector reads anything but neutral with confidence 0."""
        return max(self.median_window + self.vol_window, self.trend_window)

    def detect(self, view: PointInTimeView) -> Regime:
        """The regime as of the view's last completed daily bar.

        With fewer than :attr:`min_bars` bars, or a degenerate index (flat prices), the answer
        is ``neutral`` with confidence 0: no tilt.
        """
        _, close = daily_closes(view)
        if len(close) < self.min_bars:
            return Regime("neutral", 0.0, {"bars": float(len(close))})
        index_returns = self._index_returns(close[-self.min_bars :])
        rolling = _rolling_std(
            index_returns[-(self.median_window + self.vol_window - 1) :], self.vol_window
        )
        rolling *= math.sqrt(self.periods_per_year)
        vol, median = float(rolling[-1]), float(np.median(rolling))
        level = np.cumprod(1.0 + index_returns[-(self.trend_window - 1) :])
        level = np.concatenate(([1.0], level))
        trend = float(level[-1] / level.mean() - 1.0)
        if not (median > 0.0 and vol > 0.0 and math.isfinite(trend)):
            return Regime("neutral", 0.0, {"vol": vol, "vol_median": median, "trend": trend})
        ratio = vol / median
        p_high = _logistic(math.log(ratio / self.vol_threshold) / self.vol_width)
        p_down = _logistic(-trend / self.trend_width)
        crisis, risk_on = p_high * p_down, (1.0 - p_high) * (1.0 - p_down)
        name, confidence = max(
            (("crisis", crisis), ("risk_on", risk_on), ("neutral", 1.0 - crisis - risk_on)),
            key=lambda item: item[1],
        )
        features = {
            "vol": vol,
            "vol_median": median,
            "vol_ratio": ratio,
            "trend": trend,
            "p_high_vol": p_high,
            "p_down": p_down,
        }
        return Regime(name, float(min(max(confidence, 0.0), 1.0)), features)

    @staticmethod
    def _index_returns(close: np.ndarray) -> np.ndarray:
        # mean over the symbols priced at both ends of each bar; a bar with none counts as flat
        returns = close[1:] / close[:-1] - 1.0
        valid = np.isfinite(returns)
        if valid.all():
            return returns.mean(axis=1)
        count = valid.sum(axis=1)
        total = np.where(valid, returns, 0.0).sum(axis=1)
        return np.divide(total, count, out=np.zeros(len(total)), where=count > 0)
