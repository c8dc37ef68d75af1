"""Optimizer-based portfolio construction models: LEAN's four, and two of riskbook's own.

Every model reads point-in-time history through the algorithm (``algorithm.history``, via
:meth:`PortfolioConstructionModel.history_returns`), so a decision at time t never sees a bar
stamped after t. Returns follow LEAN's ``ReturnsSymbolData``: ``lookback * period`` closes are
fetched, each close feeds a rate of change over ``lookback`` bars, and the last ``period`` values
are kept (so 62 one-bar returns for LEAN's ``period=63``). Rows with a missing value are dropped
(a common sample), as are rows where every return is exactly zero (LEAN drops them too); a
symbol with fewer than two returns is left out of the optimisation, gets no target this time,
and is listed with the reason in the model's ``excluded_`` attribute.

=================================  ==============================================================
model                              target percent
=================================  ==============================================================
MeanVarianceOptimization           the MinimumVariance optimizer (bounds from the bias, target
                                   return 0.02) on 63 returns; magnitudes as expected returns
BlackLittermanOptimization         the MaximumSharpeRatio optimizer on the He-Litterman posterior
                                   of an equal-weight prior (delta 2.5, tau 0.05, Σ x 252) and
                                   views from the magnitudes
RiskParity                         the RiskParity optimizer on 252 returns; direction ignored;
                                   a SHORT bias is refused
MeanReversion                      OLMAR (Li & Hoi 2012): one passive-aggressive step towards the
                                   predicted price relatives, projected on the simplex; long-only
HierarchicalRiskParity (riskbook)  :func:`riskbook.optimize.hrp` over the UP insights; others 0
MinimumVariance (riskbook)         the long-only QP :func:`riskbook.optimize.min_variance` with a
                                   budget and a cap over the UP insights; others 0
=================================  ==============================================================

The optimizers are those of :mod:`riskbook.construct.optimizers`.

Where LEAN has a defect, riskbook does the right thing by default, and ``lean_compat=True``
(also handed to the default optimizer, see :mod:`riskbook.construct.optimizers`) reproduces
LEAN's C# models. Each item gives riskbook's default, then LEAN's behaviour:

* **MV / BL: returns after the warm-up.** Recomputed from history at every decision. LEAN
  warms its window up once, when the symbol is added, and never updates it: only one row per
  decision is appended, the insight's magnitude.
* **MV: magnitudes.** The expected return of the symbol over one return bar, ``direction *
  |magnitude|`` (the historical mean where an insight has none). LEAN appends the magnitude to
  the returns window as the newest observation, and a missing magnitude is an error.
* **MV / BL: a weight of the wrong sign for a one-sided bias.** Rounding (<= 1e-9) is set to 0;
  more raises :class:`~riskbook.errors.OptimizationError` naming the symbol (the default
  optimizer is bounded by the bias, so this only catches a custom optimizer that ignores it).
  LEAN sets it to 0 and does not renormalise ("don't trust the optimizer").
* **BL: the prior.** ``rf + delta Σ w_eq`` (He & Litterman 1999). LEAN uses ``λ Σ w_eq`` with
  ``λ`` implied from the equal-weight portfolio's historical return; ``delta`` is unused there.
* **BL: the views.** One absolute view per insight, ``r_i = direction * |magnitude|``. LEAN
  makes one view per source model, ``q = max(sum up, sum down)`` of the magnitudes and ``P_i =
  d_i |m_i| / q``: two UP 2% insights become "their average return is 4%".
* **BL: units of the views.** Magnitudes are per return bar and annualised like ``Σ`` (x 252 /
  lookback). LEAN sets raw (daily) magnitudes against annualised returns.
* **BL: posterior covariance.** ``Σ + M``. LEAN: ``(Σ + M) * delta``.
* **BL: risk-free rate.** Added to the (excess) prior, subtracted once by the optimizer. LEAN's
  prior is already excess and the optimizer subtracts it again.
* **BL: no view** (no magnitudes). The posterior is the prior (LEAN's documented intent). LEAN's
  code makes no target at all.
* **MeanReversion: the update.** The paper's: ``x̃ = MA / price``, ``λ = max(0, (ε - b'x̃) /
  |x̃ - x̄|²)``, ``b + λ (x̃ - x̄)``; a magnitude means ``x̃ = 1 + d |m|``. LEAN uses ``price /
  MA`` with the mirrored update ``b - λ (x - x̄)``, ``λ = max(0, (b'x - ε) / |x - x̄|²)`` (to
  first order the same for prices), so a magnitude moves weight *away* from a predicted riser.
* **MeanReversion: the state.** The last portfolio, kept by symbol and reset to 1/N when the
  set of symbols changes. LEAN keeps a positional vector, reset when the number of insights
  changes.

In both modes the views' link matrix is aligned by symbol (LEAN builds each view's columns in
its own order), and risk parity reads fresh returns (LEAN's C# risk-parity model registers its
indicator, so it stays current).

Examples
--------
>>> from datetime import timedelta
>>> from riskbook.construct import Insight, SimpleAlgorithm
>>> from riskbook.datasets import load_sp500
>>> algo = SimpleAlgorithm(load_sp500().select(["JNJ", "KO", "XOM"]), "2019-12-31")
>>> model = RiskParityPortfolioConstructionModel()
>>> model.algorithm = algo
>>> ins = [Insight.price(s, timedelta(days=1), 1) for s in ("JNJ", "KO", "XOM")]
>>> {i.symbol: round(p, 4) for i, p in model.determine_target_percent(ins).items()}
{'JNJ': 0.3383, 'KO': 0.3481, 'XOM': 0.3137}
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from riskbook.construct.insight import Insight, InsightDirection, latest_per_symbol
from riskbook.construct.optimizers import (
    MaximumSharpeRatioPortfolioOptimizer,
    MinimumVariancePortfolioOptimizer,
    RiskParityPortfolioOptimizer,
)
from riskbook.construct.portfolio_construction import (
    PortfolioBias,
    PortfolioConstructionModel,
    Resolution,
    SecurityChanges,
)
from riskbook.errors import ConfigError, DataError, InfeasibleError, OptimizationError
from riskbook.optimize import hrp, min_variance

__all__ = [
    "BlackLittermanOptimizationPortfolioConstructionModel",
    "HierarchicalRiskParityPortfolioConstructionModel",
    "MeanReversionPortfolioConstructionModel",
    "MeanVarianceOptimizationPortfolioConstructionModel",
    "MinimumVariancePortfolioConstructionModel",
    "RiskParityPortfolioConstructionModel",
    "black_litterman",
    "olmar_step",
    "simplex_projection",
]

_log = logging.getLogger(__name__)

#: A wrong-sign weight this small (in weight units) is rounding and is set to zero.
_SIGN_TOL = 1e-9
#: LEAN's annualisation factor (trading days a year).
TRADING_DAYS = 252


# --------------------------------------------------------------------------------------------
# Numerical building blocks
# --------------------------------------------------------------------------------------------


def simplex_projection(v: Any, total: float = 1.0) -> np.ndarray:
    """Euclidean projection onto the simplex ``{w >= 0, sum(w) = total}`` (Duchi et al. 2008).

    Sort ``v`` decreasingly into ``u``; ``rho`` is the largest ``j`` with ``u_j > (sum_{i<=j}
    u_i - total) / j``; then ``w = max(v - theta, 0)`` with ``theta = (sum_{i<=rho} u_i -
    total) / rho``.

    Parameters
    ----------
    v
        Any real vector.
    total
        The simplex's sum, > 0.

    Returns
    -------
    numpy.ndarray
        The closest point of the simplex to ``v``.

    Raises
    ------
    ConfigError
        ``total <= 0`` or a non-finite ``v``.

    Examples
    --------
    >>> simplex_projection([0.5, 0.9, -0.2])
    array([0.3, 0.7, 0. ])
    >>> simplex_projection([0.2, 0.3, 0.5])
    array([0.2, 0.3, 0.5])
    """
    if not total > 0:
        raise ConfigError(f"total must be > 0, got {total!r}", parameter="total")
    x = np.asarray(v, dtype=np.float64).ravel()
    if x.size == 0 or not np.isfinite(x).all():
        raise ConfigError("the vector to project must be finite and non-empty", parameter="v")
    u = np.sort(x)[::-1]
    css = np.cumsum(u)
    j = np.arange(1, x.size + 1)
    rho = int(np.flatnonzero(u > (css - total) / j)[-1])
    theta = (css[rho] - total) / (rho + 1)
    return np.maximum(x - theta, 0.0)


def olmar_step(b: Any, x_tilde: Any, reversion_threshold: float) -> np.ndarray:
    """One OLMAR update (Li & Hoi 2012, Algorithm 1), before the simplex projection.

    ``λ = max(0, (ε - b'x̃) / |x̃ - x̄ 1|²)`` and ``b + λ (x̃ - x̄ 1)``, with ``x̄`` the mean of
    the predicted price relatives ``x̃``: if the current portfolio is predicted to grow by at
    least ``ε`` nothing changes, else it moves just enough towards the assets predicted to do
    best. ``λ = 0`` when every asset has the same prediction.

    Parameters
    ----------
    b
        The current portfolio (on the simplex).
    x_tilde
        Predicted price relatives ``p_{t+1} / p_t``.
    reversion_threshold
        ``ε``.

    Returns
    -------
    numpy.ndarray
        The updated, unprojected portfolio.

    Examples
    --------
    >>> olmar_step([0.5, 0.5], [1.02, 0.96], 1.0)
    array([0.66666667, 0.33333333])
    """
    b = np.asarray(b, dtype=np.float64)
    x = np.asarray(x_tilde, dtype=np.float64)
    dev = x - x.mean()
    norm2 = float(dev @ dev)
    step = 0.0 if norm2 == 0.0 else max(0.0, (reversion_threshold - float(b @ x)) / norm2)
    return b + step * dev


def _lean_olmar_step(b: np.ndarray, x: np.ndarray, reversion_threshold: float) -> np.ndarray:
    """LEAN's mirrored update: ``λ = max(0, (b'x - ε) / |x - x̄|²)``, ``b - λ (x - x̄)``."""
    dev = x - x.mean()
    norm2 = float(dev @ dev)
    step = 0.0 if norm2 == 0.0 else max(0.0, (float(b @ x) - reversion_threshold) / norm2)
    return b - step * dev


def black_litterman(
    prior: Any, cov: Any, P: Any, Q: Any, *, tau: float = 0.05, omega: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The Black-Litterman posterior mean and covariance (He & Litterman 1999).

    With ``A = τΣP' (PτΣP' + Ω)^-1``: ``mu = prior + A (Q - P prior)`` and ``Σ_post = Σ + τΣ -
    A P τΣ`` (the covariance of returns: the prior's plus the uncertainty left in the mean).

    Parameters
    ----------
    prior
        Length-N prior (equilibrium) expected returns.
    cov
        N x N covariance of returns.
    P, Q
        K x N link matrix and length-K view returns: the views say ``P r = Q``.
    tau
        Scale of the uncertainty of the prior mean (``τΣ``).
    omega
        K x K view covariance; default ``diag(P τΣ P')`` (each view as uncertain as the prior
        says its portfolio is).

    Returns
    -------
    tuple of numpy.ndarray
        Posterior mean (N) and covariance (N x N).

    Raises
    ------
    OptimizationError
        Mismatched shapes, a non-positive ``tau``, or views whose system is singular (a view on
        a portfolio of zero variance).

    Examples
    --------
    One asset, a view equal to the prior's doubled mean, equally uncertain: halfway.

    >>> mu, cov = black_litterman([0.05], [[0.04]], [[1.0]], [0.10], tau=0.05)
    >>> round(float(mu[0]), 4), round(float(cov[0, 0]), 4)
    (0.075, 0.041)
    """
    pi = np.asarray(prior, dtype=np.float64).ravel()
    S = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    Pm = np.atleast_2d(np.asarray(P, dtype=np.float64))
    q = np.asarray(Q, dtype=np.float64).ravel()
    n = pi.size
    if S.shape != (n, n) or Pm.shape[1] != n or Pm.shape[0] != q.size:
        raise OptimizationError(
            f"shapes do not match: prior {pi.shape}, cov {S.shape}, P {Pm.shape}, Q {q.shape}",
            parameter="P",
        )
    if not tau > 0:
        raise OptimizationError(f"tau must be > 0, got {tau!r}", parameter="tau")
    tS = tau * S
    PtS = Pm @ tS
    view_cov = PtS @ Pm.T
    Om = (
        np.diag(np.diag(view_cov))
        if omega is None
        else np.atleast_2d(np.asarray(omega, dtype=np.float64))
    )
    try:
        # A' = (PτΣP' + Ω)^-1 PτΣ, the system being symmetric
        At = np.linalg.solve(view_cov + Om, PtS)
    except np.linalg.LinAlgError:
        raise OptimizationError(
            "the views' covariance P τΣ P' + Ω is singular (a view on a portfolio of zero "
            "variance)",
            parameter="views",
        ) from None
    mu = pi + At.T @ (q - Pm @ pi)
    post = S + tS - PtS.T @ At
    return mu, 0.5 * (post + post.T)


# --------------------------------------------------------------------------------------------
# LEAN's per-symbol returns window (used with lean_compat only)
# --------------------------------------------------------------------------------------------


class _ReturnsSymbolData:
    """LEAN's ``ReturnsSymbolData``: a ``RateOfChange(lookback)`` into a ``RollingWindow``."""

    def __init__(self, lookback: int, period: int) -> None:
        self._closes: deque[float] = deque(maxlen=lookback + 1)
        self.window: deque[tuple[datetime, float]] = deque(maxlen=period)  # newest last

    def update(self, time: datetime, close: float) -> None:
        self._closes.append(float(close))
        if len(self._closes) == self._closes.maxlen:  # RateOfChange is ready
            self.window.append((time, self._closes[-1] / self._closes[0] - 1.0))

    def add(self, time: datetime, value: float) -> None:
        """Append an observation unless the newest one has the same time (LEAN's ``Add``)."""
        if self.window and self.window[-1][0] == time:
            return
        self.window.append((time, float(value)))

    def returns(self) -> dict[datetime, float]:
        """Time -> return, newest first (LEAN's ``RollingWindow`` order)."""
        return {t: v for t, v in reversed(self.window)}


def _lean_returns_matrix(data: dict[Any, _ReturnsSymbolData], symbols: list[Any]) -> pd.DataFrame:
    """LEAN's ``FormReturnsMatrix``: align by time when every time is shared, else by position.

    Rows whose absolute returns sum to zero or NaN are removed, as in LEAN.
    """
    series = [data[s].returns() for s in symbols]
    all_times = list(dict.fromkeys(t for r in series for t in r))
    longest = max((len(d.window) for d in data.values()), default=0)
    if longest == len(all_times):
        rows = np.array([[r.get(t, np.nan) for r in series] for t in all_times], dtype=float)
    else:
        values = [list(r.values()) for r in series]
        short = [s for s, v in zip(symbols, values, strict=True) if len(v) < longest]
        if short:
            raise DataError(
                "returns windows of different lengths cannot be aligned by position (LEAN "
                "would fail here too)",
                symbol=str(short[0]),
                parameter="history",
            )
        rows = np.array([[v[i] for v in values] for i in range(longest)], dtype=float)
    rows = rows.reshape(-1, len(symbols))
    gross = np.abs(rows).sum(axis=1)
    keep = np.isfinite(gross) & (gross != 0)
    return pd.DataFrame(rows[keep], columns=pd.Index(symbols))


# --------------------------------------------------------------------------------------------
# Shared machinery
# --------------------------------------------------------------------------------------------


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}", parameter=name)
    return int(value)


def _finite(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}", parameter=name) from None
    if not math.isfinite(v):
        raise ConfigError(f"{name} must be finite, got {value!r}", parameter=name)
    return v


def _unique_symbols(insights: Iterable[Insight]) -> list[Any]:
    return list(dict.fromkeys(i.symbol for i in insights))


def _signed_magnitude(insight: Insight) -> float | None:
    if insight.magnitude is None:
        return None
    return int(insight.direction) * abs(insight.magnitude)


def _call_optimizer(
    optimizer: Any, returns: pd.DataFrame, mu: Any = None, cov: Any = None
) -> np.ndarray:
    """Call a LEAN-style optimizer (``optimize`` or ``Optimize``) and check its answer."""
    method = getattr(optimizer, "optimize", None) or getattr(optimizer, "Optimize", None)
    if method is None:
        raise ConfigError(
            f"optimizer {optimizer!r} has no optimize(historical_returns, expected_returns, "
            "covariance) method",
            parameter="optimizer",
        )
    if cov is not None:
        w = method(returns, mu, cov)
    elif mu is not None:
        w = method(returns, mu)
    else:
        w = method(returns)
    w = np.asarray(w, dtype=np.float64).ravel()
    if w.shape != (returns.shape[1],) or not np.isfinite(w).all():
        raise OptimizationError(
            f"optimizer {type(optimizer).__name__} returned {w.size} weights (finite: "
            f"{bool(np.isfinite(w).all())}) for {returns.shape[1]} symbols",
            parameter="optimizer",
        )
    return w


class _ReturnsModel(PortfolioConstructionModel):
    """History conventions shared by the optimizer models (see the module docstring)."""

    #: Whether ``lean_compat`` keeps LEAN's frozen per-symbol windows (MV and BL only).
    _lean_windows = False

    def __init__(
        self,
        rebalance: Any,
        portfolio_bias: PortfolioBias | int,
        lookback: int,
        period: int,
        resolution: Resolution | int,
        lean_compat: bool,
    ) -> None:
        super().__init__(rebalance, portfolio_bias)
        self.lookback = _positive_int(lookback, "lookback")
        self.period = _positive_int(period, "period")
        self.resolution = Resolution(resolution)
        self.lean_compat = bool(lean_compat)
        #: symbol -> why it was left out of the last decision
        self.excluded_: dict[Any, str] = {}
        self._symbol_data: dict[Any, _ReturnsSymbolData] = {}

    def _bias_bounds(self) -> tuple[float, float]:
        """LEAN's weight bounds for the bias: LONG 0..1, SHORT -1..0, LONG_SHORT -1..1."""
        lower = 0.0 if self.portfolio_bias == PortfolioBias.LONG else -1.0
        upper = 0.0 if self.portfolio_bias == PortfolioBias.SHORT else 1.0
        return lower, upper

    def _note(self, message: str) -> None:
        log = getattr(self.algorithm, "log", None)
        if callable(log):
            log(message)
        _log.info(message)

    def _returns(self, symbols: list[Any]) -> pd.DataFrame:
        """Point-in-time returns of ``symbols`` on a common sample; the rest in ``excluded_``."""
        self.excluded_ = {}
        R = self.history_returns(symbols, self.period, self.lookback, self.resolution)
        kept = [s for s in symbols if s in R.columns]
        for s in symbols:
            if s not in R.columns:
                self.excluded_[s] = "no history at or before the decision time"
        R = R[kept] if kept else pd.DataFrame()
        while kept:
            counts = R[kept].count()
            if int(counts.min()) >= 2:
                common = R[kept].dropna(how="any")
                common = common.loc[common.abs().sum(axis=1) != 0]
                if len(common) >= 2:
                    R = common
                    break
            worst = counts.idxmin()
            self.excluded_[worst] = (
                f"only {int(counts[worst])} return(s) of {self.period} in the common sample; "
                "at least 2 are needed"
            )
            kept.remove(worst)
        else:
            R = pd.DataFrame()
        if self.excluded_:
            self._note(
                f"{type(self).__name__}: left out "
                + ", ".join(f"{s} ({why})" for s, why in self.excluded_.items())
            )
        return R

    # ----------------------------------------------------------------- LEAN's stale windows
    def _warm_up(self, symbols: list[Any]) -> None:
        """Create and warm LEAN's windows from ``lookback * period`` bars of history."""
        for s in symbols:
            self._symbol_data[s] = _ReturnsSymbolData(self.lookback, self.period)
        closes = self.history_closes(symbols, self.lookback * self.period, self.resolution)
        for s in symbols:
            if s in closes.columns:
                column = closes[s].dropna()
                for t, c in zip(column.index, column.to_numpy(), strict=True):
                    self._symbol_data[s].update(pd.Timestamp(t).to_pydatetime(), c)

    def _lean_data(self, symbols: list[Any]) -> dict[Any, _ReturnsSymbolData]:
        missing = [s for s in symbols if s not in self._symbol_data]
        if missing:  # LEAN would fail; riskbook warms up now, as if they were added now
            self._warm_up(missing)
        return self._symbol_data

    def on_securities_changed(self, algorithm: Any, changes: SecurityChanges) -> None:
        """Record the change (base class); with ``lean_compat`` warm LEAN's windows up.

        The windows (MV and BL only) are created for the added symbols and warmed up from
        ``algorithm.history(added, lookback * period, resolution)``, point in time.
        """
        super().on_securities_changed(algorithm, changes)
        for s in changes.removed_symbols:
            self._symbol_data.pop(s, None)
        if self.lean_compat and self._lean_windows:
            self.algorithm = algorithm
            added = [s for s in changes.added_symbols if s not in self._symbol_data]
            if added:
                self._warm_up(added)

    # ----------------------------------------------------------------- the bias
    def _apply_bias(self, weights: np.ndarray, symbols: list[Any]) -> np.ndarray:
        """Zero the weights of the wrong sign for a one-sided bias (LEAN), or refuse them."""
        bias = PortfolioBias(self.portfolio_bias)
        if bias == PortfolioBias.LONG_SHORT:
            return weights
        wrong = np.sign(weights) != int(bias)
        if not self.lean_compat:
            material = wrong & (np.abs(weights) > _SIGN_TOL)
            if material.any():
                i = int(np.argmax(material))
                raise OptimizationError(
                    f"the optimizer gave {weights[i]:.6g} under a {bias.name} bias; bound the "
                    "optimizer by the bias instead of zeroing its answer (lean_compat=True "
                    "zeroes it, as LEAN does)",
                    symbol=str(symbols[i]),
                    parameter="optimizer",
                )
        return np.where(wrong, 0.0, weights)

    def _magnitude_is_valid(self, insight: Insight) -> bool:
        """LEAN's ``FilterInvalidInsightMagnitude``: a magnitude outside the target limits."""
        m = insight.magnitude
        if m is None or m == 0 or self.algorithm is None:
            return True
        settings = getattr(self.algorithm, "settings", None)
        hi = getattr(settings, "max_absolute_portfolio_target_percentage", None)
        lo = getattr(settings, "min_absolute_portfolio_target_percentage", None)
        if (hi is not None and abs(m) > hi) or (lo is not None and abs(m) < lo):
            error = getattr(self.algorithm, "error", None)
            if callable(error):
                error(
                    f"{type(self).__name__}: the insight magnitude {m} of {insight.symbol} is "
                    "outside the max/min absolute portfolio target percentage; ignored"
                )
            return False
        return True


def _targets(
    insights: Iterable[Insight], symbols: list[Any], weights: np.ndarray
) -> dict[Insight, float]:
    """One target per symbol, on its first insight (LEAN's ``First(insight => ...)``)."""
    by_symbol = dict(zip(symbols, (float(w) for w in weights), strict=True))
    out: dict[Insight, float] = {}
    done: set[Any] = set()
    for insight in insights:
        if insight.symbol in by_symbol and insight.symbol not in done:
            out[insight] = by_symbol[insight.symbol]
            done.add(insight.symbol)
    return out


def _infeasible_hint(exc: InfeasibleError) -> InfeasibleError:
    hint = (
        "; target_return is per return bar (LEAN's 0.02 is 2% a day on daily data): lower it, "
        "set target_return=None for the minimum-variance portfolio, or lean_compat=True for "
        "LEAN's equal-weight fallback"
    )
    return InfeasibleError(
        exc.message + hint,
        symbol=exc.symbol,
        date=exc.date,
        parameter=exc.parameter,
        **exc.context,
    )


# --------------------------------------------------------------------------------------------
# LEAN's models
# --------------------------------------------------------------------------------------------


class MeanVarianceOptimizationPortfolioConstructionModel(_ReturnsModel):
    """LEAN's mean-variance model: an optimizer over recent returns of the insights' symbols.

    Parameters
    ----------
    rebalance
        Any rebalance form (default ``Resolution.DAILY``).
    portfolio_bias
        :class:`PortfolioBias`; bounds the default optimizer (LONG 0..1, SHORT -1..0,
        LONG_SHORT -1..1).
    lookback
        Bars per return (the rate of change's span).
    period
        Returns kept (``lookback * period`` closes are read).
    resolution
        Bar resolution of the history.
    target_return
        The default optimizer's ``mu'w``, per return bar (LEAN's 0.02 is usually out of reach
        on daily data: riskbook raises :class:`~riskbook.errors.InfeasibleError` then; None
        gives the minimum-variance portfolio).
    optimizer
        Any LEAN-style optimizer; default :class:`~riskbook.construct.optimizers.
        MinimumVariancePortfolioOptimizer` ``(lower, upper, target_return)``.
    lean_compat
        Reproduce LEAN (see the module docstring): stale windows with magnitudes appended,
        wrong-sign weights zeroed, and the optimizer's ``lean_compat``.

    Attributes
    ----------
    excluded_ : dict
        Symbols left out of the last decision, with the reason.

    Notes
    -----
    Expected returns: an insight's magnitude is read as its symbol's expected return over one
    return bar, signed by its direction (``direction * |magnitude|``); symbols whose insight
    has no magnitude use their historical mean. LEAN instead appends the magnitude to the
    returns window as one more observation and refuses an insight without one.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from riskbook.construct import Insight, SimpleAlgorithm
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500().select(["JNJ", "KO", "XOM"]), "2019-12-31")
    >>> model = MeanVarianceOptimizationPortfolioConstructionModel(
    ...     portfolio_bias=PortfolioBias.LONG, target_return=None)
    >>> model.algorithm = algo
    >>> ins = [Insight.price(s, timedelta(days=1), 1) for s in ("JNJ", "KO", "XOM")]
    >>> {i.symbol: round(p, 4) for i, p in model.determine_target_percent(ins).items()}
    {'JNJ': 0.1832, 'KO': 0.566, 'XOM': 0.2508}
    """

    _lean_windows = True

    def __init__(
        self,
        rebalance: Any = Resolution.DAILY,
        portfolio_bias: PortfolioBias | int = PortfolioBias.LONG_SHORT,
        lookback: int = 1,
        period: int = 63,
        resolution: Resolution | int = Resolution.DAILY,
        target_return: float | None = 0.02,
        optimizer: Any = None,
        *,
        lean_compat: bool = False,
    ) -> None:
        super().__init__(rebalance, portfolio_bias, lookback, period, resolution, lean_compat)
        self.target_return = target_return
        self._default_optimizer = optimizer is None
        if optimizer is None:
            lower, upper = self._bias_bounds()
            optimizer = MinimumVariancePortfolioOptimizer(
                lower, upper, target_return, lean_compat=self.lean_compat
            )
        self.optimizer = optimizer

    def should_create_target_for_insight(self, insight: Insight) -> bool:
        """Drop invalid magnitudes; with ``lean_compat`` append the magnitude (LEAN)."""
        if not self._magnitude_is_valid(insight):
            return False
        if self.lean_compat and self.algorithm is not None:
            if insight.magnitude is None:
                raise DataError(
                    "MeanVarianceOptimizationPortfolioConstructionModel (lean_compat) needs a "
                    "magnitude on every insight, as LEAN does",
                    symbol=str(insight.symbol),
                    parameter="magnitude",
                )
            data = self._lean_data([insight.symbol])[insight.symbol]
            data.add(self.algorithm.time, insight.magnitude)
        return True

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        """Optimizer weights per symbol of the active insights (see the class docstring)."""
        if not active_insights:
            return {}
        symbols = _unique_symbols(active_insights)
        mu = None
        if self.lean_compat:
            self.excluded_ = {}
            R = _lean_returns_matrix(self._lean_data(symbols), symbols)
        else:
            R = self._returns(symbols)
            if R.empty:
                return {}
            mags = {i.symbol: _signed_magnitude(i) for i in active_insights}
            if any(mags.get(s) is not None for s in R.columns):
                hist = R.mean()
                mu = np.array(
                    [hist[s] if mags.get(s) is None else mags[s] for s in R.columns], dtype=float
                )
        kept = list(R.columns)
        try:
            w = _call_optimizer(self.optimizer, R, mu)
        except InfeasibleError as exc:
            if self._default_optimizer and exc.parameter == "target_return":
                raise _infeasible_hint(exc) from exc
            raise
        return _targets(active_insights, kept, self._apply_bias(w, kept))


class BlackLittermanOptimizationPortfolioConstructionModel(_ReturnsModel):
    """LEAN's Black-Litterman model: an equal-weight prior updated by the insights' views.

    Parameters
    ----------
    rebalance, portfolio_bias, lookback, period, resolution
        As :class:`MeanVarianceOptimizationPortfolioConstructionModel` (``period`` 63).
    risk_free_rate
        Annual risk-free rate.
    delta
        Risk aversion of the equilibrium (market) portfolio.
    tau
        Uncertainty of the prior mean, as a fraction of ``Σ``.
    optimizer
        Any LEAN-style optimizer, called with ``(returns, posterior mean, posterior
        covariance)``; default :class:`~riskbook.construct.optimizers.
        MaximumSharpeRatioPortfolioOptimizer` ``(lower, upper, risk_free_rate)``.
    lean_compat
        Reproduce LEAN (see the module docstring).

    Attributes
    ----------
    excluded_ : dict
        Symbols left out of the last decision, with the reason.
    prior_, posterior_ : tuple of (Series, DataFrame) or None
        The annualised mean and covariance before and after the views, of the last decision.
    views_ : tuple of (DataFrame, Series) or None
        ``P`` and ``Q`` of the last decision (None without views).

    Notes
    -----
    Riskbook's default: ``Σ = 252 / lookback x`` the sample covariance of the returns, the
    prior mean ``rf + delta Σ w_eq`` (``w_eq = 1/N``), one absolute view per insight with a
    non-zero magnitude (``r_i = direction * |magnitude|``, annualised like ``Σ``; insights of
    several source models on one symbol give several views), ``Ω = diag(P τΣ P')``, and
    :func:`black_litterman`. Only the latest insight per (source model, symbol) counts, as in
    LEAN.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from riskbook.construct import Insight, SimpleAlgorithm
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500().select(["JNJ", "KO", "XOM"]), "2019-12-31")
    >>> model = BlackLittermanOptimizationPortfolioConstructionModel(
    ...     portfolio_bias=PortfolioBias.LONG)
    >>> model.algorithm = algo
    >>> ins = [Insight.price("JNJ", timedelta(days=1), 1, magnitude=0.001),
    ...        Insight.price("KO", timedelta(days=1), 1),
    ...        Insight.price("XOM", timedelta(days=1), 1)]
    >>> {i.symbol: round(p, 4) for i, p in model.determine_target_percent(ins).items()}
    {'JNJ': 0.6933, 'KO': 0.1533, 'XOM': 0.1533}
    """

    _lean_windows = True

    def __init__(
        self,
        rebalance: Any = Resolution.DAILY,
        portfolio_bias: PortfolioBias | int = PortfolioBias.LONG_SHORT,
        lookback: int = 1,
        period: int = 63,
        resolution: Resolution | int = Resolution.DAILY,
        risk_free_rate: float = 0.0,
        delta: float = 2.5,
        tau: float = 0.05,
        optimizer: Any = None,
        *,
        lean_compat: bool = False,
    ) -> None:
        super().__init__(rebalance, portfolio_bias, lookback, period, resolution, lean_compat)
        self.risk_free_rate = _finite(risk_free_rate, "risk_free_rate")
        self.delta = _finite(delta, "delta")
        self.tau = _finite(tau, "tau")
        if self.tau <= 0:
            raise ConfigError(f"tau must be > 0, got {tau!r}", parameter="tau")
        if optimizer is None:
            lower, upper = self._bias_bounds()
            optimizer = MaximumSharpeRatioPortfolioOptimizer(
                lower, upper, self.risk_free_rate, lean_compat=self.lean_compat
            )
        self.optimizer = optimizer
        self.prior_: tuple[pd.Series, pd.DataFrame] | None = None
        self.posterior_: tuple[pd.Series, pd.DataFrame] | None = None
        self.views_: tuple[pd.DataFrame, pd.Series] | None = None

    @property
    def annualization(self) -> float:
        """Return bars a year: ``252 / lookback`` (LEAN: 252 whatever the lookback)."""
        return float(TRADING_DAYS) if self.lean_compat else TRADING_DAYS / self.lookback

    def should_create_target_for_insight(self, insight: Insight) -> bool:
        """LEAN's magnitude filter."""
        return self._magnitude_is_valid(insight)

    def get_target_insights(self) -> list[Insight]:
        """The latest active insight per (source model, symbol), as LEAN's model takes."""
        if self.algorithm is None:
            raise ConfigError(
                "the model has no algorithm yet: call create_targets first", parameter="algorithm"
            )
        active = [
            i
            for i in self.insight_collection.get_active_insights(self.algorithm.utc_time)
            if self.should_create_target_for_insight(i)
        ]
        groups: dict[Any, list[Insight]] = {}
        for insight in active:
            groups.setdefault(insight.source_model, []).append(insight)
        return [i for group in groups.values() for i in latest_per_symbol(group)]

    # ----------------------------------------------------------------- the pieces
    def get_equilibrium_return(self, returns: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        """The prior: annualised covariance and the equal-weight equilibrium mean.

        riskbook: ``rf + delta Σ w_eq``; ``lean_compat``: ``λ Σ w_eq`` with ``λ = (w_eq'((1 +
        mean)^252 - 1) - rf) / w_eq'Σw_eq``, LEAN's risk aversion implied from history.
        """
        n = returns.shape[1]
        w = np.full(n, 1.0 / n)
        cov = returns.cov() * self.annualization
        S = cov.to_numpy()
        if self.lean_compat:
            annual_return = float(w @ ((1.0 + returns.mean().to_numpy()) ** TRADING_DAYS - 1.0))
            risk_aversion = (annual_return - self.risk_free_rate) / float(w @ S @ w)
            pi = risk_aversion * (S @ w)
        else:
            pi = self.risk_free_rate + self.delta * (S @ w)
        return pd.Series(pi, index=returns.columns), cov

    def get_views(
        self, insights: list[Insight], symbols: list[Any]
    ) -> tuple[pd.DataFrame, pd.Series] | None:
        """The link matrix ``P`` (views x symbols) and view returns ``Q`` (not annualised).

        riskbook: one row per insight with a non-zero ``direction * |magnitude|``; with
        ``lean_compat``, one row per source model (LEAN's aggregation). None without views.
        """
        index = {s: j for j, s in enumerate(symbols)}
        rows: list[np.ndarray] = []
        q: list[float] = []
        names: list[str] = []
        if self.lean_compat:
            groups: dict[Any, list[Insight]] = {}
            for insight in insights:
                groups.setdefault(insight.source_model, []).append(insight)
            for model, group in groups.items():
                up = sum(abs(i.magnitude or 0.0) for i in group if i.direction == 1)
                down = sum(abs(i.magnitude or 0.0) for i in group if i.direction == -1)
                value = up if up > down else down
                if value == 0:
                    continue
                row = np.zeros(len(symbols))
                for i in group:
                    if i.symbol in index:
                        row[index[i.symbol]] = int(i.direction) * abs(i.magnitude or 0.0) / value
                rows.append(row)
                q.append(value)
                names.append(str(model))
        else:
            for i in insights:
                m = _signed_magnitude(i)
                if not m or i.symbol not in index:
                    continue
                row = np.zeros(len(symbols))
                row[index[i.symbol]] = 1.0
                rows.append(row)
                q.append(m)
                names.append(f"{i.source_model}:{i.symbol}")
        if not rows:
            return None
        return (
            pd.DataFrame(np.array(rows), index=names, columns=pd.Index(symbols)),
            pd.Series(q, index=names, dtype=float),
        )

    def _lean_master_formula(
        self, pi: np.ndarray, S: np.ndarray, P: np.ndarray, Q: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """LEAN's ``apply_blacklitterman_master_formula``, including its ``* delta``."""
        tS = self.tau * S
        omega = np.diag(np.diag(P @ tS @ P.T))
        if np.linalg.det(omega) == 0:
            return pi, S
        A = tS @ P.T @ np.linalg.inv(P @ tS @ P.T + omega)
        pi = pi + A @ (Q - P @ pi)
        M = tS - A @ P @ tS
        return pi, (S + M) * self.delta

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        """Optimizer weights on the posterior (see the class docstring)."""
        self.prior_ = self.posterior_ = self.views_ = None
        if not active_insights:
            return {}
        symbols = _unique_symbols(active_insights)
        if self.lean_compat:
            self.excluded_ = {}
            missing = [i for i in active_insights if i.magnitude is None]
            if missing:
                raise DataError(
                    "BlackLittermanOptimizationPortfolioConstructionModel (lean_compat) needs a "
                    "magnitude on every insight, as LEAN does",
                    symbol=str(missing[0].symbol),
                    parameter="magnitude",
                )
            views = self.get_views(active_insights, symbols)
            if views is None:
                return {}
            data = self._lean_data(symbols)
            assert self.algorithm is not None
            for insight in active_insights:
                data[insight.symbol].add(self.algorithm.time, float(insight.magnitude or 0.0))
            R = _lean_returns_matrix(data, symbols)
        else:
            R = self._returns(symbols)
            if R.empty:
                return {}
            views = self.get_views(active_insights, list(R.columns))
        kept = list(R.columns)
        pi, cov = self.get_equilibrium_return(R)
        self.prior_ = (pi, cov)
        mu, S = pi.to_numpy(), cov.to_numpy()
        if views is not None:
            P, Q = views
            self.views_ = views
            if self.lean_compat:
                mu, S = self._lean_master_formula(mu, S, P.to_numpy(), Q.to_numpy())
            else:
                mu, S = black_litterman(
                    mu, S, P.to_numpy(), Q.to_numpy() * self.annualization, tau=self.tau
                )
        self.posterior_ = (pd.Series(mu, index=kept), pd.DataFrame(S, index=kept, columns=kept))
        w = _call_optimizer(self.optimizer, R, self.posterior_[0], self.posterior_[1])
        return _targets(active_insights, kept, self._apply_bias(w, kept))


class RiskParityPortfolioConstructionModel(_ReturnsModel):
    """LEAN's risk-parity model: equal risk contributions over recent returns.

    Every active insight's symbol takes part whatever its direction (LEAN); weights are
    positive. A SHORT bias is refused.

    Parameters
    ----------
    rebalance, lookback, period, resolution
        As :class:`MeanVarianceOptimizationPortfolioConstructionModel` (``period`` 252).
    portfolio_bias
        LONG_SHORT (default) or LONG; SHORT raises :class:`~riskbook.errors.ConfigError`.
    optimizer
        Default :class:`~riskbook.construct.optimizers.RiskParityPortfolioOptimizer`.
    lean_compat
        Handed to the default optimizer (LEAN clips its weights without renormalising).

    Examples
    --------
    >>> RiskParityPortfolioConstructionModel(portfolio_bias=PortfolioBias.SHORT)
    Traceback (most recent call last):
    ...
    riskbook.errors.ConfigError: risk parity is long-only: a SHORT bias is not allowed [parameter=portfolio_bias]
    """

    def __init__(
        self,
        rebalance: Any = Resolution.DAILY,
        portfolio_bias: PortfolioBias | int = PortfolioBias.LONG_SHORT,
        lookback: int = 1,
        period: int = 252,
        resolution: Resolution | int = Resolution.DAILY,
        optimizer: Any = None,
        *,
        lean_compat: bool = False,
    ) -> None:
        if PortfolioBias(portfolio_bias) == PortfolioBias.SHORT:
            raise ConfigError(
                "risk parity is long-only: a SHORT bias is not allowed", parameter="portfolio_bias"
            )
        super().__init__(rebalance, portfolio_bias, lookback, period, resolution, lean_compat)
        self.optimizer = (
            RiskParityPortfolioOptimizer(lean_compat=self.lean_compat)
            if optimizer is None
            else optimizer
        )

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        """Risk-parity weights per symbol of the active insights."""
        if not active_insights:
            return {}
        R = self._returns(_unique_symbols(active_insights))
        if R.empty:
            return {}
        kept = list(R.columns)
        return _targets(active_insights, kept, _call_optimizer(self.optimizer, R))


class MeanReversionPortfolioConstructionModel(PortfolioConstructionModel):
    """LEAN's mean-reversion model: On-Line Moving Average Reversion (Li & Hoi 2012).

    At each decision, the predicted price relative of each symbol is ``x̃ = MA / price``
    (``MA`` the simple moving average of the last ``window_size`` closes, the current one
    included) or ``1 + direction * |magnitude|`` when the insight has a magnitude; the last
    portfolio takes one :func:`olmar_step` and is projected on the simplex
    (:func:`simplex_projection`). Long-only; weights sum to 1. No target is made until every
    symbol has ``window_size`` closes (LEAN: all indicators ready).

    Parameters
    ----------
    rebalance
        Any rebalance form (default ``Resolution.DAILY``).
    portfolio_bias
        LONG (default) or LONG_SHORT (the portfolio is long-only either way); SHORT raises
        :class:`~riskbook.errors.ConfigError`.
    reversion_threshold
        ``ε``: the predicted growth the portfolio must reach before it stops moving (the
        paper's experiments use 10; LEAN's default 1 moves only when a loss is predicted).
    window_size
        Closes in the moving average.
    resolution
        Bar resolution of the history.
    lean_compat
        Reproduce LEAN: ``x = price / MA`` (or ``1 + direction * magnitude``) with the mirrored
        update ``b - λ (x - x̄)``, ``λ = max(0, (b'x - ε) / |x - x̄|²)``, and a positional state
        reset when the number of insights changes.

    Attributes
    ----------
    weights_ : dict
        The last portfolio, by symbol (the algorithm's state ``b_t``).

    Examples
    --------
    >>> from datetime import timedelta
    >>> from riskbook.construct import Insight, SimpleAlgorithm
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500().select(["JNJ", "KO", "XOM"]), "2019-12-31")
    >>> model = MeanReversionPortfolioConstructionModel()
    >>> model.algorithm = algo
    >>> ins = [Insight.price(s, timedelta(days=1), 1) for s in ("JNJ", "KO", "XOM")]
    >>> model.price_relatives(ins).round(4)  # all three closed above their 20-day average
    array([0.9789, 0.9844, 0.9961])
    >>> {i.symbol: round(p, 4) for i, p in model.determine_target_percent(ins).items()}
    {'JNJ': 0.0, 'KO': 0.0, 'XOM': 1.0}
    >>> {i.symbol: round(p, 4) for i, p in model.determine_target_percent([
    ...     Insight.price("JNJ", timedelta(days=1), 1, magnitude=0.01), *ins[1:]]).items()}
    {'JNJ': 0.0821, 'KO': 0.0, 'XOM': 0.9179}
    """

    def __init__(
        self,
        rebalance: Any = Resolution.DAILY,
        portfolio_bias: PortfolioBias | int = PortfolioBias.LONG,
        reversion_threshold: float = 1.0,
        window_size: int = 20,
        resolution: Resolution | int = Resolution.DAILY,
        *,
        lean_compat: bool = False,
    ) -> None:
        if PortfolioBias(portfolio_bias) == PortfolioBias.SHORT:
            raise ConfigError(
                "mean reversion (OLMAR) is long-only: a SHORT bias is not allowed",
                parameter="portfolio_bias",
            )
        super().__init__(rebalance, portfolio_bias)
        self.reversion_threshold = _finite(reversion_threshold, "reversion_threshold")
        self.window_size = _positive_int(window_size, "window_size")
        self.resolution = Resolution(resolution)
        self.lean_compat = bool(lean_compat)
        self.weights_: dict[Any, float] = {}
        self._lean_vector: np.ndarray | None = None

    def price_relatives(self, active_insights: list[Insight]) -> np.ndarray | None:
        """Predicted price relatives ``x̃`` per insight, or None if some symbol is not ready."""
        symbols = _unique_symbols(active_insights)
        closes = self.history_closes(symbols, self.window_size, self.resolution)
        if any(s not in closes.columns or closes[s].count() < self.window_size for s in symbols):
            return None
        x = np.empty(len(active_insights))
        for k, insight in enumerate(active_insights):
            column = closes[insight.symbol]
            price, sma = float(column.iloc[-1]), float(column.mean())
            if insight.magnitude is not None:
                if self.lean_compat:
                    x[k] = 1.0 + insight.magnitude * int(insight.direction)
                else:
                    x[k] = 1.0 + int(insight.direction) * abs(insight.magnitude)
            else:
                x[k] = price / sma if self.lean_compat else sma / price
        return x

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        """The next OLMAR portfolio, one weight per active insight."""
        if not active_insights:
            return {}
        x = self.price_relatives(active_insights)
        if x is None:
            return {}
        m = len(active_insights)
        symbols = [i.symbol for i in active_insights]
        if self.lean_compat:
            if self._lean_vector is None or len(self._lean_vector) != m:
                self._lean_vector = np.full(m, 1.0 / m)
            b = simplex_projection(_lean_olmar_step(self._lean_vector, x, self.reversion_threshold))
            self._lean_vector = b
        else:
            if set(self.weights_) != set(symbols):
                current = np.full(m, 1.0 / m)
            else:
                current = np.array([self.weights_[s] for s in symbols])
            b = simplex_projection(olmar_step(current, x, self.reversion_threshold))
        self.weights_ = dict(zip(symbols, (float(v) for v in b), strict=True))
        return {insight: float(b[k]) for k, insight in enumerate(active_insights)}

    def on_securities_changed(self, algorithm: Any, changes: SecurityChanges) -> None:
        """Record the change; a removed symbol leaves the state (the next decision resets it)."""
        super().on_securities_changed(algorithm, changes)
        for s in changes.removed_symbols:
            self.weights_.pop(s, None)


# --------------------------------------------------------------------------------------------
# riskbook's own
# --------------------------------------------------------------------------------------------


class _LongOnlyCovarianceModel(_ReturnsModel):
    """Long-only allocators over the UP insights; FLAT and DOWN insights get 0."""

    def __init__(
        self,
        rebalance: Any,
        lookback: int,
        period: int,
        resolution: Resolution | int,
        covariance_estimator: Callable[[pd.DataFrame], Any] | None,
    ) -> None:
        super().__init__(rebalance, PortfolioBias.LONG, lookback, period, resolution, False)
        if covariance_estimator is not None and not callable(covariance_estimator):
            raise ConfigError(
                "covariance_estimator must be a callable taking the returns frame",
                parameter="covariance_estimator",
            )
        self.covariance_estimator = covariance_estimator

    def _covariance(self, R: pd.DataFrame) -> pd.DataFrame:
        if self.covariance_estimator is None:
            return R.cov()
        cov = self.covariance_estimator(R)
        if not isinstance(cov, pd.DataFrame):
            cov = pd.DataFrame(np.asarray(cov, dtype=float), index=R.columns, columns=R.columns)
        return cov

    def _weights(self, cov: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        """Optimizer weights for the UP insights' symbols, 0 for the others."""
        if not active_insights:
            return {}
        up = [i for i in active_insights if i.direction == InsightDirection.UP]
        out = {i: 0.0 for i in active_insights if i.direction != InsightDirection.UP}
        if not up:
            self.excluded_ = {}
            return out
        R = self._returns(_unique_symbols(up))
        if R.empty:
            return out
        kept = list(R.columns)
        w = np.asarray(self._weights(self._covariance(R)), dtype=float)
        out.update(_targets(up, kept, w))
        return {i: out[i] for i in active_insights if i in out}


class HierarchicalRiskParityPortfolioConstructionModel(_LongOnlyCovarianceModel):
    """Hierarchical Risk Parity (Lopez de Prado 2016) over the UP insights' symbols.

    Same history conventions as LEAN's optimizer models (``lookback``-bar returns, the last
    ``period``). Long-only: UP insights share the whole portfolio by
    :func:`riskbook.optimize.hrp`; FLAT and DOWN insights get 0.

    Parameters
    ----------
    rebalance, lookback, period, resolution
        As :class:`RiskParityPortfolioConstructionModel`.
    linkage
        The clustering linkage (see :func:`riskbook.optimize.hrp`; default ``"single"``).
    covariance_estimator
        Callable from the returns frame to a covariance (e.g.
        :func:`riskbook.estimate.ledoit_wolf`); default the sample covariance.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from riskbook.construct import Insight, SimpleAlgorithm
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500().select(["JNJ", "KO", "XOM"]), "2019-12-31")
    >>> model = HierarchicalRiskParityPortfolioConstructionModel()
    >>> model.algorithm = algo
    >>> ins = [Insight.price(s, timedelta(days=1), d) for s, d in (("JNJ", 1), ("KO", 1),
    ...        ("XOM", 0))]
    >>> {i.symbol: round(p, 4) for i, p in model.determine_target_percent(ins).items()}
    {'JNJ': 0.5166, 'KO': 0.4834, 'XOM': 0.0}
    """

    def __init__(
        self,
        rebalance: Any = Resolution.DAILY,
        lookback: int = 1,
        period: int = 252,
        resolution: Resolution | int = Resolution.DAILY,
        *,
        linkage: str = "single",
        covariance_estimator: Callable[[pd.DataFrame], Any] | None = None,
    ) -> None:
        super().__init__(rebalance, lookback, period, resolution, covariance_estimator)
        self.linkage = linkage

    def _weights(self, cov: pd.DataFrame) -> np.ndarray:
        return np.asarray(hrp(cov, linkage=self.linkage), dtype=float)


class MinimumVariancePortfolioConstructionModel(_LongOnlyCovarianceModel):
    """The long-only minimum-variance portfolio (an exact QP) over the UP insights' symbols.

    ``min w'Σw`` s.t. ``0 <= w_i <= max_weight`` and ``sum(w) = budget``
    (:func:`riskbook.optimize.min_variance`): not the clipped and renormalised closed form (seed
    000). FLAT and DOWN insights get 0.

    Parameters
    ----------
    rebalance, lookback, period, resolution
        As :class:`RiskParityPortfolioConstructionModel`.
    max_weight
        Cap per symbol.
    budget
        Fraction of the portfolio invested (the rest stays in cash).
    covariance_estimator
        Callable from the returns frame to a covariance; default the sample covariance.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from riskbook.construct import Insight, SimpleAlgorithm
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500().select(["JNJ", "KO", "XOM"]), "2019-12-31")
    >>> model = MinimumVariancePortfolioConstructionModel(max_weight=0.4, budget=0.9)
    >>> model.algorithm = algo
    >>> ins = [Insight.price(s, timedelta(days=1), 1) for s in ("JNJ", "KO", "XOM")]
    >>> {i.symbol: round(p, 4) for i, p in model.determine_target_percent(ins).items()}
    {'JNJ': 0.3144, 'KO': 0.3318, 'XOM': 0.2539}
    """

    def __init__(
        self,
        rebalance: Any = Resolution.DAILY,
        lookback: int = 1,
        period: int = 252,
        resolution: Resolution | int = Resolution.DAILY,
        *,
        max_weight: float = 1.0,
        budget: float = 1.0,
        covariance_estimator: Callable[[pd.DataFrame], Any] | None = None,
    ) -> None:
        super().__init__(rebalance, lookback, period, resolution, covariance_estimator)
        self.max_weight = _finite(max_weight, "max_weight")
        self.budget = _finite(budget, "budget")
        if self.max_weight <= 0 or self.budget <= 0:
            raise ConfigError("max_weight and budget must be > 0", parameter="max_weight/budget")

    def _weights(self, cov: pd.DataFrame) -> np.ndarray:
        return np.asarray(
            min_variance(cov, bounds=(0.0, self.max_weight), budget=self.budget), dtype=float
        )
