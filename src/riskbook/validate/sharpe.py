"""Is a Sharpe ratio real? Probabilistic and deflated Sharpe ratios, minimum track record length.

Bailey & López de Prado (2012), "The Sharpe Ratio Efficient Frontier", Journal of Risk 15(2),
give the distribution of an estimated Sharpe ratio under non-normal returns, hence the
probabilistic Sharpe ratio (PSR) and the minimum track record length (MinTRL). Bailey & López de
Prado (2014), "The Deflated Sharpe Ratio", Journal of Portfolio Management 40(5), deflate the
PSR for the number of strategies tried (DSR). Seed 003 section 8 adds the diversification uplift
of combining equal-risk sleeves.

Every Sharpe ratio here is per period (daily returns give a daily Sharpe ratio): the formulas
are in observation units, so annualised inputs must be converted first (divide a Sharpe ratio by
``sqrt(periods_per_year)`` and a variance of Sharpe ratios by ``periods_per_year``). Skewness
and kurtosis are the population (``1/T``) standardised central moments, and kurtosis is the plain
(non-excess) one: 3 for a normal distribution.

Examples
--------
>>> import numpy as np
>>> from riskbook.validate.sharpe import deflated_sharpe
>>> # Bailey & López de Prado (2014): 100 trials, annualised SR 2.5 over 1250 days
>>> round(deflated_sharpe(sr=2.5 / np.sqrt(250), n_obs=1250, skew=-3, kurtosis=10,
...                       n_trials=100, sr_variance=0.5 / 250), 4)
0.9004
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from riskbook._labels import Labels, unwrap_returns
from riskbook.errors import ConfigError, DataError

__all__ = [
    "deflated_sharpe",
    "expected_combined_sharpe",
    "expected_max_sharpe",
    "min_track_record_length",
    "probabilistic_sharpe",
    "sharpe_ratio",
]

Returns = np.ndarray | pd.DataFrame | pd.Series | Sequence[float]
Result = float | np.ndarray | pd.Series


# --- Input handling ---------------------------------------------------------------------------


def _unwrap(returns: Any) -> tuple[np.ndarray, Labels | None, bool]:
    """A T x N array, its labels, and whether the caller gave one series (answer is a scalar)."""
    if isinstance(returns, pd.Series):
        # via a frame, so a NaN is reported with its date
        returns = returns.to_frame(name=str(returns.name) if returns.name is not None else "0")
        scalar = True
    else:
        scalar = np.ndim(returns) == 1
    X, labels = unwrap_returns(returns, min_obs=2, name="returns")
    return X, labels, scalar


def _who(labels: Labels | None, j: int) -> str:
    return labels[j] if labels else f"column {j}"


def _moments(
    X: np.ndarray, labels: Labels | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per-column Sharpe ratio (ddof=1), population skewness and (non-excess) kurtosis, T."""
    flat = np.ptp(X, axis=0) == 0
    if flat.any():
        # Exact test: a constant series can leave rounding noise in x - mean, so the computed
        # variance need not be exactly zero and the Sharpe ratio would come out huge, not NaN.
        j = int(np.argmax(flat))
        raise DataError(
            "returns have zero variance: the Sharpe ratio is undefined",
            symbol=_who(labels, j),
            parameter="returns",
        )
    T = X.shape[0]
    mu = X.mean(axis=0)
    d = X - mu
    d2 = d * d
    m2 = d2.mean(axis=0)
    m3 = (d2 * d).mean(axis=0)
    m4 = (d2 * d2).mean(axis=0)
    sr = mu / np.sqrt(m2 * T / (T - 1))
    return sr, m3 / m2**1.5, m4 / m2**2, T


def _finite(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be numeric, got {value!r}", parameter=name) from exc
    if not np.isfinite(arr).all():
        raise ConfigError(f"{name} must be finite, got {value!r}", parameter=name)
    return arr


def _stats(
    returns: Any, sr: Any, n_obs: Any, skew: Any, kurtosis: Any, *, need_n_obs: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Labels | None, bool]:
    """(sr, n_obs, skew, kurtosis, labels, scalar) from a return series or from given moments."""
    if returns is not None:
        given = [
            name
            for name, v in (("sr", sr), ("n_obs", n_obs), ("skew", skew), ("kurtosis", kurtosis))
            if v is not None
        ]
        if given:
            raise ConfigError(
                f"give either returns or the moments ({', '.join(given)}), not both",
                parameter=given[0],
            )
        X, labels, scalar = _unwrap(returns)
        s, g3, g4, T = _moments(X, labels)
        return s, np.asarray(float(T)), g3, g4, labels, scalar
    if sr is None:
        raise ConfigError("give returns, or the moments starting with sr", parameter="sr")
    s = _finite(sr, "sr")
    T = np.asarray(np.nan)
    if need_n_obs:
        if n_obs is None:
            raise ConfigError("the moments form needs n_obs", parameter="n_obs")
        T = _finite(n_obs, "n_obs")
        if (T < 2).any():
            raise ConfigError(f"n_obs must be >= 2, got {n_obs!r}", parameter="n_obs")
    # A normal distribution unless told otherwise: the PSR then reduces to the classical test.
    g3 = _finite(0.0 if skew is None else skew, "skew")
    g4 = _finite(3.0 if kurtosis is None else kurtosis, "kurtosis")
    return s, T, g3, g4, None, all(np.ndim(v) == 0 for v in (s, T, g3, g4))


def _sr_variance_factor(sr: np.ndarray, g3: np.ndarray, g4: np.ndarray, from_data: bool):
    """``1 - g3 SR + (g4 - 1)/4 SR^2``: (T - 1) times the variance of the estimated SR."""
    v = 1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr**2
    if (v <= 0).any():
        # Population moments obey g4 >= 1 + g3^2, which makes v = (1 - g3 SR/2)^2 >= 0: zero only
        # for a two-point distribution, negative only for moments no distribution has.
        msg = "skew and kurtosis give a non-positive variance for the Sharpe ratio"
        if from_data:
            raise DataError(msg + " (returns take two values only?)", parameter="returns")
        raise ConfigError(
            msg + "; kurtosis must satisfy kurtosis >= 1 + skew**2", parameter="kurtosis"
        )
    return v


def _out(values: np.ndarray, labels: Labels | None, scalar: bool) -> Result:
    values = np.asarray(values, dtype=np.float64)
    if scalar:
        return float(values.reshape(-1)[0])
    if labels is not None and values.shape == (len(labels),):
        return pd.Series(values, index=labels.as_index())
    return values


# --- Public functions -------------------------------------------------------------------------


def sharpe_ratio(returns: Returns) -> Result:
    """Per-period Sharpe ratio: mean over standard deviation (``ddof=1``), no annualisation.

    Parameters
    ----------
    returns : array_like, Series or DataFrame
        A series of T returns (excess of the risk-free rate if that matters), or a T x N matrix,
        one series per column.

    Returns
    -------
    float, ndarray or Series
        A float for one series; one value per column otherwise (a Series for a DataFrame).

    Raises
    ------
    DataError
        Fewer than two observations, a NaN or infinite value, or a constant series
        (``parameter="returns"``, naming the column).

    Examples
    --------
    >>> round(sharpe_ratio([0.01, 0.02, -0.01, 0.03]), 6)
    0.731925
    >>> sharpe_ratio([[0.01, 0.0], [0.03, 0.02]]).round(6)
    array([1.414214, 0.707107])
    """
    X, labels, scalar = _unwrap(returns)
    sr, _, _, _ = _moments(X, labels)
    return _out(sr, labels, scalar)


def probabilistic_sharpe(
    returns: Returns | None = None,
    benchmark_sr: float | np.ndarray = 0.0,
    *,
    sr: float | np.ndarray | None = None,
    n_obs: float | np.ndarray | None = None,
    skew: float | np.ndarray | None = None,
    kurtosis: float | np.ndarray | None = None,
) -> Result:
    r"""Probability that the true Sharpe ratio exceeds ``benchmark_sr`` (Bailey & López de Prado 2012).

    .. math::

        PSR(SR^*) = \Phi\left(\frac{(\widehat{SR} - SR^*)\sqrt{T - 1}}
        {\sqrt{1 - \gamma_3 \widehat{SR} + \frac{\gamma_4 - 1}{4}\widehat{SR}^2}}\right)

    Parameters
    ----------
    returns : array_like, Series or DataFrame, optional
        T returns, or a T x N matrix (one PSR per column). The Sharpe ratio, T, skewness and
        kurtosis are measured on it. Leave it out to give the moments instead.
    benchmark_sr : float or ndarray, default 0.0
        The per-period Sharpe ratio to beat, :math:`SR^*`.
    sr, n_obs, skew, kurtosis : float or ndarray, keyword-only
        The moments form, used when ``returns`` is None: the per-period Sharpe ratio, the
        number of observations it came from, the skewness (default 0) and the non-excess
        kurtosis (default 3, normal). Arrays broadcast.

    Returns
    -------
    float, ndarray or Series
        PSR in [0, 1]; a Series for a DataFrame, an ndarray for a matrix or array moments.

    Raises
    ------
    DataError
        Bad returns (too short, NaN, constant), naming the column.
    ConfigError
        Both ``returns`` and moments, a missing ``sr`` or ``n_obs``, ``n_obs < 2``, non-finite
        values, or ``kurtosis < 1 + skew**2`` (no distribution has such moments).

    Examples
    --------
    >>> round(probabilistic_sharpe(sr=0.1, n_obs=250), 4)  # normal returns
    0.9423
    >>> round(probabilistic_sharpe([0.01, 0.02, -0.01, 0.03, 0.0], benchmark_sr=0.1), 4)
    0.8484
    """
    s, T, g3, g4, labels, scalar = _stats(returns, sr, n_obs, skew, kurtosis)
    sr_star = _finite(benchmark_sr, "benchmark_sr")
    v = _sr_variance_factor(s, g3, g4, returns is not None)
    psr = norm.cdf((s - sr_star) * np.sqrt(T - 1.0) / np.sqrt(v))
    return _out(psr, labels, scalar and np.ndim(sr_star) == 0)


def expected_max_sharpe(
    n_trials: float | np.ndarray, sr_variance: float | np.ndarray, mean: float = 0.0
) -> float | np.ndarray:
    r"""Expected maximum of ``n_trials`` independent Sharpe ratio estimates (Bailey & López de Prado 2014).

    .. math::

        E[\max_n \widehat{SR}_n] \approx \mu + \sqrt{V}\left((1-\gamma)\,\Phi^{-1}(1 - 1/N)
        + \gamma\,\Phi^{-1}(1 - 1/(N e))\right)

    with :math:`\gamma` the Euler-Mascheroni constant. It is the false-discovery threshold the
    deflated Sharpe ratio tests against.

    Parameters
    ----------
    n_trials : float or ndarray
        Number of independent trials :math:`N \geq 1`; may be fractional (an effective number of
        trials, when the trials are correlated).
    sr_variance : float or ndarray
        Variance :math:`V \geq 0` of the Sharpe ratios across the trials, in the units of the
        Sharpe ratio being tested (per period: an annualised variance divided by periods per
        year).
    mean : float, default 0.0
        Mean :math:`\mu` of the trials' Sharpe ratios (0 under the null of no skill).

    Returns
    -------
    float or ndarray

    Raises
    ------
    ConfigError
        ``n_trials < 1`` or ``sr_variance < 0`` or non-finite values, naming the parameter.

    Notes
    -----
    One trial has no selection bias: ``n_trials == 1`` returns ``mean`` exactly (the formula's
    :math:`\Phi^{-1}(0)` would be minus infinity there).

    Examples
    --------
    >>> round(expected_max_sharpe(100, 0.5), 4)  # the 2014 paper, annualised units
    1.7894
    >>> expected_max_sharpe(1, 0.5)
    0.0
    """
    N = _finite(n_trials, "n_trials")
    V = _finite(sr_variance, "sr_variance")
    mu = _finite(mean, "mean")
    if (N < 1).any():
        raise ConfigError(f"n_trials must be >= 1, got {n_trials!r}", parameter="n_trials")
    if (V < 0).any():
        raise ConfigError(f"sr_variance must be >= 0, got {sr_variance!r}", parameter="sr_variance")
    with np.errstate(divide="ignore"):
        z = (1 - np.euler_gamma) * norm.ppf(1 - 1 / N) + np.euler_gamma * norm.ppf(
            1 - 1 / (N * np.e)
        )
    out = mu + np.sqrt(V) * np.where(N == 1, 0.0, z)
    return float(out) if np.ndim(out) == 0 else out


def deflated_sharpe(
    returns: Returns | None = None,
    *,
    sr: float | np.ndarray | None = None,
    n_trials: float,
    sr_variance: float,
    skew: float | np.ndarray | None = None,
    kurtosis: float | np.ndarray | None = None,
    n_obs: float | np.ndarray | None = None,
) -> Result:
    """Deflated Sharpe ratio: the PSR against the best Sharpe ratio luck alone would give.

    ``DSR = PSR(SR*)`` with ``SR* = expected_max_sharpe(n_trials, sr_variance)`` (Bailey &
    López de Prado 2014): the probability that the selected strategy's true Sharpe ratio is
    positive once the selection among ``n_trials`` strategies, the sample length and
    non-normal returns are accounted for. Above 0.95: significant at 5%.

    Parameters
    ----------
    returns : array_like, Series or DataFrame, optional
        Returns of the selected strategy (a matrix: one DSR per column, same ``SR*``). Leave
        it out to give ``sr``, ``n_obs``, ``skew`` and ``kurtosis`` instead.
    sr, n_obs, skew, kurtosis : keyword-only
        The moments form, as in :func:`probabilistic_sharpe` (skew 0 and kurtosis 3 by
        default).
    n_trials : float
        Number of independent strategies tried, the selected one included.
    sr_variance : float
        Variance of the trials' Sharpe ratios, per period like ``sr`` (divide an annualised
        variance by the periods per year).

    Returns
    -------
    float, ndarray or Series

    Raises
    ------
    DataError, ConfigError
        As :func:`probabilistic_sharpe` and :func:`expected_max_sharpe`.

    Examples
    --------
    >>> round(deflated_sharpe(sr=0.15, n_obs=1000, n_trials=10, sr_variance=0.002), 4)
    0.9938
    >>> round(deflated_sharpe(sr=0.15, n_obs=1000, n_trials=1000, sr_variance=0.002), 4)
    0.5553
    """
    sr_star = expected_max_sharpe(n_trials, sr_variance)
    return probabilistic_sharpe(returns, sr_star, sr=sr, n_obs=n_obs, skew=skew, kurtosis=kurtosis)


def min_track_record_length(
    returns: Returns | None = None,
    *,
    sr: float | np.ndarray | None = None,
    skew: float | np.ndarray | None = None,
    kurtosis: float | np.ndarray | None = None,
    benchmark_sr: float = 0.0,
    confidence: float = 0.95,
) -> Result:
    r"""Observations needed before ``PSR(benchmark_sr)`` reaches ``confidence`` (Bailey & López de Prado 2012).

    .. math::

        MinTRL = 1 + \left(1 - \gamma_3 \widehat{SR} + \frac{\gamma_4 - 1}{4}\widehat{SR}^2\right)
        \left(\frac{\Phi^{-1}(c)}{\widehat{SR} - SR^*}\right)^2

    Parameters
    ----------
    returns : array_like, Series or DataFrame, optional
        Returns to measure the Sharpe ratio, skewness and kurtosis on (a matrix: one per
        column). Leave it out to give ``sr`` (and ``skew``, ``kurtosis``) instead.
    sr, skew, kurtosis : keyword-only
        The moments form: per-period Sharpe ratio, skewness (default 0), non-excess kurtosis
        (default 3).
    benchmark_sr : float, default 0.0
        Per-period Sharpe ratio to beat.
    confidence : float, default 0.95
        Required PSR, in [0.5, 1).

    Returns
    -------
    float, ndarray or Series
        A number of observations (in the period of ``sr``), not rounded: the track record
        is long enough once it has at least ``ceil`` of it.

    Raises
    ------
    ConfigError
        ``confidence`` outside [0.5, 1) (below one half the squared quantile would answer for
        ``1 - confidence``), or a Sharpe ratio not above ``benchmark_sr``: no length suffices
        (``parameter="benchmark_sr"``, naming the column).
    DataError
        Bad returns, as :func:`sharpe_ratio`.

    Examples
    --------
    >>> round(min_track_record_length(sr=0.1), 1)  # normal returns, 95%
    272.9
    >>> round(min_track_record_length(sr=0.1, skew=-1, kurtosis=6), 1)
    302.0
    """
    c = _finite(confidence, "confidence")
    if c.ndim or not 0.5 <= float(c) < 1:
        raise ConfigError(
            f"confidence must be a number in [0.5, 1), got {confidence!r}", parameter="confidence"
        )
    s, _, g3, g4, labels, scalar = _stats(returns, sr, None, skew, kurtosis, need_n_obs=False)
    sr_star = _finite(benchmark_sr, "benchmark_sr")
    edge = np.broadcast_to(s - sr_star, np.broadcast(s, sr_star).shape)
    if (edge <= 0).any():
        j = int(np.argmax(edge.reshape(-1) <= 0))
        raise ConfigError(
            f"the Sharpe ratio ({np.broadcast_to(s, edge.shape).reshape(-1)[j]:.6g}) does not "
            f"exceed benchmark_sr ({np.broadcast_to(sr_star, edge.shape).reshape(-1)[j]:.6g}): "
            "no track record is long enough",
            parameter="benchmark_sr",
            symbol=_who(labels, j % s.size) if returns is not None and not scalar else None,
        )
    v = _sr_variance_factor(s, g3, g4, returns is not None)
    mintrl = 1.0 + v * (norm.ppf(float(c)) / edge) ** 2
    return _out(mintrl, labels, scalar and np.ndim(sr_star) == 0)


def expected_combined_sharpe(
    sr: float | np.ndarray, n_sleeves: int | np.ndarray, avg_correlation: float | np.ndarray
) -> float | np.ndarray:
    r"""Sharpe ratio of an equal-risk combination of ``n_sleeves`` alike sleeves (seed 003 section 8).

    .. math::

        SR_p = SR \sqrt{\frac{K}{1 + (K - 1)\bar\rho}}

    for K sleeves with the same standalone Sharpe ratio SR and average pairwise return
    correlation :math:`\bar\rho`. An upper bound in practice: HRP/ERC are not mean-variance
    optimal, :math:`\bar\rho` rises in crises, and costs subtract (seed 003 says plan for
    less).

    Parameters
    ----------
    sr : float or ndarray
        Standalone Sharpe ratio of each sleeve (any period: the result is in the same one).
    n_sleeves : int or ndarray
        Number of sleeves K >= 1.
    avg_correlation : float or ndarray
        Average pairwise correlation, in (-1/(K-1), 1]: below that bound no correlation matrix
        has this average, and at it the combination has zero risk.

    Returns
    -------
    float or ndarray
        Broadcast over the three arguments.

    Raises
    ------
    ConfigError
        ``n_sleeves < 1`` or not whole, or a correlation out of range, naming the parameter.

    Examples
    --------
    >>> round(expected_combined_sharpe(0.6, 5, 0.2), 2)
    1.0
    >>> expected_combined_sharpe(0.6, [3, 5, 8], 0.0).round(2)
    array([1.04, 1.34, 1.7 ])
    """
    s = _finite(sr, "sr")
    K = _finite(n_sleeves, "n_sleeves")
    rho = _finite(avg_correlation, "avg_correlation")
    if (K < 1).any() or (np.round(K) != K).any():
        raise ConfigError(
            f"n_sleeves must be a whole number >= 1, got {n_sleeves!r}", parameter="n_sleeves"
        )
    denom = 1.0 + (K - 1.0) * rho
    if (rho > 1).any() or (rho < -1).any() or (denom <= 0).any():
        raise ConfigError(
            f"avg_correlation must lie in (-1/(n_sleeves-1), 1], got {avg_correlation!r}",
            parameter="avg_correlation",
        )
    out = s * np.sqrt(K / denom)
    return float(out) if np.ndim(out) == 0 else out
