"""Bars as LEAN hands them over: ``TradeBar``, ``Slice`` and the history frame.

Times follow LEAN's daily bars: a bar of session ``d`` spans 09:30 to 16:00 and is stamped with
its end, ``d 16:00`` (``time`` in the history frame, ``end_time`` of the TradeBar); the
algorithm's clock is at 16:00 when it receives it. Minute bars keep riskbook's stamp (the end of
the minute). On close-only data (the bundled sets) a TradeBar's open, high and low equal its
close and its volume is 0.

Examples
--------
>>> import numpy as np
>>> from riskbook import MarketData
>>> md = MarketData.from_arrays(["2024-01-02", "2024-01-03"], ["A", "B"],
...                             close=[[10.0, np.nan], [11.0, 20.0]])
>>> clock = Clock(md)
>>> clock.bar_time(0)
datetime.datetime(2024, 1, 2, 16, 0)
>>> frame = history_frame(md, clock.visible(clock.bar_time(1)), ["A", "B"], 5)
>>> wide = frame.close.unstack(level=0)
>>> list(wide.columns), [str(t) for t in wide.index]
(['A', 'B'], ['2024-01-02 16:00:00', '2024-01-03 16:00:00'])
>>> wide.to_numpy().tolist()
[[10.0, nan], [11.0, 20.0]]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from riskbook.construct.portfolio_construction import Resolution
from riskbook.data.market_data import MarketData
from riskbook.errors import ConfigError, DataError
from riskbook.lean._names import LeanNames
from riskbook.lean.symbols import Symbol

__all__ = ["Clock", "Slice", "TradeBar", "history_frame"]

SESSION_OPEN = timedelta(hours=9, minutes=30)
SESSION_CLOSE = timedelta(hours=16)
_FIELDS = ("open", "high", "low", "close", "volume")


class Clock:
    """When each bar of ``data`` is known: its LEAN end time.

    Daily bars end at 16:00 of their session; minute bars at their own stamp.
    """

    def __init__(self, data: MarketData) -> None:
        self.data = data
        self.daily = data.frequency == "daily"
        days = data.dates.astype("datetime64[D]").astype("datetime64[ns]")
        self.ends = days + np.timedelta64(16, "h") if self.daily else data.dates

    def bar_time(self, bar: int) -> datetime:
        """The time at which bar ``bar`` is complete (the algorithm's time when it is handed over)."""
        return pd.Timestamp(self.ends[bar]).to_pydatetime()

    def visible(self, time: datetime) -> int:
        """Number of bars complete at ``time`` (bars ``0 .. visible - 1``)."""
        return int(np.searchsorted(self.ends, np.datetime64(pd.Timestamp(time)), side="right"))


@dataclass(frozen=True)
class TradeBar(LeanNames):
    """One bar of one symbol (LEAN's ``TradeBar``); ``value`` and ``price`` are the close."""

    symbol: Any
    time: datetime
    end_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def value(self) -> float:
        return self.close

    @property
    def price(self) -> float:
        return self.close

    @property
    def period(self) -> timedelta:
        return self.end_time - self.time


class Slice(LeanNames, Mapping):
    """The bars that completed at the algorithm's time, keyed by symbol (LEAN's ``Slice``).

    Built lazily: an ``on_data`` that only checks the time costs nothing here.
    """

    def __init__(self, data: MarketData, bar: int, time: datetime, clock: Clock) -> None:
        self._data = data
        self._bar = bar
        self.time = time
        self._clock = clock
        self._bars: dict[Any, TradeBar] | None = None

    def _build(self) -> dict[Any, TradeBar]:
        if self._bars is None:
            data, b = self._data, self._bar
            end = self.time
            start = (
                end - (SESSION_CLOSE - SESSION_OPEN)
                if self._clock.daily
                else end - timedelta(minutes=1)
            )
            close = data.close[b]
            values = {f: getattr(data, f)[b] if f in data.fields else None for f in _FIELDS}
            bars = {}
            for j in np.flatnonzero(np.isfinite(close)):
                c = float(close[j])
                # close-only data: the open, high and low are the close, the volume 0
                ohl = [c if values[f] is None else float(values[f][j]) for f in _FIELDS[:3]]
                v = 0.0 if values["volume"] is None else float(values["volume"][j])
                symbol = Symbol(data.symbols[j])
                bars[symbol] = TradeBar(symbol, start, end, *ohl, c, v)
            self._bars = bars
        return self._bars

    def __getitem__(self, symbol: Any) -> TradeBar:
        try:
            return self._build()[symbol]
        except KeyError:
            raise KeyError(f"{symbol} has no bar at {self.time}") from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())

    def contains_key(self, symbol: Any) -> bool:
        return symbol in self._build()

    @property
    def bars(self) -> dict[Any, TradeBar]:
        return dict(self._build())

    @property
    def quote_bars(self) -> dict[Any, Any]:
        return {}

    @property
    def has_data(self) -> bool:
        return len(self._build()) > 0

    @property
    def count(self) -> int:
        return len(self)

    def __repr__(self) -> str:
        return f"Slice({self.time}, {len(self)} bars)"


def _source(data: MarketData, visible: int, resolution: Any) -> tuple[MarketData, np.ndarray]:
    """The visible bars at the requested resolution and their LEAN end times."""
    if resolution is None:
        resolution = Resolution.DAILY if data.frequency == "daily" else Resolution.MINUTE
    try:
        resolution = Resolution(resolution)
    except ValueError as exc:
        raise ConfigError(f"unknown resolution {resolution!r}", parameter="resolution") from exc
    if visible == 0:
        return data._derive(rows=slice(0, 0)), data.dates[:0]
    if data.frequency == "daily" and resolution == Resolution.DAILY:
        part = data._derive(rows=slice(0, visible))
        return part, Clock(part).ends
    if data.frequency == "minute" and resolution == Resolution.MINUTE:
        part = data._derive(rows=slice(0, visible))
        return part, part.dates
    if data.frequency == "minute" and resolution == Resolution.DAILY:
        daily = data.until(data.dates[visible - 1]).daily()
        return daily, Clock(daily).ends
    raise ConfigError(
        f"{resolution.name} history is not available from {data.frequency} data",
        parameter="resolution",
    )


def history_frame(
    data: MarketData,
    visible: int,
    symbols: list[Any],
    periods: Any,
    resolution: Any = None,
    end: Any = None,
) -> pd.DataFrame:
    """LEAN's history DataFrame from the first ``visible`` bars of ``data``.

    Parameters
    ----------
    symbols
        Symbols of ``data``.
    periods
        A number of bars (the last ``periods`` of the calendar, each symbol keeping the bars it
        has), a ``timedelta`` (the bars ending within it before ``end``), or a start
        ``datetime`` (the bars ending from it through ``end``).
    resolution
        ``Resolution.DAILY`` or ``Resolution.MINUTE`` (minute data only); None: the data's.
    end
        The algorithm's time for a timedelta; the end of a start/end request.

    Returns
    -------
    pandas.DataFrame
        Index ``(symbol, time)``, one column per field the data has (close-only data: ``close``);
        empty (no columns) when there is no bar.
    """
    index = {s: i for i, s in enumerate(data.symbols)}
    for s in symbols:
        if s not in index:
            raise DataError(
                "history of a symbol that was not added; call add_equity first",
                symbol=str(s),
                parameter="symbols",
            )
    source, ends = _source(data, visible, resolution)
    n = len(ends)
    if isinstance(periods, timedelta | pd.Timedelta):
        stop = np.datetime64(pd.Timestamp(end))
        rows = slice(
            int(np.searchsorted(ends, stop - pd.Timedelta(periods).to_timedelta64(), "right")), n
        )
    elif isinstance(periods, datetime | pd.Timestamp):
        lo = int(np.searchsorted(ends, np.datetime64(pd.Timestamp(periods)), "left"))
        hi = (
            n
            if end is None
            else int(np.searchsorted(ends, np.datetime64(pd.Timestamp(end)), "right"))
        )
        rows = slice(lo, max(lo, hi))
    else:
        if isinstance(periods, bool) or not isinstance(periods, int | np.integer) or periods < 0:
            raise ConfigError(
                f"periods must be a bar count >= 0, a timedelta or a start datetime, not {periods!r}",
                parameter="periods",
            )
        rows = slice(max(0, n - int(periods)), n)
    times = pd.DatetimeIndex(ends[rows])
    fields = [f for f in _FIELDS if f in source.fields]
    cols = np.array([source.symbols.index(str(s)) for s in symbols], dtype=int)
    if len(times) == 0 or len(cols) == 0:
        return pd.DataFrame()
    close = source.close[rows][:, cols]
    keep = np.isfinite(close).T.ravel()  # symbol-major, like the index
    if not keep.any():
        return pd.DataFrame()
    names = np.repeat(np.array([str(s) for s in symbols], dtype=object), len(times))
    stamps = np.tile(times.to_numpy(), len(cols))
    frame = pd.DataFrame(
        {f: getattr(source, f)[rows][:, cols].T.ravel()[keep] for f in fields},
        index=pd.MultiIndex.from_arrays(
            [names[keep], pd.DatetimeIndex(stamps[keep])], names=["symbol", "time"]
        ),
    )
    return frame
