"""Fill models: when an order decided at a bar is filled, and at which reference price.

A decision is taken at the close of its bar (daily) or at its bar's end (minute). The fill model
maps each decision bar to a fill bar and a reference price per symbol; slippage and fees are
applied on top by the cost models. Every model works on daily and minute data alike, and on
minute data a session's daily aggregate gives the same prices as the daily data it came from:
that is what makes a daily and a minute backtest agree.

========================  ==============================  ====================================
model                     daily data                      minute data
========================  ==============================  ====================================
``"next_open"``           open of the next bar            open of the next session's first bar
``"next_close"``          close of the next bar           close of the next session's last bar
``"close"`` (optimistic)  close of the decision bar       close of the decision session's last bar
``"vwap"``                (high+low+close)/3, next bar    volume-weighted typical price, next session
``MinuteOffset(k)``       not available                   price k minutes after the next open
========================  ==============================  ====================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from riskbook.data.resample import session_bounds
from riskbook.errors import ConfigError, DataError

if TYPE_CHECKING:
    from riskbook.data.market_data import MarketData

NO_FILL = -1


@dataclass(frozen=True)
class FillSchedule:
    """Where each decision fills: bar index (``NO_FILL`` past the data), prices and volumes."""

    index: np.ndarray  # (K,) fill bar per decision
    price: np.ndarray  # (K, N) reference fill price
    volume: np.ndarray | None  # (K, N) volume the slippage model may use


def _need(data: MarketData, name: str, model: str) -> np.ndarray:
    values = getattr(data, name)
    if values is None:
        raise DataError(
            f"fill model {model!r} needs the {name} field, which this data does not have "
            "(the bundled set has closes only: use fill='next_close' or 'close')",
            parameter=name,
        )
    return values


@dataclass(frozen=True)
class _Sessions:
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, data: MarketData) -> _Sessions:
        if data.frequency == "daily":
            idx = np.arange(len(data.dates))
            return cls(idx, idx)
        _, starts = session_bounds(data.dates)
        return cls(starts, np.r_[starts[1:], len(data.dates)] - 1)

    def session(self, bars: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, bars, side="right") - 1

    def next_session(self, bars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the next session and a mask of decisions that have one."""
        nxt = self.session(bars) + 1
        ok = nxt < len(self.starts)
        return np.where(ok, nxt, 0), ok


def _take(values: np.ndarray | None, index: np.ndarray, ok: np.ndarray) -> np.ndarray | None:
    if values is None:
        return None
    out = values[np.where(ok, index, 0)]
    out[~ok] = np.nan
    return out


class FillModel:
    """Base of the fill models; subclasses define :meth:`schedule`."""

    name = "fill"
    optimistic = False

    def schedule(self, data: MarketData, decisions: np.ndarray) -> FillSchedule:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NextOpen(FillModel):
    """Decided at the close, filled at the next session's open (LEAN's market-on-open)."""

    name = "next_open"

    def schedule(self, data, decisions):
        opens = _need(data, "open", self.name)
        sessions = _Sessions.of(data)
        nxt, ok = sessions.next_session(decisions)
        fill = np.where(ok, sessions.starts[nxt], NO_FILL)
        return FillSchedule(fill, _take(opens, fill, ok), _take(data.volume, fill, ok))


class NextClose(FillModel):
    """Filled at the close of the next session (zipline's daily behaviour)."""

    name = "next_close"

    def schedule(self, data, decisions):
        sessions = _Sessions.of(data)
        nxt, ok = sessions.next_session(decisions)
        fill = np.where(ok, sessions.ends[nxt], NO_FILL)
        return FillSchedule(fill, _take(data.close, fill, ok), _take(data.volume, fill, ok))


class Close(FillModel):
    """Filled at the close of the decision's own session: optimistic (no time to act)."""

    name = "close"
    optimistic = True

    def schedule(self, data, decisions):
        sessions = _Sessions.of(data)
        fill = sessions.ends[sessions.session(decisions)]
        ok = np.ones(len(decisions), dtype=bool)
        return FillSchedule(fill, _take(data.close, fill, ok), _take(data.volume, fill, ok))


class VWAP(FillModel):
    """Volume-weighted price of the next session (minute data), or the next daily bar's typical
    price (high + low + close) / 3 when only daily bars exist. Filled at that session's end."""

    name = "vwap"

    def schedule(self, data, decisions):
        high, low = _need(data, "high", self.name), _need(data, "low", self.name)
        sessions = _Sessions.of(data)
        nxt, ok = sessions.next_session(decisions)
        fill = np.where(ok, sessions.ends[nxt], NO_FILL)
        typical = (high + low + data.close) / 3.0
        if data.frequency == "daily":
            return FillSchedule(fill, _take(typical, fill, ok), _take(data.volume, fill, ok))
        volume = _need(data, "volume", self.name)
        starts = sessions.starts
        pv = np.add.reduceat(np.nan_to_num(typical * volume), starts, axis=0)
        vol = np.add.reduceat(np.nan_to_num(volume), starts, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = np.where(vol > 0, pv / vol, np.nan)
        price = _take(vwap, nxt, ok)
        return FillSchedule(fill, price, _take(vol, nxt, ok))


@dataclass(frozen=True, repr=False)
class MinuteOffset(FillModel):
    """Filled ``minutes`` after the next session's open (0 = at the open), minute data only."""

    minutes: int = 5
    name = "minute_offset"

    def schedule(self, data, decisions):
        if data.frequency != "minute":
            raise DataError("MinuteOffset needs minute data", parameter="fill")
        if self.minutes < 0:
            raise ConfigError("minutes must be >= 0", parameter="MinuteOffset.minutes")
        sessions = _Sessions.of(data)
        nxt, ok = sessions.next_session(decisions)
        first = sessions.starts[nxt]
        if self.minutes == 0:
            opens = _need(data, "open", self.name)
            return FillSchedule(
                np.where(ok, first, NO_FILL), _take(opens, first, ok), _take(data.volume, first, ok)
            )
        bar = first + self.minutes - 1  # the bar that ends `minutes` after the open
        ok &= bar <= sessions.ends[nxt]
        fill = np.where(ok, bar, NO_FILL)
        return FillSchedule(fill, _take(data.close, fill, ok), _take(data.volume, fill, ok))

    def __repr__(self) -> str:
        return f"MinuteOffset({self.minutes})"


FILL_MODELS = {m.name: m for m in (NextOpen, NextClose, Close, VWAP)}


def resolve_fill(fill: Any, data: MarketData) -> FillModel:
    """A fill model from a name, an instance, or ``"auto"`` (next open if the data has opens,
    else next close)."""
    if isinstance(fill, FillModel):
        return fill
    if fill == "auto":
        return NextOpen() if data.open is not None else NextClose()
    if fill == "minute_offset":
        return MinuteOffset()
    if isinstance(fill, str) and fill in FILL_MODELS:
        return FILL_MODELS[fill]()
    raise ConfigError(
        f"unknown fill model {fill!r}; use one of auto, {', '.join(FILL_MODELS)}, minute_offset "
        "or a FillModel instance",
        parameter="fill",
    )
