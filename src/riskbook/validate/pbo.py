"""Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, López de Prado & Zhu (2017), "The Probability of Backtest Overfitting",
Journal of Computational Finance 20(4). Given the returns of N strategy configurations over the
same T periods, CSCV cuts time into S blocks and, for every way of choosing S/2 of them as the
in-sample (IS) half, picks the configuration with the best IS metric and asks where it ranks
out of sample (OOS), on the other half. If selection were skill the IS winner would rank high
OOS; the probability of backtest overfitting (PBO) is how often it ranks at or below the OOS
median.

Speed: with S = 16 there are C(16, 8) = 12,870 combinations. For the built-in metrics nothing is
recomputed per combination: each block's count, sum and sum of squares are taken once, and every
combination's IS and OOS metrics come out of one product of a 0/1 (combinations x blocks)
membership matrix with the (blocks x trials) block sums, done in chunks to bound memory.

Examples
--------
>>> import numpy as np
>>> from riskbook.validate.pbo import pbo
>>> rng = np.random.default_rng(0)
>>> noise = rng.standard_normal((400, 10))
>>> skill = noise.copy(); skill[:, 3] += 0.5  # trial 3 has a real edge
>>> pbo(skill, n_partitions=8).pbo
0.0
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskbook._labels import unwrap_returns
from riskbook.errors import ConfigError, DataError
from riskbook.validate.executor import SerialExecutor, resolve_executor

__all__ = ["PBOResult", "pbo"]

METRICS = ("sharpe", "mean", "total_return")
Metric = str | Callable[[np.ndarray], np.ndarray]

# Elements (combinations x trials) per chunk: about 8 MB per float array, a few arrays alive.
_CHUNK_ELEMENTS = 1 << 20


@dataclass(frozen=True, eq=False, repr=False)
class PBOResult:
    """What CSCV found; one entry per combination in each array, in ``is_blocks`` order.

    Attributes
    ----------
    pbo : float
        Share of combinations whose IS-best trial has a logit <= 0 (OOS rank at or below the
        median).
    logits : ndarray
        :math:`\\lambda = \\ln(w / (1 - w))` of the IS-best trial's relative OOS rank ``w``.
    oos_rank : ndarray
        ``w = rank / (N + 1)``, rank 1..N ascending (the best OOS trial has N; ties averaged).
    best_trial : ndarray of int
        Column index of the IS-best trial (the first column among IS ties).
    is_metric, oos_metric : ndarray
        That trial's metric in sample and out of sample.
    is_blocks : ndarray of int, shape (n_combinations, S/2)
        The blocks (0 = oldest) that made up the IS half; the rest were OOS.
    degradation_slope, degradation_intercept, degradation_r2 : float
        Least-squares fit ``oos_metric = slope * is_metric + intercept`` across combinations and
        its R^2 (NaN when ``is_metric`` does not vary). A negative slope: the better it looked
        in sample, the worse it did out of sample.
    prob_loss : float
        Share of combinations whose IS-best trial has an OOS metric below zero.
    n_partitions, n_combinations, block_size, rows_dropped : int
        S, C(S, S/2), rows per block, and the oldest rows left out so that S blocks of equal
        size fit (``T mod S``).
    metric : str
        The metric's name (``"sharpe"``, ``"mean"``, ``"total_return"`` or the callable's name).
    trials : tuple of str or None
        Column labels when the input was a DataFrame.
    """

    pbo: float
    logits: np.ndarray
    oos_rank: np.ndarray
    best_trial: np.ndarray
    is_metric: np.ndarray
    oos_metric: np.ndarray
    is_blocks: np.ndarray
    degradation_slope: float
    degradation_intercept: float
    degradation_r2: float
    prob_loss: float
    n_partitions: int
    n_combinations: int
    block_size: int
    rows_dropped: int
    metric: str
    trials: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # frozen means frozen: the arrays too
        for name in ("logits", "oos_rank", "best_trial", "is_metric", "oos_metric", "is_blocks"):
            getattr(self, name).flags.writeable = False

    @property
    def best_trial_names(self) -> list[str] | None:
        """Labels of the IS-best trials, when the input had labels."""
        if self.trials is None:
            return None
        return [self.trials[i] for i in self.best_trial]

    def __repr__(self) -> str:
        return (
            f"PBOResult(pbo={self.pbo:.4f}, prob_loss={self.prob_loss:.4f}, "
            f"degradation_slope={self.degradation_slope:.4g}, metric={self.metric!r}, "
            f"n_partitions={self.n_partitions}, n_combinations={self.n_combinations}, "
            f"block_size={self.block_size}, rows_dropped={self.rows_dropped})"
        )


def pbo(
    trial_returns: np.ndarray | pd.DataFrame,
    n_partitions: int = 16,
    metric: Metric = "sharpe",
    *,
    executor: Any = None,
    chunk_size: int | None = None,
) -> PBOResult:
    """Probability of backtest overfitting of choosing the best of N trials (CSCV).

    Parameters
    ----------
    trial_returns : ndarray or DataFrame, shape (T, N)
        Per-period returns, rows in time order, one column per trial (configuration) evaluated
        on the same periods. No NaN: pad or trim the trials to a common history first.
    n_partitions : int, default 16
        S, an even number >= 2 of contiguous blocks of equal size. When T is not a multiple of
        S, the ``T mod S`` oldest rows are left out (``rows_dropped`` in the result) so that the
        most recent data is always used. The work grows as C(S, S/2): 12,870 combinations for
        16, 2.7 million for 24.
    metric : {"sharpe", "mean", "total_return"} or callable, default "sharpe"
        How a trial is scored on a set of rows: per-period Sharpe ratio (mean / std with
        ``ddof=1``), mean return, or compounded total return ``prod(1 + r) - 1`` (returns must
        be >= -1). A callable gets a (rows x N) array, IS or OOS rows in time order, and must
        return N scores, higher being better; it is evaluated combination by combination (a
        Python loop, much slower than the built-in metrics).
    executor : optional
        Where the chunks of combinations run: anything
        :func:`~riskbook.validate.executor.resolve_executor` accepts. Default None runs them
        in this process. Results are identical whichever runs them. A callable ``metric`` must
        be picklable (a module-level function) to run on processes.
    chunk_size : int, optional
        Combinations per chunk; by default about 2**20 / N (memory stays near 10 MB per array).

    Returns
    -------
    PBOResult
        ``pbo``, the logits, the IS-best trial's IS and OOS metric per combination, the
        performance-degradation fit and the probability of loss.

    Raises
    ------
    ConfigError
        ``n_partitions`` odd, below 2 or not an integer; an unknown ``metric``; a callable
        metric returning the wrong shape or non-finite values; a bad ``chunk_size``.
    DataError
        ``trial_returns`` not 2-D, with fewer than 2 trials, fewer than 2 rows per block
        (``T < 2 S``), NaN or infinite values; for ``"sharpe"``, a trial constant over some half
        of the blocks (its Sharpe ratio is undefined there); for ``"total_return"``, a return
        below -1. All with ``parameter="trial_returns"`` and the trial (and date) named.

    Notes
    -----
    Ranks: the IS winner's OOS rank is its average rank among the N OOS metrics (as
    ``scipy.stats.rankdata(method="average")``): trials tied with it count half. IS ties go to
    the lowest column index, so identical duplicate trials do not change the answer. A logit of
    exactly zero (the OOS median, possible for odd N) counts as overfit.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> res = pbo(rng.standard_normal((403, 20)), n_partitions=8)
    >>> res.n_combinations, res.block_size, res.rows_dropped
    (70, 50, 3)
    >>> 0.0 <= res.pbo <= 1.0
    True
    """
    S = _check_partitions(n_partitions)
    metric_name, metric_fn = _check_metric(metric)
    if isinstance(trial_returns, pd.Series) or np.ndim(trial_returns) != 2:
        raise DataError(
            "trial_returns must be 2-D: one column per trial, at least 2 trials",
            parameter="trial_returns",
        )
    X, labels = unwrap_returns(trial_returns, min_obs=1, name="trial_returns")
    T, N = X.shape
    if N < 2:
        raise DataError(
            f"trial_returns has {N} trial(s); choosing among trials needs at least 2",
            parameter="trial_returns",
        )
    if T < 2 * S:
        raise DataError(
            f"trial_returns has {T} rows; n_partitions={S} needs at least {2 * S} "
            "(2 per block): use fewer partitions or more data",
            parameter="trial_returns",
        )
    dropped = T % S
    B = T // S
    X = X[dropped:]
    index = trial_returns.index[dropped:] if isinstance(trial_returns, pd.DataFrame) else None

    combos = np.array(list(itertools.combinations(range(S), S // 2)), dtype=np.intp)
    n_comb = len(combos)
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_ELEMENTS // N)
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(
            f"chunk_size must be a positive int, got {chunk_size!r}", parameter="chunk_size"
        )

    # A callable needs the rows themselves; the built-in metrics only need block sums.
    payload = X if metric_fn is not None else _block_statistics(X, S, B, metric_name, labels, index)
    tasks = [
        (combos[i : i + chunk_size], payload, metric_name, metric_fn, S, B)
        for i in range(0, n_comb, chunk_size)
    ]
    runner = SerialExecutor() if executor is None else resolve_executor(executor)
    parts = runner.map(_cscv_chunk, tasks)
    best, is_val, oos_val, rank = (np.concatenate(p) for p in zip(*parts, strict=True))

    w = rank / (N + 1)
    logits = np.log(w / (1 - w))
    slope, intercept, r2 = _degradation(is_val, oos_val)
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        oos_rank=w,
        best_trial=best,
        is_metric=is_val,
        oos_metric=oos_val,
        is_blocks=combos,
        degradation_slope=slope,
        degradation_intercept=intercept,
        degradation_r2=r2,
        prob_loss=float(np.mean(oos_val < 0)),
        n_partitions=S,
        n_combinations=n_comb,
        block_size=B,
        rows_dropped=dropped,
        metric=metric_name,
        trials=tuple(labels) if labels is not None else None,
    )


# --- Checks ------------------------------------------------------------------------------------


def _check_partitions(n_partitions: Any) -> int:
    if isinstance(n_partitions, bool) or not isinstance(n_partitions, int | np.integer):
        raise ConfigError(
            f"n_partitions must be an even int >= 2, got {n_partitions!r}",
            parameter="n_partitions",
        )
    S = int(n_partitions)
    if S < 2 or S % 2:
        raise ConfigError(
            f"n_partitions must be an even int >= 2 (IS and OOS take half the blocks each), "
            f"got {S}",
            parameter="n_partitions",
        )
    return S


def _check_metric(metric: Metric) -> tuple[str, Callable | None]:
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if metric not in METRICS:
        raise ConfigError(
            f"unknown metric {metric!r}: use one of {', '.join(METRICS)} or a callable",
            parameter="metric",
        )
    return metric, None


# --- Built-in metrics from block sufficient statistics ---------------------------------------


def _block_statistics(
    X: np.ndarray, S: int, B: int, metric: str, labels: Any, index: Any
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Per block and trial, the sums the metric of any union of blocks is a function of (S x N
    each), and the per-trial constants it also needs."""
    blocks = X.reshape(S, B, X.shape[1])
    if metric == "total_return":
        if (X < -1).any():
            r, c = (int(v[0]) for v in np.nonzero(X < -1))
            raise DataError(
                "a return below -1 makes the compounded total return meaningless",
                symbol=labels[c] if labels else f"column {c}",
                date=index[r] if index is not None else None,
                parameter="trial_returns",
            )
        wiped = blocks == -1
        # log1p(-1) = -inf would turn 0 * -inf into NaN in the membership product: count the
        # wipe-outs separately and keep the logs finite.
        logs = np.log1p(np.where(wiped, 0.0, blocks)).sum(axis=1)
        return (logs, wiped.sum(axis=1).astype(np.float64)), ()
    # Centre each trial first: the variance then comes from sums of small numbers, not from the
    # difference of two large ones (q - s^2/n), so it keeps its digits whatever the mean.
    centre = X.mean(axis=0)
    Xc = blocks - centre
    sums = Xc.sum(axis=1)
    if metric == "mean":
        return (sums,), (centre,)
    squares = np.einsum("sbn,sbn->sn", Xc, Xc)
    _check_constant_halves(blocks, S, labels)
    return (sums, squares), (centre,)


def _check_constant_halves(blocks: np.ndarray, S: int, labels: Any) -> None:
    """A trial constant over S/2 blocks has an undefined Sharpe ratio on some half: say so."""
    flat = np.ptp(blocks, axis=1) == 0  # (S, N), exact
    for j in np.nonzero(flat.sum(axis=0) >= S // 2)[0]:
        _, counts = np.unique(blocks[flat[:, j], 0, j], return_counts=True)
        if counts.max() >= S // 2:
            raise DataError(
                "trial is constant over half of the blocks: its Sharpe ratio is undefined "
                "there (drop it, or use metric='mean')",
                symbol=labels[j] if labels else f"column {j}",
                parameter="trial_returns",
            )


def _metric_from_sums(metric: str, stats: tuple[np.ndarray, ...], n: int) -> np.ndarray:
    """The metric of each (combination, trial) from its half's summed statistics."""
    if metric == "mean":
        sums, centre = stats
        return sums / n + centre
    if metric == "sharpe":
        sums, squares, centre = stats
        mean_c = sums / n
        var = (squares - sums * mean_c) / (n - 1)
        return (mean_c + centre) / np.sqrt(var)
    logs, wiped = stats
    return np.where(wiped > 0, -1.0, np.expm1(logs))


def _cscv_chunk(task: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IS-best trial, its IS and OOS metric and its average OOS rank, for some combinations.

    Module level so that process and Dask executors can pickle it.
    """
    combos, payload, metric, metric_fn, S, B = task
    if metric_fn is None:
        summed, fixed = payload
        member = np.zeros((len(combos), S))
        np.put_along_axis(member, combos, 1.0, axis=1)
        n = B * (S // 2)
        is_m = _metric_from_sums(metric, tuple(member @ a for a in summed) + fixed, n)
        # the complement's own product rather than total - IS: no cancellation in the OOS sums
        out = 1.0 - member
        oos_m = _metric_from_sums(metric, tuple(out @ a for a in summed) + fixed, n)
    else:
        is_m, oos_m = _callable_metrics(combos, payload, metric_fn, S, B)

    rows = np.arange(len(combos))
    best = np.argmax(is_m, axis=1)
    chosen = oos_m[rows, best]
    below = (oos_m < chosen[:, None]).sum(axis=1)
    tied = (oos_m == chosen[:, None]).sum(axis=1)  # includes the chosen trial itself
    rank = below + (tied + 1) / 2.0
    return best, is_m[rows, best], chosen, rank


def _callable_metrics(
    combos: np.ndarray, X: np.ndarray, fn: Callable, S: int, B: int
) -> tuple[np.ndarray, np.ndarray]:
    N = X.shape[1]
    blocks = X.reshape(S, B, N)
    is_m = np.empty((len(combos), N))
    oos_m = np.empty((len(combos), N))
    everything = np.arange(S)
    for k, c in enumerate(combos):
        rest = np.setdiff1d(everything, c, assume_unique=True)
        for target, chosen in ((is_m, c), (oos_m, rest)):
            value = np.asarray(fn(blocks[chosen].reshape(-1, N)), dtype=np.float64)
            if value.shape != (N,):
                raise ConfigError(
                    f"metric returned shape {value.shape}; expected ({N},), one score per trial",
                    parameter="metric",
                )
            if not np.isfinite(value).all():
                raise ConfigError("metric returned a non-finite score", parameter="metric")
            target[k] = value
    return is_m, oos_m


def _degradation(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares slope, intercept and R^2 of y on x."""
    dx = x - x.mean()
    dy = y - y.mean()
    sxx = float(dx @ dx)
    if sxx == 0 or not math.isfinite(sxx):
        return math.nan, math.nan, math.nan
    slope = float(dx @ dy) / sxx
    syy = float(dy @ dy)
    r2 = (float(dx @ dy) ** 2 / (sxx * syy)) if syy > 0 else math.nan
    return slope, float(y.mean() - slope * x.mean()), r2
