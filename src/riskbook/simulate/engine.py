"""The backtest engine: a Python loop over decisions only; the drift between them is vectorised.

At each decision the strategy sees ``data.until(t)`` (never a later bar), returns target weights
of total equity, the order planner sizes them at the decision price, the fill model fills them at
its bar and price, and the reconciliation explains what the fills left. Between decisions the
positions do not change, so equity is one matrix-vector product per stretch of bars.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskbook.data.market_data import MarketData
from riskbook.data.view import PointInTimeView
from riskbook.errors import ConfigError, DataError, StrategyError, TargetError
from riskbook.execute.costs import Costs
from riskbook.execute.fills import NO_FILL, FillModel, resolve_fill
from riskbook.execute.orders import OrderRules, fit_buys_to_cash, plan_snapshot
from riskbook.simulate.records import DecisionRecords
from riskbook.simulate.result import BacktestResult
from riskbook.simulate.schedule import decision_bars


@dataclass(frozen=True)
class Portfolio:
    """What a strategy with a ``targets(view, portfolio)`` method is told about its holdings."""

    symbols: tuple[str, ...]
    positions: np.ndarray
    cash: float
    prices: np.ndarray

    @property
    def equity(self) -> float:
        held = self.positions != 0
        return self.cash + float(np.dot(self.positions[held], self.prices[held]))

    @property
    def weights(self) -> pd.Series:
        value = np.where(self.positions != 0, self.positions * self.prices, 0.0)
        return pd.Series(value / self.equity, index=list(self.symbols), name="weight")


def _target_array(
    raw: Any, symbols: tuple[str, ...], index: dict[str, int], date: str
) -> np.ndarray:
    """Strategy output -> weights aligned with the data's symbols (absent symbols: 0)."""
    if isinstance(raw, np.ndarray) and raw.ndim == 1 and raw.dtype.kind == "f":
        if raw.shape != (len(symbols),):
            raise TargetError(
                f"strategy returned {raw.size} weights for {len(symbols)} symbols",
                date=date,
                parameter="weights",
            )
        return raw
    if isinstance(raw, dict):
        items = raw.items()
    elif isinstance(raw, pd.Series):
        items = zip(raw.index, raw.to_numpy(), strict=True)
    else:
        try:
            arr = np.asarray(raw, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TargetError(f"cannot read strategy output {raw!r} as weights", date=date) from exc
        return _target_array(arr.ravel(), symbols, index, date)
    out = np.zeros(len(symbols))
    for key, value in items:
        i = index.get(str(key))
        if i is None:
            raise TargetError(
                "target for a symbol not in the data",
                symbol=str(key),
                date=date,
                parameter="weights",
            )
        out[i] = float(value)
    return out


def _bar_label(data: MarketData, i: int) -> str:
    ts = pd.Timestamp(data.dates[i])
    return str(ts.date()) if data.frequency == "daily" else str(ts)


def backtest(
    data: MarketData,
    strategy: Any,
    *,
    schedule: Any = "monthly",
    fill: str | FillModel = "auto",
    costs: Any = None,
    cash: float = 1_000_000.0,
    account: str = "cash",
    leverage: float = 1.0,
    lot_size: Any = 1,
    fractional: bool = False,
    cash_buffer: float = 0.0,
    min_trade_value: float = 0.0,
    no_trade_band: float = 0.0,
    rounding: str = "toward_target",
    start: Any = None,
    end: Any = None,
    at: str | None = None,
    benchmark: Any = None,
) -> BacktestResult:
    """Trade a stream of target weights through fills, costs and the cash, and explain the result.

    Parameters
    ----------
    data
        Daily or minute :class:`~riskbook.MarketData`.
    strategy
        A callable ``(view) -> weights`` or an object with ``targets(view, portfolio)``. Weights
        map symbol -> fraction of total equity (a Series, dict, or array aligned with
        ``data.symbols``); absent symbols get 0 and cash is the remainder. Returning None holds.
    schedule
        When decisions happen (see :func:`riskbook.simulate.schedule.decision_bars`).
    fill
        Fill model: ``"auto"`` (next open if the data has opens, else next close),
        ``"next_open"``, ``"next_close"``, ``"close"`` (optimistic), ``"vwap"``, or an instance
        such as ``MinuteOffset(5)``.
    costs
        None, a :class:`~riskbook.execute.Costs`, a fee or slippage model, ``"ib"`` or a number
        of basis points of fees.
    cash, account, leverage
        Starting cash; ``"cash"`` (no shorts, gross <= 1, cash never negative) or ``"margin"``.
    lot_size, fractional, cash_buffer, min_trade_value, no_trade_band, rounding
        Order sizing (see :func:`riskbook.execute.plan_orders`).
    start, end
        Decisions only within these bounds; earlier data is still visible as history.
    at
        Minute data: clock time of the daily decision (default: the session's last bar).
    benchmark
        A symbol of ``data`` or a one-symbol MarketData, scaled to the starting cash.

    Raises
    ------
    TargetError, DataError, ConfigError
        Naming the date and symbol.
    StrategyError
        If the strategy raises; ``.partial`` holds the result up to the last decision.

    Examples
    --------
    >>> import riskbook
    >>> from riskbook.datasets import load_sp500
    >>> data = load_sp500().slice("2021-01-01", "2022-12-28").select(["KO", "PEP", "XOM"])
    >>> result = riskbook.backtest(data, lambda view: {"KO": 0.3, "PEP": 0.3, "XOM": 0.3},
    ...                            fill="next_close")
    >>> round(float(result.equity.iloc[-1]))
    1694059
    >>> rec = result.reconciliation  # held - target, explained; here mostly the price move
    >>> rest = (rec["residual"] - rec["price_move"]).abs().max()  # the rest: whole shares
    >>> bool(rest < 200 / 1_000_000)  # under one share's value ($60-$180) on $1M
    True
    """
    rules = OrderRules(
        lot_size=lot_size,
        fractional=fractional,
        cash_buffer=cash_buffer,
        min_trade_value=min_trade_value,
        no_trade_band=no_trade_band,
        account=account,  # type: ignore[arg-type]
        leverage=leverage,
        rounding=rounding,  # type: ignore[arg-type]
    )
    if not (np.isfinite(cash) and cash > 0):
        raise ConfigError("starting cash must be a positive number", parameter="cash")
    cost_models = Costs.resolve(costs)
    fill_model = resolve_fill(fill, data)
    if getattr(cost_models.slippage, "needs_volume", False) and data.volume is None:
        raise DataError(
            "the slippage model needs volume, which this data does not have", parameter="costs"
        )
    decisions = decision_bars(data, schedule, start=start, end=end, at=at)
    fills = fill_model.schedule(data, decisions)
    notes: list[str] = []
    unfilled = fills.index == NO_FILL
    if unfilled.any():
        notes.append(
            f"{int(unfilled.sum())} decision(s) from {_bar_label(data, int(decisions[unfilled][0]))} "
            f"not taken: the {fill_model.name} fill would fall after the last bar"
        )
        keep = ~unfilled
        decisions = decisions[keep]
        fills = type(fills)(
            fills.index[keep],
            fills.price[keep],
            None if fills.volume is None else fills.volume[keep],
        )
    if len(decisions) == 0:
        raise ConfigError("no decision can be filled within the data", parameter="schedule")
    late = fills.index[:-1] > decisions[1:]
    if late.any():
        k = int(np.argmax(late))
        raise ConfigError(
            f"the decision at {_bar_label(data, int(decisions[k + 1]))} comes before the previous "
            f"order fills ({_bar_label(data, int(fills.index[k]))}); use a slower schedule or another fill model",
            parameter="schedule",
        )
    engine = _Engine(data, strategy, rules, cost_models, fill_model, float(cash), len(decisions))
    first_bar = 0 if start is None else int(decisions[0])
    last_bar = len(data.dates) - 1 if end is None else max(int(decisions[-1]), int(fills.index[-1]))
    settings = {
        "schedule": repr(schedule) if callable(schedule) else schedule,
        "fill": fill_model.name,
        "optimistic_fill": fill_model.optimistic,
        "costs": repr(cost_models),
        "cash": float(cash),
        **{
            k: getattr(rules, k)
            for k in (
                "account",
                "leverage",
                "lot_size",
                "fractional",
                "cash_buffer",
                "min_trade_value",
                "no_trade_band",
                "rounding",
            )
        },
    }
    if fill_model.optimistic:
        notes.append(
            "fill='close' fills at the decision bar's own close: optimistic, no time to act"
        )
    try:
        engine.run(decisions, fills)
    except StrategyError as exc:
        exc.partial = engine.result(
            first_bar, max(first_bar, int(decisions[engine.done])), settings, notes, benchmark
        )
        raise
    return engine.result(first_bar, last_bar, settings, notes, benchmark)


class _Engine:
    """State of one run: positions, cash and the records, advanced one decision at a time.

    Per decision it only writes rows into preallocated (decisions x symbols) arrays; the
    reconciliation, the order list and the labels are derived from them once, at the end.
    """

    def __init__(self, data, strategy, rules, costs, fill_model, cash, n_decisions):
        self.data, self.strategy, self.rules, self.costs = data, strategy, rules, costs
        self.fill_model = fill_model
        self.symbols = data.symbols
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self.lots = rules.lots(self.symbols)
        self.flot = None if rules.fractional else self.lots
        self.initial_cash = cash
        self.q = np.zeros(len(self.symbols))
        self.cash = cash
        self.done = 0
        self.records = DecisionRecords.allocate(n_decisions, len(self.symbols))
        self.cash_after: list[float] = []
        self.fill_bars: list[int] = []
        self.filled_decisions: list[int] = []
        self.targets_fn = getattr(strategy, "targets", None)

    def run(self, decisions: np.ndarray, fills) -> None:
        data = self.data
        close, dates = data.close, data.dates
        volumes = data.volume
        for k, d in enumerate(decisions):
            self.done = k
            t = dates[d]
            view = PointInTimeView.at_bar(data, d)
            price = close[d]
            try:
                if self.targets_fn is not None:
                    raw = self.targets_fn(
                        view, Portfolio(self.symbols, self.q.copy(), self.cash, price)
                    )
                else:
                    raw = self.strategy(view)
            except Exception as exc:
                raise StrategyError(
                    f"the strategy raised {type(exc).__name__}: {exc}", date=t
                ) from exc
            if raw is None:
                continue
            w = _target_array(raw, self.symbols, self.index, t)
            volume = None if volumes is None else volumes[d]
            try:
                plan = plan_snapshot(
                    w,
                    self.q,
                    price,
                    self.cash,
                    self.symbols,
                    self.rules,
                    self.costs,
                    self.lots,
                    volume,
                    t,
                )
            except DataError as exc:
                # A volume-share slippage model cannot name the symbol of a zero-volume bar.
                if exc.symbol is not None or exc.parameter != "volume" or volume is None:
                    raise
                moving = ~(volume > 0) & ((w != 0) | (self.q != 0))
                j = int(np.argmax(moving)) if moving.any() else None
                raise DataError(
                    exc.message,
                    symbol=None if j is None else self.symbols[j],
                    date=t,
                    parameter="volume",
                ) from exc
            self._fill(
                int(d),
                plan,
                int(fills.index[k]),
                fills.price[k],
                None if fills.volume is None else fills.volume[k],
            )

    def _fill(self, d, plan, f, ref, volume) -> None:
        q = self.q
        delta = plan.delta
        idx = np.flatnonzero(delta)
        ref_t = ref[idx]
        if volume is not None and getattr(self.costs.slippage, "needs_volume", False):
            dry = ~(volume[idx] > 0)
            if dry.any():  # named here: the slippage model sees no symbols or dates
                raise DataError(
                    "an order on a bar with zero volume cannot be filled by "
                    f"{type(self.costs.slippage).__name__}; drop the symbol on such days or use "
                    "a slippage model that does not need volume",
                    symbol=self.symbols[int(idx[np.argmax(dry)])],
                    date=self.data.dates[f],
                    parameter="volume",
                )
        if not (ref_t > 0).all():
            i = int(idx[np.argmin(ref_t > 0)])
            raise DataError(
                f"no fill price ({ref[i]}) for an order",
                symbol=self.symbols[i],
                date=self.data.dates[f],
            )
        # Every fill re-checks that the buys can still be paid for (pro rata, so the result does
        # not depend on the order the fills are sent in). A later fill is at a new price; even a
        # fill on the decision bar itself ("close") needs it, because plan.delta is recomputed as
        # planned - current, which can exceed the fitted delta by an ulp with fractional shares
        # and overdraw the cash by ~1e-14 (a no-op otherwise: the fit returns at once).
        if self.rules.account == "cash" and len(idx):
            ref_safe = np.where(ref > 0, ref, 1.0)
            delta = fit_buys_to_cash(delta, ref_safe, self.cash, self.costs, self.flot, volume)
            idx = np.flatnonzero(delta)
            ref_t = ref[idx]
        dq = delta[idx]
        if self.costs.is_free:
            px, fee = ref_t, np.zeros(len(idx))
            new_cash = math.fsum([self.cash, *(-dq * px).tolist()])
            total_costs = 0.0
        else:
            px = self.costs.slippage.price(dq, ref_t, None if volume is None else volume[idx])
            fee = self.costs.fee.fee(dq, px)
            new_cash = math.fsum([self.cash, *(-dq * px).tolist(), *(-fee).tolist()])
            total_costs = float(fee.sum() + np.dot(dq, px - ref_t))
        q_new = q + delta
        value = np.where(q_new != 0, q_new * ref, 0.0)
        if np.isnan(value).any():
            i = int(np.flatnonzero(np.isnan(value))[0])
            raise DataError(
                "no price to value a held position at the fill",
                symbol=self.symbols[i],
                date=self.data.dates[f],
            )
        self.records.add(
            plan, q_new, value / (new_cash + value.sum()), total_costs, (idx, dq, ref_t, px, fee)
        )
        self.q, self.cash = q_new, new_cash
        self.cash_after.append(new_cash)
        self.fill_bars.append(f)
        self.filled_decisions.append(d)

    def result(self, first_bar: int, last_bar: int, settings, notes, benchmark) -> BacktestResult:
        data = self.data
        last_bar = max(last_bar, max(self.fill_bars, default=first_bar))
        bars = np.arange(first_bar, last_bar + 1)
        fill_bars = np.asarray(self.fill_bars, dtype=int)
        state = np.searchsorted(fill_bars, bars, side="right") - 1
        close = data.close[first_bar : last_bar + 1]
        cash_by_state = np.r_[self.initial_cash, np.asarray(self.cash_after)]
        cash_values = cash_by_state[state + 1]
        equity = cash_values.copy()
        records = self.records.trimmed()
        snapshots = records.stage["final"]
        bounds = np.flatnonzero(np.r_[True, state[1:] != state[:-1], True])
        for a, b in itertools.pairwise(bounds):
            s = state[a]
            if s < 0:
                continue
            q = snapshots[s]
            held = q != 0
            block = close[a:b][:, held]
            if np.isnan(block).any():
                r, c = np.argwhere(np.isnan(block))[0]
                raise DataError(
                    "a held position has no price (delisted while held?)",
                    symbol=self.symbols[int(np.flatnonzero(held)[c])],
                    date=data.dates[bars[a + r]],
                )
            equity[a:b] += block @ q[held]
        k = np.asarray(self.filled_decisions, dtype=int)
        return BacktestResult(
            symbols=self.symbols,
            dates=data.dates[bars],
            close=close,
            equity_values=equity,
            cash_values=cash_values,
            state_of_bar=state,
            snapshots=snapshots,
            decision_bars=k,
            decision_times=data.dates[k],
            fill_times=data.dates[fill_bars] if len(fill_bars) else data.dates[:0],
            records=records,
            initial_cash=self.initial_cash,
            settings=settings,
            benchmark_values=_benchmark(benchmark, data, bars, self.initial_cash),
            notes=tuple(notes),
            frequency=data.frequency,
        )


def _benchmark(
    benchmark: Any, data: MarketData, bars: np.ndarray, cash: float
) -> np.ndarray | None:
    if benchmark is None:
        return None
    if isinstance(benchmark, str):
        if benchmark not in data.symbols:
            raise DataError(
                "benchmark symbol not in the data", symbol=benchmark, parameter="benchmark"
            )
        series = data.close[bars, data.symbols.index(benchmark)]
    elif isinstance(benchmark, MarketData):
        if len(benchmark.symbols) != 1:
            raise ConfigError("a benchmark MarketData must hold one symbol", parameter="benchmark")
        pos = np.searchsorted(benchmark.dates, data.dates[bars])
        pos = np.minimum(pos, len(benchmark.dates) - 1)
        found = benchmark.dates[pos] == data.dates[bars]
        if not found.all():
            missing = data.dates[bars][~found][0]
            raise DataError(
                "benchmark has no bar at this date", date=str(missing)[:19], parameter="benchmark"
            )
        series = benchmark.close[pos, 0]
    else:
        raise ConfigError(
            "benchmark must be a symbol or a one-symbol MarketData", parameter="benchmark"
        )
    first = series[np.flatnonzero(np.isfinite(series))[0]]
    return cash * series / first
