"""Stage 4 of seed 003: exposure caps on the vol-targeted book (per-name, per-cluster, gross, net).

The caps run in the spec's order: per-name clip, per-cluster scale, gross scale, net trim. Every
step only moves positions toward zero and never flips a sign, and every cap bounds a sum of
``|W_i|`` (or, for the net cap, is met exactly by the last step), so a later step can never undo an
earlier one: after the stage all four caps hold at once.

Examples
--------
>>> import numpy as np
>>> from riskbook.book.config import CapsConfig
>>> cfg = CapsConfig(per_name=0.3, net=0.3)
>>> w, info = apply_caps(np.array([0.4, 0.3, -0.1]), ("A", "B", "C"), cfg)
>>> np.round(w, 4).tolist(), info["clipped"], info["net_trimmed"]
([0.2, 0.2, -0.1], ['A'], ['A', 'B'])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from riskbook.book.config import CapsConfig
from riskbook.errors import ConfigError, TargetError

__all__ = ["apply_caps", "as_weight_vector"]

# A net that overshoots its cap by less than this is rounding left by the gross scale, not a
# breach worth trimming (and recording) a position for.
_NET_TOLERANCE = 1e-12


def as_weight_vector(
    weights: Any, symbols: Sequence[str] | None = None, *, name: str = "weights"
) -> np.ndarray:
    """A fresh 1-D float copy of ``weights``, checked finite and aligned with ``symbols``.

    Shared by the stage modules of ``riskbook.book`` so they refuse bad targets the same way.

    Parameters
    ----------
    weights
        Anything ``numpy.asarray`` turns into a 1-D float array.
    symbols
        When given: one unique symbol per weight.
    name
        The argument's name, used in error messages.

    Returns
    -------
    ndarray
        A copy; the caller may modify it.

    Raises
    ------
    TargetError
        Not 1-D, not numeric, a length that differs from ``symbols``, a duplicate symbol, or a
        non-finite weight (the symbol, or the position, is named).

    Examples
    --------
    >>> as_weight_vector([0.5, -0.25], ("A", "B"))
    array([ 0.5 , -0.25])
    """
    try:
        w = np.array(weights, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TargetError(f"{name} must be numeric", parameter=name) from exc
    if w.ndim != 1:
        raise TargetError(f"{name} must be 1-D, got shape {w.shape}", parameter=name)
    if symbols is not None:
        if len(symbols) != w.size:
            raise TargetError(
                f"{name} has {w.size} entries but there are {len(symbols)} symbols",
                parameter="symbols",
            )
        seen: set[str] = set()
        for symbol in symbols:
            if symbol in seen:
                raise TargetError("symbol listed twice", symbol=symbol, parameter="symbols")
            seen.add(symbol)
    bad = np.flatnonzero(~np.isfinite(w))
    if bad.size:
        i = int(bad[0])
        where = {"symbol": symbols[i]} if symbols is not None else {"position": i}
        raise TargetError(f"{name} must be finite, got {w[i]}", parameter=name, **where)
    return w


def apply_caps(
    weights: Any,
    symbols: Sequence[str],
    config: CapsConfig,
    *,
    gross_cap: float | None = None,
    per_name_cap: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Enforce the per-name, per-cluster, gross and net caps, in that order.

    1. per-name: ``W_i <- clip(W_i, -c_name, c_name)``;
    2. per-cluster, in the config's order: when ``sum |W_j|`` over a cluster's members exceeds
       its cap, those members are scaled down by one common factor (a symbol may sit in several
       clusters: scaling one cluster down only lowers the others' sums);
    3. gross: ``W <- W * min(1, G_max / sum |W_i|)``;
    4. net: when ``|sum W_i| > N_max``, the positions on the side of the net are trimmed
       largest first by water-filling: each is lowered to a common level ``L``, chosen so that
       the net lands exactly on the cap. The largest contributor is trimmed alone until it
       meets the next one, then both together, and so on; no position is cut further than
       needed, none goes below zero (no sign flip), the other side is never touched. An
       overshoot under 1e-12 is rounding from the gross scale and is left alone.

    Parameters
    ----------
    weights
        Target weights (fractions of equity) aligned with ``symbols``.
    symbols
        One unique symbol per weight.
    config
        ``CapsConfig``: ``gross``, ``net``, ``per_name`` and ``clusters``
        (``name -> (members, cap)``).
    gross_cap, per_name_cap
        Optional overrides from the capital ladder (Stage 8); the tighter of the config's cap
        and the override applies, so caps are enforced once, here.

    Returns
    -------
    weights : ndarray
        The capped weights (a new array): ``|out_i| <= |in_i|`` and no sign flips.
    info : dict
        JSON-friendly record: the caps used, ``clipped`` (names hit by the per-name cap),
        ``cluster_multipliers`` (one per cluster, 1.0 when under its cap),
        ``gross_before``/``gross_multiplier``, ``net_before``/``net_trim_level``/``net_trimmed``,
        and ``gross_after``/``net_after``.

    Raises
    ------
    ConfigError
        A negative or non-finite cap, or a cluster member that is not among ``symbols``
        (the symbol is named).
    TargetError
        Weights that are not finite, not 1-D, or not aligned with ``symbols``.

    Examples
    --------
    >>> import numpy as np
    >>> from riskbook.book.config import CapsConfig
    >>> cfg = CapsConfig(gross=1.0, net=1.0, per_name=0.5)
    >>> w, info = apply_caps(np.array([0.6, 0.3, 0.3]), ("A", "B", "C"), cfg)
    >>> np.round(w, 4).tolist(), round(info["gross_multiplier"], 4)
    ([0.4545, 0.2727, 0.2727], 0.9091)
    """
    names = tuple(symbols)
    w = as_weight_vector(weights, names)
    c_name, g_max, n_max, clusters = _resolve(names, config, gross_cap, per_name_cap)
    w, clipped, cluster_multipliers, gross_before, gross_multiplier, net_before, level, trimmed = (
        _capped(w, c_name, g_max, n_max, clusters)
    )
    info: dict[str, Any] = {
        "per_name_cap": c_name,
        "gross_cap": g_max,
        "net_cap": n_max,
        "clipped": [names[i] for i in np.flatnonzero(clipped)],
        "cluster_multipliers": cluster_multipliers,
        "gross_before": gross_before,
        "gross_multiplier": gross_multiplier,
        "net_before": net_before,
        "net_trim_level": level,
        "net_trimmed": [names[i] for i in trimmed],
        "gross_after": float(np.abs(w).sum()),
        "net_after": float(w.sum()),
    }
    return w, info


def capper(
    symbols: Sequence[str],
    config: CapsConfig,
    *,
    gross_cap: float | None = None,
    per_name_cap: float | None = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """:func:`apply_caps` with the caps resolved and checked once, for hot loops.

    The returned function takes finite weights aligned with ``symbols`` (not re-checked) and
    returns the capped weights, exactly as :func:`apply_caps` would, without the record. Stage
    3's cap-aware bisection calls it dozens of times per book.

    Examples
    --------
    >>> from riskbook.book.config import CapsConfig
    >>> cap = capper(("A", "B", "C"), CapsConfig(gross=1.0, net=1.0, per_name=0.5))
    >>> np.round(cap(np.array([0.6, 0.3, 0.3])), 4).tolist()
    [0.4545, 0.2727, 0.2727]
    """
    c_name, g_max, n_max, clusters = _resolve(tuple(symbols), config, gross_cap, per_name_cap)

    def cap(weights: np.ndarray) -> np.ndarray:
        return _capped(np.array(weights, dtype=float), c_name, g_max, n_max, clusters)[0]

    return cap


def _resolve(
    names: tuple[str, ...],
    config: CapsConfig,
    gross_cap: float | None,
    per_name_cap: float | None,
) -> tuple[float, float, float, list[tuple[str, np.ndarray, float]]]:
    c_name = _tighter(config.per_name, "caps.per_name", per_name_cap, "per_name_cap")
    g_max = _tighter(config.gross, "caps.gross", gross_cap, "gross_cap")
    return c_name, g_max, _cap(config.net, "caps.net"), _resolve_clusters(config.clusters, names)


def _capped(
    w: np.ndarray,
    c_name: float,
    g_max: float,
    n_max: float,
    clusters: list[tuple[str, np.ndarray, float]],
) -> tuple:
    """The four caps in order on ``w`` (modified in place), with what each did."""
    clipped = np.abs(w) > c_name
    np.clip(w, -c_name, c_name, out=w)
    cluster_multipliers: dict[str, float] = {}
    for cluster, members, cap in clusters:
        size = float(np.abs(w[members]).sum())
        multiplier = cap / size if size > cap else 1.0
        w[members] *= multiplier
        cluster_multipliers[cluster] = multiplier
    gross_before = float(np.abs(w).sum())
    gross_multiplier = g_max / gross_before if gross_before > g_max else 1.0
    w *= gross_multiplier
    net_before = float(w.sum())
    w, level, trimmed = _trim_net(w, n_max)
    return (
        w,
        clipped,
        cluster_multipliers,
        gross_before,
        gross_multiplier,
        net_before,
        level,
        trimmed,
    )


def _trim_net(w: np.ndarray, n_max: float) -> tuple[np.ndarray, float | None, list[int]]:
    """Water-fill the net-side positions down to the level that puts the net on ``n_max``."""
    net = float(w.sum())
    excess = abs(net) - n_max
    if excess <= _NET_TOLERANCE:
        return w, None, []
    side = 1.0 if net > 0 else -1.0
    same = np.flatnonzero(w * side > 0)
    sizes = np.sort(np.abs(w[same]))[::-1]
    # Clipping the j largest to L removes cumsum[j-1] - j*L; that form is valid while L stays
    # at or above the (j+1)-th size, so the first j whose level clears it is the answer.
    # Opposite-side weight plus the cap is >= 0, so the last candidate level is >= 0.
    levels = (np.cumsum(sizes) - excess) / np.arange(1, sizes.size + 1)
    nxt = np.append(sizes[1:], 0.0)
    j = int(np.argmax(levels >= nxt))
    level = max(float(levels[j]), 0.0)
    trimmed = [int(i) for i in same if abs(w[i]) > level]
    w[same] = side * np.minimum(np.abs(w[same]), level)
    return w, level, trimmed


def _cap(value: Any, parameter: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{parameter} must be a number >= 0", parameter=parameter) from exc
    if not math.isfinite(out) or out < 0:
        raise ConfigError(f"{parameter} must be a number >= 0, got {value!r}", parameter=parameter)
    return out


def _tighter(value: Any, parameter: str, override: Any, override_name: str) -> float:
    base = _cap(value, parameter)
    return base if override is None else min(base, _cap(override, override_name))


def _resolve_clusters(
    clusters: Mapping[str, tuple[Sequence[str], float]], names: tuple[str, ...]
) -> list[tuple[str, np.ndarray, float]]:
    index = {symbol: i for i, symbol in enumerate(names)}
    out = []
    for cluster, spec in clusters.items():
        parameter = f"caps.clusters.{cluster}"
        try:
            members, cap = spec
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{parameter} must be a pair (members, cap)", parameter=parameter
            ) from exc
        if isinstance(members, str):
            raise ConfigError(
                f"{parameter}: members must be a list of symbols", parameter=parameter
            )
        positions = []
        for symbol in members:
            if symbol not in index:
                raise ConfigError(
                    f"cluster '{cluster}' lists a symbol that is not in the book",
                    symbol=symbol,
                    parameter=parameter,
                )
            if index[symbol] in positions:
                raise ConfigError(
                    f"cluster '{cluster}' lists a symbol twice", symbol=symbol, parameter=parameter
                )
            positions.append(index[symbol])
        out.append((cluster, np.array(positions, dtype=int), _cap(cap, parameter)))
    return out
