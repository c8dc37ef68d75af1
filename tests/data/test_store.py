import os

import numpy as np
import pytest

from riskbook import load_prices
from riskbook.data.store import Store, fingerprint
from riskbook.errors import DataError, StoreError


@pytest.fixture
def csv_file(tmp_path, sp500):
    path = tmp_path / "prices.csv"
    sp500.slice("2021-01-01", "2022-12-28").select(["AAPL", "MSFT", "KO"]).to_frame().to_csv(path)
    return path


def test_ingest_list_show_load(csv_file, isolated_home, sp500):
    store = Store()
    assert store.root == isolated_home / "store"
    entry = store.ingest(csv_file, "mine")
    assert entry.symbols == ("AAPL", "MSFT", "KO")
    assert entry.n_dates == 501
    assert [e.name for e in store.list()] == ["mine"]
    loaded = load_prices("store:mine")
    expected = sp500.slice("2021-01-01", "2022-12-28").select(["AAPL", "MSFT", "KO"])
    np.testing.assert_array_equal(loaded.close, expected.close)
    np.testing.assert_array_equal(loaded.dates, expected.dates)
    assert entry.fingerprint == fingerprint(expected)


def test_failed_ingest_leaves_the_store_unchanged(csv_file, tmp_path):
    store = Store()
    store.ingest(csv_file, "mine")
    before = (store.root / "mine.parquet").read_bytes()
    listing = sorted(os.listdir(store.root))
    bad = tmp_path / "bad.csv"
    bad.write_text("date,AAPL\n2024-01-02,1\n2024-01-03,-1\n")
    with pytest.raises(DataError) as err:
        store.ingest(bad, "mine")
    assert err.value.symbol == "AAPL"
    assert (store.root / "mine.parquet").read_bytes() == before
    assert sorted(os.listdir(store.root)) == listing
    with pytest.raises(DataError):
        store.ingest(bad, "new")
    assert [e.name for e in store.list()] == ["mine"]


def test_crash_mid_write_keeps_previous_version(csv_file, sp500, monkeypatch):
    store = Store()
    store.ingest(csv_file, "mine")
    before = (store.root / "mine.parquet").read_bytes()

    def half_write(data, tmp, meta):
        tmp.write_bytes(b"PAR1 partial")  # a torn file, then the process "dies"
        raise OSError("disk full")

    monkeypatch.setattr(Store, "_write", staticmethod(half_write))
    with pytest.raises(StoreError, match="disk full"):
        store.ingest(csv_file, "mine")
    assert (store.root / "mine.parquet").read_bytes() == before
    assert sorted(os.listdir(store.root)) == ["mine.parquet"]  # no temp file left behind
    assert load_prices("store:mine").shape == (501, 3)


def test_bad_names_and_missing_sets(csv_file):
    store = Store()
    with pytest.raises(StoreError) as err:
        store.ingest(csv_file, "../escape")
    assert err.value.parameter == "name"
    with pytest.raises(StoreError, match="no such data set"):
        load_prices("store:absent")
