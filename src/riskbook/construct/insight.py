"""Insights (an alpha model's prediction about one symbol) and the collection that holds them.

An :class:`Insight` says "``symbol`` will move ``direction`` over ``period``", optionally with a
magnitude, a confidence and a weight. It is born without times; the alpha model (or whoever
emits it) stamps it with :meth:`Insight.set_times`, which fixes ``generated_time_utc`` and
``close_time_utc = generated_time_utc + period``. All times are naive UTC datetimes.

As in LEAN, an insight is *active* at ``t`` while ``close_time_utc >= t`` and *expired* once
``close_time_utc < t``; at exactly its close time it is still active.

Examples
--------
>>> from datetime import datetime, timedelta
>>> ins = Insight.price("SPY", timedelta(days=5), InsightDirection.UP, weight=0.5)
>>> ins.set_times(datetime(2024, 1, 2))
Insight(SPY UP period=5 days, 0:00:00 weight=0.5 close=2024-01-07 00:00:00)
>>> ins.is_active(datetime(2024, 1, 7)), ins.is_expired(datetime(2024, 1, 7, 0, 0, 1))
(True, True)
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

import pandas as pd

from riskbook.errors import ConfigError

__all__ = ["Insight", "InsightCollection", "InsightDirection", "InsightType"]

# LEAN moves an insight's close time one tick before "now" when it is expired or cancelled, so
# that it is no longer active at "now"; a microsecond is the smallest step a datetime has.
_ONE_TICK = timedelta(microseconds=1)
_sequence = itertools.count()
# LEAN rejects insight periods shorter than one second
_MIN_PERIOD = timedelta(seconds=1)


class InsightDirection(IntEnum):
    """Predicted direction: ``UP = 1``, ``FLAT = 0``, ``DOWN = -1`` (LEAN's values).

    Examples
    --------
    >>> InsightDirection.DOWN * 0.25
    -0.25
    """

    DOWN = -1
    FLAT = 0
    UP = 1

    # LEAN's C# spelling, so ported code reading ``InsightDirection.Up`` works too
    Down = -1
    Flat = 0
    Up = 1


class InsightType(IntEnum):
    """What the insight predicts: the price (the default) or the volatility.

    Examples
    --------
    >>> InsightType.PRICE.name
    'PRICE'
    """

    PRICE = 0
    VOLATILITY = 1


def period_span(period: Any) -> timedelta:
    """The length of an insight period: a timedelta, or a resolution (one bar of it).

    A resolution is anything with a ``span`` timedelta (:class:`riskbook.construct.Resolution`);
    a tick counts as one second, as in LEAN.

    Examples
    --------
    >>> period_span(timedelta(hours=2))
    datetime.timedelta(seconds=7200)
    """
    if isinstance(period, timedelta):
        return period
    if isinstance(period, pd.Timedelta):
        return period.to_pytimedelta()
    span = getattr(period, "span", None)
    if isinstance(span, timedelta):
        # LEAN measures a tick-resolution insight in seconds
        return max(span, _MIN_PERIOD)
    raise ConfigError(
        f"an insight period must be a timedelta or a Resolution, not {period!r}",
        parameter="period",
    )


def _as_datetime(value: Any, parameter: str) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is not None else value
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot read {value!r} as a time", parameter=parameter) from exc
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


class Insight:
    """One prediction about one symbol.

    Parameters
    ----------
    symbol
        What the prediction is about.
    period
        How long it holds: a ``timedelta``, or a :class:`~riskbook.construct.Resolution`
        meaning one bar of it (one day for ``Resolution.DAILY``; LEAN counts exchange bars,
        riskbook counts calendar time).
    direction
        :class:`InsightDirection` (or -1, 0, 1).
    magnitude, confidence, weight
        Optional numbers; portfolio construction models read the ones they need.
    source_model
        The name of the alpha model that emitted it.
    tag
        Free text.
    insight_type
        :class:`InsightType`, ``PRICE`` by default.

    Attributes
    ----------
    id : str
        A unique identifier (a UUID4 hex string).
    generated_time_utc, close_time_utc : datetime or None
        Set by :meth:`set_times` when the insight is emitted.

    Notes
    -----
    Insights compare and hash by identity (as LEAN's reference type does), so they can key the
    dicts ``determine_target_percent`` returns even when two carry the same values.

    Examples
    --------
    >>> from datetime import timedelta
    >>> Insight("AAPL", timedelta(days=1), InsightDirection.DOWN, confidence=0.7).direction
    <InsightDirection.DOWN: -1>
    """

    __slots__ = (
        "_seq",
        "close_time_utc",
        "confidence",
        "direction",
        "generated_time_utc",
        "id",
        "insight_type",
        "magnitude",
        "period",
        "source_model",
        "symbol",
        "tag",
        "weight",
    )

    def __init__(
        self,
        symbol: Any,
        period: Any,
        direction: InsightDirection | int,
        magnitude: float | None = None,
        confidence: float | None = None,
        source_model: str | None = None,
        weight: float | None = None,
        *,
        tag: str = "",
        insight_type: InsightType = InsightType.PRICE,
    ) -> None:
        try:
            self.direction = InsightDirection(int(direction))
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"direction must be UP (1), FLAT (0) or DOWN (-1), not {direction!r}",
                symbol=str(symbol),
                parameter="direction",
            ) from exc
        if period_span(period) < _MIN_PERIOD:  # fail now rather than when emitted
            raise ConfigError(
                f"an insight period must be at least one second, not {period!r}",
                symbol=str(symbol),
                parameter="period",
            )
        self.symbol = symbol
        self.period = period
        self.magnitude = None if magnitude is None else float(magnitude)
        self.confidence = None if confidence is None else float(confidence)
        self.weight = None if weight is None else float(weight)
        self.source_model = source_model
        self.tag = tag
        self.insight_type = InsightType(insight_type)
        self.id = uuid.uuid4().hex
        self.generated_time_utc: datetime | None = None
        self.close_time_utc: datetime | None = None
        # emission order breaks ties between insights generated at the same time
        self._seq = next(_sequence)

    @classmethod
    def price(
        cls,
        symbol: Any,
        period: Any,
        direction: InsightDirection | int,
        magnitude: float | None = None,
        confidence: float | None = None,
        source_model: str | None = None,
        weight: float | None = None,
        *,
        tag: str = "",
    ) -> Insight:
        """A price insight (LEAN's ``Insight.Price``).

        Examples
        --------
        >>> from datetime import timedelta
        >>> Insight.price("SPY", timedelta(days=1), 1).insight_type.name
        'PRICE'
        """
        return cls(symbol, period, direction, magnitude, confidence, source_model, weight, tag=tag)

    # LEAN's spelling
    Price = price

    @property
    def span(self) -> timedelta:
        """The period as a timedelta."""
        return period_span(self.period)

    def set_times(self, generated_time_utc: Any) -> Insight:
        """Stamp the insight as emitted at ``generated_time_utc``; returns the insight.

        Examples
        --------
        >>> from datetime import datetime, timedelta
        >>> ins = Insight("A", timedelta(days=2), 1).set_times(datetime(2024, 3, 1))
        >>> ins.close_time_utc
        datetime.datetime(2024, 3, 3, 0, 0)
        """
        generated = _as_datetime(generated_time_utc, "generated_time_utc")
        self.generated_time_utc = generated
        self.close_time_utc = generated + self.span
        return self

    def _require_times(self) -> datetime:
        if self.close_time_utc is None:
            raise ConfigError(
                "the insight was never emitted: call set_times(generated_time_utc) first",
                symbol=str(self.symbol),
                parameter="close_time_utc",
            )
        return self.close_time_utc

    def is_expired(self, utc_time: Any) -> bool:
        """True once ``close_time_utc < utc_time``.

        Examples
        --------
        >>> from datetime import datetime, timedelta
        >>> ins = Insight("A", timedelta(days=1), 1).set_times(datetime(2024, 1, 1))
        >>> ins.is_expired(datetime(2024, 1, 2)), ins.is_expired(datetime(2024, 1, 3))
        (False, True)
        """
        return self._require_times() < _as_datetime(utc_time, "utc_time")

    def is_active(self, utc_time: Any) -> bool:
        """True while the insight has not expired (``close_time_utc >= utc_time``).

        Examples
        --------
        >>> from datetime import datetime, timedelta
        >>> Insight("A", timedelta(days=1), 1).set_times(datetime(2024, 1, 1)).is_active(
        ...     datetime(2024, 1, 1, 12))
        True
        """
        return not self.is_expired(utc_time)

    def expire(self, utc_time: Any) -> None:
        """End the insight now: its close time moves to just before ``utc_time``.

        An insight already closed before ``utc_time`` keeps its close time.

        Examples
        --------
        >>> from datetime import datetime, timedelta
        >>> ins = Insight("A", timedelta(days=9), 1).set_times(datetime(2024, 1, 1))
        >>> ins.expire(datetime(2024, 1, 3))
        >>> ins.is_active(datetime(2024, 1, 3))
        False
        """
        now = _as_datetime(utc_time, "utc_time")
        if self._require_times() >= now:
            self.close_time_utc = now - _ONE_TICK
            self.period = self.close_time_utc - (self.generated_time_utc or now)

    # LEAN's spellings of the read side, for ported models
    IsActive = is_active
    IsExpired = is_expired
    Expire = expire

    @property
    def Symbol(self) -> Any:
        return self.symbol

    @property
    def Direction(self) -> InsightDirection:
        return self.direction

    @property
    def Magnitude(self) -> float | None:
        return self.magnitude

    @property
    def Confidence(self) -> float | None:
        return self.confidence

    @property
    def Weight(self) -> float | None:
        return self.weight

    @property
    def SourceModel(self) -> str | None:
        return self.source_model

    @property
    def GeneratedTimeUtc(self) -> datetime | None:
        return self.generated_time_utc

    @property
    def CloseTimeUtc(self) -> datetime | None:
        return self.close_time_utc

    @property
    def Period(self) -> Any:
        return self.period

    def __repr__(self) -> str:
        parts = [f"{self.symbol} {self.direction.name} period={self.period}"]
        for name in ("magnitude", "confidence", "weight"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value:g}")
        if self.source_model:
            parts.append(f"source={self.source_model}")
        if self.close_time_utc is not None:
            parts.append(f"close={self.close_time_utc}")
        return f"Insight({' '.join(parts)})"


def _sort_key(insight: Insight) -> tuple:
    return (insight.generated_time_utc or datetime.min, insight._seq)


class InsightCollection:
    """The insights emitted so far, by symbol (LEAN's ``InsightCollection`` / insight manager).

    Symbols keep the order in which their first insight arrived, and each symbol's insights the
    order in which they were added, so every query is deterministic.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2024, 1, 1)
    >>> coll = InsightCollection()
    >>> coll.add_range([Insight("A", timedelta(days=1), 1).set_times(t0),
    ...                 Insight("B", timedelta(days=3), -1).set_times(t0)])
    >>> len(coll), coll.get_next_expiry_time()
    (2, datetime.datetime(2024, 1, 2, 0, 0))
    >>> [i.symbol for i in coll.remove_expired_insights(datetime(2024, 1, 2, 1))]
    ['A']
    >>> coll.keys()
    ['B']
    """

    def __init__(self, insights: Iterable[Insight] = ()) -> None:
        self._by_symbol: dict[Any, list[Insight]] = {}
        self._ids: set[str] = set()
        self.add_range(insights)

    # ----------------------------------------------------------------- adding
    def add(self, insight: Insight) -> None:
        """Add one emitted insight (it must carry its times).

        Raises
        ------
        ConfigError
            If the insight was never stamped with :meth:`Insight.set_times`.
        """
        insight._require_times()
        if insight.id in self._ids:
            return
        self._by_symbol.setdefault(insight.symbol, []).append(insight)
        self._ids.add(insight.id)

    def add_range(self, insights: Iterable[Insight]) -> None:
        """Add several insights.

        Examples
        --------
        >>> from datetime import datetime, timedelta
        >>> c = InsightCollection()
        >>> c.add_range(Insight(s, timedelta(1), 1).set_times(datetime(2024, 1, 1)) for s in "AB")
        >>> c.keys()
        ['A', 'B']
        """
        for insight in insights:
            self.add(insight)

    # ----------------------------------------------------------------- membership
    def contains(self, insight: Insight) -> bool:
        """True if this very insight (by id) is in the collection."""
        return insight.id in self._ids

    def __contains__(self, insight: object) -> bool:
        return isinstance(insight, Insight) and self.contains(insight)

    def contains_key(self, symbol: Any) -> bool:
        """True if the collection holds any insight (active or not) for ``symbol``.

        Examples
        --------
        >>> InsightCollection().contains_key("SPY")
        False
        """
        return bool(self._by_symbol.get(symbol))

    def keys(self) -> list[Any]:
        """Symbols with at least one insight, in order of first arrival."""
        return [s for s, insights in self._by_symbol.items() if insights]

    def __getitem__(self, symbol: Any) -> list[Insight]:
        """All insights for ``symbol`` (a copy), in the order they were added."""
        return list(self._by_symbol.get(symbol, ()))

    def try_get_value(self, symbol: Any) -> list[Insight] | None:
        """The insights for ``symbol``, or None when there are none."""
        insights = self._by_symbol.get(symbol)
        return list(insights) if insights else None

    def __iter__(self) -> Iterator[Insight]:
        for insights in list(self._by_symbol.values()):
            yield from list(insights)

    def __len__(self) -> int:
        return len(self._ids)

    def get_insights(self, predicate: Any = None) -> list[Insight]:
        """Every insight, optionally only those for which ``predicate(insight)`` is true."""
        return [i for i in self if predicate is None or predicate(i)]

    # ----------------------------------------------------------------- time queries
    def get_active_insights(self, utc_time: Any) -> list[Insight]:
        """Insights active at ``utc_time`` (``close_time_utc >= utc_time``).

        Examples
        --------
        >>> from datetime import datetime, timedelta
        >>> c = InsightCollection([Insight("A", timedelta(days=1), 1).set_times(
        ...     datetime(2024, 1, 1))])
        >>> len(c.get_active_insights(datetime(2024, 1, 1, 12)))
        1
        """
        now = _as_datetime(utc_time, "utc_time")
        return [i for i in self if i.close_time_utc >= now]

    def has_active_insights(self, symbol: Any, utc_time: Any) -> bool:
        """True if ``symbol`` has an insight active at ``utc_time``.

        Examples
        --------
        >>> from datetime import datetime
        >>> InsightCollection().has_active_insights("A", datetime(2024, 1, 1))
        False
        """
        now = _as_datetime(utc_time, "utc_time")
        return any(i.close_time_utc >= now for i in self._by_symbol.get(symbol, ()))

    def get_next_expiry_time(self) -> datetime | None:
        """The earliest close time of any insight held, or None when empty.

        Examples
        --------
        >>> InsightCollection().get_next_expiry_time() is None
        True
        """
        times = [i.close_time_utc for i in self]
        return min(times) if times else None

    # ----------------------------------------------------------------- removal
    def remove(self, insights: Iterable[Insight] | Insight) -> bool:
        """Remove the given insights; True if any was present."""
        items = [insights] if isinstance(insights, Insight) else list(insights)
        removed = False
        for insight in items:
            bucket = self._by_symbol.get(insight.symbol)
            if bucket is None or insight.id not in self._ids:
                continue
            bucket[:] = [i for i in bucket if i.id != insight.id]
            self._ids.discard(insight.id)
            if not bucket:
                del self._by_symbol[insight.symbol]
            removed = True
        return removed

    def remove_expired_insights(self, utc_time: Any) -> list[Insight]:
        """Remove and return the insights expired at ``utc_time``, in collection order.

        Examples
        --------
        >>> from datetime import datetime, timedelta
        >>> c = InsightCollection([Insight("A", timedelta(days=1), 1).set_times(
        ...     datetime(2024, 1, 1))])
        >>> len(c.remove_expired_insights(datetime(2024, 1, 5))), len(c)
        (1, 0)
        """
        now = _as_datetime(utc_time, "utc_time")
        expired = [i for i in self if i.close_time_utc < now]
        self.remove(expired)
        return expired

    def expire(self, target: Any, utc_time: Any) -> list[Insight]:
        """End insights now: one insight, every insight of a symbol, or of several symbols.

        ``target`` is an :class:`Insight`, a symbol, or an iterable of either. The insights stay
        in the collection (the next :meth:`remove_expired_insights` returns them, so the
        portfolio construction model emits their zero targets). Returns those expired.

        Examples
        --------
        >>> from datetime import datetime, timedelta
        >>> t0 = datetime(2024, 1, 1)
        >>> c = InsightCollection([Insight("A", timedelta(days=5), 1).set_times(t0)])
        >>> len(c.expire("A", datetime(2024, 1, 2)))
        1
        >>> c.has_active_insights("A", datetime(2024, 1, 2))
        False
        """
        now = _as_datetime(utc_time, "utc_time")
        targets = (
            [target] if isinstance(target, Insight) or not _is_iterable(target) else list(target)
        )
        done: list[Insight] = []
        for item in targets:
            insights = [item] if isinstance(item, Insight) else self._by_symbol.get(item, [])
            for insight in insights:
                if insight.close_time_utc >= now:
                    insight.expire(now)
                    done.append(insight)
        return done

    def clear(self, symbols: Iterable[Any] | None = None) -> None:
        """Drop every insight of the given symbols (all symbols when None).

        Examples
        --------
        >>> c = InsightCollection()
        >>> c.clear(["A"]); len(c)
        0
        """
        if symbols is None:
            self._by_symbol.clear()
            self._ids.clear()
            return
        for symbol in [symbols] if isinstance(symbols, str) else list(symbols):
            for insight in self._by_symbol.pop(symbol, []):
                self._ids.discard(insight.id)

    def __repr__(self) -> str:
        return f"InsightCollection({len(self)} insights, {len(self.keys())} symbols)"

    # LEAN's spellings
    Add = add
    AddRange = add_range
    Contains = contains
    ContainsKey = contains_key
    GetActiveInsights = get_active_insights
    HasActiveInsights = has_active_insights
    GetNextExpiryTime = get_next_expiry_time
    RemoveExpiredInsights = remove_expired_insights
    Expire = expire
    Clear = clear
    Remove = remove
    GetInsights = get_insights
    TryGetValue = try_get_value


def _is_iterable(value: Any) -> bool:
    if isinstance(value, str | bytes):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def latest_per_symbol(insights: Iterable[Insight]) -> list[Insight]:
    """The most recently generated insight of each symbol, symbols in first-seen order.

    Ties in ``generated_time_utc`` go to the insight emitted last (LEAN orders by generated time
    with a stable sort and takes the last).

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> a1 = Insight("A", timedelta(days=3), 1).set_times(datetime(2024, 1, 1))
    >>> a2 = Insight("A", timedelta(days=3), -1).set_times(datetime(2024, 1, 2))
    >>> [i.direction.name for i in latest_per_symbol([a2, a1])]
    ['DOWN']
    """
    best: dict[Any, Insight] = {}
    for insight in insights:
        current = best.get(insight.symbol)
        if current is None or _sort_key(insight) >= _sort_key(current):
            best[insight.symbol] = insight
    return list(best.values())
