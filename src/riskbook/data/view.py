"""The point-in-time view: everything a strategy may know at its decision time, and no more.

The contract: a view at decision time ``t`` shows exactly the bars stamped at or before ``t``.
Bars are stamped when they complete (a daily bar at its session date, meaning its close; a minute
bar at the end of its minute), so a decision at the close of day ``d`` sees bar ``d`` and a
decision at 12:00 sees the minutes through 12:00. Any request for a later bar raises
:class:`riskbook.errors.LookAheadError`; it is never silently cut off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskbook.data.market_data import close_returns, to_datetime64
from riskbook.errors import DataError, LookAheadError

if TYPE_CHECKING:
    from riskbook.data.market_data import MarketData


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.setflags(write=False)
    return view


class PointInTimeView:
    """Read-only window on a :class:`~riskbook.MarketData` as of one decision time.

    Parameters
    ----------
    data
        The full data set (the view never exposes bars after ``time``).
    time
        The decision time.

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> view = load_sp500().until("2020-03-16")
    >>> str(view.dates[-1])[:10]
    '2020-03-16'
    >>> view.at("2020-03-17")
    Traceback (most recent call last):
    ...
    riskbook.errors.LookAheadError: bar 2020-03-17 is after the decision time 2020-03-16 [date=2020-03-17]
    """

    __slots__ = ("_data", "_stop", "time")

    def __init__(self, data: MarketData, time: Any) -> None:
        self._data = data
        self.time = to_datetime64(time, parameter="time")
        self._stop = int(np.searchsorted(data.dates, self.time, side="right"))

    @classmethod
    def at_bar(cls, data: MarketData, bar: int) -> PointInTimeView:
        """The view at the end of bar ``bar`` (the engine knows the index: no search)."""
        view = cls.__new__(cls)
        view._data, view.time, view._stop = data, data.dates[bar], bar + 1
        return view

    # ----------------------------------------------------------------- facts
    @property
    def symbols(self) -> tuple[str, ...]:
        return self._data.symbols

    @property
    def frequency(self) -> str:
        return self._data.frequency

    @property
    def dates(self) -> np.ndarray:
        """Stamps of the visible bars."""
        return _read_only(self._data.dates[: self._stop])

    @property
    def close(self) -> np.ndarray:
        """Visible closes, shape (visible bars, symbols), read-only."""
        return _read_only(self._data.close[: self._stop])

    def field(self, name: str) -> np.ndarray:
        """Visible values of one field (``open``, ``high``, ``low``, ``close``, ``volume``)."""
        values = getattr(self._data, name, None) if name in self._data.fields else None
        if values is None:
            raise DataError(f"the data has no {name} field", parameter=name)
        return _read_only(values[: self._stop])

    def __len__(self) -> int:
        return self._stop

    def __repr__(self) -> str:
        return f"PointInTimeView(time={self._fmt(self.time)}, bars={self._stop}, symbols={len(self.symbols)})"

    def _fmt(self, value: np.datetime64) -> str:
        ts = pd.Timestamp(value)
        return (
            str(ts.date()) if self._data.frequency == "daily" and ts == ts.normalize() else str(ts)
        )

    # ----------------------------------------------------------------- access
    def _columns(self, symbols: Any) -> tuple[list[str], np.ndarray | slice]:
        if symbols is None:
            return list(self.symbols), slice(None)
        symbols = [symbols] if isinstance(symbols, str) else list(symbols)
        index = {s: i for i, s in enumerate(self.symbols)}
        for s in symbols:
            if s not in index:
                raise DataError("unknown symbol", symbol=s, parameter="symbols")
        return symbols, np.array([index[s] for s in symbols], dtype=int)

    def _rows(self, length: int | None) -> slice:
        if length is None:
            return slice(0, self._stop)
        if length < 0:
            raise DataError("length must be >= 0", parameter="length")
        return slice(max(0, self._stop - length), self._stop)

    def history(
        self, length: int | None = None, symbols: Any = None, field: str | None = "close"
    ) -> pd.DataFrame:
        """The last ``length`` visible bars (all if None) as a frame indexed by date.

        ``field=None`` returns every field under ``(field, symbol)`` columns.
        """
        names, cols = self._columns(symbols)
        rows = self._rows(length)
        index = pd.DatetimeIndex(self._data.dates[rows], name="date")
        if field is not None:
            values = self.field(field)[rows][:, cols]
            return pd.DataFrame(values, index=index, columns=pd.Index(names, name="symbol"))
        fields = self._data.fields
        blocks = [getattr(self._data, f)[rows][:, cols] for f in fields]
        columns = pd.MultiIndex.from_product([fields, names], names=["field", "symbol"])
        return pd.DataFrame(np.hstack(blocks), index=index, columns=columns)

    def returns(
        self,
        kind: Literal["simple", "log"] = "simple",
        length: int | None = None,
        symbols: Any = None,
    ) -> pd.DataFrame:
        """The last ``length`` close-to-close returns (needs ``length + 1`` visible closes)."""
        names, cols = self._columns(symbols)
        rows = self._rows(None if length is None else length + 1)
        close = self._data.close[rows][:, cols]
        return pd.DataFrame(
            close_returns(close, kind),
            index=pd.DatetimeIndex(self._data.dates[rows][1:], name="date"),
            columns=pd.Index(names, name="symbol"),
        )

    def at(self, date: Any) -> pd.DataFrame:
        """One bar: a frame indexed by symbol with one column per field.

        Raises
        ------
        LookAheadError
            If ``date`` is after the decision time.
        DataError
            If there is no bar stamped ``date``.
        """
        stamp = to_datetime64(date)
        if stamp > self.time:
            raise LookAheadError(
                f"bar {self._fmt(stamp)} is after the decision time {self._fmt(self.time)}",
                date=self._fmt(stamp),
            )
        i = int(np.searchsorted(self._data.dates, stamp))
        if i >= self._stop or self._data.dates[i] != stamp:
            raise DataError("no bar at this date", date=self._fmt(stamp))
        fields = self._data.fields
        return pd.DataFrame(
            {f: getattr(self._data, f)[i] for f in fields},
            index=pd.Index(self.symbols, name="symbol"),
        )

    def daily(self) -> MarketData:
        """The visible data as completed daily bars (the identity's slice on daily data).

        On minute data a session counts once all its bars are visible, so a decision at 12:00
        sees yesterday's daily bar, and a decision at the session's last bar sees today's.
        """
        data = self._data
        if data.frequency == "daily":
            return data._derive(rows=slice(0, self._stop))
        daily = data.resample("1D")
        if self._stop == 0:
            return daily._derive(rows=slice(0, 0))
        last_day = data.dates[self._stop - 1].astype("datetime64[D]")
        session_done = self._stop == len(data.dates) or (
            data.dates[self._stop].astype("datetime64[D]") != last_day
        )
        complete_through = last_day if session_done else last_day - np.timedelta64(1, "D")
        n = int(np.searchsorted(daily.dates, complete_through.astype("datetime64[ns]"), "right"))
        return daily._derive(rows=slice(0, n))
