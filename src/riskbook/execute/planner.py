"""The live rebalance planner: holdings, targets and prices in, an orders file out.

:func:`plan` sizes the orders with the backtest engine's own order logic
(:func:`riskbook.execute.orders.plan_snapshot` and :class:`~riskbook.execute.OrderRules`), so a
plan and a backtest decision on the same snapshot give the same quantities. It then applies the
orders at the given prices and explains, per symbol, why the weight after the orders differs from
the target, with the components of :func:`riskbook.execute.reconcile.attribute`. Orders are whole
lots (integer shares by default); with whole-lot holdings each final position is the whole-lot
position nearest its target on the side of zero, so every weight ends within one lot's value of
its target unless the no-trade band, the minimum ticket, the cash buffer, the costs or the cash
say otherwise, and the explanation says which.

File formats (CSV, UTF-8, a header row; column names are matched case-insensitively and in any
order, and no other column is allowed):

==========  ===================================  ==============================================
file        columns                              rules
==========  ===================================  ==============================================
holdings    ``symbol,quantity``                  finite quantities; negative (short) only in a
                                                 margin account
targets     ``symbol,weight``                    fractions of total equity (0.25 = 25%), finite;
                                                 negative only in a margin account; the gross
                                                 ``sum(|w|)`` at most the account's leverage
prices      ``symbol,price``                     finite and > 0
orders      ``symbol,side,quantity,price,value`` written by :meth:`RebalancePlan.write_orders`:
                                                 side BUY or SELL, quantity > 0, value =
                                                 quantity * price, sells first
==========  ===================================  ==============================================

Every file: one row per symbol (a duplicate is an error), no empty symbol, blank lines ignored.
Every symbol in the holdings or the targets needs a row in the prices (an unknown symbol is an
error, even with a zero quantity or weight: it is most often a typo). A symbol held but absent from
the targets has target 0: it is sold. Weights summing below 1 leave the rest in cash; a gross
above the leverage is an error (never a silent rescale). An error in a file is a
:class:`~riskbook.errors.DataError` whose ``context`` names the ``file``, the ``row`` (1-based
data row, the header not counted, blank lines skipped), the ``line`` (1-based line number in the
file) and the ``column`` (row 0 is the header); its ``symbol`` names the symbol when there is
one.

Examples
--------
>>> p = plan({"A": 100}, {"A": 0.2, "B": 0.7}, {"A": 50.0, "B": 20.0}, cash=5000.0)
>>> p.orders
  symbol  side  quantity  price   value
0      A  SELL      60.0   50.0  3000.0
1      B   BUY     350.0   20.0  7000.0
>>> p.weights[["target", "after", "explanation"]].to_dict("index")
{'A': {'target': 0.2, 'after': 0.2, 'explanation': 'on target'}, 'B': {'target': 0.7, 'after': 0.7, 'explanation': 'on target'}}
>>> p.cash_after
1000.0
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskbook._files import remove_dead_temporaries
from riskbook.errors import ConfigError, DataError, TargetError
from riskbook.execute.costs import Costs
from riskbook.execute.orders import (
    Account,
    OrderPlan,
    OrderRules,
    Rounding,
    execution_rank,
    plan_snapshot,
)
from riskbook.execute.reconcile import attribute

__all__ = [
    "EXPLAINED_BY",
    "ORDER_COLUMNS",
    "RebalancePlan",
    "plan",
    "plan_from_book",
    "read_holdings",
    "read_prices",
    "read_targets",
]

#: The columns of an orders file, in order.
ORDER_COLUMNS = ("symbol", "side", "quantity", "price", "value")
#: The components a residual ``after - target`` is split into (:mod:`riskbook.execute.reconcile`'s
#: last one, ``price_move``, is zero in a plan: the orders fill at the prices they were sized at).
EXPLAINED_BY = ("cash_buffer", "skipped", "rounding", "cash_shortfall", "costs")
_TOL = 1e-12  # a component smaller than this (in weight) explains nothing
_DEFAULT_WARMUP = 252  # daily bars replayed by plan_from_book when the config sets none


# --------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class _Input:
    """Values by symbol, and where each came from (file, data row, line) when read from a CSV."""

    values: pd.Series
    name: str  # "positions", "targets" or "prices"
    file: str | None = None
    rows: Mapping[str, tuple[int, int]] | None = None  # symbol -> (row, line)

    def where(self, symbol: str, column: str) -> dict[str, Any]:
        """Error context naming the file, row, line and column of ``symbol`` (or the parameter)."""
        if self.file is None or self.rows is None:
            return {"parameter": self.name}
        row, line = self.rows[symbol]
        return {"file": self.file, "row": row, "line": line, "column": column}


_SPECS = {
    # name -> (value column, what it is in a message)
    "positions": ("quantity", "quantity"),
    "targets": ("weight", "target weight"),
    "prices": ("price", "price"),
}


def _read_csv(path: str | os.PathLike, name: str, *, allow_negative: bool) -> _Input:
    """Read and validate one two-column CSV (see the module docstring for the rules)."""
    file = os.fspath(path)
    column, what = _SPECS[name]
    expected = ("symbol", column)
    header_text = ",".join(expected)
    if not os.path.isfile(file):
        raise DataError("no such file", file=file)
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            records = [(reader.line_num, fields) for fields in reader]
    except UnicodeDecodeError as exc:
        raise DataError(f"not a UTF-8 text file ({exc.reason})", file=file) from exc
    except csv.Error as exc:
        raise DataError(f"not a valid CSV file: {exc}", file=file) from exc
    records = [(line, f) for line, f in records if any(x.strip() for x in f)]  # skip blank lines
    if not records:
        raise DataError(f"the file is empty; expected the header row '{header_text}'", file=file)

    line, header = records[0]
    names = [h.strip().lower() for h in header]
    if not set(names) & set(expected):
        looks_like_data = len(header) == 2 and _is_number(header[1])
        raise DataError(
            (
                f"no header row; the first line must be '{header_text}'"
                if looks_like_data
                else f"unexpected header {','.join(header)!r}; expected '{header_text}'"
            ),
            file=file,
            row=0,
            line=line,
            column=header[0].strip() if header else None,
        )
    for col in expected:
        if col not in names:
            raise DataError(
                f"missing column '{col}'; the header must be '{header_text}'",
                file=file,
                row=0,
                line=line,
                column=col,
            )
    extra = [h.strip() for h, n in zip(header, names, strict=True) if n not in expected]
    if extra:
        listed = ", ".join(repr(x) for x in extra)
        raise DataError(
            f"unexpected column(s) {listed}; the header must be exactly '{header_text}'",
            file=file,
            row=0,
            line=line,
            column=extra[0],
        )
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise DataError(
            f"column '{dup}' appears twice in the header", file=file, row=0, line=line, column=dup
        )
    i_sym, i_val = names.index("symbol"), names.index(column)

    symbols: list[str] = []
    values: list[float] = []
    rows: dict[str, tuple[int, int]] = {}
    for row, (line, fields) in enumerate(records[1:], start=1):
        where = {"file": file, "row": row, "line": line}
        if len(fields) != len(header):
            missing = len(fields) < len(header)
            raise DataError(
                f"the row has {len(fields)} field(s), the header {len(header)}"
                + ("" if missing else " (an unquoted comma?)"),
                **where,
                column=header[len(fields)].strip() if missing else f"#{len(header) + 1}",
            )
        symbol = fields[i_sym].strip()
        if not symbol:
            raise DataError("empty symbol", **where, column="symbol")
        if symbol in rows:
            first_row, first_line = rows[symbol]
            raise DataError(
                f"duplicate symbol (first on row {first_row}, line {first_line})",
                symbol=symbol,
                **where,
                column="symbol",
            )
        text = fields[i_val].strip()
        value = _parse_number(text)
        ctx = {"symbol": symbol, **where, "column": column}
        if value is None:
            message = f"missing {what}" if not text else f"non-numeric {what} {text!r}"
            raise DataError(message, **ctx)
        _check_value(value, name, allow_negative, ctx)
        rows[symbol] = (row, line)
        symbols.append(symbol)
        values.append(value)
    series = pd.Series(values, index=pd.Index(symbols, dtype=object), dtype=float, name=column)
    return _Input(series, name, file, rows)


def _is_number(text: str) -> bool:
    return _parse_number(text.strip()) is not None


def _parse_number(text: str) -> float | None:
    """The number in ``text`` (NaN and infinities included), or None when it is not one."""
    if not text or "_" in text:  # float() accepts "1_000"; a CSV cell should not
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _check_value(value: float, name: str, allow_negative: bool, ctx: dict[str, Any]) -> None:
    """A DataError (with ``ctx``) for a value the file kind does not allow."""
    what = _SPECS[name][1]
    if not math.isfinite(value):
        raise DataError(f"{what} is {value}; a finite number is required", **ctx)
    if name == "prices" and value <= 0:
        raise DataError(f"price {value:g} is not positive", **ctx)
    if name != "prices" and value < 0 and not allow_negative:
        hint = "a short position" if name == "positions" else "a short target"
        raise DataError(
            f"negative {what} {value:g} ({hint}) in a cash account; use account='margin'",
            **ctx,
        )


def _from_values(x: Any, name: str, *, allow_negative: bool) -> _Input:
    """A mapping or Series by symbol, validated like a file's rows (errors name the symbol)."""
    if x is None:
        return _Input(pd.Series([], index=pd.Index([], dtype=object), dtype=float), name)
    if isinstance(x, str | os.PathLike):
        return _read_csv(x, name, allow_negative=allow_negative)
    if isinstance(x, Mapping):
        x = pd.Series(dict(x), dtype=object)
    if not isinstance(x, pd.Series):
        raise ConfigError(
            f"{name} must be a CSV path, a mapping symbol -> number or a pandas Series",
            parameter=name,
        )
    symbols = [str(s).strip() for s in x.index]
    seen: set[str] = set()
    values = []
    for symbol, raw in zip(symbols, x.to_numpy(dtype=object), strict=True):
        ctx = {"symbol": symbol, "parameter": name}
        if not symbol:
            raise DataError("empty symbol", parameter=name)
        if symbol in seen:
            raise DataError("duplicate symbol", **ctx)
        seen.add(symbol)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise DataError(f"non-numeric {_SPECS[name][1]} {raw!r}", **ctx) from None
        _check_value(value, name, allow_negative, ctx)
        values.append(value)
    series = pd.Series(values, index=pd.Index(symbols, dtype=object), dtype=float)
    return _Input(series.rename(_SPECS[name][0]), name)


def read_holdings(path: str | os.PathLike, *, allow_short: bool = False) -> pd.Series:
    """Quantities by symbol from a ``symbol,quantity`` CSV.

    Parameters
    ----------
    path
        The file (a header row, then one row per symbol).
    allow_short
        Accept negative quantities (a margin account's shorts).

    Returns
    -------
    pandas.Series
        Quantity by symbol, in file order.

    Raises
    ------
    DataError
        A missing or extra column, an empty or duplicate symbol, a non-numeric, NaN or infinite
        quantity, or a negative one without ``allow_short``; ``context`` names the file, row,
        line and column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "holdings.csv"
    >>> _ = f.write_text("symbol,quantity\\nAAPL,10\\nKO,-5\\n")
    >>> read_holdings(f, allow_short=True).to_dict()
    {'AAPL': 10.0, 'KO': -5.0}
    >>> read_holdings(f)
    Traceback (most recent call last):
    ...
    riskbook.errors.DataError: negative quantity -5 (a short position) in a cash account; use account='margin' [symbol=KO, file=..., row=2, line=3, column=quantity]
    """
    return _read_csv(path, "positions", allow_negative=allow_short).values


def read_targets(path: str | os.PathLike, *, allow_short: bool = False) -> pd.Series:
    """Target weights (fractions of total equity) by symbol from a ``symbol,weight`` CSV.

    Rules and errors as :func:`read_holdings`; ``allow_short`` accepts negative weights.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "targets.csv"
    >>> _ = f.write_text("Weight,Symbol\\n0.6,SPY\\n0.4,TLT\\n")
    >>> read_targets(f).to_dict()
    {'SPY': 0.6, 'TLT': 0.4}
    """
    return _read_csv(path, "targets", allow_negative=allow_short).values


def read_prices(path: str | os.PathLike) -> pd.Series:
    """Prices by symbol from a ``symbol,price`` CSV; every price finite and positive.

    Rules and errors as :func:`read_holdings`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "prices.csv"
    >>> _ = f.write_text("symbol,price\\nSPY,380.5\\nTLT,0\\n")
    >>> read_prices(f)
    Traceback (most recent call last):
    ...
    riskbook.errors.DataError: price 0 is not positive [symbol=TLT, file=..., row=2, line=3, column=price]
    """
    return _read_csv(path, "prices", allow_negative=False).values


# --------------------------------------------------------------------------------------- result
def _fmt(x: float) -> str:
    """A number as written to the orders file: integers without a decimal point, others in
    their shortest exact form (so the same plan writes the same bytes)."""
    x = float(x)
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


@dataclass(frozen=True)
class RebalancePlan:
    """Orders that move the holdings to the targets, and the weights they leave, explained.

    Attributes
    ----------
    orders
        ``symbol, side, quantity, price, value``: sells first, then buys (each group in the
        engine's execution order: position-reducing first, then by value, largest first);
        ``side`` is BUY or SELL, ``quantity`` is positive, ``value = quantity * price``.
    weights
        One row per symbol held or targeted (index ``symbol``, sorted): ``current``,
        ``target``, ``after`` (weight of total equity after the orders fill at the given prices,
        net of costs), ``residual = after - target``, its components (``cash_buffer``,
        ``skipped``, ``rounding``, ``cash_shortfall``, ``costs``; they sum to the residual),
        ``one_lot`` (the weight of one lot: the most whole-lot rounding can leave) and
        ``explanation`` (the nonzero components, largest first, with ``skipped`` named by its
        reason: ``no_trade_band`` or ``min_trade_value``; ``on target`` when there are none).
    skipped
        Trades wanted but not sent: ``symbol, side, quantity`` (the fractional trade the target
        asked for), ``price, value, reason`` with reason ``no_trade_band``,
        ``min_trade_value``, ``below_one_lot`` (rounding left no whole lot) or ``cash`` (the
        cash could not pay for any of it).
    positions_after
        Quantity by symbol once the orders fill.
    equity, equity_after
        Total equity (cash + positions at the given prices) before and after the orders (the
        difference is the costs).
    cash, cash_after
        Cash before and after the orders (after costs).
    costs
        Expected fees plus slippage of the orders.
    account
        ``"cash"`` or ``"margin"``.
    rounding
        The rounding rule used (see :func:`plan`).
    stages
        The engine's :class:`~riskbook.execute.OrderPlan`: quantities after every sizing stage.
    book
        The :class:`~riskbook.book.TargetBook` the targets came from (:func:`plan_from_book`),
        else None.
    """

    orders: pd.DataFrame
    weights: pd.DataFrame
    skipped: pd.DataFrame
    positions_after: pd.Series
    equity: float
    equity_after: float
    cash: float
    cash_after: float
    costs: float
    account: str
    rounding: str
    stages: OrderPlan
    book: Any = None

    @property
    def cash_weight(self) -> float:
        """Cash as a fraction of equity after the orders."""
        return self.cash_after / self.equity_after

    def orders_csv(self) -> str:
        """The orders file's text: a header, then one line per order ("\\n" line ends)."""
        lines = [",".join(ORDER_COLUMNS)]
        for row in self.orders.itertuples(index=False):
            lines.append(
                ",".join(
                    (
                        _csv_field(row.symbol),
                        row.side,
                        _fmt(row.quantity),
                        _fmt(row.price),
                        _fmt(row.value),
                    )
                )
            )
        return "\n".join(lines) + "\n"

    def write_orders(self, path: str | os.PathLike) -> Path:
        """Write the orders CSV atomically and return its path.

        The text goes to a temporary file in the same directory, is flushed to disk, and then
        replaces ``path`` in one step (:func:`os.replace`): an interrupted or failed write leaves
        no partial file, and a previous file at ``path`` intact. The same plan always writes the
        same bytes.

        Raises
        ------
        ConfigError
            The file cannot be written (missing directory, no permission); ``file`` names it.
        """
        return _atomic_write(Path(path), self.orders_csv())

    def summary(self) -> str:
        """A plain-text table of the weights (in %) and the residuals (in bp), explained."""
        w = self.weights
        head = (
            f"{'symbol':<10}{'current':>9}{'target':>9}{'after':>9}{'resid bp':>10}"
            f"{'1 lot bp':>10}  explanation"
        )
        lines = [head]
        for sym, r in w.iterrows():
            lines.append(
                f"{sym!s:<10}{r.current:>9.2%}{r.target:>9.2%}{r.after:>9.2%}"
                f"{r.residual * 1e4:>10.2f}{r.one_lot * 1e4:>10.2f}  {r.explanation}"
            )
        before = self.cash / self.equity if self.equity else 0.0
        target_cash = 1.0 - float(w["target"].sum())
        after = self.cash_weight
        lines.append(
            f"{'cash':<10}{before:>9.2%}{target_cash:>9.2%}{after:>9.2%}"
            f"{(after - target_cash) * 1e4:>10.2f}{'':>10}  the rest of the equity"
        )
        lines.append(
            f"equity {self.equity:,.2f}; cash {self.cash:,.2f} -> {self.cash_after:,.2f}; "
            f"{len(self.orders)} order(s), {len(self.skipped)} skipped; "
            f"expected costs {self.costs:,.2f}"
        )
        return "\n".join(lines)


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_text(handle: Any, text: str) -> None:
    """Write ``text`` to an open file (one place for tests to simulate a failure mid-write)."""
    handle.write(text)


def _atomic_write(path: Path, text: str) -> Path:
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"

    def pid_of(name: str) -> int | None:  # ".orders.csv.<pid>.<hex>.tmp"
        pid = name[len(path.name) + 2 :].split(".", 1)[0]
        return int(pid) if pid.isdigit() else None

    with contextlib.suppress(OSError):  # a planner killed mid-write left its temporary here
        remove_dead_temporaries(directory.glob(f".{path.name}.*.tmp"), pid_of)
    try:
        # "x": a fresh file with the umask's permissions, never someone else's
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            _write_text(handle, text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ConfigError(
                f"cannot write the orders file: {exc.strerror or exc}", file=str(path)
            ) from exc
        raise
    return path


# --------------------------------------------------------------------------------------- plan
def plan(
    positions: Any,
    targets: Any,
    prices: Any,
    *,
    cash: float = 0.0,
    account: Account = "cash",
    leverage: float = 1.0,
    min_trade_value: float = 0.0,
    no_trade_band: float = 0.0,
    lot_size: Any = 1,
    fractional: bool = False,
    cash_buffer: float = 0.0,
    rounding: Rounding | Literal["auto"] = "auto",
    costs: Any = None,
) -> RebalancePlan:
    """Orders that move ``positions`` to ``targets`` at ``prices``, with the weights explained.

    Parameters
    ----------
    positions
        Quantities held: a ``symbol,quantity`` CSV path, a mapping or a Series by symbol, or
        None (nothing held). Negative (short) only in a margin account.
    targets
        Target weights of total equity: a ``symbol,weight`` CSV path, a mapping or a Series.
        A symbol held but not targeted has target 0 (it is sold); weights summing below 1 leave
        cash; a gross ``sum(|w|)`` above ``leverage`` is a :class:`~riskbook.errors.TargetError`.
    prices
        The price each order is sized and valued at: a ``symbol,price`` CSV path, a mapping or a
        Series. Every held or targeted symbol needs one; others are ignored.
    cash
        Cash held (>= 0 in a cash account; negative is a margin loan). Equity = cash + sum of
        quantity * price.
    account, leverage
        ``"cash"`` (no shorts, gross <= 1, the orders never spend more than the cash and the
        sells' proceeds) or ``"margin"`` (gross <= ``leverage``).
    min_trade_value
        The minimum ticket: a trade worth less than this is not sent (the position is kept).
    no_trade_band
        A trade whose weight change is at most this (0.005 = half a percent of equity) is not
        sent.
    lot_size, fractional
        Shares per lot (a number or a mapping symbol -> lot), or fractional quantities.
    cash_buffer
        Fraction of equity kept in cash: the targets are scaled by ``1 - cash_buffer``
        (LEAN's free portfolio value; e.g. to pay the fees).
    rounding
        ``"auto"`` (default): ``"toward_zero"`` when every holding is a whole number of lots
        (each final position is then the whole-lot position at most as large as its target, so
        every order is whole lots and, in a cash account, the orders always fit the cash when
        the weights sum to at most 1 and there are no costs), else ``"toward_target"`` (each
        trade truncated to whole lots, so an odd-lot or fractional holding never makes a
        fractional order or a trade against the target's direction); or one of those two, or
        ``"nearest"``, explicitly. ``.rounding`` on the result says which was used.
    costs
        Expected fees and slippage (None, a :class:`~riskbook.execute.Costs`, a fee model,
        ``"ib"`` or basis points); in a cash account the buys are reduced until they are paid
        for, fees included.

    Returns
    -------
    RebalancePlan
        The orders (``.orders``, ``.write_orders(path)``), the weights before and after and the
        explanation of each residual (``.weights``), the skipped trades, the cash after.

    Raises
    ------
    DataError
        A bad file or value (naming file, row, line and column, or the symbol and parameter); a
        held or targeted symbol with no price.
    TargetError
        A gross above the account's leverage.
    ConfigError
        A bad option (account, leverage, lot size, cash).

    Examples
    --------
    >>> p = plan({"XLE": 30}, {"TLT": 0.5, "QQQ": 0.5}, {"TLT": 99.0, "QQQ": 270.0, "XLE": 87.0},
    ...          cash=10_000.0)
    >>> p.orders["side"].tolist(), p.orders["quantity"].tolist()
    (['SELL', 'BUY', 'BUY'], [30.0, 63.0, 23.0])
    >>> bool((p.weights["residual"].abs() <= p.weights["one_lot"]).all())
    True
    """
    if account not in ("cash", "margin"):
        raise ConfigError(
            f"unknown account {account!r}; use 'cash' or 'margin'", parameter="account"
        )
    short_ok = account == "margin"
    held = _from_values(positions, "positions", allow_negative=short_ok)
    wanted = _from_values(targets, "targets", allow_negative=short_ok)
    priced = _from_values(prices, "prices", allow_negative=False)
    rules = OrderRules(
        lot_size=lot_size,
        fractional=fractional,
        cash_buffer=cash_buffer,
        min_trade_value=min_trade_value,
        no_trade_band=no_trade_band,
        account=account,
        leverage=leverage,
        rounding="toward_zero" if rounding == "auto" else rounding,
    )
    return _plan(held, wanted, priced, cash=cash, rules=rules, auto=rounding == "auto", costs=costs)


def _plan(
    held: _Input,
    wanted: _Input,
    priced: _Input,
    *,
    cash: float,
    rules: OrderRules,
    auto: bool,
    costs: Any,
    book: Any = None,
) -> RebalancePlan:
    """:func:`plan` on validated inputs; ``auto`` picks the rounding from the holdings."""
    cash = _check_cash(cash, rules.account)
    price_of = priced.values
    for source, column in ((held, "symbol"), (wanted, "symbol")):
        for symbol in source.values.index:
            if symbol not in price_of.index:
                raise DataError(
                    f"no price for this symbol{_in_file(priced)}",
                    symbol=symbol,
                    **source.where(symbol, column),
                )
    _check_gross(wanted, rules)

    symbols = tuple(sorted(set(held.values.index) | set(wanted.values.index)))
    q0 = held.values.reindex(symbols, fill_value=0.0).to_numpy(dtype=float)
    w = wanted.values.reindex(symbols, fill_value=0.0).to_numpy(dtype=float)
    p = price_of.reindex(symbols).to_numpy(dtype=float)
    equity = cash + float(np.dot(q0, p))
    if not equity > 0:
        raise DataError(
            f"equity (cash + holdings at the prices) is {equity:,.2f}; nothing to plan with",
            parameter="cash",
        )
    lot_size = rules.lot_size
    if isinstance(lot_size, Mapping):
        unknown = [s for s in lot_size if s not in symbols and s not in price_of.index]
        if unknown:
            raise ConfigError(
                "lot_size names an unknown symbol", symbol=str(unknown[0]), parameter="lot_size"
            )
        rules = replace(rules, lot_size={s: v for s, v in lot_size.items() if s in symbols})
    cost_models = Costs.resolve(costs)
    if getattr(cost_models.slippage, "needs_volume", False):
        raise ConfigError(
            "the slippage model needs volume, which a plan does not have", parameter="costs"
        )
    lots = rules.lots(symbols)
    if auto and not rules.fractional:
        in_lots = q0 / lots
        if (np.abs(in_lots - np.round(in_lots)) > 1e-9).any():  # an odd lot or a fraction
            rules = replace(rules, rounding="toward_target")
    stages = plan_snapshot(w, q0, p, cash, symbols, rules, cost_models, lots)
    return _result(stages, cash, rules, cost_models, lots, book)


def _in_file(source: _Input) -> str:
    return f" in {source.file}" if source.file else " in the prices"


def _check_cash(cash: Any, account: str) -> float:
    try:
        value = float(cash)
    except (TypeError, ValueError):
        raise ConfigError(f"cash must be a number, got {cash!r}", parameter="cash") from None
    if not math.isfinite(value):
        raise ConfigError(f"cash is {value}", parameter="cash")
    if value < 0 and account == "cash":
        raise ConfigError(
            f"negative cash {value:,.2f} in a cash account; use account='margin'",
            parameter="cash",
        )
    return value


def _check_gross(wanted: _Input, rules: OrderRules) -> None:
    """The targets' gross against the account's limit, naming the file when there is one."""
    gross = float(wanted.values.abs().sum())
    if gross > rules.leverage * (1 + 1e-12):
        where = (
            {"file": wanted.file, "column": "weight"} if wanted.file else {"parameter": wanted.name}
        )
        raise TargetError(
            f"target weights have gross {gross:.6g} (sum of |weight|), above the {rules.account} "
            f"account's limit {rules.leverage:g}; scale them down or raise the leverage",
            **where,
        )


def _result(
    st: OrderPlan,
    cash: float,
    rules: OrderRules,
    costs: Costs,
    lots: np.ndarray,
    book: Any,
) -> RebalancePlan:
    symbols = np.asarray(st.symbols, dtype=object)
    p = np.where(np.isfinite(st.price), st.price, 0.0)  # a symbol never held nor targeted
    delta = st.delta
    if not rules.fractional:
        # whole lots exactly: q0 + 18 - q0 is 17.999999999999996 for a fractional q0
        in_lots = delta / lots
        whole = np.round(in_lots)
        delta = np.where(np.abs(in_lots - whole) <= 1e-9, whole * lots, delta)
    planned = st.current + delta
    idx = np.flatnonzero(delta)
    dq = delta[idx]
    if costs.is_free:
        paid = float(np.dot(dq, p[idx]))
        total_costs = 0.0
    else:
        px = np.asarray(costs.slippage.price(dq, p[idx], None), dtype=float)
        fee = np.asarray(costs.fee.fee(dq, px), dtype=float)
        paid = float(np.dot(dq, px) + fee.sum())
        total_costs = float(fee.sum() + np.dot(dq, px - p[idx]))
    cash_after = math.fsum([cash, -paid])
    value_after = np.where(planned != 0, planned * p, 0.0)
    equity_after = cash_after + float(value_after.sum())
    after = value_after / equity_after
    current = np.where(st.current != 0, st.current * p, 0.0) / st.equity
    comps = attribute(
        st.target_weight,
        st.equity,
        p,
        st.buffered,
        st.kept,
        st.rounded,
        planned,
        total_costs,
        after,
    )
    one_lot = np.zeros(len(p)) if rules.fractional else lots * p / st.equity
    reasons = st.skip_reason
    explanation = []
    for i in range(len(symbols)):
        parts = [(abs(float(comps[c][i])), c) for c in EXPLAINED_BY]
        parts = [(size, reasons[i] if c == "skipped" else c) for size, c in parts if size > _TOL]
        parts.sort(key=lambda x: -x[0])
        explanation.append(", ".join(c for _, c in parts) or "on target")
    weights = pd.DataFrame(
        {
            "current": current,
            "target": st.target_weight,
            "after": after,
            "residual": after - st.target_weight,
            **{c: comps[c] for c in EXPLAINED_BY},
            "one_lot": one_lot,
            "explanation": explanation,
        },
        index=pd.Index(list(st.symbols), name="symbol"),
    )

    # orders: sells first, then buys; within each side the engine's execution rank
    seq = idx[execution_rank(st.current[idx], planned[idx], np.abs(dq) * p[idx])]
    seq = seq[np.argsort(delta[seq] > 0, kind="stable")]
    qty = np.abs(delta[seq])
    orders = pd.DataFrame(
        {
            "symbol": symbols[seq],
            "side": np.where(delta[seq] > 0, "BUY", "SELL").astype(object),
            "quantity": qty,
            "price": st.price[seq],
            "value": np.round(qty * st.price[seq], 8),
        },
        columns=list(ORDER_COLUMNS),
    )

    wanted = st.buffered - st.current
    tol = 1e-9 * max(st.equity, 1.0)
    missed = (np.abs(wanted) * p > tol) & (delta == 0)
    why = np.where(
        st.skip_code != 0,
        reasons,
        np.where(st.rounded != st.current, "cash", "below_one_lot"),
    )
    m = np.flatnonzero(missed)
    skipped = pd.DataFrame(
        {
            "symbol": symbols[m],
            "side": np.where(wanted[m] > 0, "BUY", "SELL").astype(object),
            "quantity": np.abs(wanted[m]),
            "price": st.price[m],
            "value": np.abs(wanted[m]) * st.price[m],
            "reason": why[m].astype(object),
        }
    )
    return RebalancePlan(
        orders=orders,
        weights=weights,
        skipped=skipped,
        positions_after=pd.Series(planned, index=pd.Index(list(st.symbols), name="symbol")),
        equity=float(st.equity),
        equity_after=equity_after,
        cash=cash,
        cash_after=cash_after,
        costs=total_costs,
        account=rules.account,
        rounding=rules.rounding,
        stages=st,
        book=book,
    )


# --------------------------------------------------------------------------------------- book
@dataclass(frozen=True)
class _Account:
    """What :meth:`BookBuilder.build` reads of a portfolio: positions and prices aligned with
    the data's symbols, and the equity."""

    positions: np.ndarray
    prices: np.ndarray
    equity: float


def plan_from_book(
    config: Any = None,
    data: Any = "sp500",
    positions: Any = None,
    prices: Any = None,
    *,
    cash: float = 0.0,
    sleeves: Any = None,
    warmup_days: int | None = None,
    account: Account = "margin",
    leverage: float | None = None,
    min_trade_value: float = 0.0,
    no_trade_band: float = 0.0,
    lot_size: Any = 1,
    fractional: bool = False,
    cash_buffer: float = 0.0,
    rounding: Rounding | Literal["auto"] = "auto",
    costs: Any = None,
) -> RebalancePlan:
    """A plan whose targets are the integration layer's book at the data's last bar.

    Parameters
    ----------
    config
        A :class:`~riskbook.book.BookConfig`, a path to its TOML file, or None (seed 003's
        defaults).
    data
        :class:`~riskbook.MarketData`, or what :func:`riskbook.load_prices` takes (a file, a
        bundled name such as ``"sp500"``, ``"store:NAME"``). The book is built at its last bar.
    positions, prices
        As in :func:`plan`; ``prices`` defaults to the data's last close (a symbol without one
        cannot be held or targeted).
    cash
        Cash held; equity (cash + holdings) is what the book is sized for (its capital ladder).
    sleeves
        The sleeves; :func:`riskbook.book.demo_sleeves` when None.
    warmup_days
        Daily bars before the last over which the sleeves are replayed, point in time, so they
        have a return history: the config's ``warmup_days`` when positive, else 252.
    account, leverage
        Default ``"margin"`` with the config's gross cap (``caps.gross``, 2 by default): the
        demo book is long/short. A cash account needs a long-only book of gross <= 1.
    min_trade_value, no_trade_band, lot_size, fractional, cash_buffer, rounding, costs
        As in :func:`plan` (the book applies its own no-trade band, stage 7, already).

    Returns
    -------
    RebalancePlan
        With ``.book`` the :class:`~riskbook.book.TargetBook` (weights and per-stage audit).

    Examples
    --------
    >>> p = plan_from_book(data="sp500", cash=1_000_000.0)
    >>> p.book.time
    np.datetime64('2022-12-28T00:00:00.000000000')
    >>> bool((p.weights["residual"].abs() <= p.weights["one_lot"]).all())
    True
    """
    from riskbook.book import BookBuilder, BookConfig, demo_sleeves
    from riskbook.data.loaders import load_prices
    from riskbook.data.market_data import MarketData

    if config is None:
        cfg = BookConfig()
    elif isinstance(config, BookConfig):
        cfg = config
    elif isinstance(config, str | os.PathLike):
        cfg = BookConfig.from_toml(config)
    else:
        raise ConfigError("config must be a BookConfig, a TOML path or None", parameter="config")
    days = warmup_days if warmup_days is not None else (cfg.warmup_days or _DEFAULT_WARMUP)
    if not isinstance(days, int) or days < 0:
        raise ConfigError("warmup_days must be an integer >= 0", parameter="warmup_days")
    cfg = replace(cfg, warmup_days=days)
    market = data if isinstance(data, MarketData) else load_prices(data)
    if leverage is None:
        leverage = float(cfg.caps.gross) if account == "margin" else 1.0

    short_ok = account == "margin"
    held = _from_values(positions, "positions", allow_negative=short_ok)
    symbols = tuple(market.symbols)
    if prices is None:
        last = np.asarray(market.close[-1], dtype=float)
        ok = np.isfinite(last) & (last > 0)
        priced = _Input(
            pd.Series(
                last[ok], index=pd.Index(np.asarray(symbols, dtype=object)[ok]), name="price"
            ),
            "prices",
        )
    else:
        priced = _from_values(prices, "prices", allow_negative=False)
    for symbol in held.values.index:
        if symbol not in priced.values.index:
            raise DataError(
                f"no price for this symbol{_in_file(priced) if priced.file else ' in the data'}",
                symbol=symbol,
                **held.where(symbol, "symbol"),
            )
    cash = _check_cash(cash, account)
    q_all = held.values
    equity = cash + float((q_all * priced.values.reindex(q_all.index)).sum())
    if not equity > 0:
        raise DataError(
            f"equity (cash + holdings at the prices) is {equity:,.2f}; nothing to plan with",
            parameter="cash",
        )
    q = q_all.reindex(symbols, fill_value=0.0).to_numpy(dtype=float)
    px = priced.values.reindex(symbols).to_numpy(dtype=float)
    builder = BookBuilder(list(sleeves) if sleeves is not None else demo_sleeves(), cfg)
    book = builder.build(
        market.until(market.dates[-1]), _Account(q, np.where(np.isfinite(px), px, 0.0), equity)
    )
    nonzero = book.weights != 0
    targets = pd.Series(
        book.weights[nonzero],
        index=pd.Index(np.asarray(book.symbols, dtype=object)[nonzero]),
        name="weight",
    )
    wanted = _from_values(targets, "targets", allow_negative=short_ok)
    rules = OrderRules(
        lot_size=lot_size,
        fractional=fractional,
        cash_buffer=cash_buffer,
        min_trade_value=min_trade_value,
        no_trade_band=no_trade_band,
        account=account,
        leverage=leverage,
        rounding="toward_zero" if rounding == "auto" else rounding,
    )
    return _plan(
        held,
        wanted,
        priced,
        cash=cash,
        rules=rules,
        auto=rounding == "auto",
        costs=costs,
        book=book,
    )
