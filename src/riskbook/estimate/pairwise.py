"""Covariance of series with different histories: pairwise-complete, repaired, then shrunk.

Three steps, each documented with what it preserves:

1. **Pairwise-complete estimate.** Entry (i, j) is the sample covariance (ddof 1) of the dates on
   which *both* series have a value, with both means taken over that overlap (pandas
   ``DataFrame.cov`` semantics). The diagonal is each series' variance over its full history. No
   series is truncated to the shortest common window.
2. **Repair to positive semidefinite** (only if needed). With ``D = diag(S)^(1/2)`` the
   correlation matrix ``D^-1 S D^-1`` is replaced by its nearest correlation matrix in the
   unweighted Frobenius norm (Higham 2002, see :func:`nearest_correlation`) and scaled back.
   **Every variance is preserved exactly**; only correlations move, by the least total squared
   amount. If the pairwise matrix already is PSD it is returned untouched.
3. **Shrinkage toward the diagonal** (``shrink=True``). ``(1 - delta) S + delta diag(S)``,
   which again preserves the variances and pulls correlations toward 0. The intensity is the
   Ledoit-Wolf estimator for the diagonal target (Ledoit 1995, App. B.2; the authors'
   ``covDiag.m``, 01/2021 conventions) generalised to unequal overlaps: with ``O_ij`` the common
   dates of i and j, ``n_ij = |O_ij| - 1``, ``y`` demeaned over ``O_ij``,

       pi_ij = (1/n_ij) sum_{t in O_ij} y_ti^2 y_tj^2 - s_ij^2
       delta = max(0, min(1, sum_{i != j} pi_ij / n_ij  /  sum_{i != j} s~_ij^2))

   where ``pi_ij / n_ij`` estimates the variance of the pairwise entry ``s_ij`` (so pairs with
   short overlaps, being noisier, call for more shrinkage) and ``s~`` is the repaired matrix.
   Without gaps this is exactly ``covDiag.m``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskbook._labels import unwrap_returns, wrap_matrix
from riskbook.errors import ConfigError, DataError
from riskbook.estimate._checks import column, period_scale, require_varying
from riskbook.estimate.higham import check_iteration, is_correlation, project_to_correlation

__all__ = ["pairwise_covariance"]


def pairwise_covariance(
    returns_with_gaps: npt.ArrayLike | pd.DataFrame,
    shrink: bool = True,
    *,
    min_periods: int = 2,
    periods_per_year: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> np.ndarray | pd.DataFrame:
    """Pairwise-complete covariance, repaired to PSD, optionally shrunk (module docstring).

    Parameters
    ----------
    returns_with_gaps
        T x N returns in which NaN marks a missing observation (e.g. before a listing).
    shrink
        Shrink toward the diagonal with the pairwise Ledoit-Wolf intensity (default True).
    min_periods
        Minimum number of observations of every series and of every pair's overlap (>= 2).
        The default is the least that defines a covariance; raise it for risk use.
    periods_per_year
        If given, the result is multiplied by it.
    tol, max_iter
        Passed to the nearest-correlation repair.

    Returns
    -------
    numpy.ndarray or pandas.DataFrame
        The N x N positive semidefinite covariance, of the same kind as the input.

    Raises
    ------
    DataError
        Fewer than 2 rows, an infinite value, a series or a pair with fewer than ``min_periods``
        observations, or a constant series; the message names the column(s).
    ConfigError
        Bad ``min_periods`` or ``periods_per_year``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(0.0, 0.01, size=(300, 3))
    >>> X[:200, 2] = np.nan  # the third series starts late
    >>> cov = pairwise_covariance(X)
    >>> bool(np.linalg.eigvalsh(cov)[0] >= 0), cov.shape
    (True, (3, 3))
    """
    scale = period_scale(periods_per_year)
    if isinstance(min_periods, bool) or not isinstance(min_periods, int | np.integer):
        raise ConfigError("min_periods must be an integer >= 2", parameter="min_periods")
    if min_periods < 2:
        raise ConfigError(f"min_periods must be >= 2, got {min_periods}", parameter="min_periods")
    tol, max_iter = check_iteration(tol, max_iter)
    X, labels = unwrap_returns(returns_with_gaps, allow_nan=True, name="returns_with_gaps")
    present = ~np.isnan(X)
    counts = present.sum(axis=0)
    if (counts < min_periods).any():
        i = int(np.argmax(counts < min_periods))
        raise DataError(
            f"series has {int(counts[i])} observation(s); min_periods={min_periods}",
            symbol=column(labels, i),
            parameter="returns_with_gaps",
        )
    require_varying(X, labels, why="its correlations are undefined")

    moments = _PairwiseMoments(X, present, fourth=shrink)
    _check_overlaps(moments.n, min_periods, labels)
    S = moments.covariance()
    S = _repair(S, tol, max_iter)
    if shrink:
        delta = _diagonal_intensity(moments.variance_of_entries(), S)
        diag = np.diag(S).copy()
        S *= 1.0 - delta
        S.flat[:: S.shape[0] + 1] = diag
    if scale != 1.0:
        S *= scale
    return wrap_matrix(S, labels)


class _PairwiseMoments:
    """Overlap sums of powers of the returns, all from a few T x N -> N x N products.

    For a pair (i, j) every sum over the overlap O_ij is a matrix product of masked arrays:
    with ``M`` the 0/1 presence mask and ``X1`` the returns with gaps set to 0,
    ``|O_ij| = (M'M)_ij``, ``sum_O x_i = (X1'M)_ij``, ``sum_O x_i x_j = (X1'X1)_ij``, and so on.
    Columns are first centred on their own full-history means so that re-centring on each
    overlap subtracts only small numbers.
    """

    def __init__(self, X: np.ndarray, present: np.ndarray, *, fourth: bool) -> None:
        M = present.astype(np.float64)
        counts = M.sum(axis=0)
        mean = np.where(present, X, 0.0).sum(axis=0) / counts
        X1 = np.where(present, X - mean, 0.0)
        self.n = M.T @ M
        self.s1 = X1.T @ M
        self.p = X1.T @ X1
        if fourth:
            X2 = X1 * X1
            self.g22 = X2.T @ X2
            self.g21 = X2.T @ X1
            self.g2m = X2.T @ M

    def covariance(self) -> np.ndarray:
        n, s1, p = self.n, self.s1, self.p
        # s1 * s1.T is symmetric elementwise, so the result is exactly symmetric.
        return (p - s1 * s1.T / n) / (n - 1.0)

    def variance_of_entries(self) -> np.ndarray:
        """pi_ij / n_ij: the estimated sampling variance of each pairwise covariance entry."""
        n, s1, p = self.n, self.s1, self.p
        a = s1 / n  # mean of x_i over O_ij
        b = a.T  # mean of x_j over O_ij
        # sum_O (x_i - a)^2 (x_j - b)^2, expanded into the overlap sums above.
        g21, g2m = self.g21, self.g2m
        fourth = (
            self.g22
            - 2.0 * b * g21
            + b * b * g2m
            - 2.0 * a * g21.T
            + 4.0 * a * b * p
            - 2.0 * a * b * b * s1
            + a * a * g2m.T
            - 2.0 * a * a * b * s1.T
            + a * a * b * b * n
        )
        dof = n - 1.0
        s = self.covariance()
        pi = fourth / dof - s * s
        return pi / dof


def _check_overlaps(n: np.ndarray, min_periods: int, labels: list[str] | None) -> None:
    short = np.triu(n < min_periods, k=1)
    if short.any():
        i, j = (int(v[0]) for v in np.nonzero(short))
        raise DataError(
            f"these two series overlap on {int(n[i, j])} date(s); min_periods={min_periods}",
            symbol=column(labels, i),
            parameter="returns_with_gaps",
            other=column(labels, j),
        )


def _repair(S: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
    sd = np.sqrt(np.diag(S))
    R = S / np.outer(sd, sd)
    R.flat[:: R.shape[0] + 1] = 1.0
    if is_correlation(R):
        return S
    var = np.diag(S).copy()
    out = project_to_correlation(R, tol, max_iter) * np.outer(sd, sd)
    out.flat[:: out.shape[0] + 1] = var
    return out


def _diagonal_intensity(entry_variance: np.ndarray, S: np.ndarray) -> float:
    off = ~np.eye(S.shape[0], dtype=bool)
    gamma = float(np.sum(S[off] ** 2))
    if gamma <= 0.0:
        return 0.0
    return float(min(1.0, max(0.0, float(entry_variance[off].sum()) / gamma)))
