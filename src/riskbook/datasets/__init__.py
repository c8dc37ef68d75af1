"""Real data bundled with riskbook, and synthetic minute bars derived from it.

The three data sets are split- and dividend-adjusted daily closes shipped inside the
BSD-3-Clause licensed skfolio wheel (1.12.2); the licence is beside them in ``data/``. They load
with no network access.

Examples
--------
>>> from riskbook.datasets import load_sp500
>>> sp = load_sp500()
>>> len(sp.symbols), len(sp.dates), str(sp.start.date()), str(sp.end.date())
(20, 8313, '1990-01-02', '2022-12-28')
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from riskbook.data.loaders import read_price_file
from riskbook.data.market_data import MarketData
from riskbook.datasets.synthetic import synthetic_minutes

__all__ = [
    "BUNDLED",
    "license_text",
    "load_factor_etfs",
    "load_sp500",
    "load_sp500_index",
    "synthetic_minutes",
]

#: Bundled name -> file inside ``riskbook/datasets/data``.
BUNDLED = {
    "sp500": "sp500_dataset.csv.gz",
    "sp500_index": "sp500_index.csv.gz",
    "factor_etfs": "factors_dataset.csv.gz",
}


@cache
def load_bundled(name: str) -> MarketData:
    """Load one bundled data set by name (see ``BUNDLED``); cached, as MarketData is immutable."""
    path = files(__package__).joinpath("data", BUNDLED[name])
    return read_price_file(str(path), name=name)


def load_sp500() -> MarketData:
    """Daily adjusted closes of 20 S&P 500 stocks, 1990-01-02 to 2022-12-28 (8313 dates).

    AAPL AMD BAC BBY CVX GE HD JNJ JPM KO LLY MRK MSFT PEP PFE PG RRC UNH WMT XOM.
    """
    return load_bundled("sp500")


def load_sp500_index() -> MarketData:
    """The S&P 500 index level (symbol ``SP500``), 1990-01-02 to 2022-12-28 (8313 dates)."""
    return load_bundled("sp500_index")


def load_factor_etfs() -> MarketData:
    """Five iShares factor ETFs (MTUM QUAL SIZE USMV VLUE), 2014-01-02 to 2022-12-28."""
    return load_bundled("factor_etfs")


def license_text() -> str:
    """The licence under which the bundled data is redistributed."""
    return files(__package__).joinpath("data", "LICENSE-skfolio-BSD-3-Clause.txt").read_text()
