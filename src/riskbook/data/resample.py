"""Minute bars to daily OHLCV bars, vectorised over sessions and symbols."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from riskbook.data.market_data import MarketData


def session_bounds(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Session days and the index of each session's first bar (for ``ufunc.reduceat``)."""
    days = dates.astype("datetime64[D]")
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    return days[starts], starts


def _fill_index(present: np.ndarray, backward: bool) -> np.ndarray:
    """Row index of the nearest present value at or before (or after) each row, per column."""
    rows = np.arange(present.shape[0])[:, None]
    if backward:
        idx = np.where(present, rows, present.shape[0] - 1)
        return np.minimum.accumulate(idx[::-1], axis=0)[::-1]
    idx = np.where(present, rows, 0)
    return np.maximum.accumulate(idx, axis=0)


def resample_daily(minute: MarketData) -> MarketData:
    """Aggregate minute bars by session date: first open, max high, min low, last close, sum
    volume. Missing minutes (NaN) are skipped; a session with no price for a symbol is NaN."""
    from riskbook.data.market_data import MarketData

    days, starts = session_bounds(minute.dates)
    ends = np.r_[starts[1:], len(minute.dates)] - 1
    close = minute.close
    present = ~np.isnan(close)
    has_bar = np.add.reduceat(present, starts, axis=0) > 0
    cols = np.arange(close.shape[1])

    complete = bool(present.all())  # the common case: no missing minute, plain indexing

    def last(values: np.ndarray) -> np.ndarray:
        if complete:
            return values[ends]
        out = values[_fill_index(present, backward=False)[ends], cols]
        return np.where(has_bar, out, np.nan)

    def first(values: np.ndarray) -> np.ndarray:
        if complete:
            return values[starts]
        out = values[_fill_index(present, backward=True)[starts], cols]
        return np.where(has_bar, out, np.nan)

    fields = {"close": last(close)}
    if minute.open is not None:
        fields["open"] = first(minute.open)
    if minute.high is not None:
        fields["high"] = np.where(has_bar, np.fmax.reduceat(minute.high, starts, axis=0), np.nan)
    if minute.low is not None:
        fields["low"] = np.where(has_bar, np.fmin.reduceat(minute.low, starts, axis=0), np.nan)
    if minute.volume is not None:
        fields["volume"] = np.where(
            has_bar, np.add.reduceat(np.nan_to_num(minute.volume), starts, axis=0), np.nan
        )
    name = f"{minute.name} (daily)" if minute.name else None
    return MarketData._trusted(
        days.astype("datetime64[ns]"), minute.symbols, fields, "daily", minute.report, name
    )
