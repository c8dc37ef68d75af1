"""The portfolio construction model: LEAN's base class, its rebalance schedule and bias.

A portfolio construction model turns insights into :class:`~riskbook.construct.PortfolioTarget`
quantities. Subclasses normally implement only :meth:`PortfolioConstructionModel.determine_target_percent`;
the base class decides when to rebalance, which insights count, sizes each percent with
:meth:`PortfolioTarget.percent` and flattens symbols whose insights expired, exactly as LEAN's
``PortfolioConstructionModel.CreateTargets`` does.

Examples
--------
>>> from datetime import timedelta
>>> from riskbook.construct import Insight, SimpleAlgorithm
>>> from riskbook.datasets import load_sp500
>>> class Half(PortfolioConstructionModel):
...     def determine_target_percent(self, active_insights):
...         return {i: 0.5 * i.direction for i in active_insights}
>>> algo = SimpleAlgorithm(load_sp500().select(["AAPL", "MSFT"]), "2020-03-16")
>>> targets = Half().create_targets(algo, [Insight.price("AAPL", timedelta(days=5), 1)])
>>> [(t.symbol, t.quantity) for t in targets]
[('AAPL', 841.0)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskbook.construct.insight import (
    Insight,
    InsightCollection,
    _as_datetime,
    latest_per_symbol,
)
from riskbook.construct.target import PortfolioTarget
from riskbook.errors import ConfigError

if TYPE_CHECKING:
    from riskbook.construct.algorithm import Algorithm

__all__ = [
    "DateRule",
    "PortfolioBias",
    "PortfolioConstructionModel",
    "Resolution",
    "SecurityChanges",
    "rebalancing_function",
]

RebalanceFunc = Callable[[datetime], datetime | None]
# LEAN's Time.EndOfTime: a date rule with no more dates never rebalances again
END_OF_TIME = datetime(9999, 12, 31)


class PortfolioBias(IntEnum):
    """Which side a model may take: ``SHORT = -1``, ``LONG_SHORT = 0``, ``LONG = 1``.

    An insight whose direction differs from a one-sided bias is treated as flat.

    Examples
    --------
    >>> from riskbook.construct import InsightDirection
    >>> PortfolioBias.LONG == InsightDirection.UP
    True
    """

    SHORT = -1
    LONG_SHORT = 0
    LONG = 1

    Short = -1
    LongShort = 0
    Long = 1


class Resolution(IntEnum):
    """Bar resolutions with LEAN's values; ``span`` is the length of one bar.

    Examples
    --------
    >>> Resolution.DAILY.span
    datetime.timedelta(days=1)
    """

    TICK = 0
    SECOND = 1
    MINUTE = 2
    HOUR = 3
    DAILY = 4

    Tick = 0
    Second = 1
    Minute = 2
    Hour = 3
    Daily = 4

    @property
    def span(self) -> timedelta:
        """One bar of this resolution (zero for ticks, one day for daily)."""
        return _SPANS[self.value]

    def to_time_span(self) -> timedelta:
        """LEAN's ``Resolution.ToTimeSpan()``: the same as :attr:`span`."""
        return self.span


_SPANS = {
    0: timedelta(0),
    1: timedelta(seconds=1),
    2: timedelta(minutes=1),
    3: timedelta(hours=1),
    4: timedelta(days=1),
}


class SecurityChanges:
    """Securities added to and removed from the universe (LEAN's ``SecurityChanges``).

    Items may be security objects (with a ``symbol`` attribute) or bare symbols.

    Examples
    --------
    >>> SecurityChanges(added_securities=["AAPL"]).added_symbols
    ['AAPL']
    >>> bool(SecurityChanges())
    False
    """

    def __init__(
        self, added_securities: Iterable[Any] = (), removed_securities: Iterable[Any] = ()
    ) -> None:
        self.added_securities = list(added_securities)
        self.removed_securities = list(removed_securities)

    @staticmethod
    def _symbol(item: Any) -> Any:
        return getattr(item, "symbol", item)

    @property
    def added_symbols(self) -> list[Any]:
        return [self._symbol(s) for s in self.added_securities]

    @property
    def removed_symbols(self) -> list[Any]:
        return [self._symbol(s) for s in self.removed_securities]

    def __bool__(self) -> bool:
        return bool(self.added_securities or self.removed_securities)

    @property
    def AddedSecurities(self) -> list[Any]:
        return self.added_securities

    @property
    def RemovedSecurities(self) -> list[Any]:
        return self.removed_securities

    def __repr__(self) -> str:
        return f"SecurityChanges(added={self.added_symbols}, removed={self.removed_symbols})"


class DateRule:
    """A sequence of rebalance dates, for rebalancing on a calendar (LEAN's ``IDateRule``).

    Any object with ``get_dates(start, end)`` (or LEAN's ``GetDates``) returning increasing
    datetimes is accepted as a rebalance argument; this class is the built-in one.

    Parameters
    ----------
    dates
        Explicit dates, or None for a rule built by :meth:`every_day`, :meth:`week_start` or
        :meth:`month_start` (calendar days, midnight; riskbook has no exchange calendar here,
        so LEAN's "first trading day" becomes the first calendar day).

    Examples
    --------
    >>> from datetime import datetime
    >>> rule = DateRule.month_start()
    >>> list(rule.get_dates(datetime(2024, 1, 15), datetime(2024, 3, 31)))
    [datetime.datetime(2024, 2, 1, 0, 0), datetime.datetime(2024, 3, 1, 0, 0)]
    """

    def __init__(self, dates: Iterable[Any] | None = None, *, freq: str | None = None) -> None:
        if dates is None and freq is None:
            raise ConfigError("a DateRule needs dates or a frequency", parameter="dates")
        self._dates = None if dates is None else sorted(_as_datetime(d, "dates") for d in dates)
        self._freq = freq

    @classmethod
    def every_day(cls) -> DateRule:
        """Every calendar day at midnight."""
        return cls(freq="D")

    @classmethod
    def week_start(cls) -> DateRule:
        """Every Monday at midnight."""
        return cls(freq="W-MON")

    @classmethod
    def month_start(cls) -> DateRule:
        """The first day of every month at midnight."""
        return cls(freq="MS")

    def get_dates(self, start: Any, end: Any) -> Iterator[datetime]:
        """Dates ``d`` with ``start <= d <= end``, increasing."""
        lo, hi = _as_datetime(start, "start"), _as_datetime(end, "end")
        if self._dates is not None:
            yield from (d for d in self._dates if lo <= d <= hi)
            return
        first = pd.Timestamp(lo).normalize()
        # generate lazily in yearly chunks: the end is often LEAN's end of time
        while first <= pd.Timestamp(hi):
            chunk_end = min(first + pd.DateOffset(years=1), pd.Timestamp(hi))
            for ts in pd.date_range(first, chunk_end, freq=self._freq):
                if lo <= ts.to_pydatetime() <= hi:
                    yield ts.to_pydatetime()
            first = chunk_end + pd.Timedelta(days=1)
            if chunk_end >= pd.Timestamp(hi):
                return

    GetDates = get_dates

    def __repr__(self) -> str:
        return f"DateRule({self._freq or f'{len(self._dates or [])} dates'})"


def _date_rule_function(rule: Any) -> RebalanceFunc:
    """LEAN's ``IDateRule.ToFunc()``: the next rule date after the time asked about."""
    get_dates = getattr(rule, "get_dates", None) or rule.GetDates
    state: dict[str, Any] = {"dates": None, "current": None}

    def advance() -> datetime:
        nxt = next(state["dates"], None)
        state["current"] = END_OF_TIME if nxt is None else _as_datetime(nxt, "date rule")
        return state["current"]

    def func(utc_time: datetime) -> datetime | None:
        if state["dates"] is None:
            state["dates"] = iter(get_dates(utc_time, END_OF_TIME))
            if advance() == END_OF_TIME:
                return END_OF_TIME
        if utc_time >= state["current"]:
            advance()
        return state["current"]

    return func


def rebalancing_function(rebalance: Any) -> RebalanceFunc | None:
    """Normalise every accepted rebalance argument to ``f(utc_time) -> next time or None``.

    Accepted: None (rebalance on every call), a :class:`Resolution` or an int resolution value
    (``t + one bar``), a ``timedelta`` (``t + span``), a date rule (an object with
    ``get_dates``/``GetDates``, e.g. :class:`DateRule`; the next rule date), or a callable
    ``f(utc_time)`` returning the next rebalance time, or None to be asked again next time.

    Examples
    --------
    >>> from datetime import datetime
    >>> rebalancing_function(Resolution.DAILY)(datetime(2024, 1, 1))
    datetime.datetime(2024, 1, 2, 0, 0)
    >>> rebalancing_function(None) is None
    True
    """
    if rebalance is None:
        return None
    if isinstance(rebalance, bool):
        raise ConfigError("rebalance cannot be a bool", parameter="rebalance")
    if isinstance(rebalance, Resolution | int):
        span = Resolution(rebalance).span
        return lambda t: t + span
    if isinstance(rebalance, pd.Timedelta):
        rebalance = rebalance.to_pytimedelta()
    if isinstance(rebalance, timedelta):
        if rebalance <= timedelta(0):
            raise ConfigError("a rebalance period must be positive", parameter="rebalance")
        return lambda t: t + rebalance
    if hasattr(rebalance, "get_dates") or hasattr(rebalance, "GetDates"):
        return _date_rule_function(rebalance)
    if callable(rebalance):
        return rebalance
    raise ConfigError(
        "rebalance must be None, a Resolution, a timedelta, a date rule or a callable, "
        f"not {type(rebalance).__name__}",
        parameter="rebalance",
    )


# snake_case name -> LEAN's CamelCase name, for the overridable methods
_LEAN_NAMES = {
    "create_targets": "CreateTargets",
    "is_rebalance_due": "IsRebalanceDue",
    "determine_target_percent": "DetermineTargetPercent",
    "get_target_insights": "GetTargetInsights",
    "should_create_target_for_insight": "ShouldCreateTargetForInsight",
    "on_securities_changed": "OnSecuritiesChanged",
    "respects_portfolio_bias": "RespectPortfolioBias",
    "set_rebalancing_func": "SetRebalancingFunc",
}


class PortfolioConstructionModel:
    """Base class of portfolio construction models (LEAN's ``PortfolioConstructionModel``).

    Parameters
    ----------
    rebalance
        When to rebalance on a schedule (see :func:`rebalancing_function`): None (on every
        call, LEAN's default for the base class), a :class:`Resolution`, a ``timedelta``, a date
        rule, or a callable ``f(utc_time) -> next rebalance time or None`` (None: ask again on
        the next call; only insight or security changes rebalance meanwhile).
    portfolio_bias
        :class:`PortfolioBias`; models use :meth:`respects_portfolio_bias`.

    Attributes
    ----------
    algorithm : Algorithm or None
        The algorithm of the last :meth:`create_targets` / :meth:`on_securities_changed` call;
        :meth:`get_target_insights` and the history helpers read it.
    rebalance_portfolio_on_insight_changes, rebalance_portfolio_on_security_changes : bool
        Also rebalance when new insights arrive or one expires / when the universe changes
        (both True, LEAN's default). A non-None value of the same name in
        ``algorithm.settings`` overrides them, as LEAN's algorithm settings do.
    insight_collection : InsightCollection
        LEAN's ``algorithm.Insights``: ``algorithm.insights`` when the algorithm has one (an
        engine may fill it before calling :meth:`create_targets`), else a collection owned by
        the model. :meth:`create_targets` stamps unstamped insights with the algorithm's UTC time
        and adds any it does not hold yet, so calling it directly also works.

    Notes
    -----
    The flow of :meth:`create_targets`: store the algorithm; add the new insights to the
    collection; return ``[]`` unless :meth:`is_rebalance_due`; take :meth:`get_target_insights`
    (active insights passing :meth:`should_create_target_for_insight`, latest per symbol); call
    :meth:`determine_target_percent`; size each percent with :meth:`PortfolioTarget.percent`
    (a None result marks the symbol as an error symbol, dropped); finally remove expired
    insights and add a zero target for each of their symbols that has no active insight left and
    is not an error symbol.

    For subclasses that need history (optimizer models): inside
    :meth:`determine_target_percent`, call :meth:`history_returns` or :meth:`history_closes`;
    they read ``self.algorithm.history`` and so see only bars at or before the algorithm's
    time. Per-symbol state (indicators, rolling windows) created in
    :meth:`on_securities_changed` should be warmed up from ``algorithm.history(...)`` at that
    moment (the same point-in-time source) after calling the base method.

    LEAN's CamelCase names work both ways: ``model.CreateTargets(...)`` calls
    :meth:`create_targets`, and a subclass overriding ``DetermineTargetPercent`` (or any other
    name in LEAN's spelling) has that override used by the snake_case flow. This is done in
    ``__init_subclass__``: a method defined in one spelling only is bound to the other too. A
    subclass adding overridable helpers of its own lists them in a class attribute
    ``_extra_lean_names = {"get_value": "GetValue"}`` to get the same treatment.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> model = PortfolioConstructionModel(rebalance=timedelta(days=7))
    >>> model.rebalance_portfolio_on_insight_changes = False
    >>> [model.is_rebalance_due([], datetime(2024, 1, d)) for d in (1, 3, 8, 9, 15)]
    [False, False, True, False, True]
    """

    # class-level defaults keep a subclass that forgets super().__init__() working
    algorithm: Algorithm | None = None
    portfolio_bias: PortfolioBias = PortfolioBias.LONG_SHORT
    rebalance_portfolio_on_insight_changes: bool = True
    rebalance_portfolio_on_security_changes: bool = True
    _rebalancing_func: RebalanceFunc | None = None
    _rebalancing_time: datetime | None = None
    _security_changes: bool = False
    _own_insights: InsightCollection | None = None

    def __init__(
        self,
        rebalance: Any = None,
        portfolio_bias: PortfolioBias | int = PortfolioBias.LONG_SHORT,
    ) -> None:
        self.algorithm = None
        self.portfolio_bias = PortfolioBias(portfolio_bias)
        self.rebalance_portfolio_on_insight_changes = True
        self.rebalance_portfolio_on_security_changes = True
        self._rebalancing_time = None
        self._security_changes = False
        self._own_insights = InsightCollection()
        self.set_rebalancing_func(rebalance)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        names = {**_LEAN_NAMES, **getattr(cls, "_extra_lean_names", {})}
        for snake, camel in names.items():
            if camel in own and snake not in own:
                setattr(cls, snake, own[camel])
            elif snake in own and camel not in own:
                setattr(cls, camel, own[snake])

    # ----------------------------------------------------------------- configuration
    def set_rebalancing_func(self, rebalance: Any) -> None:
        """Set the rebalance schedule (any form :func:`rebalancing_function` accepts)."""
        self._rebalancing_func = rebalancing_function(rebalance)
        self._rebalancing_time = None

    @property
    def insight_collection(self) -> InsightCollection:
        """The insights the model works from (see the class docstring)."""
        shared = getattr(self.algorithm, "insights", None) if self.algorithm is not None else None
        if shared is not None and hasattr(shared, "get_active_insights"):
            return shared
        if self._own_insights is None:
            self._own_insights = InsightCollection()
        return self._own_insights

    def _sync_settings(self, algorithm: Any) -> None:
        settings = getattr(algorithm, "settings", None)
        for name in (
            "rebalance_portfolio_on_insight_changes",
            "rebalance_portfolio_on_security_changes",
        ):
            value = getattr(settings, name, None)
            if value is not None:
                setattr(self, name, bool(value))

    # ----------------------------------------------------------------- the LEAN flow
    def create_targets(
        self, algorithm: Algorithm, insights: Iterable[Insight]
    ) -> list[PortfolioTarget]:
        """Targets for the current insights, or ``[]`` when no rebalance is due.

        Parameters
        ----------
        algorithm
            Anything satisfying :class:`~riskbook.construct.Algorithm`.
        insights
            The insights emitted at this time step (may be empty).

        Returns
        -------
        list of PortfolioTarget
            Sized targets for the symbols with active insights, then zero targets for the
            symbols whose last insight expired.
        """
        self.algorithm = algorithm
        self._sync_settings(algorithm)
        utc_now = _as_datetime(algorithm.utc_time, "utc_time")
        insights = list(insights)
        collection = self.insight_collection
        for insight in insights:
            if insight.generated_time_utc is None:
                insight.set_times(utc_now)
            if not collection.contains(insight):
                collection.add(insight)

        if not self.is_rebalance_due(insights, utc_now):
            return []

        targets: list[PortfolioTarget] = []
        error_symbols: set[Any] = set()
        last_active = list(self.get_target_insights())
        percents = self.determine_target_percent(last_active)
        for insight in last_active:
            if insight not in percents:
                continue
            target = PortfolioTarget.percent(algorithm, insight.symbol, percents[insight])
            if target is None:
                error_symbols.add(insight.symbol)
            else:
                targets.append(target)

        expired = collection.remove_expired_insights(utc_now)
        flattened: dict[Any, None] = {}
        for insight in expired:
            symbol = insight.symbol
            if symbol in flattened or symbol in error_symbols:
                continue
            if not collection.has_active_insights(symbol, utc_now):
                flattened[symbol] = None
        targets.extend(PortfolioTarget(symbol, 0.0) for symbol in flattened)
        return targets

    def is_rebalance_due(self, insights: list[Insight], algorithm_utc: datetime) -> bool:
        """Whether to rebalance now (LEAN's rule).

        With no schedule: always. Otherwise when the scheduled time has come, or (if enabled)
        the universe changed, or insights arrived or one has expired.
        """
        now = _as_datetime(algorithm_utc, "algorithm_utc")
        if self._rebalancing_func is None:
            self._refresh_rebalance(now)
            return True
        next_expiry = self.insight_collection.get_next_expiry_time()
        if self._rebalancing_time is None:
            self._rebalancing_time = self._next_rebalance(now)
            if self._rebalancing_time is not None and self._rebalancing_time <= now:
                # the function says "now": ask it for the following time on the next call,
                # not twice in one step (a stateful function would answer the same again)
                self._rebalancing_time = None
                self._security_changes = False
                return True
        scheduled = self._rebalancing_time is not None and self._rebalancing_time <= now
        on_security = self.rebalance_portfolio_on_security_changes and self._security_changes
        on_insight = self.rebalance_portfolio_on_insight_changes and (
            len(insights) > 0 or (next_expiry is not None and next_expiry < now)
        )
        if scheduled or on_security or on_insight:
            self._refresh_rebalance(now)
            return True
        return False

    def _next_rebalance(self, now: datetime) -> datetime | None:
        nxt = self._rebalancing_func(now) if self._rebalancing_func is not None else None
        return None if nxt is None else _as_datetime(nxt, "rebalance")

    def _refresh_rebalance(self, now: datetime) -> None:
        if self._rebalancing_func is not None:
            self._rebalancing_time = self._next_rebalance(now)
        self._security_changes = False

    def determine_target_percent(self, active_insights: list[Insight]) -> dict[Insight, float]:
        """Target percent of portfolio value per insight; subclasses must implement it.

        Raises
        ------
        NotImplementedError
            Always, in the base class.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement determine_target_percent "
            "(or DetermineTargetPercent), or override create_targets"
        )

    def get_target_insights(self) -> list[Insight]:
        """The latest active insight per symbol among those the model should target.

        Multi-alpha algorithms: insights of several alpha models for one symbol are not
        combined; the most recently generated wins. Override this (return every active insight)
        and :meth:`determine_target_percent` to combine them differently.
        """
        if self.algorithm is None:
            raise ConfigError(
                "the model has no algorithm yet: call create_targets first", parameter="algorithm"
            )
        now = self.algorithm.utc_time
        active = self.insight_collection.get_active_insights(now)
        return latest_per_symbol(i for i in active if self.should_create_target_for_insight(i))

    def should_create_target_for_insight(self, insight: Insight) -> bool:
        """Whether ``insight`` takes part in the targets (always, in the base class)."""
        return True

    def respects_portfolio_bias(self, insight: Insight) -> bool:
        """True if the insight's direction is allowed by the model's bias.

        Examples
        --------
        >>> from datetime import timedelta
        >>> from riskbook.construct import InsightDirection
        >>> m = PortfolioConstructionModel(portfolio_bias=PortfolioBias.LONG)
        >>> m.respects_portfolio_bias(Insight("A", timedelta(1), InsightDirection.DOWN))
        False
        """
        bias = PortfolioBias(self.portfolio_bias)
        return bias == PortfolioBias.LONG_SHORT or int(insight.direction) == int(bias)

    def on_securities_changed(self, algorithm: Algorithm, changes: SecurityChanges) -> None:
        """Record a universe change (it triggers a rebalance) and expire removed symbols' insights.

        Subclasses that keep per-symbol state call this first, then create state for
        ``changes.added_securities`` (warmed up from ``algorithm.history``) and drop it for
        ``changes.removed_securities``.
        """
        if self.algorithm is None:
            self.algorithm = algorithm
        self._security_changes = bool(changes)
        removed = list(_symbols_of(changes.removed_securities))
        if removed:
            utc_now = _as_datetime(algorithm.utc_time, "utc_time")
            collection = getattr(algorithm, "insights", None)
            if collection is None or not hasattr(collection, "expire"):
                collection = self.insight_collection
            collection.expire(removed, utc_now)

    # ----------------------------------------------------------------- history for subclasses
    def history_closes(
        self,
        symbols: Iterable[Any],
        periods: int,
        resolution: Resolution = Resolution.DAILY,
        algorithm: Algorithm | None = None,
    ) -> pd.DataFrame:
        """The last ``periods`` closes as a wide frame (time x symbol), point in time.

        Reads ``algorithm.history`` (``self.algorithm`` by default), which never returns a bar
        after the algorithm's time. Symbols without data are absent from the columns.
        """
        algo = algorithm if algorithm is not None else self.algorithm
        if algo is None:
            raise ConfigError(
                "no algorithm: call create_targets or pass algorithm=", parameter="algorithm"
            )
        symbols = list(symbols)
        if not symbols or periods <= 0:
            return pd.DataFrame()
        history = algo.history(symbols, periods, resolution)
        if history is None or len(history) == 0:
            return pd.DataFrame()
        closes = history["close"].unstack(level=0)
        return closes[[s for s in symbols if s in closes.columns]]

    def history_returns(
        self,
        symbols: Iterable[Any],
        window: int,
        roc_period: int = 1,
        resolution: Resolution = Resolution.DAILY,
        algorithm: Algorithm | None = None,
    ) -> pd.DataFrame:
        """Rate-of-change returns as LEAN's optimizer models compute them, point in time.

        LEAN's ``ReturnsSymbolData`` asks for ``window * roc_period`` bars of history, feeds each
        close to a ``RateOfChange(roc_period)`` indicator and keeps the last ``window`` values
        (LEAN names these ``period`` and ``lookback``: ``period=63, lookback=1`` in the
        mean-variance model is ``window=63, roc_period=1`` here). So this returns at most
        ``window`` rows of ``close_t / close_{t-roc_period} - 1``, the last at the algorithm's
        time; a value missing for some symbol stays NaN (the caller decides how to drop it).

        Examples
        --------
        >>> from riskbook.construct import SimpleAlgorithm
        >>> from riskbook.datasets import load_sp500
        >>> algo = SimpleAlgorithm(load_sp500().select(["AAPL", "MSFT"]), "2020-03-16")
        >>> r = PortfolioConstructionModel().history_returns(["AAPL", "MSFT"], 63, algorithm=algo)
        >>> r.shape, str(r.index[-1])[:10]
        ((62, 2), '2020-03-16')
        """
        closes = self.history_closes(symbols, window * roc_period, resolution, algorithm)
        if closes.empty:
            return closes
        returns = closes / closes.shift(roc_period) - 1.0
        return returns.iloc[roc_period:].tail(window)

    # ----------------------------------------------------------------- LEAN spellings
    # Aliases of the base implementations (not wrappers calling self.<snake>): a CamelCase
    # subclass's ``super().CreateTargets(...)`` must reach this class's code, not recurse into
    # its own override, which __init_subclass__ has bound to the snake_case name too.
    CreateTargets = create_targets
    IsRebalanceDue = is_rebalance_due
    DetermineTargetPercent = determine_target_percent
    GetTargetInsights = get_target_insights
    ShouldCreateTargetForInsight = should_create_target_for_insight
    OnSecuritiesChanged = on_securities_changed
    RespectPortfolioBias = respects_portfolio_bias
    SetRebalancingFunc = set_rebalancing_func

    @property
    def Algorithm(self) -> Any:
        return self.algorithm

    @property
    def InsightCollection(self) -> InsightCollection:
        return self.insight_collection

    @property
    def RebalanceOnInsightChanges(self) -> bool:
        return self.rebalance_portfolio_on_insight_changes

    @RebalanceOnInsightChanges.setter
    def RebalanceOnInsightChanges(self, value: bool) -> None:
        self.rebalance_portfolio_on_insight_changes = bool(value)

    @property
    def RebalanceOnSecurityChanges(self) -> bool:
        return self.rebalance_portfolio_on_security_changes

    @RebalanceOnSecurityChanges.setter
    def RebalanceOnSecurityChanges(self, value: bool) -> None:
        self.rebalance_portfolio_on_security_changes = bool(value)


def _symbols_of(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        yield getattr(item, "symbol", item)
