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
from riskbook.validate.pbo import PBOResult, pbo
from riskbook.validate.shadow import ShadowResult, shadow
from riskbook.validate.sharpe import (
    deflated_sharpe,
    expected_combined_sharpe,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe,
    sharpe_ratio,
)
from riskbook.validate.walk_forward import DEFAULT_LADDER, WalkForwardResult, walk_forward

__all__ = [
    "DEFAULT_LADDER",
    "DaskExecutor",
    "Executor",
    "PBOResult",
    "ProcessExecutor",
    "SerialExecutor",
    "ShadowResult",
    "WalkForwardResult",
    "deflated_sharpe",
    "expected_combined_sharpe",
    "expected_max_sharpe",
    "min_track_record_length",
    "pbo",
    "probabilistic_sharpe",
    "resolve_executor",
    "shadow",
    "sharpe_ratio",
    "task_seeds",
    "walk_forward",
]
