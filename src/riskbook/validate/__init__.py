"""Validation: is the book worth trusting out of sample?

Walk-forward benchmark ladders, the probabilistic and deflated Sharpe ratios, the probability
of backtest overfitting, stress tests, parameter sensitivity and shadow runs. Every sweep runs
through one executor (:mod:`riskbook.validate.executor`): serial, local processes or Dask.
"""

from riskbook.validate.executor import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    resolve_executor,
    task_seeds,
)

__all__ = [
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "resolve_executor",
    "task_seeds",
]
