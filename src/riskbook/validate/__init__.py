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
from riskbook.validate.sensitivity import SensitivityResult, book_sensitivity, sensitivity
from riskbook.validate.shadow import ShadowResult, shadow
from riskbook.validate.sharpe import (
    deflated_sharpe,
    expected_combined_sharpe,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe,
    sharpe_ratio,
)
from riskbook.validate.stress import (
    HISTORICAL_SCENARIOS,
    MonteCarloStress,
    historical_stress,
    hypothetical_stress,
    monte_carlo_stress,
    shock_loss,
)
from riskbook.validate.suite import ValidationReport, ValidationSettings, validate_book
from riskbook.validate.walk_forward import DEFAULT_LADDER, WalkForwardResult, walk_forward

__all__ = [
    "DEFAULT_LADDER",
    "HISTORICAL_SCENARIOS",
    "DaskExecutor",
    "Executor",
    "MonteCarloStress",
    "PBOResult",
    "ProcessExecutor",
    "SensitivityResult",
    "SerialExecutor",
    "ShadowResult",
    "ValidationReport",
    "ValidationSettings",
    "WalkForwardResult",
    "book_sensitivity",
    "deflated_sharpe",
    "expected_combined_sharpe",
    "expected_max_sharpe",
    "historical_stress",
    "hypothetical_stress",
    "min_track_record_length",
    "monte_carlo_stress",
    "pbo",
    "probabilistic_sharpe",
    "resolve_executor",
    "sensitivity",
    "shadow",
    "sharpe_ratio",
    "shock_loss",
    "task_seeds",
    "validate_book",
    "walk_forward",
]
