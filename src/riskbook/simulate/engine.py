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
from riskbook.errors import ConfigError, DataError, StrategyError, TargetError
from riskbook.execute.costs import Costs
from riskbook.execute.fills import NO_FILL, FillModel, resolve_fill
from riskbook.execute.orders import OrderRules, execution_order, fit_buys_to_cash, plan_snapshot
from riskbook.execute.reconcile import COMPONENTS, attribute
from riskbook.simulate.result import BacktestResult, Ledger
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
    engine = _Engine(data, strategy, rules, cost_models, fill_model, float(cash))
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
    """State of one run: positions, cash and the records, advanced one decision at a time."""

    def __init__(self, data, strategy, rules, costs, fill_model, cash):
        self.data, self.strategy, self.rules, self.costs = data, strategy, rules, costs
        self.fill_model = fill_model
        self.symbols = data.symbols
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self.lots = rules.lots(self.symbols)
        self.initial_cash = cash
        self.q = np.zeros(len(self.symbols))
        self.cash = cash
        self.done = 0
        self.snapshots: list[np.ndarray] = []
        self.cash_after: list[float] = []
        self.fill_bars: list[int] = []
        self.filled_decisions: list[int] = []
        self.trades: list[tuple] = []
        self.recon: list[dict[str, np.ndarray]] = []
        self.orders: list[dict[str, np.ndarray]] = []
        self.targets_fn = getattr(strategy, "targets", None)

    def run(self, decisions: np.ndarray, fills) -> None:
        data = self.data
        close = data.close
        for k, d in enumerate(decisions):
            self.done = k
            d = int(d)
            label = _bar_label(data, d)
            view = data.until(data.dates[d])
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
                    f"the strategy raised {type(exc).__name__}: {exc}", date=label
                ) from exc
            if raw is None:
                continue
            w = _target_array(raw, self.symbols, self.index, label)
            volume = None if data.volume is None else data.volume[d]
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
                label,
            )
            self._fill(
                k,
                d,
                plan,
                int(fills.index[k]),
                fills.price[k],
                None if fills.volume is None else fills.volume[k],
            )

    def _fill(self, k, d, plan, f, ref, volume) -> None:
        fill_label = _bar_label(self.data, f)
        delta = plan.delta
        traded = delta != 0
        bad = traded & ~(ref > 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"no fill price ({ref[i]}) for an order", symbol=self.symbols[i], date=fill_label
            )
        ref_safe = np.where(traded | (self.q != 0) | (plan.planned != 0), ref, 1.0)
        if self.rules.account == "cash" and traded.any():
            delta = fit_buys_to_cash(
                delta,
                ref_safe,
                self.cash,
                self.costs,
                None if self.rules.fractional else self.lots,
                volume,
            )
        q_new = self.q + delta
        order = execution_order(self.q, q_new, ref_safe)
        dq = delta[order]
        px = self.costs.slippage.price(
            dq, ref_safe[order], None if volume is None else volume[order]
        )
        fee = self.costs.fee.fee(dq, px)
        new_cash = math.fsum([self.cash, *(-dq * px), *(-fee)])
        held_mask = q_new != 0
        if held_mask.any() and not np.isfinite(ref[held_mask]).all():
            i = int(np.flatnonzero(held_mask & ~np.isfinite(ref))[0])
            raise DataError(
                "no price to value a held position at the fill",
                symbol=self.symbols[i],
                date=fill_label,
            )
        equity_after = new_cash + float(np.dot(q_new[held_mask], ref[held_mask]))
        held = np.where(held_mask, q_new * ref_safe, 0.0) / equity_after
        total_costs = float(fee.sum() + np.dot(dq, px - ref_safe[order]))
        comps = attribute(
            plan.target_weight,
            plan.equity,
            plan.price,
            plan.buffered,
            plan.kept,
            plan.rounded,
            q_new,
            total_costs,
            held,
        )
        rows = np.flatnonzero((plan.target_weight != 0) | (self.q != 0) | held_mask)
        self.recon.append(
            {
                "decision": np.full(len(rows), len(self.filled_decisions)),
                "symbol": rows,
                "target_weight": plan.target_weight[rows],
                "held_weight": held[rows],
                **{c: comps[c][rows] for c in COMPONENTS},
            }
        )
        reduced_plan = plan.planned != plan.rounded
        reduced_fill = q_new != plan.planned
        reason = np.where(
            reduced_fill,
            "reduced: cash at fill",
            np.where(reduced_plan, "reduced: cash at plan", "rebalance"),
        )
        self.trades.append(
            (
                len(self.filled_decisions),
                order,
                dq,
                plan.price[order],
                ref_safe[order],
                px,
                fee,
                reason[order],
            )
        )
        changed = np.flatnonzero(
            (plan.kept != self.q) | (plan.skip_reason != "") | (q_new != self.q)
        )
        self.orders.append(
            {
                "decision": np.full(len(changed), len(self.filled_decisions)),
                "symbol": changed,
                "current": self.q[changed],
                "target_quantity": plan.buffered[changed],
                "planned": plan.planned[changed],
                "filled": q_new[changed],
                "reason": np.where(
                    plan.skip_reason[changed] != "",
                    "skipped: " + plan.skip_reason[changed].astype(str),
                    reason[changed],
                ),
            }
        )
        self.q, self.cash = q_new, new_cash
        self.snapshots.append(q_new)
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
        bounds = np.flatnonzero(np.r_[True, state[1:] != state[:-1], True])
        for a, b in itertools.pairwise(bounds):
            s = state[a]
            if s < 0:
                continue
            q = self.snapshots[s]
            held = q != 0
            block = close[a:b][:, held]
            if np.isnan(block).any():
                r, c = np.argwhere(np.isnan(block))[0]
                raise DataError(
                    "a held position has no price (delisted while held?)",
                    symbol=self.symbols[int(np.flatnonzero(held)[c])],
                    date=_bar_label(data, int(bars[a + r])),
                )
            equity[a:b] += block @ q[held]
        snapshots = np.array(self.snapshots) if self.snapshots else np.zeros((0, len(self.symbols)))
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
            ledger=_ledger(self.trades),
            recon=_stack(
                self.recon, ["decision", "symbol", "target_weight", "held_weight", *COMPONENTS]
            ),
            order_rows=_stack(
                self.orders,
                ["decision", "symbol", "current", "target_quantity", "planned", "filled", "reason"],
            ),
            initial_cash=self.initial_cash,
            settings=settings,
            benchmark_values=_benchmark(benchmark, data, bars, self.initial_cash),
            notes=tuple(notes),
            frequency=data.frequency,
        )


def _stack(chunks: list[dict[str, np.ndarray]], keys: list[str]) -> dict[str, np.ndarray]:
    if not chunks:
        return {
            key: np.zeros(0, dtype=int if key in ("decision", "symbol") else float) for key in keys
        }
    return {key: np.concatenate([c[key] for c in chunks]) for key in keys}


def _ledger(trades: list[tuple]) -> Ledger:
    if not trades:
        empty = np.zeros(0)
        return Ledger(
            empty.astype(int),
            empty.astype(int),
            empty,
            empty,
            empty,
            empty,
            empty,
            empty.astype(object),
        )
    cols = list(zip(*trades, strict=True))
    return Ledger(
        decision=np.concatenate(
            [np.full(len(o), k) for k, o in zip(cols[0], cols[1], strict=True)]
        ),
        symbol=np.concatenate(cols[1]).astype(int),
        quantity=np.concatenate(cols[2]),
        decision_price=np.concatenate(cols[3]),
        reference_price=np.concatenate(cols[4]),
        fill_price=np.concatenate(cols[5]),
        fee=np.concatenate(cols[6]),
        reason=np.concatenate(cols[7]),
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
