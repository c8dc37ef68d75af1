"""Alpha models: sources of insights, to drive portfolio construction examples and tests.

An :class:`AlphaModel` returns new insights from :meth:`AlphaModel.update`;
:meth:`AlphaModel.generate` also stamps them with the algorithm's UTC time and the model's name,
as LEAN's framework does when an alpha emits. Built in, with LEAN's names and defaults:

- :class:`ConstantAlphaModel`: the same insight for every security, again once it expires;
- :class:`HistoricalReturnsAlphaModel`: LEAN's momentum alpha, the sign of the last
  ``lookback``-bar return, with that return as the magnitude;
- :class:`EmaCrossAlphaModel`: UP when the fast EMA crosses above the slow one, DOWN below;
- :class:`CompositeAlphaModel`: several models' insights, in the order the models were given.

Indicators are created in ``on_securities_changed`` and warmed up from ``algorithm.history``;
each ``update`` first feeds them the bars completed since the last one (also from history), so
they never see a bar after the algorithm's time, whatever the calling frequency. Call
``update`` once a bar to see every crossover, as LEAN does.

Examples
--------
>>> from riskbook.construct import SimpleAlgorithm
>>> from riskbook.datasets import load_sp500
>>> algo = SimpleAlgorithm(load_sp500().select(["AAPL", "KO"]), "2020-03-16")
>>> alpha = HistoricalReturnsAlphaModel(lookback=5)
>>> alpha.on_securities_changed(algo, algo.security_changes(added=["AAPL", "KO"]))
>>> [(i.symbol, i.direction.name, round(i.magnitude, 4)) for i in alpha.generate(algo)]
[('AAPL', 'DOWN', -0.09), ('KO', 'DOWN', -0.1196)]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np

from riskbook.construct.insight import Insight, InsightDirection, InsightType, _as_datetime
from riskbook.construct.portfolio_construction import (
    PortfolioConstructionModel,
    Resolution,
    SecurityChanges,
)
from riskbook.construct.target import PortfolioTarget
from riskbook.errors import ConfigError

__all__ = [
    "AlphaModel",
    "CompositeAlphaModel",
    "ConstantAlphaModel",
    "EmaCrossAlphaModel",
    "ExponentialMovingAverage",
    "HistoricalReturnsAlphaModel",
    "RateOfChange",
    "framework_step",
]

_ALPHA_LEAN_NAMES = {"update": "Update", "on_securities_changed": "OnSecuritiesChanged"}


# ===================================================================== indicators
class ExponentialMovingAverage:
    """LEAN's EMA: seeded with the simple mean of the first ``period`` values, then
    ``ema += k * (x - ema)`` with ``k = 2 / (period + 1)``; ready after ``period`` values.

    Examples
    --------
    >>> ema = ExponentialMovingAverage(3)
    >>> for x in (1.0, 2.0, 3.0, 4.0):
    ...     _ = ema.update(x)
    >>> ema.is_ready, ema.value
    (True, 3.0)
    """

    def __init__(self, period: int) -> None:
        if int(period) < 1:
            raise ConfigError("an EMA period must be >= 1", parameter="period")
        self.period = int(period)
        self.k = 2.0 / (self.period + 1)
        self.samples = 0
        self.value = 0.0
        self._sum = 0.0

    @property
    def is_ready(self) -> bool:
        return self.samples >= self.period

    @property
    def warm_up_period(self) -> int:
        return self.period

    def update(self, value: float) -> float:
        """Feed one value; returns the current average."""
        self.samples += 1
        if self.samples <= self.period:
            self._sum += value
            self.value = self._sum / self.samples
        else:
            self.value += self.k * (value - self.value)
        return self.value


class RateOfChange:
    """LEAN's ROC: ``x_t / x_{t-period} - 1``; ready after ``period + 1`` values.

    Examples
    --------
    >>> roc = RateOfChange(2)
    >>> [round(roc.update(x), 4) for x in (10.0, 11.0, 12.0)]
    [0.0, 0.0, 0.2]
    """

    def __init__(self, period: int) -> None:
        if int(period) < 1:
            raise ConfigError("a rate-of-change period must be >= 1", parameter="period")
        self.period = int(period)
        self.samples = 0
        self.value = 0.0
        self._window: list[float] = []

    @property
    def is_ready(self) -> bool:
        return self.samples > self.period

    @property
    def warm_up_period(self) -> int:
        return self.period + 1

    def update(self, value: float) -> float:
        self.samples += 1
        self._window.append(float(value))
        if len(self._window) > self.period + 1:
            self._window.pop(0)
        first = self._window[0]
        self.value = value / first - 1.0 if self.is_ready and first != 0 else 0.0
        return self.value


# ===================================================================== base
class AlphaModel:
    """Base of alpha models (LEAN's ``AlphaModel``).

    Subclasses implement :meth:`update` and usually :meth:`on_securities_changed`. LEAN's
    CamelCase overrides (``Update``, ``OnSecuritiesChanged``) work too.

    Examples
    --------
    >>> from datetime import timedelta
    >>> class Always(AlphaModel):
    ...     def Update(self, algorithm, data):
    ...         return [Insight.price("SPY", timedelta(days=1), InsightDirection.UP)]
    >>> Always().name, len(Always().update(None, None))
    ('Always', 1)
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        for snake, camel in _ALPHA_LEAN_NAMES.items():
            if camel in own and snake not in own:
                setattr(cls, snake, own[camel])
            elif snake in own and camel not in own:
                setattr(cls, camel, own[snake])

    @property
    def name(self) -> str:
        """The model's name, stamped on its insights as ``source_model``."""
        return self.__dict__.get("_name") or type(self).__name__

    @name.setter
    def name(self, value: str) -> None:
        self.__dict__["_name"] = str(value)

    Name = name

    def update(self, algorithm: Any, data: Any) -> list[Insight]:
        """New insights at the algorithm's current time (none in the base class)."""
        return []

    def on_securities_changed(self, algorithm: Any, changes: SecurityChanges) -> None:
        """React to universe changes (nothing in the base class)."""

    def generate(self, algorithm: Any, data: Any = None) -> list[Insight]:
        """:meth:`update`, then stamp each new insight with the UTC time and the model's name."""
        now = _as_datetime(algorithm.utc_time, "utc_time")
        insights = list(self.update(algorithm, data) or [])
        for insight in insights:
            if insight.source_model is None:
                insight.source_model = self.name
            if insight.generated_time_utc is None:
                insight.set_times(now)
        return insights

    Update = update
    OnSecuritiesChanged = on_securities_changed


def _symbols(items: Iterable[Any]) -> list[Any]:
    return [getattr(item, "symbol", item) for item in items]


def _new_closes(
    algorithm: Any, symbol: Any, after: datetime | None, count: int, resolution: Resolution
) -> list[tuple[datetime, float]]:
    """Closes of the bars after ``after`` (the last ``count`` when None), oldest first.

    Asks history for a small window and widens it until the window reaches back to ``after``,
    so a model updated every bar reads a handful of bars, and one updated rarely still misses
    none.
    """
    n = count if after is None else 8
    while True:
        frame = algorithm.history([symbol], n, resolution)
        if frame is None or len(frame) == 0:
            return []
        closes = frame["close"].xs(symbol, level=0)
        times = [t.to_pydatetime() if hasattr(t, "to_pydatetime") else t for t in closes.index]
        values = closes.to_numpy(dtype=float)
        if after is None:
            return list(zip(times, values, strict=True))
        if len(times) < n or times[0] <= after:
            return [(t, v) for t, v in zip(times, values, strict=True) if t > after]
        n *= 4


# ===================================================================== constant
class ConstantAlphaModel(AlphaModel):
    """The same insight for every security in the universe, re-emitted once its period passed.

    Securities with no price yet are skipped.

    Parameters
    ----------
    direction, period, magnitude, confidence, weight
        The insight's fields (``period``: a timedelta or a Resolution).
    insight_type
        :class:`InsightType` (PRICE).

    Examples
    --------
    >>> from datetime import timedelta
    >>> from riskbook.construct import SimpleAlgorithm
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500().select(["AAPL", "KO"]), "2020-03-16")
    >>> alpha = ConstantAlphaModel(InsightDirection.UP, timedelta(days=2), weight=0.5)
    >>> alpha.on_securities_changed(algo, algo.security_changes(added=["AAPL", "KO"]))
    >>> len(alpha.generate(algo)), len(alpha.generate(algo))   # the second call is too early
    (2, 0)
    """

    def __init__(
        self,
        direction: InsightDirection | int,
        period: Any,
        magnitude: float | None = None,
        confidence: float | None = None,
        weight: float | None = None,
        insight_type: InsightType = InsightType.PRICE,
    ) -> None:
        self.direction = InsightDirection(int(direction))
        self.period = period
        self.magnitude = magnitude
        self.confidence = confidence
        self.weight = weight
        self.insight_type = InsightType(insight_type)
        self.span = Insight("_", period, 0).span
        self.securities: list[Any] = []
        self.insights_time_by_symbol: dict[Any, datetime] = {}
        self.name = (
            f"{type(self).__name__}({self.insight_type.name},{self.direction.name},{period})"
        )

    def update(self, algorithm: Any, data: Any) -> list[Insight]:
        now = _as_datetime(algorithm.utc_time, "utc_time")
        insights = []
        for symbol in list(self.securities):
            security = algorithm.securities.get(symbol)
            if security is None or not security.price:
                continue
            if self._should_emit(now, symbol):
                insights.append(
                    Insight(
                        symbol,
                        self.period,
                        self.direction,
                        self.magnitude,
                        self.confidence,
                        weight=self.weight,
                        insight_type=self.insight_type,
                    )
                )
        return insights

    def _should_emit(self, now: datetime, symbol: Any) -> bool:
        last = self.insights_time_by_symbol.get(symbol)
        if last is not None and now - last < self.span:
            return False
        self.insights_time_by_symbol[symbol] = now
        return True

    def on_securities_changed(self, algorithm: Any, changes: SecurityChanges) -> None:
        for symbol in _symbols(changes.added_securities):
            if symbol not in self.securities:
                self.securities.append(symbol)
        for symbol in _symbols(changes.removed_securities):
            if symbol in self.securities:
                self.securities.remove(symbol)
            # so the insight is sent again if the security rejoins the universe
            self.insights_time_by_symbol.pop(symbol, None)


# ===================================================================== momentum
class HistoricalReturnsAlphaModel(AlphaModel):
    """Momentum: the sign of the ``lookback``-bar return, with the return as the magnitude.

    LEAN's ``HistoricalReturnsAlphaModel``: emits once per new bar, with period ``lookback``
    bars; a zero return emits nothing and cancels the symbol's active insights (in
    ``algorithm.insights`` when the algorithm has one).

    Parameters
    ----------
    lookback
        Bars of the return (LEAN's default 1).
    resolution
        Bar resolution of the history (daily).

    Examples
    --------
    >>> HistoricalReturnsAlphaModel(lookback=21).prediction_interval
    datetime.timedelta(days=21)
    """

    def __init__(self, lookback: int = 1, resolution: Resolution = Resolution.DAILY) -> None:
        self.lookback = int(lookback)
        self.resolution = Resolution(resolution)
        self.prediction_interval = self.resolution.span * self.lookback
        self.symbol_data: dict[Any, _ReturnsData] = {}
        self.name = f"{type(self).__name__}({self.lookback},{self.resolution.name})"

    def update(self, algorithm: Any, data: Any) -> list[Insight]:
        insights = []
        now = _as_datetime(algorithm.utc_time, "utc_time")
        for symbol, sd in self.symbol_data.items():
            sd.catch_up(algorithm)
            if not sd.can_emit():
                continue
            magnitude = sd.roc.value
            if magnitude == 0:
                book = getattr(algorithm, "insights", None)
                if book is not None and hasattr(book, "expire"):
                    book.expire(symbol, now)
                continue
            direction = InsightDirection.UP if magnitude > 0 else InsightDirection.DOWN
            insights.append(Insight.price(symbol, self.prediction_interval, direction, magnitude))
        return insights

    def on_securities_changed(self, algorithm: Any, changes: SecurityChanges) -> None:
        for symbol in _symbols(changes.added_securities):
            if symbol not in self.symbol_data:
                sd = _ReturnsData(symbol, self.lookback, self.resolution)
                sd.warm_up(algorithm)
                self.symbol_data[symbol] = sd
        for symbol in _symbols(changes.removed_securities):
            self.symbol_data.pop(symbol, None)


class _ReturnsData:
    def __init__(self, symbol: Any, lookback: int, resolution: Resolution) -> None:
        self.symbol = symbol
        self.resolution = resolution
        self.roc = RateOfChange(lookback)
        self.last_time: datetime | None = None
        self._emitted_at = -1

    def _feed(self, bars: list[tuple[datetime, float]]) -> None:
        for time, close in bars:
            if np.isfinite(close):
                self.roc.update(close)
                self.last_time = time

    def warm_up(self, algorithm: Any) -> None:
        self._feed(
            _new_closes(algorithm, self.symbol, None, self.roc.warm_up_period, self.resolution)
        )

    def catch_up(self, algorithm: Any) -> None:
        if self.last_time is None:
            self.warm_up(algorithm)
        else:
            self._feed(_new_closes(algorithm, self.symbol, self.last_time, 0, self.resolution))

    def can_emit(self) -> bool:
        # once per new bar, as LEAN's symbol data compares the sample count
        if self._emitted_at == self.roc.samples:
            return False
        self._emitted_at = self.roc.samples
        return self.roc.is_ready


# ===================================================================== EMA cross
class EmaCrossAlphaModel(AlphaModel):
    """EMA crossover: UP when the fast EMA crosses above the slow one, DOWN when below.

    LEAN's ``EmaCrossAlphaModel`` with its defaults (12 and 26 bars, daily); insights last
    ``fast_period`` bars. Each EMA is warmed up from ``period`` bars of history when the
    security is added (LEAN's ``WarmUpIndicator``). Before the first comparison the fast EMA
    counts as below the slow one, so a fast EMA already above it gives UP on the first update.

    Examples
    --------
    >>> from riskbook.construct import SimpleAlgorithm
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500().select(["AAPL"]), "2020-03-16")
    >>> alpha = EmaCrossAlphaModel()
    >>> alpha.on_securities_changed(algo, algo.security_changes(added=["AAPL"]))
    >>> [i.direction.name for i in alpha.generate(algo)]
    []
    """

    def __init__(
        self,
        fast_period: int = 12,
        slow_period: int = 26,
        resolution: Resolution = Resolution.DAILY,
    ) -> None:
        if int(fast_period) >= int(slow_period):
            raise ConfigError(
                "the fast period must be shorter than the slow one", parameter="fast_period"
            )
        self.fast_period = int(fast_period)
        self.slow_period = int(slow_period)
        self.resolution = Resolution(resolution)
        self.prediction_interval = self.resolution.span * self.fast_period
        self.symbol_data: dict[Any, _EmaCrossData] = {}
        self.name = (
            f"{type(self).__name__}({self.fast_period},{self.slow_period},{self.resolution.name})"
        )

    def update(self, algorithm: Any, data: Any) -> list[Insight]:
        insights = []
        for symbol, sd in self.symbol_data.items():
            sd.catch_up(algorithm)
            fast, slow = sd.fast, sd.slow
            if fast.is_ready and slow.is_ready:
                if sd.fast_is_over_slow:
                    if slow.value > fast.value:
                        insights.append(
                            Insight.price(symbol, self.prediction_interval, InsightDirection.DOWN)
                        )
                elif fast.value > slow.value:
                    insights.append(
                        Insight.price(symbol, self.prediction_interval, InsightDirection.UP)
                    )
            sd.fast_is_over_slow = fast.value > slow.value
        return insights

    def on_securities_changed(self, algorithm: Any, changes: SecurityChanges) -> None:
        for symbol in _symbols(changes.added_securities):
            if symbol not in self.symbol_data:
                sd = _EmaCrossData(symbol, self.fast_period, self.slow_period, self.resolution)
                sd.warm_up(algorithm)
                self.symbol_data[symbol] = sd
        for symbol in _symbols(changes.removed_securities):
            self.symbol_data.pop(symbol, None)


class _EmaCrossData:
    def __init__(self, symbol: Any, fast: int, slow: int, resolution: Resolution) -> None:
        self.symbol = symbol
        self.resolution = resolution
        self.fast = ExponentialMovingAverage(fast)
        self.slow = ExponentialMovingAverage(slow)
        self.fast_is_over_slow = False
        self.last_time: datetime | None = None

    def warm_up(self, algorithm: Any) -> None:
        # each indicator gets its own warm-up window, as LEAN's WarmUpIndicator does
        bars = _new_closes(algorithm, self.symbol, None, self.slow.period, self.resolution)
        for k, (time, close) in enumerate(bars):
            if len(bars) - k <= self.fast.period:
                self.fast.update(close)
            self.slow.update(close)
            self.last_time = time

    def catch_up(self, algorithm: Any) -> None:
        if self.last_time is None:
            self.warm_up(algorithm)
            return
        for time, close in _new_closes(algorithm, self.symbol, self.last_time, 0, self.resolution):
            self.fast.update(close)
            self.slow.update(close)
            self.last_time = time


# ===================================================================== composite
class CompositeAlphaModel(AlphaModel):
    """Several alpha models as one: their insights in model order, each named by its model.

    Examples
    --------
    >>> from datetime import timedelta
    >>> combo = CompositeAlphaModel(ConstantAlphaModel(1, timedelta(days=1)),
    ...                             EmaCrossAlphaModel())
    >>> [type(m).__name__ for m in combo.alpha_models]
    ['ConstantAlphaModel', 'EmaCrossAlphaModel']
    """

    def __init__(self, *alpha_models: AlphaModel) -> None:
        if not alpha_models:
            raise ConfigError(
                "a composite needs at least one alpha model", parameter="alpha_models"
            )
        self.alpha_models: list[AlphaModel] = list(alpha_models)

    def add_alpha(self, alpha_model: AlphaModel) -> None:
        """Append a model (its insights come after the others')."""
        self.alpha_models.append(alpha_model)

    def update(self, algorithm: Any, data: Any) -> list[Insight]:
        insights = []
        for model in self.alpha_models:
            for insight in model.update(algorithm, data) or []:
                if insight.source_model is None:
                    insight.source_model = model.name
                insights.append(insight)
        return insights

    def on_securities_changed(self, algorithm: Any, changes: SecurityChanges) -> None:
        for model in self.alpha_models:
            model.on_securities_changed(algorithm, changes)

    AddAlpha = add_alpha


def framework_step(
    algorithm: Any,
    alpha: AlphaModel,
    portfolio_construction: PortfolioConstructionModel,
    data: Any = None,
) -> tuple[list[Insight], list[PortfolioTarget]]:
    """One time step of LEAN's framework loop: emit insights, record them, build targets.

    The insights go to ``algorithm.insights`` (when the algorithm has one) before the
    portfolio construction model sees them, as in LEAN.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from riskbook.construct import SimpleAlgorithm
    >>> from riskbook.construct.models import EqualWeightingPortfolioConstructionModel
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500().select(["AAPL", "KO"]), "2020-03-16")
    >>> alpha = ConstantAlphaModel(InsightDirection.UP, timedelta(days=3))
    >>> pcm = EqualWeightingPortfolioConstructionModel()
    >>> changes = algo.security_changes(added=["AAPL", "KO"])
    >>> alpha.on_securities_changed(algo, changes); pcm.on_securities_changed(algo, changes)
    >>> insights, targets = framework_step(algo, alpha, pcm)
    >>> [(t.symbol, t.quantity) for t in targets]
    [('AAPL', 841.0), ('KO', 1218.0)]
    """
    insights = alpha.generate(algorithm, data)
    book = getattr(algorithm, "insights", None)
    if book is not None and hasattr(book, "add_range"):
        book.add_range(insights)
    return insights, portfolio_construction.create_targets(algorithm, insights)
