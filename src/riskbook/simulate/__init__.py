"""The backtest engine, its schedules, results and performance metrics."""

from riskbook.simulate.engine import Portfolio, backtest
from riskbook.simulate.result import BacktestResult
from riskbook.simulate.schedule import decision_bars, every

__all__ = ["BacktestResult", "Portfolio", "backtest", "decision_bars", "every"]
