"""Decision schedules: which bars a strategy is asked for targets at.

A decision happens at the end of a bar: the close of a daily bar, or the end of a minute bar. On
minute data each session offers one candidate bar, at a clock time of day (``at="15:30"``) or,
by default, the session's last bar (its close); the schedule then picks among sessions exactly as
it picks among days on daily data, so one schedule means the same dates on both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskbook.data.market_data import to_datetime64
from riskbook.data.resample import session_bounds
from riskbook.errors import ConfigError, DataError

if TYPE_CHECKING:
    from riskbook.data.market_data import MarketData

_PERIOD_END = {
    "daily": None,
    "weekly": "W",
    "week_end": "W",
    "monthly": "M",
    "month_end": "M",
    "quarterly": "Q",
    "quarter_end": "Q",
    "yearly": "Y",
    "year_end": "Y",
}
_PERIOD_START = {"week_start": "W", "month_start": "M", "quarter_start": "Q", "year_start": "Y"}
NAMES = tuple(_PERIOD_END) + tuple(_PERIOD_START)


def candidate_bars(data: MarketData, at: str | None = None) -> np.ndarray:
    """One bar per session at which a decision may happen (every bar on daily data)."""
    if data.frequency == "daily":
        if at is not None:
            raise ConfigError("a clock time 'at' applies to minute data only", parameter="at")
        return np.arange(len(data.dates))
    _, starts = session_bounds(data.dates)
    ends = np.r_[starts[1:], len(data.dates)] - 1
    if at is None:
        return ends
    try:
        clock = pd.Timedelta(f"{at}:00" if at.count(":") == 1 else at)
    except ValueError as exc:
        raise ConfigError(f"cannot read clock time {at!r}; use 'HH:MM'", parameter="at") from exc
    wanted = data.dates[starts].astype("datetime64[D]") + clock.to_timedelta64()
    # The last bar stamped at or before the clock time in each session (early closes included).
    bars = np.searchsorted(data.dates, wanted, side="right") - 1
    if (bars < starts).any():
        day = data.dates[starts[int(np.argmax(bars < starts))]]
        raise ConfigError(
            f"no bar at or before {at} in the session", parameter="at", date=str(day)[:10]
        )
    return np.minimum(bars, ends)


def _period_keys(dates: np.ndarray, freq: str) -> np.ndarray:
    days = dates.astype("datetime64[D]")
    if freq == "W":  # ISO weeks: Monday-based; 1970-01-01 was a Thursday
        return (days.astype(np.int64) + 3) // 7
    months = days.astype("datetime64[M]").astype(np.int64)
    return {"M": months, "Q": months // 3, "Y": months // 12}[freq]


def decision_bars(
    data: MarketData,
    schedule: Any = "monthly",
    *,
    start: Any = None,
    end: Any = None,
    at: str | None = None,
) -> np.ndarray:
    """Bar indices of the decisions, sorted and unique.

    Parameters
    ----------
    schedule
        ``"daily"``, ``"weekly"``, ``"monthly"``, ``"quarterly"``, ``"yearly"`` (the last
        trading session of each period, like ``"month_end"``), ``"week_start"``,
        ``"month_start"``, ``"quarter_start"``, ``"year_start"`` (the first), an int n (every n
        trading sessions from the first), a list of dates (each must be in the data), or a
        callable ``f(last_decision_time) -> next_time or None`` (called with None first; the
        decision happens at the first candidate bar at or after the time it returns).
    start, end
        Only decisions within these bounds (inclusive; a day covers its whole session).
    at
        Minute data: the clock time of the decision in each session (default: the session's
        last bar).

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> sp = load_sp500().slice("2022-01-01", "2022-06-30")
    >>> [str(sp.dates[i])[:10] for i in decision_bars(sp, "quarterly")]
    ['2022-03-31', '2022-06-30']
    """
    candidates = candidate_bars(data, at)
    stamps = data.dates[candidates]
    lo = 0 if start is None else int(np.searchsorted(stamps, to_datetime64(start), "left"))
    if end is None:
        hi = len(stamps)
    else:
        stop = to_datetime64(end)
        if isinstance(end, str) and len(end.strip()) <= 10:
            stop = stop + np.timedelta64(1, "D") - np.timedelta64(1, "ns")
        hi = int(np.searchsorted(stamps, stop, "right"))
    candidates, stamps = candidates[lo:hi], stamps[lo:hi]
    if len(candidates) == 0:
        raise ConfigError("no decision time between start and end", parameter="start/end")
    chosen = _choose(schedule, stamps, data)
    return candidates[np.unique(chosen)]


def _choose(schedule: Any, stamps: np.ndarray, data: MarketData) -> np.ndarray:
    n = len(stamps)
    if isinstance(schedule, str):
        if schedule in _PERIOD_END:
            freq = _PERIOD_END[schedule]
            if freq is None:
                return np.arange(n)
            keys = _period_keys(stamps, freq)
            return np.flatnonzero(np.r_[keys[1:] != keys[:-1], True])
        if schedule in _PERIOD_START:
            keys = _period_keys(stamps, _PERIOD_START[schedule])
            return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        raise ConfigError(
            f"unknown schedule {schedule!r}; use one of {', '.join(NAMES)}, an int, dates or a callable",
            parameter="schedule",
        )
    if isinstance(schedule, bool):
        raise ConfigError("schedule cannot be a bool", parameter="schedule")
    if isinstance(schedule, int | np.integer):
        if schedule < 1:
            raise ConfigError("every-n schedule needs n >= 1", parameter="schedule")
        return np.arange(0, n, int(schedule))
    if callable(schedule):
        return _from_callable(schedule, stamps)
    if isinstance(schedule, Sequence | np.ndarray | pd.Index):
        return _from_dates(schedule, stamps, data)
    raise ConfigError(f"cannot use {schedule!r} as a schedule", parameter="schedule")


def _from_dates(dates: Any, stamps: np.ndarray, data: MarketData) -> np.ndarray:
    days = stamps.astype("datetime64[D]")
    out = []
    for d in dates:
        t = to_datetime64(d, parameter="schedule")
        exact = t != t.astype("datetime64[D]")
        pool = stamps if exact and data.frequency == "minute" else days
        key = t if exact and data.frequency == "minute" else t.astype("datetime64[D]")
        i = int(np.searchsorted(pool, key))
        if i >= len(pool) or pool[i] != key:
            raise DataError(
                "schedule date is not a decision time in the data",
                date=str(d),
                parameter="schedule",
            )
        out.append(i)
    return np.array(out, dtype=int)


def _from_callable(rule: Callable[[Any], Any], stamps: np.ndarray) -> np.ndarray:
    out = []
    last = None
    i = 0
    while True:
        nxt = rule(None if last is None else pd.Timestamp(last))
        if nxt is None:
            break
        t = to_datetime64(nxt, parameter="schedule")
        if last is not None and t <= last:
            raise ConfigError(
                f"schedule callable must move forward: {pd.Timestamp(t)} is not after {pd.Timestamp(last)}",
                parameter="schedule",
            )
        i = int(np.searchsorted(stamps, t, "left"))
        if i >= len(stamps):
            break
        out.append(i)
        last = stamps[i]
    return np.array(out, dtype=int)


def every(span: Any) -> Callable[[Any], Any]:
    """A callable schedule: the first session, then ``span`` (a timedelta or pandas offset string,
    e.g. ``"100D"``) after each decision, as LEAN's ``time - last >= span`` check does.

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> sp = load_sp500().slice("2022-01-01", "2022-12-28")
    >>> [str(sp.dates[i])[:10] for i in decision_bars(sp, every("100D"))]
    ['2022-01-03', '2022-04-13', '2022-07-22', '2022-10-31']
    """
    delta = pd.Timedelta(span)

    def rule(last: Any) -> Any:
        return pd.Timestamp.min if last is None else last + delta

    return rule
