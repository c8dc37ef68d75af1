"""Random targets, prices, costs and sizing rules through ``riskbook.backtest`` on small synthetic
data: a cash account never holds negative cash or a short position, and the ledger conserves
cash: at every decision the cash change is the sum of the trades' cash flows minus their fees.

Example counts (``dev`` profile; ``ci`` a third, ``thorough`` x5): 40 backtests for the cash
account, 25 for the margin account's ledger.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import riskbook
from riskbook import MarketData
from riskbook.execute import BpsFee, Costs, FixedBpsSlippage, FixedFee, PerShareFee

from .conftest import prop

COSTS = {
    "free": None,
    "per_share": Costs(fee=PerShareFee()),
    "bps_and_slippage": Costs(fee=BpsFee(7.0), slippage=FixedBpsSlippage(10.0)),
    "fixed_and_slippage": Costs(fee=FixedFee(3.0), slippage=FixedBpsSlippage(25.0)),
    "ib": "ib",
}


def synthetic(seed: int, n: int, days: int, jumpy: bool) -> MarketData:
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.005, 0.06 if jumpy else 0.02, n)
    r = rng.normal(0.0, vol, size=(days, n))
    if jumpy:  # gaps of up to +-40% overnight, so next-open fills land far from the decision
        r += rng.choice([0.0, 0.0, 0.0, -0.3, 0.4], size=(days, n)) * (rng.random((days, n)) < 0.05)
    close = rng.uniform(5.0, 400.0, n) * np.exp(np.cumsum(r, axis=0))
    gap = np.exp(rng.normal(0.0, vol, size=(days, n)) * (3.0 if jumpy else 1.0))
    open_ = close * gap
    dates = pd.bdate_range("2023-01-02", periods=days)
    symbols = [f"S{i}" for i in range(n)]
    return MarketData.from_arrays(dates, symbols, close=close, open=open_)


class RandomTargets:
    """Seeded random long-only targets with gross <= 1 (sometimes fully invested, sometimes 0)."""

    def __init__(self, seed: int, n: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = n

    def __call__(self, view):
        kind = self.rng.integers(0, 5)
        if kind == 0:
            return np.zeros(self.n)
        if kind == 1:
            return None  # hold
        w = self.rng.random(self.n) * (self.rng.random(self.n) < 0.8)
        total = w.sum()
        if total == 0:
            return w
        return w / total * (1.0 if kind == 2 else self.rng.uniform(0.2, 1.0))


@st.composite
def runs(draw, account: str = "cash"):
    n = draw(st.integers(1, 5))
    return {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "n": n,
        "days": draw(st.integers(30, 90)),
        "jumpy": draw(st.booleans()),
        "kwargs": {
            "schedule": draw(st.sampled_from(["daily", "weekly", "monthly"])),
            "fill": draw(st.sampled_from(["next_open", "next_close", "close"])),
            "costs": COSTS[draw(st.sampled_from(sorted(COSTS)))],
            "cash": draw(st.sampled_from([1_000.0, 25_000.0, 1_000_000.0])),
            "account": account,
            "fractional": draw(st.booleans()),
            "lot_size": draw(st.sampled_from([1, 10, 100])),
            "cash_buffer": draw(st.sampled_from([0.0, 0.0, 0.01])),
            "min_trade_value": draw(st.sampled_from([0.0, 0.0, 500.0])),
            "no_trade_band": draw(st.sampled_from([0.0, 0.0, 0.02])),
            "rounding": draw(st.sampled_from(["toward_target", "toward_zero", "nearest"])),
        },
    }


def run(spec):
    data = synthetic(spec["seed"], spec["n"], spec["days"], spec["jumpy"])
    strategy = RandomTargets(spec["seed"] + 1, spec["n"])
    kwargs = dict(spec["kwargs"])
    return riskbook.backtest(data, strategy, **kwargs)


def cash_after_each_fill(res) -> np.ndarray:
    """The engine's cash after fill k, read off the per-bar cash at the fill bar."""
    where = np.searchsorted(res.dates, res.fill_times)
    return res.cash_values[where]


def check_ledger(res):
    led = res.ledger
    after = cash_after_each_fill(res)
    before = np.r_[res.initial_cash, after[:-1]]
    assert len(after) == len(res.decision_bars)
    for k in range(len(after)):
        mine = led.decision == k
        flows = led.cash_flow[mine]
        fees = led.fee[mine]
        # exactly as the engine books it (one rounding per decision) ...
        assert math.fsum([before[k], *flows, *(-fees)]) == after[k]
        # ... and the plain identity: cash change == -sum(trade value) - fees, to 1e-9
        change = after[k] - before[k]
        expected = -np.sum(led.quantity[mine] * led.fill_price[mine]) - fees.sum()
        assert abs(change - expected) <= 1e-9 * max(1.0, res.initial_cash), (k, change, expected)
        assert (fees >= 0).all()
    # equity is cash plus the positions at the close, bar by bar
    values = np.where(res._positions_array != 0, res._positions_array * res.close, 0.0)
    np.testing.assert_allclose(
        res.equity_values, res.cash_values + values.sum(axis=1), rtol=1e-12, atol=1e-9
    )


@prop(40)
@given(runs("cash"))
def test_cash_account_never_goes_negative_and_the_ledger_balances(spec):
    res = run(spec)
    assert (res.cash_values >= 0).all(), res.cash_values.min()
    assert (res.snapshots >= 0).all()
    assert (res.positions.to_numpy() >= 0).all()
    check_ledger(res)
    # traded quantities respect the lot size unless fractional
    q = res.ledger.quantity
    if not spec["kwargs"]["fractional"]:
        lot = spec["kwargs"]["lot_size"]
        np.testing.assert_array_equal(q % lot, 0.0)


@prop(25)
@given(runs("margin"))
def test_margin_account_ledger_balances(spec):
    check_ledger(run(spec))
