"""The nearest correlation matrix: Higham (2002) alternating projections.

N. J. Higham, "Computing the nearest correlation matrix - a problem from finance", IMA J. Numer.
Anal. 22(3), 2002, Algorithm 3.3 with unit weights (W = I): the Frobenius-nearest matrix that is
both positive semidefinite (set S) and has a unit diagonal (set U) is found by alternating the two
projections, with Dykstra's correction on the (non-affine) projection onto S:

    dS_0 = 0, Y_0 = A
    R_k  = Y_{k-1} - dS_{k-1}
    X_k  = P_S(R_k)            (eigenvalues clipped at 0)
    dS_k = X_k - R_k
    Y_k  = P_U(X_k)            (diagonal set to 1)

Because P_U only changes the diagonal, ``R_k = A + diag(d_k)`` for an N-vector ``d_k``, and the
iteration is the fixed-point map ``d <- d + 1 - diag(P_S(A + diag(d)))``. Its fixed points are
exactly the solutions, so it can be sped up without changing the answer: riskbook applies
Anderson acceleration to it (as Higham & Strabic, "Anderson acceleration of the alternating
projections method for computing the nearest correlation matrix", Numer. Algorithms 72, 2016),
which cuts the number of eigendecompositions by about 3-5x on pairwise-covariance inputs. It
stops when every diagonal entry of ``X_k`` is within ``tol`` of 1; ``X_k`` is then rescaled to an
exact unit diagonal.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskbook.errors import ConfigError, DataError
from riskbook.estimate._checks import positive_number

__all__ = ["nearest_correlation"]


def nearest_correlation(
    matrix: npt.ArrayLike | pd.DataFrame,
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> np.ndarray | pd.DataFrame:
    """The correlation matrix nearest to a symmetric ``matrix`` in the Frobenius norm.

    Parameters
    ----------
    matrix
        Symmetric N x N matrix, typically an indefinite "correlation" matrix (e.g. from
        pairwise-complete data); a DataFrame gives a labelled result.
    tol
        Stop when every diagonal entry of the PSD iterate is within ``tol`` of 1.
    max_iter
        Iteration cap; if reached a ``RuntimeWarning`` is issued and the last iterate is
        returned (it is still a valid correlation matrix, only not converged to ``tol``).

    Returns
    -------
    numpy.ndarray or pandas.DataFrame
        A symmetric positive semidefinite matrix with unit diagonal. It is the last PSD iterate
        ``X_k`` rescaled by ``diag(X_k)^(-1/2)`` on both sides, a congruence, so positive
        semidefiniteness is exact up to rounding and the diagonal is exactly 1. ``matrix`` is
        returned unchanged (as a copy) when it already is a correlation matrix.

    Raises
    ------
    DataError
        Not square, not finite or not symmetric (relative 1e-10).
    ConfigError
        ``tol`` not positive or ``max_iter`` not a positive integer.

    Examples
    --------
    Higham's (2002) example:

    >>> import numpy as np
    >>> A = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    >>> nearest_correlation(A).round(4)
    array([[1.    , 0.7607, 0.1573],
           [0.7607, 1.    , 0.7607],
           [0.1573, 0.7607, 1.    ]])
    """
    tol, max_iter = check_iteration(tol, max_iter)
    labels = [str(c) for c in matrix.columns] if isinstance(matrix, pd.DataFrame) else None
    A = _symmetric(matrix)
    out = project_to_correlation(A, tol, max_iter)
    return out if labels is None else pd.DataFrame(out, index=labels, columns=labels)


def check_iteration(tol: float, max_iter: int) -> tuple[float, int]:
    """Validated ``tol`` (> 0) and ``max_iter`` (a positive integer)."""
    tol = positive_number(tol, name="tol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ConfigError(
            f"max_iter must be a positive integer, got {max_iter!r}", parameter="max_iter"
        )
    return tol, int(max_iter)


def _symmetric(matrix: npt.ArrayLike | pd.DataFrame) -> np.ndarray:
    A = np.array(matrix, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise DataError(f"matrix must be square, got shape {A.shape}", parameter="matrix")
    if not np.isfinite(A).all():
        raise DataError("matrix has a non-finite entry", parameter="matrix")
    scale = max(float(np.abs(A).max()), np.finfo(float).tiny)
    if np.abs(A - A.T).max() > 1e-10 * scale:
        raise DataError("matrix is not symmetric", parameter="matrix")
    return 0.5 * (A + A.T)


def is_correlation(A: np.ndarray, *, eig_tol: float | None = None) -> bool:
    """Unit diagonal and smallest eigenvalue >= -eig_tol (default: N * machine epsilon)."""
    n = A.shape[0]
    if not np.array_equal(np.diag(A), np.ones(n)):
        return False
    floor = -(eig_tol if eig_tol is not None else n * np.finfo(float).eps)
    return bool(np.linalg.eigvalsh(A)[0] >= floor)


def _psd_part(R: np.ndarray) -> np.ndarray:
    """Projection onto the PSD cone: eigenvalues clipped at 0."""
    vals, vecs = np.linalg.eigh(R)
    neg = vals < 0.0
    if not neg.any():
        return R.copy()
    # R - V_- diag(l_-) V_-' touches only the (usually few) negative directions, and written
    # as R + H H' with H = V_- sqrt(-l_-) (one syrk) it stays exactly symmetric.
    H = vecs[:, neg] * np.sqrt(-vals[neg])
    return R + H @ H.T


def project_to_correlation(
    A: np.ndarray, tol: float, max_iter: int, *, memory: int = 10
) -> np.ndarray:
    """Higham's iteration on a symmetric array (no input checks); ``A`` itself if already valid.

    Dykstra's iterates satisfy ``R_k = A + diag(d_k)`` (the unit-diagonal projection only ever
    changes the diagonal), so the whole iteration is the fixed-point map on the N-vector ``d``

        d_{k+1} = d_k + 1 - diag(P_S(A + diag(d_k))),

    whose fixed points are exactly the solutions: ``X = P_S(A + diag(d))`` with unit diagonal
    satisfies the optimality condition ``A - X in N_S(X) + {diagonal matrices}``. That map is
    accelerated with Anderson mixing of depth ``memory`` (Higham & Strabic 2016 accelerate the
    same iteration; ``memory=0`` is plain Algorithm 3.3). Iteration stops when every diagonal
    entry of ``X`` is within ``tol`` of 1.
    """
    if is_correlation(A):
        return A
    n = A.shape[0]
    R = A.copy()
    d = np.zeros(n)
    dF: list[np.ndarray] = []
    dG: list[np.ndarray] = []
    f_prev = g_prev = None
    residual = np.inf
    for _ in range(max_iter):
        R.flat[:: n + 1] = np.diag(A) + d
        X = _psd_part(R)
        f = 1.0 - np.diag(X)
        residual = float(np.abs(f).max())
        if residual <= tol:
            break
        g = d + f
        if memory and f_prev is not None:
            dF.append(f - f_prev)
            dG.append(g - g_prev)
            del dF[:-memory], dG[:-memory]
            gamma = np.linalg.lstsq(np.column_stack(dF), f, rcond=None)[0]
            d_next = g - np.column_stack(dG) @ gamma
        else:
            d_next = g
        f_prev, g_prev, d = f, g, d_next
    else:
        warnings.warn(
            f"nearest_correlation did not converge to tol={tol:g} in {max_iter} iterations "
            f"(largest diagonal error {residual:.2e}); returning the last iterate rescaled",
            RuntimeWarning,
            stacklevel=3,
        )
    sd = np.sqrt(np.diag(X))
    # A zero diagonal would need a zero row in a PSD X; guarded rather than divided by.
    sd[sd <= 0] = 1.0
    out = X / np.outer(sd, sd)
    out.flat[:: n + 1] = 1.0
    return out
