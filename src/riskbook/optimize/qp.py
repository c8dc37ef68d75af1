"""The QP core: minimise ``1/2 x'Px + q'x`` s.t. ``E x = e``, ``G x <= h``, ``lo <= x <= hi``.

``P`` must be symmetric positive semidefinite. The solvers, tried in this order, share one
verification:

1. A primal-dual active-set iteration (a semismooth Newton method on the KKT conditions): guess
   which variables sit on a bound and which rows are tight, solve the equality-constrained QP
   that guess defines exactly (Cholesky of the free block, a Schur complement for the
   equalities), then put every free variable that broke a bound on it, tighten every broken
   row, and release every bound or row whose multiplier has the wrong sign, all at once. The
   first guess is "nothing active", so the first step is the closed form (the clipped closed
   form's active set is the second guess); the guess stops changing after a handful of steps
   and the answer is then exact. This covers the common problems (box + budget: long-only
   minimum variance, mean-variance, the Charnes-Cooper form of max Sharpe) and most problems
   with a few rows.
2. If ``P`` is singular the reduced systems can be singular and the iteration can cycle; with
   no rows, the proximal-point method is tried next: each step solves ``min f(x) + ε/2 |x -
   x_k|^2`` (ε = 1e-6 of the problem's scale) by the same active-set iteration. The ε only
   regularises the linear algebra: the answer must pass the KKT check of the original problem.
3. Clarabel (interior point, called through its own API, no modelling layer), whose answer is
   polished: its active set seeds the active-set iteration (or the proximal one), which returns
   the exact KKT point. If polishing fails, Clarabel's own answer is used only if it passes the
   verification at looser tolerances (stationarity 1e-7, gap 1e-8). A status other than
   Solved / AlmostSolved raises: InfeasibleError for primal infeasibility, OptimizationError
   otherwise, with the status.

Verification after every solve, on the problem as given: primal feasibility within 1e-9
(violations that small are clipped, then everything is re-checked), stationarity of the
Lagrangian within 1e-9 and the complementarity gap (a bound on the objective's distance to the
optimum) within 1e-10, relative to the problem's scale (:func:`kkt_report`), and nonnegative
row multipliers. The bound multipliers are recovered from the gradient, so a wrong active set
cannot pass. Nothing that fails is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import clarabel
import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from riskbook.errors import InfeasibleError, OptimizationError
from riskbook.optimize._fast import absmax, all_finite, any_true, vmax, vmin
from riskbook.optimize.constraints import (
    WEIGHT_TOL,
    PortfolioConstraints,
    check_weights,
    explain_infeasibility,
)

__all__ = [
    "KKTReport",
    "QPSolution",
    "QuadraticProgram",
    "require_psd",
    "solve_portfolio",
    "solve_qp",
]

FREE, AT_LO, AT_HI, FIXED = 0, 1, 2, 3

#: Accepted residuals, relative to the problem's scale (``P`` and ``q`` divided by their largest
#: entry, so gradients are O(1) for O(1) weights).
STATIONARITY_TOL = 1e-9
GAP_TOL = 1e-10
#: Looser stationarity accepted only for an unpolished Clarabel answer.
RAW_STATIONARITY_TOL = 1e-7
RAW_GAP_TOL = 1e-8
#: Decisions inside the active-set iteration: violations smaller than this are rounding.
_DECISION_TOL = 1e-12
#: A bound multiplier counts as negative below -1e-11 of the gradient's scale (rounding in the
#: gradient of an N = 1000 problem is ~1e-13 of it).
_MULTIPLIER_TOL = 1e-11
_MAX_ACTIVE_SET_STEPS = 100
#: Proximal regularisation for singular P, relative to the problem's scale (see
#: ``_proximal_active_set``), and its step limit.
_PROXIMAL_EPS = 1e-6
_MAX_PROXIMAL_STEPS = 200
#: Ridge, relative to the mean variance, under which a singular PSD matrix still factorises (the
#: fallback ladder's test): rounding-level negative eigenvalues pass, a real one does not.
_PSD_RIDGE = 1e-10


def require_psd(S: np.ndarray, name: str = "cov") -> None:
    """Refuse a covariance with a real negative eigenvalue: the QP would be non-convex.

    A Cholesky factorisation of ``S + 1e-10 * mean(diag S) * I``; when it fails, an
    OptimizationError naming ``name`` and the smallest eigenvalue. Singular PSD matrices pass.
    """
    n = S.shape[0]
    scale = float(np.trace(S)) / n if n else 0.0
    if not scale > 0:  # zero or negative variances are refused (or handled) elsewhere
        return
    ridged = S + (_PSD_RIDGE * scale) * np.eye(n)
    _, info = lapack.dpotrf(ridged, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        low = float(np.linalg.eigvalsh(S)[0])
        raise OptimizationError(
            f"{name} is not positive semidefinite (smallest eigenvalue {low:.3g}); repair it "
            "first (riskbook.estimate: ledoit_wolf, pairwise_covariance, or "
            "riskbook.estimate.higham.nearest_correlation)",
            parameter=name,
            min_eigenvalue=low,
        )


@dataclass(frozen=True)
class QuadraticProgram:
    """``min 1/2 x'Px + q'x``  s.t.  ``E x = e``, ``G x <= h``, ``lo <= x <= hi``."""

    P: np.ndarray
    q: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    E: np.ndarray
    e: np.ndarray
    G: np.ndarray
    h: np.ndarray

    @classmethod
    def build(
        cls,
        P: np.ndarray,
        q: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        E: np.ndarray | None = None,
        e: np.ndarray | None = None,
        G: np.ndarray | None = None,
        h: np.ndarray | None = None,
    ) -> QuadraticProgram:
        n = len(q)
        E = np.zeros((0, n)) if E is None else np.atleast_2d(np.asarray(E, dtype=np.float64))
        G = np.zeros((0, n)) if G is None else np.atleast_2d(np.asarray(G, dtype=np.float64))
        return cls(
            np.asarray(P, dtype=np.float64),
            np.asarray(q, dtype=np.float64),
            np.asarray(lo, dtype=np.float64),
            np.asarray(hi, dtype=np.float64),
            E.reshape(-1, n),
            np.zeros(0) if e is None else np.atleast_1d(np.asarray(e, dtype=np.float64)),
            G.reshape(-1, n),
            np.zeros(0) if h is None else np.atleast_1d(np.asarray(h, dtype=np.float64)),
        )

    @property
    def n(self) -> int:
        return len(self.q)

    # Masks every KKT check needs; computed once per problem, not once per check.
    @cached_property
    def infinite_lo(self) -> np.ndarray:
        return ~np.isfinite(self.lo)

    @cached_property
    def infinite_hi(self) -> np.ndarray:
        return ~np.isfinite(self.hi)

    @cached_property
    def row_scale(self) -> np.ndarray:
        return np.maximum(1.0, np.abs(self.h))

    def objective(self, x: np.ndarray) -> float:
        return float(0.5 * x @ self.P @ x + self.q @ x)


@dataclass(frozen=True)
class KKTReport:
    """Residuals of the KKT conditions at a point, relative to the problem's scale.

    See :func:`kkt_report` for the normalisation.

    Attributes
    ----------
    primal
        Largest violation of a bound, equality or inequality (absolute).
    stationarity
        Largest gradient-of-Lagrangian entry not explained by a bound multiplier of the right
        sign (a variable away from its bounds must have zero gradient).
    gap
        Complementarity gap: sum of multiplier x slack; bounds ``f(x) - f*`` once stationarity
        and primal feasibility hold.
    dual
        Most negative inequality-row multiplier (0 if none).
    """

    primal: float
    stationarity: float
    gap: float
    dual: float

    def passes(self, *, stationarity: float, gap: float, primal: float = WEIGHT_TOL) -> bool:
        return (
            self.primal <= primal
            and self.stationarity <= stationarity
            and self.gap <= gap
            and self.dual >= -stationarity
        )


@dataclass(frozen=True)
class QPSolution:
    """A verified solution: ``x``, multipliers ``nu`` (equalities) and ``z`` (rows, >= 0).

    ``method`` is ``"active-set"``, ``"clarabel+polish"`` or ``"clarabel"`` (unpolished);
    ``state`` records which variables sit on a bound (reusable as a warm start).
    """

    x: np.ndarray
    nu: np.ndarray
    z: np.ndarray
    objective: float
    method: str
    iterations: int
    kkt: KKTReport
    state: np.ndarray = field(repr=False)


def kkt_report(
    qp: QuadraticProgram,
    x: np.ndarray,
    nu: np.ndarray,
    z: np.ndarray,
    scale: float | None = None,
    Px: np.ndarray | None = None,
) -> KKTReport:
    """KKT residuals of ``(x, nu, z)`` for ``qp``, relative to the problem's size.

    Gradients are divided by ``scale * max(1, |x|_inf)`` (``scale`` defaults to the largest
    entry of ``P`` or ``q``), slacks and primal violations by ``max(1, |x|_inf)``, so the
    residuals mean the same for weights (O(1)) and for the homogenised variables of the
    Charnes-Cooper form (which can be O(1e4)). ``Px`` may be passed when already computed.
    """
    scale = _problem_scale(qp) if scale is None else scale
    size = max(1.0, absmax(x))
    Px = qp.P @ x if Px is None else Px
    unit = scale * size
    has_rows = len(qp.h) > 0
    g = Px + qp.q
    if len(nu):
        g += qp.E.T @ nu
    # Reductions through _fast: at N = 20 numpy's own wrappers cost more than this arithmetic.
    primal = max(vmax(np.maximum(qp.lo - x, x - qp.hi), 0.0), absmax(qp.E @ x - qp.e))
    if has_rows:
        g += qp.G.T @ z
        row_excess = qp.G @ x - qp.h
        primal = max(primal, vmax(row_excess, 0.0))
    primal /= size
    g /= unit
    # The bound multipliers that best explain the gradient: g_i > 0 needs a finite lower bound,
    # g_i < 0 a finite upper one; what they cannot absorb is a stationarity residual.
    mu_lo = np.maximum(g, 0.0)
    mu_lo[qp.infinite_lo] = 0.0
    mu_hi = np.maximum(-g, 0.0)
    mu_hi[qp.infinite_hi] = 0.0
    stationarity = absmax(g - mu_lo + mu_hi)
    # np.where, not a product: an infinite bound's slack is inf and 0 * inf would be NaN.
    slack_lo = np.where(mu_lo > 0, x - qp.lo, 0.0)
    slack_hi = np.where(mu_hi > 0, qp.hi - x, 0.0)
    gap = float(mu_lo @ np.abs(slack_lo) + mu_hi @ np.abs(slack_hi))
    dual = 0.0
    if has_rows:
        gap += float(np.abs(z / unit) @ np.maximum(-row_excess, 0.0))
        dual = vmin(z / unit)
    gap /= size
    return KKTReport(primal, stationarity, gap, dual)


def _problem_scale(qp: QuadraticProgram) -> float:
    # P is positive semidefinite, so its largest entry in absolute value is on the diagonal.
    s = max(vmax(qp.P.diagonal(), 0.0), absmax(qp.q))
    return s if s > 0 else 1.0


# ---------------------------------------------------------------------------------------------
# Active-set iteration


def _solve_reduced(
    PFF: np.ndarray, cF: np.ndarray, CF: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``min 1/2 x'PFF x + cF'x  s.t.  CF x = d``: the minimiser and the equality multipliers.

    Cholesky of ``PFF`` with a Schur complement for the few equalities; when ``PFF`` is not
    numerically positive definite, the whole KKT matrix is factorised instead (it can be
    nonsingular although ``PFF`` is not), and least squares is the last resort.
    """
    nf, r = len(cF), len(d)
    # A zero on the diagonal (e.g. the homogenising variable of the Charnes-Cooper form) rules
    # out a Cholesky factor; checking it first saves the failed attempt.
    if r <= nf and vmin(PFF.diagonal()) > 0:
        rhs = np.empty((nf, 1 + r))
        np.negative(cF, out=rhs[:, 0])
        rhs[:, 1:] = CF.T
        # Factor and solve in one LAPACK call (dpotrf + dpotrs); the pivots are checked after.
        L, sol, info = lapack.dposv(PFF, rhs, lower=1)
        diag = L.diagonal()
        if info == 0 and vmin(diag) > 1e-7 * vmax(diag):
            x0, Z = sol[:, 0], sol[:, 1:]
            if r == 0:
                return x0, np.zeros(0)
            if r == 1:
                schur = float(CF[0] @ Z[:, 0])
                if schur > 0:
                    lam = np.array([(CF[0] @ x0 - d[0]) / schur])
                    return x0 - Z[:, 0] * lam[0], lam
            # LAPACK's gesv directly: np.linalg.solve costs ~10 us more per call on 2 x 2.
            schur, gap = CF @ Z, CF @ x0 - d
            _, _, lam, info = lapack.dgesv(schur, gap)
            if info != 0:  # exactly singular, as np.linalg.solve would have raised
                lam = np.linalg.lstsq(schur, gap, rcond=None)[0]
            return x0 - Z @ lam, lam
    K = np.zeros((nf + r, nf + r))
    K[:nf, :nf] = PFF
    K[:nf, nf:] = CF.T
    K[nf:, :nf] = CF
    rhs = np.empty(nf + r)
    np.negative(cF, out=rhs[:nf])
    rhs[nf:] = d
    _, _, sol, info = lapack.dgesv(K, rhs)
    if info != 0:  # exactly singular
        sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
    if not all_finite(sol):
        return None
    return sol[:nf], sol[nf:]


def _multipliers_all_fixed(p: np.ndarray, C: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Equality multipliers when every variable is on a bound (the reduced system is empty).

    With one equality row they form an interval (each bound's sign condition cuts it); its
    midpoint is taken, which also minimises the worst sign violation when it is empty.
    """
    if C.shape[0] != 1:
        return np.linalg.lstsq(C.T, -p, rcond=None)[0]
    c = C[0]
    at_lo, at_hi = state == AT_LO, state == AT_HI
    # g_i = p_i + c_i * lam must be >= 0 on lower bounds and <= 0 on upper bounds.
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -p / c
    floor_ = (at_lo & (c > 0)) | (at_hi & (c < 0))
    ceil_ = (at_lo & (c < 0)) | (at_hi & (c > 0))
    low = t[floor_].max() if floor_.any() else None
    high = t[ceil_].min() if ceil_.any() else None
    if low is None and high is None:
        return np.zeros(1)
    if low is None or high is None:
        return np.array([low if high is None else high])
    return np.array([(low + high) / 2])


@dataclass
class _Iterate:
    x: np.ndarray
    nu: np.ndarray
    z: np.ndarray
    state: np.ndarray
    rows: np.ndarray
    iterations: int


def _active_set(
    P: np.ndarray,
    q: np.ndarray,
    qp: QuadraticProgram,
    state: np.ndarray,
    rows: np.ndarray,
) -> _Iterate | None:
    """Primal-dual active-set iteration from ``state`` (per variable) and ``rows`` (active rows).

    Returns None if it cycles, stalls on an inconsistent reduced system, or runs out of steps.
    """
    lo, hi, E, e, G, h = qp.lo, qp.hi, qp.E, qp.e, qp.G, qp.h
    n, k, m = len(q), len(e), len(h)
    seen: set[bytes] = set()
    state, rows = state.copy(), rows.copy()
    # State comparisons go through bytes: np.array_equal costs ten times more at small N.
    key = state.tobytes() + rows.tobytes()
    for it in range(1, _MAX_ACTIVE_SET_STEPS + 1):
        free = state == FREE
        at_lo, at_hi = state == AT_LO, state == AT_HI
        idx = free.nonzero()[0]
        # Variables off the free set sit on their bound (FIXED ones have lo == hi).
        xb = np.where(at_hi, hi, lo)
        xb[idx] = 0.0
        if m and any_true(rows):
            C = np.concatenate((E, G[rows]))
            d = np.concatenate((e, h[rows]))
        else:
            C, d = E, e
        if any_true(xb):
            c = q + P @ xb
            d = d - C @ xb
        else:
            c = q
        if idx.size == n:
            solved = _solve_reduced(P, c, C, d)
            if solved is None:
                return None
            x, lam = solved
            grad = P @ x + q
        elif idx.size:
            # take() gathers faster than fancy indexing at small N
            solved = _solve_reduced(P.take(idx, 0).take(idx, 1), c[idx], C.take(idx, 1), d)
            if solved is None:
                return None
            x = xb
            x[idx], lam = solved
            grad = P @ x + q
        else:
            if absmax(d) > _DECISION_TOL * max(1.0, absmax(e)):
                return None
            x, grad = xb, c
            lam = _multipliers_all_fixed(grad, C, state) if len(d) else np.zeros(0)
        Clam = C.T @ lam
        g = grad + Clam
        tol_x = _DECISION_TOL * max(1.0, absmax(x))
        tol_g = _MULTIPLIER_TOL * max(absmax(grad), absmax(Clam))
        new = state.copy()
        # Only free variables can break a bound: the others sit exactly on theirs.
        new[x < lo - tol_x] = AT_LO
        new[x > hi + tol_x] = AT_HI
        new[at_lo & (g < -tol_g)] = FREE
        new[at_hi & (g > tol_g)] = FREE
        z = np.zeros(m)
        new_rows = rows
        if m:
            z[rows] = lam[k:]
            new_rows = rows.copy()
            new_rows[~rows & (G @ x - h > tol_x * qp.row_scale)] = True
            new_rows[rows & (z < -tol_g)] = False
        new_key = new.tobytes() + new_rows.tobytes()
        if new_key == key:
            return _Iterate(x, lam[:k], z, state, rows, it)
        if new_key in seen:
            return None
        seen.add(new_key)
        state, rows, key = new, new_rows, new_key
    return None


def _proximal_active_set(
    qp: QuadraticProgram,
    scale: float,
    state: np.ndarray,
    rows: np.ndarray,
    x: np.ndarray,
) -> _Iterate | None:
    """Active-set steps of the proximal-point method, for a singular ``P``.

    When ``P`` is only semidefinite the reduced systems can be singular and the optimum need not
    be unique, which can make the plain iteration cycle. Each proximal step solves the strongly
    convex ``min f(x) + ε/2 |x - x_k|^2`` exactly (ε = 1e-6 of the problem's scale, a
    regularisation of the linear algebra only) and re-centres; the iterates converge to a
    minimiser of the original problem, and the answer is accepted only when it passes the KKT
    check of the original problem (its stationarity residual is ``ε |x_k+1 - x_k|``).
    """
    eps = _PROXIMAL_EPS * scale
    Preg = qp.P + eps * np.eye(qp.n)
    total = 0
    for _ in range(_MAX_PROXIMAL_STEPS):
        it = _active_set(Preg, qp.q - eps * x, qp, state, rows)
        if it is None:
            return None
        total += it.iterations
        # Multipliers of the proximal step; the original problem's gradient differs by ε Δx.
        rep = kkt_report(qp, np.clip(it.x, qp.lo, qp.hi), it.nu, it.z, scale)
        it.iterations = total
        if rep.passes(stationarity=STATIONARITY_TOL, gap=GAP_TOL, primal=WEIGHT_TOL):
            return it
        x, state, rows = it.x, it.state, it.rows
    return None


def _initial_state(qp: QuadraticProgram) -> np.ndarray:
    state = np.full(qp.n, FREE, dtype=np.int8)
    state[qp.lo == qp.hi] = FIXED
    return state


# ---------------------------------------------------------------------------------------------
# Clarabel


def _clarabel_settings() -> clarabel.DefaultSettings:
    s = clarabel.DefaultSettings()
    s.verbose = False
    s.tol_gap_abs = 1e-10
    s.tol_gap_rel = 1e-10
    s.tol_feas = 1e-10
    s.tol_ktratio = 1e-8
    s.max_iter = 200
    return s


@dataclass
class _ClarabelAnswer:
    status: str
    x: np.ndarray
    nu: np.ndarray
    z: np.ndarray
    state: np.ndarray
    rows: np.ndarray
    iterations: int


def _clarabel(P: np.ndarray, q: np.ndarray, qp: QuadraticProgram) -> _ClarabelAnswer:
    """Solve the scaled problem with Clarabel; bounds become rows of a nonnegative cone."""
    n, k, m = qp.n, len(qp.e), len(qp.h)
    lo, hi = qp.lo, qp.hi
    fixed = lo == hi
    has_hi = np.isfinite(hi) & ~fixed
    has_lo = np.isfinite(lo) & ~fixed
    # One COO triplet list for all rows (equalities, fixed variables, inequality rows, upper
    # and lower bounds), converted to CSC once: stacking sparse blocks costs more at small N.
    dense = np.vstack([qp.E, qp.G])
    r_dense, c_dense = np.nonzero(dense)
    r_dense = np.where(r_dense < k, r_dense, r_dense + int(fixed.sum()))
    idx_fix, idx_hi, idx_lo = np.flatnonzero(fixed), np.flatnonzero(has_hi), np.flatnonzero(has_lo)
    first_bound = k + len(idx_fix) + m
    rows = np.concatenate(
        [
            r_dense,
            k + np.arange(len(idx_fix)),
            first_bound + np.arange(len(idx_hi)),
            first_bound + len(idx_hi) + np.arange(len(idx_lo)),
        ]
    )
    cols = np.concatenate([c_dense, idx_fix, idx_hi, idx_lo])
    vals = np.concatenate(
        [dense[dense != 0], np.ones(len(idx_fix) + len(idx_hi)), -np.ones(len(idx_lo))]
    )
    n_rows = first_bound + len(idx_hi) + len(idx_lo)
    A = sp.csc_matrix((vals, (rows, cols)), shape=(n_rows, n))
    b = np.concatenate([qp.e, lo[fixed], qp.h, hi[has_hi], -lo[has_lo]])
    n_eq = k + int(fixed.sum())
    n_ineq = len(b) - n_eq
    cones = []
    if n_eq:
        cones.append(clarabel.ZeroConeT(n_eq))
    if n_ineq:
        cones.append(clarabel.NonnegativeConeT(n_ineq))
    solver = clarabel.DefaultSolver(sp.csc_matrix(np.triu(P)), q, A, b, cones, _clarabel_settings())
    sol = solver.solve()
    status = str(sol.status)
    x, z, s = np.asarray(sol.x), np.asarray(sol.z), np.asarray(sol.s)
    nu = z[:k]
    i = n_eq
    z_rows, s_rows = z[i : i + m], s[i : i + m]
    i += m
    n_hi = int(has_hi.sum())
    z_hi, s_hi = z[i : i + n_hi], s[i : i + n_hi]
    z_lo, s_lo = z[i + n_hi :], s[i + n_hi :]
    state = np.full(n, FREE, dtype=np.int8)
    state[fixed] = FIXED
    # A constraint is active when its multiplier exceeds its slack (one of the two is ~0).
    idx_hi = np.flatnonzero(has_hi)
    state[idx_hi[z_hi > s_hi]] = AT_HI
    idx_lo = np.flatnonzero(has_lo)
    state[idx_lo[z_lo > s_lo]] = AT_LO
    return _ClarabelAnswer(status, x, nu, z_rows, state, z_rows > s_rows, int(sol.iterations))


# ---------------------------------------------------------------------------------------------
# Driver


def _finish(
    qp: QuadraticProgram,
    x: np.ndarray,
    nu: np.ndarray,
    z: np.ndarray,
    scale: float,
    *,
    method: str,
    iterations: int,
    state: np.ndarray,
    stationarity: float,
    gap: float,
) -> QPSolution | None:
    """Clip rounding-sized bound violations, verify, and package; None if verification fails."""
    worst = vmax(np.maximum(qp.lo - x, x - qp.hi), 0.0)
    if worst > WEIGHT_TOL * max(1.0, absmax(x)):
        return None
    if worst > 0:
        x = np.clip(x, qp.lo, qp.hi)
    Px = qp.P @ x
    rep = kkt_report(qp, x, nu, z, scale, Px)
    if not rep.passes(stationarity=stationarity, gap=gap, primal=WEIGHT_TOL):
        return None
    objective = float(0.5 * x @ Px + qp.q @ x)
    return QPSolution(x, nu, z, objective, method, iterations, rep, state)


def _proximal_polish(
    qp: QuadraticProgram,
    scale: float,
    state: np.ndarray,
    rows: np.ndarray,
    x0: np.ndarray,
    iterations: int,
) -> QPSolution | None:
    it = _proximal_active_set(qp, scale, state, rows, x0)
    if it is None:
        return None
    return _finish(
        qp,
        it.x,
        it.nu,
        it.z,
        scale,
        method="active-set (proximal)" if iterations == 0 else "clarabel+proximal polish",
        iterations=iterations + it.iterations,
        state=it.state,
        stationarity=STATIONARITY_TOL,
        gap=GAP_TOL,
    )


def solve_qp(qp: QuadraticProgram, *, warm_state: np.ndarray | None = None) -> QPSolution:
    """Solve ``qp`` exactly and verify the answer (see the module docstring).

    Parameters
    ----------
    qp
        The problem; ``P`` must be symmetric positive semidefinite.
    warm_state
        A previous solution's ``state`` for the same variables (e.g. the neighbouring point of an
        efficient frontier); only a first guess, never trusted.

    Raises
    ------
    InfeasibleError
        Clarabel proved the constraints infeasible.
    OptimizationError
        Unbounded objective, solver failure, or an answer that fails verification; the message
        carries Clarabel's status and the KKT residuals.

    Examples
    --------
    >>> import numpy as np
    >>> qp = QuadraticProgram.build(
    ...     np.diag([1.0, 4.0]), np.zeros(2), [0.0, 0.0], [1.0, 1.0], E=[[1.0, 1.0]], e=[1.0]
    ... )
    >>> sol = solve_qp(qp)
    >>> np.round(sol.x, 12), sol.method, sol.kkt.passes(stationarity=1e-12, gap=1e-12)
    (array([0.8, 0.2]), 'active-set', True)
    """
    scale = _problem_scale(qp)
    no_rows = np.zeros(len(qp.h), dtype=bool)
    # The active-set iteration is tried first even with rows (they start inactive): when it
    # settles, the answer is exact and Clarabel is never called.
    starts = [_initial_state(qp)]
    if warm_state is not None:
        starts.insert(0, np.where(qp.lo == qp.hi, FIXED, warm_state).astype(np.int8))
    for start in starts:
        it = _active_set(qp.P, qp.q, qp, start, no_rows)
        if it is not None:
            done = _finish(
                qp,
                it.x,
                it.nu,
                it.z,
                scale,
                method="active-set",
                iterations=it.iterations,
                state=it.state,
                stationarity=STATIONARITY_TOL,
                gap=GAP_TOL,
            )
            if done is not None:
                return done
    if len(qp.h) == 0:
        done = _proximal_polish(qp, scale, _initial_state(qp), no_rows, np.zeros(qp.n), 0)
        if done is not None:
            return done
    # Clarabel's tolerances are absolute, so it sees the problem scaled to O(1); its
    # multipliers are scaled back before anything else uses them.
    ans = _clarabel(qp.P / scale, qp.q / scale, qp)
    ans.nu *= scale
    ans.z *= scale
    if ans.status in ("PrimalInfeasible", "AlmostPrimalInfeasible"):
        raise InfeasibleError(
            f"the constraints admit no solution (Clarabel status {ans.status})",
            parameter="constraints",
        )
    if ans.status in ("DualInfeasible", "AlmostDualInfeasible"):
        raise OptimizationError(
            f"the objective is unbounded below on the feasible set (Clarabel status {ans.status});"
            " add bounds",
            parameter="bounds",
        )
    if ans.status not in ("Solved", "AlmostSolved"):
        raise OptimizationError(f"Clarabel stopped with status {ans.status}", parameter="cov")
    it = _active_set(qp.P, qp.q, qp, ans.state, ans.rows)
    if it is not None:
        done = _finish(
            qp,
            it.x,
            it.nu,
            it.z,
            scale,
            method="clarabel+polish",
            iterations=ans.iterations + it.iterations,
            state=it.state,
            stationarity=STATIONARITY_TOL,
            gap=GAP_TOL,
        )
        if done is not None:
            return done
    done = _proximal_polish(qp, scale, ans.state, ans.rows, ans.x, ans.iterations)
    if done is not None:
        return done
    done = _finish(
        qp,
        ans.x,
        ans.nu,
        np.maximum(ans.z, 0.0),
        scale,
        method="clarabel",
        iterations=ans.iterations,
        state=ans.state,
        stationarity=RAW_STATIONARITY_TOL,
        gap=RAW_GAP_TOL,
    )
    if done is None:
        rep = kkt_report(qp, ans.x, ans.nu, ans.z, scale)
        raise OptimizationError(
            f"no verified solution: Clarabel status {ans.status}, KKT residuals {rep}",
            parameter="cov",
        )
    return done


def solve_portfolio(
    P: np.ndarray,
    q: np.ndarray,
    cons: PortfolioConstraints,
    *,
    extra_eq: tuple[tuple[np.ndarray, float, str], ...] = (),
    warm_state: np.ndarray | None = None,
) -> QPSolution:
    """Solve a portfolio QP over ``cons`` (plus equalities like a target return) and check it.

    The weights are verified against the constraint set itself (``check_weights``); a solver's
    infeasibility verdict is turned into an InfeasibleError naming the constraint at fault.
    """
    E = np.empty((1 + len(extra_eq), cons.n))
    E[0] = 1.0
    for i, (a, _, _) in enumerate(extra_eq, start=1):
        E[i] = a
    e = np.array([cons.budget] + [v for _, v, _ in extra_eq])
    qp = QuadraticProgram.build(P, q, cons.lower, cons.upper, E, e, cons.rows.A, cons.rows.b)
    try:
        sol = solve_qp(qp, warm_state=warm_state)
    except InfeasibleError as exc:
        raise explain_infeasibility(cons, extra_eq) from exc
    w = check_weights(sol.x, cons)
    for a, value, name in extra_eq:
        if abs(a @ w - value) > WEIGHT_TOL * max(1.0, abs(value), absmax(a)):
            raise OptimizationError(
                f"solution misses {name} by {abs(a @ w - value):.3g}", parameter=name
            )
    if w is sol.x:  # nothing was clipped: the verified solution stands as it is
        return sol
    return QPSolution(
        w, sol.nu, sol.z, qp.objective(w), sol.method, sol.iterations, sol.kkt, sol.state
    )
