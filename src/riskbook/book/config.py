"""The integration layer's configuration: one tree of frozen dataclasses, seed 003's defaults.

Every knob of the Portfolio Integration Layer lives here with the first production value from
seed 003's table; ``BookConfig.from_toml(path)`` and ``BookConfig.from_dict(d)`` load a partial
tree over the defaults and reject an unknown key by name, suggesting the closest valid one.
A ``BookConfig`` checks every value's range when it is built (see :func:`validate_book_config`):
an out-of-range or contradictory value is a ``ConfigError`` naming the dotted parameter and the
valid range. The sections alone stay lenient (the stage functions check what they use), so a
section can be built on its own for a sweep or a test.

Examples
--------
>>> cfg = BookConfig.from_dict({"portfolio_vol": {"target": 0.12}, "caps": {"per_name": 0.10}})
>>> cfg.portfolio_vol.target, cfg.caps.per_name, cfg.caps.gross
(0.12, 0.1, 2.0)
>>> BookConfig.from_dict({"caps": {"per_nam": 0.1}})
Traceback (most recent call last):
...
riskbook.errors.ConfigError: unknown key 'caps.per_nam'; did you mean 'caps.per_name'? [parameter=caps.per_nam]
>>> BookConfig.from_dict({"portfolio_vol": {"leverage": [2.0, 0.3]}})
Traceback (most recent call last):
...
riskbook.errors.ConfigError: portfolio_vol.leverage must be (low, high) with 0 <= low <= high and high > 0, got (2.0, 0.3) [parameter=portfolio_vol.leverage]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskbook._config import build_dataclass, read_toml
from riskbook.errors import ConfigError


@dataclass(frozen=True)
class SleeveVolConfig:
    """Stage 0: each sleeve normalised to unit gross, then scaled to a common vol."""

    target: float = 0.10  # annualised vol every sleeve is scaled to
    halflife: float = 42.0  # EWMA half-life (days) of the sleeve's realised vol; seed: 21-63
    floor: float = 0.02  # annualised vol floor, so a quiet sleeve is not levered without bound
    min_history: int = 60  # days of sleeve returns before the sleeve is vol-scaled / allocated
    max_scale: float = 5.0  # cap on target / realised vol


@dataclass(frozen=True)
class AllocationConfig:
    """Stage 1: cross-sleeve meta-allocation."""

    method: str = "hrp"
    ladder: tuple[str, ...] = ("hrp", "risk_parity", "inverse_volatility", "equal_weight")
    window: int = 252  # days of sleeve returns in the covariance
    halflife: float = 63.0  # EWMA half-life (days) weighting those returns
    shrinkage: str = "constant_correlation"  # Ledoit-Wolf target
    shrinkage_scale: float = 1.0  # x the Ledoit-Wolf optimal intensity (sensitivity analysis)
    sleeve_cap: float = 0.35  # max weight of one sleeve
    divergence_alarm: float = 0.15  # alarm when max |HRP - ERC| sleeve weight exceeds this
    skill_tilt: float = 0.25  # bounded tilt: multiplier in [1 - k, 1 + k]
    skill_warmup: int = 40  # trading days with no tilt
    skill_window: int = 21  # IC window (days)
    skill_halflife: float = 63.0
    smoothing: float = 0.8  # a_t = lambda a_{t-1} + (1 - lambda) a_target
    min_change: float = 0.02  # only sleeve-weight moves above this (absolute) are applied
    probation_days: int = 20  # a newly promoted sleeve ramps from half to full weight
    probation_start: float = 0.5


@dataclass(frozen=True)
class NettingConfig:
    """Stage 2: equivalent wrappers netted into one primary symbol (e.g. IAU, SGOL -> GLD)."""

    wrappers: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PortfolioVolConfig:
    """Stage 3: the one portfolio volatility target."""

    target: float = 0.10
    band: tuple[float, float] = (0.08, 0.12)  # the regime overlay moves the target within this
    leverage: tuple[float, float] = (0.3, 2.0)
    window: int = 120  # days of asset returns (seed: 90-120)
    estimator: str = "auto"  # "ledoit_wolf", "factor", or "auto": the factor model when N > T


@dataclass(frozen=True)
class CapsConfig:
    """Stage 4: exposure caps, applied after vol targeting."""

    gross: float = 2.0
    net: float = 1.0
    per_name: float = 0.15
    clusters: dict[str, tuple[tuple[str, ...], float]] = field(default_factory=dict)


@dataclass(frozen=True)
class GovernorConfig:
    """Stage 5: the smooth drawdown governor m(DD)."""

    start: float = 0.05  # m = 1 up to this drawdown
    floor_at: float = 0.12  # m reaches its floor here
    floor: float = 0.2
    hard_cap: float = 0.15  # at or beyond it the book goes flat for the cooloff
    cooloff_days: int = 20
    vol_adjusted: bool = False  # measure drawdown in units of the portfolio vol target


@dataclass(frozen=True)
class KillTierConfig:
    """Stage 5 overlay: discrete kill tiers that can only reduce exposure."""

    warn: float = 0.08  # drawdown: alert only
    throttle: float = 0.10  # drawdown: exposure x throttle_factor
    throttle_factor: float = 0.5
    no_new: float = 0.13  # drawdown: no position may grow
    flatten: float = 0.15  # drawdown: flat


@dataclass(frozen=True)
class RegimeConfig:
    """Stage 6: bounded, confidence-gated tilts of the vol target and the sleeve weights."""

    enabled: bool = True
    vol_targets: dict[str, float] = field(
        default_factory=lambda: {"risk_on": 0.12, "neutral": 0.10, "crisis": 0.08}
    )
    sleeve_tilts: dict[str, dict[str, float]] = field(
        default_factory=lambda: {"crisis": {"defensive": 1.2, "cyclical": 0.8}}
    )
    max_tilt: float = 0.25  # a sleeve's regime multiplier stays within [1 - max_tilt, 1 + max_tilt]
    min_confidence: float = 0.5  # below it, no tilt at all


@dataclass(frozen=True)
class TurnoverConfig:
    """Stage 7: turnover control."""

    no_trade_band: float = 0.0075  # of equity, per name
    allocation_time: str = "15:30"  # sleeve weights recomputed once a day at this time
    cost_gate: bool = True  # active when the builder has a cost model (BookBuilder(costs=...))
    edge_bps: float = 10.0  # default expected edge of a trade, bps of its value (pluggable)


@dataclass(frozen=True)
class CapitalTier:
    """One rung of the capital ladder."""

    min_equity: float
    gross_cap: float
    per_name_cap: float
    vehicles: tuple[str, ...] = ("etf",)
    dust: float = 0.0  # smallest order value worth sending


def _default_tiers() -> tuple[CapitalTier, ...]:
    return (
        CapitalTier(0.0, 1.0, 0.20, ("etf",), 500.0),
        CapitalTier(100_000.0, 1.5, 0.15, ("etf", "future"), 250.0),
        CapitalTier(1_000_000.0, 2.0, 0.12, ("etf", "future"), 100.0),
        CapitalTier(10_000_000.0, 3.0, 0.10, ("future", "etf", "option"), 100.0),
    )


@dataclass(frozen=True)
class LadderConfig:
    """Stage 8: account-size tiers (seed 003's table)."""

    enabled: bool = True
    tiers: tuple[CapitalTier, ...] = field(default_factory=_default_tiers)


@dataclass(frozen=True)
class BookConfig:
    """Every knob of the integration layer (seed 003's defaults)."""

    sleeve_vol: SleeveVolConfig = field(default_factory=SleeveVolConfig)
    allocation: AllocationConfig = field(default_factory=AllocationConfig)
    netting: NettingConfig = field(default_factory=NettingConfig)
    portfolio_vol: PortfolioVolConfig = field(default_factory=PortfolioVolConfig)
    caps: CapsConfig = field(default_factory=CapsConfig)
    governor: GovernorConfig = field(default_factory=GovernorConfig)
    kill_tiers: KillTierConfig = field(default_factory=KillTierConfig)
    regime: RegimeConfig = field(default_factory=RegimeConfig)
    turnover: TurnoverConfig = field(default_factory=TurnoverConfig)
    ladder: LadderConfig = field(default_factory=LadderConfig)
    kelly_fraction: float = 0.5
    # Daily bars before the first decision over which the sleeves are replayed (point in time)
    # to seed their return history; 0 = sleeves earn their history live, from the first decision.
    warmup_days: int = 0
    periods_per_year: float = 252.0

    def __post_init__(self) -> None:
        validate_book_config(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BookConfig:
        """A config from a (partial) nested dict; unknown keys raise ConfigError by name."""
        return build_dataclass(cls, data)

    @classmethod
    def from_toml(cls, path: str | Path) -> BookConfig:
        """A config from a TOML file (tables named after the sections above)."""
        return cls.from_dict(read_toml(path))


# ----------------------------------------------------------------------------- validation
_ESTIMATORS = ("auto", "ledoit_wolf", "factor")


def _num(value: Any, parameter: str, low: float, high: float, *, closed: str = "[]") -> float:
    """``value`` as a finite float in the interval ``low..high`` (``closed`` says which ends)."""
    lo_ok = (lambda x: x >= low) if closed[0] == "[" else (lambda x: x > low)
    hi_ok = (lambda x: x <= high) if closed[1] == "]" else (lambda x: x < high)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{parameter} must be a number, got {value!r}", parameter=parameter)
    out = float(value)
    if not (math.isfinite(out) and lo_ok(out) and hi_ok(out)):
        span = f"{closed[0]}{low:g}, {high:g}{closed[1]}"
        raise ConfigError(
            f"{parameter} must lie in {span}, got {value!r}; choose a value in that range",
            parameter=parameter,
        )
    return out


def _int(value: Any, parameter: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{parameter} must be an integer, got {value!r}", parameter=parameter)
    if value < low:
        raise ConfigError(
            f"{parameter} must be an integer >= {low}, got {value!r}", parameter=parameter
        )
    return value


def _pair(value: Any, parameter: str) -> tuple[float, float]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ConfigError(
            f"{parameter} must be a pair (low, high), got {value!r}", parameter=parameter
        )
    lo, hi = (_num(v, parameter, -math.inf, math.inf, closed="()") for v in value)
    return lo, hi


def validate_book_config(cfg: BookConfig) -> None:
    """Check every value of ``cfg`` is in range and that no two values contradict each other.

    Raises
    ------
    ConfigError
        Naming the dotted parameter (``portfolio_vol.leverage``) and the valid range.
    """
    inf = math.inf
    s = cfg.sleeve_vol
    _num(s.target, "sleeve_vol.target", 0.0, inf, closed="(]")
    _num(s.halflife, "sleeve_vol.halflife", 0.0, inf, closed="(]")
    _num(s.floor, "sleeve_vol.floor", 0.0, inf)
    _int(s.min_history, "sleeve_vol.min_history", 2)
    _num(s.max_scale, "sleeve_vol.max_scale", 0.0, inf, closed="(]")

    a = cfg.allocation
    _int(a.window, "allocation.window", 2)
    _num(a.halflife, "allocation.halflife", 0.0, inf, closed="(]")
    _num(a.shrinkage_scale, "allocation.shrinkage_scale", 0.0, inf)
    _num(a.sleeve_cap, "allocation.sleeve_cap", 0.0, 1.0, closed="(]")
    _num(a.divergence_alarm, "allocation.divergence_alarm", 0.0, inf)
    _num(a.skill_tilt, "allocation.skill_tilt", 0.0, 1.0)
    _int(a.skill_warmup, "allocation.skill_warmup", 0)
    _int(a.skill_window, "allocation.skill_window", 2)
    _num(a.skill_halflife, "allocation.skill_halflife", 0.0, inf, closed="(]")
    _num(a.smoothing, "allocation.smoothing", 0.0, 1.0, closed="[)")
    _num(a.min_change, "allocation.min_change", 0.0, 1.0)
    _int(a.probation_days, "allocation.probation_days", 0)
    _num(a.probation_start, "allocation.probation_start", 0.0, 1.0, closed="(]")
    if not a.ladder:
        raise ConfigError(
            "allocation.ladder is empty; give at least one method", parameter="allocation.ladder"
        )

    p = cfg.portfolio_vol
    target = _num(p.target, "portfolio_vol.target", 0.0, inf, closed="(]")
    lo, hi = _pair(p.band, "portfolio_vol.band")
    if not 0 < lo <= target <= hi:
        raise ConfigError(
            f"portfolio_vol.band must satisfy 0 < low <= portfolio_vol.target ({target}) <= high, "
            f"got {p.band}; widen the band or move the target into it",
            parameter="portfolio_vol.band",
        )
    lo, hi = _pair(p.leverage, "portfolio_vol.leverage")
    if not (0 <= lo <= hi and hi > 0):
        raise ConfigError(
            "portfolio_vol.leverage must be (low, high) with 0 <= low <= high and high > 0, "
            f"got {p.leverage}",
            parameter="portfolio_vol.leverage",
        )
    _int(p.window, "portfolio_vol.window", 2)
    if p.estimator not in _ESTIMATORS:
        raise ConfigError(
            f"portfolio_vol.estimator must be one of {_ESTIMATORS}, got {p.estimator!r}",
            parameter="portfolio_vol.estimator",
        )

    c = cfg.caps
    gross = _num(c.gross, "caps.gross", 0.0, inf)
    _num(c.net, "caps.net", 0.0, inf)
    per_name = _num(c.per_name, "caps.per_name", 0.0, inf)
    if per_name > gross:
        raise ConfigError(
            f"caps.per_name ({per_name}) exceeds caps.gross ({gross}): contradictory caps; "
            "lower caps.per_name or raise caps.gross",
            parameter="caps.per_name",
        )

    # The governor's, kill tiers' and ladder's own checks (also run where they are used).
    from riskbook.book.governor import _check_governor, _check_tiers
    from riskbook.book.ladder import _check_tiers as _check_ladder

    _check_governor(cfg.governor)
    _check_tiers(cfg.kill_tiers)
    _check_ladder(cfg.ladder.tiers)

    r = cfg.regime
    _num(r.max_tilt, "regime.max_tilt", 0.0, 1.0)
    _num(r.min_confidence, "regime.min_confidence", 0.0, 1.0)
    for name, value in r.vol_targets.items():
        _num(value, f"regime.vol_targets.{name}", 0.0, inf, closed="(]")
    for name, tilts in r.sleeve_tilts.items():
        for style, value in tilts.items():
            _num(value, f"regime.sleeve_tilts.{name}.{style}", 0.0, inf)

    t = cfg.turnover
    _num(t.no_trade_band, "turnover.no_trade_band", 0.0, 1.0)
    _num(t.edge_bps, "turnover.edge_bps", -inf, inf, closed="()")

    _num(cfg.kelly_fraction, "kelly_fraction", 0.0, 1.0, closed="(]")
    _int(cfg.warmup_days, "warmup_days", 0)
    _num(cfg.periods_per_year, "periods_per_year", 0.0, inf, closed="(]")
