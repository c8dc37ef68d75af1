"""Portfolio constraints: parsing, validation, and the feasibility checks that need no solver.

A constraint set is the per-asset box ``lower <= w <= upper``, the budget ``sum(w) = budget`` and
linear inequality rows ``A w <= b`` (group caps and user rows, e.g. factor-exposure limits). Each
is parsed into arrays once, here; infeasibility that can be seen without a solver is reported
here too, naming the constraint, before any QP is built.

Examples
--------
>>> import numpy as np
>>> cons = build_constraints(3, None, bounds=(0.0, 0.5), budget=1.0,
...                          groups={"first two": ([0, 1], None, 0.6)})
>>> cons.lower, cons.upper
(array([0., 0., 0.]), array([0.5, 0.5, 0.5]))
>>> cons.rows.names
("groups['first two'] upper",)
>>> build_constraints(3, None, bounds=(0.0, 0.3), budget=1.0)
Traceback (most recent call last):
...
riskbook.errors.InfeasibleError: the upper bounds sum to 0.9, below the budget 1: no portfolio fits; raise the upper bounds or lower the budget [parameter=bounds]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from riskbook.errors import InfeasibleError, OptimizationError
from riskbook.optimize._fast import absmax, vmax

__all__ = [
    "BoundsLike",
    "GroupsLike",
    "InequalityRows",
    "LinearConstraintsLike",
    "OptimalFace",
    "PortfolioConstraints",
    "box_budget_argmax",
    "box_budget_range",
    "build_constraints",
    "check_weights",
    "explain_infeasibility",
    "exposure_constraints",
    "optimal_face",
    "parse_bounds",
    "parse_budget",
    "parse_groups",
    "parse_linear_constraints",
    "reachable_max",
    "reachable_range",
]

#: ``None`` (unbounded), a scalar cap ``c`` (``0 <= w <= c``), or a ``(lower, upper)`` pair whose
#: parts are each ``None``, a scalar, a per-asset array, or a Series indexed by symbol.
BoundsLike: TypeAlias = Any
#: Mapping of group name -> ``(members, lower, upper)``; members are symbols or positions.
GroupsLike: TypeAlias = Mapping[str, tuple[Any, float | None, float | None]] | None
#: ``(A, b)`` meaning ``A w <= b``; ``A`` is m x N (a DataFrame's columns are symbols).
LinearConstraintsLike: TypeAlias = tuple[Any, Any] | None

#: Weights may break a constraint by at most this much (absolute, in weight units); smaller
#: violations are rounding and are clipped, larger ones are errors.
WEIGHT_TOL = 1e-9
#: Slack allowed when deciding infeasibility without a solver: sums like 10 x 0.1 must not fail.
_FEAS_RTOL = 1e-12


@dataclass(frozen=True)
class InequalityRows:
    """Rows of ``A w <= b``, each with a readable name and the parameter it came from."""

    A: np.ndarray
    b: np.ndarray
    names: tuple[str, ...]
    params: tuple[str, ...]

    @classmethod
    def empty(cls, n: int) -> InequalityRows:
        return cls(np.zeros((0, n)), np.zeros(0), (), ())

    def __len__(self) -> int:
        return len(self.b)

    def __add__(self, other: InequalityRows) -> InequalityRows:
        return InequalityRows(
            np.vstack([self.A, other.A]),
            np.concatenate([self.b, other.b]),
            self.names + other.names,
            self.params + other.params,
        )


@dataclass(frozen=True)
class PortfolioConstraints:
    """A parsed, validated constraint set for N assets.

    Attributes
    ----------
    lower, upper
        Per-asset bounds (``-inf`` / ``inf`` where unbounded).
    budget
        Required ``sum(w)``.
    rows
        Inequality rows ``A w <= b`` (groups first, then user rows).
    labels
        Asset symbols, or None for array input.
    """

    lower: np.ndarray
    upper: np.ndarray
    budget: float
    rows: InequalityRows
    labels: list[str] | None

    @property
    def n(self) -> int:
        return len(self.lower)

    @property
    def box_only(self) -> bool:
        """True when the only constraints are the bounds and the budget."""
        return len(self.rows) == 0

    def who(self, i: int) -> str:
        return _who(self.labels, i)


def _who(labels: list[str] | None, i: int) -> str:
    return labels[i] if labels else f"asset {i}"


def _is_scalar(x: Any) -> bool:
    # Exact float / int first: the ABC check costs a microsecond and this runs on every call.
    return (
        type(x) is float
        or type(x) is int
        or (isinstance(x, numbers.Real) and not isinstance(x, bool))
    )


def _per_asset(
    x: Any, n: int, labels: list[str] | None, *, name: str, missing: float
) -> np.ndarray:
    """One side of the bounds (or a similar per-asset input) as a length-n float array."""
    if x is None:
        return np.full(n, missing)
    if _is_scalar(x):
        return np.full(n, float(x))
    if isinstance(x, pd.Series) and labels is not None:
        absent = [s for s in labels if s not in x.index]
        if absent:
            raise OptimizationError(
                f"{name} has no value for this asset", symbol=absent[0], parameter=name
            )
        x = x.reindex(labels)
    try:
        v = np.asarray(x, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise OptimizationError(f"{name} must be numeric", parameter=name) from exc
    if v.shape != (n,):
        raise OptimizationError(f"{name} has length {v.size}, expected {n}", parameter=name)
    return v


def parse_bounds(
    bounds: BoundsLike, n: int, labels: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-asset ``(lower, upper)`` arrays from the accepted forms of ``bounds``.

    ``None`` means unbounded; a scalar ``c >= 0`` means ``0 <= w_i <= c`` (a long-only cap); a
    pair ``(lower, upper)`` takes, for each side, None (unbounded), a scalar, a length-N array or
    a Series indexed by symbol.

    Raises
    ------
    OptimizationError
        Unknown form, wrong length, NaN, or a lower bound of +inf / upper bound of -inf.
    InfeasibleError
        A lower bound above its upper bound (the message names the asset).
    """
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    if _is_scalar(bounds):
        cap = float(bounds)
        if not cap >= 0:
            raise OptimizationError(
                f"a scalar bound is a long-only cap and must be >= 0, got {bounds!r}; "
                "pass (lower, upper) for other boxes",
                parameter="bounds",
            )
        return np.zeros(n), np.full(n, cap)
    if isinstance(bounds, (str, bytes, Mapping)) or not isinstance(bounds, Sequence):
        raise OptimizationError(
            "bounds must be None, a scalar cap, or a (lower, upper) pair", parameter="bounds"
        )
    if len(bounds) != 2:
        raise OptimizationError(
            f"bounds must be a (lower, upper) pair, got {len(bounds)} items", parameter="bounds"
        )
    if _is_scalar(bounds[0]) and _is_scalar(bounds[1]):
        return _scalar_box(float(bounds[0]), float(bounds[1]), n, labels)
    lo = _per_asset(bounds[0], n, labels, name="bounds", missing=-np.inf)
    hi = _per_asset(bounds[1], n, labels, name="bounds", missing=np.inf)
    for side, v, bad in (("lower", lo, np.inf), ("upper", hi, -np.inf)):
        broken = np.isnan(v) | (v == bad)
        if broken.any():
            i = int(np.argmax(broken))
            raise OptimizationError(
                f"{side} bound {v[i]} is not usable", symbol=_who(labels, i), parameter="bounds"
            )
    crossed = lo > hi
    if crossed.any():
        i = int(np.argmax(crossed))
        raise InfeasibleError(
            f"lower bound {lo[i]:.6g} is above upper bound {hi[i]:.6g}",
            symbol=_who(labels, i),
            parameter="bounds",
        )
    return lo, hi


def _scalar_box(
    lo: float, hi: float, n: int, labels: list[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The common ``(scalar, scalar)`` bounds, checked on the two numbers instead of 2N.

    Same checks and messages as the per-asset path (every asset breaks alike, so asset 0 is
    named).
    """
    for side, v, bad in (("lower", lo, math.inf), ("upper", hi, -math.inf)):
        if math.isnan(v) or v == bad:
            raise OptimizationError(
                f"{side} bound {v} is not usable", symbol=_who(labels, 0), parameter="bounds"
            )
    if lo > hi:
        raise InfeasibleError(
            f"lower bound {lo:.6g} is above upper bound {hi:.6g}",
            symbol=_who(labels, 0),
            parameter="bounds",
        )
    return np.full(n, lo), np.full(n, hi)


def parse_budget(budget: Any) -> float:
    """``budget`` as a finite float, or an OptimizationError naming it."""
    if not _is_scalar(budget) or not math.isfinite(float(budget)):
        raise OptimizationError(
            f"budget must be a finite number, got {budget!r}", parameter="budget"
        )
    return float(budget)


def _member_index(member: Any, n: int, labels: list[str] | None, group: str) -> int:
    if isinstance(member, str):
        if labels is None:
            raise OptimizationError(
                f"group {group!r} names symbol {member!r} but the covariance has no labels; "
                "use positions or pass a labelled DataFrame",
                parameter="groups",
                group=group,
            )
        try:
            return labels.index(member)
        except ValueError:
            raise OptimizationError(
                f"group {group!r} names an unknown symbol",
                symbol=member,
                parameter="groups",
                group=group,
            ) from None
    if isinstance(member, numbers.Integral) and not isinstance(member, bool):
        if not 0 <= int(member) < n:
            raise OptimizationError(
                f"group {group!r} has position {member}, outside 0..{n - 1}",
                parameter="groups",
                group=group,
            )
        return int(member)
    raise OptimizationError(
        f"group {group!r} members must be symbols or positions, got {member!r}",
        parameter="groups",
        group=group,
    )


def _optional_limit(x: Any, *, what: str, group: str) -> float | None:
    if x is None:
        return None
    if not _is_scalar(x) or math.isnan(float(x)):
        raise OptimizationError(
            f"group {group!r} {what} must be a number or None, got {x!r}",
            parameter="groups",
            group=group,
        )
    v = float(x)
    return None if math.isinf(v) else v


def parse_groups(groups: GroupsLike, n: int, labels: list[str] | None = None) -> InequalityRows:
    """Group caps ``lower <= sum(w[members]) <= upper`` as inequality rows.

    ``groups`` maps a name to ``(members, lower, upper)``; members are symbols (labelled input)
    or positions, and either limit may be None.
    """
    rows = InequalityRows.empty(n)
    if groups is None:
        return rows
    if not isinstance(groups, Mapping):
        raise OptimizationError(
            "groups must map a name to (members, lower, upper)", parameter="groups"
        )
    A, b, names = [], [], []
    for name, spec in groups.items():
        if not isinstance(spec, Sequence) or isinstance(spec, str) or len(spec) != 3:
            raise OptimizationError(
                f"group {name!r} must be (members, lower, upper)", parameter="groups", group=name
            )
        members, lower, upper = spec
        if isinstance(members, str) or not isinstance(members, (Sequence, np.ndarray, pd.Index)):
            members = [members]
        idx = [_member_index(m, n, labels, str(name)) for m in members]
        if not idx:
            raise OptimizationError(
                f"group {name!r} has no members", parameter="groups", group=name
            )
        if len(set(idx)) != len(idx):
            raise OptimizationError(
                f"group {name!r} lists an asset twice", parameter="groups", group=name
            )
        lo = _optional_limit(lower, what="lower", group=str(name))
        hi = _optional_limit(upper, what="upper", group=str(name))
        if lo is not None and hi is not None and lo > hi:
            raise InfeasibleError(
                f"group {name!r} lower limit {lo:.6g} is above its upper limit {hi:.6g}",
                parameter="groups",
                group=name,
            )
        indicator = np.zeros(n)
        indicator[idx] = 1.0
        if lo is not None:
            A.append(-indicator)
            b.append(-lo)
            names.append(f"groups[{name!r}] lower")
        if hi is not None:
            A.append(indicator)
            b.append(hi)
            names.append(f"groups[{name!r}] upper")
    if not A:
        return rows
    return InequalityRows(np.array(A), np.array(b), tuple(names), ("groups",) * len(names))


def parse_linear_constraints(
    linear_constraints: LinearConstraintsLike, n: int, labels: list[str] | None = None
) -> InequalityRows:
    """User rows ``A w <= b`` from an ``(A, b)`` pair.

    ``A`` is m x N (or length N for one row); a DataFrame's columns are matched to the symbols and
    its index names the rows in messages. ``b`` is a scalar or length m.
    """
    if linear_constraints is None:
        return InequalityRows.empty(n)
    param = "linear_constraints"
    if not isinstance(linear_constraints, Sequence) or len(linear_constraints) != 2:
        raise OptimizationError(
            "linear_constraints must be an (A, b) pair meaning A w <= b", parameter=param
        )
    A_in, b_in = linear_constraints
    row_names = None
    if isinstance(A_in, pd.DataFrame):
        cols = [str(c) for c in A_in.columns]
        if labels is not None:
            absent = [s for s in labels if s not in cols]
            extra = [c for c in cols if c not in labels]
            if absent or extra:
                raise OptimizationError(
                    "linear_constraints A columns must be exactly the assets' symbols",
                    symbol=(absent or extra)[0],
                    parameter=param,
                )
            A_in = A_in.set_axis(cols, axis=1)[labels]
        row_names = [str(i) for i in A_in.index]
    try:
        A = np.atleast_2d(np.asarray(A_in, dtype=np.float64))
        b = np.atleast_1d(np.asarray(b_in, dtype=np.float64)).ravel()
    except (TypeError, ValueError) as exc:
        raise OptimizationError(
            "linear_constraints A and b must be numeric", parameter=param
        ) from exc
    if A.ndim != 2 or A.shape[1] != n:
        raise OptimizationError(
            f"linear_constraints A has shape {A.shape}, expected (m, {n})", parameter=param
        )
    if b.size == 1 and A.shape[0] > 1:
        b = np.full(A.shape[0], b[0])
    if b.shape != (A.shape[0],):
        raise OptimizationError(
            f"linear_constraints b has length {b.size}, expected {A.shape[0]}", parameter=param
        )
    if not (np.isfinite(A).all() and np.isfinite(b).all()):
        raise OptimizationError("linear_constraints A and b must be finite", parameter=param)
    names = tuple(
        f"linear_constraints[{row_names[i]!r}]" if row_names else f"linear_constraints[{i}]"
        for i in range(len(b))
    )
    return InequalityRows(A, b, names, (param,) * len(b))


def exposure_constraints(
    loadings: Any, *, lower: Any = None, upper: Any = None
) -> tuple[np.ndarray | pd.DataFrame, np.ndarray]:
    """Rows ``lower <= B' w <= upper`` on factor exposures, as an ``(A, b)`` pair for ``A w <= b``.

    Parameters
    ----------
    loadings
        N x K factor loadings ``B`` (a DataFrame indexed by symbol, columns = factors), or a
        length-N vector for one factor.
    lower, upper
        Exposure limits: None, a scalar for every factor, or length K.

    Returns
    -------
    (A, b)
        ``A`` is a DataFrame (rows named ``"<factor> <= upper"``, columns = symbols) when the
        loadings are labelled, else an ndarray; pass the pair as ``linear_constraints``.

    Examples
    --------
    >>> A, b = exposure_constraints([[1.2], [0.6], [0.9]], lower=-0.5, upper=0.5)
    >>> A
    array([[ 1.2,  0.6,  0.9],
           [-1.2, -0.6, -0.9]])
    >>> b
    array([0.5, 0.5])
    """
    frame = loadings if isinstance(loadings, (pd.DataFrame, pd.Series)) else None
    B = np.asarray(loadings, dtype=np.float64)
    if B.ndim == 1:
        B = B[:, None]
    if B.ndim != 2 or not np.isfinite(B).all():
        raise OptimizationError("loadings must be a finite N x K matrix", parameter="loadings")
    k = B.shape[1]
    if isinstance(frame, pd.DataFrame):
        factors = [str(c) for c in frame.columns]
    elif isinstance(frame, pd.Series) and frame.name is not None:
        factors = [str(frame.name)]
    else:
        factors = [f"factor {j}" for j in range(k)]
    lo = _per_asset(lower, k, None, name="lower", missing=-np.inf)
    hi = _per_asset(upper, k, None, name="upper", missing=np.inf)
    if np.isnan(lo).any() or np.isnan(hi).any():
        raise OptimizationError("exposure limits must not be NaN", parameter="lower/upper")
    if (lo > hi).any():
        j = int(np.argmax(lo > hi))
        raise InfeasibleError(
            f"exposure lower limit {lo[j]:.6g} is above the upper limit {hi[j]:.6g}",
            parameter="lower/upper",
            factor=factors[j],
        )
    rows, rhs, names = [], [], []
    for j in range(k):
        if np.isfinite(hi[j]):
            rows.append(B[:, j])
            rhs.append(hi[j])
            names.append(f"{factors[j]} <= {hi[j]:g}")
        if np.isfinite(lo[j]):
            rows.append(-B[:, j])
            rhs.append(-lo[j])
            names.append(f"{factors[j]} >= {lo[j]:g}")
    A = np.array(rows).reshape(len(rows), B.shape[0])
    b = np.array(rhs, dtype=np.float64)
    if frame is not None:
        return pd.DataFrame(A, index=names, columns=[str(s) for s in frame.index]), b
    return A, b


def box_budget_argmax(
    c: np.ndarray, lower: np.ndarray, upper: np.ndarray, budget: float
) -> tuple[float, np.ndarray | None]:
    """``max c'w`` over ``lower <= w <= upper, sum(w) = budget`` and a maximiser.

    The LP is a fractional knapsack: starting from the lower bounds, the remaining budget goes to
    the assets in decreasing order of ``c``. Returns ``(inf, None)`` when unbounded. The box and
    budget must be feasible.
    """
    if np.isfinite(lower).all():
        order = np.argsort(-c, kind="stable")
        cap = (upper - lower)[order]
        room = budget - lower.sum()
        before = np.concatenate(([0.0], np.cumsum(cap)[:-1]))
        w = lower.copy()
        w[order] += np.clip(room - before, 0.0, cap)
        return float(c @ w), w
    if np.isfinite(upper).all():
        # Mirror image: start from the upper bounds and take the excess from the smallest c.
        order = np.argsort(c, kind="stable")
        cap = (upper - lower)[order]
        excess = upper.sum() - budget
        before = np.concatenate(([0.0], np.cumsum(cap)[:-1]))
        w = upper.copy()
        w[order] -= np.clip(excess - before, 0.0, cap)
        return float(c @ w), w
    # Both sides have infinite bounds: unbounded iff one asset can grow without limit while
    # another, with smaller c, shrinks without limit.
    grow = np.isinf(upper)
    shrink = np.isinf(lower)
    if grow.any() and shrink.any():
        best_grow = np.max(np.where(grow, c, -np.inf))
        worst_shrink = np.min(np.where(shrink, c, np.inf))
        if best_grow > worst_shrink:
            return math.inf, None
    return _lp_max(c, lower, upper, budget)


def _lp_max(c: np.ndarray, lower: np.ndarray, upper: np.ndarray, budget: float):
    from scipy.optimize import linprog

    n = len(c)
    res = linprog(
        -c, A_eq=np.ones((1, n)), b_eq=[budget], bounds=_scipy_bounds(lower, upper), method="highs"
    )
    if res.status == 3:
        return math.inf, None
    if res.status != 0:
        raise OptimizationError(
            f"linear program for a return range failed: {res.message}", parameter="bounds"
        )
    return float(-res.fun), np.asarray(res.x)


def box_budget_range(
    c: np.ndarray, lower: np.ndarray, upper: np.ndarray, budget: float
) -> tuple[float, float]:
    """``(min, max)`` of ``c'w`` over the box and budget (``-inf`` / ``inf`` when unbounded)."""
    hi, _ = box_budget_argmax(c, lower, upper, budget)
    lo, _ = box_budget_argmax(-c, lower, upper, budget)
    return -lo, hi


def _check_box_budget(lo: np.ndarray, hi: np.ndarray, budget: float) -> None:
    # The slacks are >= 0, so they are only worked out when a sum is on the wrong side at all.
    total_lo = float(lo.sum())
    if total_lo > budget and total_lo > budget + _FEAS_RTOL * max(
        1.0, abs(budget), float(np.abs(lo[np.isfinite(lo)]).sum())
    ):
        raise InfeasibleError(
            f"the lower bounds sum to {total_lo:.6g}, above the budget {budget:.6g}: no portfolio "
            "fits; lower the lower bounds or raise the budget",
            parameter="bounds",
        )
    total_hi = float(hi.sum())
    if total_hi < budget and total_hi < budget - _FEAS_RTOL * max(
        1.0, abs(budget), float(np.abs(hi[np.isfinite(hi)]).sum())
    ):
        raise InfeasibleError(
            f"the upper bounds sum to {total_hi:.6g}, below the budget {budget:.6g}: no portfolio "
            "fits; raise the upper bounds or lower the budget",
            parameter="bounds",
        )


def _rows_minimum(A: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> np.ndarray:
    """``min a_j'w`` over the box and budget for every row ``a_j`` of ``A`` (knapsack LPs)."""
    if not np.isfinite(lo).all():
        return np.array([-box_budget_argmax(-a, lo, hi, budget)[0] for a in A])
    # All rows at once: from the lower bounds, the budget left goes to the smallest a_ij first.
    order = np.argsort(A, axis=1, kind="stable")
    cap = (hi - lo)[order]
    before = np.zeros_like(cap)
    before[:, 1:] = np.cumsum(cap, axis=1)[:, :-1]
    take = np.clip(budget - lo.sum() - before, 0.0, cap)
    return A @ lo + (np.take_along_axis(A, order, axis=1) * take).sum(axis=1)


def _check_rows_one_by_one(cons: PortfolioConstraints) -> None:
    """Each row alone must be satisfiable by some portfolio inside the box with the budget."""
    rows = cons.rows
    if not len(rows):
        return
    smallest_all = _rows_minimum(rows.A, cons.lower, cons.upper, cons.budget)
    for j in range(len(rows)):
        smallest = float(smallest_all[j])
        slack = _FEAS_RTOL * max(1.0, abs(rows.b[j]), abs(smallest))
        if smallest > rows.b[j] + slack:
            name = rows.names[j]
            if name.startswith("groups["):
                group, side = name[len("groups[") :].rsplit("] ", 1)
                limit = rows.b[j] if side == "upper" else -rows.b[j]
                reach = smallest if side == "upper" else -smallest
                word = "at least" if side == "upper" else "at most"
                message = (
                    f"group {group} {side} limit {limit:.6g} cannot hold: the bounds and budget "
                    f"force {word} {reach:.6g} in the group; widen the group limit or the bounds"
                )
            else:
                message = (
                    f"{name} asks for a'w <= {rows.b[j]:.6g} but the bounds and budget allow no "
                    f"less than {smallest:.6g}; relax the row or the bounds"
                )
            raise InfeasibleError(message, parameter=rows.params[j], constraint=name)


def build_constraints(
    n: int,
    labels: list[str] | None,
    *,
    bounds: BoundsLike = (0.0, 1.0),
    budget: float = 1.0,
    groups: GroupsLike = None,
    linear_constraints: LinearConstraintsLike = None,
) -> PortfolioConstraints:
    """Parse and validate a full constraint set, with the solver-free feasibility checks.

    Checks: each asset's lower <= upper; the bounds can hold the budget (sum of lower bounds <=
    budget <= sum of upper bounds); every group limit and every row can hold on its own within the
    bounds and budget. Combinations that are infeasible only together are found by the solver.

    Raises
    ------
    OptimizationError
        Malformed input (the message names the parameter).
    InfeasibleError
        A constraint that cannot hold, named in ``parameter`` and the message.
    """
    lo, hi = parse_bounds(bounds, n, labels)
    b = parse_budget(budget)
    _check_box_budget(lo, hi, b)
    if groups is None and linear_constraints is None:
        rows = InequalityRows.empty(n)
    else:
        rows = parse_groups(groups, n, labels) + parse_linear_constraints(
            linear_constraints, n, labels
        )
    cons = PortfolioConstraints(lo, hi, b, rows, labels)
    _check_rows_one_by_one(cons)
    return cons


def check_weights(w: np.ndarray, cons: PortfolioConstraints) -> np.ndarray:
    """Verify final weights against the constraint set; clip rounding-sized bound violations.

    Violations up to ``WEIGHT_TOL`` (1e-9) are rounding: bounds are clipped and everything is
    re-checked. Anything larger is an OptimizationError, never a silent fix.
    """
    size = absmax(w)  # NaN or inf exactly when some weight is
    if not math.isfinite(size):
        raise OptimizationError("the solver returned non-finite weights", parameter="cov")
    tol = WEIGHT_TOL * max(1.0, size)
    excess = np.maximum(cons.lower - w, w - cons.upper)
    worst = vmax(excess)
    if worst > tol:
        i = int(np.argmax(excess))
        raise OptimizationError(
            f"solution breaks a bound by {worst:.3g}", symbol=cons.who(i), parameter="bounds"
        )
    if worst > 0:  # else w is returned as it is (no copy)
        w = np.clip(w, cons.lower, cons.upper)
    gap = abs(float(w.sum()) - cons.budget)
    if gap > WEIGHT_TOL * max(1.0, abs(cons.budget)):
        raise OptimizationError(f"solution misses the budget by {gap:.3g}", parameter="budget")
    if len(cons.rows):
        excess = cons.rows.A @ w - cons.rows.b
        j = int(np.argmax(excess))
        if excess[j] > WEIGHT_TOL * max(1.0, abs(cons.rows.b[j])):
            raise OptimizationError(
                f"solution breaks {cons.rows.names[j]} by {excess[j]:.3g}",
                parameter=cons.rows.params[j],
                constraint=cons.rows.names[j],
            )
    return w


def _linprog(
    cons: PortfolioConstraints,
    rows: InequalityRows,
    eq: Sequence[tuple[np.ndarray, float]] = (),
    c: np.ndarray | None = None,
):
    from scipy.optimize import linprog

    n = cons.n
    A_eq = np.vstack([np.ones((1, n))] + [a[None, :] for a, _ in eq])
    b_eq = np.array([cons.budget] + [v for _, v in eq])
    return linprog(
        np.zeros(n) if c is None else c,
        A_ub=rows.A if len(rows) else None,
        b_ub=rows.b if len(rows) else None,
        A_eq=A_eq,
        b_eq=b_eq,
        bounds=_scipy_bounds(cons.lower, cons.upper),
        method="highs",
    )


def _scipy_bounds(lower: np.ndarray, upper: np.ndarray) -> list[tuple[float | None, float | None]]:
    return [
        (float(a) if np.isfinite(a) else None, float(b) if np.isfinite(b) else None)
        for a, b in zip(lower, upper, strict=True)
    ]


def _rows_of(rows: InequalityRows, param: str) -> InequalityRows:
    keep = [j for j, p in enumerate(rows.params) if p == param]
    return InequalityRows(
        rows.A[keep], rows.b[keep], tuple(rows.names[j] for j in keep), (param,) * len(keep)
    )


def reachable_range(cons: PortfolioConstraints, a: np.ndarray) -> tuple[float, float]:
    """``(min, max)`` of ``a'w`` over the whole constraint set (LP; +-inf when unbounded)."""
    if cons.box_only:
        return box_budget_range(a, cons.lower, cons.upper, cons.budget)
    return _lp_extreme(cons, a, 1.0), _lp_extreme(cons, a, -1.0)


def reachable_max(cons: PortfolioConstraints, a: np.ndarray) -> float:
    """``max a'w`` over the whole constraint set (``inf`` when unbounded): half a range."""
    if cons.box_only:
        return box_budget_argmax(a, cons.lower, cons.upper, cons.budget)[0]
    return _lp_extreme(cons, a, -1.0)


def _lp_extreme(cons: PortfolioConstraints, a: np.ndarray, sign: float) -> float:
    """``min a'w`` (sign 1) or ``max a'w`` (sign -1) by one LP over the constraint set."""
    res = _linprog(cons, cons.rows, c=sign * a)
    if res.status == 3:
        return -sign * math.inf
    if res.status == 0:
        return sign * float(res.fun)
    raise InfeasibleError(
        f"the constraints admit no portfolio ({res.message})", parameter="constraints"
    )


@dataclass(frozen=True)
class OptimalFace:
    """The portfolios that maximise ``c'w`` over a constraint set, as constraints themselves.

    By complementary slackness, a feasible ``w`` is a maximiser exactly when it keeps at its
    bound every asset with a nonzero reduced cost and makes tight every row with a positive
    dual; ``fixed`` / ``values`` and ``tight`` record those, ``value`` the maximum.
    """

    value: float
    fixed: np.ndarray
    values: np.ndarray
    tight: np.ndarray


def optimal_face(cons: PortfolioConstraints, c: np.ndarray) -> OptimalFace:
    """The face of ``cons`` on which ``c'w`` is largest, from one LP and its duals (HiGHS)."""
    res = _linprog(cons, cons.rows, c=-c)
    if res.status != 0:
        raise OptimizationError(
            f"the linear program for the largest c'w failed: {res.message}", parameter="bounds"
        )
    tol = 1e-9 * max(1.0, float(np.abs(c).max(initial=0.0)))
    at_lo = np.asarray(res.lower.marginals) > tol
    at_hi = np.asarray(res.upper.marginals) < -tol
    fixed = (at_lo & np.isfinite(cons.lower)) | (at_hi & np.isfinite(cons.upper))
    values = np.where(at_lo, cons.lower, np.where(at_hi, cons.upper, np.asarray(res.x)))
    tight = np.asarray(res.ineqlin.marginals) < -tol if len(cons.rows) else np.zeros(0, dtype=bool)
    return OptimalFace(float(-res.fun), fixed, values, tight)


def explain_infeasibility(
    cons: PortfolioConstraints,
    extra_eq: Sequence[tuple[np.ndarray, float, str]] = (),
) -> InfeasibleError:
    """An InfeasibleError naming which constraint makes the problem infeasible.

    Called after a solver reports primal infeasibility. Each family of rows (groups,
    linear_constraints) is tested alone with the bounds and budget by a linear program, then each
    extra equality (such as ``target_return``, reported with its reachable range); the first that
    fails is named, else the combination is.
    """
    families = sorted(set(cons.rows.params))
    for name in families:
        if _linprog(cons, _rows_of(cons.rows, name)).status == 2:
            return InfeasibleError(
                f"the {name} cannot all hold together within the bounds and budget; relax them",
                parameter=name,
            )
    if families and _linprog(cons, cons.rows).status == 2:
        return InfeasibleError(
            f"the {' and '.join(families)} admit no portfolio together within the bounds and "
            "budget, though each holds alone; relax one of them",
            parameter="/".join(families),
        )
    for a, value, name in extra_eq:
        low, high = reachable_range(cons, a)
        if (
            not low - _FEAS_RTOL * max(1.0, abs(low))
            <= value
            <= high + _FEAS_RTOL * max(1.0, abs(high))
        ):
            return InfeasibleError(
                f"{name} {value:.6g} is outside the reachable range [{low:.6g}, {high:.6g}] under "
                "these constraints; choose a target inside it",
                parameter=name,
                reachable=f"[{low:.6g}, {high:.6g}]",
            )
    names = ["bounds", "budget", *families, *(name for _, _, name in extra_eq)]
    return InfeasibleError(
        f"the solver found the constraints ({', '.join(names)}) infeasible together; relax one",
        parameter="/".join(names[2:]) or "bounds",
    )
