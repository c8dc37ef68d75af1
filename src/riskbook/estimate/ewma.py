"""Exponentially weighted (EWMA) covariance and volatility, RiskMetrics style.

Observation t of T (t = 0 oldest) gets weight ``lambda**(T - 1 - t)`` with
``lambda = 0.5**(1 / halflife)``, so the latest observation weighs 1 and one ``halflife`` earlier
weighs 1/2; the weights are then normalised to sum to 1 (pandas ``ewm(adjust=True)``).

By default returns are **not demeaned** (RiskMetrics 1996: the daily mean is taken as zero,
which removes a noisy estimate and keeps the recursion ``S_t = lambda S_{t-1} + (1-lambda) y_t
y_t'``). With ``demean=True`` the exponentially weighted mean ``m = sum_t w_t y_t`` is removed
first, which equals pandas ``ewm(halflife=h, adjust=True).cov(bias=True)``. There is no
small-sample debiasing in either case (pandas' default ``bias=False`` rescales by
``(sum w)^2 / ((sum w)^2 - sum w^2)``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskbook._labels import unwrap_returns, wrap_matrix
from riskbook.estimate._checks import period_scale, positive_number

__all__ = ["ewma_covariance", "ewma_volatility", "ewma_weights"]


def ewma_weights(n_obs: int, halflife: float) -> np.ndarray:
    """The normalised weights, oldest first: ``w_t ∝ 0.5**((n_obs - 1 - t) / halflife)``.

    Examples
    --------
    >>> ewma_weights(3, halflife=1.0).round(4)
    array([0.1429, 0.2857, 0.5714])
    """
    halflife = positive_number(halflife, name="halflife")
    # Built from the age in log space: weights of very old rows underflow to 0 instead of
    # overflowing when normalised the other way round.
    age = np.arange(n_obs - 1, -1, -1, dtype=np.float64)
    w = np.exp(age * (-np.log(2.0) / halflife))
    w /= w.sum()
    return w


def _centred(X: np.ndarray, w: np.ndarray, demean: bool) -> np.ndarray:
    return X - w @ X if demean else X


def ewma_covariance(
    returns: npt.ArrayLike | pd.DataFrame,
    halflife: float,
    *,
    demean: bool = False,
    periods_per_year: float | None = None,
) -> np.ndarray | pd.DataFrame:
    """EWMA covariance ``sum_t w_t y_t y_t'`` of T x N returns (see the module docstring).

    Parameters
    ----------
    returns
        T x N returns, oldest row first; a DataFrame gives a labelled result.
    halflife
        Half-life in observations (> 0); e.g. RiskMetrics' daily lambda = 0.94 is
        ``halflife = log(0.5) / log(0.94)`` ~ 11.2.
    demean
        Remove the exponentially weighted mean first (default False: zero mean, RiskMetrics).
    periods_per_year
        If given, the result is multiplied by it.

    Returns
    -------
    numpy.ndarray or pandas.DataFrame
        The N x N covariance as of the last row, of the same kind as ``returns``.

    Raises
    ------
    DataError
        Fewer than 2 observations or a NaN or infinite value (the message names the column).
    ConfigError
        ``halflife`` or ``periods_per_year`` not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.01, 0.0], [-0.02, 0.01], [0.01, 0.02]])
    >>> (ewma_covariance(X, halflife=1.0) * 1e4).round(3)
    array([[1.857, 0.571],
           [0.571, 2.571]])
    """
    scale = period_scale(periods_per_year)
    X, labels = unwrap_returns(returns)
    w = ewma_weights(X.shape[0], halflife)
    # Scaling rows by sqrt(w) keeps the product a single symmetric syrk.
    Z = _centred(X, w, demean) * np.sqrt(w)[:, None]
    S = Z.T @ Z
    if scale != 1.0:
        S *= scale
    return wrap_matrix(S, labels)


def ewma_volatility(
    returns: npt.ArrayLike | pd.DataFrame,
    halflife: float,
    *,
    demean: bool = False,
    periods_per_year: float | None = None,
) -> np.ndarray | pd.Series:
    """EWMA volatility: the square root of the diagonal of :func:`ewma_covariance`.

    Only the N variances are computed (O(T N)), not the full matrix.

    Parameters
    ----------
    returns, halflife, demean
        As in :func:`ewma_covariance`.
    periods_per_year
        If given, the volatility is multiplied by its square root.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Length-N volatilities; a Series indexed by column for DataFrame input.

    Raises
    ------
    DataError, ConfigError
        As in :func:`ewma_covariance`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.01, 0.0], [-0.02, 0.01], [0.01, 0.02]])
    >>> ewma_volatility(X, halflife=1.0).round(5)
    array([0.01363, 0.01604])
    """
    scale = period_scale(periods_per_year)
    X, labels = unwrap_returns(returns)
    w = ewma_weights(X.shape[0], halflife)
    Y = _centred(X, w, demean)
    vol = np.sqrt(w @ (Y * Y) * scale)
    if labels is None:
        return vol
    return pd.Series(vol, index=labels, name="volatility")
