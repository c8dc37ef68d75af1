"""Allocations that need no optimizer: equal weight, inverse volatility, inverse variance.

They are the benchmarks every optimizer must beat (DeMiguel, Garlappi & Uppal 2009) and the last
rungs of the fallback ladder, so they must work on anything whose size is known.

Examples
--------
>>> import numpy as np
>>> from riskbook.optimize.simple import inverse_volatility
>>> np.round(inverse_volatility(np.diag([0.01, 0.04])), 4)
array([0.6667, 0.3333])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskbook._labels import Labels, unwrap_cov, wrap_weights
from riskbook.errors import OptimizationError
from riskbook.optimize._fast import vmin

__all__ = ["equal_weight", "inverse_variance", "inverse_volatility"]


def equal_weight(
    cov: Any | int | Sequence[str] | pd.Index,
) -> np.ndarray | pd.Series:
    """The 1/N portfolio.

    Only the number of assets (and their labels) is read, never the values, so a covariance full
    of NaN still gets an answer: this is what makes equal weight the safe last rung of the
    fallback ladder.

    Parameters
    ----------
    cov
        A square covariance (ndarray or labelled DataFrame), a number of assets ``n``, or a
        sequence / Index of labels.

    Returns
    -------
    ndarray or Series
        ``1/N`` for every asset; a Series indexed by symbol for a DataFrame or labels.

    Raises
    ------
    OptimizationError
        ``n < 1``, an empty label list, or a matrix that is not square.

    Examples
    --------
    >>> equal_weight(4)
    array([0.25, 0.25, 0.25, 0.25])
    >>> equal_weight(["AAPL", "MSFT"]).to_dict()
    {'AAPL': 0.5, 'MSFT': 0.5}
    """
    n, labels = _size_and_labels(cov)
    return wrap_weights(np.full(n, 1.0 / n), labels)


def inverse_volatility(cov: Any) -> np.ndarray | pd.Series:
    """Weights proportional to ``1 / sigma_i``: each asset gets the same stand-alone risk.

    Equals the equal-risk-contribution portfolio when all correlations are equal.

    Parameters
    ----------
    cov
        Covariance matrix, ndarray or labelled DataFrame.

    Returns
    -------
    ndarray or Series
        Non-negative weights summing to one.

    Raises
    ------
    OptimizationError
        Invalid covariance, or an asset with zero variance (named).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(inverse_volatility(np.diag([0.01, 0.04, 0.09])), 4)
    array([0.5455, 0.2727, 0.1818])
    """
    S, labels = unwrap_cov(cov)
    inv = 1.0 / np.sqrt(_positive_variances(S, labels))
    return wrap_weights(inv / inv.sum(), labels)


def inverse_variance(cov: Any) -> np.ndarray | pd.Series:
    """Weights proportional to ``1 / sigma_i^2``: the minimum variance portfolio if uncorrelated.

    Parameters
    ----------
    cov
        Covariance matrix, ndarray or labelled DataFrame.

    Returns
    -------
    ndarray or Series
        Non-negative weights summing to one.

    Raises
    ------
    OptimizationError
        Invalid covariance, or an asset with zero variance (named).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(inverse_variance(np.diag([0.01, 0.04])), 4)
    array([0.8, 0.2])
    """
    S, labels = unwrap_cov(cov)
    inv = 1.0 / _positive_variances(S, labels)
    return wrap_weights(inv / inv.sum(), labels)


def _positive_variances(S: np.ndarray, labels: list[str] | None) -> np.ndarray:
    """The diagonal, after refusing a zero variance (its inverse would be infinite)."""
    var = S.diagonal().copy()
    if not vmin(var) > 0:
        i = int(np.argmin(var))
        raise OptimizationError(
            "asset has zero variance; inverse-risk weights are undefined",
            symbol=labels[i] if labels else f"asset {i}",
            parameter="cov",
        )
    return var


def _size_and_labels(x: Any) -> tuple[int, list[str] | None]:
    """Number of assets and labels from a matrix, a count or a list of labels."""
    n = _size(x)
    if isinstance(x, pd.DataFrame):
        return n, Labels.of(x.columns)
    if isinstance(x, pd.Index | list | tuple) and all(isinstance(s, str) for s in x):
        return n, [str(s) for s in x]
    return n, None


def _size(x: Any) -> int:
    """Number of assets of a matrix, a count or a list of labels, validated.

    Separate from the labels, which cost more than the check at small N under pandas 3 and are
    often not needed (see ``optimize_with_fallback``).
    """
    if isinstance(x, bool):
        raise OptimizationError("expected a covariance, a count or labels", parameter="cov")
    if isinstance(x, int | np.integer):
        if x < 1:
            raise OptimizationError(f"number of assets must be >= 1, got {x}", parameter="n")
        return int(x)
    if isinstance(x, pd.DataFrame):
        if x.shape[0] != x.shape[1] or x.shape[0] == 0:
            raise OptimizationError(
                f"cov must be a non-empty square matrix, got shape {x.shape}", parameter="cov"
            )
        return x.shape[1]
    if isinstance(x, pd.Index | list | tuple) and all(isinstance(s, str) for s in x):
        if len(x) == 0:
            raise OptimizationError("empty list of labels", parameter="labels")
        return len(x)
    shape = np.shape(x)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0:
        raise OptimizationError(
            f"cov must be a non-empty square matrix, got shape {shape}", parameter="cov"
        )
    return shape[0]
