"""Reports: the self-contained HTML tear sheet of a backtest.

:func:`tear_sheet` writes one HTML file, charts library embedded, that opens offline.
:class:`Registry` keeps every run under ``$RISKBOOK_HOME/runs`` to list, compare and re-render.
"""

from riskbook.report.registry import Registry, RunRecord
from riskbook.report.tear_sheet import monthly_returns, tear_sheet

__all__ = ["Registry", "RunRecord", "monthly_returns", "tear_sheet"]
