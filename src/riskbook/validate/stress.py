"""Stress tests of the book: historical windows, hypothetical shocks and Monte Carlo paths.

Seed 003 s.10 asks the assembled book to be run through historical scenarios and a Monte Carlo
stress, and to confirm that "worst-case loss respects the DD caps and the governor actually cuts
gross". Three tools answer it:

- :func:`historical_stress` replays the crisis windows of ``HISTORICAL_SCENARIOS`` on a
  backtest: the book's loss and drawdown in each window next to the hard cap, an equal-weight
  buy-and-hold of the same universe as a reference, the gross exposure, and whether the drawdown
  governor cut in time (from :meth:`riskbook.book.BookBuilder.history_frame`);
- :func:`hypothetical_stress` puts shocks the data never saw on today's weights: a 1987-style
  -20% day scaled by each asset's beta, correlations going to one, volatility tripling;
- :func:`monte_carlo_stress` bootstraps (or re-colours to a stressed covariance) the book's daily
  returns into many paths and runs the governor along each one (:func:`govern_paths`), so the
  distribution of drawdowns with and without it can be compared. Chunks of paths go through
  :func:`riskbook.validate.executor.resolve_executor`; results do not depend on the executor.

Losses and drawdowns here are positive fractions, like the governor's thresholds: 0.12 means
12% below the peak (``riskbook.simulate.metrics`` reports drawdowns as negative numbers).

Examples
--------
>>> import numpy as np
>>> round(shock_loss(np.array([0.5, 0.5]), np.array([-0.2, -0.1])), 4)
0.15
>>> sorted(HISTORICAL_SCENARIOS)[:2]
['2008 crisis', '2020 COVID crash']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from riskbook.book.config import BookConfig, GovernorConfig
from riskbook.book.governor import drawdown_multiplier, effective_drawdown
from riskbook.errors import ConfigError, DataError
from riskbook.estimate import sample_covariance
from riskbook.simulate.metrics import drawdown
from riskbook.validate.executor import Progress, resolve_executor, task_seeds

__all__ = [
    "HISTORICAL_SCENARIOS",
    "SCENARIO_SOURCES",
    "MonteCarloStress",
    "govern_paths",
    "historical_stress",
    "hypothetical_stress",
    "monte_carlo_stress",
    "shock_loss",
    "stationary_bootstrap_indices",
]

#: Crisis windows (first, last date) covered by the bundled S&P 500 data (1990-2022). A window
#: is measured from the close of its first date (or the last bar before it) to the close of its
#: last date (or the last bar before it). Sources in ``SCENARIO_SOURCES``.
HISTORICAL_SCENARIOS: dict[str, tuple[str, str]] = {
    "2008 crisis": ("2008-09-01", "2009-03-09"),
    "August 2011": ("2011-07-22", "2011-08-31"),
    "2020 COVID crash": ("2020-02-19", "2020-03-23"),
    "2022 bear market": ("2022-01-03", "2022-10-12"),
}

#: One line per scenario: why these dates (index levels from the bundled S&P 500 series).
SCENARIO_SOURCES: dict[str, str] = {
    "2008 crisis": (
        "Lehman month (bankruptcy filed 2008-09-15) to the S&P 500 closing low of 676.53 on "
        "2009-03-09; the window starts from the 2008-08-29 close (1 September was Labor Day)."
    ),
    "August 2011": (
        "US debt-ceiling stand-off and S&P's downgrade of the US (2011-08-05): from the S&P "
        "500's 2011-07-22 close (1345.02, the last before the slide) to month end, through the "
        "-6.7% day and closing low of 2011-08-08."
    ),
    "2020 COVID crash": (
        "S&P 500 record close of 3386.15 on 2020-02-19 to the closing low of 2237.40 on "
        "2020-03-23 (-34% in 23 sessions)."
    ),
    "2022 bear market": (
        "S&P 500 record close of 4796.56 on 2022-01-03 to the closing low of 3577.03 on "
        "2022-10-12 (inflation and rate hikes; energy the only rising sector)."
    ),
}

_Z99 = 2.3263478740408408  # standard normal 99% quantile


# ---------------------------------------------------------------------------- helpers
def _governor_config(config: Any) -> tuple[GovernorConfig, float | None]:
    """The governor config and the vol target its vol adjustment reads."""
    if config is None:
        config = BookConfig()
    if isinstance(config, BookConfig):
        gov = config.governor
        return gov, (config.portfolio_vol.target if gov.vol_adjusted else None)
    if isinstance(config, GovernorConfig):
        return config, None
    raise ConfigError(
        f"config must be a BookConfig or GovernorConfig, got {type(config).__name__}",
        parameter="config",
    )


def _positive_int(value: Any, parameter: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(
            f"{parameter} must be an integer >= {minimum}, got {value!r}", parameter=parameter
        )
    return int(value)


def _fraction(value: Any, parameter: str, low: float, high: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{parameter} must be a number", parameter=parameter) from exc
    if isinstance(value, bool) or not (math.isfinite(out) and low <= out <= high):
        raise ConfigError(
            f"{parameter} must lie in [{low}, {high}], got {value!r}", parameter=parameter
        )
    return out


def _max_drawdowns(path_returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max drawdown (positive) and final loss of each row of P x H returns, from equity 1."""
    equity = np.cumprod(1.0 + path_returns, axis=1)
    curve = np.hstack([np.ones((len(equity), 1)), equity])
    # metrics.drawdown runs its peak along axis 0: give it time down the rows.
    return -drawdown(curve.T).min(axis=0), 1.0 - equity[:, -1]


# ---------------------------------------------------------------------------- historical
def _daily_view(result: Any) -> dict[str, Any]:
    """Dates, equity, closes and gross exposure at each session's last bar."""
    if isinstance(result, pd.Series):
        if not isinstance(result.index, pd.DatetimeIndex):
            raise DataError("an equity series needs a DatetimeIndex", parameter="result")
        dates = result.index.to_numpy(dtype="datetime64[ns]")
        equity = result.to_numpy(dtype=float)
        close = gross = None
        symbols: tuple[str, ...] = ()
    elif hasattr(result, "equity_values") and hasattr(result, "to_frame"):
        frame = result.to_frame()
        dates = np.asarray(result.dates, dtype="datetime64[ns]")
        equity = frame["equity"].to_numpy(dtype=float)
        gross = frame["gross_exposure"].to_numpy(dtype=float)
        close = np.asarray(result.close, dtype=float)
        symbols = tuple(result.symbols)
    else:
        raise DataError("result must be a BacktestResult or an equity Series", parameter="result")
    if len(dates) == 0:
        raise DataError("the result has no bars", parameter="result")
    bad = ~np.isfinite(equity) | (equity <= 0)
    if bad.any():
        raise DataError(
            "equity must be positive and finite",
            date=dates[int(np.argmax(bad))],
            parameter="result",
        )
    days = dates.astype("datetime64[D]")
    last = np.r_[days[1:] != days[:-1], True]  # one row per session (all rows on daily data)
    return {
        "dates": days[last],
        "equity": equity[last],
        "close": None if close is None else close[last],
        "gross": None if gross is None else gross[last],
        "symbols": symbols,
    }


def _buy_and_hold(close: np.ndarray) -> np.ndarray:
    """Equal-weight buy-and-hold path (starts at 1) of the names priced on the first row."""
    held = np.isfinite(close[0]) & (close[0] > 0)
    if not held.any():
        return np.full(len(close), np.nan)
    prices = pd.DataFrame(close[:, held]).ffill().to_numpy()  # a delisted name keeps its value
    return (prices / prices[0]).mean(axis=1)


def _history_checked(history: Any) -> pd.DataFrame:
    if not isinstance(history, pd.DataFrame) or "governor" not in history.columns:
        raise DataError(
            "history must be BookBuilder.history_frame(): a DataFrame with a 'governor' column",
            parameter="history",
        )
    if not isinstance(history.index, pd.DatetimeIndex):
        raise DataError("history needs a DatetimeIndex of decision times", parameter="history")
    if not history.index.is_monotonic_increasing:
        raise DataError("history must be sorted by decision time", parameter="history")
    return history


def _governor_timing(
    history: pd.DataFrame, dates: np.ndarray, dd: np.ndarray, i0: int, i1: int, start: float
) -> dict[str, Any]:
    """When the drawdown crossed ``start`` in bars i0..i1, and when the governor cut."""
    decision_days = history.index.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    cut = history["governor"].to_numpy(dtype=float) < 1.0
    if "tier_factor" in history.columns:
        cut |= history["tier_factor"].to_numpy(dtype=float) < 1.0
    in_window = (decision_days >= dates[i0]) & (decision_days <= dates[i1])
    out: dict[str, Any] = {
        "governor_min": float(history["governor"].to_numpy(dtype=float)[in_window].min())
        if in_window.any()
        else np.nan,
        "dd_crossed": pd.NaT,
        "first_decision_after": pd.NaT,
        "governor_cut": pd.NaT,
        "cut_lag": np.nan,
        "in_time": None,
    }
    crossed = np.flatnonzero(dd[i0 : i1 + 1] > start)
    if not len(crossed):
        return out
    day = dates[i0 + crossed[0]]
    out["dd_crossed"] = pd.Timestamp(day)
    k1 = int(np.searchsorted(decision_days, day, "left"))  # first decision on or after
    if k1 == len(decision_days):
        return out  # no decision after the crossing: the governor had no chance to act
    out["first_decision_after"] = pd.Timestamp(decision_days[k1])
    later = np.flatnonzero(cut[k1:])
    if len(later):
        out["governor_cut"] = pd.Timestamp(decision_days[k1 + later[0]])
        out["cut_lag"] = int(later[0])
    out["in_time"] = bool(cut[k1])
    return out


def historical_stress(
    result: Any,
    history: pd.DataFrame | None = None,
    scenarios: Mapping[str, tuple[Any, Any]] = HISTORICAL_SCENARIOS,
    *,
    config: BookConfig | GovernorConfig | None = None,
) -> pd.DataFrame:
    """Replay crisis windows on a backtest: loss, drawdown vs the hard cap, and the governor.

    A window ``(start, end)`` runs from the base bar, the last bar on or before ``start`` (the
    close the loss is measured from), to the last bar on or before ``end``. It is covered when
    the result has a bar on or before ``start`` and its last bar is on or after ``end``; an
    uncovered window still gets its row, with ``covered`` False, a ``note`` and NaN numbers.
    Minute results are read at each session's last bar.

    Governor "in time". The drawdown used is the book's, from its running peak over the whole
    result (the drawdown carried into the window included), on session closes. Let ``c`` be the
    first bar of the window (base bar included) where it exceeds ``governor.start`` (where the
    curve ``m(DD)`` leaves 1), and ``d1`` the first decision of ``history`` on or after ``c``'s
    date, the first chance the governor had to act. The governor cut in time when a cut was in
    force at ``d1``: its multiplier or kill-tier factor was below 1 there (a cut already in
    force before ``c`` counts). ``governor_cut`` is the first decision on or after ``d1`` with a
    cut and ``cut_lag`` the number of decisions from ``d1`` to it (0 when in time). ``in_time``
    is None when the drawdown never exceeded ``governor.start`` in the window, when no decision
    follows the crossing, or without ``history``. The governor measures its drawdown at decision
    times only (and lowers its peak after a cooloff), so a drawdown that crosses and recovers
    between two decisions can show as not in time: that is the point of the report. With a
    vol-adjusted governor its threshold moves with the vol target; the crossing here is read
    against the plain ``governor.start``.

    Parameters
    ----------
    result
        A :class:`riskbook.BacktestResult` (benchmark and gross columns filled) or an equity
        Series with a DatetimeIndex (those columns NaN).
    history
        ``BookBuilder.history_frame()`` of the builder that ran the backtest: decision times
        as index, ``governor`` and ``tier_factor`` columns. Optional.
    scenarios
        Name -> (start, end); ``HISTORICAL_SCENARIOS`` by default.
    config
        ``BookConfig`` (or its ``GovernorConfig``) for ``governor.start`` and ``hard_cap``;
        seed 003's defaults (5% and 15%) when None.

    Returns
    -------
    pandas.DataFrame
        One row per scenario (index ``scenario``): ``start``, ``end``, ``covered``, ``note``,
        ``days`` (bars after the base bar), ``book_return``, ``window_drawdown`` (max drawdown
        from the window's own running peak, starting at the base bar), ``carried_drawdown`` (at
        the base bar, from the result's peak), ``peak_to_trough`` (max drawdown in the window
        from the result's peak, the carried drawdown included), ``worst_day`` (largest one-day
        loss), ``hard_cap``, ``cap_breached`` (``peak_to_trough >= hard_cap``),
        ``benchmark_return`` and ``benchmark_drawdown`` (equal-weight buy-and-hold of the names
        priced at the base bar, a delisted name keeping its last value), ``gross_start`` and
        ``gross_min`` (gross exposure at the base bar and its minimum over the window),
        ``governor_min`` (smallest multiplier decided in the window), ``dd_crossed``,
        ``first_decision_after``, ``governor_cut``, ``cut_lag`` and ``in_time`` (see above).

    Raises
    ------
    DataError
        A result that is neither kind, non-positive equity (naming the date), a history without
        a ``governor`` column or a DatetimeIndex, or a scenario whose dates cannot be read or
        whose end precedes its start (naming the scenario).
    ConfigError
        A config of another type.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> days = pd.bdate_range("2020-02-03", "2020-04-30")
    >>> equity = pd.Series(np.linspace(100.0, 80.0, len(days)), index=days)
    >>> table = historical_stress(equity)
    >>> row = table.loc["2020 COVID crash"]
    >>> bool(row["covered"]), round(float(row["book_return"]), 4), bool(row["cap_breached"])
    (True, -0.0759, False)
    >>> bool(table.loc["2008 crisis", "covered"])
    False
    """
    view = _daily_view(result)
    gov, _ = _governor_config(config)
    if history is not None:
        history = _history_checked(history)
    dates, equity = view["dates"], view["equity"]
    dd_all = -drawdown(equity)
    rows = []
    for name, window in scenarios.items():
        try:
            start, end = (np.datetime64(pd.Timestamp(x), "D") for x in window)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"cannot read the dates of scenario {name!r}: {window!r}", parameter="scenarios"
            ) from exc
        if end < start:
            raise DataError(
                f"scenario {name!r} ends before it starts", date=end, parameter="scenarios"
            )
        row: dict[str, Any] = {
            "scenario": name,
            "start": pd.Timestamp(start),
            "end": pd.Timestamp(end),
            "covered": False,
            "note": "",
            "hard_cap": gov.hard_cap,
            "in_time": None,
        }
        if dates[0] > start or dates[-1] < end:
            row["note"] = (
                f"not covered: the result runs {dates[0]} to {dates[-1]}, "
                f"the scenario {start} to {end}"
            )
            rows.append(row)
            continue
        i0 = int(np.searchsorted(dates, start, "right")) - 1
        i1 = int(np.searchsorted(dates, end, "right")) - 1
        w = equity[i0 : i1 + 1]
        daily = w[1:] / w[:-1] - 1.0
        peak_to_trough = float(dd_all[i0 : i1 + 1].max())
        row |= {
            "covered": True,
            "days": i1 - i0,
            "book_return": float(w[-1] / w[0] - 1.0),
            "window_drawdown": float(-drawdown(w).min()),
            "carried_drawdown": float(dd_all[i0]),
            "peak_to_trough": peak_to_trough,
            "worst_day": float(max(0.0, -daily.min())) if len(daily) else 0.0,
            "cap_breached": bool(peak_to_trough >= gov.hard_cap),
        }
        if view["close"] is not None:
            path = _buy_and_hold(view["close"][i0 : i1 + 1])
            row["benchmark_return"] = float(path[-1] - 1.0)
            row["benchmark_drawdown"] = float(-drawdown(path).min())
            row["gross_start"] = float(view["gross"][i0])
            row["gross_min"] = float(view["gross"][i0 : i1 + 1].min())
        if history is not None:
            row |= _governor_timing(history, dates, dd_all, i0, i1, gov.start)
            if row["in_time"] is None and pd.isna(row["dd_crossed"]):
                row["note"] = f"drawdown stayed within governor.start ({gov.start:g})"
            elif row["in_time"] is None:
                row["note"] = "no decision after the drawdown crossed governor.start"
        rows.append(row)
    columns = [
        "scenario",
        "start",
        "end",
        "covered",
        "note",
        "days",
        "book_return",
        "window_drawdown",
        "carried_drawdown",
        "peak_to_trough",
        "worst_day",
        "hard_cap",
        "cap_breached",
        "benchmark_return",
        "benchmark_drawdown",
        "gross_start",
        "gross_min",
        "governor_min",
        "dd_crossed",
        "first_decision_after",
        "governor_cut",
        "cut_lag",
        "in_time",
    ]
    frame = pd.DataFrame(rows).reindex(columns=columns).set_index("scenario")
    frame["in_time"] = frame["in_time"].astype(object).where(frame["in_time"].notna(), None)
    frame["cap_breached"] = frame["cap_breached"].astype(object)
    return frame


# ---------------------------------------------------------------------------- hypothetical
def _aligned_weights(weights: Any, symbols: Sequence[str] | None, n: int) -> np.ndarray:
    if isinstance(weights, pd.Series):
        if symbols is None:
            raise DataError(
                "weights given as a Series need symbols (or a DataFrame of returns) to align",
                parameter="weights",
            )
        index = {s: i for i, s in enumerate(symbols)}
        out = np.zeros(n)
        for key, value in weights.items():
            if str(key) not in index:
                raise DataError(
                    "weight for a symbol not in the returns", symbol=str(key), parameter="weights"
                )
            out[index[str(key)]] = float(value)
    else:
        try:
            out = np.asarray(weights, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise DataError("weights must be numbers", parameter="weights") from exc
        if out.size != n:
            raise DataError(f"{out.size} weights for {n} assets", parameter="weights")
    if not np.isfinite(out).all():
        bad = int(np.argmax(~np.isfinite(out)))
        raise DataError(
            "weights must be finite",
            symbol=None if symbols is None else str(symbols[bad]),
            parameter="weights",
        )
    return out


def shock_loss(weights: Any, shock_returns: Any) -> float:
    """One-period loss of a book under given asset returns: ``-sum_i w_i r_i``.

    Parameters
    ----------
    weights
        Weights as fractions of equity (array, or Series aligned by symbol).
    shock_returns
        The shock's return of each asset (array of the same length, or a Series; with two
        Series every weighted symbol needs a shock).

    Returns
    -------
    float
        The loss as a positive fraction of equity (negative: the book gains).

    Raises
    ------
    DataError
        Lengths that differ, a weighted symbol without a shock, or non-finite values.

    Examples
    --------
    >>> import pandas as pd
    >>> round(shock_loss(pd.Series({"A": 1.0, "B": -0.5}), pd.Series({"A": -0.1, "B": -0.3})), 4)
    -0.05
    """
    if isinstance(weights, pd.Series) and isinstance(shock_returns, pd.Series):
        missing = [s for s in weights.index if s not in shock_returns.index]
        if missing:
            raise DataError("no shock for a weighted symbol", symbol=str(missing[0]))
        shock = shock_returns.reindex(weights.index).to_numpy(dtype=float)
        w = weights.to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float).ravel()
        shock = np.asarray(shock_returns, dtype=float).ravel()
        if w.shape != shock.shape:
            raise DataError(
                f"{w.size} weights but {shock.size} shock returns", parameter="shock_returns"
            )
    if not (np.isfinite(w).all() and np.isfinite(shock).all()):
        raise DataError("weights and shocks must be finite", parameter="shock_returns")
    return float(-(w @ shock))


def hypothetical_stress(
    weights: Any,
    returns_history: Any,
    *,
    symbols: Sequence[str] | None = None,
    config: BookConfig | GovernorConfig | None = None,
    crash: float = 0.20,
    horizon: int = 21,
    periods_per_year: float = 252.0,
) -> pd.DataFrame:
    """Shocks the history never showed, on today's weights, next to the drawdown caps.

    Scenarios (each row reports a ``loss`` read against the caps):

    - ``current``: the book's annualised vol ``sqrt(w' S w)`` from the sample covariance ``S``
      of ``returns_history`` (a reference row);
    - ``1987-style day``: every asset falls ``crash`` (20%: the S&P 500 lost 20.5% on
      1987-10-19) times its beta to the equal-weight market, ``beta_i = cov(r_i, r_m) /
      var(r_m)`` with ``r_m`` the cross-sectional mean return of the history (so the betas
      average exactly 1 and the equal-weight book loses exactly ``crash``). The loss is
      ``crash * sum_i w_i beta_i`` (:func:`shock_loss`), a one-day loss;
    - ``correlations to 1``: vol with every correlation set to +1, ``sum_i |w_i| sigma_i``:
      for a long book the worst case, and for any book the largest vol any correlation
      matrix can give (the correlations are +1 between same-sign and -1 between opposite-sign
      positions);
    - ``correlation matrix of ones``: ``|sum_i w_i sigma_i|``, the vol when every pair has
      correlation +1 whatever the sides (equal to the row above for a long book; a long/short
      book's hedges then offset);
    - ``vol x3``: the covariance times 9, so exactly 3x the current vol.

    For the vol rows, ``loss`` is the 99% normal loss over ``horizon`` trading days,
    ``2.326 * vol * sqrt(horizon / periods_per_year)``: the drawdown a month at that vol can
    bring about. ``governor_multiplier`` is ``m(loss)``, what the governor's curve would do at
    a drawdown equal to the loss (:func:`riskbook.book.drawdown_multiplier`).

    Parameters
    ----------
    weights
        Current weights (array aligned with the returns' columns, or a Series by symbol).
    returns_history
        T x N periodic returns (DataFrame with symbols as columns, or array); no NaN.
    symbols
        Names of the array's columns, to align a Series of weights.
    config
        ``BookConfig`` or ``GovernorConfig`` for the caps; defaults when None.
    crash
        The market's fall in the 1987-style day (positive fraction).
    horizon
        Trading days over which a vol scenario's loss is read.
    periods_per_year
        Annualisation of the history's periods.

    Returns
    -------
    pandas.DataFrame
        Index ``scenario``; columns ``measure`` ("one-day loss" or "annualised vol"),
        ``value``, ``loss``, ``governor_start``, ``hard_cap``, ``exceeds_start`` (``loss >
        start``), ``breaches_hard_cap`` (``loss >= hard_cap``) and ``governor_multiplier``.
        ``frame.attrs["betas"]`` holds the betas (a Series by symbol when names are known).

    Raises
    ------
    DataError
        Returns with NaN or fewer than 3 rows, weights that do not align (naming the symbol),
        or an equal-weight market with zero variance.
    ConfigError
        ``crash`` outside (0, 1], ``horizon`` < 1, or a bad config.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> R = rng.normal(0, 0.01, (250, 3))
    >>> t = hypothetical_stress(np.full(3, 1 / 3), R)
    >>> round(float(t.loc["1987-style day", "loss"]), 6)
    0.2
    >>> bool(np.isclose(t.loc["vol x3", "value"], 3 * t.loc["current", "value"]))
    True
    """
    gov, vol_target = _governor_config(config)
    crash = _fraction(crash, "crash", 0.0, 1.0)
    if crash == 0.0:
        raise ConfigError("crash must be > 0", parameter="crash")
    horizon = _positive_int(horizon, "horizon")
    if isinstance(returns_history, pd.DataFrame):
        symbols = [str(c) for c in returns_history.columns]
        R = returns_history.to_numpy(dtype=float)
    else:
        R = np.asarray(returns_history, dtype=float)
        if R.ndim == 1:
            R = R[:, None]
    if R.ndim != 2 or R.shape[0] < 3:
        raise DataError("returns_history must be T x N with T >= 3", parameter="returns_history")
    S = np.asarray(sample_covariance(R))  # DataError naming a NaN column
    w = _aligned_weights(weights, symbols, R.shape[1])
    market = R.mean(axis=1)
    var_m = float(market.var(ddof=1))
    if not var_m > 0:
        raise DataError("the equal-weight market has zero variance", parameter="returns_history")
    betas = (R - R.mean(axis=0)).T @ (market - market.mean()) / (len(R) - 1) / var_m
    sigma = np.sqrt(np.diag(S) * periods_per_year)
    vol = float(np.sqrt(max(w @ S @ w, 0.0) * periods_per_year))
    to_loss = _Z99 * math.sqrt(horizon / periods_per_year)
    scenarios = [
        ("current", "annualised vol", vol),
        ("1987-style day", "one-day loss", shock_loss(w, -crash * betas)),
        ("correlations to 1", "annualised vol", float(np.abs(w) @ sigma)),
        ("correlation matrix of ones", "annualised vol", float(abs(w @ sigma))),
        (
            "vol x3",
            "annualised vol",
            float(np.sqrt(max(w @ (9.0 * S) @ w, 0.0) * periods_per_year)),
        ),
    ]
    rows = []
    for name, measure, value in scenarios:
        loss = value if measure == "one-day loss" else value * to_loss
        dd = max(loss, 0.0)
        rows.append(
            {
                "scenario": name,
                "measure": measure,
                "value": value,
                "loss": loss,
                "governor_start": gov.start,
                "hard_cap": gov.hard_cap,
                "exceeds_start": bool(loss > gov.start),
                "breaches_hard_cap": bool(loss >= gov.hard_cap),
                "governor_multiplier": float(drawdown_multiplier(dd, gov, vol_target=vol_target)),
            }
        )
    frame = pd.DataFrame(rows).set_index("scenario")
    frame.attrs["betas"] = pd.Series(betas, index=symbols) if symbols is not None else betas
    return frame


# ---------------------------------------------------------------------------- Monte Carlo
def stationary_bootstrap_indices(
    n_obs: int, n_paths: int, horizon: int, block: float, rng: np.random.Generator
) -> np.ndarray:
    """Row indices of stationary-bootstrap paths (Politis & Romano 1994), circular.

    Each path is a chain of blocks: a block starts at a uniform random row and runs on through
    consecutive rows (wrapping from the last row to the first) for a geometric number of days
    with mean ``block``; day 0 always starts a block. Fully vectorised: no loop over days.

    Parameters
    ----------
    n_obs
        Rows of the series resampled.
    n_paths, horizon
        Shape of the output.
    block
        Mean block length (>= 1; 1 is the i.i.d. bootstrap).
    rng
        The random generator.

    Returns
    -------
    numpy.ndarray
        ``(n_paths, horizon)`` integer indices in ``[0, n_obs)``.

    Examples
    --------
    >>> import numpy as np
    >>> idx = stationary_bootstrap_indices(100, 2, 6, 1e9, np.random.default_rng(0))
    >>> bool((np.diff(idx, axis=1) % 100 == 1).all())  # one long block per path
    True
    """
    starts = rng.integers(0, n_obs, size=(n_paths, horizon))
    new = rng.random((n_paths, horizon)) < 1.0 / block
    new[:, 0] = True
    days = np.arange(horizon)
    first = np.maximum.accumulate(np.where(new, days, 0), axis=1)  # day the current block began
    rows = np.arange(n_paths)[:, None]
    return (starts[rows, first] + (days - first)) % n_obs


def govern_paths(
    path_returns: Any, config: BookConfig | GovernorConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Run the drawdown governor along paths of daily book returns (vectorised over paths).

    The book trades once a day at the close: the exposure on day ``t`` is the multiplier the
    governor set at the close of day ``t - 1`` from the governed path's own equity, so the
    governed return is ``m_{t-1} * r_t`` (``m = 1`` before the first day). Each close updates
    the state exactly as :class:`riskbook.book.DrawdownGovernor` does: running peak, drawdown
    (vol-adjusted when the config says so, at ``portfolio_vol.target``), the curve ``m(DD)``,
    the cooloff (flat for ``cooloff_days`` days once the effective drawdown reaches
    ``hard_cap``) and, when it ends, the peak lowered so the book re-enters at ``floor_at``.
    Kill tiers are not applied (they only cut further). Returns scale linearly with exposure
    (no costs), so feed the returns of the book at full exposure.

    Parameters
    ----------
    path_returns
        ``(n_paths, horizon)`` daily returns at full exposure (1-D: one path).
    config
        ``BookConfig`` or ``GovernorConfig``; seed 003's defaults when None.

    Returns
    -------
    governed : numpy.ndarray
        The governed daily returns, same shape.
    multipliers : numpy.ndarray
        The exposure multiplier applied on each day, same shape.

    Examples
    --------
    >>> import numpy as np
    >>> g, m = govern_paths(np.array([-0.10, -0.10, -0.10, 0.05]))
    >>> np.round(m, 4).tolist()  # 10% down: m = 1 - 0.8 * 5/7; then the floor; then the cooloff
    [1.0, 0.4286, 0.2, 0.0]
    >>> np.round(g, 4).tolist()
    [-0.1, -0.0429, -0.02, 0.0]
    """
    gov, vol_target = _governor_config(config)
    r = np.asarray(path_returns, dtype=float)
    one = r.ndim == 1
    if one:
        r = r[None, :]
    if r.ndim != 2 or not np.isfinite(r).all():
        raise DataError("path_returns must be finite, (n_paths, horizon)", parameter="returns")
    scale = float(effective_drawdown(1.0, gov, vol_target=vol_target))
    governed, multipliers = _govern(r, gov, scale)
    if one:
        return governed[0], multipliers[0]
    return governed, multipliers


def _govern(r: np.ndarray, gov: GovernorConfig, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The loop over days of :func:`govern_paths`; ``scale`` is the vol adjustment."""
    raw_floor = gov.floor_at / scale
    plain = replace(gov, cooloff_days=0, vol_adjusted=False)  # the curve alone
    n = len(r)
    days = np.ascontiguousarray(r.T)  # one contiguous row per day
    equity = np.ones(n)
    peak = np.ones(n)
    cool = np.zeros(n, dtype=np.int64)  # day of the cooloff (1-based), 0 outside one
    m = np.ones(n)
    governed = np.empty_like(days)
    multipliers = np.empty_like(days)
    for t in range(len(days)):
        multipliers[t] = m
        governed[t] = m * days[t]
        equity = equity * (1.0 + governed[t])
        if gov.cooloff_days > 0:
            ending = cool >= gov.cooloff_days
            cool = np.where(ending, 0, np.where(cool > 0, cool + 1, 0))
            if raw_floor < 1.0:
                rebased = equity / (1.0 - raw_floor)
                peak = np.where(ending & (rebased < peak), rebased, peak)
        peak = np.maximum(peak, equity)
        effective = np.maximum(0.0, 1.0 - equity / peak) * scale
        if gov.cooloff_days > 0:
            cool = np.where((cool == 0) & (effective >= gov.hard_cap), 1, cool)
        m = np.where(cool > 0, 0.0, drawdown_multiplier(effective, plain))
    return governed.T, multipliers.T


def _mc_chunk(task: tuple) -> np.ndarray:
    """One chunk of Monte Carlo paths (top-level and plain arguments: runs on any executor)."""
    series, n_paths, horizon, block, governor, scale, seed = task
    rng = np.random.default_rng(seed)
    idx = stationary_bootstrap_indices(len(series), n_paths, horizon, block, rng)
    paths = series[idx]
    governed, multipliers = _govern(paths, governor, scale)
    dd, loss = _max_drawdowns(paths)
    dd_g, loss_g = _max_drawdowns(governed)
    return np.column_stack([dd, loss, dd_g, loss_g, multipliers.mean(axis=1)])


def _stressed_series(
    R: np.ndarray, w: np.ndarray, stress_vol: float, stress_correlation: float
) -> tuple[np.ndarray, dict[str, float]]:
    """Component returns re-coloured to the stressed covariance, as the book's daily series."""
    X = R - R.mean(axis=0)
    S = X.T @ X / (len(X) - 1)
    sd = np.sqrt(np.diag(S))
    if (sd <= 0).any():
        bad = int(np.argmax(sd <= 0))
        raise DataError(f"component {bad} has zero variance", parameter="portfolio_returns")
    C = S / np.outer(sd, sd)
    C_s = (1.0 - stress_correlation) * C + stress_correlation * np.ones_like(C)
    S_s = stress_vol**2 * C_s * np.outer(sd, sd)

    def sqrt_psd(M: np.ndarray, inverse: bool = False) -> np.ndarray:
        vals, vecs = np.linalg.eigh(M)
        vals = np.clip(vals, 0.0, None)
        if inverse:
            tol = vals.max() * len(vals) * np.finfo(float).eps
            vals = np.where(vals > tol, 1.0 / np.sqrt(np.where(vals > tol, vals, 1.0)), 0.0)
        else:
            vals = np.sqrt(vals)
        return (vecs * vals) @ vecs.T

    A = sqrt_psd(S_s) @ sqrt_psd(S, inverse=True)  # A S A' = S_s when S is invertible
    series = X @ (A.T @ w)
    info = {
        "vol": float(np.sqrt(w @ S @ w)),
        "stressed_vol": float(np.sqrt(max(w @ S_s @ w, 0.0))),
    }
    return series, info


@dataclass(frozen=True)
class MonteCarloStress:
    """Distribution of drawdowns and losses over simulated paths, with and without the governor.

    Attributes
    ----------
    paths
        One row per path: ``max_drawdown``, ``final_loss`` (ungoverned), ``max_drawdown_governed``,
        ``final_loss_governed`` and ``mean_exposure`` (the governed path's average multiplier).
    summary
        Rows ``max_drawdown``, ``max_drawdown_governed``, ``final_loss``,
        ``final_loss_governed``; columns ``q50``, ``q95``, ``q99``, ``worst`` and ``p_breach``
        (the share of paths at or beyond the hard cap).
    hard_cap
        The cap the breaches are counted against.
    settings
        The method and its parameters, including the daily vol of the series resampled.
    """

    paths: pd.DataFrame
    summary: pd.DataFrame
    hard_cap: float
    settings: dict[str, Any] = field(default_factory=dict)


def monte_carlo_stress(
    portfolio_returns: Any,
    *,
    weights: Any = None,
    n_paths: int = 1000,
    horizon: int = 252,
    block: float = 21,
    seed: int | None = 0,
    config: BookConfig | GovernorConfig | None = None,
    method: str = "block_bootstrap",
    stress_vol: float = 2.0,
    stress_correlation: float = 0.5,
    chunk_size: int = 1000,
    executor: Any = "serial",
    progress: Progress | None = None,
) -> MonteCarloStress:
    """Simulated paths of the book, with and without the drawdown governor.

    ``method="block_bootstrap"`` resamples the book's daily returns with the stationary
    bootstrap (Politis & Romano 1994: blocks of geometric length with mean ``block``, circular;
    :func:`stationary_bootstrap_indices`), keeping fat tails and volatility clustering up to
    about a block. ``method="factor_shock"`` first re-colours the history to a stressed
    covariance and then bootstraps it the same way: with component returns ``R`` (T x K:
    assets, sleeves or factors) and the book's ``weights`` on them, the sample covariance
    ``S = D C D`` becomes ``S_s = (k D) ((1 - c) C + c 11') (k D)`` with ``k = stress_vol`` and
    ``c = stress_correlation`` (vol times k, every correlation blended toward 1), each day's
    demeaned component returns ``x`` are mapped to ``A x`` with ``A = S_s^(1/2) S^(-1/2)`` (so
    their covariance is exactly ``S_s`` while tails and clustering are kept), and the book
    earns ``w' A x``. The stressed series has zero mean: no drift cushions the stress. With a
    1-D series (no components) it is the demeaned series times ``stress_vol``.

    Each path is then run through :func:`govern_paths` (the governor's curve and cooloff,
    path-wise), so the input should be the book's returns at full exposure (a backtest whose
    governor is effectively off, e.g. ``GovernorConfig(start=10, floor_at=11, hard_cap=12)`` and
    kill tiers above 1; a governed backtest's returns are governed twice). Drawdowns are from
    the path's running peak (its true high-water mark), losses from the start (1 - final
    equity; negative for a gain).

    Paths are cut into chunks of ``chunk_size``; chunk ``i`` draws from ``task_seeds(seed,
    n_chunks)[i]`` and runs through ``resolve_executor(executor).map``, so a given (``seed``,
    ``n_paths``, ``chunk_size``) gives the same paths on every executor.

    Parameters
    ----------
    portfolio_returns
        The book's daily returns (1-D array or Series), or T x K component returns (array or
        DataFrame) together with ``weights``.
    weights
        Book weights on the K components (required for 2-D input).
    n_paths, horizon
        Number of paths and days per path.
    block
        Mean block length of the bootstrap in days (1: i.i.d.).
    seed
        Seed of :func:`riskbook.validate.executor.task_seeds`.
    config
        ``BookConfig`` or ``GovernorConfig``; seed 003's defaults when None.
    method
        ``"block_bootstrap"`` or ``"factor_shock"``.
    stress_vol, stress_correlation
        The factor-shock stress: vol multiplier (> 0) and blend of correlations toward 1
        (in [0, 1]).
    chunk_size
        Paths per task.
    executor, progress
        Passed to :func:`riskbook.validate.executor.resolve_executor` and its ``map``.

    Returns
    -------
    MonteCarloStress

    Raises
    ------
    DataError
        Returns with NaN or infinite values, fewer than 2 rows, weights that do not match the
        components, or a component with zero variance (factor shock).
    ConfigError
        An unknown method or executor, or a parameter out of range (named).

    Examples
    --------
    >>> import numpy as np
    >>> r = np.random.default_rng(1).normal(0.0, 0.01, 500)
    >>> out = monte_carlo_stress(r, n_paths=200, horizon=63, seed=3)
    >>> list(out.summary.columns)
    ['q50', 'q95', 'q99', 'worst', 'p_breach']
    >>> len(out.paths), bool((out.paths["mean_exposure"] <= 1).all())
    (200, True)
    """
    if method not in ("block_bootstrap", "factor_shock"):
        raise ConfigError(
            f"unknown method {method!r}: use 'block_bootstrap' or 'factor_shock'",
            parameter="method",
        )
    n_paths = _positive_int(n_paths, "n_paths")
    horizon = _positive_int(horizon, "horizon")
    chunk_size = _positive_int(chunk_size, "chunk_size")
    block = _fraction(block, "block", 1.0, math.inf)
    stress_vol = _fraction(stress_vol, "stress_vol", 0.0, math.inf)
    stress_correlation = _fraction(stress_correlation, "stress_correlation", 0.0, 1.0)
    if stress_vol == 0.0:
        raise ConfigError("stress_vol must be > 0", parameter="stress_vol")
    gov, vol_target = _governor_config(config)

    if isinstance(portfolio_returns, pd.DataFrame | pd.Series):
        R = portfolio_returns.to_numpy(dtype=float)
    else:
        try:
            R = np.asarray(portfolio_returns, dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError("returns must be numbers", parameter="portfolio_returns") from exc
    if R.ndim == 1:
        R = R[:, None]
        w = np.ones(1)
        if weights is not None:
            w = _aligned_weights(weights, None, 1)
    elif R.ndim == 2:
        if weights is None:
            if R.shape[1] != 1:
                raise DataError("component returns need the book's weights", parameter="weights")
            w = np.ones(1)
        else:
            cols = (
                [str(c) for c in portfolio_returns.columns]
                if isinstance(portfolio_returns, pd.DataFrame)
                else None
            )
            w = _aligned_weights(weights, cols, R.shape[1])
    else:
        raise DataError("returns must be 1-D or T x K", parameter="portfolio_returns")
    if len(R) < 2:
        raise DataError("need at least 2 returns", parameter="portfolio_returns")
    bad = ~np.isfinite(R)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        date = portfolio_returns.index[row] if hasattr(portfolio_returns, "index") else None
        raise DataError(
            f"returns must be finite (row {row})", date=date, parameter="portfolio_returns"
        )

    settings: dict[str, Any] = {
        "method": method,
        "bootstrap": "stationary (Politis-Romano), circular",
        "n_paths": n_paths,
        "horizon": horizon,
        "block": block,
        "seed": seed,
        "chunk_size": chunk_size,
    }
    if method == "factor_shock":
        series, info = _stressed_series(R, w, stress_vol, stress_correlation)
        settings |= {
            "stress_vol": stress_vol,
            "stress_correlation": stress_correlation,
            "daily_vol": info["vol"],
            "stressed_daily_vol": info["stressed_vol"],
        }
    else:
        series = R @ w
        settings["daily_vol"] = float(series.std(ddof=1))

    sizes = [chunk_size] * (n_paths // chunk_size)
    if n_paths % chunk_size:
        sizes.append(n_paths % chunk_size)
    seeds = task_seeds(seed, len(sizes))
    scale = float(effective_drawdown(1.0, gov, vol_target=vol_target))
    tasks = [
        (series, size, horizon, block, gov, scale, s) for size, s in zip(sizes, seeds, strict=True)
    ]
    chunks = resolve_executor(executor).map(_mc_chunk, tasks, progress=progress)
    stats = np.vstack(chunks)
    paths = pd.DataFrame(
        stats,
        columns=[
            "max_drawdown",
            "final_loss",
            "max_drawdown_governed",
            "final_loss_governed",
            "mean_exposure",
        ],
    )
    paths.index.name = "path"
    rows = {}
    for col in ("max_drawdown", "max_drawdown_governed", "final_loss", "final_loss_governed"):
        x = paths[col].to_numpy()
        q = np.quantile(x, [0.5, 0.95, 0.99])
        rows[col] = {
            "q50": q[0],
            "q95": q[1],
            "q99": q[2],
            "worst": float(x.max()),
            "p_breach": float(np.mean(x >= gov.hard_cap)),
        }
    summary = pd.DataFrame.from_dict(rows, orient="index")
    return MonteCarloStress(paths, summary, gov.hard_cap, settings)
