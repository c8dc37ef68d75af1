"""Live shadow run (seed 003 s.10): two allocators side by side on the same data.

Each side is either an **allocator** as in :func:`~riskbook.validate.walk_forward` (a built-in
name or a callable ``f(train_returns) -> weights``), run through the walk-forward machinery, or
a :class:`~riskbook.BacktestResult` already computed (e.g. the current production path through
:func:`riskbook.backtest`). When both are allocators they run in one walk-forward, on the same
folds, costs and volatility target, and the ex-ante tracking error is available too.

What is compared, on the dates both sides have:

- realised volatility over a rolling ``window`` against the target (if any);
- turnover at each refit or decision (traded value over equity; see below) and gross exposure;
- the tracking difference ``d_t = r_a,t - r_b,t``, its rolling and full-sample annualised
  standard deviation (the ex-post tracking error) and its annualised mean;
- with two allocators, the ex-ante tracking error at each refit:
  ``sqrt((w_a - w_b)' S (w_a - w_b) * periods_per_year)`` with ``S`` the fold's training
  covariance (:func:`~riskbook.validate.walk_forward.training_covariance`), held until the
  next refit.

For a BacktestResult the returns are those of its daily equity, the gross exposure is at each
session's close, and the turnover of a decision is the value it traded (at the reference
price) over the equity the engine sized it on (cash and positions before the decision, at the
decision bar's close), the walk-forward's definition.

Examples
--------
>>> import numpy as np, pandas as pd
>>> r = pd.DataFrame(np.random.default_rng(0).normal(0.0003, 0.01, (300, 3)),
...                  index=pd.bdate_range("2021-01-01", periods=300), columns=list("ABC"))
>>> res = shadow("hrp", "equal_weight", r, names=("HRP", "1/N"), train=100, test=20)
>>> list(res.summary().index)
['HRP', '1/N', 'HRP - 1/N']
>>> res.tracking_error > 0
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskbook.errors import ConfigError, DataError
from riskbook.simulate.metrics import performance
from riskbook.simulate.result import BacktestResult
from riskbook.validate.executor import Progress
from riskbook.validate.walk_forward import (
    WalkForwardResult,
    returns_matrix,
    training_covariance,
    walk_forward,
)

__all__ = ["ShadowResult", "shadow"]

#: Columns of :attr:`ShadowResult.timeseries`, in order.
COLUMNS = (
    "return_a",
    "return_b",
    "rolling_vol_a",
    "rolling_vol_b",
    "target_vol_a",
    "target_vol_b",
    "gross_a",
    "gross_b",
    "turnover_a",
    "turnover_b",
    "tracking_difference",
    "rolling_tracking_error",
    "ex_ante_tracking_error",
)


@dataclass(frozen=True, eq=False)
class ShadowResult:
    """Two allocators over the same dates: their risk, trading and tracking, day by day.

    Attributes
    ----------
    names : tuple of str
        The two sides' names, ``a`` first.
    timeseries : DataFrame
        One row per common date, columns :data:`COLUMNS`: each side's net return, rolling
        realised and target volatility (annualised), gross exposure, turnover (0 on days
        without a trade decision), then the tracking difference ``return_a - return_b``, its
        rolling annualised standard deviation and the ex-ante tracking error (NaN when not
        available: before the first refit, or unless both sides are allocators).
    walk_forward : WalkForwardResult or None
        The walk-forward that ran the allocator sides, if any.
    ex_ante : Series or None
        The ex-ante tracking error at each refit (both sides allocators), else None.
    settings : dict
        Window, annualisation and where each side came from.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> r = pd.DataFrame(np.random.default_rng(1).normal(0, 0.01, (200, 2)),
    ...                  index=pd.bdate_range("2021-01-01", periods=200), columns=["A", "B"])
    >>> res = shadow("inverse_vol", "inverse_vol", r, names=("live", "shadow"), train=60)
    >>> res.tracking_error, res.ex_ante_tracking_error
    (0.0, 0.0)
    """

    names: tuple[str, str]
    timeseries: pd.DataFrame
    walk_forward: WalkForwardResult | None
    ex_ante: pd.Series | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def tracking_difference(self) -> float:
        """Annualised mean of ``return_a - return_b`` (``mean * periods_per_year``)."""
        d = self.timeseries["tracking_difference"].to_numpy()
        return float(d.mean() * self.settings["periods_per_year"])

    @property
    def tracking_error(self) -> float:
        """Annualised standard deviation (ddof=1) of ``return_a - return_b``: ex post."""
        d = self.timeseries["tracking_difference"].to_numpy()
        return float(d.std(ddof=1) * math.sqrt(self.settings["periods_per_year"]))

    @property
    def ex_ante_tracking_error(self) -> float:
        """Mean of the ex-ante tracking error over the refits (NaN unless both are allocators)."""
        if self.ex_ante is None or len(self.ex_ante) == 0:
            return math.nan
        return float(self.ex_ante.mean())

    def summary(self) -> pd.DataFrame:
        """Each side's statistics, and a third row for their difference.

        Rows ``name_a``, ``name_b`` and ``"name_a - name_b"``. For the two sides: ``sharpe``,
        ``annual_return`` (CAGR), ``volatility`` (realised, annualised), ``target_vol``,
        ``max_drawdown`` (from :func:`riskbook.simulate.metrics.performance`),
        ``annual_turnover`` (summed turnover per year of rows) and ``mean_gross`` (mean gross
        exposure). For the difference row: ``tracking_difference`` (annualised mean),
        ``tracking_error`` (ex post, annualised), ``information_ratio`` (their ratio, NaN for a
        zero tracking error) and ``ex_ante_tracking_error`` (mean over refits). Cells that do
        not apply to a row are NaN.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> r = pd.DataFrame(np.random.default_rng(2).normal(0, 0.01, (200, 2)),
        ...                  index=pd.bdate_range("2021-01-01", periods=200), columns=["A", "B"])
        >>> s = shadow("hrp", "equal_weight", r, train=60, test=20).summary()
        >>> s.loc["a - b", ["sharpe", "tracking_error"]].isna().tolist()
        [True, False]
        """
        ts = self.timeseries
        ppy = float(self.settings["periods_per_year"])
        years = len(ts) / ppy
        dates = ts.index.to_numpy()
        rows: dict[str, dict[str, float]] = {}
        for side, name in zip(("a", "b"), self.names, strict=True):
            r = ts[f"return_{side}"].to_numpy()
            equity = np.r_[1.0, np.cumprod(1.0 + r)]  # 1 just before the first row
            perf = performance(equity, np.r_[dates[:1], dates], periods_per_year=ppy)
            rows[name] = {
                "sharpe": perf["sharpe"],
                "annual_return": perf["cagr"],
                "volatility": perf["volatility"],
                "target_vol": float(ts[f"target_vol_{side}"].iloc[0]),
                "max_drawdown": perf["max_drawdown"],
                "annual_turnover": float(ts[f"turnover_{side}"].sum()) / years,
                "mean_gross": float(ts[f"gross_{side}"].mean()),
            }
        td, te = self.tracking_difference, self.tracking_error
        rows[f"{self.names[0]} - {self.names[1]}"] = {
            "tracking_difference": td,
            "tracking_error": te,
            "information_ratio": td / te if te > 0 else math.nan,
            "ex_ante_tracking_error": self.ex_ante_tracking_error,
        }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("side")


@dataclass(frozen=True)
class _Track:
    """One side, reduced to what the comparison needs (all indexed by date)."""

    returns: pd.Series
    gross: pd.Series
    turnover: pd.Series
    target_vol: float
    source: str


def shadow(
    a: Any,
    b: Any,
    data: Any = None,
    *,
    names: tuple[str, str] = ("a", "b"),
    train: int = 252,
    test: int = 21,
    costs: float | None = 10.0,
    anchored: bool = False,
    vol_target: float | None = None,
    leverage: tuple[float, float] = (0.0, 2.0),
    window: int = 63,
    periods_per_year: float = 252,
    executor: Any = "serial",
    progress: Progress | None = None,
) -> ShadowResult:
    """Run two allocators side by side and compare their risk, trading and tracking.

    Parameters
    ----------
    a, b
        Each an allocator (built-in name or callable, as in
        :func:`~riskbook.validate.walk_forward`) or a :class:`~riskbook.BacktestResult`.
    data
        The MarketData or DataFrame of returns the allocators run on; unused (may be None)
        when both sides are BacktestResults.
    names
        Names of the two sides, distinct.
    train, test, costs, anchored, vol_target, leverage, periods_per_year, executor, progress
        As in :func:`~riskbook.validate.walk_forward`, for the allocator sides.
        ``vol_target`` is also reported as the target of BacktestResult sides.
    window
        Rows of the rolling realised volatility and tracking error (>= 2).

    Returns
    -------
    ShadowResult

    Raises
    ------
    ConfigError
        Equal names, a bad ``window``, a side that is neither an allocator nor a
        BacktestResult, or allocators without ``data``; and as
        :func:`~riskbook.validate.walk_forward`.
    DataError
        The two sides share no date; and as :func:`~riskbook.validate.walk_forward`.

    Examples
    --------
    Two constant-weight allocators, all in A against all in B: the tracking difference is the
    difference of the two assets' returns.

    >>> import numpy as np, pandas as pd
    >>> r = pd.DataFrame(np.random.default_rng(3).normal(0, 0.01, (120, 2)),
    ...                  index=pd.bdate_range("2021-01-01", periods=120), columns=["A", "B"])
    >>> def all_a(x): return np.array([1.0, 0.0])
    >>> def all_b(x): return np.array([0.0, 1.0])
    >>> res = shadow(all_a, all_b, r, train=60, test=30, costs=0)
    >>> d = (r["A"] - r["B"]).iloc[60:]
    >>> bool(np.allclose(res.timeseries["tracking_difference"].iloc[1:], d, atol=1e-15))
    True
    """
    if len(names) != 2 or str(names[0]) == str(names[1]):
        raise ConfigError(f"names must be two distinct names, got {names!r}", parameter="names")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ConfigError(f"window must be an integer >= 2, got {window!r}", parameter="window")
    names = (str(names[0]), str(names[1]))
    sides = (a, b)
    for side, name in zip(sides, names, strict=True):
        if not (isinstance(side, BacktestResult | str) or callable(side)):
            raise ConfigError(
                f"side {name!r} must be an allocator (built-in name or callable) or a "
                f"BacktestResult, got {type(side).__name__}",
                parameter="a" if side is a else "b",
            )
    allocators = {n: s for n, s in zip(names, sides, strict=True) if not _is_result(s)}
    if isinstance(periods_per_year, bool) or not (
        isinstance(periods_per_year, int | float | np.number)
        and math.isfinite(periods_per_year)
        and periods_per_year > 0
    ):
        raise ConfigError(
            f"periods_per_year must be a positive number, got {periods_per_year!r}",
            parameter="periods_per_year",
        )
    ppy = float(periods_per_year)
    wf = None
    if allocators:
        if data is None:
            raise ConfigError("allocators need data to run on", parameter="data")
        wf = walk_forward(
            data,
            allocators,
            train=train,
            test=test,
            costs=costs,
            anchored=anchored,
            vol_target=vol_target,
            leverage=leverage,
            periods_per_year=ppy,
            executor=executor,
            progress=progress,
        )
    target = math.nan if vol_target is None else float(vol_target)
    tracks = [
        _from_backtest(s, target) if _is_result(s) else _from_walk_forward(wf, n, target)
        for n, s in zip(names, sides, strict=True)
    ]
    common = tracks[0].returns.index.intersection(tracks[1].returns.index)
    if len(common) == 0:
        raise DataError("the two sides share no date", parameter="b")
    ex_ante = None
    if len(allocators) == 2:
        assert wf is not None
        ex_ante = _ex_ante_tracking_error(wf, data, names, ppy)
    frame = _timeseries(tracks, common, window, ppy, ex_ante)
    return ShadowResult(
        names=names,
        timeseries=frame,
        walk_forward=wf,
        ex_ante=ex_ante,
        settings={
            "window": int(window),
            "periods_per_year": ppy,
            "sources": tuple(t.source for t in tracks),
        },
    )


def _is_result(side: Any) -> bool:
    return isinstance(side, BacktestResult)


def _from_walk_forward(wf: WalkForwardResult | None, name: str, target: float) -> _Track:
    assert wf is not None
    return _Track(
        returns=wf.returns[name],
        gross=wf.gross_exposure[name],
        turnover=wf.turnover[name],
        target_vol=target,
        source=f"walk_forward({wf.allocators[name]})",
    )


def _from_backtest(result: BacktestResult, target: float) -> _Track:
    equity = result.daily_equity()
    returns = equity.pct_change().iloc[1:]
    frame = result.to_frame()
    gross = frame["gross_exposure"].groupby(frame.index.normalize()).last()
    trades = result.trades
    traded = (
        (trades["quantity"].abs() * trades["reference_price"])
        .groupby(trades["decision_time"])
        .sum()
    )
    # The equity the engine sized the orders on: the holdings and cash before the decision,
    # at the decision bar's close.
    bar = np.searchsorted(result.dates, traded.index.to_numpy("datetime64[ns]"))
    before = bar - 1
    held = result.positions.to_numpy()[np.maximum(before, 0)]
    held[before < 0] = 0.0
    value = np.where(held != 0, held * result.close[bar], 0.0).sum(axis=1)
    cash = np.where(before >= 0, result.cash_values[np.maximum(before, 0)], result.initial_cash)
    turnover = pd.Series(traded.to_numpy() / (cash + value), index=traded.index.normalize())
    turnover = turnover.groupby(level=0).sum()
    return _Track(returns, gross, turnover, target, "backtest")


def _ex_ante_tracking_error(
    wf: WalkForwardResult, data: Any, names: tuple[str, str], ppy: float
) -> pd.Series:
    """Ex-ante tracking error at each refit, on the fold's training covariance."""
    R, dates, _ = returns_matrix(data)
    folds = wf.folds
    lo = np.searchsorted(dates, folds["train_start"].to_numpy("datetime64[ns]"))
    hi = np.searchsorted(dates, folds["train_end"].to_numpy("datetime64[ns]")) + 1
    valid = ~wf.excluded.to_numpy()
    dw = wf.weights[names[0]].to_numpy() - wf.weights[names[1]].to_numpy()
    te = np.empty(len(folds))
    for k in range(len(folds)):
        cols = np.flatnonzero(valid[k])
        x = dw[k, cols]
        if not x.any():
            te[k] = 0.0
            continue
        cov = training_covariance(R[lo[k] : hi[k]][:, cols])
        te[k] = math.sqrt(max(float(x @ cov @ x), 0.0) * ppy)
    return pd.Series(te, index=wf.refit_dates, name="ex_ante_tracking_error")


def _timeseries(
    tracks: list[_Track],
    common: pd.Index,
    window: int,
    ppy: float,
    ex_ante: pd.Series | None,
) -> pd.DataFrame:
    root = math.sqrt(ppy)
    out: dict[str, Any] = {}
    returns = [t.returns.reindex(common) for t in tracks]
    for side, track, r in zip(("a", "b"), tracks, returns, strict=True):
        out[f"return_{side}"] = r
        out[f"rolling_vol_{side}"] = r.rolling(window, min_periods=window).std() * root
        out[f"target_vol_{side}"] = pd.Series(track.target_vol, index=common)
        out[f"gross_{side}"] = track.gross.reindex(common)
        out[f"turnover_{side}"] = track.turnover.reindex(common, fill_value=0.0)
    diff = returns[0] - returns[1]
    out["tracking_difference"] = diff
    out["rolling_tracking_error"] = diff.rolling(window, min_periods=window).std() * root
    out["ex_ante_tracking_error"] = (
        pd.Series(np.nan, index=common)
        if ex_ante is None
        else ex_ante.reindex(common.union(ex_ante.index)).ffill().reindex(common)
    )
    frame = pd.DataFrame({key: np.asarray(out[key], dtype=float) for key in COLUMNS}, index=common)
    frame.index.name = "date"
    return frame
