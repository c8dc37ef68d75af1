"""EWMA covariance and volatility against pandas' ewm and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.errors import ConfigError
from riskbook.estimate import ewma_covariance, ewma_volatility, ewma_weights, sample_covariance


@pytest.fixture(scope="module")
def recent(sp500) -> pd.DataFrame:
    return sp500.returns().iloc[-1000:]


def test_weights_halve_every_halflife_and_sum_to_one():
    w = ewma_weights(100, halflife=10.0)
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    assert w[-1] / w[-11] == pytest.approx(2.0, rel=1e-12)
    lam = 0.5 ** (1 / 10.0)
    np.testing.assert_allclose(w[1:] / w[:-1], 1 / lam, rtol=1e-12)
    # Closed form of the normalising constant: sum_k lam^k = (1 - lam^T) / (1 - lam).
    assert w[-1] == pytest.approx((1 - lam) / (1 - lam**100), rel=1e-12)


@pytest.mark.parametrize("halflife", [5.0, 11.2, 63.0])
def test_demeaned_equals_pandas_ewm_cov_bias_true(recent, halflife):
    expected = recent.ewm(halflife=halflife, adjust=True).cov(bias=True).loc[recent.index[-1]]
    got = ewma_covariance(recent, halflife, demean=True)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-10)
    assert list(got.columns) == [str(c) for c in recent.columns]


@pytest.mark.parametrize("halflife", [5.0, 63.0])
def test_zero_mean_equals_ewm_average_of_cross_products(recent, halflife):
    X = recent.iloc[:, :5]
    got = ewma_covariance(X.to_numpy(), halflife)
    for i in range(5):
        for j in range(5):
            product = X.iloc[:, i] * X.iloc[:, j]
            expected = product.ewm(halflife=halflife, adjust=True).mean().iloc[-1]
            assert got[i, j] == pytest.approx(expected, rel=1e-10)


def test_volatility_equals_pandas_ewm_std_and_the_covariance_diagonal(recent):
    expected = recent.ewm(halflife=20.0, adjust=True).std(bias=True).iloc[-1]
    got = ewma_volatility(recent, 20.0, demean=True)
    assert isinstance(got, pd.Series)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-10)
    zero_mean = ewma_volatility(recent.to_numpy(), 20.0)
    np.testing.assert_allclose(
        zero_mean**2, np.diag(ewma_covariance(recent.to_numpy(), 20.0)), rtol=1e-12
    )
    # Zero-mean and demeaned differ by the squared EW mean, which is tiny but not zero.
    assert not np.allclose(zero_mean, got.to_numpy(), rtol=1e-8, atol=0)


def test_riskmetrics_recursion_on_unnormalised_sums(recent):
    # S_t = lam S_{t-1} + y_t y_t' on raw sums; dividing by sum of weights gives our estimate.
    X = recent.to_numpy()[-300:, :3]
    lam = 0.94
    halflife = math.log(0.5) / math.log(lam)
    S = np.zeros((3, 3))
    total = 0.0
    for y in X:
        S = lam * S + np.outer(y, y)
        total = lam * total + 1.0
    np.testing.assert_allclose(ewma_covariance(X, halflife), S / total, rtol=1e-10)


def test_infinite_halflife_limit_is_the_ddof0_sample_covariance(recent):
    X = recent.to_numpy()
    np.testing.assert_allclose(
        ewma_covariance(X, 1e12, demean=True), sample_covariance(X, ddof=0), rtol=1e-8
    )


def test_periods_per_year(recent):
    X = recent.to_numpy()[:, :4]
    np.testing.assert_allclose(
        ewma_covariance(X, 10.0, periods_per_year=252), 252 * ewma_covariance(X, 10.0), rtol=1e-14
    )
    np.testing.assert_allclose(
        ewma_volatility(X, 10.0, periods_per_year=252),
        math.sqrt(252) * ewma_volatility(X, 10.0),
        rtol=1e-14,
    )


def test_tiny_halflife_on_a_long_window_does_not_overflow(recent):
    X = recent.to_numpy()
    cov = ewma_covariance(X, 0.005)  # lambda = 2**-200: older rows weigh < 1e-60, or underflow
    np.testing.assert_allclose(cov, np.outer(X[-1], X[-1]), rtol=1e-10)


@pytest.mark.parametrize("halflife", [0.0, -3.0, float("nan"), float("inf"), "ten"])
def test_bad_halflife_is_a_config_error(halflife):
    with pytest.raises(ConfigError) as info:
        ewma_covariance(np.eye(3), halflife)
    assert info.value.parameter == "halflife"


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(2, 40),
    st.integers(1, 8),
    st.floats(0.5, 200.0),
    st.booleans(),
)
def test_symmetric_psd(seed, T, N, halflife, demean):
    X = np.random.default_rng(seed).standard_normal((T, N))
    S = ewma_covariance(X, halflife, demean=demean)
    np.testing.assert_array_equal(S, S.T)
    assert np.linalg.eigvalsh(S)[0] >= -1e-12 * max(1.0, np.trace(S))
    np.testing.assert_allclose(
        ewma_volatility(X, halflife, demean=demean), np.sqrt(np.diag(S)), rtol=1e-10
    )
