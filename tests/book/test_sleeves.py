"""Sleeves: hand-computed weights on tiny data, NaN handling, purity and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskbook import MarketData
from riskbook.book.sleeves import (
    DEFAULT_PAIRS,
    STYLES,
    CrossSectionalMomentum,
    FunctionSleeve,
    LowVolatility,
    PairsStatArb,
    ShortTermReversal,
    Sleeve,
    TimeSeriesTrend,
    daily_closes,
    demo_sleeves,
    unit_gross,
)
from riskbook.datasets import synthetic_minutes
from riskbook.errors import ConfigError, TargetError

NAN = np.nan


def _data(close, symbols=None) -> MarketData:
    close = np.asarray(close, dtype=float)
    symbols = symbols or [f"S{i + 1}" for i in range(close.shape[1])]
    dates = pd.bdate_range("2024-01-01", periods=close.shape[0]).to_numpy()
    return MarketData.from_arrays(dates, symbols, close=close)


def _last(md: MarketData):
    return md.until(md.dates[-1])


# ----------------------------------------------------------------- helpers
def test_unit_gross_scales_and_keeps_flat_books_flat():
    np.testing.assert_allclose(unit_gross([3.0, -1.0, 0.0]), [0.75, -0.25, 0.0])
    np.testing.assert_array_equal(unit_gross(np.zeros(3)), np.zeros(3))
    np.testing.assert_allclose(unit_gross([1.0, np.inf, np.nan, -1.0]), [0.5, 0, 0, -0.5])


# ----------------------------------------------------------------- time-series trend
def test_ts_trend_is_sign_over_vol_by_hand():
    # A: returns +10% -10% +10%; B: +-20% (twice A's vol); C: -10% +10% -10%; D lists late
    md = _data(
        [
            [100.0, 100.0, 100.0, NAN],
            [110.0, 120.0, 90.0, NAN],
            [99.0, 96.0, 99.0, 50.0],
            [108.9, 115.2, 89.1, 51.0],
        ]
    )
    sleeve = TimeSeriesTrend(lookback=3, vol_window=3)
    # signs +, +, -; 1/vol proportional to 1, 1/2, 1: gross 2.5
    np.testing.assert_allclose(sleeve.weights(_last(md)), [0.4, 0.2, -0.4, 0.0], atol=1e-12)
    assert sleeve.weights(md.until(md.dates[2])) is None


def test_ts_trend_default_on_real_data(sp500):
    w = TimeSeriesTrend().weights(sp500.until("2015-06-30"))
    close = sp500.until("2015-06-30").close
    sign = np.sign(close[-1] / close[-253] - 1.0)
    vol = np.std(close[-63:] / close[-64:-1] - 1.0, axis=0, ddof=1)
    np.testing.assert_allclose(w, sign / vol / np.sum(1.0 / vol), rtol=1e-12)


# ----------------------------------------------------------------- cross-sectional momentum
def test_xs_momentum_terciles_by_hand():
    # formation return = close[-2] / close[-4] - 1, the last bar is skipped
    md = _data(
        [
            [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, NAN, 100.0],
            [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, NAN, 100.0],
            [130.0, 90.0, 110.0, 80.0, 120.0, 100.0, 100.0, 200.0],
            [100.0, 95.0, 111.0, 85.0, 121.0, 100.0, 101.0, NAN],
        ]
    )
    # S7 has no formation return (listed late), S8 has no price today (delisted): out.
    # Valid: S4 -20%, S2 -10%, S6 0, S3 +10%, S5 +20%, S1 +30%; k = 6 // 3 = 2
    w = CrossSectionalMomentum(lookback=3, skip=1).weights(_last(md))
    np.testing.assert_allclose(w, [0.25, -0.25, 0.0, -0.25, 0.25, 0.0, 0.0, 0.0])


def test_xs_momentum_needs_three_symbols_and_the_history():
    md = _data([[100.0, 100.0], [110.0, 90.0], [111.0, 91.0]])
    assert CrossSectionalMomentum(lookback=2, skip=1).weights(_last(md)) is None
    assert CrossSectionalMomentum(lookback=3, skip=1).weights(_last(md)) is None


def test_xs_momentum_default_on_real_data(sp500):
    view = sp500.until("2015-06-30")
    w = CrossSectionalMomentum().weights(view)
    close = view.close
    formation = close[-22] / close[-253] - 1.0
    order = np.argsort(formation)
    expected = np.zeros(20)
    expected[order[:6]], expected[order[-6:]] = -1 / 12, 1 / 12
    np.testing.assert_allclose(w, expected)


# ----------------------------------------------------------------- short-term reversal
def test_reversal_is_minus_demeaned_return_by_hand():
    md = _data(
        [
            [100.0, 100.0, 100.0, 100.0, NAN],
            [105.0, 101.0, 97.0, 99.0, NAN],
            [110.0, 100.0, 96.0, 94.0, 10.0],
        ]
    )
    # returns over 2 bars: +10%, 0, -4%, -6% (mean 0); S5 has no return: weight 0
    w = ShortTermReversal(lookback=2).weights(_last(md))
    np.testing.assert_allclose(w, [-0.5, 0.0, 0.2, 0.3, 0.0], atol=1e-12)
    assert ShortTermReversal(lookback=3).weights(_last(md)) is None


def test_reversal_default_is_one_week(sp500):
    view = sp500.until("2015-06-30")
    r = view.close[-1] / view.close[-6] - 1.0
    expected = (r.mean() - r) / np.abs(r.mean() - r).sum()
    np.testing.assert_allclose(ShortTermReversal().weights(view), expected, rtol=1e-12)


# ----------------------------------------------------------------- low volatility
def test_low_vol_takes_the_quietest_third_by_hand():
    amplitudes = [0.03, 0.01, 0.05, 0.02, 0.06, 0.04]
    rows = [np.full(7, 100.0)]
    for sign in (1.0, -1.0, 1.0):
        step = np.array([*(1.0 + sign * a for a in amplitudes), 1.0])
        rows.append(rows[-1] * step)
    close = np.array(rows)
    close[:2, 6] = NAN  # S7 lists late: no full window, not eligible
    w = LowVolatility(vol_window=3).weights(_last(_data(close)))
    # vol is proportional to the amplitude: S2 (1%) and S4 (2%) are the quietest third
    np.testing.assert_allclose(w, [0.0, 0.5, 0.0, 0.5, 0.0, 0.0, 0.0])
    assert (w >= 0).all()


# ----------------------------------------------------------------- pairs
def test_pairs_trade_the_z_score_by_hand():
    spread = {
        "A": [0.0, 0.0, 0.0, 0.0, 0.1],  # z = 0.08 / 0.0447 = +1.79: short A, long B
        "C": [0.0, 0.0, 0.0, 0.0, -0.1],  # z = -1.79: long C, short D
        "E": [0.1, -0.1, 0.1, -0.1, 0.05],  # z = 0.04 / 0.1025 = 0.39: flat
    }
    close = np.full((5, 6), 100.0)
    close[:, 0], close[:, 2], close[:, 4] = (100.0 * np.exp(spread[s]) for s in "ACE")
    md = _data(close, list("ABCDEF"))
    sleeve = PairsStatArb(pairs=(("A", "B"), ("C", "D"), ("E", "F"), ("A", "ZZZ")), window=5)
    np.testing.assert_allclose(sleeve.weights(_last(md)), [-0.25, 0.25, 0.25, -0.25, 0.0, 0.0])
    assert sleeve.weights(md.until(md.dates[3])) is None
    # a higher entry threshold closes both trades
    wide = PairsStatArb(pairs=sleeve.pairs, window=5, entry=2.0)
    np.testing.assert_array_equal(wide.weights(_last(md)), np.zeros(6))


def test_pairs_sum_a_symbol_in_two_pairs_and_skip_unlisted_legs():
    close = np.full((5, 4), 100.0)
    close[-1, 0] = 110.0  # A rich against both B and C
    close[:3, 3] = NAN  # D listed two bars ago: its pair is flat
    md = _data(close, list("ABCD"))
    sleeve = PairsStatArb(pairs=(("A", "B"), ("A", "C"), ("D", "B")), window=5)
    np.testing.assert_allclose(sleeve.weights(_last(md)), [-0.5, 0.25, 0.25, 0.0])
    none = PairsStatArb(pairs=(("X", "Y"),), window=5)
    assert none.weights(_last(md)) is None


def test_default_pairs_are_in_the_bundled_universe(sp500):
    assert all(a in sp500.symbols and b in sp500.symbols for a, b in DEFAULT_PAIRS)
    view = sp500.until("2015-06-30")
    w = PairsStatArb().weights(view)
    assert abs(np.abs(w).sum() - 1.0) < 1e-12
    assert abs(w.sum()) < 1e-12  # dollar neutral, pair by pair
    logs = np.log(view.close[-60:])
    index = {s: i for i, s in enumerate(sp500.symbols)}
    for a, b in DEFAULT_PAIRS:
        s = logs[:, index[a]] - logs[:, index[b]]
        z = (s[-1] - s.mean()) / s.std(ddof=1)
        if abs(z) > 1:
            assert np.sign(w[index[a]]) == -np.sign(z) == -np.sign(w[index[b]])
        else:
            assert w[index[a]] == w[index[b]] == 0.0


# ----------------------------------------------------------------- every demo sleeve
def test_demo_sleeves_are_five_distinct_styled_sleeves():
    sleeves = demo_sleeves()
    assert [s.name for s in sleeves] == [
        "ts_trend",
        "xs_momentum",
        "st_reversal",
        "low_vol",
        "pairs",
    ]
    assert all(isinstance(s, Sleeve) and s.style in STYLES for s in sleeves)
    assert {s.style for s in sleeves} == set(STYLES)


@pytest.mark.parametrize("sleeve", demo_sleeves(), ids=lambda s: s.name)
def test_no_look_ahead_perturbing_the_future_changes_nothing(sp500, sleeve):
    rng = np.random.default_rng(7)
    for bar in (300, 4000, 8000):
        future = sp500.close.copy()
        future[bar + 1 :] *= np.exp(rng.normal(0.0, 0.3, future[bar + 1 :].shape))
        other = MarketData.from_arrays(sp500.dates, sp500.symbols, close=future)
        t = sp500.dates[bar]
        np.testing.assert_array_equal(
            sleeve.weights(sp500.until(t)), sleeve.weights(other.until(t))
        )


@pytest.mark.parametrize("sleeve", demo_sleeves(), ids=lambda s: s.name)
def test_sleeves_are_pure_and_unit_gross(sp500, sleeve):
    view = sp500.until("2009-03-09")
    first, second = sleeve.weights(view), sleeve.weights(view)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (20,) and np.isfinite(first).all()
    gross = np.abs(first).sum()
    # only the pairs sleeve can be flat: no pair beyond its entry z-score
    assert abs(gross - 1.0) < 1e-12 or (sleeve.name == "pairs" and gross == 0.0)
    assert sleeve.weights(sp500.until(sp500.dates[3])) is None


@pytest.mark.parametrize("sleeve", demo_sleeves(), ids=lambda s: s.name)
def test_sleeves_give_unlisted_symbols_zero(sp500, sleeve):
    close = sp500.close[:600].copy()
    close[:480, [0, 9]] = NAN  # AAPL and KO "list" at bar 480: no full window at bar 500
    md = MarketData.from_arrays(sp500.dates[:600], sp500.symbols, close=close)
    w = sleeve.weights(md.until(md.dates[500]))
    assert w is not None and np.isfinite(w).all()
    if sleeve.name != "st_reversal":  # a 1-week lookback sees the new listings
        assert w[0] == w[9] == 0.0


def test_sleeves_read_completed_daily_bars_on_minute_data(sp500):
    daily = sp500.slice("2015-01-01", "2015-03-31").select(["KO", "PEP", "XOM", "CVX", "JPM"])
    minutes = synthetic_minutes(daily, minutes_per_day=10)
    sleeves = [
        TimeSeriesTrend(lookback=20, vol_window=10),
        ShortTermReversal(),
        PairsStatArb(window=20),
    ]
    noon = minutes.dates[40 * 10 + 4]  # mid-session: only yesterday's daily bar is complete
    for sleeve in sleeves:
        expected = sleeve.weights(daily.until(daily.dates[39]))
        np.testing.assert_allclose(sleeve.weights(minutes.until(noon)), expected, rtol=1e-12)
    dates, close = daily_closes(minutes.until(noon))
    assert dates[-1] == daily.dates[39] and close.shape == (40, 5)


# ----------------------------------------------------------------- FunctionSleeve
def test_function_sleeve_accepts_arrays_mappings_and_series(sp500):
    view = sp500.until("2010-01-04")
    as_array = FunctionSleeve("a", lambda v: np.arange(20.0))
    np.testing.assert_array_equal(as_array.weights(view), np.arange(20.0))
    as_dict = FunctionSleeve("d", lambda v: {"MSFT": -1.0, "AAPL": 2.0}, style="defensive")
    w = as_dict.weights(view)
    assert w[0] == 2.0 and w[12] == -1.0 and np.count_nonzero(w) == 2
    series = pd.Series({"XOM": 0.5})
    assert FunctionSleeve("s", lambda v: series).weights(view)[19] == 0.5
    assert FunctionSleeve("n", lambda v: None).weights(view) is None


def test_function_sleeve_rejects_bad_output(sp500):
    view = sp500.until("2010-01-04")
    with pytest.raises(TargetError, match="returned 3 weights for 20 symbols"):
        FunctionSleeve("short", lambda v: [1.0, 2.0, 3.0]).weights(view)
    with pytest.raises(TargetError) as err:
        FunctionSleeve("unknown", lambda v: {"TSLA": 1.0}).weights(view)
    assert err.value.symbol == "TSLA"
    nan_on_bac = np.zeros(20)
    nan_on_bac[2] = np.nan
    with pytest.raises(TargetError) as err:
        FunctionSleeve("nan", lambda v: nan_on_bac).weights(view)
    assert err.value.symbol == "BAC"
    with pytest.raises(ConfigError):
        FunctionSleeve("bad_style", lambda v: None, style="aggressive")
    with pytest.raises(ConfigError):
        FunctionSleeve("not_callable", 3.0)


def test_function_sleeve_reads_nan_on_an_unlisted_symbol_as_zero():
    md = _data([[NAN, 10.0], [NAN, 11.0]], ["NEW", "OLD"])
    sleeve = FunctionSleeve("f", lambda v: np.array([np.nan, 1.0]))
    np.testing.assert_array_equal(sleeve.weights(_last(md)), [0.0, 1.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: TimeSeriesTrend(lookback=0),
        lambda: TimeSeriesTrend(vol_window=1),
        lambda: CrossSectionalMomentum(lookback=21, skip=21),
        lambda: ShortTermReversal(lookback=2.5),
        lambda: LowVolatility(style="risky"),
        lambda: PairsStatArb(pairs=(("KO", "KO"),)),
        lambda: PairsStatArb(entry=-1.0),
    ],
)
def test_bad_sleeve_parameters_raise(make):
    with pytest.raises(ConfigError):
        make()
