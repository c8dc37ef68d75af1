"""The live rebalance planner: round trips within one lot, the engine's own order logic, strict
CSV validation naming file/row/line/column, atomic and idempotent orders files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook.book import BookConfig
from riskbook.errors import ConfigError, DataError, TargetError
from riskbook.execute import Costs, PerShareFee, planner
from riskbook.execute.orders import plan_orders
from riskbook.execute.planner import (
    EXPLAINED_BY,
    ORDER_COLUMNS,
    plan,
    plan_from_book,
    read_holdings,
    read_prices,
    read_targets,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plan"


# ----------------------------------------------------------------------------- helpers
def apply_orders(holdings, cash, orders, costs=None, *, check_cash=False):
    """Fill ``orders`` (the file's rows, in order) at their prices; return positions and cash.

    Independent of the planner: signed quantities from SIDE, cash from quantity * price (and the
    fee model's fee). With ``check_cash``, the cash may never go negative along the way."""
    fee_model = Costs.resolve(costs).fee
    q = {s: float(v) for s, v in holdings.items()}
    for row in orders.itertuples(index=False):
        assert row.quantity > 0
        assert row.side in ("BUY", "SELL")
        assert row.value == pytest.approx(row.quantity * row.price, rel=1e-12)
        signed = row.quantity if row.side == "BUY" else -row.quantity
        q[row.symbol] = q.get(row.symbol, 0.0) + signed
        fee = float(fee_model.fee(np.array([signed]), np.array([row.price]))[0])
        cash = cash - signed * row.price - fee
        if check_cash:
            assert cash >= -1e-9, f"cash {cash} after {row.symbol}"
    return q, cash


def weights_of(q, cash, prices):
    value = {s: n * prices[s] for s, n in q.items()}
    equity = cash + sum(value.values())
    return {s: v / equity for s, v in value.items()}, equity


def assert_round_trip(p, holdings, targets, prices, cash, *, lots=None, costs=None):
    """Apply the orders; every weight within one lot's value of its target, unless held by the
    band or the minimum ticket (and then explained so); the plan's own numbers agree."""
    check_cash = p.account == "cash"
    q, cash_after = apply_orders(holdings, cash, p.orders, costs, check_cash=check_cash)
    assert cash_after == pytest.approx(p.cash_after, abs=1e-6)
    after, _ = weights_of(q, cash_after, prices)
    equity = cash + sum(n * prices[s] for s, n in holdings.items())
    w = p.weights
    for symbol in set(holdings) | set(targets):
        target = targets.get(symbol, 0.0)
        got = after.get(symbol, 0.0)
        assert got == pytest.approx(w.loc[symbol, "after"], abs=1e-12)
        assert q.get(symbol, 0.0) == pytest.approx(p.positions_after[symbol], abs=1e-9)
        lot = (lots or {}).get(symbol, 1) if isinstance(lots, dict) else (lots or 1)
        one_lot = lot * prices[symbol] / equity
        assert w.loc[symbol, "one_lot"] == pytest.approx(one_lot, rel=1e-12)
        reason = w.loc[symbol, "explanation"]
        if "no_trade_band" in reason or "min_trade_value" in reason:
            # held: the position did not change, and the skip explains the residual
            assert q.get(symbol, 0.0) == holdings.get(symbol, 0.0)
            assert w.loc[symbol, "skipped"] != 0
        else:
            assert abs(got - target) <= one_lot + 1e-12, (symbol, got, target, reason)
    # the components add up to the residual, and the residual is after - target
    comp = w[list(EXPLAINED_BY)].sum(axis=1)
    np.testing.assert_allclose(comp, w["residual"], atol=1e-14)
    np.testing.assert_allclose(w["residual"], w["after"] - w["target"], atol=0)
    # sells first
    sides = p.orders["side"].tolist()
    assert sides == sorted(sides, key=lambda s: s != "SELL")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- round trips
CASES = {
    "cash account, fully invested": dict(
        holdings={"AAPL": 120, "JNJ": 90, "JPM": 110, "KO": 250, "XOM": 180},
        targets={"AAPL": 0.2, "JNJ": 0.15, "KO": 0.1, "MSFT": 0.25, "PEP": 0.2, "XOM": 0.1},
        prices={
            "AAPL": 125.674,
            "JNJ": 174.085,
            "JPM": 129.575,
            "KO": 62.609,
            "MSFT": 233.434,
            "PEP": 179.278,
            "XOM": 106.627,
        },
        cash=3_117.5,
        options={},
    ),
    "margin with shorts": dict(
        holdings={"AAPL": 300, "KO": -400, "XOM": 100},
        targets={"AAPL": 0.45, "KO": 0.3, "MSFT": -0.35, "XOM": -0.25},
        prices={"AAPL": 125.674, "KO": 62.609, "MSFT": 233.434, "XOM": 106.627},
        cash=60_000.0,
        options=dict(account="margin", leverage=1.5),
    ),
    "lots of 10": dict(
        holdings={"GE": 500, "PFE": 1200},
        targets={"GE": 0.3, "PFE": 0.2, "RRC": 0.25, "BAC": 0.24},
        prices={"GE": 63.883, "PFE": 49.25, "RRC": 24.497, "BAC": 32.301},
        cash=25_000.0,
        options=dict(lot_size=10),
    ),
    "lots per symbol": dict(
        holdings={"GE": 500, "PFE": 1200},
        targets={"GE": 0.3, "PFE": 0.2, "RRC": 0.25, "BAC": 0.24},
        prices={"GE": 63.883, "PFE": 49.25, "RRC": 24.497, "BAC": 32.301},
        cash=25_000.0,
        options=dict(lot_size={"RRC": 100, "PFE": 10}),
    ),
    "minimum ticket": dict(
        holdings={"AAPL": 100, "KO": 200, "PG": 80},
        targets={"AAPL": 0.32, "KO": 0.3, "PG": 0.3},
        prices={"AAPL": 125.674, "KO": 62.609, "PG": 149.133},
        cash=5_000.0,
        options=dict(min_trade_value=1_000.0),
    ),
    "no-trade band": dict(
        holdings={"AAPL": 100, "KO": 200, "PG": 80},
        targets={"AAPL": 0.31, "KO": 0.25, "PG": 0.3},
        prices={"AAPL": 125.674, "KO": 62.609, "PG": 149.133},
        cash=5_000.0,
        options=dict(no_trade_band=0.02),
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_round_trip_within_one_lot(case):
    c = CASES[case]
    p = plan(c["holdings"], c["targets"], c["prices"], cash=c["cash"], **c["options"])
    assert_round_trip(
        p, c["holdings"], c["targets"], c["prices"], c["cash"], lots=c["options"].get("lot_size")
    )
    if p.account == "cash":
        assert p.cash_after >= 0
    assert list(p.orders.columns) == list(ORDER_COLUMNS)


def test_min_ticket_and_band_hold_positions_and_say_so():
    c = CASES["minimum ticket"]
    p = plan(c["holdings"], c["targets"], c["prices"], cash=c["cash"], min_trade_value=1_000.0)
    # AAPL: 0.32 * 38,511 - 12,567 = -244 of trade: below the ticket
    assert p.weights.loc["AAPL", "explanation"] == "min_trade_value"
    assert "AAPL" not in set(p.orders["symbol"])
    assert p.skipped.set_index("symbol").loc["AAPL", "reason"] == "min_trade_value"
    c = CASES["no-trade band"]
    p = plan(c["holdings"], c["targets"], c["prices"], cash=c["cash"], no_trade_band=0.02)
    held = p.weights[p.weights["explanation"] == "no_trade_band"]
    assert set(held.index) == {"AAPL", "PG"}  # within 2% of their targets
    np.testing.assert_allclose(held["residual"], held["skipped"], atol=1e-15)
    assert set(p.orders["symbol"]) == {"KO"}


def test_lots_of_ten_trade_whole_lots():
    c = CASES["lots of 10"]
    p = plan(c["holdings"], c["targets"], c["prices"], cash=c["cash"], lot_size=10)
    assert (p.orders["quantity"] % 10 == 0).all()
    assert (p.weights["one_lot"] > 0).all()


@pytest.mark.parametrize("account", ["cash", "margin"])
def test_random_round_trips(account):
    rng = np.random.default_rng(7 if account == "cash" else 8)
    for _ in range(40):
        n = int(rng.integers(2, 9))
        syms = [f"S{i}" for i in range(n)]
        prices = {s: float(np.round(rng.uniform(3, 600), 2)) for s in syms}
        lot = int(rng.choice([1, 1, 10, 100]))
        held = rng.integers(0, 60, n) * lot
        if account == "margin":
            held = held * rng.choice([-1, 1], n)
        holdings = {s: int(h) for s, h in zip(syms, held, strict=True) if h != 0}
        w = rng.dirichlet(np.ones(n)) * rng.uniform(0.8, 1.0)
        if account == "margin":
            w = w * rng.choice([-1, 1], n) * 1.8
        targets = dict(zip(syms, w.tolist(), strict=True))
        cash = float(rng.uniform(0, 300_000))
        if account == "margin":  # shorts must not leave the account under water
            cash += sum(abs(q) * prices[s] for s, q in holdings.items())
        kw = dict(account="margin", leverage=2.0) if account == "margin" else {}
        p = plan(holdings, targets, prices, cash=cash, lot_size=lot, **kw)
        assert_round_trip(p, holdings, targets, prices, cash, lots=lot)
        assert set(p.weights["explanation"]) <= {"rounding", "on target"}


def test_fractional_hits_the_targets():
    c = CASES["cash account, fully invested"]
    p = plan(c["holdings"], c["targets"], c["prices"], cash=c["cash"], fractional=True)
    np.testing.assert_allclose(p.weights["residual"], 0.0, atol=1e-14)
    assert (p.weights["one_lot"] == 0).all()


def test_same_order_logic_as_plan_orders():
    c = CASES["margin with shorts"]
    p = plan(c["holdings"], c["targets"], c["prices"], cash=c["cash"], **c["options"])
    ref = plan_orders(
        pd.Series(c["targets"]),
        pd.Series(c["holdings"], dtype=float),
        pd.Series(c["prices"]),
        c["cash"],
        rounding="toward_zero",
        **c["options"],
    )
    ours = p.orders.set_index("symbol")
    signed = ours["quantity"].where(ours["side"] == "BUY", -ours["quantity"])
    theirs = pd.Series(ref.delta, index=list(ref.symbols))
    pd.testing.assert_series_equal(
        signed.sort_index(), theirs[theirs != 0].sort_index(), check_names=False
    )


def test_matches_the_backtest_engine_decision_by_decision(sp500):
    """Two rebalances in a backtest (fill at the decision close, IB fees, 0.25% buffer) and the
    planner on the same snapshots: the same quantities and the same weights after."""
    data = sp500.slice("2022-11-01", "2022-12-28").select(["AAPL", "JNJ", "KO", "XOM", "MSFT"])
    d1, d2 = data.dates[5], data.dates[25]
    books = {
        d1: {"AAPL": 0.3, "JNJ": 0.3, "KO": 0.2, "XOM": 0.19},
        d2: {"AAPL": 0.1, "KO": 0.3, "XOM": 0.29, "MSFT": 0.3},
    }
    opts = dict(costs="ib", cash_buffer=0.0025, rounding="toward_zero")
    res = riskbook.backtest(
        data,
        lambda view: books.get(view.time),
        schedule=[d1, d2],
        fill="close",
        cash=250_000.0,
        **opts,
    )
    trades = res.trades
    rec = res.reconciliation
    holdings: dict = {}
    cash = 250_000.0
    for i, d in enumerate((d1, d2)):
        close = dict(zip(data.symbols, data.close[np.searchsorted(data.dates, d)], strict=True))
        p = plan(holdings, books[d], close, cash=cash, **opts)
        day = trades[trades["decision_time"] == d].set_index("symbol")["quantity"]
        ours = p.orders.set_index("symbol")
        signed = ours["quantity"].where(ours["side"] == "BUY", -ours["quantity"])
        pd.testing.assert_series_equal(
            signed.sort_index(), day.sort_index(), check_names=False, check_index_type=False
        )
        held = rec[rec["date"] == d].set_index("symbol")["held_weight"]
        np.testing.assert_allclose(
            p.weights.loc[held.index, "after"], held, rtol=0, atol=1e-13, err_msg=str(i)
        )
        row = res.positions.loc[d]
        holdings = {s: float(v) for s, v in row.items() if v != 0}
        cash = float(res.cash.loc[d])
        assert p.cash_after == pytest.approx(cash, abs=1e-8)


def test_seed_000_computed_vs_post_trade_weights_explained():
    """Seed 000's weights, LEAN's defaults (0.25% buffer, IB fees): every basis point of the gap
    between the computed and the post-trade weights is explained, the rest within one share."""
    computed = {"TLT": 0.26300731, "GLD": 0.37590958, "XLE": 0.1574632, "QQQ": 0.2036199}
    prices = {"TLT": 99.5, "GLD": 168.4, "XLE": 87.9, "QQQ": 266.0}
    holdings = {"TLT": 280, "GLD": 215, "XLE": 240, "QQQ": 50}  # last rebalance's, drifted
    cash = 1_200.0
    p = plan(holdings, computed, prices, cash=cash, cash_buffer=0.0025, costs="ib")
    w = p.weights
    # (1) the seed read its weights before the fills: those are the current ones, far off
    assert (w["current"] - w["target"]).abs().max() > 0.05
    # after the fills: each residual = buffer + fees + whole shares, and nothing else
    np.testing.assert_allclose(w["cash_buffer"], -0.0025 * w["target"], rtol=1e-12)
    # fees shrink the equity, so every long weighs a little more
    assert (w["costs"] > 0).all() and (w["costs"] < 1e-4).all()
    assert (w["cash_shortfall"] == 0).all() and (w["skipped"] == 0).all()
    assert (w["rounding"].abs() <= w["one_lot"]).all()
    assert set(w["explanation"].str.split(", ").explode()) == {"rounding", "cash_buffer", "costs"}
    gap = w["residual"] - w["cash_buffer"] - w["costs"]
    assert (gap.abs() <= w["one_lot"] + 1e-15).all()
    # (6) normalising by the invested value hides the cash: the weights of total equity plus
    # the cash weight make one
    assert w["after"].sum() + p.cash_weight == pytest.approx(1.0, abs=1e-14)
    q, cash_after = apply_orders(holdings, cash, p.orders, "ib", check_cash=True)
    after, _ = weights_of(q, cash_after, prices)
    np.testing.assert_allclose([after[s] for s in w.index], w["after"], atol=1e-14)
    assert p.costs == pytest.approx(
        sum(
            PerShareFee().fee(np.array([r.quantity]), np.array([r.price]))[0]
            for r in p.orders.itertuples()
        )
    )


def test_symbols_held_but_not_targeted_are_sold():
    p = plan({"A": 10, "B": 5}, {"B": 0.5}, {"A": 10.0, "B": 20.0}, cash=0.0)
    assert p.orders.iloc[0].tolist() == ["A", "SELL", 10.0, 10.0, 100.0]
    assert p.weights.loc["A", "target"] == 0.0 and p.weights.loc["A", "after"] == 0.0


# ----------------------------------------------------------------------------- files
def example_plan(**kw):
    return plan(
        EXAMPLE / "holdings.csv",
        EXAMPLE / "targets.csv",
        EXAMPLE / "prices.csv",
        cash=10_000.0,
        **kw,
    )


def test_example_files_round_trip():
    p = example_plan(min_trade_value=500.0, no_trade_band=0.005)
    holdings = read_holdings(EXAMPLE / "holdings.csv").to_dict()
    targets = read_targets(EXAMPLE / "targets.csv").to_dict()
    prices = read_prices(EXAMPLE / "prices.csv").to_dict()
    assert_round_trip(p, holdings, targets, prices, 10_000.0)
    assert p.weights.loc["MSFT", "explanation"] == "no_trade_band"
    assert p.weights.loc["JPM", "after"] == 0.0  # held, not targeted: sold


def test_orders_file_is_idempotent_and_canonical(tmp_path):
    first = example_plan().write_orders(tmp_path / "a.csv").read_bytes()
    second = example_plan().write_orders(tmp_path / "b.csv").read_bytes()
    assert first == second
    # the same rows in another order, other column order and case: the same bytes
    lines = (EXAMPLE / "targets.csv").read_text().splitlines()
    body = [",".join(reversed(x.split(","))) for x in lines[1:]][::-1]
    shuffled = write(tmp_path, "t.csv", "Weight,SYMBOL\n" + "\n".join(body) + "\n")
    p = plan(EXAMPLE / "holdings.csv", shuffled, EXAMPLE / "prices.csv", cash=10_000.0)
    assert p.write_orders(tmp_path / "c.csv").read_bytes() == first
    text = first.decode()
    assert text.splitlines()[0] == "symbol,side,quantity,price,value"
    assert "JPM,SELL,110,129.575,14253.25" in text.splitlines()
    back = pd.read_csv(tmp_path / "a.csv")
    assert (back["quantity"] > 0).all()
    np.testing.assert_allclose(back["value"], back["quantity"] * back["price"], rtol=1e-12)


def test_atomic_write_failure_mid_write_keeps_previous_file(tmp_path, monkeypatch):
    out = tmp_path / "orders.csv"
    out.write_text("previous orders\n")
    p = example_plan()

    def half_then_fail(handle, text):
        handle.write(text[: len(text) // 2])
        handle.flush()
        raise KeyboardInterrupt  # an interrupted run

    monkeypatch.setattr(planner, "_write_text", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        p.write_orders(out)
    assert out.read_text() == "previous orders\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["orders.csv"]
    # with no previous file: no file at all
    fresh = tmp_path / "new.csv"
    with pytest.raises(KeyboardInterrupt):
        p.write_orders(fresh)
    assert not fresh.exists()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["orders.csv"]


def test_atomic_write_failed_replace_and_bad_directory(tmp_path, monkeypatch):
    out = tmp_path / "orders.csv"
    out.write_text("previous orders\n")
    p = example_plan()

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(planner.os, "replace", fail)
        with pytest.raises(ConfigError) as info:
            p.write_orders(out)
    assert info.value.context["file"] == str(out)
    assert out.read_text() == "previous orders\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["orders.csv"]
    with pytest.raises(ConfigError, match="cannot write the orders file"):
        p.write_orders(tmp_path / "missing" / "orders.csv")
    p.write_orders(out)  # and a successful write replaces it
    assert out.read_text() == p.orders_csv()


# ----------------------------------------------------------------------------- bad CSVs
GOOD_PRICES = "symbol,price\nAAPL,125.5\nKO,62.5\nXOM,106.5\n"
GOOD_TARGETS = "symbol,weight\nAAPL,0.5\nKO,0.4\n"
GOOD_HOLDINGS = "symbol,quantity\nAAPL,10\nKO,20\n"

BAD = [
    # (which file, its text, message fragment, row, line, column, symbol)
    ("holdings", "symbol\nAAPL\n", "missing column 'quantity'", 0, 1, "quantity", None),
    ("holdings", "symbol,quantity,cost\nAAPL,10,5\n", "unexpected column(s) 'cost'", 0, 1, "cost", None),
    ("holdings", "AAPL,10\nKO,20\n", "no header row", 0, 1, "AAPL", None),
    ("holdings", "symbol,qty\nAAPL,10\n", "missing column 'quantity'", 0, 1, "quantity", None),
    ("holdings", "symbol,quantity,symbol\nAAPL,1,B\n", "appears twice", 0, 1, "symbol", None),
    ("holdings", "symbol,quantity\nAAPL,10\nKO,ten\n", "non-numeric quantity 'ten'", 2, 3, "quantity", "KO"),
    ("holdings", "symbol,quantity\nAAPL,10\nKO,-5\n", "negative quantity -5", 2, 3, "quantity", "KO"),
    ("holdings", "symbol,quantity\nAAPL,10\n\nKO,\n", "missing quantity", 2, 4, "quantity", "KO"),
    ("holdings", "symbol,quantity\nAAPL,10\nAAPL,5\n", "duplicate symbol (first on row 1, line 2)", 2, 3, "symbol", "AAPL"),
    ("holdings", "symbol,quantity\n,10\n", "empty symbol", 1, 2, "symbol", None),
    ("holdings", "symbol,quantity\nAAPL,10,3\n", "the row has 3 field(s)", 1, 2, "#3", None),
    ("holdings", "symbol,quantity\nAAPL\n", "the row has 1 field(s)", 1, 2, "quantity", None),
    ("holdings", "symbol,quantity\nAAPL,1_000\n", "non-numeric quantity", 1, 2, "quantity", "AAPL"),
    ("holdings", "symbol,quantity\nAAPL,inf\n", "quantity is inf", 1, 2, "quantity", "AAPL"),
    ("holdings", "symbol,quantity\nAAPL,10\nXYZ,5\n", "no price for this symbol", 2, 3, "symbol", "XYZ"),
    ("targets", "symbol,weight\nAAPL,nan\n", "target weight is nan", 1, 2, "weight", "AAPL"),
    ("targets", "symbol,weight\nAAPL,0.5\nKO,-0.1\n", "negative target weight", 2, 3, "weight", "KO"),
    ("targets", "symbol,weight\nAAPL,0.5\nAPPL,0.4\n", "no price for this symbol", 2, 3, "symbol", "APPL"),
    ("targets", "symbol,weight\nAAPL,50%\n", "non-numeric target weight '50%'", 1, 2, "weight", "AAPL"),
    ("prices", "symbol,price\nAAPL,125.5\nKO,0\nXOM,1\n", "price 0 is not positive", 2, 3, "price", "KO"),
    ("prices", "symbol,price\nAAPL,125.5\nKO,-62.5\nXOM,1\n", "price -62.5 is not positive", 2, 3, "price", "KO"),
    ("prices", "symbol,price\nAAPL,125.5\nKO,\nXOM,1\n", "missing price", 2, 3, "price", "KO"),
    ("prices", "symbol,cost\nAAPL,125.5\n", "missing column 'price'", 0, 1, "price", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "text", "fragment", "row", "line", "column", "symbol"),
    BAD,
    ids=[f"{b[0]}:{b[2]}" for b in BAD],
)
def test_bad_csv_names_file_row_and_column(
    tmp_path, kind, text, fragment, row, line, column, symbol
):
    files = {
        "holdings": write(tmp_path, "holdings.csv", GOOD_HOLDINGS),
        "targets": write(tmp_path, "targets.csv", GOOD_TARGETS),
        "prices": write(tmp_path, "prices.csv", GOOD_PRICES),
    }
    files[kind] = write(tmp_path, f"{kind}.csv", text)
    with pytest.raises(DataError) as info:
        plan(files["holdings"], files["targets"], files["prices"], cash=1_000.0)
    err = info.value
    assert fragment in err.message
    assert err.context["file"] == str(files[kind])
    assert (err.context["row"], err.context["line"], err.context["column"]) == (row, line, column)
    assert err.symbol == symbol
    message = str(err)
    for fact in (f"file={files[kind]}", f"row={row}", f"line={line}", f"column={column}"):
        assert fact in message


def test_shorts_allowed_in_a_margin_account(tmp_path):
    h = write(tmp_path, "h.csv", "symbol,quantity\nAAPL,10\nKO,-20\n")
    t = write(tmp_path, "t.csv", "symbol,weight\nAAPL,0.5\nKO,-0.4\n")
    pr = write(tmp_path, "p.csv", GOOD_PRICES)
    p = plan(h, t, pr, cash=5_000.0, account="margin", leverage=1.0)
    assert_round_trip(
        p, {"AAPL": 10, "KO": -20}, {"AAPL": 0.5, "KO": -0.4}, read_prices(pr).to_dict(), 5_000.0
    )


def test_gross_above_leverage_is_an_error_naming_the_file(tmp_path):
    t = write(tmp_path, "t.csv", "symbol,weight\nAAPL,0.7\nKO,0.5\n")
    pr = write(tmp_path, "p.csv", GOOD_PRICES)
    with pytest.raises(TargetError, match=r"gross 1\.2 .* limit 1") as info:
        plan(None, t, pr, cash=1_000.0)
    assert info.value.context == {"file": str(t), "column": "weight"}
    with pytest.raises(TargetError) as info:
        plan(None, {"AAPL": 1.5, "KO": -0.6}, GOOD_PRICES_DICT, cash=1_000.0, account="margin",
             leverage=2.0)  # fmt: skip
    assert info.value.parameter == "targets"


GOOD_PRICES_DICT = {"AAPL": 125.5, "KO": 62.5, "XOM": 106.5}


def test_files_with_bom_blank_lines_and_any_column_order(tmp_path):
    h = tmp_path / "h.csv"
    h.write_bytes("\ufeffQuantity , Symbol\r\n10,AAPL\r\n\r\n  20 , KO \r\n".encode())
    assert read_holdings(h).to_dict() == {"AAPL": 10.0, "KO": 20.0}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("", "the file is empty"), ("\n\n", "the file is empty"), (b"\xff\xfe\x00", "not a UTF-8")],
)
def test_empty_or_binary_files(tmp_path, text, fragment):
    path = tmp_path / "h.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(DataError, match=fragment) as info:
        read_holdings(path)
    assert info.value.context["file"] == str(path)


def test_missing_file():
    with pytest.raises(DataError, match="no such file"):
        read_prices("no/such/prices.csv")


def test_mapping_inputs_are_validated_by_symbol():
    with pytest.raises(DataError, match="negative quantity") as info:
        plan({"AAPL": -1}, {}, GOOD_PRICES_DICT, cash=1_000.0)
    assert (info.value.symbol, info.value.parameter) == ("AAPL", "positions")
    with pytest.raises(DataError, match="non-numeric price") as info:
        plan({}, {"AAPL": 0.5}, {"AAPL": "n/a"}, cash=1_000.0)
    assert info.value.symbol == "AAPL"
    with pytest.raises(DataError, match="no price") as info:
        plan({"MSFT": 3}, {}, GOOD_PRICES_DICT, cash=1_000.0)
    assert (info.value.symbol, info.value.parameter) == ("MSFT", "positions")
    with pytest.raises(DataError, match="duplicate symbol"):
        plan({}, pd.Series([0.1, 0.2], index=["KO", "KO"]), GOOD_PRICES_DICT, cash=1_000.0)


def test_bad_options():
    with pytest.raises(ConfigError, match="negative cash"):
        plan({}, {"KO": 0.5}, GOOD_PRICES_DICT, cash=-1.0)
    with pytest.raises(ConfigError, match="unknown account"):
        plan({}, {"KO": 0.5}, GOOD_PRICES_DICT, cash=1.0, account="prime")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lot_size"):
        plan({}, {"KO": 0.5}, GOOD_PRICES_DICT, cash=1.0, lot_size={"ZZZ": 10})
    with pytest.raises(DataError, match="equity"):
        plan({}, {"KO": 0.5}, GOOD_PRICES_DICT, cash=0.0)


def test_cash_limits_buys_and_says_so():
    # a name held above its target by the band leaves too little cash for the buys
    p = plan(
        {"A": 100, "B": 0},
        {"A": 0.49, "B": 0.5},
        {"A": 10.0, "B": 1.0},
        cash=1_000.0,
        no_trade_band=0.02,
        costs=Costs(fee=PerShareFee()),
    )
    assert p.cash_after >= 0
    w = p.weights
    assert w.loc["A", "explanation"] == "no_trade_band, costs"
    assert w.loc["B", "explanation"].startswith("cash_shortfall")
    assert w.loc["B", "cash_shortfall"] < -w.loc["B", "one_lot"]  # far more than one share


# ----------------------------------------------------------------------------- the book
@pytest.fixture(scope="module")
def book_plan(sp500):
    return plan_from_book(None, sp500, None, cash=1_000_000.0)


def test_plan_from_book_matches_the_book_within_one_share(book_plan, sp500):
    p = book_plan
    book = p.book
    assert book.time == sp500.dates[-1]
    assert len(p.orders) > 0
    prices = dict(zip(sp500.symbols, sp500.close[-1].tolist(), strict=True))
    q, cash = apply_orders({}, 1_000_000.0, p.orders)
    after, _ = weights_of(q, cash, prices)
    target = book.weights_series()
    assert (target != 0).sum() >= 5
    for symbol, w in target.items():
        got = after.get(symbol, 0.0)
        assert abs(got - w) <= prices[symbol] / 1_000_000.0 + 1e-12, symbol
    np.testing.assert_allclose(p.weights["target"], target[p.weights.index], atol=0)
    assert p.account == "margin"


def test_plan_from_book_with_holdings_config_file_and_idempotence(book_plan, sp500, tmp_path):
    config = write(tmp_path, "book.toml", "warmup_days = 200\n\n[caps]\ngross = 1.0\n")
    prices = dict(zip(sp500.symbols, sp500.close[-1].tolist(), strict=True))
    holdings = {s: float(-q if s == "KO" else q) for s, q in (("AAPL", 500), ("KO", 300))}
    first = plan_from_book(config, sp500, holdings, cash=800_000.0)
    again = plan_from_book(BookConfig.from_toml(config), sp500, holdings, cash=800_000.0)
    assert first.orders_csv() == again.orders_csv()
    assert first.weights.loc["AAPL", "current"] == pytest.approx(
        500 * prices["AAPL"] / first.equity
    )
    assert float(np.abs(first.book.weights).sum()) <= 1.0 + 1e-12  # the config's gross cap
    assert float(np.abs(book_plan.book.weights).sum()) > 1.0
    assert (first.weights["residual"].abs() <= first.weights["one_lot"] + 1e-12).all()


def test_plan_from_book_errors(sp500):
    with pytest.raises(DataError, match="no price") as info:
        plan_from_book(None, sp500, {"ZZZ": 5}, cash=1_000.0)
    assert info.value.symbol == "ZZZ"
    with pytest.raises(DataError, match="short target") as info:  # the demo book is long/short
        plan_from_book(None, sp500, None, cash=1_000_000.0, account="cash")
    assert info.value.parameter == "targets"
    with pytest.raises(ConfigError, match="config"):
        plan_from_book(3.5, sp500)


def test_summary_lists_every_symbol_and_the_cash():
    p = example_plan(no_trade_band=0.005)
    text = p.summary()
    for symbol in p.weights.index:
        assert f"\n{symbol} " in text
    assert "\ncash " in text and "no_trade_band" in text
    assert not math.isnan(p.cash_weight)


def test_auto_rounding_whole_lots_vs_odd_lots_and_fractions():
    prices = {"A": 10.0, "B": 10.0}
    whole = plan({"A": 20}, {"A": 0.15, "B": 0.8}, prices, cash=935.0, lot_size=10)
    assert whole.rounding == "toward_zero"
    # 15 shares in lots of 10, target 17.0 shares: toward_zero would sell 5 (to 10), against
    # the target; auto truncates the trade instead, so nothing against the target is sent
    odd = plan({"A": 15}, {"A": 0.15, "B": 0.8}, prices, cash=985.0, lot_size=10)
    assert odd.rounding == "toward_target"
    assert odd.orders[["symbol", "side", "quantity"]].values.tolist() == [["B", "BUY", 90.0]]
    assert_round_trip(odd, {"A": 15}, {"A": 0.15, "B": 0.8}, prices, 985.0, lots=10)
    # a fractional holding (dividend reinvestment): the orders stay whole shares
    drip = plan({"A": 15.347}, {"A": 0.5, "B": 0.45}, prices, cash=246.53)
    assert drip.rounding == "toward_target"
    assert (drip.orders["quantity"] % 1 == 0).all()
    assert_round_trip(drip, {"A": 15.347}, {"A": 0.5, "B": 0.45}, prices, 246.53)


def test_nothing_to_trade_writes_just_the_header(tmp_path):
    p = plan({"A": 40, "B": 35}, {"A": 0.4, "B": 0.35}, {"A": 10.0, "B": 10.0}, cash=250.0)
    assert p.orders.empty and p.skipped.empty
    assert set(p.weights["explanation"]) == {"on target"}
    assert p.write_orders(tmp_path / "o.csv").read_text() == "symbol,side,quantity,price,value\n"
