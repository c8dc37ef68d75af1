"""QCAlgorithm on the engine: history, orders and their timing, portfolio, names, buying power."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from riskbook.construct import PortfolioTarget as ConstructTarget
from riskbook.construct import SimpleAlgorithm
from riskbook.datasets import load_sp500
from riskbook.errors import ConfigError, DataError, StrategyError
from riskbook.lean import (
    AccountType,
    BrokerageName,
    OrderStatus,
    PortfolioTarget,
    QCAlgorithm,
    Resolution,
    run,
)
from tests.lean.conftest import Recorder

SP = load_sp500()


def close(symbol: str, day: str) -> float:
    return float(SP.close[SP.dates.searchsorted(np.datetime64(day)), SP.symbols.index(symbol)])


# ----------------------------------------------------------------------------- history
class Histories(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2020, 3, 2)
        self.set_end_date(2020, 3, 6)
        self.syms = [self.add_equity(t, Resolution.DAILY).symbol for t in ("KO", "MSFT")]
        self.at_init = self.history(self.syms, 3, Resolution.DAILY)
        self.frames = []

    def on_data(self, data):
        self.frames.append(
            (
                self.time,
                self.history(self.syms, 5),
                self.history(self.syms[0], timedelta(days=7)),
                self.history(self.syms, datetime(2020, 2, 27), datetime(2020, 3, 31)),
                data,
            )
        )


@pytest.fixture(scope="module")
def histories():
    return run(Histories).algorithm


def test_history_in_initialize_ends_before_the_start(histories):
    h = histories.at_init
    assert h.index.names == ["symbol", "time"]
    times = h.index.get_level_values("time")
    assert times.max() == pd.Timestamp("2020-02-28 16:00")
    assert len(h) == 6 and list(h.columns) == ["close"]


def test_history_is_point_in_time_and_unstacks(histories):
    assert len(histories.frames) == 5  # every session, the last one included
    for now, bars, week, ranged, _ in histories.frames:
        for frame in (bars, week, ranged):
            assert frame.index.get_level_values("time").max() == pd.Timestamp(now)
        wide = bars.close.unstack(level=0)
        assert list(wide.columns) == ["KO", "MSFT"] and wide.shape == (5, 2)
        assert wide.loc[pd.Timestamp(now), "KO"] == close("KO", str(now.date()))
        assert (week.index.get_level_values("time") > pd.Timestamp(now) - timedelta(7)).all()
    first = histories.frames[0][3].index.get_level_values("time").unique()
    assert list(first) == [
        pd.Timestamp("2020-02-27 16:00"),
        pd.Timestamp("2020-02-28 16:00"),
        pd.Timestamp("2020-03-02 16:00"),
    ]


def test_slice_holds_the_bars_of_the_time_step(histories):
    now, *_, data = histories.frames[0]
    bar = data["KO"]
    assert (
        data.contains_key("MSFT") and bar.end_time == now and bar.close == close("KO", "2020-03-02")
    )
    assert bar.Close == bar.close == bar.value  # close-only data: o = h = l = c
    assert bar.open == bar.high == bar.low == bar.close


def test_history_of_a_symbol_not_added():
    class Other(QCAlgorithm):
        def initialize(self):
            self.add_equity("KO")
            self.history(["XOM"], 5)

    with pytest.raises(DataError, match="not added") as err:
        run(Other)
    assert err.value.symbol == "XOM"


# ----------------------------------------------------------------------------- orders
def sequential(algo):
    for s, w in zip(algo.syms, (0.5, 0.3, 0.2), strict=True):
        algo.set_holdings(s, w)
    algo.seen.append((algo.time, "read", {s: algo.portfolio[s].quantity for s in algo.syms}))


def reversed_loop(algo):  # buys MSFT before it sells KO, in loop order
    for s, w in (("MSFT", 0.6), ("KO", 0.1), ("XOM", 0.2)):
        algo.set_holdings(s, w)


def as_list(algo):
    algo.set_holdings([PortfolioTarget(s, w) for s, w in (("MSFT", 0.6), ("KO", 0.1))])


def snapshot(algo):
    p = algo.portfolio
    algo.seen.append(
        (
            algo.time,
            "portfolio",
            {
                "tpv": p.total_portfolio_value,
                "cash": p.cash,
                **{
                    s: (p[s].quantity, p[s].price, p[s].holdings_value, p[s].average_price)
                    for s in algo.syms
                },
            },
        )
    )


class Sequential(Recorder):
    plan = {0: sequential, 1: snapshot, 2: reversed_loop}  # noqa: RUF012


class AsList(Recorder):
    plan = {0: sequential, 2: as_list}  # noqa: RUF012


@pytest.fixture(scope="module")
def seq():
    return run(Sequential)


def test_set_holdings_sizes_like_lean(seq):
    day = "2020-03-02"
    reference = SimpleAlgorithm(SP.select(["KO", "MSFT", "XOM"]), day, cash=100_000)
    expected = [
        ConstructTarget.percent(reference, s, w).quantity
        for s, w in (("KO", 0.5), ("MSFT", 0.3), ("XOM", 0.2))
    ]
    first = seq.trades[seq.trades["decision_time"] == pd.Timestamp(day)]
    assert first["quantity"].tolist() == expected == [994.0, 178.0, 442.0]
    # by hand: 0.25% buffer, then whole shares below the target net of the fee
    assert expected[0] == np.floor(0.5 * 100_000 * 0.9975 / close("KO", day)) - 0.0


def test_orders_fill_next_session_and_holdings_read_at_once_are_old(seq):
    algo = seq.algorithm
    read = [payload for _, kind, payload in algo.seen if kind == "read"]
    assert read == [{"KO": 0.0, "MSFT": 0.0, "XOM": 0.0}]  # seed 000's symptom
    events = [(t, e) for t, kind, e in algo.seen if kind == "event"]
    submitted = [e for t, e in events if e.status == OrderStatus.SUBMITTED]
    filled = [(t, e) for t, e in events if e.status == OrderStatus.FILLED]
    assert [e.order_id for e in submitted[:3]] == [1, 2, 3]
    assert all(t == datetime(2020, 3, 3, 16) for t, e in filled[:3])  # before the next on_data
    assert filled[0][1].fill_price == close("KO", "2020-03-03")  # close-only data: next close
    assert (seq.trades["fill_time"] > seq.trades["decision_time"]).all()


def test_portfolio_fields_after_the_fill(seq):
    snap = next(p for _, kind, p in seq.algorithm.seen if kind == "portfolio")
    quantity, price, value, average = snap["KO"]
    assert quantity == 994.0 and price == close("KO", "2020-03-03")
    assert value == pytest.approx(quantity * price) and average == close("KO", "2020-03-03")
    assert snap["tpv"] == pytest.approx(seq.equity.loc["2020-03-03"], abs=1e-6)
    assert snap["cash"] == pytest.approx(seq.cash.loc["2020-03-03"], abs=1e-6)


def test_sequential_orders_go_out_in_loop_order_and_the_list_reduces_first(seq):
    loop = seq.lean_orders[seq.lean_orders["time"] == pd.Timestamp("2020-03-04 16:00")]
    assert loop["symbol"].tolist() == ["MSFT", "KO", "XOM"]  # a buy sent before the sell
    listed = run(AsList).lean_orders
    listed = listed[listed["time"] == pd.Timestamp("2020-03-04 16:00")]
    assert listed["symbol"].tolist() == ["KO", "MSFT"]  # reducing first
    assert listed["quantity"].tolist() == loop["quantity"].tolist()[:2][::-1]  # one snapshot


def test_liquidate():
    class Liq(Recorder):
        plan = {  # noqa: RUF012
            0: sequential,
            2: lambda a: a.liquidate("MSFT"),
            4: lambda a: a.liquidate(),
        }

    result = run(Liq)
    orders = result.lean_orders
    msft = orders[(orders["symbol"] == "MSFT") & (orders["quantity"] < 0)]
    assert msft["quantity"].tolist() == [-178.0] and msft["tag"].tolist() == ["Liquidated"]
    held = result.positions
    assert held.loc["2020-03-05", "MSFT"] == 0 and held.loc["2020-03-05", "KO"] == 994
    assert (held.loc["2020-03-09"] == 0).all()


def test_minimum_order_margin_and_free_portfolio_value():
    def small_change(algo):
        now = algo.portfolio["KO"].holdings_value / algo.portfolio.total_portfolio_value
        algo.set_holdings("KO", (now + 0.0005) / 0.9975)  # +0.05% of TPV: under the 0.1% minimum

    class Small(Recorder):
        plan = {0: sequential, 2: small_change}  # noqa: RUF012

    result = run(Small)
    assert len(result.lean_orders) == 3  # the second set_holdings placed nothing
    assert any("minimum_order_margin" in line for line in result.logs)

    class NoBuffer(Recorder):
        plan = {0: sequential}  # noqa: RUF012

        def initialize(self):
            super().initialize()
            self.Settings.FreePortfolioValuePercentage = 0.0  # LEAN's spelling

    ko = run(NoBuffer).trades["quantity"].iloc[0]
    assert ko == np.floor((0.5 * 100_000 - 5.0) / close("KO", "2020-03-02"))  # only the fee


def test_overrides_win_over_the_algorithm():
    class Plain(Recorder):
        plan = {0: sequential}  # noqa: RUF012

    result = run(Plain, start="2021-06-01", end="2021-06-04", cash=50_000)
    assert str(result.decision_times[0])[:10] == "2021-06-01"
    assert result.equity.index[-1] == pd.Timestamp("2021-06-04")
    assert result.initial_cash == 50_000


# ----------------------------------------------------------------------------- names
class Camel(QCAlgorithm):
    def Initialize(self):
        self.SetStartDate(2020, 3, 2)
        self.SetEndDate(2020, 3, 6)
        self.SetCash(100000)
        self.Settings.MinimumOrderMarginPortfolioPercentage = 0
        self.UniverseSettings.Resolution = Resolution.Daily
        self.ko = self.AddEquity("KO", Resolution.Daily).Symbol
        self.values = []

    def OnData(self, data):
        if not self.Portfolio.Invested:
            self.SetHoldings(self.ko, 0.5)
        holding = self.Portfolio[self.ko]
        self.values.append(
            (self.Time, holding.Quantity, holding.HoldingsValue, self.Portfolio.TotalPortfolioValue)
        )
        self.Debug(f"{self.Securities[self.ko].Price}")

    def OnOrderEvent(self, orderEvent):
        self.Log(f"{orderEvent.Status.name} {orderEvent.FillQuantity:g}")


class Snake(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2020, 3, 2)
        self.set_end_date(2020, 3, 6)
        self.ko = self.add_equity("KO").symbol

    def on_data(self, data):
        if not self.portfolio.invested:
            self.set_holdings(self.ko, 0.5)


def test_both_naming_styles():
    camel, snake = run(Camel), run(Snake)
    algo = camel.algorithm
    assert algo.settings.minimum_order_margin_portfolio_percentage == 0
    assert camel.trades["quantity"].tolist() == snake.trades["quantity"].tolist() == [994.0]
    assert algo.values[1][1] == 994.0 and algo.values[1][2] == pytest.approx(994 * 50.267)
    assert camel.logs[:3] == [
        "2020-03-02 16:00:00 SUBMITTED 0",
        "2020-03-02 16:00:00 50.142",
        "2020-03-03 16:00:00 FILLED 994",
    ]
    assert algo.Time == algo.time and algo.Portfolio is algo.portfolio


# ----------------------------------------------------------------------------- buying power
def test_margin_orders_beyond_buying_power_are_invalid():
    def too_much(algo):
        algo.set_holdings("KO", 3.0)  # 3x on a 2x margin account: refused at submission
        algo.set_holdings("MSFT", 1.2)  # passes alone ...
        algo.set_holdings("XOM", 1.2)  # ... and so does this, but not both at the fill

    class Greedy(Recorder):
        plan = {0: too_much}  # noqa: RUF012

    result = run(Greedy)
    orders = result.lean_orders.set_index("symbol")
    assert orders["status"].to_dict() == {"KO": "INVALID", "MSFT": "FILLED", "XOM": "INVALID"}
    assert "Free Margin" in orders.loc["KO", "message"]
    assert "at the fill" in orders.loc["XOM", "message"]
    assert result.trades["symbol"].tolist() == ["MSFT"]
    rec = result.reconciliation.set_index("symbol")
    assert rec.loc["XOM", "cash_shortfall"] == pytest.approx(-1.2 * 0.9975, abs=0.01)


def test_cash_account_cannot_short():
    class Cash(Recorder):
        plan = {0: lambda a: a.set_holdings("KO", -0.5), 1: lambda a: a.set_holdings("KO", 0.5)}  # noqa: RUF012

        def initialize(self):
            super().initialize()
            self.set_brokerage_model(BrokerageName.INTERACTIVE_BROKERS_BROKERAGE, AccountType.CASH)

    result = run(Cash)
    assert result.lean_orders["status"].tolist() == ["INVALID", "FILLED"]
    assert result.settings["account"] == "cash" and result.settings["leverage"] == 1.0


def test_orders_in_initialize_and_warm_up_are_refused():
    class Warm(QCAlgorithm):
        def initialize(self):
            self.set_start_date(2020, 3, 2)
            self.set_end_date(2020, 3, 4)
            self.add_equity("KO")
            self.set_warm_up(3)
            self.calls = []

        def on_data(self, data):
            self.calls.append((self.time, self.is_warming_up))
            if self.is_warming_up:
                self.set_holdings("KO", 0.5)

        def on_end_of_algorithm(self):
            self.calls.append(("end", None))

    result = run(Warm)
    calls = result.algorithm.calls
    assert [w for _, w in calls[:3]] == [True, True, True] and calls[3] == (
        datetime(2020, 3, 2, 16),
        False,
    )
    assert calls[-1] == ("end", None) and len(calls) == 7
    assert (result.lean_orders["status"] == "INVALID").all() and result.trades.empty
    assert "warming up" in result.lean_orders["message"].iloc[0]


def test_adding_a_security_after_initialize_is_an_error():
    class Late(Recorder):
        plan = {0: lambda a: a.add_equity("AAPL")}  # noqa: RUF012

    with pytest.raises(StrategyError, match="only be added in initialize"):
        run(Late)


def test_bad_account_override():
    with pytest.raises(ConfigError) as err:
        run(Snake, account="futures")
    assert err.value.parameter == "account"
