"""LEAN's portfolio optimizers, with LEAN's signatures, solved exactly by :mod:`riskbook.optimize`.

Each optimizer is configured in its constructor and has one method, ``optimize(historical_returns,
expected_returns=None, covariance=None) -> numpy.ndarray`` (LEAN's ``IPortfolioOptimizer``).
``historical_returns`` is a T x N DataFrame or array of per-bar returns; by default ``mu`` is its
column means and ``Sigma`` its sample covariance (``ddof=1``), per bar: nothing is annualised
(LEAN PR #7053). The weights come back as an ndarray in the column order of the input.

Where LEAN has a known defect, riskbook does the right thing by default and ``lean_compat=True``
reproduces LEAN's behaviour:

================================  =================================  ===============================
optimizer / situation             riskbook default                   ``lean_compat=True`` (LEAN)
================================  =================================  ===============================
MinimumVariance: target return    ``InfeasibleError`` naming         equal weights 1/N (LEAN returns
outside the reachable range, or   ``target_return`` with the         its starting point when the
the solver fails                  reachable range                    solver fails)
MinimumVariance: the result       weights sum to 1 as constrained    divided by ``sum(abs(w))``, so
                                  (net 1; gross may exceed 1)        gross is 1 and net is below 1
MaximumSharpeRatio: no feasible   ``OptimizationError`` naming       equal weights 1/N
portfolio beats the risk-free     ``mu`` (or ``bounds``)
rate, or the solver fails
RiskParity: ``minimum_weight`` /  scale-and-clip: the weights are    weights clipped to the bounds
``maximum_weight`` bind           clipped and the unclipped ones     after normalising, without
                                  rescaled so the sum stays 1        renormalising (sum != 1)
RiskParity: bounds that no        ``InfeasibleError`` naming the     clipped anyway
portfolio summing to 1 can meet   bound
================================  =================================  ===============================

With ``lean_compat=True`` a fallback is still recorded: ``fallback_reason_`` holds the error that
LEAN would have swallowed (None when the optimizer did not fall back), and a warning is logged.
The optimum itself is always computed by riskbook's exact solvers (the active-set QP with a KKT
check, the Charnes-Cooper QP for max Sharpe, Newton on the Spinu objective for risk parity), so
results agree with LEAN's iterative solvers (Goldfarb-Idnani, SLSQP, trust-constr, plain Newton)
to those solvers' tolerance, and LEAN's post-processing (fallback, division, clipping) is
reproduced exactly. LEAN's MaximumSharpeRatio was a minimum-variance portfolio at the
equal-weight return until PR #9560 (issue #9322); riskbook, like LEAN today, maximises the Sharpe
ratio, and does not reproduce the old behaviour.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> R = rng.normal(0.001, 0.01, size=(250, 3))
>>> w = MinimumVariancePortfolioOptimizer(target_return=None).optimize(R)
>>> bool(np.isclose(w.sum(), 1.0))
True
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from riskbook._labels import unwrap_cov, unwrap_returns, unwrap_vector
from riskbook.errors import ConfigError, DataError, InfeasibleError, OptimizationError
from riskbook.optimize import (
    max_sharpe,
    mean_variance,
    min_variance,
    risk_parity,
    unconstrained_mean_variance,
)

__all__ = [
    "MaximumSharpeRatioPortfolioOptimizer",
    "MinimumVariancePortfolioOptimizer",
    "PortfolioOptimizer",
    "RiskParityPortfolioOptimizer",
    "UnconstrainedMeanVariancePortfolioOptimizer",
    "scale_and_clip",
]

_log = logging.getLogger(__name__)


@runtime_checkable
class PortfolioOptimizer(Protocol):
    """LEAN's ``IPortfolioOptimizer``: historical returns in, one weight per column out."""

    def optimize(
        self, historical_returns: Any, expected_returns: Any = None, covariance: Any = None
    ) -> np.ndarray:
        """Weights for the columns of ``historical_returns`` (see the module docstring)."""
        ...


# --------------------------------------------------------------------------------------------
# Input handling shared by the optimizers
# --------------------------------------------------------------------------------------------


def _moments(
    historical_returns: Any,
    expected_returns: Any,
    covariance: Any,
    *,
    need_mu: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(Sigma, mu)`` from the three LEAN arguments, validated and aligned.

    ``historical_returns`` may be None when ``covariance`` (and ``expected_returns``, where the
    optimizer needs them) are given.
    """
    labels: list[str] | None = None
    X: np.ndarray | None = None
    if historical_returns is not None:
        X, labels = unwrap_returns(historical_returns, min_obs=2, name="historical_returns")
        if X.shape[1] < 1:
            raise DataError(
                "historical_returns has no columns; at least one asset is needed",
                parameter="historical_returns",
            )
    elif covariance is None:
        raise DataError(
            "historical_returns is required unless covariance is given",
            parameter="historical_returns",
        )
    if covariance is None:
        assert X is not None
        S = np.atleast_2d(np.cov(X, rowvar=False, ddof=1))
    else:
        if isinstance(covariance, pd.DataFrame) and labels is not None:
            cols = [str(c) for c in covariance.columns]
            if sorted(cols) != sorted(labels):
                absent = [s for s in labels if s not in cols] or cols
                raise OptimizationError(
                    "covariance must be labelled by the columns of historical_returns",
                    symbol=absent[0],
                    parameter="covariance",
                )
            covariance = covariance.set_axis(cols, axis=0).set_axis(cols, axis=1)
            covariance = covariance.loc[list(labels), list(labels)]
        S, cov_labels = unwrap_cov(covariance, name="covariance")
        labels = labels if labels is not None else cov_labels
        if X is not None and S.shape[0] != X.shape[1]:
            raise OptimizationError(
                f"covariance is {S.shape[0]} x {S.shape[0]} but historical_returns has "
                f"{X.shape[1]} columns",
                parameter="covariance",
            )
    n = S.shape[0]
    if not need_mu:
        mu = None
        if expected_returns is not None:
            mu = unwrap_vector(expected_returns, n, labels, name="expected_returns")
        return S, mu
    if expected_returns is None:
        if X is None:
            raise DataError(
                "expected_returns or historical_returns is required",
                parameter="expected_returns",
            )
        return S, X.mean(axis=0)
    return S, unwrap_vector(expected_returns, n, labels, name="expected_returns")


def _weight_bound(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}", parameter=name) from None
    if math.isnan(v):
        raise ConfigError(f"{name} must not be NaN", parameter=name)
    return v


def _check_bounds(lower: float, upper: float) -> None:
    if lower > upper:
        raise ConfigError(
            f"minimum_weight {lower:g} is above maximum_weight {upper:g}",
            parameter="minimum_weight",
        )


def _equal(n: int) -> np.ndarray:
    return np.full(n, 1.0 / n)


class _LeanFallback:
    """Shared bookkeeping of the explicit, recorded equal-weight fallback of ``lean_compat``."""

    lean_compat: bool
    fallback_reason_: str | None

    def _fallback(self, n: int, error: Exception) -> np.ndarray:
        if not self.lean_compat:
            raise error
        self.fallback_reason_ = str(error)
        _log.warning("%s fell back to equal weights (lean_compat): %s", type(self).__name__, error)
        return _equal(n)


# --------------------------------------------------------------------------------------------
# The optimizers
# --------------------------------------------------------------------------------------------


class MinimumVariancePortfolioOptimizer(_LeanFallback):
    """LEAN's ``MinimumVariancePortfolioOptimizer``: ``min w'Σw`` at a target return.

    Solves ``min w'Σw`` s.t. ``sum(w) = 1``, ``mu'w = target_return`` (an equality, as LEAN) and
    ``minimum_weight <= w_i <= maximum_weight``, exactly (:func:`riskbook.optimize.mean_variance`).

    Parameters
    ----------
    minimum_weight, maximum_weight
        Per-asset bounds (LEAN: -1 and 1).
    target_return
        Required ``mu'w`` in the units of the returns (per bar). LEAN's default 0.02 is 2% per
        bar, usually out of reach with daily data. ``None`` drops the return constraint
        (riskbook extension): the plain minimum-variance portfolio.
    lean_compat
        Reproduce LEAN: fall back to 1/N when the problem is infeasible or the solver fails, and
        divide the result by ``sum(abs(w))``.

    Attributes
    ----------
    fallback_reason_
        After ``optimize`` with ``lean_compat=True``: why it fell back to 1/N, else None.

    Notes
    -----
    Differences from LEAN (default ``lean_compat=False``):

    * an unreachable ``target_return`` raises :class:`~riskbook.errors.InfeasibleError`
      (``parameter="target_return"``, the reachable range in the message) instead of silently
      returning equal weights;
    * the weights are returned as solved: they sum to 1. LEAN divides them by the sum of their
      absolute values, which leaves long-only weights unchanged but turns a long-short
      portfolio into one with gross exposure 1 and net exposure below 1.

    Examples
    --------
    >>> import numpy as np
    >>> R = np.array([[0.01, 0.02], [0.03, -0.01], [-0.02, 0.01], [0.02, 0.00]])
    >>> opt = MinimumVariancePortfolioOptimizer(0.0, 1.0, target_return=0.0075)
    >>> np.round(opt.optimize(R), 4)
    array([0.5, 0.5])
    >>> MinimumVariancePortfolioOptimizer(0.0, 1.0).optimize(R)
    Traceback (most recent call last):
    ...
    riskbook.errors.InfeasibleError: target_return 0.02 is outside the reachable range [0.005, 0.01] under these constraints; choose a target inside it [parameter=target_return, reachable=[0.005, 0.01]]
    >>> MinimumVariancePortfolioOptimizer(0.0, 1.0, lean_compat=True).optimize(R)
    array([0.5, 0.5])
    """

    def __init__(
        self,
        minimum_weight: float = -1.0,
        maximum_weight: float = 1.0,
        target_return: float | None = 0.02,
        *,
        lean_compat: bool = False,
    ) -> None:
        self.minimum_weight = _weight_bound(minimum_weight, "minimum_weight")
        self.maximum_weight = _weight_bound(maximum_weight, "maximum_weight")
        _check_bounds(self.minimum_weight, self.maximum_weight)
        if target_return is not None:
            target_return = _weight_bound(target_return, "target_return")
            if math.isinf(target_return):
                raise ConfigError("target_return must be finite", parameter="target_return")
        self.target_return = target_return
        self.lean_compat = bool(lean_compat)
        self.fallback_reason_: str | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(minimum_weight={self.minimum_weight!r}, "
            f"maximum_weight={self.maximum_weight!r}, target_return={self.target_return!r}, "
            f"lean_compat={self.lean_compat!r})"
        )

    def optimize(
        self, historical_returns: Any, expected_returns: Any = None, covariance: Any = None
    ) -> np.ndarray:
        """Minimum-variance weights at the target return.

        Parameters
        ----------
        historical_returns
            T x N per-bar returns (DataFrame or array), T >= 2, no NaN. May be None when
            ``covariance`` and ``expected_returns`` are given.
        expected_returns
            Length-N ``mu`` (default: column means). A Series is aligned by symbol.
        covariance
            N x N ``Σ`` (default: sample covariance, ``ddof=1``).

        Returns
        -------
        numpy.ndarray
            N weights, in the column order of ``historical_returns``.

        Raises
        ------
        DataError
            NaN or infinite returns, fewer than 2 rows or no column.
        InfeasibleError
            Unreachable ``target_return`` or bounds that cannot hold ``sum(w) = 1`` (not with
            ``lean_compat``, which falls back to 1/N).
        OptimizationError
            Bad ``expected_returns`` or ``covariance`` (named in ``parameter``).
        """
        self.fallback_reason_ = None
        S, mu = _moments(historical_returns, expected_returns, covariance, need_mu=True)
        assert mu is not None
        n = S.shape[0]
        bounds = (self.minimum_weight, self.maximum_weight)
        try:
            if self.target_return is None:
                w = np.asarray(min_variance(S, bounds=bounds), dtype=np.float64)
            else:
                w = np.asarray(
                    mean_variance(S, mu, target_return=self.target_return, bounds=bounds),
                    dtype=np.float64,
                )
        except OptimizationError as exc:  # InfeasibleError included
            return self._fallback(n, exc)
        if self.lean_compat:
            gross = float(np.abs(w).sum())
            return w / gross
        return w

    Optimize = optimize  # LEAN's spelling


class MaximumSharpeRatioPortfolioOptimizer(_LeanFallback):
    """LEAN's ``MaximumSharpeRatioPortfolioOptimizer``: ``max (mu - rf)'w / sqrt(w'Σw)``.

    Subject to ``sum(w) = 1`` and ``minimum_weight <= w_i <= maximum_weight``, solved exactly
    through the Charnes-Cooper transformation (:func:`riskbook.optimize.max_sharpe`), as LEAN's
    C# optimizer since PR #9560.

    Parameters
    ----------
    minimum_weight, maximum_weight
        Per-asset bounds (LEAN: -1 and 1).
    risk_free_rate
        Per-bar risk-free rate subtracted from ``mu``.
    lean_compat
        Reproduce LEAN: equal weights 1/N when no feasible portfolio has a positive excess
        return, or the solver fails.

    Attributes
    ----------
    fallback_reason_
        After ``optimize`` with ``lean_compat=True``: why it fell back to 1/N, else None.

    Notes
    -----
    Differences from LEAN (default ``lean_compat=False``): when the Sharpe ratio has no
    positive maximum (e.g. long-only and every ``mu_i <= risk_free_rate``) riskbook raises
    :class:`~riskbook.errors.OptimizationError` naming ``mu`` instead of silently returning 1/N.
    Before LEAN PR #9560 (issue #9322) LEAN's version minimised variance at the equal-weight
    return; that behaviour is not reproduced.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.01]])
    >>> opt = MaximumSharpeRatioPortfolioOptimizer(0.0, 1.0, risk_free_rate=0.01)
    >>> np.round(opt.optimize(None, [0.08, 0.03], cov), 4)
    array([0.6042, 0.3958])
    >>> MaximumSharpeRatioPortfolioOptimizer(0, 1, lean_compat=True).optimize(
    ...     None, [-0.01, -0.02], cov)
    array([0.5, 0.5])
    """

    def __init__(
        self,
        minimum_weight: float = -1.0,
        maximum_weight: float = 1.0,
        risk_free_rate: float = 0.0,
        *,
        lean_compat: bool = False,
    ) -> None:
        self.minimum_weight = _weight_bound(minimum_weight, "minimum_weight")
        self.maximum_weight = _weight_bound(maximum_weight, "maximum_weight")
        _check_bounds(self.minimum_weight, self.maximum_weight)
        rf = _weight_bound(risk_free_rate, "risk_free_rate")
        if math.isinf(rf):
            raise ConfigError("risk_free_rate must be finite", parameter="risk_free_rate")
        self.risk_free_rate = rf
        self.lean_compat = bool(lean_compat)
        self.fallback_reason_: str | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(minimum_weight={self.minimum_weight!r}, "
            f"maximum_weight={self.maximum_weight!r}, risk_free_rate={self.risk_free_rate!r}, "
            f"lean_compat={self.lean_compat!r})"
        )

    def optimize(
        self, historical_returns: Any, expected_returns: Any = None, covariance: Any = None
    ) -> np.ndarray:
        """Maximum Sharpe ratio weights.

        Parameters
        ----------
        historical_returns, expected_returns, covariance
            As :meth:`MinimumVariancePortfolioOptimizer.optimize`.

        Returns
        -------
        numpy.ndarray
            N weights summing to 1, in the column order of ``historical_returns``.

        Raises
        ------
        DataError
            NaN or infinite returns, fewer than 2 rows or no column.
        OptimizationError
            No feasible portfolio beats ``risk_free_rate`` (``parameter="mu"``), or the optimum
            needs a non-positive net position (``parameter="bounds"``); not with
            ``lean_compat``, which falls back to 1/N. Bad ``expected_returns`` / ``covariance``.
        InfeasibleError
            Bounds that cannot hold ``sum(w) = 1`` (1/N with ``lean_compat``).
        """
        self.fallback_reason_ = None
        S, mu = _moments(historical_returns, expected_returns, covariance, need_mu=True)
        assert mu is not None
        n = S.shape[0]
        try:
            w = max_sharpe(
                S,
                mu,
                risk_free=self.risk_free_rate,
                bounds=(self.minimum_weight, self.maximum_weight),
            )
        except OptimizationError as exc:
            return self._fallback(n, exc)
        return np.asarray(w, dtype=np.float64)

    Optimize = optimize  # LEAN's spelling


def scale_and_clip(x: Any, lower: float, upper: float, *, total: float = 1.0) -> np.ndarray:
    """``w_i = clip(t x_i, lower, upper)`` with the one ``t > 0`` that makes ``sum(w) = total``.

    The assets that do not hit a bound keep their relative sizes; the result is the limit of
    "clip, then rescale the unclipped ones" repeated until nothing moves.

    Parameters
    ----------
    x
        Positive raw weights.
    lower, upper
        Bounds with ``0 <= lower <= upper``.
    total
        Required sum.

    Returns
    -------
    numpy.ndarray
        Weights within the bounds that sum to ``total``.

    Raises
    ------
    InfeasibleError
        ``N * lower > total`` (``parameter="minimum_weight"``) or ``N * upper < total``
        (``parameter="maximum_weight"``).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(scale_and_clip([0.7, 0.2, 0.1], 0.0, 0.5), 4)
    array([0.5   , 0.3333, 0.1667])
    >>> np.round(scale_and_clip([0.7, 0.2, 0.1], 0.2, 0.5), 4)
    array([0.5, 0.3, 0.2])
    """
    v = np.asarray(x, dtype=np.float64).ravel()
    n = v.size
    if not (v > 0).all():
        raise OptimizationError("raw weights must be positive to scale and clip", parameter="x")
    scale = max(1.0, abs(total))
    if n * lower > total + 1e-12 * scale:
        raise InfeasibleError(
            f"{n} assets at minimum_weight {lower:g} already exceed the total {total:g}",
            parameter="minimum_weight",
        )
    if n * upper < total - 1e-12 * scale:
        raise InfeasibleError(
            f"{n} assets at maximum_weight {upper:g} cannot reach the total {total:g}",
            parameter="maximum_weight",
        )
    if n * lower >= total - 1e-12 * scale:
        return np.full(n, lower)
    if n * upper <= total + 1e-12 * scale:
        return np.full(n, upper)
    # f(t) = sum clip(t x, lower, upper) is continuous, piecewise linear and nondecreasing;
    # find the segment between breakpoints where it crosses `total`, then solve it exactly.
    with np.errstate(over="ignore"):  # a huge upper bound (LEAN's float max) over tiny x is inf
        breaks = np.concatenate([lower / v, upper / v])
    breaks = np.unique(breaks[np.isfinite(breaks)])
    sums = np.clip(np.outer(breaks, v), lower, upper).sum(axis=1)
    k = int(np.searchsorted(sums, total, side="left"))
    if k < len(breaks) and sums[k] == total:
        t = breaks[k]
    else:
        t0 = breaks[k - 1] if k > 0 else 0.0
        w0 = np.clip(t0 * v, lower, upper)
        free = (t0 * v >= lower) & (t0 * v < upper)
        slope = float(v[free].sum())
        t = t0 + (total - float(w0.sum())) / slope
    w = np.clip(t * v, lower, upper)
    # Remove the last rounding from the free assets so the sum is exact to the last bit or so.
    free = (w > lower) & (w < upper)
    if free.any():
        w[free] += (total - w.sum()) * v[free] / v[free].sum()
    return w


class RiskParityPortfolioOptimizer:
    """LEAN's ``RiskParityPortfolioOptimizer``: risk budgeting by Spinu's convex program.

    ``x`` minimises ``1/2 x'Σx - b'log(x)`` (``b = 1/N`` by default: equal risk contributions),
    then ``w = x / sum(x)`` (:func:`riskbook.optimize.risk_parity`); the asset risk
    contributions ``w_i (Σw)_i`` are then proportional to ``b``.

    Parameters
    ----------
    minimum_weight, maximum_weight
        Bounds on the final weights (LEAN: 1e-5 and the largest float).
    lean_compat
        Reproduce LEAN: clip the normalised weights to the bounds and stop there (the weights
        then need not sum to 1).

    Notes
    -----
    Differences from LEAN (default ``lean_compat=False``): bounds are applied by
    :func:`scale_and_clip`, so the weights stay within them *and* sum to 1; bounds that no such
    portfolio can meet raise :class:`~riskbook.errors.InfeasibleError`. LEAN clamps each weight
    and does not renormalise. As in LEAN's C# optimizer, ``expected_returns`` is the risk
    budget vector ``b`` (any positive scale), not expected returns. LEAN's Python version
    raises ``minimum_weight`` to at least 1e-5; riskbook accepts any ``minimum_weight >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> vol = np.array([0.1, 0.2, 0.3, 0.4])
    >>> cov = 0.5 * np.outer(vol, vol) + 0.5 * np.diag(vol**2)
    >>> np.round(RiskParityPortfolioOptimizer().optimize(None, covariance=cov), 4)
    array([0.48, 0.24, 0.16, 0.12])
    >>> np.round(RiskParityPortfolioOptimizer(maximum_weight=0.4).optimize(None, covariance=cov), 4)
    array([0.4   , 0.2769, 0.1846, 0.1385])
    >>> np.round(RiskParityPortfolioOptimizer(maximum_weight=0.4, lean_compat=True).optimize(
    ...     None, covariance=cov), 4)
    array([0.4 , 0.24, 0.16, 0.12])
    """

    def __init__(
        self,
        minimum_weight: float = 1e-5,
        maximum_weight: float = sys.float_info.max,
        *,
        lean_compat: bool = False,
    ) -> None:
        self.minimum_weight = _weight_bound(minimum_weight, "minimum_weight")
        self.maximum_weight = _weight_bound(maximum_weight, "maximum_weight")
        if self.minimum_weight < 0:
            raise ConfigError(
                f"minimum_weight must be >= 0 (risk parity is long-only), got {minimum_weight!r}",
                parameter="minimum_weight",
            )
        _check_bounds(self.minimum_weight, self.maximum_weight)
        self.lean_compat = bool(lean_compat)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(minimum_weight={self.minimum_weight!r}, "
            f"maximum_weight={self.maximum_weight!r}, lean_compat={self.lean_compat!r})"
        )

    def optimize(
        self, historical_returns: Any, expected_returns: Any = None, covariance: Any = None
    ) -> np.ndarray:
        """Risk-parity (risk-budgeting) weights.

        Parameters
        ----------
        historical_returns
            T x N per-bar returns; may be None when ``covariance`` is given.
        expected_returns
            The risk budget ``b`` (length N, positive; default equal). Named as in LEAN's
            interface, where the C# optimizer reads this argument as the budget.
        covariance
            N x N ``Σ`` (default: sample covariance, ``ddof=1``).

        Returns
        -------
        numpy.ndarray
            N positive weights.

        Raises
        ------
        DataError
            NaN or infinite returns, fewer than 2 rows or no column.
        OptimizationError
            An asset with zero variance, a non-positive budget, no convergence.
        InfeasibleError
            Bounds that cannot hold weights summing to 1 (not with ``lean_compat``).
        """
        S, budget = _moments(historical_returns, expected_returns, covariance, need_mu=False)
        if budget is not None and not (budget > 0).all():
            i = int(np.argmin(budget))
            raise OptimizationError(
                f"the risk budget must be positive, got {budget[i]:.3g}",
                symbol=f"asset {i}",
                parameter="expected_returns",
            )
        w = np.asarray(risk_parity(S, budgets=budget), dtype=np.float64)
        if self.lean_compat:
            return np.clip(w, self.minimum_weight, self.maximum_weight)
        if ((w >= self.minimum_weight) & (w <= self.maximum_weight)).all():
            return w
        return scale_and_clip(w, self.minimum_weight, self.maximum_weight)

    Optimize = optimize  # LEAN's spelling


class UnconstrainedMeanVariancePortfolioOptimizer:
    """LEAN's ``UnconstrainedMeanVariancePortfolioOptimizer``: ``w = Σ^-1 mu``, not normalised.

    The maximiser of ``mu'w - 1/2 w'Σw`` with no constraint (LEAN writes it ``mu' Σ^-1``; Σ is
    symmetric, so it is the same vector). The weights do not sum to 1: their scale is that of a
    unit risk aversion in the units of the inputs. riskbook solves by Cholesky instead of
    inverting, and raises on a singular covariance where LEAN's ``inv`` would return a
    meaningless answer or raise; there is no other difference, hence no ``lean_compat``.

    Examples
    --------
    >>> import numpy as np
    >>> UnconstrainedMeanVariancePortfolioOptimizer().optimize(
    ...     None, [0.02, 0.01], np.diag([0.04, 0.01]))
    array([0.5, 1. ])
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def optimize(
        self, historical_returns: Any, expected_returns: Any = None, covariance: Any = None
    ) -> np.ndarray:
        """``Σ^-1 mu``.

        Parameters
        ----------
        historical_returns, expected_returns, covariance
            As :meth:`MinimumVariancePortfolioOptimizer.optimize`.

        Returns
        -------
        numpy.ndarray
            N weights, not normalised.

        Raises
        ------
        DataError
            NaN or infinite returns, fewer than 2 rows or no column.
        OptimizationError
            A singular covariance (``parameter="cov"``), bad ``expected_returns``.
        """
        S, mu = _moments(historical_returns, expected_returns, covariance, need_mu=True)
        return np.asarray(unconstrained_mean_variance(S, mu), dtype=np.float64)

    Optimize = optimize  # LEAN's spelling
