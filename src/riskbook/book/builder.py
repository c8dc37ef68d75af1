"""`BookBuilder`: seed 003's Portfolio Integration Layer, stage by stage, with an audit.

Sleeves in, one risk-targeted, drawdown-governed target book out. The builder is a strategy
(``targets(view, portfolio)``) that :func:`riskbook.backtest` accepts directly; it keeps the
state the layer needs between decisions (sleeve return tracker, skill tracker, smoothed sleeve
weights, drawdown governor). Every stage records its output gross and net exposure and what it
did, so each number in the book can be traced.

Order of the stages (seed 003 s.3-4):

0. each sleeve normalised to unit gross and scaled to the sleeve vol target (lagged EWMA vol);
1. sleeve weights: HRP on the Ledoit-Wolf sleeve covariance (fallback ladder), ERC alongside as an
   alarm, per-sleeve cap, bounded skill tilt, regime tilt, probation ramp, EWMA smoothing;
2. assembly ``W = sum_s a_s w_s``, netted at symbol level, equivalent wrappers merged;
3. the one portfolio vol target, leverage clipped; then sizing once by the Kelly fraction;
4. caps (gross, net, per name, per cluster), tightened by the capital ladder's tier;
5. the smooth drawdown governor and the kill-tier overlay, from one drawdown measurement;
6. (the regime overlay's effects are applied inside stages 1 and 3; its reading is recorded);
7. the no-trade band against the weights held;
8. the capital ladder's dust threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from riskbook.book.caps import apply_caps, capper
from riskbook.book.config import BookConfig
from riskbook.book.governor import DrawdownGovernor, govern
from riskbook.book.ladder import apply_ladder, capital_tier
from riskbook.book.regime import VolTrendRegime
from riskbook.book.skill import SkillTracker
from riskbook.book.sleeves import Sleeve, daily_closes, unit_gross
from riskbook.book.stages import (
    allocate,
    assemble,
    asset_covariance,
    cap_and_renormalise,
    cost_gate,
    ex_ante_vol,
    no_trade_band,
    probation_factor,
    sleeve_covariance,
    sleeve_scales,
    smooth,
    vol_target,
)
from riskbook.book.tracker import SleeveReturnTracker
from riskbook.errors import ConfigError
from riskbook.estimate import ewma_volatility
from riskbook.execute import Costs


@dataclass(frozen=True)
class StageRecord:
    """What one stage did: gross and net exposure after it, and its details."""

    stage: str
    gross: float
    net: float
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetBook:
    """The layer's output at one decision: final weights, sleeve weights, and the audit."""

    time: np.datetime64
    symbols: tuple[str, ...]
    weights: np.ndarray
    sleeve_weights: dict[str, float]
    audit: tuple[StageRecord, ...]

    def weights_series(self) -> pd.Series:
        return pd.Series(self.weights, index=list(self.symbols), name="weight")

    def audit_frame(self) -> pd.DataFrame:
        """One row per stage: name, gross and net after it, and the details."""
        return pd.DataFrame(
            [(r.stage, r.gross, r.net, r.info) for r in self.audit],
            columns=["stage", "gross", "net", "info"],
        )


def _vol(w: np.ndarray, cov: np.ndarray | None, periods_per_year: float) -> float:
    return 0.0 if cov is None or not w.any() else ex_ante_vol(w, cov, periods_per_year)


def _record(stage: str, W: np.ndarray, **info: Any) -> StageRecord:
    return StageRecord(stage, float(np.abs(W).sum()), float(W.sum()), info)


class BookBuilder:
    """Seed 003's integration layer as a strategy.

    Parameters
    ----------
    sleeves
        The promoted sleeves (objects with ``name``, ``style`` and ``weights(view)``).
    config
        A :class:`BookConfig`; seed 003's defaults when None.
    regime
        A regime detector (``detect(view) -> Regime``); the built-in ``VolTrendRegime`` when
        None and the regime overlay is enabled.
    costs
        The cost model of stage 7's cost gate (anything :meth:`riskbook.execute.Costs.resolve`
        takes: basis points, ``"ib"``, a ``Costs``); None leaves the gate off. Pass the costs
        the backtest charges so the gate and the bill agree.
    edge
        The expected edge of a trade in bps of its value: None for ``turnover.edge_bps``, or a
        callable ``(view, symbols) -> bps per symbol`` (e.g. from a sleeve's forecasts).

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> from riskbook.book import BookBuilder, demo_sleeves
    >>> data = load_sp500().slice("2015-01-01", "2016-12-30")
    >>> builder = BookBuilder(demo_sleeves())
    >>> for t in data.dates[::5]:
    ...     book = builder.build(data.until(t))
    >>> [r.stage for r in book.audit][:4]
    ['0 sleeves', '1 allocation', '2 assemble', '3 vol target']
    >>> bool(abs(book.weights).sum() <= 2.0 + 1e-12)
    True
    """

    def __init__(
        self,
        sleeves: list[Sleeve],
        config: BookConfig | None = None,
        *,
        regime: Any = None,
        costs: Any = None,
        edge: Any = None,
    ) -> None:
        self.config = config or BookConfig()
        self.costs = None if costs is None else Costs.resolve(costs)
        if edge is not None and not callable(edge):
            raise ConfigError(
                "edge must be None or a callable (view, symbols) -> bps", parameter="edge"
            )
        self.edge = edge
        names = [s.name for s in sleeves]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ConfigError("two sleeves share a name", parameter="sleeves", name=dup)
        if not sleeves:
            raise ConfigError("the book needs at least one sleeve", parameter="sleeves")
        self.sleeves: dict[str, Sleeve] = {s.name: s for s in sleeves}
        self.demoted: set[str] = set()
        self.tracker = SleeveReturnTracker()
        self.skill = SkillTracker.from_config(self.config.allocation)
        self.governor = DrawdownGovernor(self.config.governor)
        if regime is None and self.config.regime.enabled:
            regime = VolTrendRegime()
        self.regime = regime
        self._sleeve_weights: dict[str, float] = {}
        self._last_allocation_day: np.datetime64 | None = None
        self._event_refresh = False
        self.last_book: TargetBook | None = None
        self._history: list[tuple] = []
        self._sleeve_history: list[tuple[np.datetime64, dict[str, float]]] = []
        #: Equity assumed by :meth:`build` when no portfolio is given (capital ladder, dust).
        self.notional_equity = 1_000_000.0

    # ------------------------------------------------------------------ promotion gate
    def promote(self, sleeve: Sleeve) -> None:
        """Add a sleeve; it earns capital after ``min_history`` days, on probation."""
        if sleeve.name in self.sleeves and sleeve.name not in self.demoted:
            raise ConfigError(
                "a sleeve with this name is already in the book",
                parameter="sleeves",
                name=sleeve.name,
            )
        self.sleeves[sleeve.name] = sleeve
        self.demoted.discard(sleeve.name)

    def demote(self, name: str) -> None:
        """Set a sleeve's weight to zero from the next decision on."""
        if name not in self.sleeves:
            raise ConfigError("no such sleeve", parameter="sleeves", name=name)
        self.demoted.add(name)

    # ------------------------------------------------------------------ strategy interface
    def targets(self, view: Any, portfolio: Any = None) -> np.ndarray:
        """The final book's weights, aligned with ``view.symbols`` (for :func:`riskbook.backtest`)."""
        return self.build(view, portfolio).weights

    def refresh(self, view: Any, portfolio: Any = None) -> TargetBook:
        """An event-driven extra rebalance: symbol targets only, within fixed sleeve weights.

        Every stage runs as in :meth:`build` except stage 1: the sleeve weights of the last
        allocation are reused and the sleeve covariance is not recomputed (seed 003: events never
        re-estimate the cross-sleeve risk intraday). The audit's stage 1 says so.

        Examples
        --------
        >>> from riskbook.datasets import load_sp500
        >>> from riskbook.book import BookBuilder, demo_sleeves
        >>> data = load_sp500().slice("2015-01-01", "2015-12-31")
        >>> builder = BookBuilder(demo_sleeves())
        >>> for t in data.dates[:-1]:
        ...     _ = builder.build(data.until(t))
        >>> book = builder.refresh(data.until(data.dates[-1]))
        >>> book.audit[1].info
        {'reused': True, 'reason': 'event refresh'}
        """
        self._event_refresh = True
        try:
            return self.build(view, portfolio)
        finally:
            self._event_refresh = False

    def build(self, view: Any, portfolio: Any = None) -> TargetBook:
        """Run stages 0-8 at the view's time and return the target book with its audit."""
        cfg = self.config
        ppy = cfg.periods_per_year
        symbols = view.symbols
        n = len(symbols)
        if portfolio is not None:
            prices = np.where(portfolio.positions != 0, portfolio.prices, 0.0)
            equity = float(portfolio.equity)
            current = portfolio.positions * prices / equity if equity > 0 else np.zeros(n)
        else:  # a book without an account: sized for a notional equity
            equity, current = self.notional_equity, np.zeros(n)
        audit: list[StageRecord] = []

        # sleeve returns through the last visible bar, then this decision's sleeve targets
        if cfg.warmup_days > 0 and len(self.tracker) == 0:
            self._warm_up(view, cfg.warmup_days)
        self.tracker.update(view)
        self.skill.update(self.tracker)
        unit = self._sleeve_targets(view)
        self.tracker.record(view.time, unit)
        active = [k for k, w in unit.items() if w is not None]

        # asset covariance of the names any sleeve trades (stages 0 and 3)
        involved = np.zeros(n, dtype=bool)
        for k in active:
            involved |= unit[k] != 0
        idx = np.flatnonzero(involved)
        window = cfg.portfolio_vol.window
        close = daily_closes(view)[1][-window - 1 :, idx]  # daily bars, on minute data too
        cov_sub, estimator = (None, "none")
        if len(idx) and len(close) > 2:
            rets = close[1:] / close[:-1] - 1.0
            cov_sub, estimator = asset_covariance(rets, cfg.portfolio_vol)

        # Stage 0
        _dates, R, names = self.tracker.returns(window=cfg.allocation.window)
        counts = {nm: self.tracker.observations(nm) for nm in names}
        realised = {}
        for i, nm in enumerate(names):
            r = R[i][~np.isnan(R[i])]
            if nm in active and len(r) >= cfg.sleeve_vol.min_history:
                vol = ewma_volatility(r[:, None], cfg.sleeve_vol.halflife, periods_per_year=ppy)
                realised[nm] = float(vol[0])
        sub_unit = {k: unit[k][idx] for k in active}
        scales, info0 = sleeve_scales(sub_unit, realised, cov_sub, cfg.sleeve_vol, ppy)
        ready = [
            k for k in active if counts.get(k, 0) >= cfg.sleeve_vol.min_history and scales[k] > 0
        ]
        waiting = sorted(set(active) - set(ready))
        # sleeve-level stages report the gross before netting: each scaled sleeve holds `scale`
        equal = sum(scales[k] for k in ready) / len(ready) if ready else 0.0
        audit.append(
            StageRecord("0 sleeves", equal, float("nan"), {**info0, "warming_up": waiting})
        )

        # Regime reading (stage 6's effects land in stages 1 and 3)
        regime_info: dict[str, Any] = {}
        target_vol = cfg.portfolio_vol.target
        regime_tilt = {k: 1.0 for k in ready}
        if self.regime is not None:
            reading = self.regime.detect(view)
            gated = reading.confidence >= cfg.regime.min_confidence
            regime_info = {
                "regime": reading.name,
                "confidence": reading.confidence,
                "applied": gated,
            }
            if gated:
                goal = cfg.regime.vol_targets.get(reading.name, target_vol)
                lo, hi = cfg.portfolio_vol.band
                target_vol = float(
                    np.clip(target_vol + reading.confidence * (goal - target_vol), lo, hi)
                )
                tilts = cfg.regime.sleeve_tilts.get(reading.name, {})
                for k in ready:
                    m = tilts.get(getattr(self.sleeves[k], "style", "neutral"), 1.0)
                    m = 1.0 + reading.confidence * (m - 1.0)
                    regime_tilt[k] = float(
                        np.clip(m, 1 - cfg.regime.max_tilt, 1 + cfg.regime.max_tilt)
                    )
            regime_info |= {"vol_target": target_vol, "sleeve_tilts": regime_tilt}

        # Stage 1
        a = self._allocate(view, ready, audit, regime_tilt, counts)
        sleeve_w = np.array([a.get(k, 0.0) for k in ready])
        last = audit[-1]
        audit[-1] = StageRecord(
            last.stage, float(sum(sleeve_w * [scales[k] for k in ready])), last.net, last.info
        )

        # Stage 2
        if ready:
            U = np.vstack([sub_unit[k] for k in ready])
            W_sub, info2 = assemble(
                sleeve_w,
                np.array([scales[k] for k in ready]),
                U,
                tuple(symbols[i] for i in idx),
                cfg.netting,
            )
        else:
            W_sub, info2 = np.zeros(len(idx)), {}
        W = np.zeros(n)
        W[idx] = W_sub
        audit.append(_record("2 assemble", W, **info2))

        # Stage 3 and sizing: the full-Kelly book is scaled to target / kelly (its leverage bounds
        # scaled alike), then sized once by kelly, so the executed book carries the vol target
        # and the configured leverage bounds, and no later stage rescales it for volatility.
        kelly = cfg.kelly_fraction
        tier = capital_tier(equity, cfg.ladder) if cfg.ladder.enabled else None

        def caps(x: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
            return apply_caps(
                x,
                symbols,
                cfg.caps,
                gross_cap=None if tier is None else tier.gross_cap,
                per_name_cap=None if tier is None else tier.per_name_cap,
            )

        fast_caps = capper(
            symbols,
            cfg.caps,
            gross_cap=None if tier is None else tier.gross_cap,
            per_name_cap=None if tier is None else tier.per_name_cap,
        )

        def caps_full_kelly(x_sub: np.ndarray) -> np.ndarray:
            full = np.zeros(n)
            full[idx] = x_sub * kelly
            return fast_caps(full)[idx] / kelly

        if cov_sub is not None and W_sub.any():
            full_kelly = replace(
                cfg.portfolio_vol, leverage=tuple(x / kelly for x in cfg.portfolio_vol.leverage)
            )
            W_sub, info3 = vol_target(
                W_sub, cov_sub, target_vol / kelly, full_kelly, ppy, limits=caps_full_kelly
            )
            W[idx] = W_sub
        else:
            info3 = {"ex_ante_vol": 0.0, "leverage": 0.0}
        audit.append(_record("3 vol target", W, estimator=estimator, **info3))
        W = W * kelly
        audit.append(_record("3 sizing", W, kelly_fraction=kelly, executed_vol_target=target_vol))

        # Stage 4, with the capital ladder's tier
        W, info4 = caps(W)
        audit.append(_record("4 caps", W, **info4))

        # Stage 5
        W, info5 = govern(
            W,
            current,
            equity,
            view.time,
            self.governor,
            cfg.kill_tiers,
            vol_target=target_vol if cfg.governor.vol_adjusted else None,
            symbols=symbols,
        )
        audit.append(_record("5 governor", W, **info5))
        audit.append(_record("6 regime", W, **regime_info))

        # Stage 7. The band keeps the weights held for small moves, but it must not undo the
        # governor going flat, nor break a cap: caps are re-imposed after it (they only reduce).
        if info5.get("tier") == "FLATTEN" or info5.get("in_cooloff"):
            info7 = {"held_by_band": 0, "band": cfg.turnover.no_trade_band, "note": "flat: no band"}
        else:
            W, info7 = no_trade_band(W, current, cfg.turnover.no_trade_band)
            if self.costs is not None and cfg.turnover.cost_gate:
                prices = view.close[-1]
                edge = (
                    cfg.turnover.edge_bps
                    if self.edge is None
                    else np.asarray(self.edge(view, symbols), dtype=float)
                )
                W, gate = cost_gate(W, current, equity, prices, self.costs, edge)
                info7["cost_gate"] = gate
            W, recheck = caps(W)
            if recheck["gross_multiplier"] != 1.0 or recheck["clipped"] or recheck["net_trimmed"]:
                info7["caps_reimposed"] = {
                    k: recheck[k] for k in ("clipped", "gross_multiplier", "net_trimmed")
                }
        audit.append(_record("7 turnover", W, **info7))

        # Stage 8
        if cfg.ladder.enabled:
            W, info8 = apply_ladder(W, symbols, equity, cfg.ladder)
        else:
            info8 = {"enabled": False}
        audit.append(_record("8 capital ladder", W, **info8))

        book = TargetBook(view.time, symbols, W, {k: float(v) for k, v in a.items()}, tuple(audit))
        self.last_book = book
        self._sleeve_history.append((view.time, book.sleeve_weights))
        self._history.append(
            (
                view.time,
                equity,
                info5["drawdown"],
                info5["multiplier"],
                info5["factor"],
                info5["tier"],
                info5["in_cooloff"],
                regime_info.get("regime", ""),
                target_vol,
                info3.get("ex_ante_vol", 0.0) * kelly,
                info3.get("leverage", 0.0) * kelly,
                _vol(W[idx], cov_sub, ppy),
                float(np.abs(W).sum()),
                float(W.sum()),
            )
        )
        return book

    def sleeve_weights_frame(self) -> pd.DataFrame:
        """The sleeve weights (stage 1's allocation) at every decision, one column a sleeve.

        A sleeve not allocated at a decision (warming up, demoted) has weight 0 there.

        Examples
        --------
        >>> from riskbook.datasets import load_sp500
        >>> from riskbook.book import BookBuilder, BookConfig, demo_sleeves
        >>> data = load_sp500().slice("2013-01-01", "2015-06-30")
        >>> builder = BookBuilder(demo_sleeves(), BookConfig(warmup_days=252))
        >>> _ = builder.build(data.until(data.dates[-1]))
        >>> builder.sleeve_weights_frame().round(3).iloc[0].to_dict()
        {'ts_trend': 0.196, 'xs_momentum': 0.192, 'st_reversal': 0.159, 'low_vol': 0.125, 'pairs': 0.328}
        """
        index = pd.DatetimeIndex([t for t, _ in self._sleeve_history], name="time")
        frame = pd.DataFrame([w for _, w in self._sleeve_history], index=index)
        return frame.reindex(columns=list(self.sleeves)).fillna(0.0)

    HISTORY_COLUMNS = (
        "equity",
        "drawdown",
        "governor",
        "tier_factor",
        "tier",
        "in_cooloff",
        "regime",
        "vol_target",
        "ex_ante_vol",
        "leverage",
        "final_vol",
        "gross",
        "net",
    )

    def history_frame(self) -> pd.DataFrame:
        """One row per :meth:`build`: the book's state at each decision.

        Columns: ``equity`` seen by the governor, ``drawdown``, ``governor`` (the multiplier
        m(DD), 0 in a cooloff), ``tier_factor`` (the kill tier's exposure factor) and ``tier``,
        ``in_cooloff``, ``regime``, ``vol_target`` (after the regime tilt), ``ex_ante_vol`` and
        ``leverage`` of the sized book before caps and governor, ``final_vol`` the ex-ante vol of
        the final book (on the same asset covariance, over the names the sleeves trade), and
        the final ``gross`` and ``net`` exposure. Stress reports read when the governor cut gross from here.

        Examples
        --------
        >>> from riskbook.datasets import load_sp500
        >>> from riskbook.book import BookBuilder, demo_sleeves
        >>> data = load_sp500().slice("2015-01-01", "2015-06-30")
        >>> builder = BookBuilder(demo_sleeves())
        >>> for t in data.dates[-3:]:
        ...     _ = builder.build(data.until(t))
        >>> last = builder.history_frame().iloc[-1]
        >>> float(last["drawdown"]), float(last["governor"]), last["tier"]
        (0.0, 1.0, 'NORMAL')
        """
        index = pd.DatetimeIndex([row[0] for row in self._history], name="time")
        return pd.DataFrame(
            [row[1:] for row in self._history], index=index, columns=list(self.HISTORY_COLUMNS)
        )

    def _warm_up(self, view: Any, days: int) -> None:
        """Replay the sleeves at the last ``days`` daily closes before ``view.time``, each on
        the data visible then, so the first decision already has sleeve return history."""
        daily = view.daily()
        past = daily.dates[daily.dates < view.time][-days:]
        for t in past:
            then = daily.until(t)
            self.tracker.update(then)
            self.tracker.record(t, self._sleeve_targets(then))

    def _sleeve_targets(self, view: Any) -> dict[str, np.ndarray | None]:
        """Each sleeve's unit-gross target at the view's time (None: no target, or demoted)."""
        unit: dict[str, np.ndarray | None] = {}
        for name, sleeve in self.sleeves.items():
            raw = None if name in self.demoted else sleeve.weights(view)
            unit[name] = None if raw is None else unit_gross(raw)
        return unit

    # ------------------------------------------------------------------ stage 1 details
    def _allocate(self, view, ready, audit, regime_tilt, counts) -> dict[str, float]:
        cfg = self.config.allocation
        day = view.time.astype("datetime64[D]")
        due = self._last_allocation_day is None or day != self._last_allocation_day
        if view.frequency == "minute":
            clock = pd.Timedelta(f"{self.config.turnover.allocation_time}:00").to_timedelta64()
            due = due and (view.time - day) >= clock
        if not due or (self._event_refresh and self._last_allocation_day is not None):
            kept = {k: self._sleeve_weights.get(k, 0.0) for k in ready}
            info = {"reused": True}
            if self._event_refresh:
                info["reason"] = "event refresh"
            audit.append(StageRecord("1 allocation", sum(kept.values()), float("nan"), info))
            return kept
        if not ready:
            self._sleeve_weights = {}
            audit.append(
                StageRecord("1 allocation", 0.0, float("nan"), {"note": "no sleeve ready"})
            )
            return {}
        _, R, names = self.tracker.returns(window=cfg.window)
        rows = [names.index(k) for k in ready]
        returns = R[rows].T
        info: dict[str, Any] = {}
        if len(ready) == 1:
            base = np.ones(1)
            info["method"] = "single sleeve"
        else:
            cov = sleeve_covariance(returns, cfg)
            base, info = allocate(cov, ready, cfg)
        tilt = self.skill.multipliers(ready, cfg.skill_tilt)
        regime = np.array([regime_tilt[k] for k in ready])
        target = cap_and_renormalise(base * tilt * regime, cfg.sleeve_cap)
        ramp = np.array(
            [
                probation_factor(counts.get(k, 0) - self.config.sleeve_vol.min_history, cfg)
                for k in ready
            ]
        )
        target = target * ramp
        previous = (
            np.array([self._sleeve_weights.get(k, 0.0) for k in ready])
            if self._sleeve_weights
            else None
        )
        final = smooth(target, previous, cfg)
        info |= {
            "skill_multipliers": dict(zip(ready, tilt.round(4).tolist(), strict=True)),
            "probation": dict(zip(ready, ramp.round(4).tolist(), strict=True)),
            "final": dict(zip(ready, final.round(6).tolist(), strict=True)),
        }
        self._sleeve_weights = dict(zip(ready, final.tolist(), strict=True))
        self._last_allocation_day = day
        audit.append(StageRecord("1 allocation", float(final.sum()), float("nan"), info))
        return dict(self._sleeve_weights)
