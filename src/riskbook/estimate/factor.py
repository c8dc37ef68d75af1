"""Factor-model covariance: ``B Sigma_f B' + diag(residual variance)`` from OLS time-series betas.

This is the model of the user's seed 000 (a QuantConnect factor min-variance algorithm): each
asset is regressed on the factors with an intercept, ``r_i = alpha_i + B_i f + e_i``, the
factor covariance is Ledoit-Wolf shrunk, and residuals are taken as uncorrelated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskbook._labels import unwrap_returns
from riskbook.errors import ConfigError, DataError
from riskbook.estimate._checks import non_negative_int, period_scale, require_varying
from riskbook.estimate.sample import sample_covariance
from riskbook.estimate.shrinkage import ledoit_wolf

__all__ = ["FactorModel", "factor_model_covariance"]

FactorEstimator = str | Callable[[Any], Any]


@dataclass(frozen=True)
class FactorModel:
    """A fitted factor model; every field has the kind of the inputs (labelled if frames).

    Attributes
    ----------
    covariance
        N x N ``B Sigma_f B' + diag(residual_variance)``.
    loadings
        N x K betas ``B`` (rows assets, columns factors).
    residual_variance
        Length-N variances of the OLS residuals.
    factor_covariance
        K x K ``Sigma_f``.
    alpha
        Length-N OLS intercepts (mean return not explained by the factors).
    """

    covariance: np.ndarray | pd.DataFrame
    loadings: np.ndarray | pd.DataFrame
    residual_variance: np.ndarray | pd.Series
    factor_covariance: np.ndarray | pd.DataFrame
    alpha: np.ndarray | pd.Series


def factor_model_covariance(
    asset_returns: npt.ArrayLike | pd.DataFrame,
    factor_returns: npt.ArrayLike | pd.DataFrame | pd.Series,
    factor_estimator: FactorEstimator = "ledoit_wolf",
    *,
    residual_ddof: int = 0,
    periods_per_year: float | None = None,
) -> FactorModel:
    """Fit ``r_i = alpha_i + B_i f + e_i`` by OLS and return ``B Sigma_f B' + diag(var(e))``.

    Parameters
    ----------
    asset_returns
        T x N asset returns.
    factor_returns
        T x K factor returns on the same dates (same index if both are pandas objects).
    factor_estimator
        How ``Sigma_f`` is estimated: ``"ledoit_wolf"`` (default, as in seed 000: scikit-learn's
        ``LedoitWolf``, i.e. :func:`ledoit_wolf` with the scaled-identity target, 1/T),
        ``"sample"`` (:func:`sample_covariance` with ``ddof=residual_ddof``, so the whole model
        uses one normalisation) or a callable taking the T x K factor returns (of the kind
        given) and returning a K x K covariance.
    residual_ddof
        Residual variance is ``sum_t e_it^2 / (T - residual_ddof)``. Default 0, as the seed's
        ``np.var(residuals)`` and consistent with the 1/T Ledoit-Wolf factor covariance; with
        ``"sample"`` the model's variances then equal the sample variances exactly (OLS with an
        intercept splits ``var(r_i)`` into ``B_i Sigma_f B_i' + var(e_i)``). Use ``K + 1`` for
        the unbiased OLS residual variance.
    periods_per_year
        If given, ``covariance``, ``factor_covariance``, ``residual_variance`` and ``alpha`` are
        multiplied by it (loadings are scale-free).

    Returns
    -------
    FactorModel
        ``covariance`` (N x N), ``loadings`` (N x K), ``residual_variance`` (N),
        ``factor_covariance`` (K x K), ``alpha`` (N); DataFrames / Series labelled by asset and
        factor when the inputs were pandas objects, arrays otherwise.

    Raises
    ------
    DataError
        Fewer than 2 observations, NaN or infinite values (naming the column), misaligned dates,
        too few observations for the regression, or a constant or collinear factor.
    ConfigError
        Unknown ``factor_estimator``, a callable returning a matrix of the wrong shape, a bad
        ``residual_ddof`` or ``periods_per_year``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(0.0, 0.01, size=(500, 1))
    >>> r = f @ np.array([[0.5, 1.0, 1.5]]) + rng.normal(0.0, 0.005, size=(500, 3))
    >>> model = factor_model_covariance(r, f)
    >>> model.loadings.round(1).ravel().tolist()
    [0.5, 1.0, 1.5]
    """
    scale = period_scale(periods_per_year)
    residual_ddof = non_negative_int(residual_ddof, name="residual_ddof")
    if isinstance(factor_returns, pd.Series):
        factor_returns = factor_returns.to_frame()
    Y, assets = unwrap_returns(asset_returns, name="asset_returns")
    F, factors = unwrap_returns(factor_returns, name="factor_returns")
    _check_aligned(asset_returns, factor_returns, Y.shape[0], F.shape[0])
    T, K = F.shape
    if T - (K + 1) < 1 or residual_ddof >= T:
        raise DataError(
            f"{T} observations cannot fit {K} factor(s) with an intercept and residual_ddof="
            f"{residual_ddof}; at least {max(K + 2, residual_ddof + 1)} are needed",
            parameter="factor_returns",
        )
    require_varying(F, factors, why="a constant factor cannot be separated from the intercept")

    design = np.empty((T, K + 1))
    design[:, 0] = 1.0
    design[:, 1:] = F
    coef, _, rank, _ = np.linalg.lstsq(design, Y, rcond=None)
    if rank < K + 1:
        raise DataError(
            "factor returns are collinear; drop or combine factors", parameter="factor_returns"
        )
    alpha = coef[0]
    B = coef[1:].T
    resid = Y - design @ coef
    resid_var = np.einsum("ti,ti->i", resid, resid) / (T - residual_ddof)

    Sigma_f = _factor_covariance(factor_estimator, factor_returns, F, residual_ddof)
    # B Sigma_f B' evaluated as (B Sigma_f) B' is symmetric only up to rounding; averaging with
    # its transpose makes it exact so downstream symmetry checks see a clean matrix.
    cov = (B @ Sigma_f) @ B.T
    cov = 0.5 * (cov + cov.T)
    cov.flat[:: cov.shape[0] + 1] += resid_var

    if scale != 1.0:
        cov *= scale
        Sigma_f = Sigma_f * scale
        resid_var *= scale
        alpha = alpha * scale
    return _wrap(cov, B, resid_var, Sigma_f, alpha, assets, factors)


def _check_aligned(asset_returns: Any, factor_returns: Any, t_assets: int, t_factors: int) -> None:
    if t_assets != t_factors:
        raise DataError(
            f"asset returns have {t_assets} rows but factor returns {t_factors}",
            parameter="factor_returns",
        )
    if isinstance(asset_returns, pd.DataFrame) and isinstance(factor_returns, pd.DataFrame):
        a, f = asset_returns.index, factor_returns.index
        if not a.equals(f):
            pos = int(np.argmax(np.asarray(a != f)))
            raise DataError(
                "asset and factor returns are not on the same dates",
                date=a[pos],
                parameter="factor_returns",
                factor_date=f[pos],
            )


def _factor_covariance(
    estimator: FactorEstimator, factor_returns: Any, F: np.ndarray, ddof: int
) -> np.ndarray:
    K = F.shape[1]
    if estimator == "ledoit_wolf":
        return np.asarray(ledoit_wolf(F))
    if estimator == "sample":
        return np.asarray(sample_covariance(F, ddof=ddof))
    if not callable(estimator):
        raise ConfigError(
            f"factor_estimator must be 'ledoit_wolf', 'sample' or a callable, got {estimator!r}",
            parameter="factor_estimator",
        )
    try:
        Sigma_f = np.asarray(estimator(factor_returns), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"factor_estimator did not return a numeric matrix: {exc}",
            parameter="factor_estimator",
        ) from exc
    if Sigma_f.shape != (K, K) or not np.isfinite(Sigma_f).all():
        raise ConfigError(
            f"factor_estimator must return a finite {K} x {K} matrix, got shape {Sigma_f.shape}",
            parameter="factor_estimator",
        )
    return 0.5 * (Sigma_f + Sigma_f.T)


def _wrap(
    cov: np.ndarray,
    B: np.ndarray,
    resid_var: np.ndarray,
    Sigma_f: np.ndarray,
    alpha: np.ndarray,
    assets: list[str] | None,
    factors: list[str] | None,
) -> FactorModel:
    if assets is None and factors is None:
        return FactorModel(cov, B, resid_var, Sigma_f, alpha)
    a = assets if assets is not None else [f"asset {i}" for i in range(B.shape[0])]
    f = factors if factors is not None else [f"factor {k}" for k in range(B.shape[1])]
    return FactorModel(
        covariance=pd.DataFrame(cov, index=a, columns=a),
        loadings=pd.DataFrame(B, index=a, columns=f),
        residual_variance=pd.Series(resid_var, index=a, name="residual_variance"),
        factor_covariance=pd.DataFrame(Sigma_f, index=f, columns=f),
        alpha=pd.Series(alpha, index=a, name="alpha"),
    )
