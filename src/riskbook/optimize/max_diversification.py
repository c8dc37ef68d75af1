"""The most diversified portfolio (Choueifaty & Coignard 2008).

It maximises the diversification ratio ``w'σ / sqrt(w'Σw)`` (``σ`` the asset volatilities): a
Sharpe ratio with volatilities in place of expected returns, so it is solved exactly by the same
Charnes-Cooper QP as :func:`riskbook.optimize.max_sharpe`.
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
from riskbook.optimize.mean_variance import max_ratio_weights
from riskbook.optimize.qp import require_psd

__all__ = ["max_diversification"]


def max_diversification(
    cov: Any,
    *,
    bounds: BoundsLike = (0.0, 1.0),
    budget: float = 1.0,
    groups: GroupsLike = None,
    linear_constraints: LinearConstraintsLike = None,
) -> np.ndarray | pd.Series:
    """The maximum diversification portfolio: ``max w'σ / sqrt(w'Σw)`` under the constraints.

    Parameters
    ----------
    cov
        N x N positive semidefinite covariance (ndarray, or DataFrame labelled by symbol).
    bounds, budget, groups, linear_constraints
        As in :func:`riskbook.optimize.min_variance`; default long-only, fully invested
        (``budget`` must be positive).

    Returns
    -------
    numpy.ndarray or pandas.Series
        Weights of the kind of ``cov``, within 1e-9 of every constraint; the transformed QP is
        KKT-verified.

    Raises
    ------
    OptimizationError
        Bad input, or no feasible portfolio with a positive ``w'σ`` (``parameter="cov"``).
    InfeasibleError
        Infeasible constraints.

    Examples
    --------
    Two uncorrelated assets with vols 20% and 10% are held in inverse proportion to vol, and a
    third perfectly correlated with the first adds nothing:

    >>> import numpy as np
    >>> vol = np.array([0.2, 0.1, 0.2])
    >>> corr = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    >>> w = max_diversification(corr * np.outer(vol, vol))
    >>> np.round([w[0] + w[2], w[1]], 4)
    array([0.3333, 0.6667])
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
    w = max_ratio_weights(S, np.sqrt(np.diag(S)), cons, what="cov")
    return wrap_weights(w, labels)
