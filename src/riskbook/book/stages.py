"""Stages 0-3 and 7 of seed 003 as small functions over arrays (stages 4, 5, 8: caps, governor,
ladder modules). Each returns its output and a JSON-friendly ``info`` dict for the audit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from riskbook.book.config import (
    AllocationConfig,
    NettingConfig,
    PortfolioVolConfig,
    SleeveVolConfig,
)
from riskbook.errors import OptimizationError
from riskbook.estimate import (
    ewma_weights,
    factor_model_covariance,
    ledoit_wolf,
    pairwise_covariance,
)
from riskbook.optimize import optimize_with_fallback, risk_parity

# --------------------------------------------------------------------------- stage 0


def ex_ante_vol(w: np.ndarray, cov: np.ndarray, periods_per_year: float) -> float:
    """Annualised ``sqrt(w' S w)`` (a tiny negative from rounding reads as 0)."""
    return float(np.sqrt(max(w @ cov @ w, 0.0) * periods_per_year))


def sleeve_scales(
    unit_weights: dict[str, np.ndarray],
    realised_vol: dict[str, float | None],
    asset_cov: np.ndarray | None,
    config: SleeveVolConfig,
    periods_per_year: float,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Stage 0: the factor that brings each unit-gross sleeve to the common vol target.

    The sleeve's own lagged realised vol (EWMA of its tracked returns) is used once it has
    ``min_history`` returns; before that, its ex-ante vol on the asset covariance. The vol is
    floored and the scale capped, so a quiet sleeve is never levered without bound.
    """
    scales, used = {}, {}
    for name, w in unit_weights.items():
        vol = realised_vol.get(name)
        source = "realised"
        if vol is None and asset_cov is not None:
            vol = ex_ante_vol(w, asset_cov, periods_per_year)
            source = "ex_ante"
        if vol is None or not np.isfinite(vol):
            scales[name], used[name] = 0.0, "no estimate"
            continue
        scales[name] = min(config.target / max(vol, config.floor), config.max_scale)
        used[name] = f"{source} {vol:.4f}"
    return scales, {"scales": scales, "vol_used": used}


# --------------------------------------------------------------------------- stage 1
def sleeve_covariance(returns: np.ndarray, config: AllocationConfig) -> np.ndarray:
    """Ledoit-Wolf covariance of the sleeve returns (T x K), rows weighted by an EWMA.

    Rows are scaled by ``sqrt(weight)`` (weights summing to T) before the estimator, the usual
    way to give an EWMA profile to a shrinkage estimator. Sleeves with gaps use pairwise-complete
    estimation instead (no truncation to the shortest history, seed 003 W6).
    """
    weights = np.sqrt(ewma_weights(len(returns), config.halflife) * len(returns))[:, None]
    x = returns * weights
    if np.isnan(x).any():
        return np.asarray(pairwise_covariance(x, shrink=True))
    return np.asarray(
        ledoit_wolf(x, target=config.shrinkage, shrinkage_scale=config.shrinkage_scale)
    )


def cap_and_renormalise(a: np.ndarray, cap: float) -> np.ndarray:
    """Weights summing to 1 with none above ``cap`` (water-filling); if K * cap < 1 every
    weight sits at the cap and the rest stays unallocated."""
    a = a / a.sum() if a.sum() > 0 else np.full(len(a), 1.0 / len(a))
    if cap * len(a) <= 1.0:
        return np.full(len(a), cap)
    out = a.copy()
    for _ in range(len(a)):
        over = out > cap + 1e-15
        if not over.any():
            break
        free = ~over & (out < cap)
        excess = (out[over] - cap).sum()
        out[over] = cap
        if out[free].sum() > 0:
            out[free] += excess * out[free] / out[free].sum()
    return out


def allocate(
    cov: np.ndarray, names: list[str], config: AllocationConfig
) -> tuple[np.ndarray, dict[str, Any]]:
    """Stage 1 core: HRP on the sleeve covariance with the fallback ladder, ERC alongside as an
    instability alarm, then the per-sleeve cap."""
    ladder = (config.method, *[m for m in config.ladder if m != config.method])
    result = optimize_with_fallback(cov, ladder=ladder)
    base = np.asarray(result.weights, dtype=float)
    info: dict[str, Any] = {
        "method": result.method,
        "fallbacks": [f"{m}: {why}" for m, why in result.failures],
        "base": dict(zip(names, base.round(6).tolist(), strict=True)),
    }
    try:
        erc = np.asarray(risk_parity(cov))
        divergence = float(np.abs(erc - base).max())
        info["erc"] = dict(zip(names, erc.round(6).tolist(), strict=True))
        info["erc_divergence"] = divergence
        if divergence > config.divergence_alarm:
            info["alarm"] = f"HRP and ERC differ by {divergence:.3f} (> {config.divergence_alarm})"
    except OptimizationError as exc:
        info["erc"] = f"failed: {exc}"
    capped = cap_and_renormalise(base, config.sleeve_cap)
    info["capped"] = dict(zip(names, capped.round(6).tolist(), strict=True))
    return capped, info


def smooth(target: np.ndarray, previous: np.ndarray | None, config: AllocationConfig) -> np.ndarray:
    """EWMA smoothing of sleeve weights; moves of at most ``min_change`` are not applied."""
    if previous is None:
        return target
    smoothed = config.smoothing * previous + (1.0 - config.smoothing) * target
    return np.where(np.abs(smoothed - previous) > config.min_change, smoothed, previous)


def probation_factor(days_since_promotion: int, config: AllocationConfig) -> float:
    """Half weight on promotion, ramped linearly to full over ``probation_days`` trading days."""
    if days_since_promotion >= config.probation_days:
        return 1.0
    step = (1.0 - config.probation_start) * days_since_promotion / config.probation_days
    return config.probation_start + step


# --------------------------------------------------------------------------- stage 2
def assemble(
    sleeve_weights: np.ndarray,
    scales: np.ndarray,
    unit: np.ndarray,
    symbols: tuple[str, ...],
    netting: NettingConfig,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Stage 2: ``W = sum_s a_s * scale_s * w_s`` netted at symbol level, then equivalent
    wrappers moved into their primary symbol."""
    W = (sleeve_weights * scales) @ unit
    gross_sum = float(np.abs((sleeve_weights * scales)[:, None] * unit).sum())
    info: dict[str, Any] = {}
    index = {s: i for i, s in enumerate(symbols)}
    moved = {}
    for primary, wrappers in netting.wrappers.items():
        if primary not in index:
            continue
        for other in wrappers:
            j = index.get(other)
            if j is not None and W[j] != 0:
                W[index[primary]] += W[j]
                moved[other] = primary
                W[j] = 0.0
    if moved:
        info["wrappers_netted"] = moved
    info["netting_saved_gross"] = gross_sum - float(np.abs(W).sum())
    return W, info


# --------------------------------------------------------------------------- stage 3
def asset_covariance(returns: np.ndarray, config: PortfolioVolConfig) -> tuple[np.ndarray, str]:
    """Covariance of the traded names over the window: Ledoit-Wolf, or a one-factor model (the
    equal-weighted market) when there are more names than days; pairwise when series have gaps."""
    T, N = returns.shape
    if np.isnan(returns).any():
        return np.asarray(pairwise_covariance(returns, shrink=True)), "pairwise"
    use_factor = config.estimator == "factor" or (config.estimator == "auto" and N > T)
    if use_factor:
        market = returns.mean(axis=1, keepdims=True)
        return np.asarray(
            factor_model_covariance(returns, market, "ledoit_wolf").covariance
        ), "factor"
    return np.asarray(ledoit_wolf(returns)), "ledoit_wolf"


def vol_target(
    W: np.ndarray,
    cov: np.ndarray,
    target: float,
    config: PortfolioVolConfig,
    periods_per_year: float,
    limits: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Stage 3: ``L = clip(target / sigma_ex, L_min, L_max)``, ``W <- L W``: the only vol scaling.

    With ``limits`` (the caps stage 4 will apply, as a function of the weights), ``L`` is chosen
    so that the book *after* those caps carries the target, by bisection within the leverage
    bounds: still one scaling, but one that knows the caps will trim the largest names. Stage 4
    then applies the same caps, so they hold exactly.
    """
    sigma = ex_ante_vol(W, cov, periods_per_year)
    lo, hi = config.leverage
    if sigma == 0:
        return W * hi, {"ex_ante_vol": 0.0, "target": target, "leverage": hi}
    lev = float(np.clip(target / sigma, lo, hi))
    info: dict[str, Any] = {"ex_ante_vol": sigma, "target": target, "leverage": lev}
    if limits is None or lev >= hi:
        return W * lev, info

    def capped_vol(level: float) -> float:
        x = limits(W * level)
        return ex_ante_vol(x, cov, periods_per_year)

    if capped_vol(lev) >= target * (1 - 1e-9):
        return W * lev, info
    low, high = lev, hi
    if capped_vol(high) <= target:
        info |= {"leverage": high, "leverage_uncapped": lev, "cap_aware": "leverage bound reached"}
        return W * high, info
    for _ in range(50):  # capped vol is non-decreasing in the level: bisect to 1e-12 relative
        mid = 0.5 * (low + high)
        if capped_vol(mid) < target:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * high:
            break
    info |= {"leverage": high, "leverage_uncapped": lev, "cap_aware": "raised to offset the caps"}
    return W * high, info


# --------------------------------------------------------------------------- stage 7
def no_trade_band(
    W: np.ndarray, current: np.ndarray, band: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Stage 7: names whose target is within ``band`` of the weight held keep the weight held."""
    keep = np.abs(W - current) <= band
    keep &= current != W
    out = np.where(keep, current, W)
    return out, {"held_by_band": int(keep.sum()), "band": band}


def cost_gate(
    W: np.ndarray,
    current: np.ndarray,
    equity: float,
    prices: np.ndarray,
    costs: Any,
    edge_bps: np.ndarray | float,
    volume: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Stage 7 cost gate: a trade whose expected cost exceeds its expected edge is skipped.

    The edge of moving name ``i`` by ``dw_i`` is ``edge_bps_i * |dw_i| * equity / 1e4``; the
    cost is ``costs.expected(shares, price)`` (fees and slippage, the models the engine bills).
    Only trades that add risk are gated: a trade that shrinks ``|w_i|`` without flipping its
    sign (a cap, the governor, a kill tier or a signal going flat) is always let through.
    A gated name keeps the weight held.

    Examples
    --------
    >>> from riskbook.execute import Costs, FixedFee
    >>> W, held = np.array([0.10, 0.0001, 0.0]), np.array([0.05, 0.0, 0.02])
    >>> out, info = cost_gate(W, held, 100_000.0, np.full(3, 20.0), Costs(fee=FixedFee(1.0)), 10.0)
    >>> out.tolist(), info["gated"]
    ([0.1, 0.0, 0.0], 1)
    """
    delta = W - current
    adds_risk = (np.abs(W) > np.abs(current)) | (np.sign(W) * np.sign(current) < 0)
    candidates = adds_risk & (delta != 0) & (prices > 0)
    if not candidates.any():
        return W, {"gated": 0, "edge_bps": edge_bps, "cost_saved": 0.0}
    shares = np.where(candidates, delta * equity / np.where(prices > 0, prices, 1.0), 0.0)
    cost = np.asarray(costs.expected(shares, prices, volume), dtype=float)
    edge = np.asarray(edge_bps, dtype=float) * np.abs(delta) * equity / 1e4
    gate = candidates & (cost > edge)
    out = np.where(gate, current, W)
    return out, {
        "gated": int(gate.sum()),
        "edge_bps": edge_bps if np.ndim(edge_bps) == 0 else "per name",
        "cost_saved": float(cost[gate].sum()),
    }
