"""Stage 5 of seed 003: the smooth drawdown governor and the kill-tier safety overlay.

The governor replaces the old 1.0 / 0.5 / 0.0 cliff with a continuous multiplier ``m(DD)`` applied
to the executed book; the discrete kill tiers (WARN / THROTTLE / NO_NEW / FLATTEN) stay as an
overlay that can only reduce exposure further. :func:`govern` is the single coordination point:
both read the same drawdown measurement, so they can never disagree (seed 003, W2).

Drawdown is a positive fraction below the peak: 0.085 means equity is 8.5% under its peak.

Examples
--------
>>> round(drawdown_multiplier(0.085), 4)
0.6
>>> kill_tier(0.11)
'THROTTLE'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from riskbook.book.caps import as_weight_vector
from riskbook.book.config import GovernorConfig, KillTierConfig
from riskbook.errors import ConfigError, DataError, TargetError

__all__ = [
    "REFERENCE_VOL",
    "TIERS",
    "DrawdownGovernor",
    "GovernorState",
    "apply_kill_tier",
    "drawdown_multiplier",
    "effective_drawdown",
    "govern",
    "kill_tier",
]

#: Kill tiers from mildest to hardest; "NORMAL" means no tier is breached.
TIERS = ("NORMAL", "WARN", "THROTTLE", "NO_NEW", "FLATTEN")

#: The portfolio vol target seed 003's drawdown thresholds were set at (its 10% default). With
#: ``GovernorConfig.vol_adjusted`` a drawdown is rescaled to this target before the curve is read.
REFERENCE_VOL = 0.10


def effective_drawdown(
    drawdown: Any, config: GovernorConfig | None = None, *, vol_target: float | None = None
) -> float | np.ndarray:
    """The drawdown the governor's thresholds are compared with.

    With ``config.vol_adjusted`` the seed measures drawdown in units of the portfolio vol target,
    ``DD / sigma_target``. The thresholds in ``GovernorConfig`` stay in plain fractions,
    calibrated at ``REFERENCE_VOL`` (10%), so the test ``DD / sigma_target >= d / REFERENCE_VOL``
    is carried out as ``DD * REFERENCE_VOL / sigma_target >= d``: a book run at a 12% target
    starts de-risking at a 6% drawdown instead of 5%, one run at 8% at 4%. Without
    ``vol_adjusted``, or when ``vol_target`` is None (read: the book runs at the reference
    target), the drawdown is returned unchanged.

    Parameters
    ----------
    drawdown
        Scalar or array of drawdowns, each a fraction >= 0.
    config
        ``GovernorConfig``; seed 003's defaults when None.
    vol_target
        The portfolio vol target in force (annualised, > 0).

    Returns
    -------
    float or ndarray
        A float for scalar input, an array otherwise.

    Raises
    ------
    ConfigError
        A negative or NaN drawdown (parameter ``drawdown``), a vol target that is not a positive
        number (parameter ``vol_target``), or an invalid ``config``.

    Examples
    --------
    >>> from riskbook.book.config import GovernorConfig
    >>> round(effective_drawdown(0.06, GovernorConfig(vol_adjusted=True), vol_target=0.12), 4)
    0.05
    >>> effective_drawdown(0.06, GovernorConfig(), vol_target=0.12)
    0.06
    """
    cfg = _check_governor(config or GovernorConfig())
    dd = _drawdowns(drawdown)
    scale = _vol_scale(cfg, vol_target)
    out = dd * scale if scale != 1.0 else dd
    return float(out) if out.ndim == 0 else out


def drawdown_multiplier(
    drawdown: Any, config: GovernorConfig | None = None, *, vol_target: float | None = None
) -> float | np.ndarray:
    """The smooth governor curve ``m(DD)`` (vectorised).

    ``m = 1`` for ``DD <= start``; linear from 1 down to ``floor`` between ``start`` and
    ``floor_at``; ``floor`` from ``floor_at`` up to ``hard_cap``; 0 at ``DD >= hard_cap``. It is
    non-increasing in ``DD``. The drawdown is first made vol-adjusted when the config asks for it
    (see :func:`effective_drawdown`). The cooloff after the hard cap is state, kept by
    :class:`DrawdownGovernor`, not by this curve.

    Parameters
    ----------
    drawdown
        Scalar or array of drawdowns, each a fraction >= 0 (0.085 = 8.5% below the peak).
    config
        ``GovernorConfig``; seed 003's defaults (5% / 12% / floor 0.2 / 15%) when None.
    vol_target
        The portfolio vol target in force; read only when ``config.vol_adjusted``.

    Returns
    -------
    float or ndarray
        Multipliers in ``[0, 1]``: a float for scalar input, an array otherwise.

    Raises
    ------
    ConfigError
        A negative or NaN drawdown (parameter ``drawdown``), or an invalid config (thresholds
        not ``0 <= start < floor_at < hard_cap``, ``floor`` outside ``[0, 1]``).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(drawdown_multiplier(np.array([0.0, 0.05, 0.085, 0.12, 0.15])), 4).tolist()
    [1.0, 1.0, 0.6, 0.2, 0.0]
    """
    cfg = _check_governor(config or GovernorConfig())
    dd = np.asarray(effective_drawdown(drawdown, cfg, vol_target=vol_target), dtype=float)
    m = _curve(dd, cfg)
    return float(m) if m.ndim == 0 else m


def _curve(dd: np.ndarray, cfg: GovernorConfig) -> np.ndarray:
    frac = np.clip((dd - cfg.start) / (cfg.floor_at - cfg.start), 0.0, 1.0)
    # The max() keeps 1 - (1 - floor) * 1 from rounding a hair below floor, which would make the
    # curve rise by one ulp where it joins the floor plateau.
    m = np.maximum(1.0 - (1.0 - cfg.floor) * frac, cfg.floor)
    return np.where(dd >= cfg.hard_cap, 0.0, m)


def kill_tier(drawdown: float, config: KillTierConfig | None = None) -> str:
    """The kill tier a drawdown is in: the hardest one whose threshold it has reached.

    Parameters
    ----------
    drawdown
        A drawdown, fraction >= 0.
    config
        ``KillTierConfig``; seed 003's defaults (8% / 10% / 13% / 15%) when None.

    Returns
    -------
    str
        One of ``TIERS``: "NORMAL" below ``warn``, then "WARN", "THROTTLE", "NO_NEW", "FLATTEN"
        (a threshold counts as reached when ``drawdown >= threshold``).

    Raises
    ------
    ConfigError
        A negative or NaN drawdown, thresholds that are not ``0 <= warn <= throttle <= no_new
        <= flatten``, or a ``throttle_factor`` outside ``[0, 1]``.

    Examples
    --------
    >>> [kill_tier(dd) for dd in (0.0, 0.08, 0.1, 0.13, 0.15)]
    ['NORMAL', 'WARN', 'THROTTLE', 'NO_NEW', 'FLATTEN']
    """
    cfg = _check_tiers(config or KillTierConfig())
    dd = _drawdowns(drawdown)
    if dd.ndim != 0:
        raise ConfigError("drawdown must be a single number", parameter="drawdown")
    thresholds = (cfg.warn, cfg.throttle, cfg.no_new, cfg.flatten)
    reached = sum(1 for threshold in thresholds if dd >= threshold)
    # Thresholds are sorted, so the number reached is the index of the tier.
    return TIERS[reached]


def apply_kill_tier(
    weights: Any,
    previous_weights: Any,
    tier: str,
    config: KillTierConfig | None = None,
    *,
    symbols: Sequence[str] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The kill-tier overlay: it can only shrink positions, never grow or flip them.

    Tiers are cumulative, each keeping the restrictions of the milder ones, so the overlay's
    exposure never rises as the tier hardens:

    - NORMAL, WARN: unchanged (WARN is an alert only);
    - THROTTLE: ``W * throttle_factor``;
    - NO_NEW: the throttled weights, then no position may be larger in absolute size than in
      ``previous_weights``: a position is cut to its previous size, a name not held (or held
      with the opposite sign) goes to 0, so nothing new is opened; reductions pass;
    - FLATTEN: all zero.

    Parameters
    ----------
    weights
        Target weights after the governor's multiplier.
    previous_weights
        The weights held now (same length); None means nothing is held.
    tier
        One of ``TIERS``.
    config
        ``KillTierConfig`` (only ``throttle_factor`` is read); defaults when None.
    symbols
        Optional names aligned with ``weights``, used in ``info``.

    Returns
    -------
    weights : ndarray
        A new array with ``|out_i| <= |in_i|`` and ``out_i * in_i >= 0``.
    info : dict
        ``tier``, ``alert`` (any tier but NORMAL), ``factor`` (the multiplier applied before the
        NO_NEW rule), ``held_back`` (names, or positions without ``symbols``, that NO_NEW cut),
        ``gross_before``, ``gross_after``.

    Raises
    ------
    ConfigError
        An unknown tier (parameter ``tier``) or an invalid config.
    TargetError
        Non-finite or misaligned weights or previous weights.

    Examples
    --------
    >>> import numpy as np
    >>> w, info = apply_kill_tier(np.array([0.4, 0.2, -0.2]), np.array([0.1, 0.0, -0.3]), "NO_NEW")
    >>> w.tolist(), info["held_back"]
    ([0.1, 0.0, -0.1], [0, 1])
    """
    cfg = _check_tiers(config or KillTierConfig())
    if tier not in TIERS:
        raise ConfigError(f"unknown kill tier {tier!r}; expected one of {TIERS}", parameter="tier")
    w = as_weight_vector(weights, symbols)
    prev = _previous(previous_weights, w, symbols)
    level = TIERS.index(tier)
    factor = 1.0 if level < TIERS.index("THROTTLE") else cfg.throttle_factor
    if tier == "FLATTEN":
        factor = 0.0
    out = w * factor
    held_back: list[Any] = []
    if tier == "NO_NEW":
        same_side = out * prev > 0
        limited = np.where(same_side, np.sign(out) * np.minimum(np.abs(out), np.abs(prev)), 0.0)
        cut = np.flatnonzero(np.abs(limited) < np.abs(out))
        held_back = [symbols[i] for i in cut] if symbols is not None else [int(i) for i in cut]
        out = limited
    info = {
        "tier": tier,
        "alert": tier != "NORMAL",
        "factor": factor,
        "held_back": held_back,
        "gross_before": float(np.abs(w).sum()),
        "gross_after": float(np.abs(out).sum()),
    }
    return out, info


@dataclass(frozen=True)
class GovernorState:
    """What the governor measured and decided at one update.

    Attributes
    ----------
    time
        The update's time (``numpy.datetime64``).
    equity, peak, high_water
        Equity now; the peak the drawdown is measured from (lowered once when a cooloff ends,
        see :class:`DrawdownGovernor`); the true running maximum of equity.
    drawdown, effective_drawdown
        ``1 - equity / peak``, and the same after the vol adjustment (what the thresholds and
        the kill tiers are compared with).
    curve_multiplier, multiplier
        ``m`` read from the curve, and the multiplier applied (0 during a cooloff).
    in_cooloff, cooloff_day, cooloff_remaining
        Whether the book is held flat; which of the cooloff's trading days this is (1-based, 0
        outside a cooloff); how many further trading days it stays flat.
    rebased
        True at the update where a cooloff ended and the peak was lowered.
    """

    time: np.datetime64
    equity: float
    peak: float
    high_water: float
    drawdown: float
    effective_drawdown: float
    curve_multiplier: float
    multiplier: float
    in_cooloff: bool
    cooloff_day: int
    cooloff_remaining: int
    rebased: bool

    def to_dict(self) -> dict[str, Any]:
        """The state as JSON-friendly values (the time as an ISO string)."""
        out = asdict(self)
        out["time"] = str(self.time)
        return out


class DrawdownGovernor:
    """The stateful drawdown governor: running peak, ``m(DD)``, and the cooloff after the hard cap.

    Cooloff counting. Once the effective drawdown reaches ``hard_cap`` the multiplier is 0 for
    ``cooloff_days`` distinct trading days, the day it triggered being the first; a day is the
    calendar date of ``time`` as given (``datetime64[D]``, no time-zone conversion), so several
    intraday updates on one day count once. The first update on the next day resumes the curve.
    ``cooloff_days = 0`` means no cooloff: only the curve's own 0 beyond ``hard_cap``.

    Re-entry without whipsaw. While flat the book earns nothing, so equity, and hence the
    drawdown from the old peak, stays near the hard cap: keeping the peak would re-trigger the
    cooloff on the first day back, for ever. Resetting the peak to current equity would jump
    straight back to ``m = 1``, the cliff the governor exists to remove. Instead, when the cooloff
    ends the peak is lowered (never raised) to the level at which the current equity sits exactly
    at ``floor_at``: the book re-enters at the floor multiplier (0.2), a fresh loss of about
    ``hard_cap - floor_at`` is needed to trigger a new cooloff, and full size returns only as
    equity climbs back along the curve. ``high_water`` keeps the true maximum for reporting.

    Parameters
    ----------
    config
        ``GovernorConfig``; seed 003's defaults when None.

    Attributes
    ----------
    state : GovernorState or None
        The last update's state (None before the first).

    Examples
    --------
    >>> import numpy as np
    >>> gov = DrawdownGovernor()
    >>> day = np.datetime64("2024-01-02")
    >>> gov.update(100.0, day).multiplier
    1.0
    >>> round(gov.update(91.5, day + 1).multiplier, 4)
    0.6
    >>> s = gov.update(85.0, day + 2)
    >>> s.multiplier, s.in_cooloff, s.cooloff_remaining
    (0.0, True, 19)
    """

    def __init__(self, config: GovernorConfig | None = None) -> None:
        self.config = _check_governor(config or GovernorConfig())
        self.state: GovernorState | None = None
        self._peak = math.nan
        self._high_water = math.nan
        self._last_time: np.datetime64 | None = None
        self._cooloff_day = 0

    def update(self, equity: float, time: Any, *, vol_target: float | None = None) -> GovernorState:
        """Record equity at a decision time and return the governor's state.

        Parameters
        ----------
        equity
            Account equity now (finite, > 0).
        time
            The decision time: ``numpy.datetime64`` or anything it accepts; never earlier than
            the previous update's.
        vol_target
            The portfolio vol target in force, for a vol-adjusted config.

        Returns
        -------
        GovernorState

        Raises
        ------
        DataError
            Equity that is not a positive finite number, or a time that is NaT or earlier than
            the previous update's.
        ConfigError
            A vol target that is not a positive number.
        """
        cfg = self.config
        value = _equity(equity)
        now = _time(time)
        if self._last_time is not None and now < self._last_time:
            raise DataError(
                f"time went backwards: previous update was at {self._last_time}",
                date=now,
                parameter="time",
            )
        new_day = self._last_time is None or _day(now) > _day(self._last_time)
        scale = _vol_scale(cfg, vol_target)

        rebased = False
        if self._cooloff_day and new_day:
            if self._cooloff_day >= cfg.cooloff_days:
                self._cooloff_day = 0
                raw_floor = cfg.floor_at / scale
                # A floor at or beyond a 100% drawdown cannot be placed; keep the peak then.
                if raw_floor < 1.0 and value / (1.0 - raw_floor) < self._peak:
                    self._peak = value / (1.0 - raw_floor)
                    rebased = True
            else:
                self._cooloff_day += 1

        self._peak = value if math.isnan(self._peak) else max(self._peak, value)
        self._high_water = value if math.isnan(self._high_water) else max(self._high_water, value)
        drawdown = max(0.0, 1.0 - value / self._peak)
        effective = drawdown * scale
        if not self._cooloff_day and cfg.cooloff_days > 0 and effective >= cfg.hard_cap:
            self._cooloff_day = 1
        curve = float(_curve(np.asarray(effective), cfg))
        in_cooloff = self._cooloff_day > 0
        self._last_time = now
        self.state = GovernorState(
            time=now,
            equity=value,
            peak=self._peak,
            high_water=self._high_water,
            drawdown=drawdown,
            effective_drawdown=effective,
            curve_multiplier=curve,
            multiplier=0.0 if in_cooloff else curve,
            in_cooloff=in_cooloff,
            cooloff_day=self._cooloff_day,
            cooloff_remaining=cfg.cooloff_days - self._cooloff_day if in_cooloff else 0,
            rebased=rebased,
        )
        return self.state


def govern(
    weights: Any,
    previous_weights: Any,
    equity: float,
    time: Any,
    governor: DrawdownGovernor,
    tiers: KillTierConfig | None = None,
    *,
    vol_target: float | None = None,
    symbols: Sequence[str] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Stage 5: ``W <- m(DD) * W``, then the kill-tier overlay, from one drawdown measurement.

    ``governor.update`` is called once (so call ``govern`` once per decision); its effective
    drawdown feeds both the curve and :func:`kill_tier`. While the governor holds a cooloff the
    tier is reported as FLATTEN, so the two governors tell downstream consumers the same thing.
    The final gross exposure is non-increasing in the drawdown for fixed inputs, and at zero
    drawdown the weights pass unchanged.

    Parameters
    ----------
    weights
        The capped target weights (Stage 4 output).
    previous_weights
        The weights held now, for the NO_NEW tier; None means nothing is held.
    equity, time
        Account equity and decision time, passed to ``governor.update``.
    governor
        The book's :class:`DrawdownGovernor` (its state advances).
    tiers
        ``KillTierConfig``; defaults when None.
    vol_target
        The portfolio vol target in force, for a vol-adjusted governor.
    symbols
        Optional names aligned with ``weights``, used in ``info``.

    Returns
    -------
    weights : ndarray
        The governed weights (a new array).
    info : dict
        The governor's state (``drawdown``, ``effective_drawdown``, ``multiplier``, cooloff
        fields, ...), the ``tier`` and the overlay's ``factor``/``held_back``/``alert``, and
        ``gross_before``/``gross_after`` of the whole stage.

    Raises
    ------
    TargetError
        Non-finite or misaligned weights or previous weights (the governor is left untouched).
    DataError
        Bad equity or time (see :meth:`DrawdownGovernor.update`).
    ConfigError
        An invalid kill-tier config or vol target.

    Examples
    --------
    >>> import numpy as np
    >>> gov = DrawdownGovernor()
    >>> w = np.array([0.5, -0.5])
    >>> _ = govern(w, w, 100.0, np.datetime64("2024-01-02"), gov)
    >>> out, info = govern(w, w, 89.0, np.datetime64("2024-01-03"), gov)
    >>> np.round(out, 4).tolist(), round(info["multiplier"], 4), info["tier"]
    ([0.0786, -0.0786], 0.3143, 'THROTTLE')
    """
    tier_cfg = _check_tiers(tiers or KillTierConfig())
    w = as_weight_vector(weights, symbols)
    # Checked before the governor's state advances, so a bad call leaves it untouched.
    prev = _previous(previous_weights, w, symbols)
    state = governor.update(equity, time, vol_target=vol_target)
    tier = "FLATTEN" if state.in_cooloff else kill_tier(state.effective_drawdown, tier_cfg)
    out, overlay = apply_kill_tier(w * state.multiplier, prev, tier, tier_cfg, symbols=symbols)
    info = state.to_dict()
    info.update(
        tier=tier,
        alert=overlay["alert"],
        factor=overlay["factor"],
        held_back=overlay["held_back"],
        gross_before=float(np.abs(w).sum()),
        gross_after=float(np.abs(out).sum()),
    )
    return out, info


def _previous(previous_weights: Any, w: np.ndarray, symbols: Sequence[str] | None) -> np.ndarray:
    if previous_weights is None:
        return np.zeros_like(w)
    prev = as_weight_vector(previous_weights, symbols, name="previous_weights")
    if prev.shape != w.shape:
        raise TargetError(
            f"previous_weights has {prev.size} entries, weights {w.size}",
            parameter="previous_weights",
        )
    return prev


def _drawdowns(drawdown: Any) -> np.ndarray:
    try:
        dd = np.asarray(drawdown, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError("drawdown must be a number >= 0", parameter="drawdown") from exc
    if np.isnan(dd).any() or (dd < 0).any():
        raise ConfigError(
            "drawdown must be a fraction >= 0 below the peak (0.085 = 8.5%), not NaN or negative",
            parameter="drawdown",
        )
    return dd


def _vol_scale(cfg: GovernorConfig, vol_target: float | None) -> float:
    if not cfg.vol_adjusted or vol_target is None:
        return 1.0
    try:
        target = float(vol_target)
    except (TypeError, ValueError) as exc:
        raise ConfigError("vol_target must be a positive number", parameter="vol_target") from exc
    if not math.isfinite(target) or target <= 0:
        raise ConfigError(
            f"vol_target must be a positive number, got {vol_target!r}", parameter="vol_target"
        )
    return REFERENCE_VOL / target


def _equity(equity: Any) -> float:
    try:
        value = float(equity)
    except (TypeError, ValueError) as exc:
        raise DataError("equity must be a positive number", parameter="equity") from exc
    if not math.isfinite(value) or value <= 0:
        raise DataError(f"equity must be a positive number, got {equity!r}", parameter="equity")
    return value


def _time(time: Any) -> np.datetime64:
    try:
        now = np.datetime64(time)
    except (TypeError, ValueError) as exc:
        raise DataError(f"time must be a date/time, got {time!r}", parameter="time") from exc
    if np.isnat(now):
        raise DataError("time must not be NaT", parameter="time")
    return now


def _day(time: np.datetime64) -> np.datetime64:
    return time.astype("datetime64[D]")


def _number(value: Any, parameter: str, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{parameter} must be a number", parameter=parameter)
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{parameter} must be a number", parameter=parameter) from exc
    if not (math.isfinite(out) and low <= out <= high):
        raise ConfigError(
            f"{parameter} must lie in [{low}, {high}], got {value!r}", parameter=parameter
        )
    return out


def _check_governor(cfg: GovernorConfig) -> GovernorConfig:
    start = _number(cfg.start, "governor.start", 0.0)
    floor_at = _number(cfg.floor_at, "governor.floor_at", 0.0)
    hard_cap = _number(cfg.hard_cap, "governor.hard_cap", 0.0)
    _number(cfg.floor, "governor.floor", 0.0, 1.0)
    if not start < floor_at:
        raise ConfigError(
            f"governor.floor_at ({floor_at}) must exceed governor.start ({start})",
            parameter="governor.floor_at",
        )
    # Strict, so that re-entry at floor_at after a cooloff does not re-trigger it at once.
    if not floor_at < hard_cap:
        raise ConfigError(
            f"governor.hard_cap ({hard_cap}) must exceed governor.floor_at ({floor_at})",
            parameter="governor.hard_cap",
        )
    days = cfg.cooloff_days
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 0:
        raise ConfigError(
            f"governor.cooloff_days must be an integer >= 0, got {days!r}",
            parameter="governor.cooloff_days",
        )
    return cfg


def _check_tiers(cfg: KillTierConfig) -> KillTierConfig:
    previous = 0.0
    for name in ("warn", "throttle", "no_new", "flatten"):
        value = _number(getattr(cfg, name), f"kill_tiers.{name}", 0.0)
        if value < previous:
            raise ConfigError(
                "kill-tier thresholds must be sorted: warn <= throttle <= no_new <= flatten",
                parameter=f"kill_tiers.{name}",
            )
        previous = value
    _number(cfg.throttle_factor, "kill_tiers.throttle_factor", 0.0, 1.0)
    return cfg
