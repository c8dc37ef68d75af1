"""Portfolio optimizers: pure functions of a covariance (and expected returns where needed).

Every solver accepts an ndarray or a labelled DataFrame and returns weights of the same kind
(ndarray or Series indexed by symbol). Bad input raises :class:`riskbook.errors.OptimizationError`
or :class:`riskbook.errors.InfeasibleError` naming the constraint; nothing returns NaN or None.
"""

__all__: list[str] = []
