import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook import load_prices
from riskbook.errors import DataError


def test_bundled_names(sp500):
    assert load_prices("sp500") is sp500
    assert load_prices("factor_etfs").symbols[0] == "MTUM"


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_wide_files_round_trip(tmp_path, sp500, suffix):
    part = sp500.slice("2022-01-01", "2022-12-28").select(["AAPL", "KO", "XOM"])
    path = tmp_path / f"wide{suffix}"
    frame = part.to_frame()
    if suffix == ".parquet":
        frame.reset_index().to_parquet(path)
    else:
        frame.to_csv(path)
    back = load_prices(path)
    np.testing.assert_array_equal(back.close, part.close)
    np.testing.assert_array_equal(back.dates, part.dates)
    assert back.symbols == part.symbols


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_long_files_round_trip(tmp_path, suffix):
    long = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03"]),
            "symbol": ["A", "B", "A", "B"],
            "open": [1.0, 2.0, 1.05, 2.1],
            "close": [1.1, 2.1, 1.0, 2.0],
        }
    )
    path = tmp_path / f"long{suffix}"
    long.to_parquet(path) if suffix == ".parquet" else long.to_csv(path, index=False)
    md = load_prices(path)
    assert md.symbols == ("A", "B")
    np.testing.assert_array_equal(md.open, [[1.0, 2.0], [1.05, 2.1]])
    np.testing.assert_array_equal(md.close, [[1.1, 2.1], [1.0, 2.0]])


def test_csv_with_late_listing_keeps_nan(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("Date,A,B\n2024-01-02,1,\n2024-01-03,1.1,\n2024-01-04,1.2,5\n")
    md = load_prices(path)
    assert np.isnan(md.close[:2, 1]).all()
    assert md.close[2, 1] == 5.0


def test_gap_policy_through_load_prices(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("Date,A\n2024-01-02,1\n2024-01-03,\n2024-01-04,1.2\n")
    with pytest.raises(DataError) as err:
        load_prices(path)
    assert (err.value.symbol, err.value.date) == ("A", "2024-01-03")
    assert str(path) in str(err.value)
    assert load_prices(path, gaps="ffill").close[1, 0] == 1.0


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_prices(tmp_path / "nope.csv")
    other = tmp_path / "prices.xlsx"
    other.write_text("x")
    with pytest.raises(DataError, match="unknown file type"):
        load_prices(other)


def test_public_names():
    assert riskbook.load_prices is load_prices
    assert riskbook.MarketData.__module__ == "riskbook.data.market_data"
