"""Reductions of small arrays without numpy's per-call wrapper cost.

At N = 20, ``x.max()`` or ``mask.any()`` cost 1.5-2.5 us each in numpy's Python-level reduction
wrappers, more than the arithmetic, and a solve makes dozens of them; ``argmax``, ``argmin`` and
``count_nonzero`` go straight to C and cost a fifth of that. These helpers keep numpy's
semantics: NaN propagates (``argmax`` / ``argmin`` stop at the first NaN), and an empty array
gives ``initial``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["absmax", "all_finite", "any_true", "vmax", "vmin"]


def vmax(x: np.ndarray, initial: float = -np.inf) -> float:
    """``max(initial, max(x))`` as a float; NaN if ``x`` holds a NaN."""
    if x.size == 0:
        return initial
    v = float(x.flat[x.argmax()])
    return initial if v < initial else v


def vmin(x: np.ndarray, initial: float = np.inf) -> float:
    """``min(initial, min(x))`` as a float; NaN if ``x`` holds a NaN."""
    if x.size == 0:
        return initial
    v = float(x.flat[x.argmin()])
    return initial if v > initial else v


def absmax(x: np.ndarray) -> float:
    """Largest ``|x_i|`` (0.0 for an empty array); NaN if ``x`` holds a NaN."""
    return vmax(np.abs(x), 0.0)


def any_true(mask: np.ndarray) -> bool:
    """``mask.any()`` for a boolean (or numeric: nonzero) array."""
    return np.count_nonzero(mask) > 0


def all_finite(x: np.ndarray) -> bool:
    """``np.isfinite(x).all()``."""
    return np.count_nonzero(np.isfinite(x)) == x.size
