"""Nested Clustered Optimization (Lopez de Prado 2019; Machine Learning for Asset Managers ch. 7).

Cluster the assets on their correlations, optimise inside each cluster, collapse every cluster
to one synthetic asset (its intra-cluster portfolio), optimise across those, and multiply. The
error of an unstable optimizer stays inside a cluster instead of spreading across the book.

Clustering (deterministic, documented deviation from the book): the book runs k-means, with
several random restarts, on the rows of the correlation distance matrix
``D = sqrt((1 - rho) / 2)`` and keeps the number of clusters with the best silhouette t-stat.
Here the same feature space (rows of ``D``, compared by Euclidean distance) is clustered with
Ward's linkage, the hierarchical form of the k-means objective, so the result never depends on a
seed; the number of clusters ``k`` in ``2..max_clusters`` maximises the mean silhouette
coefficient (Rousseeuw 1987; ``sklearn.metrics.silhouette_score``), computed here in numpy,
smallest ``k`` on ties. One cluster is only chosen when asked for or when ``N <= 2``.

Examples
--------
>>> import numpy as np
>>> from riskbook.optimize.nco import correlation_clusters
>>> block = np.full((3, 3), 0.8) + 0.2 * np.eye(3)
>>> corr = np.block([[block, np.zeros((3, 3))], [np.zeros((3, 3)), block]])
>>> correlation_clusters(corr).tolist()
[0, 0, 0, 1, 1, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from scipy.cluster import hierarchy as sch
from scipy.linalg import lapack
from scipy.spatial.distance import squareform

from riskbook._labels import unwrap_cov, unwrap_vector, wrap_weights
from riskbook.errors import OptimizationError
from riskbook.optimize._fast import all_finite, any_true, vmin
from riskbook.optimize.fallback import resolve_optimizer
from riskbook.optimize.hrp import leaf_layout

__all__ = ["correlation_clusters", "nco", "silhouette_score"]

#: Default upper bound on the number of clusters tried (the book's ``maxNumClusters`` default).
MAX_CLUSTERS = 10

Optimizer = str | Callable[..., Any] | None

# Up to this size the closed-form intra weights come from one block-diagonal solve.
_BLOCK_SOLVE_MAX_N = 256
# Smallest share of an asset's variance not explained by the others (see _solve_pd).
_PIVOT_TOL = 1e-12


def correlation_clusters(
    cov: Any, *, n_clusters: int | None = None, max_clusters: int | None = None
) -> np.ndarray | pd.Series:
    """Cluster labels of the assets from their correlations.

    Parameters
    ----------
    cov
        Covariance (or correlation) matrix, ndarray or labelled DataFrame.
    n_clusters
        Number of clusters; ``None`` chooses it by the mean silhouette coefficient.
    max_clusters
        Largest number of clusters tried when ``n_clusters`` is None; default
        ``min(10, N - 1)``.

    Returns
    -------
    ndarray or Series
        Integer labels ``0..k-1``, numbered in order of first appearance; a Series indexed by
        symbol for labelled input.

    Raises
    ------
    OptimizationError
        Invalid covariance, a zero-variance asset, or ``n_clusters`` / ``max_clusters`` out of
        range (named).

    Examples
    --------
    >>> import numpy as np
    >>> block = np.full((2, 2), 0.9) + 0.1 * np.eye(2)
    >>> corr = np.kron(np.eye(3), block)
    >>> correlation_clusters(corr).tolist()
    [0, 0, 1, 1, 2, 2]
    >>> correlation_clusters(corr, n_clusters=1).tolist()
    [0, 0, 0, 0, 0, 0]
    """
    S, labels = unwrap_cov(cov)
    found = _clusters(S, labels, n_clusters, max_clusters)
    if labels is None:
        return found
    return pd.Series(found, index=labels, name="cluster")


def nco(
    cov: Any,
    mu: Any = None,
    *,
    n_clusters: int | None = None,
    max_clusters: int | None = None,
    intra: Optimizer = None,
    inter: Optimizer = None,
) -> np.ndarray | pd.Series:
    """Nested clustered optimization weights.

    Parameters
    ----------
    cov
        Covariance matrix, ndarray or labelled DataFrame.
    mu
        Expected returns (aligned by symbol if a Series); only the default optimizers use it.
    n_clusters, max_clusters
        As in :func:`correlation_clusters`.
    intra, inter
        Optimizer inside each cluster and across clusters. ``None`` (default): the closed-form
        minimum variance portfolio with budget one, ``S^-1 1 / 1'S^-1 1``, or with ``mu`` the
        closed-form maximum Sharpe portfolio ``S^-1 mu / 1'S^-1 mu``; both may be long-short
        and need a positive definite (sub-)covariance. A string names a riskbook optimizer
        (``"hrp"``, ``"risk_parity"``, ``"inverse_volatility"``, ``"min_variance"``, ...); a
        callable is called as ``f(cov) -> weights`` on an ndarray.

    Returns
    -------
    ndarray or Series
        Weights summing to one (negative entries possible with the closed forms).

    Raises
    ------
    OptimizationError
        Invalid input (named parameter); a singular cluster covariance with a closed form; a
        non-positive ``1'S^-1 mu`` (no budget-one maximum Sharpe portfolio); an optimizer whose
        weights are not finite or not of the cluster's size.

    Examples
    --------
    Two independent blocks: with the closed forms, NCO equals the global minimum variance.

    >>> import numpy as np
    >>> block = np.array([[0.04, 0.03], [0.03, 0.09]])
    >>> cov = np.kron(np.eye(2), block)
    >>> np.round(nco(cov), 4)
    array([0.4286, 0.0714, 0.4286, 0.0714])
    >>> x = np.linalg.solve(cov, np.ones(4))
    >>> np.round(x / x.sum(), 4)
    array([0.4286, 0.0714, 0.4286, 0.0714])
    >>> np.round(nco(cov, intra="risk_parity", inter="equal_weight"), 4)
    array([0.3, 0.2, 0.3, 0.2])
    """
    S, labels = unwrap_cov(cov)
    n = S.shape[0]
    m = None if mu is None else unwrap_vector(mu, n, labels, name="mu")
    intra_fn = _optimizer(intra, "intra")
    inter_fn = _optimizer(inter, "inter")
    found = _clusters(S, labels, n_clusters, max_clusters)
    k = int(found.max()) + 1

    W = np.zeros((n, k))
    inner = (
        _closed_form_blocks(S, m, found) if intra_fn is None and n <= _BLOCK_SOLVE_MAX_N else None
    )
    if inner is not None:
        W[np.arange(n), found] = inner
    else:
        for c in range(k):
            idx = np.flatnonzero(found == c)
            sub_mu = None if m is None else m[idx]
            W[idx, c] = _run(intra_fn, S[idx][:, idx], sub_mu, idx.size, "intra", labels, idx)
    reduced = W.T @ S @ W
    reduced = 0.5 * (reduced + reduced.T)
    reduced_mu = None if m is None else W.T @ m
    across = _run(inter_fn, reduced, reduced_mu, k, "inter", None, np.arange(k))
    return wrap_weights(W @ across, labels)


def _optimizer(spec: Optimizer, name: str) -> Callable[..., Any] | None:
    """None stays None (closed form); names resolve to riskbook optimizers."""
    if spec is None or callable(spec):
        return spec
    if isinstance(spec, str):
        try:
            return resolve_optimizer(spec)
        except OptimizationError as exc:
            raise OptimizationError(exc.message, parameter=name) from exc
    raise OptimizationError(
        f"{name} must be None, an optimizer name or a callable, got {type(spec).__name__}",
        parameter=name,
    )


def _run(
    fn: Callable[..., Any] | None,
    S: np.ndarray,
    mu: np.ndarray | None,
    size: int,
    stage: str,
    labels: list[str] | None,
    idx: np.ndarray,
) -> np.ndarray:
    """Weights of one sub-problem, checked for size and finiteness."""
    if size == 1:
        return np.ones(1)
    if fn is None:
        return _closed_form(S, mu, stage, labels, idx)
    w = np.asarray(fn(S), dtype=np.float64).ravel()
    if w.shape != (size,) or not np.isfinite(w).all():
        raise OptimizationError(
            f"the {stage} optimizer returned {w.size} weight(s), not {size} finite ones",
            parameter=stage,
        )
    return w


def _solve_pd(A: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """``A^-1 v`` by Cholesky, or None when ``A`` is not (numerically) positive definite.

    The squared pivot of asset i over ``A_ii`` is the share of its variance not explained by the
    assets before it; below 1e-12 the asset is a linear combination of the others and the
    inverse is rounding noise, even when the factorisation formally succeeds.
    """
    factor, x, info = lapack.dposv(A, v)
    if info != 0:
        return None
    if any_true(factor.diagonal() ** 2 < _PIVOT_TOL * A.diagonal()):
        return None
    return x


def _closed_form_blocks(
    S: np.ndarray, mu: np.ndarray | None, found: np.ndarray
) -> np.ndarray | None:
    """Every cluster's closed form from one solve with the block-diagonal part of ``S``.

    Small N only (one dense factorisation instead of a Python loop over clusters). Returns None
    when some block is not positive definite or some budget is not positive, so that the
    cluster-by-cluster path runs and names the culprit.
    """
    same = found[:, None] == found[None, :]
    x = _solve_pd(np.where(same, S, 0.0), np.ones(found.size) if mu is None else mu)
    if x is None:
        return None
    totals = np.bincount(found, weights=x)
    # A one-asset cluster is that asset, whatever the sign of its expected return.
    single = np.bincount(found)[found] == 1
    totals[found[single]] = x[single]
    if not vmin(totals) > 0 or not all_finite(x):
        return None
    return x / totals[found]


def _closed_form(
    S: np.ndarray, mu: np.ndarray | None, stage: str, labels: list[str] | None, idx: np.ndarray
) -> np.ndarray:
    """``S^-1 v / 1'S^-1 v`` with ``v = 1`` (minimum variance) or ``v = mu`` (max Sharpe)."""
    first = labels[idx[0]] if labels else f"{'asset' if stage == 'intra' else 'cluster'} {idx[0]}"
    x = _solve_pd(S, np.ones(S.shape[0]) if mu is None else mu)
    if x is None:
        raise OptimizationError(
            f"the {stage} covariance is not positive definite; the closed-form optimizer needs "
            "an invertible matrix (use a shrunk covariance or another optimizer)",
            symbol=first,
            parameter=stage,
        )
    total = float(x.sum())
    if not total > 0 or not all_finite(x):
        raise OptimizationError(
            f"1'S^-1 mu = {total:.3g} is not positive: no maximum Sharpe portfolio with budget "
            "one exists for this (sub-)problem",
            symbol=first,
            parameter=stage,
        )
    return x / total


def _clusters(
    S: np.ndarray, labels: list[str] | None, n_clusters: int | None, max_clusters: int | None
) -> np.ndarray:
    n = S.shape[0]
    var = S.diagonal()
    if not vmin(var) > 0:
        i = int(np.argmin(var))
        raise OptimizationError(
            "asset has zero variance; its correlations are undefined",
            symbol=labels[i] if labels else f"asset {i}",
            parameter="cov",
        )
    if n_clusters is not None and not (
        isinstance(n_clusters, int | np.integer) and 1 <= n_clusters <= n
    ):
        raise OptimizationError(
            f"n_clusters must be an integer in [1, {n}], got {n_clusters!r}",
            parameter="n_clusters",
        )
    if max_clusters is not None and not (
        isinstance(max_clusters, int | np.integer) and max_clusters >= 1
    ):
        raise OptimizationError(
            f"max_clusters must be a positive integer, got {max_clusters!r}",
            parameter="max_clusters",
        )
    if n == 1 or n_clusters == 1:
        return np.zeros(n, dtype=np.intp)
    if n_clusters == n:
        return np.arange(n)
    E = _feature_distances(S, var)
    Z = sch.linkage(squareform(E, checks=False), method="ward")
    layout = leaf_layout(Z, n)
    if n_clusters is not None:
        found = np.zeros(n, dtype=np.intp)
        for found in _cuts(Z, layout, n_clusters):  # noqa: B007 - the last cut is the answer
            pass
        return _first_appearance(found)
    top = min(n - 1, MAX_CLUSTERS if max_clusters is None else int(max_clusters))
    if top < 2:  # N = 2 or max_clusters = 1: one cluster is the only candidate
        return np.zeros(n, dtype=np.intp)
    partitions = np.empty((top - 1, n), dtype=np.intp)
    for row, found in zip(partitions, _cuts(Z, layout, top), strict=True):
        row[:] = found
    # argmax keeps the first maximum: the smallest k on ties.
    return _first_appearance(partitions[int(np.argmax(_silhouettes(E, partitions)))])


def _cuts(
    Z: np.ndarray, layout: tuple[np.ndarray, list[int], list[int]], top: int
) -> Iterator[np.ndarray]:
    """Labels of the 2, 3, ..., ``top`` clusters left by undoing the last merges of the tree.

    The same partitions as ``fcluster(Z, k, "maxclust")`` for Ward's (monotone) heights without
    ties, without scipy's per-call linkage validation. Going from k - 1 to k clusters splits one
    merge: the leaves of its right child, one contiguous run of the leaf order, get a new label.
    The same array is updated in place and yielded for each k; copy it to keep one.
    """
    order, offset, counts = layout
    n = order.size
    found = np.zeros(n, dtype=np.intp)
    for k in range(2, top + 1):
        right = int(Z[n - k, 1])
        found[order[offset[right] : offset[right] + counts[right]]] = k - 1
        yield found


def _feature_distances(S: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows of the correlation distance matrix (square).

    Through the Gram matrix (one BLAS product instead of an O(N^3) loop); the rounding of the
    subtraction only matters for nearly identical rows, which cluster together either way.
    """
    inv_sd = 1.0 / np.sqrt(var)
    D = S * inv_sd[:, None]
    D *= inv_sd
    np.fill_diagonal(D, 1.0)
    # D = sqrt(clip((1 - corr) / 2, 0, 1)), in place (temporaries cost more than the math here)
    np.subtract(1.0, D, out=D)
    D *= 0.5
    np.clip(D, 0.0, 1.0, out=D)
    np.sqrt(D, out=D)
    sq = np.einsum("ij,ij->i", D, D)
    E2 = sq[:, None] + sq[None, :] - 2.0 * (D @ D.T)
    np.clip(E2, 0.0, None, out=E2)
    E = np.sqrt(E2)
    E = 0.5 * (E + E.T)
    np.fill_diagonal(E, 0.0)
    return E


def silhouette_score(distances: np.ndarray, clusters: np.ndarray) -> float:
    """Mean silhouette coefficient of a clustering, from a square distance matrix.

    ``s_i = (b_i - a_i) / max(a_i, b_i)`` with ``a_i`` the mean distance to the other members of
    its cluster and ``b_i`` the smallest mean distance to another cluster; ``s_i = 0`` for a
    singleton (as scikit-learn).

    Parameters
    ----------
    distances
        Square, symmetric distance matrix with a zero diagonal.
    clusters
        Integer labels ``0..k-1`` with ``2 <= k <= N - 1``.

    Returns
    -------
    float
        The mean of ``s_i``, in [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 0.1, 5.0, 5.2])
    >>> d = np.abs(x[:, None] - x[None, :])
    >>> round(silhouette_score(d, np.array([0, 0, 1, 1])), 4)
    0.9703
    """
    return float(_silhouettes(distances, np.asarray(clusters)[None, :])[0])


def _silhouettes(distances: np.ndarray, partitions: np.ndarray) -> np.ndarray:
    """Mean silhouette of each row of ``partitions`` (K x N labels), all at once.

    Reductions call the ufuncs directly (``np.add.reduce`` rather than ``.sum`` / ``.mean``):
    the method wrappers cost more than these small reductions.
    """
    K, n = partitions.shape
    width = int(partitions.max()) + 1
    member = (partitions[:, :, None] == np.arange(width)).astype(np.float64)
    sizes = np.add.reduce(member, axis=1)
    sums = np.matmul(distances, member)
    kk, nn = np.arange(K)[:, None], np.arange(n)[None, :]
    own = sums[kk, nn, partitions]
    own_size = sizes[kk, partitions]
    a = np.divide(own, own_size - 1.0, out=np.zeros((K, n)), where=own_size > 1)
    mean_other = np.divide(
        sums, sizes[:, None, :], out=np.full(sums.shape, np.inf), where=sizes[:, None, :] > 0
    )
    mean_other[kk, nn, partitions] = np.inf
    b = np.minimum.reduce(mean_other, axis=2)
    denom = np.maximum(a, b)
    s = np.divide(b - a, denom, out=np.zeros((K, n)), where=(denom > 0) & (own_size > 1))
    return np.add.reduce(s, axis=1) / n


def _first_appearance(raw: np.ndarray) -> np.ndarray:
    """Relabel clusters ``0..k-1`` in order of first appearance (stable, seed-free).

    ``raw`` holds small non-negative labels. Each label's first position comes from one
    ``minimum.at`` (half the cost of ``np.unique`` at small N); labels that never occur get
    position N, so they sort after every present one and leave the ranks ``0..k-1`` alone.
    """
    n = raw.size
    first = np.full(int(raw.max()) + 1, n)
    np.minimum.at(first, raw, np.arange(n))
    rank = np.empty(first.size, dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[raw]
