"""Portfolio optimizers: pure functions of a covariance (and expected returns where needed).

Every solver accepts an ndarray or a labelled DataFrame and returns weights of the same kind
(ndarray or Series indexed by symbol). Bad input raises :class:`riskbook.errors.OptimizationError`
or :class:`riskbook.errors.InfeasibleError` naming the constraint; nothing returns NaN or None.
"""

from riskbook.optimize.constraints import exposure_constraints
from riskbook.optimize.diagnostics import (
    diversification_ratio,
    effective_n,
    effective_number_of_bets,
    portfolio_volatility,
    risk_contributions,
)
from riskbook.optimize.fallback import FallbackResult, optimize_with_fallback
from riskbook.optimize.hrp import hrp
from riskbook.optimize.max_diversification import max_diversification
from riskbook.optimize.mean_variance import (
    EfficientFrontier,
    efficient_frontier,
    max_sharpe,
    mean_variance,
    unconstrained_mean_variance,
)
from riskbook.optimize.min_variance import min_variance
from riskbook.optimize.nco import correlation_clusters, nco
from riskbook.optimize.risk_parity import risk_parity
from riskbook.optimize.simple import equal_weight, inverse_variance, inverse_volatility

__all__: list[str] = []
__all__ += [
    "EfficientFrontier",
    "diversification_ratio",
    "efficient_frontier",
    "exposure_constraints",
    "max_diversification",
    "max_sharpe",
    "mean_variance",
    "min_variance",
    "unconstrained_mean_variance",
]
__all__ += [
    "FallbackResult",
    "correlation_clusters",
    "effective_n",
    "effective_number_of_bets",
    "equal_weight",
    "hrp",
    "inverse_variance",
    "inverse_volatility",
    "nco",
    "optimize_with_fallback",
    "portfolio_volatility",
    "risk_contributions",
    "risk_parity",
]
