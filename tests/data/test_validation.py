"""Each bad input raises DataError naming the symbol and/or date."""

import numpy as np
import pandas as pd
import pytest

from riskbook import MarketData, load_prices
from riskbook.errors import DataError, RiskbookError

DATES = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]


def wide(values, dates=DATES, symbols=("A", "B")):
    return pd.DataFrame(values, index=pd.to_datetime(dates, format="mixed"), columns=list(symbols))


def good():
    return [[10.0, 20.0], [11.0, 21.0], [12.0, 19.0], [12.5, 20.5]]


def raises(frame_or_path, symbol=None, date=None, match=None, **kwargs):
    loader = load_prices if isinstance(frame_or_path, str) else MarketData.from_frame
    with pytest.raises(DataError, match=match) as err:
        loader(frame_or_path, **kwargs)
    assert isinstance(err.value, RiskbookError)
    if symbol is not None:
        assert err.value.symbol == symbol
        assert symbol in str(err.value)
    if date is not None:
        assert err.value.date is not None and err.value.date.startswith(date)
        assert date in str(err.value)
    return err.value


def test_nan_inside_a_series():
    v = good()
    v[2][1] = np.nan
    raises(wide(v), symbol="B", date="2024-01-04", match="gaps=")


def test_infinite_price():
    v = good()
    v[1][0] = np.inf
    raises(wide(v), symbol="A", date="2024-01-03", match="infinite")


@pytest.mark.parametrize("bad", [0.0, -3.0])
def test_zero_or_negative_price(bad):
    v = good()
    v[3][1] = bad
    raises(wide(v), symbol="B", date="2024-01-05", match="non-positive")


def test_duplicate_timestamp():
    dates = ["2024-01-02", "2024-01-03", "2024-01-03", "2024-01-05"]
    raises(wide(good(), dates), date="2024-01-03", match="duplicate")


def test_unsorted_dates():
    dates = ["2024-01-02", "2024-01-04", "2024-01-03", "2024-01-05"]
    raises(wide(good(), dates), date="2024-01-03", match="not sorted")


def test_mixed_frequencies():
    dates = ["2024-01-02", "2024-01-03", "2024-01-03 10:31", "2024-01-05"]
    raises(wide(good(), dates), date="2024-01-03 10:31", match="mixed frequencies")


def test_non_numeric_cell():
    v = pd.DataFrame(good(), columns=["A", "B"], index=pd.to_datetime(DATES)).astype(object)
    v.iloc[2, 0] = "12,0O"
    raises(v, symbol="A", date="2024-01-04", match="non-numeric")


def test_duplicate_in_long_table_names_symbol_and_date():
    long = pd.DataFrame(
        {
            "date": ["2024-01-02", "2024-01-02", "2024-01-02"],
            "symbol": ["A", "B", "A"],
            "close": [1.0, 2.0, 1.5],
        }
    )
    raises(long, symbol="A", date="2024-01-02", match="duplicate")


def test_unknown_field_in_long_table_is_not_dropped():
    long = pd.DataFrame(
        {"date": ["2024-01-02"], "symbol": ["A"], "close": [1.0], "adj_close": [1.0]}
    )
    err = raises(long, match="unknown field")
    assert err.parameter == "adj_close"


def test_high_below_close():
    close = np.array(good())
    with pytest.raises(DataError, match="outside") as err:
        MarketData.from_arrays(DATES, ["A", "B"], close=close, high=close * 0.5, low=close * 0.5)
    assert err.value.symbol == "A"


def test_open_missing_where_close_present():
    close = np.array(good())
    opens = close.copy()
    opens[1, 1] = np.nan
    with pytest.raises(DataError, match="open is missing") as err:
        MarketData.from_arrays(DATES, ["A", "B"], close=close, open=opens)
    assert (err.value.symbol, err.value.date) == ("B", "2024-01-03")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    err = raises(str(path), match="empty")
    assert str(path) in str(err)


def test_header_only_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("date,A,B\n")
    raises(str(path), match="no rows")


def test_non_numeric_cell_in_csv_names_symbol_and_date(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("date,A,B\n2024-01-02,1,2\n2024-01-03,1.1,n.a.\n2024-01-04,1.2,2.2\n")
    raises(str(path), symbol="B", date="2024-01-03", match="non-numeric")


def test_unsorted_csv(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("Date,A\n2024-01-03,1\n2024-01-02,1.1\n")
    raises(str(path), date="2024-01-02", match="not sorted")


def test_gap_policies_keep_a_report():
    v = good()
    v[1][0] = np.nan
    v[2][0] = np.nan
    filled = MarketData.from_frame(wide(v), gaps="ffill")
    np.testing.assert_array_equal(filled.close[:, 0], [10.0, 10.0, 10.0, 12.5])
    assert [(s, str(d)[:10]) for s, d in filled.report.filled] == [
        ("A", "2024-01-03"),
        ("A", "2024-01-04"),
    ]
    assert filled.report.to_frame()["action"].tolist() == ["ffill", "ffill"]
    dropped = MarketData.from_frame(wide(v), gaps="drop")
    assert len(dropped) == 2
    assert [str(d)[:10] for d, _ in dropped.report.dropped] == ["2024-01-03", "2024-01-04"]
    assert dropped.report.dropped[0][1] == ("A",)
    with pytest.raises(DataError, match="gap policy"):
        MarketData.from_frame(wide(v), gaps="interpolate")


def test_ffill_never_crosses_a_late_start():
    v = good()
    v[0][0] = np.nan  # A lists late: not a gap
    v[2][1] = np.nan  # B has a gap
    md = MarketData.from_frame(wide(v), gaps="ffill")
    assert np.isnan(md.close[0, 0])
    assert md.close[2, 1] == 21.0
    assert len(md.report.filled) == 1


def test_ffill_ohlc_gap_is_a_flat_zero_volume_bar():
    close = np.array(good())
    close[2, 0] = np.nan
    fields = {
        "open": close.copy(),
        "high": close * 1.01,
        "low": close * 0.99,
        "volume": close * 0 + 5,
    }
    md = MarketData.from_arrays(DATES, ["A", "B"], close=close, gaps="ffill", **fields)
    assert (md.open[2, 0], md.high[2, 0], md.low[2, 0], md.close[2, 0]) == (11.0, 11.0, 11.0, 11.0)
    assert md.volume[2, 0] == 0.0


def test_shape_mismatch_and_duplicate_symbols():
    with pytest.raises(DataError, match="shape"):
        MarketData.from_arrays(DATES, ["A", "B"], close=np.ones((3, 2)))
    with pytest.raises(DataError) as err:
        MarketData.from_arrays(DATES, ["A", "A"], close=np.ones((4, 2)))
    assert err.value.symbol == "A"
