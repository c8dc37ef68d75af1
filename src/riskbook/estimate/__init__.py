"""Covariance and volatility estimators: T x N returns in, N x N matrices out (same kind).

Arrays in give arrays out; DataFrames in give labelled DataFrames (or Series) out. Results are
per period unless ``periods_per_year`` is given. Bad data raise :class:`riskbook.errors.DataError`
naming the column; bad options raise :class:`riskbook.errors.ConfigError`.

=========================== ============================================================
``sample_covariance``       demeaned, ``ddof=1`` by default (``np.cov``)
``ledoit_wolf``             shrinkage to scaled identity (scikit-learn), constant
                            correlation (``covCor.m``) or single factor (``covMarket.m``)
``ledoit_wolf_shrinkage``   the intensity alone
``ewma_covariance``         RiskMetrics EWMA, zero mean by default
``ewma_volatility``         its diagonal, square-rooted
``factor_model_covariance`` OLS betas, ``B Sigma_f B' + diag(residual variance)``
``pairwise_covariance``     series with gaps: pairwise-complete, PSD repair, shrinkage
``nearest_correlation``     Higham (2002) nearest correlation matrix
=========================== ============================================================
"""

from riskbook.estimate.ewma import ewma_covariance, ewma_volatility, ewma_weights
from riskbook.estimate.factor import FactorModel, factor_model_covariance
from riskbook.estimate.higham import nearest_correlation
from riskbook.estimate.pairwise import pairwise_covariance
from riskbook.estimate.sample import sample_covariance
from riskbook.estimate.shrinkage import TARGETS, Target, ledoit_wolf, ledoit_wolf_shrinkage

__all__ = [
    "TARGETS",
    "FactorModel",
    "Target",
    "ewma_covariance",
    "ewma_volatility",
    "ewma_weights",
    "factor_model_covariance",
    "ledoit_wolf",
    "ledoit_wolf_shrinkage",
    "nearest_correlation",
    "pairwise_covariance",
    "sample_covariance",
]
