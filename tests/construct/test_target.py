"""PortfolioTarget.percent against LEAN's sizing worked by hand, and the target collection.

Worked cases use TPV 100,000, LEAN's defaults (0.25% free portfolio value, 0.1% minimum order
margin, equity leverage 2) and LEAN's IB-like fee: $0.005 a share, $1 minimum, 0.5% maximum.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskbook.construct import PortfolioTarget, PortfolioTargetCollection, SimpleAlgorithm
from riskbook.data import MarketData
from riskbook.errors import ConfigError
from riskbook.execute.fees import NoFee


def algo_at(prices, positions=None, cash=100_000.0, **kw):
    """One bar of the given prices (NaN: no data yet) and a SimpleAlgorithm on it."""
    symbols = list(prices)
    today = [np.nan if prices[s] is None else prices[s] for s in symbols]
    # a symbol without data yet lists the day after
    tomorrow = [1.0 if prices[s] is None else prices[s] for s in symbols]
    md = MarketData.from_arrays(["2024-01-02", "2024-01-03"], symbols, close=[today, tomorrow])
    return SimpleAlgorithm(md, "2024-01-02", positions=positions, cash=cash, **kw)


def qty(algo, symbol, p, **kw):
    target = PortfolioTarget.percent(algo, symbol, p, **kw)
    return None if target is None else target.quantity


class TestPercentWorkedCases:
    def test_buffer_then_floor_then_fee(self):
        # 0.10 * (100000 - 250) = 9975 -> 199.5 shares -> 199; fee $1 -> target
        # (100000 - 1) * 0.09975 = 9974.90 >= 199 * 50 = 9950: stays 199
        assert qty(algo_at({"XYZ": 50.0}), "XYZ", 0.10) == 199.0

    def test_fee_shrinks_a_full_allocation(self):
        # 99750 / 10 = 9975 shares; fee 49.875 -> target (100000 - 49.875) * 0.9975 = 99700.25
        # < 99750: again, 9970 shares (fee 49.85, 99700 <= 99700.27): LEAN's loop ends at 9970,
        # the notes' formula floor(p * (TPV - buffer - fee) / price) = floor(9970.01) agrees
        assert qty(algo_at({"XYZ": 10.0}), "XYZ", 1.0) == 9970.0

    def test_fee_loop_steps_down_a_lot(self):
        # fixed free value 1000: 0.1 * 99000 = 9900 -> exactly 198 shares; the $1 fee lowers the
        # target to 99999 * 0.099 = 9899.90 < 9900, so the loop runs again: 197
        algo = algo_at({"XYZ": 50.0})
        algo.settings.free_portfolio_value = 1000.0
        assert qty(algo, "XYZ", 0.10) == 197.0
        algo.securities["XYZ"].fee_model = NoFee()
        assert qty(algo, "XYZ", 0.10) == 198.0

    def test_lot_size_rounds_toward_the_smaller_position(self):
        algo = algo_at({"XYZ": 50.0}, lot_size=10)
        assert qty(algo, "XYZ", 0.10) == 190.0  # 199.5 -> 190
        assert qty(algo, "XYZ", -0.10) == -190.0  # -199.5 -> -190, not -200

    def test_short_target(self):
        assert qty(algo_at({"XYZ": 50.0}), "XYZ", -0.10) == -199.0

    def test_existing_holdings_and_delta(self):
        algo = algo_at({"XYZ": 50.0}, positions={"XYZ": 100}, cash=95_000)
        assert algo.portfolio.total_portfolio_value == 100_000
        assert qty(algo, "XYZ", 0.10) == 199.0
        assert qty(algo, "XYZ", 0.10, return_delta_quantity=True) == 99.0

    def test_zero_percent_liquidates(self):
        algo = algo_at({"XYZ": 50.0}, positions={"XYZ": 100}, cash=95_000)
        assert qty(algo, "XYZ", 0.0) == 0.0
        assert qty(algo, "XYZ", 0.0, return_delta_quantity=True) == -100.0

    def test_minimum_order_margin_keeps_the_position(self):
        # holding 199 x 50 = 9950; 10.05% -> 0.1005 * 99750 = 10024.88, a margin change of
        # (10024.88 - 9950) / 2 = 37.4 < 0.1% of TPV = 100: no order, target = holdings
        algo = algo_at({"XYZ": 50.0}, positions={"XYZ": 199}, cash=90_050)
        assert qty(algo, "XYZ", 0.1005) == 199.0
        assert qty(algo, "XYZ", 0.1005, return_delta_quantity=True) == 0.0
        assert sum("minimum_order_margin" in m for _, m in algo.messages) == 1
        qty(algo, "XYZ", 0.1005)
        assert sum("minimum_order_margin" in m for _, m in algo.messages) == 1  # warned once

    def test_minimum_order_is_measured_in_margin(self):
        # 10.15% -> value change 174.6 (> 100) but margin change 87.3 (< 100) at leverage 2
        algo = algo_at({"XYZ": 50.0}, positions={"XYZ": 199}, cash=90_050)
        assert qty(algo, "XYZ", 0.1015) == 199.0
        algo1 = algo_at({"XYZ": 50.0}, positions={"XYZ": 199}, cash=90_050, leverage=1.0)
        assert qty(algo1, "XYZ", 0.1015) == 202.0  # 202.49 shares -> 202

    def test_minimum_order_can_be_disabled(self):
        algo = algo_at({"XYZ": 50.0}, positions={"XYZ": 199}, cash=90_050)
        algo.settings.minimum_order_margin_portfolio_percentage = 0.0
        assert qty(algo, "XYZ", 0.1005) == 200.0  # 200.4975 -> 200

    def test_minimum_order_skipped_without_margin_remaining(self):
        # 5000 x 50 = 250000 held with -150000 cash: TPV 100000, margin used 125000 > TPV, so
        # LEAN lets a small order through to reduce the position: 2.505 -> 4997.5 -> 4997
        algo = algo_at({"XYZ": 50.0}, positions={"XYZ": 5000}, cash=-150_000)
        assert algo.portfolio.margin_remaining < 0
        assert qty(algo, "XYZ", 2.505) == 4997.0

    def test_max_and_min_absolute_percentage(self):
        algo = algo_at({"XYZ": 50.0})
        algo.settings.max_absolute_portfolio_target_percentage = 2
        algo.settings.min_absolute_portfolio_target_percentage = 0.1
        assert qty(algo, "XYZ", 3.0) is None and qty(algo, "XYZ", -3.0) is None
        assert qty(algo, "XYZ", 0.01) is None
        assert qty(algo, "XYZ", 0.0) == 0.0  # zero is always allowed
        assert qty(algo, "XYZ", 2.0) is not None
        assert len(algo.errors) == 3 and "max_absolute" in algo.errors[0]

    def test_lean_default_limits(self):
        algo = algo_at({"XYZ": 50.0})
        assert algo.settings.max_absolute_portfolio_target_percentage == 1e9
        assert algo.settings.min_absolute_portfolio_target_percentage == 1e-10
        assert qty(algo, "XYZ", 1e-11) is None

    def test_missing_security_no_price_and_nan(self):
        algo = algo_at({"XYZ": 50.0, "NEW": None})
        assert qty(algo, "NOPE", 0.1) is None
        assert qty(algo, "NEW", 0.1) is None
        assert qty(algo, "XYZ", float("nan")) is None
        assert len(algo.errors) == 3 and "price" in algo.errors[1]

    def test_lean_spelling_and_tag(self):
        t = PortfolioTarget.Percent(algo_at({"XYZ": 50.0}), "XYZ", 0.1, tag="why")
        assert (t.Symbol, t.Quantity, t.Tag) == ("XYZ", 199.0, "why")
        assert str(t) == "XYZ: 199"


@pytest.fixture
def three():
    # A held 100 @ 10, B 0 @ 20, C held -50 @ 5
    return algo_at({"A": 10.0, "B": 20.0, "C": 5.0}, positions={"A": 100, "C": -50})


class TestCollection:
    def test_add_replaces_and_add_range(self):
        c = PortfolioTargetCollection()
        c.add(PortfolioTarget("A", 1))
        c.add_range([PortfolioTarget("B", 2), PortfolioTarget("A", 3)])
        c.add(None)
        assert c.keys == ["A", "B"] and [t.quantity for t in c.values] == [3.0, 2.0]
        assert len(c) == 2 and c.count == 2 and not c.is_empty

    def test_contains_contains_key_getitem(self):
        t = PortfolioTarget("A", 1)
        c = PortfolioTargetCollection([t])
        assert c.contains(t) and t in c and "A" in c
        assert not c.contains(PortfolioTarget("A", 2))
        assert c.contains_key("A") and not c.contains_key("B")
        assert c["A"] is t and c.try_get_value("B") is None
        with pytest.raises(KeyError):
            c["B"]
        c["B"] = PortfolioTarget("B", 5)
        assert c.Keys == ["A", "B"]

    def test_iteration_and_enumerator(self):
        c = PortfolioTargetCollection([PortfolioTarget("A", 1), PortfolioTarget("B", 2)])
        assert [t.symbol for t in c] == ["A", "B"]
        assert [t.symbol for t in c.get_enumerator()] == ["A", "B"]

    def test_remove_by_symbol_and_by_target(self):
        a, b = PortfolioTarget("A", 1), PortfolioTarget("B", 2)
        c = PortfolioTargetCollection([a, b])
        assert not c.remove(PortfolioTarget("A", 99))  # another target for A: kept
        assert c.remove(a) and not c.remove("A")
        assert c.Remove("B") and c.is_empty

    def test_clear(self):
        c = PortfolioTargetCollection([PortfolioTarget("A", 1)])
        c.clear()
        assert len(c) == 0 and c.IsEmpty

    def test_copy_to(self):
        c = PortfolioTargetCollection([PortfolioTarget("A", 1), PortfolioTarget("B", 2)])
        out = [None] * 4
        c.copy_to(out, 1)
        assert [None if t is None else t.symbol for t in out] == [None, "A", "B", None]
        with pytest.raises(ConfigError):
            c.copy_to([None, None], 1)
        with pytest.raises(ConfigError):
            c.copy_to([None] * 5, -1)

    def test_clear_fulfilled(self):
        algo = algo_at({"A": 10.0, "B": 20.0}, positions={"A": 100, "B": 7}, lot_size={"B": 10})
        c = PortfolioTargetCollection(
            [PortfolioTarget("A", 100), PortfolioTarget("B", 15), PortfolioTarget("B", 16)]
        )
        c.add(PortfolioTarget("A", 100.5))  # within a lot of 1 of 100
        c.clear_fulfilled(algo)
        assert c.keys == []  # B: |16 - 7| = 9 < lot 10
        c.add_range([PortfolioTarget("A", 99), PortfolioTarget("B", 17)])
        c.ClearFulfilled(algo)
        assert c.keys == ["A", "B"]

    def test_order_by_margin_impact(self, three):
        c = PortfolioTargetCollection(
            [
                PortfolioTarget("B", 10),  # buy 10 x 20 = 200
                PortfolioTarget("C", -200),  # sell 150 x 5 = 750, increasing the short
                PortfolioTarget("A", 60),  # reducing: sell 40 x 10 = 400
            ]
        )
        assert [t.symbol for t in c.order_by_margin_impact(three)] == ["A", "C", "B"]
        assert [t.symbol for t in c.OrderByMarginImpact(three)] == ["A", "C", "B"]

    def test_reducing_targets_first_by_value(self, three):
        c = PortfolioTargetCollection(
            [PortfolioTarget("A", 90), PortfolioTarget("C", 0), PortfolioTarget("B", 100)]
        )
        # A: reducing, 10 x 10 = 100; C: reducing, 50 x 5 = 250; B: buy 2000
        assert [t.symbol for t in c.order_by_margin_impact(three)] == ["C", "A", "B"]

    def test_lean_counts_a_flip_to_a_smaller_position_as_reducing(self, three):
        c = PortfolioTargetCollection([PortfolioTarget("B", 1000), PortfolioTarget("A", -50)])
        assert [t.symbol for t in c.order_by_margin_impact(three)] == ["A", "B"]

    def test_skips_no_data_untradable_and_sub_lot(self):
        algo = algo_at(
            {"A": 10.0, "B": 20.0, "N": None, "U": 5.0}, positions={"A": 100}, lot_size={"B": 10}
        )
        algo.securities["U"].is_tradable = False
        c = PortfolioTargetCollection(
            [
                PortfolioTarget("A", 100.4),  # within a lot
                PortfolioTarget("B", 9),  # lot-adjusted to 0: nothing to do
                PortfolioTarget("N", 10),  # no data
                PortfolioTarget("U", 10),  # not tradable
                PortfolioTarget("ZZ", 10),  # unknown
            ]
        )
        assert c.order_by_margin_impact(algo) == []
        c.add(PortfolioTarget("B", 25))  # lot-adjusted to 20
        assert [t.symbol for t in c.order_by_margin_impact(algo)] == ["B"]

    def test_open_orders_count_as_existing(self, three):
        three.open_order_quantity = lambda symbol: {"B": 10.0}.get(symbol, 0.0)
        c = PortfolioTargetCollection([PortfolioTarget("B", 10), PortfolioTarget("A", 50)])
        assert [t.symbol for t in c.order_by_margin_impact(three)] == ["A"]

    def test_nothing_while_warming_up(self, three):
        three.is_warming_up = True
        c = PortfolioTargetCollection([PortfolioTarget("B", 10)])
        assert c.order_by_margin_impact(three) == []
        assert PortfolioTargetCollection().order_by_margin_impact(three) == []
