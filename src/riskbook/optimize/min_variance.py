"""Minimum-variance portfolios: the exact QP, not a clipped and renormalised closed form.

Clipping the negative weights of ``S^-1 1 / 1'S^-1 1`` and rescaling is not the long-only
minimum: dropping an asset changes which of the others hedge each other, so the survivors'
weights must be re-solved (see the example below).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskbook._labels import unwrap_cov, wrap_weights
from riskbook.optimize.constraints import (
    BoundsLike,
    GroupsLike,
    LinearConstraintsLike,
    build_constraints,
)
from riskbook.optimize.qp import require_psd, solve_portfolio

__all__ = ["min_variance"]


def min_variance(
    cov: Any,
    *,
    bounds: BoundsLike = (0.0, 1.0),
    budget: float = 1.0,
    groups: GroupsLike = None,
    linear_constraints: LinearConstraintsLike = None,
) -> np.ndarray | pd.Series:
    """The minimum-variance portfolio: ``min w'Σw`` under bounds, budget, groups and rows.

    Parameters
    ----------
    cov
        N x N covariance (ndarray, or DataFrame labelled by symbol); positive semidefinite.
        A singular covariance is fine when the constraints bound the problem (a ridge is never
        added); when several portfolios share the minimum, one of them is returned.
    bounds
        Per-asset bounds: ``(lower, upper)`` with scalars, per-asset arrays, Series or None
        (unbounded) on each side; a scalar ``c`` means ``0 <= w <= c``; ``None`` means
        unbounded (the closed form ``budget * Σ^-1 1 / 1'Σ^-1 1``). Default long-only.
    budget
        Required ``sum(w)``.
    groups
        Mapping of group name -> ``(members, lower, upper)``: ``lower <= sum(w[members]) <=
        upper``, members as symbols or positions, either limit None.
    linear_constraints
        ``(A, b)`` meaning ``A w <= b``, e.g. factor-exposure limits from
        :func:`riskbook.optimize.constraints.exposure_constraints`.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Weights, of the kind of ``cov``. They satisfy every constraint within 1e-9 and the KKT
        conditions of the problem as given (see :mod:`riskbook.optimize.qp`).

    Raises
    ------
    OptimizationError
        Bad input (non-square, asymmetric, NaN, negative variance, not positive semidefinite,
        mismatched lengths); the ``parameter`` attribute names it.
    InfeasibleError
        Constraints that admit no portfolio, named in ``parameter`` and the message.

    Examples
    --------
    Clip-and-renormalise against the QP (vols 20/15/6%, correlation 0.9 between the first two,
    0.1 with the third):

    >>> import numpy as np
    >>> vol = np.array([0.20, 0.15, 0.06])
    >>> corr = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.1], [0.1, 0.1, 1.0]])
    >>> cov = corr * np.outer(vol, vol)
    >>> closed = np.linalg.solve(cov, np.ones(3))
    >>> clipped = np.maximum(closed, 0) / np.maximum(closed, 0).sum()
    >>> w = min_variance(cov)
    >>> np.round(clipped, 4), np.round(w, 4)
    (array([0.    , 0.2064, 0.7936]), array([0.    , 0.1111, 0.8889]))
    >>> round(float(clipped @ cov @ clipped), 6), round(float(w @ cov @ w), 6)
    (0.003521, 0.0033)

    Caps, a group limit and labelled input:

    >>> import pandas as pd
    >>> frame = pd.DataFrame(cov, index=["A", "B", "C"], columns=["A", "B", "C"])
    >>> min_variance(frame, bounds=(0.0, 0.6), groups={"AB": (["A", "B"], 0.5, None)}).round(4)
    A    0.0
    B    0.5
    C    0.5
    Name: weight, dtype: float64
    """
    S, labels = unwrap_cov(cov)
    require_psd(S)
    n = S.shape[0]
    cons = build_constraints(
        n,
        labels,
        bounds=bounds,
        budget=budget,
        groups=groups,
        linear_constraints=linear_constraints,
    )
    sol = solve_portfolio(S, np.zeros(n), cons)
    return wrap_weights(sol.x, labels)
