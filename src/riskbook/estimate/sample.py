"""The sample covariance matrix."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskbook._labels import unwrap_returns, wrap_matrix
from riskbook.errors import ConfigError
from riskbook.estimate._checks import demeaned, non_negative_int, period_scale

__all__ = ["sample_covariance"]


def sample_covariance(
    returns: npt.ArrayLike | pd.DataFrame,
    ddof: int = 1,
    *,
    periods_per_year: float | None = None,
) -> np.ndarray | pd.DataFrame:
    """Sample covariance of T x N returns: ``Xc' Xc / (T - ddof)`` with ``Xc`` demeaned.

    Parameters
    ----------
    returns
        T x N returns (rows are dates, columns assets); a DataFrame gives a labelled result.
    ddof
        Delta degrees of freedom: 1 (default) is the unbiased estimator, as ``np.cov`` and
        ``DataFrame.cov``; 0 is the maximum-likelihood one. Must be below T.
    periods_per_year
        If given, the result is multiplied by it (e.g. 252 for daily returns); per period if not.

    Returns
    -------
    numpy.ndarray or pandas.DataFrame
        The N x N covariance, of the same kind as ``returns``.

    Raises
    ------
    DataError
        Fewer than 2 observations, or a NaN or infinite value (the message names the column).
    ConfigError
        ``ddof`` not an integer in [0, T), or ``periods_per_year`` not positive.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, -1.0], [-2.0, 0.0]])
    >>> sample_covariance(X).round(4)
    array([[ 6.3333, -0.8333],
           [-0.8333,  2.3333]])
    """
    scale = period_scale(periods_per_year)
    ddof = non_negative_int(ddof, name="ddof")
    X, labels = unwrap_returns(returns)
    T = X.shape[0]
    if ddof >= T:
        raise ConfigError(f"ddof={ddof} leaves no degrees of freedom with T={T}", parameter="ddof")
    Xc = demeaned(X)
    # Xc.T @ Xc on one buffer lets numpy call BLAS syrk, and the result is exactly symmetric.
    S = Xc.T @ Xc
    S *= scale / (T - ddof)
    return wrap_matrix(S, labels)
