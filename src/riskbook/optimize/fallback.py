"""The fallback ladder of seed 003: HRP -> ERC -> inverse volatility -> 1/N.

Each rung runs on the covariance; a rung that raises, or whose weights fail verification (finite,
non-negative, summing to one, one per asset), is recorded with its reason and the next rung
runs. Rungs that rely on the covariance being a covariance (HRP, ERC, NCO, the QP optimizers)
are skipped with a reason when it is not positive semidefinite. Equal weight reads only the
number of assets, so a ladder ending with it always returns weights for a matrix of known size,
even one full of NaN. Nothing returns NaN or None: it returns verified weights or raises.

Examples
--------
>>> import numpy as np
>>> from riskbook.optimize.fallback import optimize_with_fallback
>>> result = optimize_with_fallback(np.full((3, 3), np.nan))
>>> result.method, np.round(result.weights, 4)
('equal_weight', array([0.3333, 0.3333, 0.3333]))
>>> [method for method, _ in result.failures]
['hrp', 'risk_parity', 'inverse_volatility']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
from scipy.linalg import lapack

from riskbook._labels import unwrap_vector, wrap_weights
from riskbook.errors import OptimizationError
from riskbook.optimize._fast import absmax, all_finite, vmax, vmin
from riskbook.optimize.hrp import hrp
from riskbook.optimize.risk_parity import risk_parity
from riskbook.optimize.simple import (
    _size,
    _size_and_labels,
    equal_weight,
    inverse_variance,
    inverse_volatility,
)

__all__ = [
    "DEFAULT_LADDER",
    "OPTIMIZERS",
    "FallbackResult",
    "optimize_with_fallback",
    "resolve_optimizer",
]

#: Seed 003's production ladder.
DEFAULT_LADDER = ("hrp", "risk_parity", "inverse_volatility", "equal_weight")

_LOCAL: dict[str, Callable[..., Any]] = {
    "equal_weight": equal_weight,
    "inverse_variance": inverse_variance,
    "inverse_volatility": inverse_volatility,
    "hrp": hrp,
    "risk_parity": risk_parity,
}
# Written in sibling modules, looked up on riskbook.optimize only when asked for, so this
# module works whether or not they exist yet (and nco, which imports this one, stays acyclic).
_DEFERRED = frozenset({"nco", "min_variance", "max_diversification"})
_NEEDS_PSD = frozenset({"hrp", "risk_parity", "nco", "min_variance", "max_diversification"})

#: Every optimizer name a ladder (or ``nco``'s ``intra`` / ``inter``) may use.
OPTIMIZERS = tuple(sorted(_LOCAL.keys() | _DEFERRED))

# Weights this far below zero are rounding, set to zero; further below, the rung failed.
_NEG_TOL = 1e-10
_SUM_TOL = 1e-8
# Ridge, relative to the mean variance, under which a singular PSD matrix still factorises.
_PSD_RIDGE = 1e-10


@dataclass(frozen=True)
class FallbackResult:
    """Outcome of :func:`optimize_with_fallback`.

    Attributes
    ----------
    weights
        Verified weights (ndarray, or Series indexed by symbol for labelled input).
    method
        Name of the rung that produced them (a callable's ``__name__``).
    failures
        ``(method, reason)`` for every earlier rung, in ladder order.
    """

    weights: np.ndarray | pd.Series
    method: str
    failures: tuple[tuple[str, str], ...]


def resolve_optimizer(name: str) -> Callable[..., Any]:
    """The riskbook optimizer called ``name`` (see ``OPTIMIZERS``).

    Raises
    ------
    OptimizationError
        Unknown name, or an optimizer that is not part of this build yet (``parameter="method"``).

    Examples
    --------
    >>> resolve_optimizer("hrp").__name__
    'hrp'
    """
    if name in _LOCAL:
        return _LOCAL[name]
    if name not in _DEFERRED:
        raise OptimizationError(
            f"unknown optimizer {name!r}; expected one of {list(OPTIMIZERS)}", parameter="method"
        )
    if name == "nco":
        from riskbook.optimize.nco import nco

        return nco
    import riskbook.optimize as package

    found = getattr(package, name, None)
    if isinstance(found, ModuleType):  # the submodule, when the package does not re-export
        found = getattr(found, name, None)
    if not callable(found):
        raise OptimizationError(
            f"optimizer {name!r} is not available in this build of riskbook.optimize",
            parameter="method",
        )
    return found


def optimize_with_fallback(
    cov: Any,
    ladder: Sequence[str | Callable[..., Any]] = DEFAULT_LADDER,
    *,
    check_psd: bool = True,
    **options: Mapping[str, Any],
) -> FallbackResult:
    """Weights from the first rung of ``ladder`` that succeeds and passes verification.

    Parameters
    ----------
    cov
        Covariance matrix, ndarray or labelled DataFrame. Its values may be anything (NaN,
        singular, not PSD): only its shape must be square.
    ladder
        Optimizer names (see ``OPTIMIZERS``) or callables ``f(cov, **kwargs) -> weights``, tried
        in order.
    check_psd
        Skip the rungs that need a positive semidefinite covariance (hrp, risk_parity, nco,
        min_variance, max_diversification) when a Cholesky factorisation of
        ``cov + 1e-10 * mean(diag) * I`` fails. Costs one O(N^3) factorisation.
    **options
        Keyword arguments for a named rung, keyed by its name, e.g.
        ``hrp={"linkage": "ward"}``.

    Returns
    -------
    FallbackResult
        The weights, the method that produced them, and why each earlier rung failed.

    Raises
    ------
    OptimizationError
        A matrix that is not square (``cov``), an empty ladder or an unknown rung (``ladder``),
        options for a method not in the ladder or not a mapping, or every rung failing (only
        possible for a ladder without ``equal_weight``).

    Examples
    --------
    >>> import numpy as np
    >>> def broken(cov):
    ...     raise RuntimeError("solver crashed")
    >>> result = optimize_with_fallback(np.diag([0.01, 0.04]), ladder=(broken, "inverse_variance"))
    >>> result.method, np.round(result.weights, 4), result.failures
    ('inverse_variance', array([0.8, 0.2]), (('broken', 'RuntimeError: solver crashed'),))
    """
    if not isinstance(cov, pd.DataFrame) and len(np.shape(cov)) != 2:
        raise OptimizationError("cov must be a square matrix", parameter="cov")
    n = _size(cov)
    columns = cov.columns if isinstance(cov, pd.DataFrame) else None
    # The labels are only needed to re-label weights or to name an asset in a failure; for
    # labelled input they cost as much as a small HRP, so they are built on first use.
    labels = _LazyLabels(cov)
    rungs = _check_ladder(ladder)
    _check_options(options, rungs)
    psd = _PsdCheck(cov) if check_psd else None

    failures: list[tuple[str, str]] = []
    for rung in rungs:
        name = rung if isinstance(rung, str) else getattr(rung, "__name__", repr(rung))
        try:
            if psd is not None and isinstance(rung, str) and rung in _NEEDS_PSD:
                problem = psd.problem()
                if problem:
                    failures.append((name, problem))
                    continue
            fn = resolve_optimizer(rung) if isinstance(rung, str) else rung
            kwargs = options.get(rung, {}) if isinstance(rung, str) else {}
            raw = fn(cov, **kwargs)
            w = _verified(raw, n, labels, columns)
        except Exception as exc:  # any failure of a rung moves down the ladder, with its reason
            failures.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        own = isinstance(rung, str) and isinstance(raw, pd.Series)
        if own and raw.index.equals(columns) and np.array_equal(raw.to_numpy(), w):
            # A riskbook optimizer's own labelled result, unchanged by verification: rebuilding
            # the same Series would only cost time.
            return FallbackResult(raw, name, tuple(failures))
        return FallbackResult(wrap_weights(w, labels()), name, tuple(failures))
    detail = "; ".join(f"{m}: {r}" for m, r in failures)
    raise OptimizationError(
        f"every rung of the fallback ladder failed ({detail})", parameter="ladder"
    )


def _check_ladder(ladder: Any) -> list[str | Callable[..., Any]]:
    rungs = [ladder] if isinstance(ladder, str) or callable(ladder) else list(ladder)
    if not rungs:
        raise OptimizationError("the ladder is empty", parameter="ladder")
    for rung in rungs:
        if isinstance(rung, str):
            if rung not in OPTIMIZERS:
                raise OptimizationError(
                    f"unknown ladder method {rung!r}; expected one of {list(OPTIMIZERS)} or a "
                    "callable",
                    parameter="ladder",
                )
        elif not callable(rung):
            raise OptimizationError(
                f"ladder entries must be names or callables, got {type(rung).__name__}",
                parameter="ladder",
            )
    return rungs


def _check_options(options: Mapping[str, Any], rungs: list[str | Callable[..., Any]]) -> None:
    names = {r for r in rungs if isinstance(r, str)}
    for key, value in options.items():
        if key not in names:
            raise OptimizationError(
                f"options given for {key!r}, which is not a named rung of the ladder",
                parameter=key,
            )
        if not isinstance(value, Mapping):
            raise OptimizationError(
                f"options for {key!r} must be a mapping of keyword arguments", parameter=key
            )


class _LazyLabels:
    """The input's labels (None for an array), worked out on the first call only."""

    def __init__(self, cov: Any) -> None:
        self._cov = cov
        self._done = False
        self._labels: list[str] | None = None

    def __call__(self) -> list[str] | None:
        if not self._done:
            self._labels = _size_and_labels(self._cov)[1]
            self._done = True
        return self._labels


def _verified(raw: Any, n: int, labels: _LazyLabels, columns: pd.Index | None) -> np.ndarray:
    """The weights as a float vector, or an OptimizationError saying what is wrong with them."""
    if raw is None:
        raise OptimizationError("the optimizer returned None", parameter="weights")
    if isinstance(raw, pd.Series) and columns is not None and raw.index.equals(columns):
        raw = raw.to_numpy()  # already aligned: skip the label-by-label reindex
    if (
        isinstance(raw, np.ndarray)
        and raw.dtype == np.float64
        and raw.shape == (n,)
        and all_finite(raw)
    ):
        # What unwrap_vector would return; it (and the labels) only matter when something is off
        w = raw.astype(np.float64)
    else:
        w = unwrap_vector(raw, n, labels(), name="weights").copy()
    low = vmin(w)
    if low < -_NEG_TOL:
        raise OptimizationError(f"negative weight {low:.3g}", parameter="weights")
    total = float(w.sum())
    if abs(total - 1.0) > _SUM_TOL:
        raise OptimizationError(f"weights sum to {total:.12g}, not 1", parameter="weights")
    if low < 0:
        np.maximum(w, 0.0, out=w)
        w /= w.sum()
    return w


class _PsdCheck:
    """Positive semidefiniteness of the covariance, decided once and only if a rung needs it."""

    def __init__(self, cov: Any) -> None:
        self._cov = cov
        self._answer: str | None = None
        self._done = False

    def problem(self) -> str:
        if not self._done:
            self._answer = _psd_problem(self._cov)
            self._done = True
        return self._answer or ""


def _psd_problem(cov: Any) -> str | None:
    """Why ``cov`` is not PSD, or None; values the rungs reject anyway are left to them."""
    try:
        S = (
            cov.to_numpy(dtype=np.float64)
            if isinstance(cov, pd.DataFrame)
            else np.asarray(cov, dtype=np.float64)
        )
    except (TypeError, ValueError):
        return None
    # S - S.T is exactly antisymmetric, so its max is the largest asymmetry, and it is NaN or
    # infinite whenever S has a non-finite entry: one pass screens both.
    asym = vmax(S - S.T)
    if not math.isfinite(asym) or asym > 1e-10 * absmax(S):
        return None
    n = S.shape[0]
    scale = float(S.diagonal().sum()) / n  # the mean variance
    if not scale > 0:
        return None
    ridged = S.copy()
    ridged.ravel()[:: n + 1] += _PSD_RIDGE * scale
    # LAPACK directly: np.linalg.cholesky adds ~10 us of wrapping at N = 20.
    _, info = lapack.dpotrf(ridged, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        low = float(np.linalg.eigvalsh(S)[0])
        return (
            "OptimizationError: cov is not positive semidefinite (smallest eigenvalue "
            f"{low:.3g}, mean variance {scale:.3g})"
        )
    return None
