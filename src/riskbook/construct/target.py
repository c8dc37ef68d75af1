"""Portfolio targets (a quantity to hold of one symbol) and LEAN's target collection.

:meth:`PortfolioTarget.percent` turns a fraction of total portfolio value into a whole-lot
quantity the way LEAN's ``PortfolioTarget.Percent`` does (its buying-power model's
``GetMaximumOrderQuantityForTargetBuyingPower``):

1. reject ``abs(percent)`` above ``settings.max_absolute_portfolio_target_percentage`` (default
   1e9) or nonzero below ``settings.min_absolute_portfolio_target_percentage`` (default 1e-10),
   a symbol without a security and a zero price: ``None`` and an error logged;
2. keep a cash buffer: ``p_adj = p * (TPV - free) / TPV`` with ``free =
   settings.free_portfolio_value`` when set, else ``TPV * free_portfolio_value_percentage``
   (default 0.25%);
3. work in margin (value / leverage): if ``|target margin - current margin|`` is below ``TPV *
   minimum_order_margin_portfolio_percentage`` (default 0.1%) and the portfolio still has margin
   remaining, the order is 0 (the current holdings stay; one warning per algorithm);
4. the order is ``target margin / unit margin - holdings`` rounded to whole lots toward the
   smaller final position (down for a long target, up for a short one), then stepped one lot
   at a time until the final margin is within the target;
5. fees: the order's fee is estimated, the target becomes ``(TPV - fee) * p_adj / leverage`` and
   step 4 repeats until the position fits.

Examples
--------
>>> from riskbook.construct import SimpleAlgorithm
>>> from riskbook.data import MarketData
>>> md = MarketData.from_arrays(["2024-01-02"], ["XYZ"], close=[[50.0]])
>>> algo = SimpleAlgorithm(md, "2024-01-02", cash=100_000)
>>> PortfolioTarget.percent(algo, "XYZ", 0.10)
PortfolioTarget(symbol='XYZ', quantity=199.0, tag='')
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Iterator, MutableSequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskbook.errors import ConfigError

__all__ = ["PortfolioTarget", "PortfolioTargetCollection"]

# LEAN's AlgorithmSettings defaults
DEFAULT_FREE_PORTFOLIO_VALUE_PERCENTAGE = 0.0025
DEFAULT_MINIMUM_ORDER_MARGIN_PORTFOLIO_PERCENTAGE = 0.001
DEFAULT_MAX_ABSOLUTE_PORTFOLIO_TARGET_PERCENTAGE = 1e9
DEFAULT_MIN_ABSOLUTE_PORTFOLIO_TARGET_PERCENTAGE = 1e-10

# Floats stand in for LEAN's decimals: 199.99999999997 lots must count as 200, and a final
# margin equal to the target up to rounding must not cost a lot.
_LOT_EPS = 1e-9
_MARGIN_RTOL = 1e-12

_warned: weakref.WeakSet[Any] = weakref.WeakSet()
_warned_ids: set[int] = set()


def _setting(algorithm: Any, name: str, default: Any) -> Any:
    value = getattr(getattr(algorithm, "settings", None), name, None)
    return default if value is None else value


def _log_error(algorithm: Any, message: str) -> None:
    log = getattr(algorithm, "error", None)
    if callable(log):
        log(message)


def _warn_minimum_order_once(algorithm: Any, message: str) -> None:
    try:
        if algorithm in _warned:
            return
        _warned.add(algorithm)
    except TypeError:  # not weak-referenceable: fall back to its id
        if id(algorithm) in _warned_ids:
            return
        _warned_ids.add(id(algorithm))
    log = getattr(algorithm, "debug", None) or getattr(algorithm, "log", None)
    if callable(log):
        log(message)


def _lot_size(security: Any) -> float:
    props = getattr(security, "symbol_properties", None)
    lot = getattr(props, "lot_size", None) if props is not None else None
    return float(lot) if lot else 1.0


def _holding_quantity(algorithm: Any, symbol: Any) -> float:
    holding = algorithm.portfolio.get(symbol) if hasattr(algorithm.portfolio, "get") else None
    if holding is None:
        try:
            holding = algorithm.portfolio[symbol]
        except (KeyError, IndexError):
            return 0.0
    return float(getattr(holding, "quantity", 0.0) or 0.0)


def _fee(security: Any, quantity: float, price: float) -> float:
    model = getattr(security, "fee_model", None)
    if model is None:
        return 0.0
    return float(np.asarray(model.fee(np.array([quantity]), np.array([price]))).ravel()[0])


def _round_lots(value: float, lot: float, up: bool) -> float:
    lots = value / lot
    return (math.ceil(lots - _LOT_EPS) if up else math.floor(lots + _LOT_EPS)) * lot


@dataclass(frozen=True)
class PortfolioTarget:
    """A quantity of one symbol to hold (LEAN's ``PortfolioTarget``).

    Parameters
    ----------
    symbol
        The symbol.
    quantity
        Units to hold after trading (signed: negative is short).
    tag
        Free text carried to the order.

    Examples
    --------
    >>> PortfolioTarget("IBM", 1200)
    PortfolioTarget(symbol='IBM', quantity=1200.0, tag='')
    """

    symbol: Any
    quantity: float
    tag: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantity", float(self.quantity))

    @classmethod
    def percent(
        cls,
        algorithm: Any,
        symbol: Any,
        percent: float,
        return_delta_quantity: bool = False,
        tag: str = "",
    ) -> PortfolioTarget | None:
        """The target for ``percent`` of total portfolio value, sized as LEAN sizes it.

        Parameters
        ----------
        algorithm
            Anything satisfying :class:`~riskbook.construct.Algorithm`.
        symbol
            The symbol.
        percent
            Signed fraction of total portfolio value (0.1 = 10% long).
        return_delta_quantity
            Return the quantity to trade instead of the quantity to hold.
        tag
            Carried to the target.

        Returns
        -------
        PortfolioTarget or None
            None when the request is invalid (see the module docstring); the reason is logged
            through ``algorithm.error``.

        Examples
        --------
        >>> from riskbook.construct import SimpleAlgorithm
        >>> from riskbook.data import MarketData
        >>> md = MarketData.from_arrays(["2024-01-02"], ["XYZ"], close=[[50.0]])
        >>> algo = SimpleAlgorithm(md, "2024-01-02", cash=100_000)
        >>> PortfolioTarget.percent(algo, "XYZ", -0.10).quantity
        -199.0
        >>> algo.settings.max_absolute_portfolio_target_percentage = 2
        >>> PortfolioTarget.percent(algo, "XYZ", 3.0) is None, len(algo.errors)
        (True, 1)
        """
        try:
            p = float(percent)
        except (TypeError, ValueError):
            _log_error(algorithm, f"target percent {percent!r} for {symbol} is not a number")
            return None
        max_abs = float(
            _setting(
                algorithm,
                "max_absolute_portfolio_target_percentage",
                DEFAULT_MAX_ABSOLUTE_PORTFOLIO_TARGET_PERCENTAGE,
            )
        )
        min_abs = float(
            _setting(
                algorithm,
                "min_absolute_portfolio_target_percentage",
                DEFAULT_MIN_ABSOLUTE_PORTFOLIO_TARGET_PERCENTAGE,
            )
        )
        if not math.isfinite(p) or abs(p) > max_abs or (p != 0 and abs(p) < min_abs):
            _log_error(
                algorithm,
                f"The portfolio target percent {p} for {symbol} is outside the settings' "
                f"max_absolute_portfolio_target_percentage {max_abs:g} / "
                f"min_absolute_portfolio_target_percentage {min_abs:g}; skipping",
            )
            return None

        security = (
            algorithm.securities.get(symbol) if hasattr(algorithm.securities, "get") else None
        )
        if security is None:
            _log_error(algorithm, f"{symbol} is not in the algorithm's securities; skipping")
            return None
        price = getattr(security, "price", None)
        if price is None or not math.isfinite(float(price)) or float(price) == 0:
            _log_error(
                algorithm,
                f"The order quantity for {symbol} cannot be calculated: its price is zero "
                "(no data yet)",
            )
            return None
        price = float(price)

        tpv = float(algorithm.portfolio.total_portfolio_value)
        if not math.isfinite(tpv) or tpv <= 0:
            _log_error(
                algorithm, f"total portfolio value is {tpv}; cannot size a target for {symbol}"
            )
            return None
        free = _setting(algorithm, "free_portfolio_value", None)
        if free is None:
            free = tpv * float(
                _setting(
                    algorithm,
                    "free_portfolio_value_percentage",
                    DEFAULT_FREE_PORTFOLIO_VALUE_PERCENTAGE,
                )
            )
        adjusted = p * (tpv - float(free)) / tpv
        leverage = float(getattr(security, "leverage", 1.0) or 1.0)
        min_order = float(
            _setting(
                algorithm,
                "minimum_order_margin_portfolio_percentage",
                DEFAULT_MINIMUM_ORDER_MARGIN_PORTFOLIO_PERCENTAGE,
            )
        )
        holdings = _holding_quantity(algorithm, symbol)
        try:
            delta = _order_quantity_for_target(
                algorithm, security, symbol, price, tpv, adjusted / leverage, leverage,
                holdings, min_order,
            )  # fmt: skip
        except ConfigError as exc:
            _log_error(algorithm, f"Unable to compute order quantity of {symbol}: {exc}")
            return None
        quantity = delta if return_delta_quantity else delta + holdings
        return cls(symbol, quantity + 0.0, tag)  # + 0.0 turns -0.0 into 0.0

    # LEAN's spellings
    Percent = percent

    @property
    def Symbol(self) -> Any:
        return self.symbol

    @property
    def Quantity(self) -> float:
        return self.quantity

    @property
    def Tag(self) -> str:
        return self.tag

    def __str__(self) -> str:
        return f"{self.symbol}: {self.quantity:g}"


def _order_quantity_for_target(
    algorithm: Any,
    security: Any,
    symbol: Any,
    price: float,
    tpv: float,
    target_buying_power: float,
    leverage: float,
    holdings: float,
    minimum_order_pct: float,
) -> float:
    """LEAN's ``GetMaximumOrderQuantityForTargetBuyingPower`` for a linear security.

    Returns the signed order quantity (0 when no order should be placed).
    """
    target_margin = target_buying_power * tpv
    if target_margin == 0:
        return -holdings
    multiplier = float(
        getattr(getattr(security, "symbol_properties", None), "multiplier", 1.0) or 1.0
    )
    unit_margin = price * multiplier / leverage
    current_margin = holdings * unit_margin

    abs_difference = abs(target_margin - current_margin)
    minimum_value = tpv * minimum_order_pct
    margin_remaining = getattr(algorithm.portfolio, "margin_remaining", None)
    if minimum_value > abs_difference and (margin_remaining is None or margin_remaining > 0):
        _warn_minimum_order_once(
            algorithm,
            f"Orders smaller than settings.minimum_order_margin_portfolio_percentage "
            f"({minimum_order_pct:g} of portfolio value) are skipped, e.g. {symbol}: margin "
            f"change {abs_difference:.2f} < {minimum_value:.2f}",
        )
        return 0.0

    lot = _lot_size(security)
    last_order = 0.0
    while True:
        order, final_margin = _amount_to_order(holdings, target_margin, unit_margin, lot)
        if order == 0:
            return 0.0
        fee = _fee(security, order, price)
        target_margin = (tpv - fee) * target_buying_power
        if order == last_order:
            raise ConfigError(
                "could not converge on the target margin with fees",
                symbol=str(symbol),
                parameter="percent",
            )
        last_order = order
        if abs(final_margin) <= abs(target_margin) * (1 + _MARGIN_RTOL):
            return order


def _amount_to_order(
    holdings: float, target_margin: float, unit_margin: float, lot: float
) -> tuple[float, float]:
    """LEAN's ``GetAmountToOrder``: whole lots, never past the target; (order, final margin)."""
    short = target_margin < 0
    # rounding the order toward -inf (long) / +inf (short) leaves the final position under target
    order = _round_lots(target_margin / unit_margin - holdings, lot, up=short)
    final_margin = (order + holdings) * unit_margin
    tolerance = abs(target_margin) * _MARGIN_RTOL
    while (short and final_margin - target_margin < -tolerance) or (
        not short and final_margin - target_margin > tolerance
    ):
        order += lot if short else -lot
        final_margin = (order + holdings) * unit_margin
    return order + 0.0, final_margin


class PortfolioTargetCollection:
    """Targets keyed by symbol, at most one per symbol (LEAN's ``PortfolioTargetCollection``).

    Adding a target for a symbol already present replaces it. Iteration yields the targets in
    insertion order of their symbols.

    Examples
    --------
    >>> c = PortfolioTargetCollection()
    >>> c.add_range([PortfolioTarget("A", 10), PortfolioTarget("B", -5)])
    >>> c.add(PortfolioTarget("A", 20))
    >>> len(c), c["A"].quantity, c.keys
    (2, 20.0, ['A', 'B'])
    """

    def __init__(self, targets: Iterable[PortfolioTarget] = ()) -> None:
        self._targets: dict[Any, PortfolioTarget] = {}
        self.add_range(targets)

    # ----------------------------------------------------------------- adding
    def add(self, target: PortfolioTarget) -> None:
        """Add a target, replacing any target for the same symbol."""
        if target is None:
            return
        self._targets[target.symbol] = target

    def add_range(self, targets: Iterable[PortfolioTarget]) -> None:
        """Add several targets (later ones win for a repeated symbol)."""
        for target in targets:
            self.add(target)

    def __setitem__(self, symbol: Any, target: PortfolioTarget) -> None:
        self._targets[symbol] = target

    # ----------------------------------------------------------------- reading
    def contains(self, target: PortfolioTarget) -> bool:
        """True if this target (same symbol, quantity and tag) is in the collection."""
        return self._targets.get(target.symbol) == target

    def contains_key(self, symbol: Any) -> bool:
        """True if there is a target for ``symbol``."""
        return symbol in self._targets

    def __contains__(self, item: object) -> bool:
        if isinstance(item, PortfolioTarget):
            return self.contains(item)
        return item in self._targets

    @property
    def keys(self) -> list[Any]:
        """The symbols with a target."""
        return list(self._targets)

    @property
    def values(self) -> list[PortfolioTarget]:
        """The targets."""
        return list(self._targets.values())

    @property
    def count(self) -> int:
        return len(self._targets)

    @property
    def is_empty(self) -> bool:
        return not self._targets

    def __getitem__(self, symbol: Any) -> PortfolioTarget:
        return self._targets[symbol]

    def try_get_value(self, symbol: Any) -> PortfolioTarget | None:
        """The target for ``symbol``, or None."""
        return self._targets.get(symbol)

    def __iter__(self) -> Iterator[PortfolioTarget]:
        return iter(list(self._targets.values()))

    def get_enumerator(self) -> Iterator[PortfolioTarget]:
        """An iterator over the targets (LEAN's ``GetEnumerator``)."""
        return iter(self)

    def __len__(self) -> int:
        return len(self._targets)

    def copy_to(self, array: MutableSequence[Any], array_index: int) -> None:
        """Write the targets into ``array`` starting at ``array_index``.

        Raises
        ------
        ConfigError
            If the index is negative or the array is too short to hold every target.

        Examples
        --------
        >>> out = [None, None, None]
        >>> PortfolioTargetCollection([PortfolioTarget("A", 1)]).copy_to(out, 1)
        >>> out[1].symbol, out[0]
        ('A', None)
        """
        if array_index < 0 or array_index + len(self) > len(array):
            raise ConfigError(
                f"array of length {len(array)} cannot take {len(self)} targets from index "
                f"{array_index}",
                parameter="array_index",
            )
        for offset, target in enumerate(self._targets.values()):
            array[array_index + offset] = target

    # ----------------------------------------------------------------- removal
    def remove(self, item: Any) -> bool:
        """Remove by symbol, or remove this exact target; True if something was removed."""
        if isinstance(item, PortfolioTarget):
            if self._targets.get(item.symbol) != item:
                return False
            item = item.symbol
        return self._targets.pop(item, None) is not None

    def clear(self) -> None:
        """Remove every target."""
        self._targets.clear()

    def clear_fulfilled(self, algorithm: Any) -> None:
        """Remove targets within one lot of the holdings (open orders are not counted).

        Examples
        --------
        >>> from riskbook.construct import SimpleAlgorithm
        >>> from riskbook.data import MarketData
        >>> md = MarketData.from_arrays(["2024-01-02"], ["A", "B"], close=[[10.0, 20.0]])
        >>> algo = SimpleAlgorithm(md, "2024-01-02", positions={"A": 100})
        >>> c = PortfolioTargetCollection([PortfolioTarget("A", 100), PortfolioTarget("B", 5)])
        >>> c.clear_fulfilled(algo); c.keys
        ['B']
        """
        for target in list(self._targets.values()):
            security = algorithm.securities.get(target.symbol)
            lot = _lot_size(security) if security is not None else 1.0
            if abs(target.quantity - _holding_quantity(algorithm, target.symbol)) < lot:
                self._targets.pop(target.symbol, None)

    # ----------------------------------------------------------------- ordering
    def order_by_margin_impact(self, algorithm: Any) -> list[PortfolioTarget]:
        """The targets to trade, position-reducing first, then by order value, largest first.

        Skipped: symbols without a security, without data or not tradable, and targets whose
        lot-adjusted quantity differs from holdings plus open orders by less than one lot.
        Nothing is returned while the algorithm is warming up. As in LEAN, "reducing" means
        ``|target| < |existing|`` with a nonzero existing position (so a flip to a smaller
        opposite position counts as reducing).

        Examples
        --------
        >>> from riskbook.construct import SimpleAlgorithm
        >>> from riskbook.data import MarketData
        >>> md = MarketData.from_arrays(["2024-01-02"], ["A", "B", "C"],
        ...     close=[[10.0, 20.0, 5.0]])
        >>> algo = SimpleAlgorithm(md, "2024-01-02", positions={"A": 100})
        >>> c = PortfolioTargetCollection([PortfolioTarget("B", 10), PortfolioTarget("C", 400),
        ...     PortfolioTarget("A", 50)])
        >>> [t.symbol for t in c.order_by_margin_impact(algo)]
        ['A', 'C', 'B']
        """
        if not self._targets or getattr(algorithm, "is_warming_up", False):
            return []
        rows = []
        open_quantity = getattr(algorithm, "open_order_quantity", None)
        for position, target in enumerate(self._targets.values()):
            security = algorithm.securities.get(target.symbol)
            if security is None:
                continue
            if not getattr(security, "has_data", True) or not getattr(
                security, "is_tradable", True
            ):
                continue
            lot = _lot_size(security)
            target_quantity = math.copysign(
                math.floor(abs(target.quantity) / lot + _LOT_EPS) * lot, target.quantity
            )
            existing = _holding_quantity(algorithm, target.symbol)
            if callable(open_quantity):
                existing += float(open_quantity(target.symbol))
            if abs(target_quantity - existing) < lot:
                continue
            value = abs((target_quantity - existing) * float(security.price))
            reducing = existing != 0 and abs(target_quantity) < abs(existing)
            rows.append((not reducing, -value, position, target))
        rows.sort(key=lambda row: row[:3])
        return [row[3] for row in rows]

    def __repr__(self) -> str:
        body = ", ".join(str(t) for t in self._targets.values())
        return f"PortfolioTargetCollection([{body}])"

    # LEAN's spellings
    Add = add
    AddRange = add_range
    Contains = contains
    ContainsKey = contains_key
    Remove = remove
    Clear = clear
    ClearFulfilled = clear_fulfilled
    CopyTo = copy_to
    OrderByMarginImpact = order_by_margin_impact
    GetEnumerator = get_enumerator
    TryGetValue = try_get_value

    @property
    def Keys(self) -> list[Any]:
        return self.keys

    @property
    def Values(self) -> list[PortfolioTarget]:
        return self.values

    @property
    def Count(self) -> int:
        return self.count

    @property
    def IsEmpty(self) -> bool:
        return self.is_empty
