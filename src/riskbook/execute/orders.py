"""From target weights to orders on one snapshot: the sizing rules, stage by stage.

The stages, each kept so the reconciliation can say what it did to every weight:

1. ideal: ``w * equity / price``, fractional, no buffer;
2. cash buffer: the target value is scaled by ``1 - cash_buffer`` (LEAN's free portfolio value);
3. skipped: trades inside the no-trade band or below the minimum value keep the position;
4. rounding: whole lots (per-symbol lot sizes), unless fractional;
5. cash: in a cash account, buys are scaled down until the sells' proceeds and the cash pay for
   them, fees included, at the expected fill price (a cash account never goes negative).

Orders run position-reducing first, then by value, largest first (LEAN's OrderByMarginImpact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskbook.errors import ConfigError, DataError, TargetError
from riskbook.execute.costs import Costs

Rounding = Literal["toward_target", "nearest", "toward_zero"]
Account = Literal["cash", "margin"]
_EPS = 1e-9  # tolerance in lots when flooring, so 2.9999999999 lots counts as 3
#: Why a trade was skipped, by code (codes keep the engine's hot path free of strings).
SKIP_REASONS = ("", "no_trade_band", "min_trade_value")


@dataclass(frozen=True)
class OrderRules:
    """How targets become orders (see :func:`plan_orders` for the meaning of each field)."""

    lot_size: Any = 1
    fractional: bool = False
    cash_buffer: float = 0.0
    min_trade_value: float = 0.0
    no_trade_band: float = 0.0
    account: Account = "cash"
    leverage: float = 1.0
    rounding: Rounding = "toward_target"

    def __post_init__(self) -> None:
        if self.account not in ("cash", "margin"):
            raise ConfigError(
                f"unknown account {self.account!r}; use 'cash' or 'margin'", parameter="account"
            )
        if self.rounding not in ("toward_target", "nearest", "toward_zero"):
            raise ConfigError(
                f"unknown rounding {self.rounding!r}; use toward_target, nearest or toward_zero",
                parameter="rounding",
            )
        if not 0.0 <= self.cash_buffer < 1.0:
            raise ConfigError("cash_buffer must be in [0, 1)", parameter="cash_buffer")
        if self.min_trade_value < 0 or self.no_trade_band < 0:
            raise ConfigError(
                "min_trade_value and no_trade_band must be >= 0", parameter="min_trade_value"
            )
        if self.leverage <= 0 or (self.account == "cash" and self.leverage != 1.0):
            raise ConfigError("leverage must be > 0, and 1 in a cash account", parameter="leverage")

    def lots(self, symbols: tuple[str, ...]) -> np.ndarray:
        """Lot size per symbol (a scalar, a mapping symbol -> lot, or an array)."""
        n = len(symbols)
        if isinstance(self.lot_size, dict):
            unknown = [s for s in self.lot_size if s not in symbols]
            if unknown:
                raise ConfigError(
                    "lot_size names an unknown symbol", symbol=unknown[0], parameter="lot_size"
                )
            lots = np.array([float(self.lot_size.get(s, 1)) for s in symbols])
        else:
            lots = np.broadcast_to(np.asarray(self.lot_size, dtype=float), (n,)).copy()
        if not (np.isfinite(lots) & (lots > 0)).all():
            raise ConfigError("lot sizes must be positive", parameter="lot_size")
        return lots


@dataclass(frozen=True)
class OrderPlan:
    """Orders for one snapshot and the quantity after each sizing stage (arrays by symbol)."""

    symbols: tuple[str, ...]
    equity: float
    price: np.ndarray
    target_weight: np.ndarray
    current: np.ndarray
    ideal: np.ndarray
    buffered: np.ndarray
    kept: np.ndarray  # after the no-trade band and minimum trade value
    rounded: np.ndarray
    planned: np.ndarray  # after fitting buys to the cash
    skip_code: np.ndarray  # index into SKIP_REASONS, per symbol

    @property
    def delta(self) -> np.ndarray:
        return self.planned - self.current

    @property
    def skip_reason(self) -> np.ndarray:
        """Why each symbol's trade was skipped ("" when it was not)."""
        return np.asarray(SKIP_REASONS, dtype=object)[self.skip_code]

    @cached_property
    def sequence(self) -> np.ndarray:
        """Symbol indices in execution order."""
        return execution_order(
            self.current, self.planned, np.where(self.price > 0, self.price, 1.0)
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per order, in execution order, with the reason for any change of size."""
        idx = self.sequence
        delta = self.delta[idx]
        reason = np.where(self.planned[idx] != self.rounded[idx], "reduced: cash", "rebalance")
        return pd.DataFrame(
            {
                "symbol": np.asarray(self.symbols, dtype=object)[idx],
                "side": np.where(delta > 0, "buy", "sell"),
                "quantity": delta,
                "price": self.price[idx],
                "value": delta * self.price[idx],
                "reason": reason,
            }
        )


def check_targets(
    w: np.ndarray, symbols: tuple[str, ...], rules: OrderRules, date: Any = None
) -> None:
    """Finite weights within what the account allows, or a TargetError naming the symbol."""
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.argmax(bad))
        raise TargetError(
            f"target weight is {w[i]}", symbol=symbols[i], date=date, parameter="weights"
        )
    if rules.account == "cash" and (w < 0).any():
        i = int(np.argmax(w < 0))
        raise TargetError(
            f"short target {w[i]:.4g} in a cash account; use account='margin'",
            symbol=symbols[i],
            date=date,
            parameter="weights",
        )
    gross = float(np.abs(w).sum())
    limit = rules.leverage
    if gross > limit * (1 + 1e-12):
        raise TargetError(
            f"gross exposure {gross:.6g} exceeds the {rules.account} account's limit {limit:g}",
            date=date,
            parameter="weights",
        )


def _floor_lots(x: np.ndarray, lots: np.ndarray) -> np.ndarray:
    """Round toward zero to whole lots."""
    return np.sign(x) * np.floor(np.abs(x) / lots + _EPS) * lots


def round_quantities(
    target: np.ndarray, current: np.ndarray, lots: np.ndarray, rounding: Rounding
) -> np.ndarray:
    """Whole-lot positions near ``target``.

    ``toward_target`` truncates the trade, so the position moves toward the target and never
    past it; ``nearest`` takes the closest whole-lot position; ``toward_zero`` rounds the final
    position toward zero (LEAN's rule: never more exposure than asked).
    """
    if rounding == "toward_target":
        return current + _floor_lots(target - current, lots)
    if rounding == "nearest":
        return np.round(target / lots) * lots
    return _floor_lots(target, lots)


def fit_buys_to_cash(
    delta: np.ndarray,
    price: np.ndarray,
    cash: float,
    costs: Costs,
    lots: np.ndarray | None,
    volume: np.ndarray | None = None,
) -> np.ndarray:
    """Scale buys down (pro rata, then lot-floored) until the cash and the sells pay for them.

    Sells are never changed. ``lots=None`` means fractional quantities. Returns the new deltas.
    """

    buys = delta > 0
    if not buys.any():
        return delta
    free = costs.is_free

    # Summed exactly as the engine books the fill (one math.fsum of the cash and every flow), so
    # "fits" here means the booked cash is >= 0 too, not just a differently rounded estimate.
    def cash_after(d: np.ndarray) -> float:
        if free:
            return math.fsum([cash, *(-d * price).tolist()])
        # every model charges nothing for a zero quantity, so no need to select the traded names
        fill = costs.slippage.price(d, price, volume)
        fee = costs.fee.fee(d, fill)
        return math.fsum([cash, *(-d * fill).tolist(), *(-np.asarray(fee)).tolist()])

    left = cash_after(delta)
    if left >= 0:
        return delta
    sells = np.where(buys, 0.0, delta)
    budget = cash_after(sells)  # what is available for buys
    need = budget - left  # what the buys cost now
    scale = max(budget, 0.0) / need if need > 0 else 0.0
    out = delta.copy()
    for _ in range(60):  # fees do not scale with size (minimums), so shrink until it fits
        scaled = delta[buys] * scale
        out[buys] = _floor_lots(scaled, lots[buys]) if lots is not None else scaled
        left = cash_after(out)
        if left >= 0:
            return out
        # the floor on the step only guarantees progress: an overdraft of a rounding error
        # (the fsum above can land 1 ulp below zero) costs an ulp-sized cut, not 1e-9 of the buys
        scale *= max(0.0, 1.0 - max(-left / need, 1e-15) * 1.0001)
    # Minimum fees can still overdraw by a little: drop the smallest buys one at a time.
    for i in np.argsort(np.where(buys, out * price, np.inf)):
        if not buys[i] or cash_after(out) >= 0:
            break
        out[i] = 0.0
    return out


def plan_orders(
    targets: Any,
    positions: Any,
    prices: Any,
    cash: float,
    *,
    symbols: Any = None,
    lot_size: Any = 1,
    fractional: bool = False,
    cash_buffer: float = 0.0,
    min_trade_value: float = 0.0,
    no_trade_band: float = 0.0,
    account: Account = "cash",
    leverage: float = 1.0,
    rounding: Rounding = "toward_target",
    costs: Any = None,
    volume: Any = None,
    date: Any = None,
) -> OrderPlan:
    """Netted orders that move ``positions`` to ``targets`` (weights of total equity).

    Parameters
    ----------
    targets
        Weight per symbol (Series or dict by symbol, or an array aligned with ``symbols``);
        a symbol held but absent from the targets is sold. Cash is the remainder.
    positions, prices
        Current quantities and the price sizing uses (the last known price at the decision).
    cash
        Current cash.
    symbols
        The universe, required for array input (Series/dict input uses their labels).
    lot_size
        Shares per lot: a number, or a mapping symbol -> lot. Ignored when ``fractional``.
    fractional
        Trade fractional quantities (no lot rounding).
    cash_buffer
        Fraction of equity kept in cash: targets are scaled by ``1 - cash_buffer``.
    min_trade_value, no_trade_band
        Skip a trade worth less than this, or whose weight change is at most this.
    account, leverage
        ``"cash"`` (no shorts, gross <= 1, cash never negative) or ``"margin"`` (gross <=
        leverage).
    rounding
        ``"toward_target"`` (truncate the trade: never overshoot), ``"nearest"`` or
        ``"toward_zero"`` (LEAN).
    costs
        Fee and slippage models used to estimate what buys cost (see :class:`Costs`).

    Returns
    -------
    OrderPlan
        Quantities after every stage and the execution order; ``.to_frame()`` lists the orders.

    Raises
    ------
    TargetError
        NaN weights, unknown symbols, shorts in a cash account, gross beyond the account.
    DataError
        A missing or non-positive price for a symbol that must trade.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = plan_orders(pd.Series({"A": 0.25, "B": 0.7}), pd.Series({"A": 100.0, "B": 0.0}),
    ...                    pd.Series({"A": 10.0, "B": 30.0}), cash=1000.0)
    >>> plan.equity
    2000.0
    >>> plan.to_frame()[["symbol", "side", "quantity"]]
      symbol  side  quantity
    0      A  sell     -50.0
    1      B   buy      46.0
    """
    rules = OrderRules(
        lot_size=lot_size,
        fractional=fractional,
        cash_buffer=cash_buffer,
        min_trade_value=min_trade_value,
        no_trade_band=no_trade_band,
        account=account,
        leverage=leverage,
        rounding=rounding,
    )
    syms = _universe(symbols, targets, positions, prices)
    w = _align(targets, syms, "targets", fill=0.0, date=date)
    q0 = _align(positions, syms, "positions", fill=0.0, date=date)
    p = _align(prices, syms, "prices", fill=np.nan, date=date)
    vol = None if volume is None else _align(volume, syms, "volume", fill=np.nan, date=date)
    return plan_snapshot(
        w, q0, p, float(cash), syms, rules, Costs.resolve(costs), rules.lots(syms), vol, date
    )


def plan_snapshot(
    w: np.ndarray,
    q0: np.ndarray,
    p: np.ndarray,
    cash: float,
    symbols: tuple[str, ...],
    rules: OrderRules,
    costs: Costs,
    lots: np.ndarray,
    volume: np.ndarray | None = None,
    date: Any = None,
) -> OrderPlan:
    """:func:`plan_orders` on aligned arrays (the engine's hot path: no pandas)."""
    check_targets(w, symbols, rules, date)
    involved = (w != 0) | (q0 != 0)
    bad_price = involved & ~(p > 0)  # NaN or non-positive
    if bad_price.any():
        i = int(np.argmax(bad_price))
        raise DataError(
            f"no usable price ({p[i]}) for a symbol that must trade", symbol=symbols[i], date=date
        )
    p_safe = np.where(involved, p, 1.0)
    equity = cash + float(np.dot(q0, p_safe))  # q0 is 0 wherever p_safe is a placeholder
    ideal = w * equity / p_safe  # w is 0 there too
    buffered = ideal * (1.0 - rules.cash_buffer) if rules.cash_buffer else ideal
    skip = _no_skips(len(w))
    if (rules.no_trade_band > 0 and equity > 0) or rules.min_trade_value > 0:
        skip = skip.copy()
    if rules.no_trade_band > 0 and equity > 0:
        current_w = q0 * p_safe / equity
        band = involved & (np.abs(w * (1.0 - rules.cash_buffer) - current_w) <= rules.no_trade_band)
        skip[band & (buffered != q0)] = 1
    if rules.min_trade_value > 0:
        small = (
            (np.abs(buffered - q0) * p_safe < rules.min_trade_value)
            & (skip == 0)
            & (buffered != q0)
        )
        skip[small] = 2
    kept = np.where(skip == 0, buffered, q0) if skip.any() else buffered
    rounded = kept if rules.fractional else round_quantities(kept, q0, lots, rules.rounding)
    if skip.any():  # a held odd lot must not be re-rounded into a trade the rules skipped
        rounded = np.where(skip != 0, q0, rounded)
    delta = rounded - q0
    if rules.account == "cash":
        delta = fit_buys_to_cash(
            delta, p_safe, cash, costs, None if rules.fractional else lots, volume
        )
    planned = q0 + delta
    return OrderPlan(symbols, equity, p, w, q0, ideal, buffered, kept, rounded, planned, skip)


_NO_SKIPS: dict[int, np.ndarray] = {}


def _no_skips(n: int) -> np.ndarray:
    """A shared read-only array of n zero skip codes (most plans skip nothing)."""
    out = _NO_SKIPS.get(n)
    if out is None:
        out = _NO_SKIPS[n] = np.zeros(n, dtype=np.int8)
        out.setflags(write=False)
    return out


def execution_rank(current: np.ndarray, planned: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Positions of the given orders in execution order: position-reducing first, then by
    traded value, largest first (LEAN's OrderByMarginImpact)."""
    if not len(value):
        return np.zeros(0, dtype=int)
    reducing = (np.abs(planned) < np.abs(current)) & (planned * current >= 0)
    # one sort on one key: shifting reducing orders below every increasing one keeps both groups
    # in descending value (lexsort on two keys costs twice as much)
    key = np.where(reducing, -value - (2.0 * value.max() + 1.0), -value)
    return np.argsort(key, kind="stable")


def execution_order(current: np.ndarray, planned: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Indices of the symbols to trade, in execution order (see :func:`execution_rank`)."""
    idx = np.flatnonzero(planned != current)
    value = np.abs(planned[idx] - current[idx]) * price[idx]
    return idx[execution_rank(current[idx], planned[idx], value)]


def _universe(symbols: Any, *inputs: Any) -> tuple[str, ...]:
    if symbols is not None:
        return tuple(str(s) for s in symbols)
    seen: dict[str, None] = {}
    for x in inputs:
        if isinstance(x, pd.Series | dict):
            seen.update(dict.fromkeys(str(k) for k in (x.index if isinstance(x, pd.Series) else x)))
        elif x is not None and not np.isscalar(x):
            raise TargetError("array input needs symbols=", parameter="symbols")
    return tuple(seen)


def _align(x: Any, symbols: tuple[str, ...], name: str, *, fill: float, date: Any) -> np.ndarray:
    if isinstance(x, dict):
        x = pd.Series(x, dtype=float)
    if isinstance(x, pd.Series):
        index = {s: i for i, s in enumerate(symbols)}
        unknown = [k for k in x.index if str(k) not in index]
        if unknown:
            raise TargetError(
                f"{name} names a symbol outside the universe",
                symbol=str(unknown[0]),
                date=date,
                parameter=name,
            )
        out = np.full(len(symbols), fill)
        out[[index[str(k)] for k in x.index]] = x.to_numpy(dtype=float)
        return out
    arr = np.asarray(x, dtype=float).ravel()
    if arr.shape != (len(symbols),):
        raise TargetError(
            f"{name} has {arr.size} values for {len(symbols)} symbols", date=date, parameter=name
        )
    return arr
