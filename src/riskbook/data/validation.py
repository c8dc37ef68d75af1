"""Checks on raw price arrays and the gap policy.

A series may start late (a later listing) or end early (a delisting): NaN before its first price
and after its last are kept as they are. A NaN *inside* a series is a gap; gaps are an error unless
the caller chooses a policy, and whatever the policy did is recorded in a :class:`DataReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from riskbook.errors import DataError

GapPolicy = Literal["raise", "ffill", "drop"]
PRICE_FIELDS = ("open", "high", "low", "close")
ALL_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class DataReport:
    """What loading did to the data: the gap policy and every cell it filled or row it dropped.

    Attributes
    ----------
    gaps
        The gap policy that was applied ("raise", "ffill" or "drop").
    filled
        ``(symbol, date)`` of every price forward-filled by ``gaps="ffill"``.
    dropped
        ``(date, symbols)`` of every row removed by ``gaps="drop"``, with the symbols whose gap
        caused it.
    """

    gaps: GapPolicy = "raise"
    filled: tuple[tuple[str, np.datetime64], ...] = ()
    dropped: tuple[tuple[np.datetime64, tuple[str, ...]], ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """True when the gap policy altered anything."""
        return bool(self.filled or self.dropped)

    def to_frame(self) -> pd.DataFrame:
        """One row per filled cell or dropped (row, symbol), with the action taken."""
        rows = [("ffill", pd.Timestamp(d), s) for s, d in self.filled]
        rows += [("drop", pd.Timestamp(d), s) for d, syms in self.dropped for s in syms]
        return pd.DataFrame(rows, columns=["action", "date", "symbol"])


def _fmt_date(value: np.datetime64) -> str:
    ts = pd.Timestamp(value)
    return str(ts.date()) if ts == ts.normalize() else str(ts)


def infer_frequency(dates: np.ndarray) -> Literal["daily", "minute"]:
    """Tell daily from minute bars by their stamps; a mix of both is a DataError.

    Daily bars are stamped at midnight of their session date; intraday bars carry a time of day
    on a whole minute.
    """
    if len(dates) == 0:
        return "daily"
    day = dates.astype("datetime64[D]")
    intraday = dates != day
    if intraday.all():
        off_minute = dates != dates.astype("datetime64[m]")
        if off_minute.any():
            bad = dates[np.argmax(off_minute)]
            raise DataError(
                "intraday stamps must fall on whole minutes", date=_fmt_date(bad), parameter="dates"
            )
        return "minute"
    if not intraday.any():
        return "daily"
    minority = intraday if intraday.sum() < (~intraday).sum() else ~intraday
    bad = dates[np.argmax(minority)]
    raise DataError(
        "mixed frequencies: daily (midnight) and intraday stamps in one data set; load them "
        "separately or resample the intraday part",
        date=_fmt_date(bad),
        parameter="dates",
    )


def check_dates(dates: np.ndarray) -> None:
    """Dates must be strictly increasing: name the first duplicate or out-of-order stamp."""
    if len(dates) < 2:
        return
    step = dates[1:] - dates[:-1]
    if (step > np.timedelta64(0)).all():
        return
    i = int(np.argmax(step <= np.timedelta64(0))) + 1
    if step[i - 1] == np.timedelta64(0):
        raise DataError("duplicate timestamp", date=_fmt_date(dates[i]), parameter="dates")
    raise DataError(
        f"dates are not sorted: {_fmt_date(dates[i])} comes after {_fmt_date(dates[i - 1])}",
        date=_fmt_date(dates[i]),
        parameter="dates",
    )


def series_span(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (T x N): inside each series' listed span, and inside-but-missing (gaps)."""
    present = ~np.isnan(values)
    started = np.logical_or.accumulate(present, axis=0)
    not_ended = np.logical_or.accumulate(present[::-1], axis=0)[::-1]
    inside = started & not_ended
    return inside, inside & ~present


def _first_cell(mask: np.ndarray) -> tuple[int, int]:
    """Row and column of the earliest True cell (earliest date, then leftmost symbol)."""
    flat = np.flatnonzero(mask)
    row, col = np.unravel_index(flat[0], mask.shape)
    return int(row), int(col)


def check_values(
    name: str, values: np.ndarray, dates: np.ndarray, symbols: tuple[str, ...]
) -> None:
    """Prices must be finite and strictly positive where present; volume finite and >= 0."""
    inf = np.isinf(values)
    if inf.any():
        r, c = _first_cell(inf)
        raise DataError(
            f"infinite {name}", symbol=symbols[c], date=_fmt_date(dates[r]), parameter=name
        )
    with np.errstate(invalid="ignore"):
        bad = values < 0 if name == "volume" else values <= 0
    if bad.any():
        r, c = _first_cell(bad)
        what = "negative volume" if name == "volume" else f"non-positive {name} {values[r, c]!r}"
        raise DataError(what, symbol=symbols[c], date=_fmt_date(dates[r]), parameter=name)


def check_bar_consistency(
    fields: dict[str, np.ndarray], dates: np.ndarray, symbols: tuple[str, ...]
) -> None:
    """Every field is present exactly where close is, and high/low bracket open and close."""
    close_present = ~np.isnan(fields["close"])
    for name, values in fields.items():
        if name == "close":
            continue
        mismatch = close_present != ~np.isnan(values)
        if mismatch.any():
            r, c = _first_cell(mismatch)
            state = "missing" if close_present[r, c] else "present without a close"
            raise DataError(
                f"{name} is {state}", symbol=symbols[c], date=_fmt_date(dates[r]), parameter=name
            )
    if "high" in fields and "low" in fields:
        high, low = fields["high"], fields["low"]
        for other in ("open", "close"):
            if other not in fields:
                continue
            with np.errstate(invalid="ignore"):
                bad = (fields[other] > high) | (fields[other] < low)
            if bad.any():
                r, c = _first_cell(bad)
                raise DataError(
                    f"{other} lies outside [low, high]",
                    symbol=symbols[c],
                    date=_fmt_date(dates[r]),
                    parameter=other,
                )


def apply_gap_policy(
    fields: dict[str, np.ndarray],
    dates: np.ndarray,
    symbols: tuple[str, ...],
    gaps: GapPolicy,
) -> tuple[dict[str, np.ndarray], np.ndarray, DataReport]:
    """Apply the gap policy to gaps inside a series; leading and trailing NaN are left alone.

    Returns the (possibly) new field arrays and dates, and the report of what was done.
    """
    if gaps not in ("raise", "ffill", "drop"):
        raise DataError(
            f"unknown gap policy {gaps!r}; use 'raise', 'ffill' or 'drop'", parameter="gaps"
        )
    _, gap = series_span(fields["close"])
    if not gap.any():
        return fields, dates, DataReport(gaps=gaps)
    if gaps == "raise":
        r, c = _first_cell(gap)
        count = int(gap[:, c].sum())
        raise DataError(
            f"missing price inside the series ({count} gap(s) in this symbol); pass "
            "gaps='ffill' or gaps='drop' to choose a policy",
            symbol=symbols[c],
            date=_fmt_date(dates[r]),
            parameter="close",
        )
    rows, cols = np.nonzero(gap)
    if gaps == "drop":
        keep = ~gap.any(axis=1)
        dropped = tuple(
            (dates[r], tuple(symbols[c] for c in np.flatnonzero(gap[r])))
            for r in np.flatnonzero(~keep)
        )
        out = {k: v[keep] for k, v in fields.items()}
        return out, dates[keep], DataReport(gaps=gaps, dropped=dropped)
    # ffill: a missing bar repeats the previous close as a flat bar with zero volume.
    out = {k: v.copy() for k, v in fields.items()}
    close = out["close"]
    for r, c in zip(rows, cols, strict=True):  # gaps are rare; rows ascend so fills chain
        close[r, c] = close[r - 1, c]
    for name in ("open", "high", "low"):
        if name in out:
            out[name][rows, cols] = close[rows, cols]
    if "volume" in out:
        out["volume"][rows, cols] = 0.0
    filled = tuple((symbols[c], dates[r]) for r, c in zip(rows, cols, strict=True))
    return out, dates, DataReport(gaps=gaps, filled=filled)
