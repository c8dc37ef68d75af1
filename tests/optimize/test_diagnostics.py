"""Diagnostics: volatility, Euler contributions, effective numbers, diversification ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.datasets import load_sp500
from riskbook.errors import OptimizationError
from riskbook.optimize.diagnostics import (
    diversification_ratio,
    effective_n,
    effective_number_of_bets,
    portfolio_volatility,
    risk_contributions,
)
from riskbook.optimize.risk_parity import risk_parity


@pytest.fixture(scope="module")
def sp500_cov() -> pd.DataFrame:
    return load_sp500().returns().iloc[-1000:].cov()


def test_volatility_against_the_returns_it_came_from():
    returns = load_sp500().returns().iloc[-1000:]
    w = np.linspace(1.0, 2.0, 20)
    w /= w.sum()
    realised = float((returns.to_numpy() @ w).std(ddof=1))
    assert portfolio_volatility(w, returns.cov()) == pytest.approx(realised, rel=1e-12)


def test_contributions_sum_to_one_or_to_the_volatility(sp500_cov):
    w = pd.Series(np.linspace(1.0, 3.0, 20), index=sp500_cov.columns)
    w /= w.sum()
    rel = risk_contributions(w, sp500_cov)
    absolute = risk_contributions(w, sp500_cov, relative=False)
    assert rel.sum() == pytest.approx(1.0, abs=1e-14)
    assert absolute.sum() == pytest.approx(portfolio_volatility(w, sp500_cov), rel=1e-14)
    # Euler: the contribution is the weight times the marginal volatility d sigma / d w_i.
    sigma = portfolio_volatility(w, sp500_cov)
    eps = 1e-7
    bumped = w.copy()
    bumped["KO"] += eps
    marginal = (portfolio_volatility(bumped, sp500_cov) - sigma) / eps
    assert absolute["KO"] == pytest.approx(w["KO"] * marginal, rel=1e-5)


def test_labels_are_aligned_and_kept(sp500_cov):
    w = pd.Series(np.arange(1.0, 21.0), index=sp500_cov.columns) / 210
    shuffled = w.sample(frac=1.0, random_state=3)
    rc = risk_contributions(shuffled, sp500_cov)
    assert list(rc.index) == list(sp500_cov.columns)
    np.testing.assert_allclose(
        rc.to_numpy(), risk_contributions(w.to_numpy(), sp500_cov.to_numpy())
    )
    from_series_only = risk_contributions(w, sp500_cov.to_numpy())
    assert isinstance(from_series_only, pd.Series)
    assert list(from_series_only.index) == list(sp500_cov.columns)
    assert isinstance(risk_contributions(w.to_numpy(), sp500_cov.to_numpy()), np.ndarray)


def test_risk_parity_has_n_effective_bets(sp500_cov):
    w = risk_parity(sp500_cov)
    assert effective_number_of_bets(w, sp500_cov) == pytest.approx(20.0, abs=1e-8)
    concentrated = np.r_[1.0, np.zeros(19)]
    assert effective_number_of_bets(concentrated, sp500_cov) == pytest.approx(1.0, abs=1e-14)
    assert 1.0 < effective_number_of_bets(np.full(20, 0.05), sp500_cov) < 20.0


def test_effective_numbers_without_covariance():
    assert effective_number_of_bets(np.full(8, 0.125)) == pytest.approx(8.0, abs=1e-12)
    assert effective_n(np.full(8, 0.125)) == pytest.approx(8.0, abs=1e-12)
    w = np.array([0.5, 0.3, 0.2])
    assert effective_n(w) == pytest.approx(1 / (0.25 + 0.09 + 0.04), rel=1e-14)
    shares = np.exp(-(w * np.log(w)).sum())
    assert effective_number_of_bets(w) == pytest.approx(shares, rel=1e-14)
    # Gross shares for long-short weights.
    assert effective_n(np.array([1.5, -0.5])) == pytest.approx(4.0 / 2.5, rel=1e-14)


def test_diversification_ratio_closed_forms(sp500_cov):
    assert diversification_ratio(np.full(9, 1 / 9), np.eye(9)) == pytest.approx(3.0, rel=1e-14)
    vol = np.array([0.1, 0.2, 0.3])
    perfectly_correlated = np.outer(vol, vol)
    assert diversification_ratio(np.full(3, 1 / 3), perfectly_correlated) == pytest.approx(
        1.0, rel=1e-12
    )
    w = np.linspace(1.0, 2.0, 20)
    w /= w.sum()
    expected = w @ np.sqrt(np.diag(sp500_cov)) / np.sqrt(w @ sp500_cov.to_numpy() @ w)
    assert diversification_ratio(w, sp500_cov) == pytest.approx(expected, rel=1e-14)
    assert diversification_ratio(w, sp500_cov) > 1.0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 15))
def test_bounds_on_random_long_only_portfolios(seed, n):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n + 5, n))
    cov = a.T @ a
    w = rng.dirichlet(np.ones(n))
    enb = effective_number_of_bets(w, cov)
    assert 1.0 - 1e-12 <= enb <= n + 1e-9
    assert 1.0 - 1e-12 <= effective_n(w) <= n + 1e-9
    assert diversification_ratio(w, cov) >= 1.0 - 1e-12
    assert risk_contributions(w, cov).sum() == pytest.approx(1.0, abs=1e-10)


def test_bad_input_is_refused(sp500_cov):
    with pytest.raises(OptimizationError) as info:
        risk_contributions(np.ones(3) / 3, sp500_cov)
    assert info.value.parameter == "weights"
    with pytest.raises(OptimizationError, match="zero variance"):
        risk_contributions(np.zeros(20), sp500_cov)
    with pytest.raises(OptimizationError, match="zero variance"):
        diversification_ratio(np.array([0.5, 0.5]), np.array([[1.0, -1.0], [-1.0, 1.0]]))
    with pytest.raises(OptimizationError, match="not positive semidefinite"):
        portfolio_volatility(np.array([1.0, 1.0]), np.array([[1.0, -2.0], [-2.0, 1.0]]))
    with pytest.raises(OptimizationError):
        effective_n(np.zeros(3))
    with pytest.raises(OptimizationError):
        effective_number_of_bets(np.array([np.nan, 1.0]))
    missing = pd.Series(0.05, index=sp500_cov.columns).drop("HD")
    with pytest.raises(OptimizationError) as info:
        portfolio_volatility(missing, sp500_cov)
    assert info.value.symbol == "HD"
