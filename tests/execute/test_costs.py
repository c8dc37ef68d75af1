import numpy as np
import pytest

from riskbook.errors import ConfigError, DataError
from riskbook.execute import (
    BpsFee,
    Costs,
    FixedBpsSlippage,
    FixedFee,
    HalfSpreadSlippage,
    NoFee,
    PerShareFee,
    VolumeShareSlippage,
)


def test_per_share_fee_minimum_and_cap():
    fee = PerShareFee()
    q = np.array([0.0, 100.0, -1000.0, 10_000.0])
    p = np.array([10.0, 10.0, 10.0, 0.5])
    # 0 shares: nothing; 100 sh: $0.50 -> $1 minimum; 1000 sh: $5; 10,000 sh at $0.5: 0.5% of $5,000 = $25
    np.testing.assert_allclose(fee.fee(q, p), [0.0, 1.0, 5.0, 25.0])


def test_bps_and_fixed_fees():
    np.testing.assert_allclose(BpsFee(10).fee(np.array([-50.0]), np.array([100.0])), [5.0])
    np.testing.assert_allclose(
        FixedFee(2.5).fee(np.array([0.0, 3.0]), np.array([1.0, 1.0])), [0.0, 2.5]
    )
    with pytest.raises(ConfigError):
        BpsFee(-1)


def test_slippage_moves_against_the_order():
    ref = np.array([100.0, 100.0])
    q = np.array([10.0, -10.0])
    np.testing.assert_allclose(FixedBpsSlippage(5).price(q, ref), [100.05, 99.95])
    np.testing.assert_allclose(HalfSpreadSlippage(10).price(q, ref), [100.05, 99.95])
    # square-root impact: 1% of the bar's volume with impact 0.1 moves the price 1%
    vs = VolumeShareSlippage(impact=0.1)
    np.testing.assert_allclose(vs.price(q, ref, np.array([1000.0, 1000.0])), [101.0, 99.0])
    with pytest.raises(DataError):
        vs.price(q, ref, np.array([0.0, 1000.0]))
    with pytest.raises(DataError):
        vs.price(q, ref, None)


def test_costs_resolution():
    assert Costs.resolve(None).is_free
    assert isinstance(Costs.resolve("ib").fee, PerShareFee)
    assert Costs.resolve(10).fee == BpsFee(10.0)
    assert Costs.resolve(FixedBpsSlippage(3)).slippage == FixedBpsSlippage(3)
    assert isinstance(Costs.resolve(FixedFee(1)).fee, FixedFee)
    assert isinstance(Costs().fee, NoFee)
    with pytest.raises(ConfigError):
        Costs.resolve("expensive")
