"""Array-in/array-out, frame-in/frame-out: unwrapping inputs and wrapping results.

Every public numerical function accepts a numpy array or a pandas object and returns the same
kind; these helpers keep that rule in one place and validate on the way in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from riskbook.errors import DataError, OptimizationError

SYMMETRY_TOL = 1e-10


class Labels(list):
    """Asset labels as a list of str that remembers the pandas Index they came from.

    Rebuilding an Index from strings costs more than many small solves (pandas infers a string
    dtype each time), so results are labelled with the original Index when there is one.
    """

    pandas_index: pd.Index

    @classmethod
    def of(cls, index: pd.Index) -> Labels:
        names = index.tolist()
        if all(isinstance(n, str) for n in names):
            out = cls(names)
            # results are labelled by symbol only: the input's index name is not carried over
            out.pandas_index = index if index.name is None else index.rename(None)
        else:
            out = cls(n if isinstance(n, str) else str(n) for n in names)
            out.pandas_index = pd.Index(list(out))
        return out

    def as_index(self) -> pd.Index:
        if not hasattr(self, "pandas_index"):  # a copy made by list operations
            self.pandas_index = pd.Index(list(self))
        return self.pandas_index


def unwrap_returns(
    returns: Any, *, allow_nan: bool = False, min_obs: int = 2, name: str = "returns"
) -> tuple[np.ndarray, list[str] | None]:
    """A T x N float array and its column labels (None for array input), validated.

    Raises
    ------
    DataError
        Fewer than ``min_obs`` rows, infinite values, or NaN when ``allow_nan`` is False; the
        message names the column (and the row's date for frame input).
    """
    labels = Labels.of(returns.columns) if isinstance(returns, pd.DataFrame) else None
    index = returns.index if isinstance(returns, pd.DataFrame) else None
    try:
        values = (
            returns.to_numpy(dtype=np.float64)
            if isinstance(returns, pd.DataFrame)
            else np.asarray(returns, dtype=np.float64)
        )
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric", parameter=name) from exc
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise DataError(f"{name} must be 2-D (observations x assets)", parameter=name)
    if values.shape[0] < min_obs:
        raise DataError(
            f"{name} has {values.shape[0]} observation(s); at least {min_obs} are needed",
            parameter=name,
        )
    bad = ~np.isfinite(values) if not allow_nan else np.isinf(values)
    if bad.any():
        r, c = (int(v[0]) for v in np.nonzero(bad))
        kind = "NaN" if np.isnan(values[r, c]) else "infinite value"
        raise DataError(
            f"{kind} in {name}",
            symbol=labels[c] if labels else f"column {c}",
            date=index[r] if index is not None else None,
            parameter=name,
            row=None if index is not None else r,
        )
    return values, labels


def wrap_matrix(values: np.ndarray, labels: list[str] | None) -> np.ndarray | pd.DataFrame:
    """An N x N result as a labelled DataFrame when the input was one."""
    if labels is None:
        return values
    index = labels.as_index() if isinstance(labels, Labels) else labels
    return pd.DataFrame(values, index=index, columns=index)


def unwrap_cov(cov: Any, *, name: str = "cov") -> tuple[np.ndarray, list[str] | None]:
    """A validated covariance: square, finite, symmetric (1e-10 relative), variances >= 0.

    Raises
    ------
    OptimizationError
        Naming what is wrong and, for labelled input, the asset.
    """
    labels = None
    if isinstance(cov, pd.DataFrame):
        labels = Labels.of(cov.columns)
        same = cov.index is cov.columns or cov.index.equals(cov.columns)
        if not same and [str(i) for i in cov.index] != labels:
            raise OptimizationError(f"{name}: row and column labels differ", parameter=name)
    try:
        S = (
            cov.to_numpy(dtype=np.float64)
            if isinstance(cov, pd.DataFrame)
            else np.asarray(cov, dtype=np.float64)
        )
    except (TypeError, ValueError) as exc:
        raise OptimizationError(f"{name} must be numeric", parameter=name) from exc
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] == 0:
        raise OptimizationError(
            f"{name} must be a non-empty square matrix, got shape {S.shape}", parameter=name
        )

    if _plainly_valid(S):
        return S, labels

    def who(i: int) -> str:
        return labels[i] if labels else f"asset {i}"

    # Something is wrong: find the first problem, in this order, and name it.
    finite = np.isfinite(S)
    if not finite.all():
        i, j = (int(v[0]) for v in np.nonzero(~finite))
        raise OptimizationError(
            f"{name} has a non-finite entry at ({who(i)}, {who(j)})", symbol=who(i), parameter=name
        )
    diag = np.diag(S)
    if (diag < 0).any():
        i = int(np.argmax(diag < 0))
        raise OptimizationError(
            f"{name} has a negative variance {diag[i]:.3g}", symbol=who(i), parameter=name
        )
    scale = max(float(np.abs(S).max()), np.finfo(float).tiny)
    asym = np.abs(S - S.T)
    if asym.max() > SYMMETRY_TOL * scale:
        i, j = np.unravel_index(int(np.argmax(asym)), S.shape)
        raise OptimizationError(
            f"{name} is not symmetric: ({who(i)}, {who(j)}) differs from its transpose by {asym[i, j]:.3g}",
            symbol=who(int(i)),
            parameter=name,
        )
    return S, labels


def _plainly_valid(S: np.ndarray) -> bool:
    """True for a finite, symmetric (within tolerance) matrix with nonnegative variances.

    One pass screens everything: ``S - S.T`` is exactly antisymmetric in floating point, so its
    largest entry is the largest asymmetry (no abs needed), and it is NaN or infinite whenever
    ``S`` has a non-finite entry. The scale is only needed when the asymmetry is not exactly
    zero. False sends the caller to the checks that name the problem.
    """
    diag = S.diagonal()
    if diag[diag.argmin()] < 0:
        return False
    d = S - S.T
    asym = float(d.flat[d.argmax()])
    if asym == 0.0:
        return True
    scale = max(float(S.flat[S.argmax()]), -float(S.flat[S.argmin()]), np.finfo(float).tiny)
    return math.isfinite(asym) and asym <= SYMMETRY_TOL * scale


def unwrap_vector(x: Any, n: int, labels: list[str] | None, *, name: str) -> np.ndarray:
    """A length-n float vector aligned to ``labels`` (a Series is re-ordered by label)."""
    if (
        isinstance(x, pd.Series)
        and isinstance(labels, Labels)
        and x.index.equals(labels.as_index())
    ):
        x = x.to_numpy()
    elif isinstance(x, pd.Series) and labels is not None:
        missing = [s for s in labels if s not in x.index]
        if missing:
            raise OptimizationError(
                f"{name} has no value for this asset", symbol=missing[0], parameter=name
            )
        x = x.reindex(labels)
    v = np.asarray(x, dtype=np.float64).ravel()
    if v.shape != (n,):
        raise OptimizationError(f"{name} has length {v.size}, expected {n}", parameter=name)
    if not np.isfinite(v).all():
        i = int(np.argmax(~np.isfinite(v)))
        raise OptimizationError(
            f"{name} has a non-finite value",
            symbol=labels[i] if labels else f"asset {i}",
            parameter=name,
        )
    return v


def wrap_weights(
    w: np.ndarray, labels: list[str] | None, name: str = "weight"
) -> np.ndarray | pd.Series:
    """Weights as a Series indexed by symbol when the input was labelled.

    The Series wraps ``w`` without a copy: pass an array that is not used elsewhere.
    """
    if labels is None:
        return w
    # No copy: every caller hands over a fresh array that nothing else holds (copying the 20
    # weights costs a tenth of a small solve under pandas 3).
    return pd.Series(
        w,
        index=labels.as_index() if isinstance(labels, Labels) else labels,
        name=name,
        copy=False,
    )
