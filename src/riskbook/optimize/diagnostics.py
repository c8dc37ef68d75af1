"""Risk diagnostics of a portfolio: volatility, risk contributions, diversification measures.

Definitions (named so that they cannot be confused):

- ``risk_contributions``: Euler contributions ``w_i (S w)_i``, divided by the variance
  (``relative=True``, sums to one) or by the volatility (sums to the volatility).
- ``effective_number_of_bets``: ``exp`` of the Shannon entropy of the relative risk
  contributions, taken in absolute value (a hedge's negative contribution counts by its size).
  It is 1 when one asset carries all the risk and N when all carry the same. This is the
  entropy measure of Meucci (2009) applied to the assets' own contributions, not to his
  principal (or minimum-torsion) portfolios, so it does not remove the effect of correlation
  between bets. Without a covariance it uses the weights' own shares, ``|w_i| / sum |w|``.
- ``effective_n``: the inverse Herfindahl index of the weights, ``(sum |w|)^2 / sum w^2``, i.e.
  ``1 / sum w^2`` for long-only weights summing to one.
- ``diversification_ratio``: ``w' sigma / sqrt(w' S w)`` (Choueifaty & Coignard 2008), at
  least 1 for long-only weights.

Examples
--------
>>> import numpy as np
>>> from riskbook.optimize.diagnostics import risk_contributions
>>> np.round(risk_contributions(np.array([0.5, 0.5]), np.diag([0.04, 0.01])), 4)
array([0.8, 0.2])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskbook._labels import unwrap_cov, unwrap_vector, wrap_weights
from riskbook.errors import OptimizationError

__all__ = [
    "diversification_ratio",
    "effective_n",
    "effective_number_of_bets",
    "portfolio_volatility",
    "risk_contributions",
]


def portfolio_volatility(weights: Any, cov: Any) -> float:
    """Ex-ante volatility ``sqrt(w' S w)``.

    Parameters
    ----------
    weights
        Weights (a Series is aligned to a labelled covariance by symbol).
    cov
        Covariance matrix, ndarray or labelled DataFrame.

    Returns
    -------
    float
        The volatility, in the units of ``cov`` (annualised if ``cov`` is).

    Raises
    ------
    OptimizationError
        Invalid covariance or weights, or a negative ``w' S w`` (``cov`` not PSD).

    Examples
    --------
    >>> import numpy as np
    >>> round(portfolio_volatility(np.array([0.5, 0.5]), np.diag([0.04, 0.04])), 6)
    0.141421
    """
    w, S, _ = _align(weights, cov)
    return float(np.sqrt(_variance(w, S)))


def risk_contributions(weights: Any, cov: Any, *, relative: bool = True) -> np.ndarray | pd.Series:
    """Euler risk contributions ``w_i (S w)_i``, scaled to sum to 1 or to the volatility.

    Parameters
    ----------
    weights
        Weights (a Series is aligned to a labelled covariance by symbol).
    cov
        Covariance matrix, ndarray or labelled DataFrame.
    relative
        True: divided by the variance, summing to one. False: divided by the volatility,
        summing to it (each asset's share of the volatility).

    Returns
    -------
    ndarray or Series
        One contribution per asset; a Series indexed by symbol if either input is labelled.

    Raises
    ------
    OptimizationError
        Invalid input, or a portfolio with zero variance (contributions undefined).

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([0.04, 0.01])
    >>> np.round(risk_contributions(np.array([1 / 3, 2 / 3]), cov), 4)
    array([0.5, 0.5])
    >>> np.round(risk_contributions(np.array([0.5, 0.5]), cov, relative=False), 4)
    array([0.0894, 0.0224])
    """
    w, S, labels = _align(weights, cov)
    rc, variance = _contributions(w, S)
    rc /= variance if relative else np.sqrt(variance)
    return wrap_weights(rc, labels, name="risk_contribution")


def effective_number_of_bets(weights: Any, cov: Any = None) -> float:
    """``exp`` of the entropy of the relative risk contributions (see the module notes).

    Parameters
    ----------
    weights
        Weights (a Series is aligned to a labelled covariance by symbol).
    cov
        Covariance matrix; ``None`` measures the weights' own shares ``|w_i| / sum |w|``.

    Returns
    -------
    float
        Between 1 (one bet) and N (equal shares).

    Raises
    ------
    OptimizationError
        Invalid input, all-zero weights, or a zero-variance portfolio.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.diag([0.04, 0.01])
    >>> round(effective_number_of_bets(np.array([1 / 3, 2 / 3]), cov), 6)
    2.0
    >>> round(effective_number_of_bets(np.array([0.5, 0.5]), cov), 4)
    1.6494
    """
    if cov is None:
        shares = np.abs(_weights_only(weights))
    else:
        w, S, _ = _align(weights, cov)
        shares = np.abs(_contributions(w, S)[0])
    shares = shares / shares.sum()
    nz = shares[shares > 0]
    return float(np.exp(-(nz * np.log(nz)).sum()))


def effective_n(weights: Any) -> float:
    """Inverse Herfindahl index of the weights, ``(sum |w|)^2 / sum w^2``.

    Parameters
    ----------
    weights
        Weights, ndarray or Series.

    Returns
    -------
    float
        Between 1 (one position) and N (equal positions).

    Raises
    ------
    OptimizationError
        Non-finite or all-zero weights.

    Examples
    --------
    >>> import numpy as np
    >>> effective_n(np.array([0.25, 0.25, 0.5]))
    2.6666666666666665
    """
    w = _weights_only(weights)
    return float(np.abs(w).sum() ** 2 / (w @ w))


def diversification_ratio(weights: Any, cov: Any) -> float:
    """``w' sigma / sqrt(w' S w)``: weighted average volatility over portfolio volatility.

    Parameters
    ----------
    weights
        Weights (a Series is aligned to a labelled covariance by symbol).
    cov
        Covariance matrix, ndarray or labelled DataFrame.

    Returns
    -------
    float
        1 for perfectly correlated assets, ``sqrt(N)`` for N uncorrelated assets of equal
        volatility held in equal weights.

    Raises
    ------
    OptimizationError
        Invalid input or a zero-variance portfolio.

    Examples
    --------
    >>> import numpy as np
    >>> round(diversification_ratio(np.full(4, 0.25), np.eye(4)), 6)
    2.0
    """
    w, S, _ = _align(weights, cov)
    variance = _variance(w, S)
    if not variance > 0:
        raise OptimizationError(
            "the portfolio has zero variance; the diversification ratio is undefined",
            parameter="weights",
        )
    return float(w @ np.sqrt(np.diag(S)) / np.sqrt(variance))


def _align(weights: Any, cov: Any) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Weights aligned to the covariance; labels from the covariance, else from a Series."""
    S, labels = unwrap_cov(cov)
    w = unwrap_vector(weights, S.shape[0], labels, name="weights")
    if labels is None and isinstance(weights, pd.Series):
        labels = [str(s) for s in weights.index]
    return w, S, labels


def _contributions(w: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, float]:
    """``w_i (S w)_i`` and the variance they sum to, refusing a zero-variance portfolio."""
    variance = _variance(w, S)
    if not variance > 0:
        raise OptimizationError(
            "the portfolio has zero variance; risk contributions are undefined",
            parameter="weights",
        )
    return w * (S @ w), variance


def _variance(w: np.ndarray, S: np.ndarray) -> float:
    variance = float(w @ S @ w)
    if variance < 0:
        # A PSD matrix can give a tiny negative through rounding; anything else is wrong.
        if variance < -1e-12 * float(np.abs(w) @ np.abs(S) @ np.abs(w)):
            raise OptimizationError(
                f"w'Sw = {variance:.3g} < 0: cov is not positive semidefinite", parameter="cov"
            )
        variance = 0.0
    return variance


def _weights_only(weights: Any) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.size == 0 or not np.isfinite(w).all():
        raise OptimizationError("weights must be finite and non-empty", parameter="weights")
    if not np.abs(w).sum() > 0:
        raise OptimizationError("weights are all zero", parameter="weights")
    return w
