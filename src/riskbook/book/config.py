"""The integration layer's configuration: one tree of frozen dataclasses, seed 003's defaults.

Every knob of the Portfolio Integration Layer lives here with the first production value from
seed 003's table; ``BookConfig.from_toml(path)`` and ``BookConfig.from_dict(d)`` load a partial
tree over the defaults and reject an unknown key by name, suggesting the closest valid one.

Examples
--------
>>> cfg = BookConfig.from_dict({"portfolio_vol": {"target": 0.12}, "caps": {"per_name": 0.10}})
>>> cfg.portfolio_vol.target, cfg.caps.per_name, cfg.caps.gross
(0.12, 0.1, 2.0)
>>> BookConfig.from_dict({"caps": {"per_nam": 0.1}})
Traceback (most recent call last):
...
riskbook.errors.ConfigError: unknown key 'caps.per_nam'; did you mean 'caps.per_name'? [parameter=caps.per_nam]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskbook._config import build_dataclass, read_toml


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BookConfig:
        """A config from a (partial) nested dict; unknown keys raise ConfigError by name."""
        return build_dataclass(cls, data)

    @classmethod
    def from_toml(cls, path: str | Path) -> BookConfig:
        """A config from a TOML file (tables named after the sections above)."""
        return cls.from_dict(read_toml(path))
