"""Portfolio optimizers: pure functions of a covariance (and expected returns where needed).

Every solver accepts an ndarray or a labelled DataFrame and returns weights of the same kind
(ndarray or Series indexed by symbol). Bad input raises :class:`riskbook.errors.OptimizationError`
or :class:`riskbook.errors.InfeasibleError` naming the constraint; nothing returns NaN or None.
"""

from riskbook.optimize.constraints import exposure_constraints
from riskbook.optimize.max_diversification import diversification_ratio, max_diversification
from riskbook.optimize.mean_variance import (
    EfficientFrontier,
    efficient_frontier,
    max_sharpe,
    mean_variance,
    unconstrained_mean_variance,
)
from riskbook.optimize.min_variance import min_variance

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
