"""Sleeve skill from the rank information coefficient, for the bounded skill tilt of stage 1.

Each observation is one bar: the Spearman rank correlation, across the symbols with a return,
between a sleeve's weights (its forecast, fixed before the bar) and the symbols' realised returns
over the bar. Ranks are average ranks, so the many ties of a tercile or pairs sleeve (all its
zero weights) are handled; a bar where the weights or the returns are all equal has no defined IC
and is not an observation.

Mapping (seed 003: "skill_mult_s derives from ic_tracker.skill_score(s) in [0,1]",
multiplier ``clip(2 skill, 1 - kappa, 1 + kappa)``):

- ``IC_ewma``: EWMA (half-life ``halflife`` observations, newest weighted most) of the last
  ``window`` ICs;
- ``skill = clip(0.5 + IC_ewma / (2 ic_scale), 0, 1)``; with the default ``ic_scale = 1`` this is
  the linear map of IC in [-1, 1] onto [0, 1], so the multiplier is ``1 + IC_ewma`` clipped to
  ``[1 - kappa, 1 + kappa]``: a realistic daily IC of 0.05 tilts by 5%, and only a sleeve with
  a consistently large IC reaches the bound;
- ``skill = 0.5`` (multiplier 1, no tilt) until ``warmup`` observations exist.

Examples
--------
>>> import numpy as np
>>> skill = SkillTracker(window=5, halflife=5.0, warmup=3)
>>> rng = np.random.default_rng(0)
>>> for _ in range(3):
...     realised = rng.normal(size=6)
...     _ = skill.observe({"oracle": realised, "contrarian": -realised}, realised)
>>> skill.score("oracle"), skill.score("contrarian"), skill.score("unknown")
(1.0, 0.0, 0.5)
>>> skill.multipliers(["oracle", "contrarian", "unknown"], kappa=0.25)
array([1.25, 0.75, 1.  ])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from riskbook.errors import ConfigError

if TYPE_CHECKING:
    from riskbook.book.config import AllocationConfig
    from riskbook.book.tracker import SleeveReturnTracker

__all__ = ["SkillTracker", "rank_ic"]


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share the mean of their positions) of each row of ``x``.

    scipy.stats.rankdata gives the same numbers; this numpy version is several times faster on
    the short rows here, which matters because it runs once per bar of every backtest.
    """
    k, n = x.shape
    rows = np.arange(k)[:, None]
    order = np.argsort(x, axis=1, kind="stable")
    ordered = x[rows, order]
    starts = np.ones((k, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones((k, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    position = np.arange(n)
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((k, n))
    ranks[rows, order] = (first + last) / 2.0 + 1.0
    return ranks


def rank_ic(weights: np.ndarray, realised: np.ndarray) -> np.ndarray | float:
    """Spearman rank correlation of each row of ``weights`` with ``realised``, across symbols.

    Symbols whose realised return is not finite are left out. A row (or ``realised``) with no
    variation in ranks, a row with a non-finite weight, or fewer than 3 usable symbols, gives
    NaN.

    Parameters
    ----------
    weights
        Shape (K, N) or (N,): forecasts, one row per sleeve.
    realised
        Shape (N,): the returns that followed.

    Returns
    -------
    ndarray or float
        Shape (K,); a float for 1-D ``weights``.

    Examples
    --------
    >>> rank_ic(np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, -1.0]]),
    ...         np.array([0.01, 0.02, np.nan, 0.05])).round(4)
    array([ 1.   , -0.866])
    """
    w = np.asarray(weights, dtype=np.float64)
    r = np.asarray(realised, dtype=np.float64)
    valid = np.isfinite(r)
    rows = np.atleast_2d(w)[:, valid]
    if valid.sum() < 3:
        out = np.full(rows.shape[0], np.nan)
    else:
        ranks = _average_ranks(np.vstack((rows, r[valid])))  # one pass ranks both sides
        rw, rr = ranks[:-1], ranks[-1]
        rw -= rw.mean(axis=1, keepdims=True)
        rr -= rr.mean()
        denom = np.sqrt((rw * rw).sum(axis=1) * (rr * rr).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (rw @ rr) / denom
        out[denom == 0.0] = np.nan
        out[~np.isfinite(rows).all(axis=1)] = np.nan  # a forecast with a hole ranks nothing
    return out if w.ndim == 2 else float(out[0])


class SkillTracker:
    """Rolling, EWMA-weighted rank IC per sleeve, mapped to a skill score and a tilt multiplier.

    Parameters
    ----------
    window
        Most recent IC observations kept (``AllocationConfig.skill_window``, 21).
    halflife
        Half-life, in observations, of the EWMA over that window
        (``AllocationConfig.skill_halflife``, 63).
    warmup
        Observations before the score leaves 0.5 (``AllocationConfig.skill_warmup``, 40).
    ic_scale
        The EWMA IC that maps to the maximum skill 1 (1.0: skill is linear in IC).

    Examples
    --------
    >>> from riskbook.book.config import AllocationConfig
    >>> SkillTracker.from_config(AllocationConfig())
    SkillTracker(window=21, halflife=63.0, warmup=40, ic_scale=1.0, sleeves=0)
    """

    def __init__(
        self,
        *,
        window: int = 21,
        halflife: float = 63.0,
        warmup: int = 40,
        ic_scale: float = 1.0,
    ) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ConfigError("window must be an integer >= 1", parameter="skill_window")
        if not halflife > 0:
            raise ConfigError("halflife must be > 0", parameter="skill_halflife")
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise ConfigError("warmup must be an integer >= 0", parameter="skill_warmup")
        if not ic_scale > 0:
            raise ConfigError("ic_scale must be > 0", parameter="ic_scale")
        self.window, self.halflife, self.warmup = window, float(halflife), warmup
        self.ic_scale = float(ic_scale)
        # newest last, so decay ** age lines up with the deque
        self._decay = 0.5 ** (np.arange(window)[::-1] / self.halflife)
        self._ics: dict[str, deque[float]] = {}
        self._counts: dict[str, int] = {}
        self._cursor = 0

    @classmethod
    def from_config(cls, config: AllocationConfig, *, ic_scale: float = 1.0) -> SkillTracker:
        """A tracker with the ``skill_*`` knobs of an :class:`AllocationConfig`."""
        return cls(
            window=config.skill_window,
            halflife=config.skill_halflife,
            warmup=config.skill_warmup,
            ic_scale=ic_scale,
        )

    def __repr__(self) -> str:
        return (
            f"SkillTracker(window={self.window}, halflife={self.halflife}, warmup={self.warmup}, "
            f"ic_scale={self.ic_scale}, sleeves={len(self._ics)})"
        )

    # ----------------------------------------------------------------- writing
    def observe(self, weights: Mapping[str, np.ndarray], realised: np.ndarray) -> dict[str, float]:
        """Add one observation: each sleeve's forecast weights and the returns that followed.

        Parameters
        ----------
        weights
            Sleeve name to the weights held over the period (aligned with ``realised``).
        realised
            Each symbol's return over the period; NaN for a symbol without a price.

        Returns
        -------
        dict
            The IC of each sleeve for this observation (NaN: undefined, not counted).

        Examples
        --------
        >>> SkillTracker().observe({"s": np.array([3.0, 1.0, 2.0])}, np.array([0.3, -0.1, 0.0]))
        {'s': 1.0}
        """
        if not weights:
            return {}
        names = list(weights)
        ics = rank_ic(
            np.vstack([np.asarray(weights[n], dtype=np.float64) for n in names]), realised
        )
        out = {}
        for name, ic in zip(names, ics, strict=True):
            out[name] = float(ic)
            if np.isfinite(ic):
                self._ics.setdefault(name, deque(maxlen=self.window)).append(float(ic))
                self._counts[name] = self._counts.get(name, 0) + 1
        return out

    def update(self, tracker: SleeveReturnTracker) -> int:
        """Observe every bar the return tracker computed since the last call.

        Returns
        -------
        int
            Number of bars consumed.

        Examples
        --------
        >>> from riskbook.book.tracker import SleeveReturnTracker
        >>> SkillTracker().update(SleeveReturnTracker())
        0
        """
        start = self._cursor
        for period in tracker.periods(start):
            if period.weights:
                self.observe(period.weights, period.returns)
            self._cursor += 1
        return self._cursor - start

    # ----------------------------------------------------------------- reading
    def count(self, name: str) -> int:
        """Number of IC observations of a sleeve so far."""
        return self._counts.get(name, 0)

    def ic(self, name: str) -> float:
        """EWMA of the sleeve's last ``window`` ICs (NaN before the first observation)."""
        values = self._ics.get(name)
        if not values:
            return float("nan")
        decay = self._decay[-len(values) :]
        return float(np.dot(decay, np.fromiter(values, float, len(values))) / decay.sum())

    def score(self, name: str) -> float:
        """Skill in [0, 1]: 0.5 during warm-up or for an unknown sleeve.

        Examples
        --------
        >>> SkillTracker().score("new_sleeve")
        0.5
        """
        if self.count(name) < self.warmup or not self._ics.get(name):
            return 0.5
        return float(np.clip(0.5 + self.ic(name) / (2.0 * self.ic_scale), 0.0, 1.0))

    def multipliers(self, names: Sequence[str], kappa: float) -> np.ndarray:
        """The bounded tilt ``clip(2 skill, 1 - kappa, 1 + kappa)`` of each sleeve.

        Parameters
        ----------
        names
            Sleeves, in the order wanted.
        kappa
            The tilt bound (``AllocationConfig.skill_tilt``, 0.25), in [0, 1].

        Examples
        --------
        >>> SkillTracker().multipliers(["a", "b"], kappa=0.25)
        array([1., 1.])
        """
        if not 0.0 <= kappa <= 1.0:
            raise ConfigError("kappa must be in [0, 1]", parameter="skill_tilt")
        scores = np.array([self.score(n) for n in names], dtype=np.float64)
        return np.clip(2.0 * scores, 1.0 - kappa, 1.0 + kappa)
