"""Symbols and where a ticker's prices come from.

A LEAN :class:`Symbol` is a ``str`` here (its ticker), so it works as a dict key, a DataFrame
column and an engine symbol at once, and ``portfolio["KO"]`` finds the same holding as
``portfolio[ko_symbol]``.

Tickers resolve, in order, from the data given to :func:`riskbook.lean.run` (``data=``), the
bundled data sets (the 20 stocks of ``"sp500"``, ``SP500`` for the index, the five factor ETFs of
``"factor_etfs"``), then the local store (every data set ingested with ``riskbook data ingest``,
by name order). An unknown ticker is a :class:`~riskbook.errors.DataError` naming it.

Examples
--------
>>> resolver = TickerResolver()
>>> resolver.source("SP500")
'bundled:sp500_index'
>>> resolver.load("KO").symbols
('KO',)
>>> resolver.load("SPY")
Traceback (most recent call last):
...
riskbook.errors.DataError: unknown ticker: not in the bundled data (20 stocks, SP500, 5 factor ETFs) nor the local store; pass data= to riskbook.lean.run [symbol=SPY, parameter=ticker]
"""

from __future__ import annotations

import os
from enum import IntEnum
from typing import Any

import numpy as np

from riskbook.data.market_data import MarketData
from riskbook.errors import ConfigError, DataError

__all__ = ["Market", "SecurityType", "Symbol", "TickerResolver", "combine"]


class SecurityType(IntEnum):
    """LEAN's security types (riskbook trades equities)."""

    BASE = 0
    EQUITY = 1
    OPTION = 2
    COMMODITY = 3
    FOREX = 4
    FUTURE = 5
    CFD = 6
    CRYPTO = 7

    Base = 0
    Equity = 1
    Option = 2
    Commodity = 3
    Forex = 4
    Future = 5
    Cfd = 6
    Crypto = 7


class Market:
    """LEAN's market names (informational: riskbook has one market)."""

    USA = "usa"
    Usa = "usa"


class Symbol(str):
    """A ticker that also answers LEAN's ``Symbol`` members.

    Examples
    --------
    >>> spy = Symbol.create("ko", SecurityType.EQUITY, Market.USA)
    >>> spy, spy.value, spy == "KO", {"KO": 1}[spy]
    ('KO', 'KO', True, 1)
    """

    __slots__ = ()

    @classmethod
    def create(
        cls, ticker: str, security_type: Any = SecurityType.EQUITY, market: Any = Market.USA
    ) -> Symbol:
        """LEAN's ``Symbol.Create``: the ticker, upper-cased."""
        return cls(str(ticker).upper())

    Create = create

    @property
    def value(self) -> str:
        return str(self)

    @property
    def id(self) -> str:
        return str(self)

    @property
    def security_type(self) -> SecurityType:
        return SecurityType.EQUITY

    Value = value
    ID = id
    SecurityType = security_type

    def __repr__(self) -> str:
        return str.__repr__(str(self))


_BUNDLED_ORDER = ("sp500", "sp500_index", "factor_etfs")


class TickerResolver:
    """Finds the prices of a ticker.

    Parameters
    ----------
    data
        Data searched first: a :class:`~riskbook.MarketData`, or anything
        :func:`riskbook.load_prices` accepts (a path, a bundled name, ``"store:NAME"``).
    """

    def __init__(self, data: Any = None) -> None:
        self._given: MarketData | None = None
        if data is not None:
            if isinstance(data, MarketData):
                self._given = data
            elif isinstance(data, str | os.PathLike):
                from riskbook.data.loaders import load_prices

                self._given = load_prices(data)
            else:
                raise ConfigError(
                    f"data must be a MarketData or a name/path for load_prices, not {data!r}",
                    parameter="data",
                )
        self._store_entries: list | None = None

    def _bundled(self) -> dict[str, str]:
        from riskbook.datasets import load_bundled

        out: dict[str, str] = {}
        for name in _BUNDLED_ORDER:
            for symbol in load_bundled(name).symbols:
                out.setdefault(symbol, name)
        return out

    def _store(self) -> list:
        if self._store_entries is None:
            from riskbook.data.store import Store

            try:
                self._store_entries = Store().list()
            except OSError:  # an unreadable store is the same as an empty one here
                self._store_entries = []
        return self._store_entries

    def source(self, ticker: str) -> str:
        """Where ``ticker`` comes from: ``"data"``, ``"bundled:NAME"`` or ``"store:NAME"``.

        Raises
        ------
        DataError
            If no source has the ticker.
        """
        ticker = str(ticker)
        if self._given is not None and ticker in self._given.symbols:
            return "data"
        bundled = self._bundled()
        if ticker in bundled:
            return f"bundled:{bundled[ticker]}"
        for entry in self._store():
            if ticker in entry.symbols:
                return f"store:{entry.name}"
        raise DataError(
            "unknown ticker: not in the bundled data (20 stocks, SP500, 5 factor ETFs) nor the "
            "local store; pass data= to riskbook.lean.run",
            symbol=ticker,
            parameter="ticker",
        )

    def load(self, ticker: str) -> MarketData:
        """The ticker's bars as a one-symbol MarketData (leading and trailing NaN rows cut)."""
        where = self.source(ticker)
        if where == "data":
            data = self._given
        elif where.startswith("bundled:"):
            from riskbook.datasets import load_bundled

            data = load_bundled(where.removeprefix("bundled:"))
        else:
            from riskbook.data.store import Store

            data = Store().load(where.removeprefix("store:"))
        one = data.select([str(ticker)])
        seen = np.flatnonzero(np.isfinite(one.close[:, 0]))
        if len(seen) == 0:
            raise DataError("the ticker has no prices", symbol=str(ticker), parameter="ticker")
        return one._derive(rows=slice(int(seen[0]), int(seen[-1]) + 1))


def combine(parts: list[MarketData], name: str = "lean") -> MarketData:
    """One MarketData from one-symbol parts: the union of their dates, NaN outside each
    symbol's own range; only the fields every part has.

    A date one symbol lacks inside its range (another calendar) repeats its previous close
    (``gaps="ffill"``, recorded in ``report``).

    Examples
    --------
    >>> r = TickerResolver()
    >>> both = combine([r.load("KO"), r.load("MTUM")])
    >>> both.symbols, str(both.start.date()), bool(np.isnan(both.close[0, 1]))
    (('KO', 'MTUM'), '1990-01-02', True)
    """
    if not parts:
        raise ConfigError("no securities were added: call add_equity", parameter="add_equity")
    frequencies = {p.frequency for p in parts}
    if len(frequencies) > 1:
        raise ConfigError("the tickers' data mix daily and minute bars", parameter="add_equity")
    if len(parts) == 1:
        return parts[0]
    dates = np.unique(np.concatenate([p.dates for p in parts]))
    fields = [
        f for f in ("open", "high", "low", "close", "volume") if all(f in p.fields for p in parts)
    ]
    arrays = {f: np.full((len(dates), len(parts)), np.nan) for f in fields}
    symbols = []
    for j, part in enumerate(parts):
        rows = np.searchsorted(dates, part.dates)
        for f in fields:
            arrays[f][rows, j] = getattr(part, f)[:, 0]
        symbols.append(part.symbols[0])
    aligned = all(len(p.dates) == len(dates) for p in parts)
    return MarketData.from_arrays(
        dates, symbols, **arrays, gaps="raise" if aligned else "ffill", name=name
    )
