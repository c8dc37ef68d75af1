import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook import MarketData
from riskbook.errors import DataError


def small(close=None, **fields):
    dates = np.array(
        ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], dtype="datetime64[D]"
    )
    close = (
        np.array([[10.0, 20.0], [11.0, 21.0], [12.0, 19.0], [12.5, 20.5]])
        if close is None
        else close
    )
    return MarketData.from_arrays(dates, ["A", "B"], close=close, **fields)


def test_arrays_are_read_only_copies():
    source = np.array([[10.0, 20.0], [11.0, 21.0], [12.0, 19.0], [12.5, 20.5]])
    md = small(source)
    source[0, 0] = 99.0
    assert md.close[0, 0] == 10.0
    with pytest.raises(ValueError):
        md.close[0, 0] = 1.0
    with pytest.raises(AttributeError):
        md.symbols = ("X", "Y")


def test_returns_simple_and_log():
    md = small()
    simple = md.returns()
    assert simple.shape == (3, 2)
    assert simple.iloc[0, 0] == pytest.approx(0.1, abs=1e-15)
    assert simple.index[0] == pd.Timestamp("2024-01-03")
    log = md.returns("log")
    np.testing.assert_allclose(log.to_numpy(), np.log1p(simple.to_numpy()), rtol=1e-14)
    with pytest.raises(DataError, match="kind"):
        md.returns("excess")


def test_slice_is_inclusive_and_select_keeps_order(sp500):
    part = sp500.slice("2020-03-02", "2020-03-31")
    assert str(part.dates[0])[:10] == "2020-03-02"
    assert str(part.dates[-1])[:10] == "2020-03-31"
    assert len(part) == 22
    picked = sp500.select(["MSFT", "AAPL"])
    assert picked.symbols == ("MSFT", "AAPL")
    np.testing.assert_array_equal(picked.close[:, 1], sp500.close[:, 0])
    with pytest.raises(DataError) as err:
        sp500.select(["AAPL", "NOPE"])
    assert err.value.symbol == "NOPE"
    with pytest.raises(DataError):
        sp500.slice("2030-01-01", "2030-12-31")


def test_wide_frame_round_trip(sp500):
    frame = sp500.to_frame()
    assert list(frame.columns) == list(sp500.symbols)
    back = MarketData.from_frame(frame)
    np.testing.assert_array_equal(back.close, sp500.close)
    np.testing.assert_array_equal(back.dates, sp500.dates)
    assert back.symbols == sp500.symbols
    pd.testing.assert_frame_equal(back.to_frame(), frame)


def test_ohlcv_frame_and_long_table_round_trip():
    close = np.array([[10.0, 20.0], [11.0, 21.0], [12.0, 19.0], [12.5, 20.5]])
    md = small(close, open=close * 0.99, high=close * 1.01, low=close * 0.98, volume=close * 100)
    frame = md.to_frame()
    assert frame.columns.nlevels == 2
    back = MarketData.from_frame(frame)
    for f in md.fields:
        np.testing.assert_array_equal(getattr(back, f), getattr(md, f))
    long = frame.stack("symbol", future_stack=True).reset_index()
    from_long = MarketData.from_frame(long)
    assert from_long.symbols == ("A", "B")
    np.testing.assert_array_equal(from_long.high, md.high)
    melted = long.melt(id_vars=["date", "symbol"], var_name="field", value_name="value")
    from_melted = MarketData.from_frame(melted)
    np.testing.assert_array_equal(from_melted.volume, md.volume)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 30),
    st.integers(1, 5),
    st.integers(0, 2**31 - 1),
)
def test_frame_round_trip_property(n_dates, n_sym, seed):
    rng = np.random.default_rng(seed)
    close = np.exp(np.cumsum(rng.normal(0, 0.02, (n_dates, n_sym)), axis=0)) * 50
    late = rng.integers(0, n_dates, n_sym)  # each symbol may list late
    for j, k in enumerate(late):
        close[:k, j] = np.nan
    close[-1] = np.where(np.isnan(close[-1]), 7.0, close[-1])  # every symbol has a price
    dates = np.datetime64("2000-01-03") + np.arange(n_dates).astype("timedelta64[D]")
    md = MarketData.from_arrays(dates, [f"S{j}" for j in range(n_sym)], close=close)
    back = MarketData.from_frame(md.to_frame())
    np.testing.assert_array_equal(back.close, md.close)
    np.testing.assert_array_equal(back.dates, md.dates)


def test_late_listing_is_kept_not_filled():
    close = np.array([[np.nan, 20.0], [np.nan, 21.0], [12.0, 19.0], [12.5, 20.5]])
    md = small(close)
    assert np.isnan(md.close[:2, 0]).all()
    assert not md.report.changed
    assert np.isnan(md.returns().iloc[0, 0])
    assert md.first_valid_dates()["A"] == pd.Timestamp("2024-01-04")


def test_delisting_is_kept():
    close = np.array([[10.0, 20.0], [11.0, 21.0], [np.nan, 19.0], [np.nan, 20.5]])
    assert np.isnan(small(close).close[2:, 0]).all()


def test_repr_names_shape():
    assert "2 symbols x 4 daily bars" in repr(small())
