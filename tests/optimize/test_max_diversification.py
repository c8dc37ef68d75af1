"""max_diversification (Choueifaty & Coignard 2008) against cvxpy, closed forms and properties."""

from __future__ import annotations

from functools import cache

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.datasets import load_sp500
from riskbook.errors import InfeasibleError, OptimizationError
from riskbook.optimize import diversification_ratio, max_diversification


@cache
def bundled_cov() -> pd.DataFrame:
    return load_sp500().returns().iloc[-1000:].cov()


def cvxpy_via_correlation(S: np.ndarray) -> np.ndarray:
    """Long-only, uncapped: the most diversified portfolio is the minimum-variance portfolio of
    the correlation matrix, rescaled by 1/vol (an independent formulation)."""
    vol = np.sqrt(np.diag(S))
    C = S / np.outer(vol, vol)
    x = cp.Variable(len(vol))
    prob = cp.Problem(cp.Minimize(cp.quad_form(x, cp.psd_wrap(C))), [cp.sum(x) == 1, x >= 0])
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    w = x.value / vol
    return w / w.sum()


def cvxpy_homogenised(S: np.ndarray, lo: float, hi: float) -> np.ndarray:
    vol = np.sqrt(np.diag(S))
    y, k = cp.Variable(len(vol)), cp.Variable(nonneg=True)
    cons = [vol @ y == 1, cp.sum(y) == k, y >= lo * k, y <= hi * k]
    prob = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(S / S.max()))), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return y.value / k.value


def test_bundled_data_matches_cvxpy_correlation_formulation():
    S = bundled_cov()
    w = max_diversification(S)
    assert isinstance(w, pd.Series) and list(w.index) == list(S.columns)
    ref = cvxpy_via_correlation(S.to_numpy())
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)
    assert diversification_ratio(w, S) >= diversification_ratio(ref, S) - 1e-10


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 0.1), (0.02, 0.2), (-0.05, 0.3)])
def test_bounded_matches_cvxpy(lo, hi):
    S = bundled_cov()
    w = max_diversification(S, bounds=(lo, hi))
    ref = cvxpy_homogenised(S.to_numpy(), lo, hi)
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)
    assert w.min() >= lo - 1e-9 and w.max() <= hi + 1e-9


def test_uncorrelated_assets_are_held_inversely_to_volatility():
    vol = np.array([0.1, 0.2, 0.3, 0.4])
    w = max_diversification(np.diag(vol**2))
    np.testing.assert_allclose(w, (1 / vol) / (1 / vol).sum(), atol=1e-12)
    # ... and the ratio is then sqrt(N).
    assert diversification_ratio(w, np.diag(vol**2)) == pytest.approx(2.0, abs=1e-12)


def test_equal_correlation_and_volatility_gives_equal_weight():
    n, rho, vol = 6, 0.4, 0.2
    S = (np.full((n, n), rho) + (1 - rho) * np.eye(n)) * vol**2
    np.testing.assert_allclose(max_diversification(S), np.full(n, 1 / n), atol=1e-12)


def test_groups_and_rows_are_honoured():
    S = bundled_cov()
    tech = ["AAPL", "AMD", "MSFT"]
    w = max_diversification(S, groups={"tech": (tech, 0.3, None)})
    assert w[tech].sum() >= 0.3 - 1e-9
    free = max_diversification(S)
    assert free[tech].sum() < 0.3  # the group binds
    assert diversification_ratio(w, S) < diversification_ratio(free, S)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 20), st.integers(0, 2**32 - 1))
def test_no_long_only_portfolio_is_more_diversified(n, seed):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, n + 2))
    S = F @ F.T / (n + 2) + np.diag(rng.uniform(0.05, 1.0, n))
    w = max_diversification(S)
    assert abs(w.sum() - 1) <= 1e-8 and (w >= -1e-9).all()
    best = diversification_ratio(w, S)
    assert best >= 1.0 - 1e-12
    for x in rng.dirichlet(np.full(n, 0.5), size=40):
        assert best >= diversification_ratio(x, S) - 1e-10


def test_bad_input():
    S = bundled_cov()
    with pytest.raises(OptimizationError) as err:
        max_diversification(S, budget=0.0, bounds=(-1, 1))
    assert err.value.parameter == "budget"
    with pytest.raises(InfeasibleError) as err:
        max_diversification(S, bounds=(0.0, 0.04))
    assert err.value.parameter == "bounds"
    with pytest.raises(OptimizationError) as err:
        max_diversification(np.zeros((3, 3)))
    assert err.value.parameter == "cov"
