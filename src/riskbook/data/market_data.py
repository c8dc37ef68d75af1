"""`MarketData`: immutable, aligned price arrays with their dates and symbols.

Bars are stamped with the time they *completed*: a daily bar with its session date (midnight),
meaning that session's close; a minute bar with the end of its minute (09:31 ... 16:00 for a US
equity session). This stamp is what the point-in-time view compares decision times against.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskbook.data.validation import (
    ALL_FIELDS,
    DataReport,
    GapPolicy,
    apply_gap_policy,
    check_bar_consistency,
    check_dates,
    check_values,
    infer_frequency,
)
from riskbook.errors import DataError

if TYPE_CHECKING:
    from riskbook.data.view import PointInTimeView

Frequency = Literal["daily", "minute"]


def to_datetime64(value: Any, *, parameter: str = "date") -> np.datetime64:
    """Parse a date or timestamp given in any common form into ``datetime64[ns]``."""
    if isinstance(value, np.datetime64) and not np.isnat(value):
        return value.astype("datetime64[ns]")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"cannot read {value!r} as a date", parameter=parameter) from exc
    if ts is pd.NaT:
        raise DataError("a date is missing (NaT)", parameter=parameter)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return np.datetime64(ts.asm8, "ns")


def to_datetime_array(values: Any, *, parameter: str = "dates") -> np.ndarray:
    """Parse a sequence of dates or timestamps into a ``datetime64[ns]`` array (naive)."""
    arr = np.asarray(values).ravel()
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[ns]")
    try:
        parsed = pd.to_datetime(pd.Index(arr), format="mixed")
    except (ValueError, TypeError) as exc:
        bad = next((v for v in arr if _unparseable(v)), arr[0] if len(arr) else None)
        raise DataError(f"cannot read {bad!r} as a date", parameter=parameter, date=bad) from exc
    if parsed.tz is not None:
        parsed = parsed.tz_localize(None)
    if parsed.isna().any():
        pos = int(np.argmax(parsed.isna()))
        raise DataError(f"date missing in row {pos}", parameter=parameter)
    return parsed.to_numpy(dtype="datetime64[ns]")


def _unparseable(value: Any) -> bool:
    try:
        pd.Timestamp(value)
    except (ValueError, TypeError):
        return True
    return False


def is_whole_day(value: Any) -> bool:
    """True when a bound was given as a calendar day (so it covers that whole session)."""
    if isinstance(value, _dt.datetime | pd.Timestamp | np.datetime64):
        return False
    if isinstance(value, _dt.date):
        return True
    return isinstance(value, str) and len(value.strip()) <= 10


def _frozen(array: np.ndarray | None, dtype: Any = np.float64) -> np.ndarray | None:
    if array is None:
        return None
    out = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class MarketData:
    """Aligned bars of several symbols: numpy arrays of shape (dates, symbols).

    Construct with :meth:`from_arrays`, :meth:`from_frame`, :func:`riskbook.load_prices` or the
    bundled loaders in :mod:`riskbook.datasets`. Instances never change; every method returns a
    new object (sharing memory where it can).

    Attributes
    ----------
    dates : numpy.ndarray
        ``datetime64[ns]``, strictly increasing, one per bar.
    symbols : tuple of str
    close : numpy.ndarray
        Closing prices, shape (len(dates), len(symbols)); NaN before a symbol's first price and
        after its last, never inside.
    open, high, low, volume : numpy.ndarray or None
        The other fields when the source had them.
    frequency : {"daily", "minute"}
    report : DataReport
        What loading did (gap policy, filled cells, dropped rows).
    name : str or None
        Where the data came from, for messages and summaries.

    Examples
    --------
    >>> import numpy as np
    >>> from riskbook import MarketData
    >>> md = MarketData.from_arrays(
    ...     np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[D]"),
    ...     ["AAA"], close=[[10.0], [11.0]])
    >>> round(float(md.returns().iloc[0, 0]), 12)
    0.1
    """

    dates: np.ndarray
    symbols: tuple[str, ...]
    close: np.ndarray
    open: np.ndarray | None = None
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    volume: np.ndarray | None = None
    frequency: Frequency = "daily"
    report: DataReport = field(default_factory=DataReport)
    name: str | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_arrays(
        cls,
        dates: Any,
        symbols: Any,
        *,
        close: Any,
        open: Any = None,
        high: Any = None,
        low: Any = None,
        volume: Any = None,
        gaps: GapPolicy = "raise",
        name: str | None = None,
    ) -> MarketData:
        """Validate arrays and build a MarketData.

        Parameters
        ----------
        dates
            One stamp per row, strictly increasing.
        symbols
            One unique name per column.
        close, open, high, low, volume
            Arrays of shape (len(dates), len(symbols)); ``close`` is required.
        gaps
            What to do with a missing price inside a series: ``"raise"`` (default), ``"ffill"``
            (repeat the previous close as a flat, zero-volume bar) or ``"drop"`` (remove the row).
        name
            A label for messages and summaries.

        Raises
        ------
        DataError
            Naming the symbol and date of the first bad value.
        """
        dates = to_datetime_array(dates)
        symbols = tuple(str(s) for s in symbols)
        if len(set(symbols)) != len(symbols):
            dup = next(s for s in symbols if symbols.count(s) > 1)
            raise DataError("duplicate symbol", symbol=dup, parameter="symbols")
        if not symbols:
            raise DataError("no symbols: the data set is empty", parameter="symbols")
        if len(dates) == 0:
            raise DataError("no dates: the data set is empty", parameter="dates")
        given = {"open": open, "high": high, "low": low, "close": close, "volume": volume}
        fields: dict[str, np.ndarray] = {}
        for key in ALL_FIELDS:
            if given[key] is None:
                continue
            try:
                arr = np.asarray(given[key], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise DataError(f"{key} holds non-numeric values", parameter=key) from exc
            if arr.ndim == 1 and len(symbols) == 1:
                arr = arr[:, None]
            if arr.shape != (len(dates), len(symbols)):
                raise DataError(
                    f"{key} has shape {arr.shape}, expected {(len(dates), len(symbols))} "
                    "(dates, symbols)",
                    parameter=key,
                )
            fields[key] = arr
        check_dates(dates)
        frequency = infer_frequency(dates)
        for key, arr in fields.items():
            check_values(key, arr, dates, symbols)
        fields, dates, report = apply_gap_policy(fields, dates, symbols, gaps)
        check_bar_consistency(fields, dates, symbols)
        return cls._trusted(dates, symbols, fields, frequency, report, name)

    @classmethod
    def _trusted(
        cls,
        dates: np.ndarray,
        symbols: tuple[str, ...],
        fields: dict[str, np.ndarray],
        frequency: Frequency,
        report: DataReport,
        name: str | None,
    ) -> MarketData:
        """Build from arrays already validated (internal: slices, selections, resamples)."""
        return cls(
            dates=_frozen(dates, "datetime64[ns]"),
            symbols=tuple(symbols),
            close=_frozen(fields["close"]),
            open=_frozen(fields.get("open")),
            high=_frozen(fields.get("high")),
            low=_frozen(fields.get("low")),
            volume=_frozen(fields.get("volume")),
            frequency=frequency,
            report=report,
            name=name,
        )

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, *, gaps: GapPolicy = "raise", name: str | None = None
    ) -> MarketData:
        """Build from a wide frame of closes, (field, symbol) columns, or a long table.

        Accepted layouts:

        - wide: dates as the index (or a ``date`` column), one column of closes per symbol;
        - wide with two column levels ``(field, symbol)``, as :meth:`to_frame` writes them;
        - long: ``date`` and ``symbol`` columns plus either one column per field (``close``,
          ``open``, ...) or ``field`` and ``value`` columns.

        Examples
        --------
        >>> import pandas as pd
        >>> from riskbook import MarketData
        >>> long = pd.DataFrame({"date": ["2024-01-02", "2024-01-02", "2024-01-03",
        ...     "2024-01-03"], "symbol": ["A", "B", "A", "B"], "close": [1.0, 2.0, 1.1, 2.2]})
        >>> MarketData.from_frame(long).symbols
        ('A', 'B')
        """
        from riskbook.data.frames import frame_to_fields

        dates, symbols, fields = frame_to_fields(frame)
        return cls.from_arrays(dates, symbols, **fields, gaps=gaps, name=name)

    # ----------------------------------------------------------------- basic facts
    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the fields present, in the order open, high, low, close, volume."""
        return tuple(f for f in ALL_FIELDS if getattr(self, f) is not None)

    @property
    def shape(self) -> tuple[int, int]:
        """(number of dates, number of symbols)."""
        return self.close.shape

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.dates[0])

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.dates[-1])

    def field_arrays(self) -> dict[str, np.ndarray]:
        """The present fields as a dict of (read-only) arrays."""
        return {f: getattr(self, f) for f in self.fields}

    def __len__(self) -> int:
        return len(self.dates)

    def __repr__(self) -> str:
        span = f"{self.start.date()}..{self.end.date()}" if len(self) else "empty"
        label = f" {self.name!r}" if self.name else ""
        return (
            f"MarketData{label}({len(self.symbols)} symbols x {len(self.dates)} {self.frequency} "
            f"bars, {span}, fields={','.join(self.fields)})"
        )

    def first_valid_dates(self) -> pd.Series:
        """The first date each symbol has a price (a late listing starts after the data)."""
        present = ~np.isnan(self.close)
        idx = np.argmax(present, axis=0)
        out = np.where(present.any(axis=0), self.dates[idx], np.datetime64("NaT"))
        return pd.Series(out, index=pd.Index(self.symbols, name="symbol"), name="first_date")

    # ----------------------------------------------------------------- transforms
    def _derive(self, rows: Any = slice(None), cols: Any = slice(None)) -> MarketData:
        fields = {f: a[rows][:, cols] for f, a in self.field_arrays().items()}
        symbols = tuple(np.asarray(self.symbols, dtype=object)[cols])
        return MarketData._trusted(
            self.dates[rows], symbols, fields, self.frequency, self.report, self.name
        )

    def returns(self, kind: Literal["simple", "log"] = "simple") -> pd.DataFrame:
        """Close-to-close returns, one row per date after the first.

        A return is NaN where either price is missing (before a listing or after a delisting).

        Parameters
        ----------
        kind
            ``"simple"`` (p_t / p_{t-1} - 1) or ``"log"`` (log p_t - log p_{t-1}).
        """
        values = close_returns(self.close, kind)
        return pd.DataFrame(
            values,
            index=pd.DatetimeIndex(self.dates[1:], name="date"),
            columns=pd.Index(self.symbols, name="symbol"),
        )

    def slice(self, start: Any = None, end: Any = None) -> MarketData:
        """Bars with ``start <= date <= end``; a bound given as a day covers that whole day."""
        lo = 0 if start is None else int(np.searchsorted(self.dates, to_datetime64(start), "left"))
        if end is None:
            hi = len(self.dates)
        else:
            stop = to_datetime64(end)
            if is_whole_day(end):
                stop = stop + np.timedelta64(1, "D") - np.timedelta64(1, "ns")
            hi = int(np.searchsorted(self.dates, stop, "right"))
        if hi <= lo:
            raise DataError(
                f"no bars between {start} and {end}", parameter="start/end", data=self.name
            )
        return self._derive(rows=slice(lo, hi))

    def select(self, symbols: Any) -> MarketData:
        """The given symbols, in the given order; an unknown symbol is a DataError."""
        symbols = [symbols] if isinstance(symbols, str) else list(symbols)
        index = {s: i for i, s in enumerate(self.symbols)}
        missing = [s for s in symbols if s not in index]
        if missing:
            raise DataError("unknown symbol", symbol=missing[0], parameter="symbols")
        if len(set(symbols)) != len(symbols):
            dup = next(s for s in symbols if symbols.count(s) > 1)
            raise DataError("symbol selected twice", symbol=dup, parameter="symbols")
        if not symbols:
            raise DataError("select() needs at least one symbol", parameter="symbols")
        return self._derive(cols=np.array([index[s] for s in symbols]))

    def to_frame(self) -> pd.DataFrame:
        """Closes as a wide frame, or every field under ``(field, symbol)`` columns."""
        index = pd.DatetimeIndex(self.dates, name="date")
        if self.fields == ("close",):
            return pd.DataFrame(
                self.close, index=index, columns=pd.Index(self.symbols, name="symbol")
            )
        columns = pd.MultiIndex.from_product([self.fields, self.symbols], names=["field", "symbol"])
        return pd.DataFrame(
            np.hstack([getattr(self, f) for f in self.fields]), index=index, columns=columns
        )

    def resample(self, rule: str = "1D") -> MarketData:
        """Aggregate minute bars into daily OHLCV bars stamped with the session date.

        Open is the session's first open, high the highest high, low the lowest low, close the
        last close and volume the sum. Daily data is returned unchanged.
        """
        from riskbook.data.resample import resample_daily

        if rule.upper() not in ("1D", "D"):
            raise DataError(f"unsupported resample rule {rule!r}; only '1D' is", parameter="rule")
        if self.frequency == "daily":
            return self
        cached = self._cache.get("daily")
        if cached is None:
            cached = self._cache["daily"] = resample_daily(self)
        return cached

    def until(self, time: Any) -> PointInTimeView:
        """The point-in-time view at decision time ``time``: bars stamped at or before it.

        A daily bar is stamped with its session date and completes at that session's close, so
        ``daily.until("2020-03-16")`` is a decision at the close of 16 March 2020 and sees that
        day's bar. A minute bar is stamped with the end of its minute. Nothing later is reachable;
        asking for it raises :class:`riskbook.errors.LookAheadError`.
        """
        from riskbook.data.view import PointInTimeView

        return PointInTimeView(self, time)


def close_returns(close: np.ndarray, kind: str = "simple") -> np.ndarray:
    """Returns of a (T x N) close array, shape (T-1 x N), NaN where a price is missing."""
    if kind == "simple":
        return close[1:] / close[:-1] - 1.0
    if kind == "log":
        return np.diff(np.log(close), axis=0)
    raise DataError(f"unknown return kind {kind!r}; use 'simple' or 'log'", parameter="kind")
