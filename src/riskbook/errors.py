"""Typed errors raised by riskbook.

Every error riskbook raises on purpose derives from :class:`RiskbookError` and carries the
offending symbol, date or parameter as attributes, so a caller can react programmatically and a
person reading the message knows what to fix.

Examples
--------
>>> from riskbook.errors import DataError
>>> err = DataError("price is zero", symbol="AAPL", date="2020-03-16")
>>> str(err)
'price is zero [symbol=AAPL, date=2020-03-16]'
>>> err.symbol
'AAPL'
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "DataError",
    "InfeasibleError",
    "LookAheadError",
    "OptimizationError",
    "RiskbookError",
    "StoreError",
    "StrategyError",
    "TargetError",
]


def _format_date(value: Any) -> str:
    """A date as YYYY-MM-DD, or with its time of day when it has one."""
    import numpy as np
    import pandas as pd

    if isinstance(value, np.datetime64 | pd.Timestamp):
        ts = pd.Timestamp(value)
        return str(ts.date()) if ts == ts.normalize() else str(ts)
    return str(value)


class RiskbookError(Exception):
    """Base of every error riskbook raises on purpose.

    Parameters
    ----------
    message
        What was wrong and, where possible, what to do about it.
    symbol, date, parameter
        The offending symbol, date or parameter, kept as attributes and appended to the message.
    **context
        Any further facts worth keeping (file path, constraint name, ...), appended too.
    """

    def __init__(
        self,
        message: str,
        *,
        symbol: str | None = None,
        date: Any = None,
        parameter: str | None = None,
        **context: Any,
    ) -> None:
        self.message = message
        self.symbol = symbol
        self.date = None if date is None else _format_date(date)
        self.parameter = parameter
        self.context = context
        super().__init__(self._render())

    def _render(self) -> str:
        facts = [
            f"{key}={value}"
            for key, value in (
                ("symbol", self.symbol),
                ("date", self.date),
                ("parameter", self.parameter),
                *self.context.items(),
            )
            if value is not None
        ]
        return f"{self.message} [{', '.join(facts)}]" if facts else self.message


class DataError(RiskbookError, ValueError):
    """Market data that cannot be used as given (bad prices, bad layout, bad file)."""


class LookAheadError(RiskbookError, IndexError):
    """A point-in-time view was asked for data that was not yet known at its decision time."""


class OptimizationError(RiskbookError, ValueError):
    """An optimizer got bad input or could not produce a valid portfolio."""


class InfeasibleError(OptimizationError):
    """The constraints of an optimization problem admit no portfolio; names the constraint."""


class ConfigError(RiskbookError, ValueError):
    """A configuration value or key is invalid."""


class StoreError(RiskbookError, OSError):
    """The embedded data store could not complete an operation; nothing was changed."""


class TargetError(RiskbookError, ValueError):
    """Target weights that cannot be traded: unknown symbol, NaN, or beyond the account's limits."""


class StrategyError(RiskbookError, RuntimeError):
    """A strategy raised during a backtest; ``partial`` holds the result up to that decision."""

    def __init__(self, message: str, *, partial: Any = None, **kwargs: Any) -> None:
        self.partial = partial
        super().__init__(message, **kwargs)
