"""Performance metrics of an equity curve (per-period returns, annualised where stated)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Drawdown from the running peak, as a fraction (<= 0)."""
    peak = np.maximum.accumulate(equity)
    return equity / peak - 1.0


def performance(
    equity: np.ndarray,
    dates: np.ndarray,
    *,
    periods_per_year: float = 252.0,
    risk_free: float = 0.0,
) -> dict[str, float]:
    """CAGR, volatility, Sharpe, Sortino, max drawdown and Calmar of a daily equity curve.

    Sharpe and Sortino are annualised from per-period returns (``risk_free`` is per year);
    CAGR uses calendar time between the first and last date; Sortino's downside deviation is
    the root mean square of the negative excess returns over all periods.

    Examples
    --------
    >>> import numpy as np
    >>> eq = np.array([100.0, 110.0, 99.0, 121.0])
    >>> d = np.array(["2020-01-01", "2021-01-01", "2022-01-01", "2023-01-01"], dtype="datetime64[ns]")
    >>> round(performance(eq, d)["max_drawdown"], 4), round(performance(eq, d)["cagr"], 4)
    (-0.1, 0.0656)
    """
    equity = np.asarray(equity, dtype=float)
    rets = equity[1:] / equity[:-1] - 1.0
    years = (dates[-1] - dates[0]) / np.timedelta64(1, "D") / 365.25 if len(dates) > 1 else 0.0
    cagr = (
        (equity[-1] / equity[0]) ** (1.0 / years) - 1.0 if years > 0 and equity[-1] > 0 else np.nan
    )
    excess = rets - risk_free / periods_per_year
    sd = rets.std(ddof=1) if len(rets) > 1 else np.nan
    downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)) if len(rets) else np.nan
    ann = np.sqrt(periods_per_year)
    mdd = float(drawdown(equity).min())
    return {
        "total_return": float(equity[-1] / equity[0] - 1.0),
        "cagr": float(cagr),
        "volatility": float(sd * ann),
        "sharpe": float(excess.mean() / sd * ann) if sd and sd > 0 else np.nan,
        "sortino": float(excess.mean() / downside * ann) if downside and downside > 0 else np.nan,
        "max_drawdown": mdd,
        "calmar": float(cagr / -mdd) if mdd < 0 and np.isfinite(cagr) else np.nan,
    }


def as_series(metrics: dict[str, float]) -> pd.Series:
    return pd.Series(metrics, name="value")
