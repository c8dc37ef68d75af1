"""LEAN's built-in portfolio construction models that need no optimizer.

Each computes only target percents; :class:`~riskbook.construct.PortfolioConstructionModel`
does the rest (rebalance timing, latest insight per symbol, sizing, zero targets on expiry).

=========================  ==============================================================
model                      target percent of the latest active insight per symbol
=========================  ==============================================================
EqualWeighting             ``direction / N``, N = active non-flat insights within the bias
InsightWeighting           ``direction * |weight| * k``, k = 1/sum|weight| if the sum > 1
ConfidenceWeighted         the same with ``|confidence|``
AccumulativeInsight        +/- ``percent`` (3%) per active insight in time order; flat steps
                           toward 0
SectorWeighting            ``direction / S / n``: S sectors, n insights in the sector
=========================  ==============================================================

Rebalance defaults are LEAN's: ``Resolution.DAILY`` except AccumulativeInsight (None: every
call).

Examples
--------
>>> from datetime import timedelta
>>> from riskbook.construct import Insight, InsightDirection
>>> up, down = (Insight("A", timedelta(1), InsightDirection.UP, weight=0.8),
...             Insight("B", timedelta(1), InsightDirection.DOWN, weight=0.4))
>>> {i.symbol: round(p, 4) for i, p in
...  InsightWeightingPortfolioConstructionModel().determine_target_percent([up, down]).items()}
{'A': 0.6667, 'B': -0.3333}
"""

from __future__ import annotations

from typing import Any, ClassVar

from riskbook.construct.insight import Insight, InsightDirection, _as_datetime
from riskbook.construct.portfolio_construction import (
    PortfolioBias,
    PortfolioConstructionModel,
    Resolution,
    SecurityChanges,
)

__all__ = [
    "AccumulativeInsightPortfolioConstructionModel",
    "ConfidenceWeightedPortfolioConstructionModel",
    "EqualWeightingPortfolioConstructionModel",
    "InsightWeightingPortfolioConstructionModel",
    "SectorWeightingPortfolioConstructionModel",
]


class EqualWeightingPortfolioConstructionModel(PortfolioConstructionModel):
    """Equal weights: ``direction / N`` for the N active non-flat insights within the bias.

    An insight against the bias gets 0 and does not count in N.

    Parameters
    ----------
    rebalance
        Any rebalance form (default ``Resolution.DAILY``, LEAN's).
    portfolio_bias
        :class:`PortfolioBias`.

    Examples
    --------
    >>> from datetime import timedelta
    >>> ins = [Insight(s, timedelta(1), d) for s, d in (("A", 1), ("B", -1), ("C", 0))]
    >>> [p for p in EqualWeightingPortfolioConstructionModel().determine_target_percent(
    ...     ins).values()]
    [0.5, -0.5, 0.0]
    >>> [p for p in EqualWeightingPortfolioConstructionModel(
    ...     portfolio_bias=PortfolioBias.LONG).determine_target_percent(ins).values()]
    [1.0, 0.0, 0.0]
    """

    def __init__(
        self,
        rebalance: Any = Resolution.DAILY,
        portfolio_bias: PortfolioBias | int = PortfolioBias.LONG_SHORT,
    ) -> None:
        super().__init__(rebalance, portfolio_bias)

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        count = sum(
            1
            for i in active_insights
            if i.direction != InsightDirection.FLAT and self.respects_portfolio_bias(i)
        )
        percent = 0.0 if count == 0 else 1.0 / count
        return {
            i: float(int(i.direction) if self.respects_portfolio_bias(i) else 0) * percent
            for i in active_insights
        }


class InsightWeightingPortfolioConstructionModel(EqualWeightingPortfolioConstructionModel):
    """Targets from insight weights: ``direction * |weight|``, scaled down to sum to 1 if above.

    Insights without a weight are ignored. The sum runs over the insights within the bias (flat
    ones included, as LEAN does); when it is at most 1 the rest stays in cash.

    Examples
    --------
    >>> from datetime import timedelta
    >>> ins = [Insight("A", timedelta(1), 1, weight=0.2), Insight("B", timedelta(1), -1,
    ...        weight=0.3)]
    >>> list(InsightWeightingPortfolioConstructionModel().determine_target_percent(ins).values())
    [0.2, -0.3]
    """

    _extra_lean_names: ClassVar[dict[str, str]] = {"get_value": "GetValue"}

    def should_create_target_for_insight(self, insight: Insight) -> bool:
        return insight.weight is not None

    def get_value(self, insight: Insight) -> float:
        """The number the model weighs by (``|weight|``)."""
        return abs(insight.weight or 0.0)

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        total = sum(self.get_value(i) for i in active_insights if self.respects_portfolio_bias(i))
        factor = 1.0 / total if total > 1 else 1.0
        return {
            i: float(int(i.direction) if self.respects_portfolio_bias(i) else 0)
            * self.get_value(i)
            * factor
            for i in active_insights
        }


class ConfidenceWeightedPortfolioConstructionModel(InsightWeightingPortfolioConstructionModel):
    """As :class:`InsightWeightingPortfolioConstructionModel`, weighing by ``|confidence|``.

    Insights without a confidence are ignored.

    Examples
    --------
    >>> from datetime import timedelta
    >>> ins = [Insight("A", timedelta(1), 1, confidence=0.9),
    ...        Insight("B", timedelta(1), 1, confidence=0.6)]
    >>> [round(p, 2) for p in
    ...  ConfidenceWeightedPortfolioConstructionModel().determine_target_percent(ins).values()]
    [0.6, 0.4]
    """

    def should_create_target_for_insight(self, insight: Insight) -> bool:
        return insight.confidence is not None

    def get_value(self, insight: Insight) -> float:
        return abs(insight.confidence or 0.0)


class AccumulativeInsightPortfolioConstructionModel(EqualWeightingPortfolioConstructionModel):
    """Each active insight moves its symbol's target by ``percent`` (LEAN's default 3%).

    Rules, applied to every active insight (not only the latest) in generated-time order:
    UP adds ``percent``, DOWN subtracts it, FLAT moves the running target ``percent`` toward 0
    (to 0 if closer than that). A running target whose sign differs from a one-sided bias
    becomes 0. When insights expire and no other is active, the symbol gets a zero target.

    Parameters
    ----------
    rebalance
        Any rebalance form (default None: every call, LEAN's).
    portfolio_bias
        :class:`PortfolioBias`.
    percent
        The step, as a fraction of portfolio value (its absolute value is used).

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> from riskbook.construct import SimpleAlgorithm
    >>> from riskbook.datasets import load_sp500
    >>> algo = SimpleAlgorithm(load_sp500(), "2020-03-16")
    >>> t = algo.utc_time
    >>> ins = [Insight("AAPL", timedelta(5), d).set_times(t - timedelta(hours=h))
    ...        for d, h in ((1, 3), (1, 2), (-1, 1))]
    >>> model = AccumulativeInsightPortfolioConstructionModel()
    >>> [round(p, 4) for p in model.percents_at(algo, ins).values()]
    [0.03]
    """

    def __init__(
        self,
        rebalance: Any = None,
        portfolio_bias: PortfolioBias | int = PortfolioBias.LONG_SHORT,
        percent: float = 0.03,
    ) -> None:
        super().__init__(rebalance, portfolio_bias)
        self.percent = abs(float(percent))

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        if self.algorithm is None:
            raise RuntimeError("determine_target_percent needs self.algorithm (create_targets)")
        now = _as_datetime(self.algorithm.utc_time, "utc_time")
        ordered = sorted(
            self.insight_collection.get_active_insights(now),
            key=lambda i: (i.generated_time_utc, i._seq),
        )
        bias = int(self.portfolio_bias)
        running: dict[Any, float] = {}
        for insight in ordered:
            target = running.get(insight.symbol, 0.0)
            if insight.symbol in running and insight.direction == InsightDirection.FLAT:
                # a flat insight walks the position back toward zero without crossing it
                if abs(target) < self.percent:
                    target = 0.0
                else:
                    target += -self.percent if target > 0 else self.percent
            target += self.percent * int(insight.direction)
            sign = (target > 0) - (target < 0)
            if bias != PortfolioBias.LONG_SHORT and sign != bias:
                target = 0.0
            running[insight.symbol] = target
        return {i: running.get(i.symbol, 0.0) for i in active_insights}

    def percents_at(self, algorithm: Any, insights: list[Insight]) -> dict[Insight, float]:
        """The percents for the given emitted insights at the algorithm's time, without sizing.

        A convenience for inspecting the accumulation; it adds the insights to the model's
        collection as :meth:`create_targets` would.
        """
        self.algorithm = algorithm
        collection = self.insight_collection
        for insight in insights:
            if not collection.contains(insight):
                collection.add(insight)
        return self.determine_target_percent(self.get_target_insights())


class SectorWeightingPortfolioConstructionModel(EqualWeightingPortfolioConstructionModel):
    """Equal weight per sector, then equal weight per symbol within the sector.

    The target of an insight is ``direction / S / n`` with S the number of sectors among the
    active non-flat insights and n the number of those insights in its sector. Flat insights
    get 0. Symbols without a sector are ignored.

    The sector comes from :meth:`get_sector_code` (``security.sector``; LEAN reads the
    Morningstar classification from fundamentals). LEAN learns sectors in
    :meth:`on_securities_changed`; so that an algorithm without universe events (such as
    :class:`~riskbook.construct.SimpleAlgorithm`) works too, a symbol never seen there is looked
    up in ``algorithm.securities`` on first use, unless it was removed.

    Parameters
    ----------
    rebalance
        Any rebalance form (default ``Resolution.DAILY``, LEAN's). LEAN's model has no bias.

    Examples
    --------
    >>> from datetime import timedelta
    >>> m = SectorWeightingPortfolioConstructionModel()
    >>> m.sector_code_by_symbol.update({"A": "tech", "B": "tech", "C": "energy"})
    >>> ins = [Insight(s, timedelta(1), 1) for s in "ABC"]
    >>> list(m.determine_target_percent(ins).values())
    [0.25, 0.25, 0.5]
    """

    def __init__(self, rebalance: Any = Resolution.DAILY) -> None:
        super().__init__(rebalance, PortfolioBias.LONG_SHORT)
        self.sector_code_by_symbol: dict[Any, Any] = {}
        self._removed: set[Any] = set()

    _extra_lean_names: ClassVar[dict[str, str]] = {"get_sector_code": "GetSectorCode"}

    def get_sector_code(self, security: Any) -> Any:
        """The sector of a security (``security.sector``), or None when unknown."""
        return getattr(security, "sector", None)

    def should_create_target_for_insight(self, insight: Insight) -> bool:
        symbol = insight.symbol
        if symbol not in self.sector_code_by_symbol and symbol not in self._removed:
            securities = getattr(self.algorithm, "securities", None) or {}
            security = securities.get(symbol) if hasattr(securities, "get") else None
            code = self.get_sector_code(security) if security is not None else None
            if code is not None and code != "":
                self.sector_code_by_symbol[symbol] = code
        return symbol in self.sector_code_by_symbol

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        result: dict[Insight, float] = {}
        by_sector: dict[Any, list[Insight]] = {}
        for insight in active_insights:
            if insight.direction == InsightDirection.FLAT:
                result[insight] = 0.0
                continue
            by_sector.setdefault(self.sector_code_by_symbol[insight.symbol], []).append(insight)
        sector_percent = 0.0 if not by_sector else 1.0 / len(by_sector)
        for insights in by_sector.values():
            percent = sector_percent / len(insights)
            for insight in insights:
                result[insight] = int(insight.direction) * percent
        return result

    def on_securities_changed(self, algorithm: Any, changes: SecurityChanges) -> None:
        for security in changes.removed_securities:
            symbol = getattr(security, "symbol", security)
            self.sector_code_by_symbol.pop(symbol, None)
            self._removed.add(symbol)
        for security in changes.added_securities:
            symbol = getattr(security, "symbol", security)
            self._removed.discard(symbol)
            if not hasattr(security, "symbol"):
                security = getattr(algorithm, "securities", {}).get(symbol)
            code = self.get_sector_code(security) if security is not None else None
            if code is not None and code != "":
                self.sector_code_by_symbol[symbol] = code
        super().on_securities_changed(algorithm, changes)
