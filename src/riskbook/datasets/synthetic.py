"""Synthetic minute bars built from daily closes (for tests and demos; not market data).

Each session is a Brownian bridge in log price from a synthetic open (the previous close times an
overnight gap) to the day's real close, so the last minute's close *is* the daily close and
``synthetic_minutes(daily).resample("1D").close`` equals ``daily.close`` exactly.
"""

from __future__ import annotations

import warnings

import numpy as np

from riskbook.data.market_data import MarketData
from riskbook.errors import DataError

SESSION_OPEN = np.timedelta64(9 * 60 + 30, "m")  # 09:30 exchange time (America/New_York)
OVERNIGHT_SHARE = 0.2  # share of daily variance that falls between close and next open


def _minute_stamps(days: np.ndarray, minutes_per_day: int) -> np.ndarray:
    """End-of-minute stamps: 09:31 ... 09:30 + minutes_per_day, for every day."""
    offsets = SESSION_OPEN + np.arange(1, minutes_per_day + 1).astype("timedelta64[m]")
    stamps = days.astype("datetime64[m]")[:, None] + offsets[None, :]
    return stamps.ravel().astype("datetime64[ns]")


def synthetic_minutes(
    daily: MarketData,
    *,
    seed: int = 0,
    minutes_per_day: int = 390,
    chunk_days: int = 64,
) -> MarketData:
    """Minute OHLCV bars whose sessions end exactly at the daily closes.

    The per-minute volatility of each symbol is its daily log-return volatility over the whole
    input, 80% spread across the session and 20% overnight. Highs and lows add a small random
    excursion beyond the minute's open and close; volume follows a U-shaped intraday profile.
    Stamps are the end of each minute in exchange time, 09:31 to 16:00 for 390 minutes.

    Memory grows as days x minutes x symbols x 5 fields x 8 bytes: one year of 100 symbols is
    about 400 MB, so slice the daily data first.

    Parameters
    ----------
    daily
        Daily data (closes are enough).
    seed
        Seed of the random generator; the same seed gives the same bars.
    minutes_per_day
        Bars per session (390 for a regular US equity session).

    Returns
    -------
    MarketData
        Minute bars, with open, high, low, close and volume.

    Examples
    --------
    >>> import numpy as np
    >>> from riskbook.datasets import load_sp500, synthetic_minutes
    >>> daily = load_sp500().slice("2022-12-01", "2022-12-28").select(["AAPL", "KO"])
    >>> minutes = synthetic_minutes(daily, seed=1)
    >>> minutes.shape
    (7410, 2)
    >>> bool(np.array_equal(minutes.resample("1D").close, daily.close))
    True
    """
    if daily.frequency != "daily":
        raise DataError("synthetic_minutes needs daily bars", parameter="daily")
    if not 1 <= minutes_per_day <= 24 * 60 - 9 * 60 - 30:
        raise DataError(
            "minutes_per_day must fit in the day after 09:30", parameter="minutes_per_day"
        )
    rng = np.random.default_rng(seed)
    close = daily.close
    n_days, n_sym = close.shape
    log_close = np.log(close)
    with warnings.catch_warnings():  # a symbol with < 2 returns gets the fallback below
        warnings.simplefilter("ignore", RuntimeWarning)
        sigma_day = np.nanstd(np.diff(log_close, axis=0), axis=0, ddof=1)
    sigma_day = np.where(np.isfinite(sigma_day) & (sigma_day > 0), sigma_day, 0.01)
    sigma_min = sigma_day * np.sqrt((1 - OVERNIGHT_SHARE) / minutes_per_day)
    sigma_night = sigma_day * np.sqrt(OVERNIGHT_SHARE)
    # Anchor: yesterday's close, or today's close on a symbol's first day.
    anchor = np.vstack([log_close[:1], log_close[:-1]])
    anchor = np.where(np.isnan(anchor), log_close, anchor)

    k = np.arange(1, minutes_per_day + 1) / minutes_per_day
    volume_profile = 1.0 + 2.0 * (np.linspace(-1, 1, minutes_per_day) ** 2)
    out = {
        f: np.empty((n_days, minutes_per_day, n_sym))
        for f in ("open", "high", "low", "close", "volume")
    }
    for lo in range(0, n_days, chunk_days):
        hi = min(lo + chunk_days, n_days)
        d = hi - lo
        log_open = anchor[lo:hi] + rng.standard_normal((d, n_sym)) * sigma_night
        walk = np.cumsum(rng.standard_normal((d, minutes_per_day, n_sym)) * sigma_min, axis=1)
        drift = (log_close[lo:hi] - log_open)[:, None, :]
        bridge = log_open[:, None, :] + walk - k[None, :, None] * (walk[:, -1:, :] - drift)
        closes = np.exp(bridge)
        closes[:, -1, :] = close[lo:hi]  # exactly the daily close, not exp(log(close))
        opens = np.concatenate([np.exp(log_open)[:, None, :], closes[:, :-1, :]], axis=1)
        wiggle = np.abs(rng.standard_normal((2, d, minutes_per_day, n_sym))) * sigma_min * 0.5
        out["open"][lo:hi] = opens
        out["close"][lo:hi] = closes
        out["high"][lo:hi] = np.maximum(opens, closes) * np.exp(wiggle[0])
        out["low"][lo:hi] = np.minimum(opens, closes) * np.exp(-wiggle[1])
        base = rng.lognormal(mean=8.0, sigma=0.5, size=(d, minutes_per_day, n_sym))
        out["volume"][lo:hi] = np.round(base * volume_profile[None, :, None])
    missing = np.isnan(close)[:, None, :]
    fields = {}
    for name, values in out.items():
        values[np.broadcast_to(missing, values.shape)] = np.nan
        fields[name] = values.reshape(n_days * minutes_per_day, n_sym)
    stamps = _minute_stamps(daily.dates.astype("datetime64[D]"), minutes_per_day)
    label = f"synthetic minutes of {daily.name}" if daily.name else "synthetic minutes"
    return MarketData._trusted(stamps, daily.symbols, fields, "minute", daily.report, label)
