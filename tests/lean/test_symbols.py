"""Tickers resolve from the bundled data, the run's data and the local store; unknown ones are
named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskbook import MarketData
from riskbook.data.store import Store
from riskbook.errors import DataError, StrategyError
from riskbook.lean import QCAlgorithm, Symbol, run
from riskbook.lean.symbols import TickerResolver, combine


def test_bundled_sources():
    r = TickerResolver()
    assert r.source("KO") == "bundled:sp500"
    assert r.source("SP500") == "bundled:sp500_index"
    assert r.source("USMV") == "bundled:factor_etfs"
    usmv = r.load("USMV")
    assert str(usmv.start.date()) == "2014-01-02" and np.isfinite(usmv.close).all()


def test_unknown_ticker_names_it():
    class Bad(QCAlgorithm):
        def initialize(self):
            self.add_equity("KO")
            self.add_equity("NOPE")

    with pytest.raises(DataError, match="unknown ticker") as err:
        run(Bad)
    assert err.value.symbol == "NOPE"


def _tiny(symbols=("ZZZ",), days=30, start="2021-01-04"):
    dates = pd.bdate_range(start, periods=days)
    close = np.linspace(10, 12, days)[:, None] * np.arange(1, len(symbols) + 1)
    return MarketData.from_arrays(dates, list(symbols), close=close, name="tiny")


def test_store_and_given_data(tmp_path):
    path = tmp_path / "tiny.csv"
    _tiny(("ZZZ",)).to_frame().to_csv(path)  # wide: date, then one column of closes
    Store().ingest(path, "tiny")
    r = TickerResolver()
    assert r.source("ZZZ") == "store:tiny"
    assert r.load("ZZZ").close[0, 0] == 10.0
    given = TickerResolver(_tiny(("KO",)))  # the run's data comes before the bundled set
    assert given.source("KO") == "data" and given.load("KO").close[0, 0] == 10.0


def test_combine_mixes_histories():
    r = TickerResolver()
    both = combine([r.load("KO"), r.load("MTUM")])
    first = both.first_valid_dates()
    assert str(first["MTUM"].date()) == "2014-01-02" and str(first["KO"].date()) == "1990-01-02"


def test_run_with_given_data_and_symbol_equality():
    class Tiny(QCAlgorithm):
        def initialize(self):
            self.sym = self.add_equity("ZZZ").symbol

        def on_data(self, data):
            if not self.portfolio.invested:
                self.set_holdings(self.sym, 1.0)

    result = run(Tiny, data=_tiny(("ZZZ",)))
    assert isinstance(result.algorithm.sym, Symbol)
    assert result.algorithm.sym == "ZZZ" and result.algorithm.sym.value == "ZZZ"
    assert result.trades["symbol"].tolist() == ["ZZZ"]


def test_algorithm_errors_carry_the_date():
    class Boom(QCAlgorithm):
        def initialize(self):
            self.set_start_date(2020, 1, 2)
            self.set_end_date(2020, 1, 10)
            self.add_equity("KO")

        def on_data(self, data):
            if self.time.day == 7:
                raise RuntimeError("bad day")

    with pytest.raises(StrategyError, match="bad day") as err:
        run(Boom)
    assert err.value.date == "2020-01-07"
