import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskbook
from riskbook import MarketData
from riskbook.errors import ConfigError, DataError, LookAheadError, StrategyError, TargetError
from riskbook.execute import COMPONENTS, Costs, FixedBpsSlippage, PerShareFee


@pytest.fixture(scope="module")
def data(sp500):
    return sp500.slice("2018-01-01", "2022-12-28").select(["AAPL", "JNJ", "KO", "XOM", "MSFT"])


def inverse_vol(view):
    rets = view.returns(length=126)
    if len(rets) < 126:
        return None
    iv = 1.0 / rets.std().to_numpy()
    return iv / iv.sum() * 0.98


def run(data, strategy=inverse_vol, **kw):
    kw.setdefault("fill", "next_close")
    return riskbook.backtest(data, strategy, **kw)


def test_ledger_balances(data):
    res = run(data, costs=Costs(fee=PerShareFee(), slippage=FixedBpsSlippage(5)))
    trades = res.trades
    # decision by decision, as the engine books it (each decision's flows summed exactly): equal
    cash = res.initial_cash
    for _, day in trades.groupby("decision_time", sort=True):
        cash = math.fsum([cash, *day["cash_flow"], *(-day["fee"])])
    assert cash == res.cash.iloc[-1]
    # all at once: equal up to the one rounding per decision
    ending = math.fsum([res.initial_cash, *trades["cash_flow"], *(-trades["fee"])])
    assert abs(ending - res.cash.iloc[-1]) <= 1e-12 * res.initial_cash
    assert (res.cash >= 0).all()
    assert res.metrics()["total_costs"] == pytest.approx(
        trades["fee"].sum() + trades["slippage"].sum()
    )
    assert (trades["slippage"] > 0).all()  # slippage always costs


def test_reconciliation_components_sum_to_the_residual(data):
    res = run(data, costs="ib", cash_buffer=0.01, no_trade_band=0.01, min_trade_value=2_000)
    rec = res.reconciliation
    gap = rec[list(COMPONENTS)].sum(axis=1) - rec["residual"]
    assert gap.abs().max() <= 1e-10
    assert rec["skipped"].abs().max() > 0  # the band did skip trades
    assert rec["cash_buffer"].abs().max() > 0
    np.testing.assert_allclose(rec["residual"], rec["held_weight"] - rec["target_weight"], atol=0)


def test_held_weights_are_recorded_after_the_fills(data):
    res = run(data, fill="next_close")
    rec = res.reconciliation
    pos = res.positions
    for fill_time, grp in rec.groupby("fill_time"):
        q = pos.loc[fill_time, grp["symbol"]].to_numpy()
        price = data.slice(fill_time, fill_time).select(list(grp["symbol"])).close[0]
        held = q * price / res.equity.loc[fill_time]
        np.testing.assert_allclose(grp["held_weight"].to_numpy(), held, rtol=1e-12, atol=1e-15)


def test_frictionless_fractional_close_fill_holds_exactly_the_target(data):
    res = run(data, fill="close", fractional=True)
    rec = res.reconciliation
    assert rec["residual"].abs().max() < 1e-12
    assert any("optimistic" in n for n in res.notes)


def test_equity_between_decisions_is_the_drift(data):
    res = run(data, fill="next_close")
    pos, eq, cash = res.positions, res.equity, res.cash
    closes = data.close[-len(eq) :]
    np.testing.assert_allclose(
        eq.to_numpy(), cash.to_numpy() + (pos.to_numpy() * closes).sum(axis=1), rtol=1e-12
    )
    assert res.metrics()["rebalances"] == len(res.reconciliation["date"].unique())


def test_strategy_exception_stops_with_date_and_partial_result(data):
    def broken(view):
        if view.time > np.datetime64("2020-06-01"):
            raise ZeroDivisionError("bad luck")
        return inverse_vol(view)

    with pytest.raises(StrategyError) as err:
        run(data, broken)
    assert err.value.date == "2020-06-30"
    assert "ZeroDivisionError" in str(err.value)
    partial = err.value.partial
    assert partial.equity.index[-1] == pd.Timestamp("2020-06-30")
    assert len(partial.trades) > 0


def test_look_ahead_is_an_error_not_a_slice(data):
    def peeker(view):
        view.at(view.dates[-1] + np.timedelta64(1, "D"))

    with pytest.raises(StrategyError) as err:
        run(data, peeker)
    assert isinstance(err.value.__cause__, LookAheadError)


@settings(max_examples=8, deadline=None)
@given(st.integers(200, 1100), st.integers(0, 2**31 - 1))
def test_perturbing_the_future_changes_no_earlier_decision(data, cut, seed):
    rng = np.random.default_rng(seed)
    close = data.close.copy()
    close[cut:] *= np.exp(rng.normal(0, 0.05, close[cut:].shape))
    other = MarketData.from_arrays(data.dates, data.symbols, close=close)
    a, b = run(data, fill="close"), run(other, fill="close")
    t = data.dates[cut - 1]
    ta, tb = a.trades, b.trades
    np.testing.assert_array_equal(
        ta[ta.decision_time <= t].quantity, tb[tb.decision_time <= t].quantity
    )


def test_bad_targets_name_symbol_and_date(data):
    with pytest.raises(TargetError) as err:
        run(data, lambda v: {"TSLA": 0.5})
    assert (err.value.symbol, err.value.date) == ("TSLA", "2018-01-31")
    with pytest.raises(TargetError) as err:
        run(data, lambda v: {"AAPL": float("nan")})
    assert err.value.symbol == "AAPL"
    with pytest.raises(TargetError, match="gross exposure"):
        run(data, lambda v: {"AAPL": 0.7, "KO": 0.7})
    with pytest.raises(TargetError, match="short"):
        run(data, lambda v: {"AAPL": -0.2})
    res = run(data, lambda v: {"AAPL": 1.2, "KO": -0.6}, account="margin", leverage=2.0)
    assert (res.positions["KO"].iloc[-1] < 0) and (res.cash.iloc[-1] > 0)


def test_fill_model_needs_its_fields(data):
    with pytest.raises(DataError) as err:
        run(data, fill="next_open")
    assert err.value.parameter == "open"
    with pytest.raises(ConfigError):
        run(data, fill="tomorrow")


def test_cash_shortfall_at_fill_is_recorded_not_dropped():
    dates = ["2024-01-02", "2024-01-03", "2024-01-04"]
    close = np.array([[10.0, 10.0], [20.0, 10.0], [20.0, 10.0]])  # A doubles before the fill
    data = MarketData.from_arrays(dates, ["A", "B"], close=close)
    res = riskbook.backtest(
        data,
        lambda v: {"A": 0.5, "B": 0.5},
        schedule=["2024-01-02"],
        fill="next_close",
        cash=1000.0,
    )
    trades = res.trades.set_index("symbol")
    # planned 50 + 50 shares ($1,000 at the decision); at the fill they cost $1,500: both buys
    # are scaled pro rata (2/3) and floored to whole shares, and the reduction is recorded
    assert trades["quantity"].tolist() == [33.0, 33.0]
    assert set(trades["reason"]) == {"reduced: cash at fill"}
    assert res.cash.iloc[-1] == 1000.0 - 33 * 20 - 33 * 10
    rec = res.reconciliation.set_index("symbol")
    assert (rec["cash_shortfall"] < 0).all()
    orders = res.orders.set_index("symbol")
    assert orders["planned"].tolist() == [50.0, 50.0]
    assert orders["filled"].tolist() == [33.0, 33.0]


def test_benchmark_and_metrics(data, sp500):
    res = run(data, benchmark=riskbook.datasets.load_sp500_index())
    assert res.benchmark.iloc[0] == pytest.approx(res.initial_cash)
    m = res.metrics()
    eq = res.equity.to_numpy()
    rets = eq[1:] / eq[:-1] - 1
    assert m["volatility"] == pytest.approx(rets.std(ddof=1) * np.sqrt(252), rel=1e-12)
    assert m["max_drawdown"] == pytest.approx((eq / np.maximum.accumulate(eq) - 1).min(), rel=1e-12)
    assert 0.5 < m["exposure"] < 1.0
    frame = res.to_frame()
    assert list(frame.columns) == [
        "equity",
        "cash",
        "return",
        "drawdown",
        "gross_exposure",
        "benchmark",
    ]
