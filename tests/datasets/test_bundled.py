import csv
import gzip
from importlib.resources import files

import numpy as np

from riskbook.datasets import license_text, load_factor_etfs, load_sp500, load_sp500_index

SP500_SYMBOLS = [
    "AAPL",
    "AMD",
    "BAC",
    "BBY",
    "CVX",
    "GE",
    "HD",
    "JNJ",
    "JPM",
    "KO",
    "LLY",
    "MRK",
    "MSFT",
    "PEP",
    "PFE",
    "PG",
    "RRC",
    "UNH",
    "WMT",
    "XOM",
]


def test_sp500_shape_span_and_symbols(sp500):
    assert sp500.symbols == tuple(SP500_SYMBOLS)
    assert sp500.shape == (8313, 20)
    assert str(sp500.dates[0])[:10] == "1990-01-02"
    assert str(sp500.dates[-1])[:10] == "2022-12-28"
    assert sp500.frequency == "daily"
    assert sp500.fields == ("close",)
    assert not np.isnan(sp500.close).any()


def test_sp500_values_match_the_shipped_file(sp500):
    # Parse the packaged file with the standard library: an independent path from our loader.
    path = files("riskbook.datasets").joinpath("data", "sp500_dataset.csv.gz")
    with gzip.open(str(path), "rt") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][1:] == SP500_SYMBOLS
    expected = np.array([[float(x) for x in row[1:]] for row in rows[1:]])
    np.testing.assert_array_equal(sp500.close, expected)
    assert [r[0] for r in rows[1:]] == [str(d)[:10] for d in sp500.dates]
    assert sp500.close[0, 0] == 0.264  # AAPL on 1990-01-02, as published


def test_index_and_factor_etfs():
    index = load_sp500_index()
    assert index.symbols == ("SP500",)
    assert index.shape == (8313, 1)
    assert index.close[0, 0] == 359.69
    etfs = load_factor_etfs()
    assert etfs.symbols == ("MTUM", "QUAL", "SIZE", "USMV", "VLUE")
    assert etfs.shape == (2264, 5)
    assert str(etfs.dates[0])[:10] == "2014-01-02"


def test_loaders_return_the_same_immutable_object():
    assert load_sp500() is load_sp500()
    assert not load_sp500().close.flags.writeable


def test_license_ships_with_the_data():
    text = license_text()
    assert "BSD" in text or "Redistribution" in text
