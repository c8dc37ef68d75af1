"""Stage 8 of seed 003: the capital ladder (account size -> caps, dust threshold, vehicles).

The ladder does not enforce its gross and per-name caps itself: :func:`apply_ladder` hands them to
Stage 4 (``apply_caps(..., gross_cap=, per_name_cap=)``), where the tighter of the ladder's and the
config's cap applies. Caps are then enforced once, in one place, in the spec's order, and the
audit shows a single clip rather than two that could disagree. What the ladder does itself is
zero dust: targets too small in money to be worth holding at this account size.

Examples
--------
>>> from riskbook.book.config import LadderConfig
>>> tier = capital_tier(250_000.0, LadderConfig())
>>> tier.gross_cap, tier.per_name_cap, tier.dust
(1.5, 0.15, 250.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from riskbook.book.caps import as_weight_vector
from riskbook.book.config import CapitalTier, LadderConfig
from riskbook.errors import ConfigError

__all__ = ["apply_ladder", "capital_tier"]


def capital_tier(equity: float, config: LadderConfig | None = None) -> CapitalTier:
    """The ladder's rung for an account: the highest tier whose ``min_equity <= equity``.

    With seed 003's table, 100k, 1M and 10M each belong to the tier they open.

    Parameters
    ----------
    equity
        Account equity (finite, > 0).
    config
        ``LadderConfig``; seed 003's four tiers when None. Read whether or not ``enabled``.

    Returns
    -------
    CapitalTier

    Raises
    ------
    ConfigError
        Equity that is not a positive number (parameter ``equity``); an empty ladder; a first
        tier that does not start at 0 (so every account has a tier); ``min_equity`` not strictly
        increasing; a cap that is not a positive number or a negative dust threshold.

    Examples
    --------
    >>> from riskbook.book.config import LadderConfig
    >>> [capital_tier(e).gross_cap for e in (99_999.0, 100_000.0, 1e6, 1e7)]
    [1.0, 1.5, 2.0, 3.0]
    """
    cfg = config or LadderConfig()
    return cfg.tiers[_tier_index(equity, cfg)]


def _tier_index(equity: Any, cfg: LadderConfig) -> int:
    tiers = _check_tiers(cfg.tiers)
    value = _equity(equity)
    # Sorted and starting at 0, so the last rung at or below the equity exists and is the answer.
    return max(i for i, tier in enumerate(tiers) if tier.min_equity <= value)


def apply_ladder(
    weights: Any, symbols: Sequence[str], equity: float, config: LadderConfig | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Zero dust targets and return the account's tier caps as overrides for Stage 4.

    A target is dust when its money value ``equity * |w_i|`` is below the tier's ``dust``
    threshold; it is set to 0 and named in ``info["dust_zeroed"]``. The tier's ``gross_cap``
    and ``per_name_cap`` are not applied here: pass ``info["gross_cap"]`` and
    ``info["per_name_cap"]`` to :func:`riskbook.book.caps.apply_caps`, which applies the tighter
    of them and the config's caps. With ``config.enabled`` False nothing is changed and both
    overrides are None.

    Parameters
    ----------
    weights
        Target weights (fractions of equity) aligned with ``symbols``.
    symbols
        One unique symbol per weight.
    equity
        Account equity (finite, > 0).
    config
        ``LadderConfig``; seed 003's tiers when None.

    Returns
    -------
    weights : ndarray
        A new array, dust set to 0.
    info : dict
        ``enabled``, ``equity``, ``tier`` (index into the ladder), ``min_equity``,
        ``gross_cap``, ``per_name_cap``, ``vehicles``, ``dust``, ``dust_zeroed`` (symbols) and
        ``dust_values`` (symbol -> money value of the zeroed target).

    Raises
    ------
    ConfigError
        As :func:`capital_tier`.
    TargetError
        Weights that are not finite, not 1-D, or not aligned with ``symbols``.

    Examples
    --------
    >>> import numpy as np
    >>> w, info = apply_ladder(np.array([0.5, 0.004, -0.001]), ("SPY", "TLT", "GLD"), 50_000.0)
    >>> w.tolist(), info["dust_zeroed"], info["gross_cap"], info["per_name_cap"]
    ([0.5, 0.0, 0.0], ['TLT', 'GLD'], 1.0, 0.2)
    """
    cfg = config or LadderConfig()
    names = tuple(symbols)
    w = as_weight_vector(weights, names)
    if not cfg.enabled:
        return w, {
            "enabled": False,
            "gross_cap": None,
            "per_name_cap": None,
            "dust_zeroed": [],
            "dust_values": {},
        }
    index = _tier_index(equity, cfg)
    tier = cfg.tiers[index]
    value = _equity(equity)
    money = value * np.abs(w)
    # Zero targets are not dust, they are already flat: only report names this stage changed.
    dust = (money < tier.dust) & (w != 0)
    zeroed = [names[i] for i in np.flatnonzero(dust)]
    info = {
        "enabled": True,
        "equity": value,
        "tier": index,
        "min_equity": float(tier.min_equity),
        "gross_cap": float(tier.gross_cap),
        "per_name_cap": float(tier.per_name_cap),
        "vehicles": list(tier.vehicles),
        "dust": float(tier.dust),
        "dust_zeroed": zeroed,
        "dust_values": {names[i]: float(money[i]) for i in np.flatnonzero(dust)},
    }
    w[dust] = 0.0
    return w, info


def _equity(equity: Any) -> float:
    if isinstance(equity, bool):
        raise ConfigError("equity must be a positive number", parameter="equity")
    try:
        value = float(equity)
    except (TypeError, ValueError) as exc:
        raise ConfigError("equity must be a positive number", parameter="equity") from exc
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"equity must be a positive number, got {equity!r}", parameter="equity")
    return value


def _check_tiers(tiers: Sequence[CapitalTier]) -> Sequence[CapitalTier]:
    if not tiers:
        raise ConfigError("the capital ladder has no tiers", parameter="ladder.tiers")
    previous = -math.inf
    for i, tier in enumerate(tiers):
        where = f"ladder.tiers[{i}]"
        low = _field(tier.min_equity, f"{where}.min_equity", allow_zero=True)
        if i == 0 and low != 0:
            raise ConfigError(
                f"the first tier must start at min_equity 0 so every account has a tier, got {low}",
                parameter=f"{where}.min_equity",
            )
        if low <= previous:
            raise ConfigError(
                "tiers must be sorted by strictly increasing min_equity "
                f"({low} follows {previous})",
                parameter=f"{where}.min_equity",
            )
        previous = low
        _field(tier.gross_cap, f"{where}.gross_cap", allow_zero=False)
        _field(tier.per_name_cap, f"{where}.per_name_cap", allow_zero=False)
        _field(tier.dust, f"{where}.dust", allow_zero=True)
    return tiers


def _field(value: Any, parameter: str, *, allow_zero: bool) -> float:
    bound = ">= 0" if allow_zero else "> 0"
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{parameter} must be a number {bound}", parameter=parameter) from exc
    if not math.isfinite(out) or out < 0 or (out == 0 and not allow_zero):
        raise ConfigError(
            f"{parameter} must be a number {bound}, got {value!r}", parameter=parameter
        )
    return out
