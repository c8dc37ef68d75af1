r"""Ledoit-Wolf linear shrinkage of the sample covariance toward a structured target.

The estimator is ``delta * F + (1 - delta) * S`` with ``S`` the sample covariance, ``F`` a target
and ``delta`` in [0, 1] the estimated optimal intensity. Three targets are offered:

``"scaled_identity"``
    ``F = mu * I`` with ``mu = trace(S) / N``; Ledoit & Wolf (2004), "A well-conditioned
    estimator for large-dimensional covariance matrices", J. Multivariate Anal. 88(2). Follows
    scikit-learn's ``LedoitWolf`` exactly: demeaned data, ``S = Xc' Xc / T`` (1/T).
``"constant_correlation"``
    Ledoit & Wolf (2004), "Honey, I shrunk the sample covariance matrix", J. Portfolio Manag.
    30(4); conventions of the authors' reference code ``covCor.m`` (version 01/2021).
``"single_factor"``
    Ledoit & Wolf (2003), "Improved estimation of the covariance matrix of stock returns with
    an application to portfolio selection", J. Empirical Finance 10(5); market factor = the
    equal-weighted average of the assets; conventions of the authors' ``covMarket.m`` (01/2021).

For the last two targets the 2021 reference code demeans the data and divides *every* sample
moment by ``n = T - 1`` (one degree of freedom used by the mean); with ``assume_centered=True`` it
does not demean and ``n = T``. Writing ``y`` for the (demeaned) returns,
``m(z) = (1/n) sum_t z_t`` and ``s_ij = m(y_i y_j)``, the intensity is

    pi_ij    = m(y_i^2 y_j^2) - s_ij^2                  (asymptotic variance of sqrt(T) s_ij)
    pi       = sum_ij pi_ij
    rho      = sum_i pi_ii + sum_{i != j} rho_ij        (covariance of S and F, target-specific)
    gamma    = sum_ij (f_ij - s_ij)^2                   (misspecification of the target)
    kappa    = (pi - rho) / gamma
    delta    = max(0, min(1, kappa / n)).

Constant correlation: ``r_bar = (sum_{i != j} s_ij / sqrt(s_ii s_jj)) / (N (N - 1))``,
``f_ii = s_ii``, ``f_ij = r_bar sqrt(s_ii s_jj)`` and, for i != j,

    theta_ii,ij = m(y_i^3 y_j) - s_ii s_ij
    rho_ij      = (r_bar / 2) (sqrt(s_jj / s_ii) theta_ii,ij + sqrt(s_ii / s_jj) theta_jj,ij).

Single factor: market ``x_t = (1/N) sum_i y_ti``, ``s_i0 = m(y_i x)``, ``s_00 = m(x^2)``,
``f_ii = s_ii``, ``f_ij = s_i0 s_j0 / s_00`` and, for i != j,

    rho_ij = m( (s_j0 s_00 y_i + s_i0 s_00 y_j - s_i0 s_j0 x) x y_i y_j ) / s_00^2 - f_ij s_ij.

Implementation: after the one ``Y' Y`` product, every sum over pairs above collapses to sums over
dates of row aggregates (e.g. ``sum_ij m(y_i^2 y_j^2) = m((sum_i y_i^2)^2)``), so each target costs
one BLAS ``syrk`` plus O(T N + N^2) work; no other N x N product is formed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskbook._labels import unwrap_returns, wrap_matrix
from riskbook.errors import ConfigError, DataError
from riskbook.estimate._checks import demeaned, period_scale, require_nonzero, require_varying

__all__ = ["TARGETS", "Target", "ledoit_wolf", "ledoit_wolf_shrinkage"]

Target = Literal["scaled_identity", "constant_correlation", "single_factor"]
TARGETS: tuple[str, ...] = ("scaled_identity", "constant_correlation", "single_factor")


def ledoit_wolf(
    returns: npt.ArrayLike | pd.DataFrame,
    target: Target = "scaled_identity",
    *,
    assume_centered: bool = False,
    periods_per_year: float | None = None,
    shrinkage_scale: float = 1.0,
) -> np.ndarray | pd.DataFrame:
    """Ledoit-Wolf shrinkage covariance of T x N returns toward ``target``.

    See the module docstring for the formulas and the references each target follows.

    Parameters
    ----------
    returns
        T x N returns; a DataFrame gives a labelled result.
    target
        ``"scaled_identity"`` (default; equals scikit-learn's ``LedoitWolf``),
        ``"constant_correlation"`` (``covCor.m``) or ``"single_factor"`` (``covMarket.m``).
    assume_centered
        If True the data are not demeaned and moments are divided by T (scikit-learn's
        ``assume_centered=True``; ``k = 0`` in the authors' code). Default False: demean, then
        divide by T for ``"scaled_identity"`` and by T - 1 for the other two targets.
    periods_per_year
        If given, the result is multiplied by it.
    shrinkage_scale
        Multiplies the optimal intensity (the result clipped to [0, 1]); 1 is Ledoit-Wolf. For
        sensitivity analysis: how much does a result hinge on the amount of shrinkage?

    Returns
    -------
    numpy.ndarray or pandas.DataFrame
        The N x N shrunk covariance, of the same kind as ``returns``.

    Raises
    ------
    DataError
        Fewer than 2 observations, a NaN or infinite value, or (constant-correlation target) a
        constant column; the message names the column.
    ConfigError
        Unknown ``target``, non-positive ``periods_per_year`` or negative ``shrinkage_scale``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(0.0, 0.01, size=(250, 4))
    >>> cov = ledoit_wolf(X, target="constant_correlation")
    >>> cov.shape, bool(np.allclose(cov, cov.T))
    ((4, 4), True)
    """
    scale = period_scale(periods_per_year)
    if not (np.isfinite(shrinkage_scale) and shrinkage_scale >= 0):
        raise ConfigError(
            f"shrinkage_scale must be a finite number >= 0, got {shrinkage_scale}",
            parameter="shrinkage_scale",
        )
    S, F_off, delta, labels = _estimate(returns, target, assume_centered)
    cov = _blend(S, F_off, _clip(delta * shrinkage_scale))
    if scale != 1.0:
        cov *= scale
    return wrap_matrix(cov, labels)


def ledoit_wolf_shrinkage(
    returns: npt.ArrayLike | pd.DataFrame,
    target: Target = "scaled_identity",
    *,
    assume_centered: bool = False,
) -> float:
    """The Ledoit-Wolf shrinkage intensity ``delta`` in [0, 1] used by :func:`ledoit_wolf`.

    Parameters
    ----------
    returns
        T x N returns.
    target, assume_centered
        As in :func:`ledoit_wolf`.

    Returns
    -------
    float
        The intensity (0 = sample covariance, 1 = target). It is scale-free, so no
        ``periods_per_year``. 0 when the target equals the sample covariance (e.g. N = 1).

    Raises
    ------
    DataError, ConfigError
        As in :func:`ledoit_wolf`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(0.0, 0.01, size=(250, 1)) + rng.normal(0.0, 0.01, size=(250, 4))
    >>> round(ledoit_wolf_shrinkage(X), 3), round(ledoit_wolf_shrinkage(X, "single_factor"), 3)
    (0.031, 0.041)
    """
    return _estimate(returns, target, assume_centered)[2]


def _estimate(
    returns: npt.ArrayLike | pd.DataFrame, target: str, assume_centered: bool
) -> tuple[np.ndarray, np.ndarray | float, float, list[str] | None]:
    """Sample covariance, the target's off-diagonal part (matrix or scalar), the intensity and
    the column labels."""
    if target not in TARGETS:
        raise ConfigError(
            f"unknown shrinkage target {target!r}; choose one of {', '.join(TARGETS)}",
            parameter="target",
        )
    X, labels = unwrap_returns(returns)
    T = X.shape[0]
    if target == "constant_correlation":
        if assume_centered:
            # Uncentred second moments: only an all-zero column has none.
            require_nonzero(X, labels, why="correlations, and so the target, are undefined")
        else:
            require_varying(X, labels, why="correlations, and so the target, are undefined")
    if assume_centered:
        Y, n = X, T
    else:
        Y = demeaned(X)
        # scikit-learn keeps 1/T after demeaning; the authors' 2021 code uses 1/(T - 1).
        n = T if target == "scaled_identity" else T - 1
    S = Y.T @ Y
    S /= n
    if target == "scaled_identity":
        F_off, delta = _scaled_identity(Y, S, n)
    elif target == "constant_correlation":
        F_off, delta = _constant_correlation(Y, S, n)
    else:
        F_off, delta = _single_factor(Y, S, n)
    return S, F_off, delta, labels


def _blend(S: np.ndarray, F_off: np.ndarray | float, delta: float) -> np.ndarray:
    """``delta F + (1 - delta) S`` in place in ``S``; ``F_off`` is F's off-diagonal part.

    For the constant-correlation and single-factor targets ``diag(F) = diag(S)``, so the diagonal
    is kept as is. For the scaled identity ``F_off`` is the scalar ``mu`` and ``F = mu I``.
    """
    if delta == 0.0:
        return S
    diag = np.diag(S).copy()
    S *= 1.0 - delta
    if np.ndim(F_off) == 0:
        S.flat[:: S.shape[0] + 1] += delta * float(F_off)
        return S
    S += delta * F_off
    S.flat[:: S.shape[0] + 1] = diag
    return S


def _clip(kappa_over_n: float) -> float:
    return float(min(1.0, max(0.0, kappa_over_n)))


def _scaled_identity(Y: np.ndarray, S: np.ndarray, n: int) -> tuple[float, float]:
    """scikit-learn's ``ledoit_wolf_shrinkage``, with its N x N products replaced by O(TN) sums.

    beta  = ((1/T) sum_t |y_t|^4 - |S|_F^2) / (N T)    (sum_t |y_t|^4 = sum of (Y^2)'(Y^2))
    delta = (|S|_F^2 - N mu^2) / N                      (= |S - mu I|_F^2 / N)
    intensity = min(beta, delta) / delta.
    """
    N = S.shape[0]
    mu = float(np.trace(S)) / N
    row_sq = np.einsum("ti,ti->t", Y, Y)
    fro2 = float(np.vdot(S, S))
    beta = (float(row_sq @ row_sq) / n - fro2) / (N * n)
    dispersion = (fro2 - N * mu * mu) / N
    if N == 1 or dispersion <= 0.0:
        # S is already a multiple of the identity: every intensity gives the same matrix.
        return mu, 0.0
    return mu, _clip(min(beta, dispersion) / dispersion)


def _pi_and_rho_diag(Y: np.ndarray, S: np.ndarray, n: int) -> tuple[float, float, np.ndarray]:
    """pi = sum_ij pi_ij and its diagonal part, and Y^2 (reused by the off-diagonal rho)."""
    Y2 = Y * Y
    row_sq = Y2.sum(axis=1)
    fourth = np.einsum("ti,ti->i", Y2, Y2)
    var = np.diag(S)
    pi = float(row_sq @ row_sq) / n - float(np.vdot(S, S))
    rho_diag = float(fourth.sum()) / n - float(var @ var)
    return pi, rho_diag, Y2


def _intensity(pi: float, rho: float, S: np.ndarray, F_off: np.ndarray, n: int) -> float:
    D = S - F_off
    np.fill_diagonal(D, 0.0)
    gamma = float(np.vdot(D, D))
    if gamma <= 0.0:
        # Target equals the sample covariance (e.g. N = 1); the intensity is immaterial.
        return 0.0
    return _clip((pi - rho) / gamma / n)


def _constant_correlation(Y: np.ndarray, S: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    N = S.shape[0]
    var = np.diag(S).copy()
    sd = np.sqrt(var)
    if N == 1:
        return np.zeros((1, 1)), 0.0
    inv_sd = 1.0 / sd
    r_bar = (float(inv_sd @ S @ inv_sd) - N) / (N * (N - 1))
    F_off = r_bar * np.outer(sd, sd)
    pi, rho_diag, Y2 = _pi_and_rho_diag(Y, S, n)
    # sum_{i != j} sqrt(s_jj/s_ii) m(y_i^3 y_j) = m(a b) - m(sum_i y_i^4), a = Y^3 / sd, b = Y sd;
    # this is rho's symmetric pair sum folded onto one triangle.
    a = (Y2 * Y) @ inv_sd
    b = Y @ sd
    fourth_total = float(Y2.ravel() @ Y2.ravel())
    cross = (float(a @ b) - fourth_total) / n
    # sum_{i != j} sqrt(s_jj/s_ii) s_ii s_ij = sd' S sd - sum_i s_ii^2.
    rho_off = r_bar * (cross - (float(sd @ S @ sd) - float(var @ var)))
    return F_off, _intensity(pi, rho_diag + rho_off, S, F_off, n)


def _single_factor(Y: np.ndarray, S: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    x = Y.mean(axis=1)
    c = (Y.T @ x) / n
    v = float(x @ x) / n
    if not v > 0.0:
        raise DataError(
            "the equal-weighted market factor has zero variance; the single-factor target is "
            "undefined",
            parameter="returns",
        )
    F_off = np.outer(c, c) / v
    pi, rho_diag, Y2 = _pi_and_rho_diag(Y, S, n)
    var = np.diag(S)
    Yc = Y @ c
    cSc = float(c @ S @ c)
    c2_var = float((c * c) @ var)
    # sum_{i != j} c_j (m(y_i^2 y_j x) - c_i s_ij) / s_00, the full sum minus its diagonal.
    full1 = float((x * Y2.sum(axis=1)) @ Yc) / n - cSc
    diag1 = float(((Y2 * Y) @ c) @ x) / n - c2_var
    roff1 = (full1 - diag1) / v
    # sum_{i != j} c_i c_j (m(y_i y_j x^2) - s_00 s_ij) / s_00^2, likewise.
    x2 = x * x
    full3 = float(x2 @ (Yc * Yc)) / n - v * cSc
    diag3 = float((Y2 @ (c * c)) @ x2) / n - v * c2_var
    roff3 = (full3 - diag3) / (v * v)
    rho_off = 2.0 * roff1 - roff3
    return F_off, _intensity(pi, rho_diag + rho_off, S, F_off, n)
