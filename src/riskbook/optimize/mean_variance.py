"""Mean-variance optimisation: target return or risk aversion, the efficient frontier, max Sharpe.

Conventions: ``mu`` and ``cov`` are in the same units (per period, or both annualised; nothing
here annualises). ``risk_aversion`` ``δ`` maximises ``mu'w - δ/2 w'Σw``. A target return is an
equality ``mu'w = target`` (as LEAN's optimizers and the Merton closed form): a target below the
minimum-variance portfolio's return gives a portfolio on the inefficient branch, so ask the
frontier for efficient ones. Max Sharpe is solved exactly through the Charnes-Cooper
transformation: with ``y = κw`` and ``κ = 1 / (mu - r)'w``, maximising the Sharpe ratio is the
convex QP ``min y'Σy`` s.t. ``(mu - r)'y = 1`` and the constraints scaled by ``κ``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve

from riskbook._labels import unwrap_cov, unwrap_vector, wrap_weights
from riskbook.errors import InfeasibleError, OptimizationError
from riskbook.optimize._fast import absmax, vmax, vmin
from riskbook.optimize.constraints import (
    BoundsLike,
    GroupsLike,
    LinearConstraintsLike,
    PortfolioConstraints,
    box_budget_argmax,
    build_constraints,
    check_weights,
    explain_infeasibility,
    optimal_face,
    reachable_max,
    reachable_range,
)
from riskbook.optimize.qp import QuadraticProgram, require_psd, solve_portfolio, solve_qp

__all__ = [
    "EfficientFrontier",
    "efficient_frontier",
    "max_ratio_weights",
    "max_sharpe",
    "mean_variance",
    "unconstrained_mean_variance",
]


def _mu_vector(mu: Any, n: int, labels: list[str] | None) -> np.ndarray:
    """``mu`` as a validated array aligned to ``labels``.

    A Series already in the covariance's order skips the label re-indexing (``unwrap_vector``
    compares the indexes first), which costs more than a whole N = 20 solve under pandas 3.
    """
    return unwrap_vector(mu, n, labels, name="mu")


def _positive_definite_solve(S: np.ndarray, rhs: np.ndarray, *, what: str) -> np.ndarray:
    try:
        factor = cho_factor(S, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise OptimizationError(
            f"{what} needs an invertible covariance and cov is singular (not positive definite); "
            "use a shrunk estimate or add bounds",
            parameter="cov",
        ) from None
    return cho_solve(factor, rhs, check_finite=False)


def unconstrained_mean_variance(cov: Any, mu: Any) -> np.ndarray | pd.Series:
    """LEAN's ``UnconstrainedMeanVarianceOptimizer``: ``w = Σ^-1 mu``, not normalised.

    Kept for parity with LEAN: the weights do not sum to one and their scale is ``1 / risk
    aversion`` of the unconstrained problem ``max mu'w - 1/2 w'Σw``.

    Parameters
    ----------
    cov
        N x N positive definite covariance (ndarray or DataFrame labelled by symbol).
    mu
        Length-N expected returns (a Series is aligned by symbol).

    Returns
    -------
    numpy.ndarray or pandas.Series
        ``Σ^-1 mu``, of the kind of ``cov``.

    Raises
    ------
    OptimizationError
        Bad input, or a singular covariance (``parameter="cov"``).

    Examples
    --------
    >>> import numpy as np
    >>> unconstrained_mean_variance(np.diag([0.04, 0.01]), [0.02, 0.01])
    array([0.5, 1. ])
    """
    S, labels = unwrap_cov(cov)
    m = _mu_vector(mu, S.shape[0], labels)
    return wrap_weights(_positive_definite_solve(S, m, what="unconstrained_mean_variance"), labels)


def _constraints(
    S: np.ndarray, labels: list[str] | None, bounds, budget, groups, linear_constraints
) -> PortfolioConstraints:
    require_psd(S)  # a non-PSD covariance makes the QP non-convex: refused, named
    return build_constraints(
        S.shape[0],
        labels,
        bounds=bounds,
        budget=budget,
        groups=groups,
        linear_constraints=linear_constraints,
    )


def _is_unbounded(cons: PortfolioConstraints) -> bool:
    return cons.box_only and vmax(cons.lower) == -math.inf and vmin(cons.upper) == math.inf


def _range_tol(mu: np.ndarray, cons: PortfolioConstraints) -> float:
    return 1e-12 * absmax(mu) * max(1.0, abs(cons.budget))


def _face_min_variance(S: np.ndarray, c: np.ndarray, cons: PortfolioConstraints) -> np.ndarray:
    """Minimum variance among the feasible portfolios that maximise ``c'w``.

    An equality ``c'w = max`` handed to a QP solver leaves no interior, so the set of maximisers
    is written as constraints instead. In the box-and-budget case the knapsack LP fixes every
    asset except those tied with the marginal one (same ``c``), which share the rest of the
    budget; with rows, the LP's duals say which assets stay on a bound and which rows are tight
    (:func:`riskbook.optimize.constraints.optimal_face`). The QP on that face is then exact.
    """
    n = len(c)
    if cons.box_only:
        _, x = box_budget_argmax(c, cons.lower, cons.upper, cons.budget)
        assert x is not None  # the caller found a finite maximum
        moved = (x > cons.lower) & (x < cons.upper)
        if moved.any():
            marginal = c[moved][0]
        else:
            # Nothing strictly inside its bounds: the last asset to take budget is the marginal.
            order = np.argsort(-c, kind="stable")
            filled = order[x[order] > cons.lower[order]]
            marginal = c[filled[-1]] if len(filled) else np.inf
        tied = np.abs(c - marginal) <= 1e-14 * float(np.abs(c).max(initial=1.0))
        if not tied.any():
            return x
        lo, hi = np.where(tied, cons.lower, x), np.where(tied, cons.upper, x)
        qp = QuadraticProgram.build(S, np.zeros(n), lo, hi, np.ones((1, n)), [cons.budget])
    else:
        face = optimal_face(cons, c)
        lo = np.where(face.fixed, face.values, cons.lower)
        hi = np.where(face.fixed, face.values, cons.upper)
        rows = cons.rows
        E = np.vstack([np.ones((1, n)), rows.A[face.tight]])
        e = np.concatenate([[cons.budget], rows.b[face.tight]])
        qp = QuadraticProgram.build(
            S, np.zeros(n), lo, hi, E, e, rows.A[~face.tight], rows.b[~face.tight]
        )
    return check_weights(solve_qp(qp).x, cons)


def _target_return_weights(
    S: np.ndarray,
    m: np.ndarray,
    cons: PortfolioConstraints,
    target: float,
    warm_state: np.ndarray | None = None,
    reach: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Minimum variance at ``mu'w = target``; the reachable range is checked first."""
    if _is_unbounded(cons):
        if np.ptp(m) <= _range_tol(m, cons):
            raise InfeasibleError(
                "every asset has the same expected return, so target_return can only be "
                f"{m[0] * cons.budget:.6g}",
                parameter="target_return",
            )
    else:
        low, high = reachable_range(cons, m) if reach is None else reach
        tol = _range_tol(m, cons)
        if not low - tol <= target <= high + tol:
            raise InfeasibleError(
                f"target_return {target:.6g} is outside the reachable range [{low:.6g}, "
                f"{high:.6g}] under these constraints; choose a target inside it",
                parameter="target_return",
                reachable=f"[{low:.6g}, {high:.6g}]",
            )
        if abs(target - high) <= tol:
            return _face_min_variance(S, m, cons), None
        if abs(target - low) <= tol:
            return _face_min_variance(S, -m, cons), None
    sol = solve_portfolio(
        S, np.zeros(len(m)), cons, extra_eq=((m, target, "target_return"),), warm_state=warm_state
    )
    return sol.x, sol.state


def mean_variance(
    cov: Any,
    mu: Any,
    *,
    target_return: float | None = None,
    risk_aversion: float | None = None,
    bounds: BoundsLike = (0.0, 1.0),
    budget: float = 1.0,
    groups: GroupsLike = None,
    linear_constraints: LinearConstraintsLike = None,
) -> np.ndarray | pd.Series:
    """Mean-variance weights for a target return, or for a risk aversion.

    Give exactly one of:

    * ``target_return``: ``min w'Σw`` s.t. ``mu'w = target_return`` (an equality);
    * ``risk_aversion`` ``δ > 0``: ``max mu'w - δ/2 w'Σw``.

    Parameters
    ----------
    cov
        N x N positive semidefinite covariance (ndarray, or DataFrame labelled by symbol).
    mu
        Length-N expected returns in the units of ``cov`` (a Series is aligned by symbol).
    target_return, risk_aversion
        See above.
    bounds, budget, groups, linear_constraints
        As in :func:`riskbook.optimize.min_variance`; default long-only, fully invested.
        ``bounds=None`` with a target return gives the Merton closed form.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Weights of the kind of ``cov``, within 1e-9 of every constraint and KKT-verified.

    Raises
    ------
    OptimizationError
        Neither or both of ``target_return`` / ``risk_aversion``; a non-positive risk aversion;
        bad ``cov`` / ``mu`` / constraints (named in ``parameter``).
    InfeasibleError
        A target outside the reachable range (``parameter="target_return"``; the message gives
        the range), or infeasible constraints.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.01]])
    >>> mu = np.array([0.08, 0.03])
    >>> np.round(mean_variance(cov, mu, target_return=0.05), 6)
    array([0.4, 0.6])
    >>> np.round(mean_variance(cov, mu, risk_aversion=3.0), 4)
    array([0.5439, 0.4561])
    >>> mean_variance(cov, mu, target_return=0.1)
    Traceback (most recent call last):
    ...
    riskbook.errors.InfeasibleError: target_return 0.1 is outside the reachable range [0.03, 0.08] under these constraints; choose a target inside it [parameter=target_return, reachable=[0.03, 0.08]]
    """
    if (target_return is None) == (risk_aversion is None):
        raise OptimizationError(
            "give exactly one of target_return or risk_aversion",
            parameter="target_return/risk_aversion",
        )
    S, labels = unwrap_cov(cov)
    n = S.shape[0]
    m = _mu_vector(mu, n, labels)
    cons = _constraints(S, labels, bounds, budget, groups, linear_constraints)
    if target_return is not None:
        target = _finite(target_return, "target_return")
        w, _ = _target_return_weights(S, m, cons, target)
        return wrap_weights(w, labels)
    delta = _finite(risk_aversion, "risk_aversion")
    if delta <= 0:
        raise OptimizationError(
            f"risk_aversion must be > 0, got {risk_aversion!r}", parameter="risk_aversion"
        )
    sol = solve_portfolio(delta * S, -m, cons)
    return wrap_weights(sol.x, labels)


def _finite(x: Any, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise OptimizationError(f"{name} must be a number, got {x!r}", parameter=name) from None
    if not math.isfinite(v):
        raise OptimizationError(f"{name} must be finite, got {x!r}", parameter=name)
    return v


@dataclass(frozen=True)
class EfficientFrontier:
    """Points of an efficient frontier, in increasing order of return.

    Attributes
    ----------
    returns, volatilities
        ``mu'w`` and ``sqrt(w'Σw)`` per point (units of the inputs).
    weights
        n_points x N weights.
    symbols
        Asset symbols for labelled input, else None.
    """

    returns: np.ndarray
    volatilities: np.ndarray
    weights: np.ndarray
    symbols: tuple[str, ...] | None

    def to_frame(self) -> pd.DataFrame:
        """One row per point: ``return``, ``volatility``, then one weight column per asset."""
        names = (
            list(self.symbols) if self.symbols else [f"w{i}" for i in range(self.weights.shape[1])]
        )
        frame = pd.DataFrame(self.weights, columns=names)
        frame.insert(0, "volatility", self.volatilities)
        frame.insert(0, "return", self.returns)
        return frame


def _merton_frontier(
    S: np.ndarray, m: np.ndarray, budget: float, targets: np.ndarray | None, n_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form frontier ``w(t) = Σ^-1 (λ 1 + γ mu)`` (Merton 1972) with A, B, C, D."""
    ones = np.ones(len(m))
    inv = _positive_definite_solve(S, np.column_stack([ones, m]), what="the unbounded frontier")
    A, B, C = ones @ inv[:, 0], ones @ inv[:, 1], m @ inv[:, 1]
    D = A * C - B * B
    if D <= 1e-12 * A * C:
        raise OptimizationError(
            "every asset has the same expected return: the frontier is a single point",
            parameter="mu",
        )
    if targets is None:
        t_min = B * budget / A
        t_max = budget * m.max()
        if not t_max > t_min:
            t_max = t_min + max(abs(budget), 1.0) * np.ptp(m)
        targets = np.linspace(t_min, t_max, n_points)
    lam = (C * budget - B * targets) / D
    gam = (A * targets - B * budget) / D
    return targets, np.outer(lam, inv[:, 0]) + np.outer(gam, inv[:, 1])


def efficient_frontier(
    cov: Any,
    mu: Any,
    n_points: int = 50,
    *,
    bounds: BoundsLike = (0.0, 1.0),
    budget: float = 1.0,
    groups: GroupsLike = None,
    linear_constraints: LinearConstraintsLike = None,
    target_returns: Any = None,
) -> EfficientFrontier:
    """The efficient frontier: minimum-variance portfolios for evenly spaced target returns.

    Parameters
    ----------
    cov, mu
        Covariance and expected returns, as in :func:`mean_variance`.
    n_points
        Number of points, from the minimum-variance portfolio's return to the highest reachable
        return (with ``bounds=None``: to ``budget * max(mu)``).
    bounds, budget, groups, linear_constraints
        As in :func:`riskbook.optimize.min_variance`. With ``bounds=None`` and no other
        constraint the frontier is Merton's closed form (``A = 1'Σ^-1 1``, ``B = 1'Σ^-1 mu``,
        ``C = mu'Σ^-1 mu``).
    target_returns
        Explicit target returns instead of the default grid.

    Returns
    -------
    EfficientFrontier
        Returns, volatilities and weights per point (``.to_frame()`` for a DataFrame).

    Raises
    ------
    OptimizationError, InfeasibleError
        As :func:`mean_variance`.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.01]])
    >>> ef = efficient_frontier(cov, [0.08, 0.03], n_points=3)
    >>> np.round(ef.returns, 4), np.round(ef.volatilities, 4)
    (array([0.0353, 0.0576, 0.08  ]), array([0.0979, 0.1311, 0.2   ]))
    >>> np.round(ef.weights, 4)
    array([[0.1053, 0.8947],
           [0.5526, 0.4474],
           [1.    , 0.    ]])
    """
    S, labels = unwrap_cov(cov)
    n = S.shape[0]
    m = _mu_vector(mu, n, labels)
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 1:
        raise OptimizationError(
            f"n_points must be a positive integer, got {n_points!r}", parameter="n_points"
        )
    targets = None
    if target_returns is not None:
        targets = np.atleast_1d(np.asarray(target_returns, dtype=np.float64))
        if targets.ndim != 1 or not np.isfinite(targets).all() or len(targets) == 0:
            raise OptimizationError(
                "target_returns must be finite numbers", parameter="target_returns"
            )
    cons = _constraints(S, labels, bounds, budget, groups, linear_constraints)
    if _is_unbounded(cons):
        rets, W = _merton_frontier(S, m, cons.budget, targets, n_points)
    else:
        reach = reachable_range(cons, m)
        if targets is None:
            w_min = solve_portfolio(S, np.zeros(n), cons).x
            t_min = float(m @ w_min)
            targets = np.linspace(t_min, max(t_min, reach[1]), n_points)
        W = np.empty((len(targets), n))
        state = None
        for i, t in enumerate(targets):
            W[i], new_state = _target_return_weights(S, m, cons, float(t), state, reach)
            state = new_state if new_state is not None else state
        rets = W @ m
    variances = np.einsum("ij,jk,ik->i", W, S, W)
    vols = np.sqrt(np.maximum(variances, 0.0))
    return EfficientFrontier(np.asarray(rets), vols, W, tuple(labels) if labels else None)


def max_ratio_weights(
    S: np.ndarray, c: np.ndarray, cons: PortfolioConstraints, *, what: str
) -> np.ndarray:
    """Maximise ``c'w / sqrt(w'Σw)`` over ``cons`` exactly, by the Charnes-Cooper transformation.

    With ``κ = 1 / c'w > 0`` and ``y = κ w`` the problem is the convex QP ``min y'Σy`` s.t.
    ``c'y = 1``, ``sum(y) = budget κ``, ``lower κ <= y <= upper κ``, ``A y <= b κ``, ``κ >= 0``.
    For long-only boxes whose caps cannot bind (lower 0, upper >= budget) and no rows, ``κ`` is
    eliminated and only ``y >= 0``, ``c'y = 1`` remain (the fast active-set path).

    ``what`` names the parameter blamed when no feasible portfolio has ``c'w > 0``.
    """
    n = len(c)
    b = cons.budget
    if not b > 0:
        raise OptimizationError(
            f"a ratio to volatility needs a positive budget, got {b!r}", parameter="budget"
        )
    best = reachable_max(cons, c)
    if not best > 1e-14 * absmax(c):
        raise OptimizationError(
            f"no feasible portfolio has a positive {'excess return' if what == 'mu' else 'ratio'} "
            f"(the best is {best:.3g}), so the ratio has no positive maximum; check {what}",
            parameter=what,
        )
    if cons.box_only and vmin(cons.lower) == vmax(cons.lower) == 0 and vmin(cons.upper) >= b:
        qp = QuadraticProgram.build(
            S, np.zeros(n), np.zeros(n), np.full(n, np.inf), c[None, :], [1.0]
        )
        y = solve_qp(qp).x
        return check_weights(b * y / y.sum(), cons)
    # Variables (y, κ); bounds on y stay bounds where they are 0 or infinite, others become rows.
    P = np.zeros((n + 1, n + 1))
    P[:n, :n] = S
    lo = np.full(n + 1, -np.inf)
    lo[:n][cons.lower == 0] = 0.0
    lo[n] = 0.0
    hi = np.full(n + 1, np.inf)
    hi[:n][cons.upper == 0] = 0.0
    E = np.zeros((2, n + 1))
    E[0, :n] = c
    E[1, :n] = 1.0
    E[1, n] = -b
    # Rows y_i - upper_i κ <= 0, lower_i κ - y_i <= 0 (bounds that are not 0 or infinite) and
    # A y - b κ <= 0 (the constraint set's own rows).
    capped = np.flatnonzero(np.isfinite(cons.upper) & (cons.upper != 0))
    floored = np.flatnonzero(np.isfinite(cons.lower) & (cons.lower != 0))
    G = np.zeros((len(capped) + len(floored) + len(cons.rows), n + 1))
    G[np.arange(len(capped)), capped] = 1.0
    G[: len(capped), n] = -cons.upper[capped]
    k = len(capped) + np.arange(len(floored))
    G[k, floored] = -1.0
    G[k, n] = cons.lower[floored]
    G[len(capped) + len(floored) :, :n] = cons.rows.A
    G[len(capped) + len(floored) :, n] = -cons.rows.b
    qp = QuadraticProgram.build(P, np.zeros(n + 1), lo, hi, E, [1.0, 0.0], G, np.zeros(len(G)))
    try:
        sol = solve_qp(qp)
    except InfeasibleError as exc:
        raise explain_infeasibility(cons) from exc
    kappa = sol.x[n]
    if not kappa > 1e-12 * max(1.0, float(np.abs(sol.x[:n]).sum()) / max(abs(b), 1e-300)):
        raise OptimizationError(
            "the maximum ratio is not attained by a portfolio with this budget (the optimum "
            "needs a non-positive net position); add bounds",
            parameter="bounds",
        )
    return check_weights(sol.x[:n] / kappa, cons)


def max_sharpe(
    cov: Any,
    mu: Any,
    *,
    risk_free: float = 0.0,
    bounds: BoundsLike = (0.0, 1.0),
    budget: float = 1.0,
    groups: GroupsLike = None,
    linear_constraints: LinearConstraintsLike = None,
) -> np.ndarray | pd.Series:
    """The maximum Sharpe ratio portfolio, ``max (mu - risk_free)'w / sqrt(w'Σw)``, exactly.

    Solved through the Charnes-Cooper transformation (see :func:`max_ratio_weights`), so the
    answer is the optimum of a convex QP, not of a search over risk aversions.

    Parameters
    ----------
    cov, mu
        Covariance and expected returns in the same units (per period, or both annualised).
    risk_free
        Risk-free rate in the units of ``mu``.
    bounds, budget, groups, linear_constraints
        As in :func:`riskbook.optimize.min_variance`; ``budget`` must be positive.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Weights of the kind of ``cov``.

    Raises
    ------
    OptimizationError
        ``parameter="mu"`` when no feasible portfolio earns more than ``risk_free`` (long-only:
        no asset has ``mu > risk_free``); bad input otherwise.
    InfeasibleError
        Infeasible constraints.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.array([[0.04, 0.006], [0.006, 0.01]])
    >>> np.round(max_sharpe(cov, [0.08, 0.03], risk_free=0.01), 4)
    array([0.6042, 0.3958])
    """
    S, labels = unwrap_cov(cov)
    n = S.shape[0]
    m = _mu_vector(mu, n, labels) - _finite(risk_free, "risk_free")
    cons = _constraints(S, labels, bounds, budget, groups, linear_constraints)
    return wrap_weights(max_ratio_weights(S, m, cons, what="mu"), labels)
