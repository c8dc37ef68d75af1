"""Hierarchical Risk Parity (Lopez de Prado 2016), with the bisection fully vectorised.

Three steps: a hierarchical clustering of the correlation distance ``sqrt((1 - rho) / 2)``, the
quasi-diagonal order of its leaves, and a recursive bisection of that ordered list in which each
half gets a share inversely proportional to the variance of its inverse-variance portfolio.

Conventions (see ``shared/notes/anchors.md``): by default the linkage runs on the condensed
distances, as PyPortfolioOpt, skfolio and Riskfolio-Lib do; ``distance_of_distances=True``
clusters on the Euclidean distance between columns of the distance matrix, as the paper's own
code does (it hands the square matrix to ``scipy.cluster.hierarchy.linkage``). The bisection
splits the ordered list at ``len // 2``, not along the dendrogram, as in the paper.

Speed: every cluster the bisection visits is a contiguous run of the ordered list, and which
runs depends on N alone (cached per N). The cluster variances ``v = u' S_C u / (1'u)^2``
(``u = 1 / diag``) all come from one table of running sums ``G[k, r] = sum_{l < k} u_l
S[o_l, r]`` built in O(N^2): the inner sum of row ``r`` over a cluster ``[a, b)`` is
``G[b, r] - G[a, r]``. Since no variance depends on a weight, every level is computed at once:
O(N log N) gathers in about twenty numpy calls whatever N, and no per-cluster Python work. The
weights are the column products of a (levels x N) table of split factors. At N = 1000 the input
validation, the distances, scipy's linkage and the running sums take comparable shares.

Examples
--------
>>> import numpy as np
>>> from riskbook.optimize.hrp import hrp
>>> cov = np.array([[0.04, 0.018, 0.0], [0.018, 0.09, 0.0], [0.0, 0.0, 0.01]])
>>> np.round(hrp(cov), 4)
array([0.1526, 0.0678, 0.7795])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.cluster import hierarchy as sch
from scipy.spatial.distance import pdist, squareform

from riskbook._labels import unwrap_cov, wrap_weights
from riskbook.errors import OptimizationError
from riskbook.optimize._fast import any_true, vmax, vmin

__all__ = ["LINKAGE_METHODS", "hrp", "quasi_diagonal_order"]

#: The linkage methods of ``scipy.cluster.hierarchy.linkage``.
LINKAGE_METHODS = frozenset(
    {"single", "complete", "average", "weighted", "centroid", "median", "ward"}
)

# A correlation further than this outside [-1, 1] cannot come from a PSD matrix.
_CORR_TOL = 1e-8
# From this size on, O(N^2) passes run row by row (see _running_sums) instead of vectorised.
_ROW_LOOP_MIN = 512
# A cluster variance below -_NEG_VAR_TOL * max variance is not rounding (np.finfo costs
# microseconds per call, so the constant is computed once).
_NEG_VAR_TOL = 64 * float(np.finfo(float).eps)


def hrp(
    cov: Any,
    *,
    linkage: str = "single",
    optimal_ordering: bool = False,
    distance_of_distances: bool = False,
) -> np.ndarray | pd.Series:
    """Hierarchical Risk Parity weights of a covariance matrix.

    Parameters
    ----------
    cov
        Covariance matrix (ndarray or labelled DataFrame). Singular is fine; every asset needs a
        positive variance.
    linkage
        Any ``scipy.cluster.hierarchy.linkage`` method: ``"single"`` (the paper's and the
        default), ``"complete"``, ``"average"``, ``"weighted"``, ``"centroid"``, ``"median"``,
        ``"ward"``.
    optimal_ordering
        Reorder the leaves so that neighbouring leaves are as close as possible (scipy's optimal
        leaf ordering, as skfolio's default). Slower: O(N^3) in the worst case.
    distance_of_distances
        Cluster on the Euclidean distance between the columns of the distance matrix, as in the
        paper's published code, instead of on the distances themselves. O(N^3): seconds at
        N = 1000.

    Returns
    -------
    ndarray or Series
        Long-only weights summing to one, in the input's order; a Series indexed by symbol for a
        labelled DataFrame.

    Raises
    ------
    OptimizationError
        Invalid covariance (``cov``), an asset with zero variance (named), an unknown
        ``linkage``, or a matrix that is visibly not positive semidefinite (a correlation
        outside [-1, 1] or a cluster with a negative variance).

    Examples
    --------
    Two correlated assets and an independent third: the pair is a cluster and shares one half.

    >>> import numpy as np
    >>> cov = np.array([[0.04, 0.018, 0.0], [0.018, 0.09, 0.0], [0.0, 0.0, 0.01]])
    >>> np.round(hrp(cov, linkage="average"), 4)
    array([0.1526, 0.0678, 0.7795])
    """
    _check_linkage(linkage)
    S, labels = unwrap_cov(cov)
    var = S.diagonal().copy()
    _require_positive(var, labels)
    n = var.size
    if n == 1:
        return wrap_weights(np.ones(1), labels)
    order = _leaf_order(S, var, labels, linkage, optimal_ordering, distance_of_distances)
    w = np.empty(n)
    w[order] = _bisect(S, var, order, labels)
    return wrap_weights(w, labels)


def quasi_diagonal_order(
    cov: Any,
    *,
    linkage: str = "single",
    optimal_ordering: bool = False,
    distance_of_distances: bool = False,
) -> np.ndarray:
    """Leaf order of the correlation-distance dendrogram (the paper's quasi-diagonalisation).

    Parameters
    ----------
    cov
        Covariance matrix, ndarray or labelled DataFrame.
    linkage, optimal_ordering, distance_of_distances
        As in :func:`hrp`.

    Returns
    -------
    ndarray
        Positions ``0..N-1`` in dendrogram order, left child first (as scipy's
        ``leaves_list``).

    Raises
    ------
    OptimizationError
        As :func:`hrp`.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.array([[1.0, 0.0, 0.9], [0.0, 1.0, 0.0], [0.9, 0.0, 1.0]])
    >>> quasi_diagonal_order(cov).tolist()
    [1, 0, 2]
    """
    _check_linkage(linkage)
    S, labels = unwrap_cov(cov)
    var = np.diag(S).copy()
    _require_positive(var, labels)
    return _leaf_order(S, var, labels, linkage, optimal_ordering, distance_of_distances)


def _check_linkage(linkage: str) -> None:
    if linkage not in LINKAGE_METHODS:
        raise OptimizationError(
            f"unknown linkage {linkage!r}; expected one of {sorted(LINKAGE_METHODS)}",
            parameter="linkage",
        )


def _leaf_order(
    S: np.ndarray,
    var: np.ndarray,
    labels: list[str] | None,
    linkage: str,
    optimal_ordering: bool,
    distance_of_distances: bool,
) -> np.ndarray:
    n = var.size
    if n == 1:
        return np.zeros(1, dtype=np.intp)
    inv_sd = 1.0 / np.sqrt(var)
    if distance_of_distances:
        corr = S * inv_sd[:, None]
        corr *= inv_sd
        # The paper's features are whole columns of the distance matrix, whose diagonal is an
        # exact zero by definition, not the rounding residue of S_ii / sd_i^2.
        np.fill_diagonal(corr, 1.0)
        _check_correlations(squareform(corr, checks=False), n, labels)
        condensed = pdist(_angular(corr), "euclidean")
    else:
        condensed = _condensed_correlation(S, inv_sd)
        _check_correlations(condensed, n, labels)
        _angular(condensed)
    Z = sch.linkage(condensed, method=linkage, optimal_ordering=optimal_ordering)
    return _leaves(Z, n)


def _condensed_correlation(S: np.ndarray, inv_sd: np.ndarray) -> np.ndarray:
    """Upper triangle of the correlation matrix, row by row (scipy's condensed layout)."""
    n = inv_sd.size
    if n < _ROW_LOOP_MIN:
        corr = S * inv_sd[:, None]
        corr *= inv_sd
        return squareform(corr, checks=False)
    # Large matrices: filling the condensed vector row by row never allocates the N x N
    # correlation matrix (fresh pages cost more than the arithmetic) and rounds identically.
    y = np.empty(n * (n - 1) // 2)
    start = 0
    for i in range(n - 1):
        stop = start + n - 1 - i
        seg = y[start:stop]
        np.multiply(S[i, i + 1 :], inv_sd[i], out=seg)
        seg *= inv_sd[i + 1 :]
        start = stop
    return y


def _angular(corr: np.ndarray) -> np.ndarray:
    """``sqrt((1 - rho) / 2)`` in place, clipped to [0, 1] against rounding."""
    np.subtract(1.0, corr, out=corr)
    corr *= 0.5
    np.clip(corr, 0.0, 1.0, out=corr)
    return np.sqrt(corr, out=corr)


def _leaves(Z: np.ndarray, n: int) -> np.ndarray:
    """Pre-order leaves of a linkage matrix, left child (column 0) first.

    Same result as ``scipy.cluster.hierarchy.leaves_list``, whose linkage validation alone
    costs more than the whole HRP bisection at small N.
    """
    return leaf_layout(Z, n)[0]


def leaf_layout(Z: np.ndarray, n: int) -> tuple[np.ndarray, list[int], list[int]]:
    """Leaf order of a linkage matrix and, per node, its offset and size in that order.

    Walking down from the root, a node's leaves occupy a contiguous run starting at its offset;
    the left child (column 0) starts there and the right child after the left one's leaves.
    Nodes are numbered as scipy does: leaves ``0..n-1``, merge ``i`` is node ``n + i``.
    """
    counts = [1] * n + Z[:, 3].astype(np.intp).tolist()
    offset = [0] * (2 * n - 1)
    children = Z[::-1, :2].astype(np.intp).tolist()
    for node, (a, b) in zip(range(2 * n - 2, n - 1, -1), children, strict=True):
        first = offset[node]
        offset[a] = first
        offset[b] = first + counts[a]
    order = np.empty(n, dtype=np.intp)
    order[offset[:n]] = np.arange(n)
    return order, offset, counts


def _check_correlations(condensed: np.ndarray, n: int, labels: list[str] | None) -> None:
    """Refuse a correlation outside [-1, 1]: a 2x2 minor that no PSD matrix has."""
    if condensed.size == 0:
        return
    lo, hi = vmin(condensed), vmax(condensed)
    if lo >= -1.0 - _CORR_TOL and hi <= 1.0 + _CORR_TOL:
        return
    k = int(np.argmax(np.abs(condensed)))
    i, j = _pair_of(k, n)
    who = (labels[i], labels[j]) if labels else (f"asset {i}", f"asset {j}")
    raise OptimizationError(
        f"cov is not positive semidefinite: correlation {condensed[k]:.6g} between {who[0]} "
        f"and {who[1]}",
        symbol=who[0],
        parameter="cov",
    )


def _pair_of(k: int, n: int) -> tuple[int, int]:
    """Row and column of entry ``k`` of a condensed distance vector."""
    i = 0
    while k >= n - 1 - i:
        k -= n - 1 - i
        i += 1
    return i, i + 1 + k


@dataclass(frozen=True)
class _Plan:
    """Index arrays of every bisection level, concatenated; they depend on N only.

    Children are listed level by level, left then right; ``pos`` lists, child after child, the
    list positions each child covers. ``place`` is where a child's factor lands in a
    (levels x N) table whose column products are the weights.
    """

    c_lo: np.ndarray
    c_hi: np.ndarray
    single: np.ndarray
    starts: np.ndarray
    pos: np.ndarray
    lo_rows: np.ndarray
    hi_rows: np.ndarray
    child: np.ndarray
    place: np.ndarray
    levels: int


@lru_cache(maxsize=32)
def _plan(n: int) -> _Plan:
    lo = np.zeros(1, dtype=np.intp)
    hi = np.full(1, n, dtype=np.intp)
    c_lo_parts, c_hi_parts, level_parts = [], [], []
    level = 0
    while lo.size:
        mid = lo + (hi - lo) // 2
        c_lo = np.column_stack((lo, mid)).ravel()
        c_hi = np.column_stack((mid, hi)).ravel()
        c_lo_parts.append(c_lo)
        c_hi_parts.append(c_hi)
        level_parts.append(np.full(c_lo.size, level, dtype=np.intp))
        keep = c_hi - c_lo > 1
        lo, hi = c_lo[keep], c_hi[keep]
        level += 1
    c_lo = np.concatenate(c_lo_parts)
    c_hi = np.concatenate(c_hi_parts)
    child_level = np.concatenate(level_parts)
    sizes = c_hi - c_lo
    starts = np.zeros(sizes.size, dtype=np.intp)
    np.cumsum(sizes[:-1], out=starts[1:])
    child = np.repeat(np.arange(sizes.size), sizes)
    pos = np.arange(child.size) - starts[child] + c_lo[child]
    plan = _Plan(
        c_lo=c_lo,
        c_hi=c_hi,
        single=sizes == 1,
        starts=starts,
        pos=pos,
        lo_rows=c_lo[child] * n,
        hi_rows=c_hi[child] * n,
        child=child,
        place=child_level[child] * n + pos,
        levels=level,
    )
    for arr in vars(plan).values():
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    return plan


def _bisect(
    S: np.ndarray, var: np.ndarray, order: np.ndarray, labels: list[str] | None
) -> np.ndarray:
    """Recursive bisection of the ordered list; returns the weights in that order.

    The cluster variances never depend on the weights, so every level is computed at once.
    """
    n = order.size
    p = _plan(n)
    ordered_var = var[order]
    u = 1.0 / ordered_var
    flat = _running_sums(S, order, u).ravel()
    mass = np.zeros(n + 1)
    np.cumsum(u, out=mass[1:])

    rows = order[p.pos]
    inner = flat[p.hi_rows + rows] - flat[p.lo_rows + rows]
    quad = np.add.reduceat(u[p.pos] * inner, p.starts)
    total = mass[p.c_hi] - mass[p.c_lo]
    v = quad / (total * total)
    # A one-asset cluster's variance is its own, exactly, as in the reference code.
    v[p.single] = ordered_var[p.c_lo[p.single]]
    _check_cluster_variances(v, p.c_lo, order, vmax(var), labels)

    left, right = v[0::2], v[1::2]
    alpha = 1.0 - left / (left + right)
    factor = np.empty(v.size)
    factor[0::2] = alpha
    factor[1::2] = 1.0 - alpha
    table = np.ones(p.levels * n)
    table[p.place] = factor[p.child]
    return table.reshape(p.levels, n).prod(axis=0)


def _running_sums(S: np.ndarray, order: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``G[k, r] = sum_{l < k} u_l S[o_l, r]``, shape (N + 1, N).

    S is symmetric, so column r of G runs along row r of the permuted matrix; rows of S are
    gathered whole (contiguous copies).
    """
    n = order.size
    G = np.empty((n + 1, n))
    G[0] = 0.0
    if n < _ROW_LOOP_MIN:
        np.multiply(S[order], u[:, None], out=G[1:])
        np.cumsum(G, axis=0, out=G)
        return G
    # One pass, row by row, stays in cache; the sums are the same, bit for bit.
    for k in range(n):
        row = G[k + 1]
        np.multiply(S[order[k]], u[k], out=row)
        row += G[k]
    return G


def _check_cluster_variances(
    v: np.ndarray, c_lo: np.ndarray, order: np.ndarray, scale: float, labels: list[str] | None
) -> None:
    """A negative cluster variance means a non-PSD matrix; two zero ones leave no split."""
    bad = v < -_NEG_VAR_TOL * scale
    np.maximum(v, 0.0, out=v)
    pair_zero = (v[0::2] + v[1::2]) <= 0
    if not any_true(bad) and not any_true(pair_zero):
        return
    c = int(np.argmax(bad)) if bad.any() else 2 * int(np.argmax(pair_zero))
    i = int(order[c_lo[c]])
    what = (
        "a cluster variance is negative: cov is not positive semidefinite"
        if bad.any()
        else "two sibling clusters both have zero variance; the split is undefined"
    )
    raise OptimizationError(what, symbol=labels[i] if labels else f"asset {i}", parameter="cov")


def _require_positive(var: np.ndarray, labels: list[str] | None) -> None:
    if not vmin(var) > 0:
        i = int(np.argmin(var))
        raise OptimizationError(
            "asset has zero variance; its correlations and inverse-variance weight are undefined",
            symbol=labels[i] if labels else f"asset {i}",
            parameter="cov",
        )
