"""Combined-portfolio walk-forward and the benchmark ladder of seed 003 s.10.

At every refit the allocators see only the ``train`` rows strictly before the test window, their
weights are bought at the refit date's close and then held, drifting with prices, through the
test window; the out-of-sample returns of the chained windows are net of a cost in basis points
of the traded value. The verdict of the seed follows: HRP must beat 1/N-risk (inverse
volatility) net of costs, or 1/N-risk ships.

Conventions
-----------
- **Rows.** ``data`` is a table of simple returns (dates x assets), or a
  :class:`~riskbook.MarketData` whose close-to-close simple returns are used (minute data is
  aggregated to daily bars first). Row ``j`` is the return from the close before ``dates[j]``
  to the close of ``dates[j]``.
- **Folds.** Test windows are consecutive blocks of ``test`` rows starting at row ``train``;
  the last one may be shorter (whatever rows are left). Fold ``k`` tests rows
  ``[s_k, s_k + test)`` with ``s_k = train + k * test`` and trains on rows
  ``[s_k - train, s_k)`` (rolling) or ``[0, s_k)`` (``anchored=True``). Its **refit date** is
  ``dates[s_k - 1]``, the last training row: the decision is taken at that close and filled at
  that close (``riskbook.backtest(..., fill="close")``), so no decision sees a later row.
- **step.** Only ``step == test`` (the default) is accepted. The out-of-sample path is one
  portfolio held from refit to refit, so a refit every ``step`` rows *is* a test window of
  ``step`` rows: overlapping windows (``step < test``) would hold two portfolios at once and
  gaps (``step > test``) would leave days out of the track. To refit more often, lower ``test``.
- **Drift.** Inside a test window the positions are buy and hold: a position worth ``w_i E``
  at the refit is worth ``w_i E prod(1 + r_i)`` later, not rebalanced daily back to ``w``. The
  weights are fractions of the equity ``E`` before the trade; the remainder ``1 - sum(w)``
  (and, with ``vol_target``, any borrowing ``sum(w) - 1``) is cash earning 0%.
- **Costs.** ``costs`` is a number of basis points charged on the traded value at each refit:
  ``fee = costs * 1e-4 * sum_i |w_i E - h_i|`` with ``h`` the drifted positions (zero before the
  first refit, so the first purchase is paid for). The fee is paid out of cash on the refit
  date, as :func:`riskbook.backtest` does with ``costs=<bps>``: the refit date's return
  includes it, and the first row of the result is the first refit date, whose return is minus
  the cost of the first purchase. Returns are therefore **net** of costs. (Since the weights
  are of the equity before the fee, a fully invested portfolio borrows its fee at 0% until the
  next refit, which sells that much back: a portfolio whose weights did not drift still trades
  its last fee.) ``turnover`` is ``sum_i |w_i - h_i / E|`` (two-way, a fraction of pre-trade
  equity; 1.0 for the first purchase of a fully invested portfolio).
- **Missing data.** An asset with a NaN anywhere in a fold's training window is left out of that
  fold: the allocator sees the other columns only and the asset's weight is 0. Which assets were
  left out of which fold is in ``WalkForwardResult.excluded`` and ``.notes``; nothing else is
  changed. (With ``anchored=True`` a late-starting asset therefore never
  enters: use rolling windows for such data.) A held asset whose return is NaN inside a test
  window (e.g. delisted) is a :class:`~riskbook.errors.DataError` naming it and the date; a
  constant asset in a training window is one too (give periods without data as NaN, not 0).
- **Allocators.** A built-in name (:data:`BUILTINS`) or a callable ``f(train_returns) ->
  weights`` taking the T x N' array of the fold's usable columns (no NaN) and returning N'
  finite weights (fractions of equity, any sum). Built-ins work on the Ledoit-Wolf covariance
  with the constant-correlation target (seed 003 s.5, the book's default) of the training
  window: ``"hrp"`` (:func:`~riskbook.optimize.hrp`), ``"erc"``
  (:func:`~riskbook.optimize.risk_parity`), ``"inverse_vol"`` (1/N-risk,
  :func:`~riskbook.optimize.inverse_volatility`), ``"equal_weight"`` (1/N) and
  ``"min_variance"`` (long-only, fully invested, :func:`~riskbook.optimize.min_variance`).
- **Volatility target.** With ``vol_target`` each strategy's weights are scaled at each refit
  by ``L = clip(vol_target / sigma, *leverage)`` with ``sigma = sqrt(w' S w * periods_per_year)``
  on the same training covariance (ex ante); the rest is cash at 0%.
- **Execution.** The allocations run as tasks of up to ``FOLDS_PER_TASK`` consecutive folds
  (every strategy of a fold shares its training covariance) through
  :func:`~riskbook.validate.executor.resolve_executor`; each task is a pure function of its
  arguments, so serial, process and Dask runs give bit-identical results. The chaining of the
  windows (drift, trades, costs) is cheap and runs afterwards in this process, vectorised per
  window. A callable allocator must be picklable (a module-level function) to run on
  processes or Dask.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> r = pd.DataFrame(rng.normal(0.0004, 0.01, (400, 4)), columns=list("ABCD"),
...                  index=pd.bdate_range("2020-01-01", periods=400))
>>> res = walk_forward(r, train=252, test=21, costs=10)
>>> list(res.returns.columns)
['HRP', 'ERC', '1/N-risk', '1/N', 'min-variance']
>>> len(res.folds), res.returns.index[0] == r.index[251]
(8, True)
>>> res.verdict.startswith(("HRP beats", "HRP does not beat"))
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from riskbook.data.market_data import MarketData
from riskbook.errors import ConfigError, DataError, StrategyError
from riskbook.estimate import ledoit_wolf
from riskbook.optimize import (
    effective_n,
    effective_number_of_bets,
    equal_weight,
    hrp,
    inverse_volatility,
    min_variance,
    risk_parity,
)
from riskbook.simulate.metrics import performance
from riskbook.validate.executor import Progress, resolve_executor

__all__ = [
    "BUILTINS",
    "DEFAULT_LADDER",
    "FOLDS_PER_TASK",
    "WalkForwardResult",
    "returns_matrix",
    "training_covariance",
    "walk_forward",
]

#: The built-in allocators, by name.
BUILTINS: tuple[str, ...] = ("hrp", "erc", "inverse_vol", "equal_weight", "min_variance")

#: The default benchmark ladder of seed 003 s.10: display name -> built-in allocator.
DEFAULT_LADDER: Mapping[str, str] = {
    "HRP": "hrp",
    "ERC": "erc",
    "1/N-risk": "inverse_vol",
    "1/N": "equal_weight",
    "min-variance": "min_variance",
}

#: Consecutive folds one task allocates, for every strategy (fixed, so that results never
#: depend on the executor).
FOLDS_PER_TASK = 12

#: Shrinkage target of the training covariance (seed 003 s.5 and the book's default).
SHRINKAGE = "constant_correlation"

Allocator = str | Callable[[np.ndarray], Any]


# ----------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class WalkForwardResult:
    """Out-of-sample track of every strategy of a walk-forward, net of costs.

    Attributes
    ----------
    returns : DataFrame
        Net returns (dates x strategies). The first row is the first refit date (minus the cost
        of the first purchase); then every test row.
    equity : DataFrame
        Growth of 1 invested just before the first refit (``cumprod(1 + returns)``).
    gross_exposure : DataFrame
        ``sum |positions| / equity`` at every close (dates x strategies).
    weights : dict of str to DataFrame
        Per strategy, the target weights at each refit (refit dates x assets), after any
        volatility scaling; 0 for assets left out of the fold.
    turnover, costs : DataFrame
        Per refit and strategy: ``sum |w - drifted w|`` and the fee, both as fractions of the
        equity before the trade.
    leverage, ex_ante_vol : DataFrame
        Per refit and strategy: the volatility-target scale (1 without a target) and the
        annualised ex-ante volatility of the final weights on the training covariance.
    effective_n, effective_bets : DataFrame
        Per refit and strategy: :func:`~riskbook.optimize.effective_n` (inverse Herfindahl of
        the weights) and :func:`~riskbook.optimize.effective_number_of_bets` (on the training
        covariance).
    excluded : DataFrame
        Refit dates x assets, True where the asset had a NaN in the fold's training window and
        so was left out (weight 0).
    folds : DataFrame
        One row per fold: refit date, first and last training and test dates, and row counts.
    allocators : dict of str to str
        The allocator of each strategy (a built-in name, or the callable's name).
    settings : dict
        The parameters of the run.
    notes : tuple of str
        Anything worth knowing about the run (assets left out, short last window).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> r = pd.DataFrame(np.random.default_rng(1).normal(0, 0.01, (300, 3)),
    ...                  index=pd.bdate_range("2021-01-01", periods=300), columns=list("XYZ"))
    >>> res = walk_forward(r, {"ew": "equal_weight"}, train=100, test=50, costs=0)
    >>> res.weights["ew"].round(4).iloc[0].tolist()
    [0.3333, 0.3333, 0.3333]
    >>> float(res.turnover["ew"].iloc[0])  # the first purchase
    1.0
    """

    returns: pd.DataFrame
    equity: pd.DataFrame
    gross_exposure: pd.DataFrame
    weights: dict[str, pd.DataFrame]
    turnover: pd.DataFrame
    costs: pd.DataFrame
    leverage: pd.DataFrame
    ex_ante_vol: pd.DataFrame
    effective_n: pd.DataFrame
    effective_bets: pd.DataFrame
    excluded: pd.DataFrame
    folds: pd.DataFrame
    allocators: dict[str, str]
    settings: dict[str, Any]
    notes: tuple[str, ...] = ()
    _specs: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def strategies(self) -> tuple[str, ...]:
        """Strategy names, in the order given."""
        return tuple(self.returns.columns)

    @property
    def refit_dates(self) -> pd.DatetimeIndex:
        """The refit (decision) dates: the last training row of each fold."""
        return pd.DatetimeIndex(self.folds["refit_date"], name="refit_date")

    @cached_property
    def _summary(self) -> pd.DataFrame:
        ppy = float(self.settings["periods_per_year"])
        years = (len(self.returns) - 1) / ppy
        target = self.settings["vol_target"]
        dates = self.returns.index.to_numpy()
        rows = {}
        for name in self.strategies:
            perf = _performance(self.equity[name].to_numpy(), dates, ppy)
            rows[name] = {
                "sharpe": perf["sharpe"],
                "annual_return": perf["cagr"],
                "volatility": perf["volatility"],
                "target_vol": np.nan if target is None else float(target),
                "max_drawdown": perf["max_drawdown"],
                "annual_turnover": float(self.turnover[name].sum()) / years,
                "effective_n": float(self.effective_n[name].mean()),
                "effective_bets": float(self.effective_bets[name].mean()),
                "cost_drag": float(self.costs[name].sum()) / years,
            }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("strategy")

    def summary(self) -> pd.DataFrame:
        """One row per strategy: the net out-of-sample statistics.

        Columns: ``sharpe`` (annualised, net), ``annual_return`` (CAGR over calendar time),
        ``volatility`` (realised, annualised), ``target_vol`` (NaN without a target),
        ``max_drawdown`` (<= 0), ``annual_turnover`` (sum of :attr:`turnover`, first purchase
        included, per year of test rows), ``effective_n`` and ``effective_bets`` (means over the
        refits) and ``cost_drag`` (sum of :attr:`costs` per year: the arithmetic return lost to
        fees). Sharpe, return, volatility and drawdown come from
        :func:`riskbook.simulate.metrics.performance` on :attr:`equity`.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> r = pd.DataFrame(np.random.default_rng(2).normal(0, 0.01, (200, 2)),
        ...                  index=pd.bdate_range("2021-01-01", periods=200), columns=["A", "B"])
        >>> res = walk_forward(r, ["equal_weight"], train=60, test=20, costs=10)
        >>> s = res.summary()
        >>> list(s.columns)[:4]
        ['sharpe', 'annual_return', 'volatility', 'target_vol']
        >>> years = 140 / 252  # 7 test windows of 20 rows
        >>> round(float(s.loc["equal_weight", "cost_drag"] * years), 6)  # total fees paid
        0.001164
        >>> round(float(res.turnover["equal_weight"].sum()) * 10e-4, 6)  # 10 bps of turnover
        0.001164
        """
        return self._summary.copy()

    @property
    def verdict(self) -> str | None:
        """The seed's verdict: HRP against 1/N-risk (inverse volatility), net Sharpe.

        The strategies compared are the first whose allocator is the built-in ``"hrp"`` and the
        first whose allocator is ``"inverse_vol"``; None unless both are in the ladder. HRP
        "beats" only with a strictly higher net Sharpe (at full precision; printed with two
        decimals). The two formats, exactly::

            HRP beats 1/N-risk net of costs (Sharpe {a:.3f} vs {b:.3f}): ship HRP
            HRP does not beat 1/N-risk net of costs (Sharpe {a:.3f} vs {b:.3f}): ship 1/N-risk

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> r = pd.DataFrame(np.random.default_rng(3).normal(0, 0.01, (200, 2)),
        ...                  index=pd.bdate_range("2021-01-01", periods=200), columns=["A", "B"])
        >>> walk_forward(r, ["equal_weight"], train=60, test=20).verdict is None
        True
        """
        names = {
            spec: name for name, spec in reversed(self._specs.items()) if isinstance(spec, str)
        }
        if "hrp" not in names or "inverse_vol" not in names:
            return None
        sharpe = self._summary["sharpe"]
        a, b = float(sharpe[names["hrp"]]), float(sharpe[names["inverse_vol"]])
        if a > b:
            return f"HRP beats 1/N-risk net of costs (Sharpe {a:.3f} vs {b:.3f}): ship HRP"
        return f"HRP does not beat 1/N-risk net of costs (Sharpe {a:.3f} vs {b:.3f}): ship 1/N-risk"


def _performance(equity: np.ndarray, dates: np.ndarray, ppy: float) -> dict[str, float]:
    """:func:`performance` of an equity curve that starts at 1 just before its first row."""
    return performance(np.r_[1.0, equity], np.r_[dates[:1], dates], periods_per_year=ppy)


# ----------------------------------------------------------------------------- the function
def walk_forward(
    data: MarketData | pd.DataFrame,
    strategies: Mapping[str, Allocator] | Sequence[str] | None = None,
    *,
    train: int = 252,
    test: int = 21,
    step: int | None = None,
    costs: float | None = 10.0,
    anchored: bool = False,
    vol_target: float | None = None,
    leverage: tuple[float, float] = (0.0, 2.0),
    periods_per_year: float = 252,
    executor: Any = "serial",
    progress: Progress | None = None,
) -> WalkForwardResult:
    """Walk-forward of a ladder of allocators, held buy-and-hold between refits, net of costs.

    See the module notes for the exact conventions (folds, drift, costs, missing data).

    Parameters
    ----------
    data
        A :class:`~riskbook.MarketData` (close-to-close simple returns are used) or a DataFrame
        of simple returns indexed by date, one column per asset (e.g. sleeve return streams).
        At least 2 assets and ``train + test`` rows.
    strategies
        Mapping of name -> allocator: a built-in name (``"hrp"``, ``"erc"``, ``"inverse_vol"``,
        ``"equal_weight"``, ``"min_variance"``) or a callable ``f(train_returns) -> weights``
        (T x N' ndarray of the fold's usable assets in, N' weights out). A list of built-in
        names uses them as names too. None: :data:`DEFAULT_LADDER` (HRP, ERC, 1/N-risk, 1/N,
        min-variance).
    train
        Rows of the rolling training window (>= 2), and the first fold's with ``anchored``.
    test
        Rows each portfolio is held (>= 1): the refit interval.
    step
        Refit spacing; only ``None`` or ``test`` (see the module notes).
    costs
        Basis points of the traded value charged at each refit (None: 0).
    anchored
        True: every training window starts at the first row (expanding).
    vol_target
        Annualised volatility each strategy is scaled to at each refit, ex ante on the
        training covariance; None: unscaled.
    leverage
        ``(low, high)`` bounds of that scale.
    periods_per_year
        Rows per year (annualisation).
    executor
        Where the allocations run: anything :func:`~riskbook.validate.resolve_executor`
        accepts (``"serial"``, a worker count, a :class:`~riskbook.validate.ProcessExecutor`,
        a Dask client ...).
    progress
        ``progress(done, total)`` after each finished task.

    Returns
    -------
    WalkForwardResult

    Raises
    ------
    ConfigError
        A bad parameter (named), an unknown built-in (named with the valid ones).
    DataError
        Unusable data: fewer than 2 assets or too few rows, a return below -100% or infinite,
        a fold with no usable asset, a constant asset in a training window, or a NaN return of
        a held asset (symbol and date named).
    StrategyError
        An allocator raised, or returned weights of the wrong length or non-finite; names the
        strategy (``strategy`` attribute in the message) and the refit date.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> r = pd.DataFrame(np.random.default_rng(4).normal(0, 0.01, (150, 3)),
    ...                  index=pd.bdate_range("2022-01-03", periods=150), columns=list("ABC"))
    >>> def tilt(x):  # a user allocator: all in the lowest-variance asset
    ...     w = np.zeros(x.shape[1]); w[np.argmin(x.var(axis=0))] = 1.0; return w
    >>> res = walk_forward(r, {"1/N": "equal_weight", "tilt": tilt}, train=50, test=25)
    >>> res.folds["train_rows"].tolist(), res.folds["test_rows"].tolist()
    ([50, 50, 50, 50], [25, 25, 25, 25])
    >>> walk_forward(r, {"x": "hrpp"}, train=50, test=25)
    Traceback (most recent call last):
    ...
    riskbook.errors.ConfigError: unknown allocator 'hrpp' for strategy 'x'; the built-ins are equal_weight, erc, hrp, inverse_vol, min_variance [parameter=strategies]
    """
    train, test = _check_int(train, "train", 2), _check_int(test, "test", 1)
    if step is not None and (isinstance(step, bool) or step != test):
        raise ConfigError(
            f"step must equal test ({test}), got {step!r}: the out-of-sample track holds one "
            "portfolio from refit to refit, so the refit spacing is the test window; lower "
            "test to refit more often",
            parameter="step",
        )
    bps = _check_costs(costs)
    ppy = _check_positive(periods_per_year, "periods_per_year")
    vt = None if vol_target is None else _check_positive(vol_target, "vol_target")
    lev = _check_leverage(leverage)
    specs = _resolve_strategies(strategies)
    R, dates, symbols = returns_matrix(data)
    n_rows = R.shape[0]
    if n_rows < train + test:
        raise DataError(
            f"{n_rows} rows of returns, but one fold needs train + test = {train + test}",
            parameter="data",
        )
    plan = _plan_folds(R, train, test, anchored)
    if not plan.valid.any(axis=1).all():
        k = int(np.argmin(plan.valid.any(axis=1)))
        raise DataError(
            "no asset has a complete training window for this refit",
            date=dates[plan.starts[k] - 1],
            parameter="data",
        )
    tasks = _make_tasks(R, plan, specs, vt, lev, ppy)
    runner = resolve_executor(executor)
    done = runner.map(_allocate, tasks, progress=progress)
    for out in done:
        if "error" in out:
            _raise_task_error(out, dates[plan.starts - 1], symbols)
    alloc = {
        name: {key: np.concatenate([out[name][key] for out in done]) for key in done[0][name]}
        for name in specs
    }
    return _assemble(
        R, dates, symbols, plan, specs, alloc, bps, anchored, vt, lev, ppy, runner.name
    )


# ----------------------------------------------------------------------------- checks
def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}", parameter=name)
    return int(value)


def _check_positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ConfigError(f"{name} must be a positive number, got {value!r}", parameter=name)
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}", parameter=name)
    return float(value)


def _check_costs(costs: Any) -> float:
    if costs is None:
        return 0.0
    if isinstance(costs, bool) or not isinstance(costs, int | float | np.number):
        raise ConfigError(
            f"costs must be a number of basis points of the traded value, got {costs!r}",
            parameter="costs",
        )
    if not (math.isfinite(costs) and costs >= 0):
        raise ConfigError(f"costs must be >= 0 basis points, got {costs!r}", parameter="costs")
    return float(costs)


def _check_leverage(leverage: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in leverage)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"leverage must be a pair (low, high), got {leverage!r}", parameter="leverage"
        ) from exc
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi and hi > 0):
        raise ConfigError(
            f"leverage bounds must satisfy 0 <= low <= high, high > 0, got {leverage!r}",
            parameter="leverage",
        )
    return lo, hi


def _resolve_strategies(strategies: Any) -> dict[str, Allocator]:
    if strategies is None:
        return dict(DEFAULT_LADDER)
    if isinstance(strategies, str):
        strategies = [strategies]
    if isinstance(strategies, Mapping):
        items = [(str(k), v) for k, v in strategies.items()]
    elif isinstance(strategies, Sequence) and all(isinstance(s, str) for s in strategies):
        items = [(s, s) for s in strategies]
    else:
        raise ConfigError(
            "strategies must map names to allocators (built-in names or callables), or list "
            "built-in names",
            parameter="strategies",
        )
    if not items:
        raise ConfigError("no strategies given", parameter="strategies")
    names = [k for k, _ in items]
    if len(set(names)) != len(names):
        dup = next(k for k in names if names.count(k) > 1)
        raise ConfigError(f"strategy {dup!r} given twice", parameter="strategies")
    for name, spec in items:
        if isinstance(spec, str):
            if spec not in BUILTINS:
                raise ConfigError(
                    f"unknown allocator {spec!r} for strategy {name!r}; the built-ins are "
                    f"{', '.join(sorted(BUILTINS))}",
                    parameter="strategies",
                )
        elif not callable(spec):
            raise ConfigError(
                f"the allocator of strategy {name!r} must be a built-in name or a callable, "
                f"got {spec!r}",
                parameter="strategies",
            )
    return dict(items)


def returns_matrix(data: Any) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The T x N simple returns, their dates and the asset names of walk-forward input.

    Parameters
    ----------
    data
        A MarketData (close-to-close returns of its daily bars) or a DataFrame of simple
        returns with a date index.

    Returns
    -------
    returns : ndarray
        T x N, NaN where there is no return.
    dates : ndarray
        ``datetime64[ns]``, strictly increasing.
    symbols : tuple of str

    Raises
    ------
    DataError
        Fewer than 2 assets, unreadable dates or values, duplicate names, a return below -100%
        or infinite (symbol and date named).

    Examples
    --------
    >>> import pandas as pd
    >>> R, dates, names = returns_matrix(pd.DataFrame({"A": [0.1, -0.2], "B": [0.0, 0.05]},
    ...     index=pd.to_datetime(["2024-01-02", "2024-01-03"])))
    >>> R.shape, names
    ((2, 2), ('A', 'B'))
    """
    if isinstance(data, MarketData):
        daily = data.resample("1D") if data.frequency == "minute" else data
        close = daily.close
        with np.errstate(invalid="ignore", divide="ignore"):
            R = close[1:] / close[:-1] - 1.0
        dates = daily.dates[1:]
        symbols = tuple(daily.symbols)
    elif isinstance(data, pd.DataFrame):
        symbols = tuple(str(c) for c in data.columns)
        if len(set(symbols)) != len(symbols):
            dup = next(s for s in symbols if symbols.count(s) > 1)
            raise DataError("duplicate column", symbol=dup, parameter="data")
        try:
            if not isinstance(data.index, pd.DatetimeIndex) and data.index.dtype.kind in "iufb":
                raise TypeError("a numeric index is not a date index")
            dates = pd.DatetimeIndex(data.index).tz_localize(None).to_numpy("datetime64[ns]")
        except (TypeError, ValueError) as exc:
            raise DataError(
                "the returns need a date index (a DatetimeIndex or dates)", parameter="data"
            ) from exc
        try:
            R = data.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DataError("the returns hold non-numeric values", parameter="data") from exc
        if len(dates) > 1 and not (dates[1:] > dates[:-1]).all():
            i = int(np.argmin(dates[1:] > dates[:-1])) + 1
            raise DataError(
                "dates must be strictly increasing", date=dates[i], parameter="data.index"
            )
    else:
        raise DataError(
            f"data must be a MarketData or a DataFrame of returns, got {type(data).__name__}",
            parameter="data",
        )
    if R.ndim != 2 or R.shape[1] < 2:
        raise DataError(
            f"a walk-forward needs at least 2 assets, got {R.shape[1] if R.ndim == 2 else 0}",
            parameter="data",
        )
    bad = np.isinf(R) | (R < -1.0)
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise DataError(
            f"return {R[i, j]} is infinite or below -100%",
            symbol=symbols[j],
            date=dates[i],
            parameter="data",
        )
    return R, dates, symbols


# ----------------------------------------------------------------------------- folds
@dataclass(frozen=True)
class _Plan:
    """Row bounds of every fold and which assets each may use."""

    starts: np.ndarray  # first test row
    stops: np.ndarray  # one past the last test row
    train_lo: np.ndarray  # first training row
    valid: np.ndarray  # (folds, N): no NaN in the training window


def _plan_folds(R: np.ndarray, train: int, test: int, anchored: bool) -> _Plan:
    T = R.shape[0]
    starts = np.arange(train, T, test)
    stops = np.minimum(starts + test, T)
    train_lo = np.zeros_like(starts) if anchored else starts - train
    nan_count = np.zeros((T + 1, R.shape[1]), dtype=np.int64)
    np.cumsum(np.isnan(R), axis=0, out=nan_count[1:])
    valid = (nan_count[starts] - nan_count[train_lo]) == 0
    return _Plan(starts, stops, train_lo, valid)


# ----------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class _Task:
    """Every strategy's allocations at a block of consecutive folds (plain, picklable data).

    The strategies of a fold share its training covariance, so a task holds them all.
    """

    strategies: tuple[tuple[str, Any], ...]
    block: np.ndarray  # rows [row0, row0 + len(block)) of the returns
    row0: int
    train_lo: np.ndarray  # absolute rows
    train_hi: np.ndarray
    valid: np.ndarray  # (k, N)
    first_fold: int
    vol_target: float | None
    leverage: tuple[float, float]
    periods_per_year: float


def _make_tasks(
    R: np.ndarray,
    plan: _Plan,
    specs: dict[str, Allocator],
    vol_target: float | None,
    leverage: tuple[float, float],
    ppy: float,
) -> list[_Task]:
    tasks = []
    n_folds = len(plan.starts)
    for a in range(0, n_folds, FOLDS_PER_TASK):
        b = min(a + FOLDS_PER_TASK, n_folds)
        row0, row1 = int(plan.train_lo[a:b].min()), int(plan.starts[b - 1])
        tasks.append(
            _Task(
                strategies=tuple(specs.items()),
                block=R[row0:row1],
                row0=row0,
                train_lo=plan.train_lo[a:b],
                train_hi=plan.starts[a:b],
                valid=plan.valid[a:b],
                first_fold=a,
                vol_target=vol_target,
                leverage=leverage,
                periods_per_year=ppy,
            )
        )
    return tasks


def training_covariance(X: np.ndarray) -> np.ndarray:
    """The per-period covariance the built-ins use: Ledoit-Wolf, constant-correlation target.

    Parameters
    ----------
    X
        T x N training returns without NaN.

    Returns
    -------
    ndarray
        N x N covariance (per row, not annualised).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(0, 0.01, (100, 3))
    >>> training_covariance(X).shape
    (3, 3)
    """
    return ledoit_wolf(X, SHRINKAGE)


def _builtin(spec: str, cov: np.ndarray) -> np.ndarray:
    if spec == "hrp":
        return hrp(cov)
    if spec == "erc":
        return risk_parity(cov)
    if spec == "inverse_vol":
        return inverse_volatility(cov)
    if spec == "equal_weight":
        return equal_weight(cov.shape[0])
    return min_variance(cov)


def _allocate(task: _Task) -> dict[str, Any]:
    """Weights and diagnostics of one task's folds; failures come back as data, not raised.

    Errors are returned rather than raised so that the main process raises the same typed
    error, with all its attributes, whichever executor ran the task.
    """
    k, n = task.valid.shape
    out: dict[str, Any] = {
        name: {
            "weights": np.zeros((k, n)),
            "scale": np.ones(k),
            "vol": np.full(k, np.nan),
            "eff_n": np.full(k, np.nan),
            "bets": np.full(k, np.nan),
        }
        for name, _ in task.strategies
    }
    for f in range(k):
        cols = np.flatnonzero(task.valid[f])
        X = task.block[task.train_lo[f] - task.row0 : task.train_hi[f] - task.row0][:, cols]
        fold = task.first_fold + f
        flat = np.flatnonzero(np.ptp(X, axis=0) == 0)
        if flat.size:
            return {"error": "constant", "fold": fold, "column": int(cols[flat[0]])}
        try:
            cov = training_covariance(X)
        except Exception as exc:
            return {"error": "data", "fold": fold, "message": f"{type(exc).__name__}: {exc}"}
        for name, spec in task.strategies:
            w, problem = _weights(spec, X, cov)
            if problem is not None:
                return {"fold": fold, "name": name, **problem}
            _record(out[name], f, cols, w, cov, task)
    return out


def _weights(spec: Any, X: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, dict | None]:
    """One allocator's weights on one fold, or what went wrong."""
    try:
        raw = _builtin(spec, cov) if isinstance(spec, str) else spec(X.copy())
    except Exception as exc:
        return np.empty(0), {"error": "raised", "message": f"{type(exc).__name__}: {exc}"}
    try:
        w = np.asarray(raw, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return np.empty(0), {"error": "output", "message": f"cannot read {raw!r} as weights"}
    if w.shape != (X.shape[1],):
        message = f"returned {w.size} weights for {X.shape[1]} assets"
        return w, {"error": "output", "message": message}
    if not np.isfinite(w).all():
        return w, {"error": "output", "message": "returned a non-finite weight"}
    return w, None


def _record(
    out: dict[str, np.ndarray],
    f: int,
    cols: np.ndarray,
    w: np.ndarray,
    cov: np.ndarray,
    task: _Task,
) -> None:
    """Scale to the volatility target and store the weights and diagnostics of fold ``f``."""
    ppy = task.periods_per_year
    variance = max(float(w @ cov @ w), 0.0)
    if task.vol_target is not None:
        sigma = math.sqrt(variance * ppy)
        lo, hi = task.leverage
        scale = hi if sigma == 0 else min(max(task.vol_target / sigma, lo), hi)
        out["scale"][f] = scale
        w = w * scale
        variance *= scale * scale
    out["weights"][f, cols] = w
    out["vol"][f] = math.sqrt(variance * ppy)
    if np.abs(w).sum() > 0:
        out["eff_n"][f] = effective_n(w)
        if variance > 0:
            out["bets"][f] = effective_number_of_bets(w, cov)


def _raise_task_error(out: dict[str, Any], refit: np.ndarray, symbols: tuple[str, ...]) -> None:
    """Raise, in this process, the typed error a task reported."""
    date = refit[out["fold"]]
    kind = out["error"]
    if kind == "constant":
        raise DataError(
            "constant returns in the training window (give periods without data as NaN, not 0)",
            symbol=symbols[out["column"]],
            date=date,
            parameter="data",
        )
    if kind == "data":
        raise DataError(
            f"cannot estimate the training covariance: {out['message']}",
            date=date,
            parameter="data",
        )
    name = out["name"]
    what = "raised" if kind == "raised" else "returned unusable weights"
    raise StrategyError(
        f"the allocator of strategy {name!r} {what}: {out['message']}",
        date=date,
        parameter="strategies",
        strategy=name,
    )


# ----------------------------------------------------------------------------- chaining
def _assemble(
    R: np.ndarray,
    dates: np.ndarray,
    symbols: tuple[str, ...],
    plan: _Plan,
    specs: dict[str, Allocator],
    alloc: dict[str, dict[str, np.ndarray]],
    bps: float,
    anchored: bool,
    vol_target: float | None,
    leverage: tuple[float, float],
    ppy: float,
    executor: str,
) -> WalkForwardResult:
    starts, stops = plan.starts, plan.stops
    first = int(starts[0]) - 1
    out_dates = dates[first : int(stops[-1])]
    refit = dates[starts - 1]
    names = list(specs)
    W = np.stack([alloc[name]["weights"] for name in names])
    equity, gross, turnover, fees = _chain(R, plan, W, bps * 1e-4, symbols, dates)
    rets = np.empty_like(equity)
    rets[0] = equity[0] - 1.0
    rets[1:] = equity[1:] / equity[:-1] - 1.0

    index = pd.DatetimeIndex(out_dates, name="date")
    refit_index = pd.DatetimeIndex(refit, name="refit_date")
    columns = pd.Index(names, name="strategy")
    assets = pd.Index(symbols, name="symbol")

    def per_refit(key: str) -> pd.DataFrame:
        return pd.DataFrame(
            np.column_stack([alloc[n][key] for n in names]), index=refit_index, columns=columns
        )

    folds = pd.DataFrame(
        {
            "refit_date": refit,
            "train_start": dates[plan.train_lo],
            "train_end": refit,
            "train_rows": starts - plan.train_lo,
            "test_start": dates[starts],
            "test_end": dates[stops - 1],
            "test_rows": stops - starts,
        },
        index=pd.RangeIndex(len(starts), name="fold"),
    )
    excluded = pd.DataFrame(~plan.valid, index=refit_index, columns=assets)
    notes = _notes(excluded, folds)
    return WalkForwardResult(
        returns=pd.DataFrame(rets, index=index, columns=columns),
        equity=pd.DataFrame(equity, index=index, columns=columns),
        gross_exposure=pd.DataFrame(gross, index=index, columns=columns),
        weights={
            n: pd.DataFrame(alloc[n]["weights"], index=refit_index, columns=assets) for n in names
        },
        turnover=pd.DataFrame(turnover, index=refit_index, columns=columns),
        costs=pd.DataFrame(fees, index=refit_index, columns=columns),
        leverage=per_refit("scale"),
        ex_ante_vol=per_refit("vol"),
        effective_n=per_refit("eff_n"),
        effective_bets=per_refit("bets"),
        excluded=excluded,
        folds=folds,
        allocators={
            n: s if isinstance(s, str) else getattr(s, "__name__", repr(s))
            for n, s in specs.items()
        },
        settings={
            "train": int(folds["train_rows"].iloc[0]),
            "test": int(folds["test_rows"].iloc[0]),
            "step": int(folds["test_rows"].iloc[0]),
            "costs_bps": bps,
            "anchored": anchored,
            "vol_target": vol_target,
            "leverage": leverage,
            "periods_per_year": ppy,
            "shrinkage": SHRINKAGE,
            "executor": executor,
        },
        notes=notes,
        _specs=dict(specs),
    )


def _chain(
    R: np.ndarray,
    plan: _Plan,
    W: np.ndarray,
    fee_rate: float,
    symbols: tuple[str, ...],
    dates: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Equity (growth of 1), gross exposure, turnover and fees of every strategy at once.

    ``W`` is (strategies, folds, assets). One Python step per fold for all strategies; the days
    inside a window are one cumulative product. Returns arrays of shape (rows, strategies) and
    (folds, strategies).
    """
    starts, stops = plan.starts, plan.stops
    n_strategies = W.shape[0]
    first = int(starts[0]) - 1
    n_rows = int(stops[-1]) - first
    equity = np.empty((n_rows, n_strategies))
    gross = np.empty_like(equity)
    turnover = np.empty((len(starts), n_strategies))
    fees = np.empty_like(turnover)
    h = np.zeros((n_strategies, R.shape[1]))  # drifted position values
    cash = np.ones(n_strategies)
    for k, (a, b) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
        E = cash + h.sum(axis=1)
        target = W[:, k] * E[:, None]
        traded = np.abs(target - h).sum(axis=1)
        fee = fee_rate * traded
        cash = E - target.sum(axis=1) - fee
        turnover[k], fees[k] = traded / E, fee / E
        equity[a - 1 - first] = E - fee
        gross[a - 1 - first] = np.abs(target).sum(axis=1) / (E - fee)
        block = R[a:b]
        missing = np.isnan(block)
        if missing.any():
            held = (target != 0).any(axis=0)
            bad = missing & held
            if bad.any():
                r, c = (int(x) for x in np.argwhere(bad)[0])
                raise DataError(
                    "a held asset has no return inside a test window (delisted, or a gap?)",
                    symbol=symbols[c],
                    date=dates[a + r],
                    parameter="data",
                )
            block = np.where(missing, 0.0, block)  # assets nobody holds
        growth = np.cumprod(1.0 + block, axis=0)
        path = growth[None, :, :] * target[:, None, :]  # (strategies, days, assets)
        value = path.sum(axis=2) + cash[:, None]
        equity[a - first : b - first] = value.T
        gross[a - first : b - first] = (np.abs(path).sum(axis=2) / value).T
        h = path[:, -1, :]
    return equity, gross, turnover, fees


def _notes(excluded: pd.DataFrame, folds: pd.DataFrame) -> tuple[str, ...]:
    notes = []
    counts = excluded.sum(axis=0)
    for symbol, n in counts[counts > 0].items():
        when = excluded.index[excluded[symbol].to_numpy()]
        notes.append(
            f"{symbol} left out of {int(n)} of {len(excluded)} folds (NaN in the training "
            f"window), refits {when[0].date()} .. {when[-1].date()}"
        )
    rows = folds["test_rows"].to_numpy()
    if len(rows) > 1 and rows[-1] < rows[0]:
        notes.append(f"the last test window is short: {int(rows[-1])} of {int(rows[0])} rows")
    return tuple(notes)
