"""Sleeves: self-contained strategies that map a point-in-time view to signed symbol weights.

A sleeve is a pure function of the :class:`~riskbook.data.view.PointInTimeView` it is given: no
state, nothing but the visible bars. ``weights(view)`` returns one signed weight per symbol of
``view.symbols`` (any scale: the integration layer normalises every sleeve to unit gross, seed 003
stage 0), or ``None`` while the sleeve lacks the history it needs. A symbol without a price in the
window (not listed yet, or delisted) gets weight 0.

Lookbacks are counted in daily bars; on minute data a sleeve reads the completed daily bars
(:meth:`~riskbook.data.view.PointInTimeView.daily`). The five demo sleeves are textbook signals
with their textbook parameters, not tuned to any data: they exist to exercise the integration
layer with genuinely different return streams.

Examples
--------
>>> import numpy as np
>>> from riskbook.datasets import load_sp500
>>> view = load_sp500().until("2015-06-30")
>>> [(s.name, s.style) for s in demo_sleeves()]  # doctest: +NORMALIZE_WHITESPACE
[('ts_trend', 'neutral'), ('xs_momentum', 'cyclical'), ('st_reversal', 'neutral'),
 ('low_vol', 'defensive'), ('pairs', 'neutral')]
>>> w = CrossSectionalMomentum().weights(view)
>>> float(np.abs(w).sum()), int((w > 0).sum()), int((w < 0).sum())
(1.0, 6, 6)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from riskbook.errors import ConfigError, TargetError

if TYPE_CHECKING:
    from riskbook.data.view import PointInTimeView

__all__ = [
    "STYLES",
    "CrossSectionalMomentum",
    "FunctionSleeve",
    "LowVolatility",
    "PairsStatArb",
    "ShortTermReversal",
    "Sleeve",
    "TimeSeriesTrend",
    "daily_closes",
    "demo_sleeves",
    "unit_gross",
]

#: The styles the regime overlay tilts (seed 003 stage 6: crisis favours defensive sleeves).
STYLES = ("defensive", "cyclical", "neutral")


def daily_closes(view: PointInTimeView) -> tuple[np.ndarray, np.ndarray]:
    """The visible daily bar stamps and closes of a view (completed sessions on minute data).

    Parameters
    ----------
    view
        A point-in-time view, daily or minute.

    Returns
    -------
    dates : ndarray
        ``datetime64[ns]`` stamps, one per visible daily bar.
    close : ndarray
        Closes, shape (len(dates), len(view.symbols)), read-only.

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> dates, close = daily_closes(load_sp500().until("1990-01-05"))
    >>> close.shape
    (4, 20)
    """
    if view.frequency == "daily":
        return view.dates, view.close
    daily = view.daily()
    return daily.dates, daily.close


def unit_gross(weights: Any) -> np.ndarray:
    """Scale weights to unit gross exposure, ``sum |w| = 1``; all-zero weights stay zero.

    Non-finite entries count as 0 (a symbol with no price cannot be held).

    Parameters
    ----------
    weights
        One signed weight per symbol.

    Returns
    -------
    ndarray
        A new float array.

    Examples
    --------
    >>> unit_gross([2.0, -1.0, 1.0])
    array([ 0.5 , -0.25,  0.25])
    >>> unit_gross([0.0, np.nan])
    array([0., 0.])
    """
    w = np.array(weights, dtype=np.float64)
    w[~np.isfinite(w)] = 0.0
    gross = np.abs(w).sum()
    return w / gross if gross > 0.0 else w


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ConfigError(f"style must be one of {STYLES}, got {style!r}", parameter="style")


def _check_lookback(value: int, parameter: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{parameter} must be an integer >= {minimum}", parameter=parameter)


class Sleeve(ABC):
    """Base of every sleeve: a named, styled, stateless map from a view to symbol weights.

    Subclasses set ``name`` and ``style`` and implement :meth:`weights`. Any object with those
    three members works where a sleeve is expected; subclassing only documents the contract.

    Attributes
    ----------
    name : str
        Unique within a book; keys the sleeve's return series and skill.
    style : {"defensive", "cyclical", "neutral"}
        What the regime overlay tilts.

    Examples
    --------
    >>> class LongFirst(Sleeve):
    ...     name, style = "long_first", "neutral"
    ...     def weights(self, view):
    ...         w = np.zeros(len(view.symbols)); w[0] = 1.0
    ...         return w
    >>> from riskbook.datasets import load_sp500
    >>> LongFirst().weights(load_sp500().until("2000-01-03"))[:3]
    array([1., 0., 0.])
    """

    name: str
    style: str

    @abstractmethod
    def weights(self, view: PointInTimeView) -> np.ndarray | None:
        """Signed weights aligned with ``view.symbols``, or None without enough history."""


@dataclass(frozen=True, repr=False)
class FunctionSleeve(Sleeve):
    """Wrap any callable ``view -> weights`` as a sleeve.

    The callable may return an array aligned with ``view.symbols``, a mapping or a pandas Series
    from symbol to weight (symbols left out get 0), or None (not enough history). A NaN weight on
    a symbol with no visible price is read as 0; any other non-finite weight is an error.

    Parameters
    ----------
    name
        The sleeve's name.
    fn
        The strategy: a pure function of the view.
    style
        ``"defensive"``, ``"cyclical"`` or ``"neutral"``.

    Raises
    ------
    TargetError
        From :meth:`weights`: wrong length, unknown symbol, or a non-finite weight on a listed
        symbol.

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> view = load_sp500().until("2010-01-04")
    >>> sleeve = FunctionSleeve("aapl_only", lambda v: {"AAPL": 1.0}, style="cyclical")
    >>> sleeve.weights(view)[:2], sleeve.style
    (array([1., 0.]), 'cyclical')
    """

    name: str
    fn: Callable[[PointInTimeView], Any]
    style: str = "neutral"

    def __post_init__(self) -> None:
        _check_style(self.style)
        if not callable(self.fn):
            raise ConfigError("fn must be callable: view -> weights", parameter="fn")

    def __repr__(self) -> str:
        return f"FunctionSleeve(name={self.name!r}, style={self.style!r})"

    def weights(self, view: PointInTimeView) -> np.ndarray | None:
        """Call the function and align its output with ``view.symbols``."""
        out = self.fn(view)
        if out is None:
            return None
        symbols = view.symbols
        if isinstance(out, Mapping) or (hasattr(out, "index") and hasattr(out, "to_numpy")):
            index = {s: i for i, s in enumerate(symbols)}
            w = np.zeros(len(symbols))
            for symbol, value in out.items():
                if symbol not in index:
                    raise TargetError(
                        f"sleeve {self.name!r} weights an unknown symbol", symbol=symbol
                    )
                w[index[symbol]] = float(value)
        else:
            w = np.array(out, dtype=np.float64).ravel()
            if w.shape != (len(symbols),):
                raise TargetError(
                    f"sleeve {self.name!r} returned {w.size} weights for {len(symbols)} symbols",
                    parameter="weights",
                )
        bad = ~np.isfinite(w)
        if bad.any():
            _, close = daily_closes(view)
            unlisted = ~np.isfinite(close[-1]) if len(close) else np.ones(len(symbols), bool)
            wrong = bad & ~unlisted
            if wrong.any():
                symbol = symbols[int(np.argmax(wrong))]
                raise TargetError(
                    f"sleeve {self.name!r} returned a non-finite weight", symbol=symbol
                )
            w[bad] = 0.0
        return w


def _simple_returns(window: np.ndarray) -> np.ndarray:
    return window[1:] / window[:-1] - 1.0


@dataclass(frozen=True)
class TimeSeriesTrend(Sleeve):
    """Time-series momentum: each symbol long or short by the sign of its own 12-month return.

    ``w_i ∝ sign(P_t / P_{t-L} - 1) / sigma_i`` with ``sigma_i`` the standard deviation of the
    last ``vol_window`` daily returns, so every position carries the same ex-ante risk; the
    result is scaled to unit gross. Moskowitz, Ooi & Pedersen (2012), "Time series momentum",
    Journal of Financial Economics 104(2):228-250 (12-month lookback, inverse-vol sizing; they
    use excess returns and an EWMA vol, here raw returns and an equally weighted 63-day vol).

    Style "neutral": the sign flips with the trend, so the sleeve is neither pro- nor
    counter-cyclical by construction.

    Parameters
    ----------
    lookback
        Bars in the trend return (252 = 12 months).
    vol_window
        Daily returns in the volatility estimate.

    Examples
    --------
    >>> from riskbook import MarketData
    >>> md = MarketData.from_arrays(np.arange(4).astype("datetime64[D]"), ["A", "B"],
    ...     close=[[10.0, 10.0], [11.0, 9.0], [10.0, 10.0], [12.0, 9.0]])
    >>> TimeSeriesTrend(lookback=3, vol_window=3).weights(md.until(md.dates[-1])).round(4)
    array([ 0.4519, -0.5481])
    """

    lookback: int = 252
    vol_window: int = 63
    name: str = "ts_trend"
    style: str = "neutral"

    def __post_init__(self) -> None:
        _check_lookback(self.lookback, "lookback")
        _check_lookback(self.vol_window, "vol_window", 2)
        _check_style(self.style)

    def weights(self, view: PointInTimeView) -> np.ndarray | None:
        """Inverse-vol-scaled signs of the trailing return; None before ``lookback`` bars."""
        _, close = daily_closes(view)
        if len(close) <= max(self.lookback, self.vol_window):
            return None
        sign = np.sign(close[-1] / close[-1 - self.lookback] - 1.0)
        vol = _simple_returns(close[-1 - self.vol_window :]).std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = sign / vol  # NaN for a symbol missing a price, inf for a frozen price: both 0
        return unit_gross(raw)


def _terciles(score: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Indices of the lowest and highest thirds of the finite scores (ties by symbol order)."""
    valid = np.flatnonzero(np.isfinite(score))
    k = valid.size // 3
    if k == 0:
        return None
    order = valid[np.argsort(score[valid], kind="stable")]
    return order[:k], order[-k:]


@dataclass(frozen=True)
class CrossSectionalMomentum(Sleeve):
    """12-1 month cross-sectional momentum: long the top tercile, short the bottom tercile.

    The formation return runs from ``lookback`` bars ago to ``skip`` bars ago (skipping the
    last month, whose short-term reversal would contaminate it); the ``n // 3`` best symbols get
    ``+0.5 / k`` each and the ``n // 3`` worst ``-0.5 / k`` (equal weight, dollar neutral, unit
    gross). Jegadeesh & Titman (1993), "Returns to buying winners and selling losers",
    Journal of Finance 48(1):65-91.

    Style "cyclical": momentum crashes in sharp rebounds after market stress (Daniel &
    Moskowitz 2016, Journal of Financial Economics 122(2):221-247), so the crisis tilt trims it.

    Parameters
    ----------
    lookback
        Start of the formation period, in bars ago (252 = 12 months).
    skip
        End of the formation period, in bars ago (21 = 1 month).

    Examples
    --------
    >>> from riskbook import MarketData
    >>> md = MarketData.from_arrays(np.arange(3).astype("datetime64[D]"), list("ABC"),
    ...     close=[[10.0, 10.0, 10.0], [12.0, 9.0, 10.5], [1.0, 1.0, 1.0]])
    >>> CrossSectionalMomentum(lookback=2, skip=1).weights(md.until(md.dates[-1]))
    array([ 0.5, -0.5,  0. ])
    """

    lookback: int = 252
    skip: int = 21
    name: str = "xs_momentum"
    style: str = "cyclical"

    def __post_init__(self) -> None:
        _check_lookback(self.skip, "skip", 0)
        _check_lookback(self.lookback, "lookback", self.skip + 1)
        _check_style(self.style)

    def weights(self, view: PointInTimeView) -> np.ndarray | None:
        """Tercile long/short weights; None before ``lookback`` bars or with < 3 symbols."""
        _, close = daily_closes(view)
        if len(close) <= self.lookback:
            return None
        formation = close[-1 - self.skip] / close[-1 - self.lookback] - 1.0
        # a symbol delisted since the formation period cannot be traded now
        formation[~np.isfinite(close[-1])] = np.nan
        split = _terciles(formation)
        if split is None:
            return None
        low, high = split
        w = np.zeros(close.shape[1])
        w[high] = 0.5 / high.size
        w[low] = -0.5 / low.size
        return w


@dataclass(frozen=True)
class ShortTermReversal(Sleeve):
    """Short-term reversal: long last week's losers, short its winners, in proportion.

    ``w_i ∝ -(r_i - mean_j r_j)`` with ``r`` the return over the last ``lookback`` bars and the
    mean over the symbols with a price: the contrarian portfolio of Lehmann (1990), "Fads,
    martingales, and market efficiency", Quarterly Journal of Economics 105(1):1-28 (weekly
    returns), also Jegadeesh (1990), "Evidence of predictable behavior of security returns",
    Journal of Finance 45(3):881-898 (monthly). Dollar neutral, scaled to unit gross.

    Style "neutral": a market-neutral liquidity-provision trade.

    Parameters
    ----------
    lookback
        Bars in the formation return (5 = one week; 21 for Jegadeesh's monthly version).

    Examples
    --------
    >>> from riskbook import MarketData
    >>> md = MarketData.from_arrays(np.arange(2).astype("datetime64[D]"), list("ABC"),
    ...     close=[[10.0, 10.0, 10.0], [11.0, 10.0, 9.5]])
    >>> ShortTermReversal(lookback=1).weights(md.until(md.dates[-1])).round(4)
    array([-0.5,  0.1,  0.4])
    """

    lookback: int = 5
    name: str = "st_reversal"
    style: str = "neutral"

    def __post_init__(self) -> None:
        _check_lookback(self.lookback, "lookback")
        _check_style(self.style)

    def weights(self, view: PointInTimeView) -> np.ndarray | None:
        """Minus the demeaned trailing returns; None before ``lookback`` bars or < 2 symbols."""
        _, close = daily_closes(view)
        if len(close) <= self.lookback:
            return None
        r = close[-1] / close[-1 - self.lookback] - 1.0
        valid = np.isfinite(r)
        if valid.sum() < 2:
            return None
        w = np.zeros(r.size)
        w[valid] = r[valid].mean() - r[valid]
        return unit_gross(w)


@dataclass(frozen=True)
class LowVolatility(Sleeve):
    """Low volatility: long only, equal weight in the lowest-volatility tercile.

    Volatility is the standard deviation of the last ``vol_window`` daily returns; the
    ``n // 3`` least volatile symbols get ``1 / k`` each. Baker, Bradley & Wurgler (2011),
    "Benchmarks as limits to arbitrage: understanding the low-volatility anomaly", Financial
    Analysts Journal 67(1):40-54 (they sort on 5-year monthly vol into quintiles; a 1-year daily
    window and terciles suit a 20-stock universe).

    Style "defensive": low-volatility stocks fall least in market stress.

    Parameters
    ----------
    vol_window
        Daily returns in the volatility estimate (252 = 1 year).

    Examples
    --------
    >>> from riskbook import MarketData
    >>> md = MarketData.from_arrays(np.arange(3).astype("datetime64[D]"), list("ABC"),
    ...     close=[[10.0, 10.0, 10.0], [11.0, 10.1, 12.0], [10.0, 10.0, 10.0]])
    >>> LowVolatility(vol_window=2).weights(md.until(md.dates[-1]))
    array([0., 1., 0.])
    """

    vol_window: int = 252
    name: str = "low_vol"
    style: str = "defensive"

    def __post_init__(self) -> None:
        _check_lookback(self.vol_window, "vol_window", 2)
        _check_style(self.style)

    def weights(self, view: PointInTimeView) -> np.ndarray | None:
        """Equal weights on the least volatile third; None before ``vol_window`` bars."""
        _, close = daily_closes(view)
        if len(close) <= self.vol_window:
            return None
        vol = _simple_returns(close[-1 - self.vol_window :]).std(axis=0, ddof=1)
        split = _terciles(vol)
        if split is None:
            return None
        low, _ = split
        w = np.zeros(close.shape[1])
        w[low] = 1.0 / low.size
        return w


#: Pairs of the bundled universe matched by line of business (GICS sub-industry or industry),
#: fixed in advance rather than picked by in-sample co-movement.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("KO", "PEP"),  # soft drinks
    ("XOM", "CVX"),  # integrated oil and gas
    ("JPM", "BAC"),  # diversified banks
    ("HD", "BBY"),  # specialty retail (home improvement / electronics big-box)
    ("JNJ", "PFE"),  # pharmaceuticals
    ("MRK", "LLY"),  # pharmaceuticals
)


@lru_cache(maxsize=64)
def _pair_columns(
    symbols: tuple[str, ...], pairs: tuple[tuple[str, str], ...]
) -> tuple[np.ndarray, np.ndarray]:
    # cached because the symbol lookup would otherwise dominate the per-call cost
    index = {s: i for i, s in enumerate(symbols)}
    found = [(index[a], index[b]) for a, b in pairs if a in index and b in index]
    first = np.array([a for a, _ in found], dtype=np.intp)
    second = np.array([b for _, b in found], dtype=np.intp)
    return first, second


@dataclass(frozen=True)
class PairsStatArb(Sleeve):
    """Pairs trading on the z-score of the log price ratio of fixed, economically similar pairs.

    For each pair (a, b) the spread ``s = log P_a - log P_b`` over the last ``window`` bars gives
    ``z = (s_t - mean s) / std s``; when ``|z| > entry`` the rich leg is sold and the cheap leg
    bought, ``0.5`` each (``z > 0``: short a, long b); otherwise the pair is flat. The weights of
    all pairs are summed and scaled to unit gross; with no pair open the sleeve is flat (all 0).
    Gatev, Goetzmann & Rouwenhorst (2006), "Pairs trading: performance of a relative-value
    arbitrage rule", Review of Financial Studies 19(3):797-827. Unlike their rule, which holds a
    position until the prices converge, the position here closes once ``|z| <= entry``: this
    keeps the sleeve a pure function of the view, with no memory of when a trade was opened.

    Style "neutral": dollar neutral within each pair.

    Parameters
    ----------
    pairs
        ``(a, b)`` symbol pairs; pairs with a symbol outside the view's universe are skipped.
    window
        Bars in the z-score (60).
    entry
        ``|z|`` beyond which a pair is traded (1.0).

    Examples
    --------
    >>> from riskbook import MarketData
    >>> md = MarketData.from_arrays(np.arange(4).astype("datetime64[D]"), ["KO", "PEP"],
    ...     close=[[10.0, 10.0], [10.0, 10.0], [10.0, 10.0], [12.0, 10.0]])
    >>> PairsStatArb(window=4).weights(md.until(md.dates[-1]))
    array([-0.5,  0.5])
    """

    pairs: tuple[tuple[str, str], ...] = DEFAULT_PAIRS
    window: int = 60
    entry: float = 1.0
    name: str = "pairs"
    style: str = "neutral"

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", tuple((str(a), str(b)) for a, b in self.pairs))
        if not self.pairs or any(a == b for a, b in self.pairs):
            raise ConfigError("pairs must be a non-empty list of two distinct symbols each")
        _check_lookback(self.window, "window", 3)
        if not self.entry >= 0.0:
            raise ConfigError("entry must be >= 0", parameter="entry")
        _check_style(self.style)

    def weights(self, view: PointInTimeView) -> np.ndarray | None:
        """Open pairs at +-0.5 per leg, unit gross; None before ``window`` bars or no pair."""
        _, close = daily_closes(view)
        first, second = _pair_columns(view.symbols, self.pairs)
        if len(close) < self.window or first.size == 0:
            return None
        window = close[-self.window :]
        spread = np.log(window[:, first] / window[:, second])
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (spread[-1] - spread.mean(axis=0)) / spread.std(axis=0, ddof=1)
        # NaN z (a leg unlisted, or a flat spread) never passes the entry test
        side = np.where(np.abs(z) > self.entry, np.sign(z), 0.0)
        n = close.shape[1]  # bincount sums a symbol's legs when it sits in several pairs
        w = np.bincount(second, 0.5 * side, n) - np.bincount(first, 0.5 * side, n)
        return unit_gross(w)


def demo_sleeves() -> list[Sleeve]:
    """The five built-in demo sleeves with their textbook parameters.

    Returns
    -------
    list of Sleeve
        Time-series trend, cross-sectional momentum, short-term reversal, low volatility and
        pairs stat-arb, in that order.

    Examples
    --------
    >>> [s.name for s in demo_sleeves()]
    ['ts_trend', 'xs_momentum', 'st_reversal', 'low_vol', 'pairs']
    """
    return [
        TimeSeriesTrend(),
        CrossSectionalMomentum(),
        ShortTermReversal(),
        LowVolatility(),
        PairsStatArb(),
    ]
