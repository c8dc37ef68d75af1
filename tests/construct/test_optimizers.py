"""LEAN-signature optimizers: against cvxpy, scipy and closed forms; LEAN's defects on hand cases."""

from __future__ import annotations

import sys

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from riskbook.construct.optimizers import (
    MaximumSharpeRatioPortfolioOptimizer,
    MinimumVariancePortfolioOptimizer,
    PortfolioOptimizer,
    RiskParityPortfolioOptimizer,
    UnconstrainedMeanVariancePortfolioOptimizer,
    scale_and_clip,
)
from riskbook.errors import ConfigError, DataError, InfeasibleError, OptimizationError
from riskbook.optimize import max_sharpe, risk_contributions

SYMBOLS = ["AAPL", "JNJ", "KO", "XOM", "JPM"]

_CLARABEL_TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


@pytest.fixture(scope="module")
def returns(sp500) -> pd.DataFrame:
    """One year of daily simple returns of five bundled stocks (2019)."""
    prices = sp500.select(SYMBOLS).slice("2018-12-31", "2019-12-31").to_frame()
    return prices.pct_change().dropna()


def _scaled(R: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    S = R.cov().to_numpy()
    scale = float(np.abs(S).max())
    return S, R.mean().to_numpy(), scale


def cvxpy_min_variance(S, mu, lo, hi, target):
    n = len(S)
    w = cp.Variable(n)
    cons = [cp.sum(w) == 1, w >= lo, w <= hi]
    if target is not None:
        cons.append(mu @ w == target)
    scale = float(np.abs(S).max())
    prob = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(S / scale))), cons)
    prob.solve(solver="CLARABEL", **_CLARABEL_TIGHT)
    assert prob.status == "optimal"
    return np.asarray(w.value)


def cvxpy_max_sharpe(S, mu, lo, hi, rf):
    """Charnes-Cooper: min y'Sy s.t. (mu - rf)'y = 1, sum y = k, lo k <= y <= hi k, k >= 0."""
    n = len(S)
    y = cp.Variable(n)
    k = cp.Variable(nonneg=True)
    scale = float(np.abs(S).max())
    cons = [(mu - rf) @ y == 1, cp.sum(y) == k, y >= lo * k, y <= hi * k]
    prob = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(S / scale))), cons)
    prob.solve(solver="CLARABEL", **_CLARABEL_TIGHT)
    assert prob.status == "optimal"
    return np.asarray(y.value) / float(k.value)


def sharpe(w, S, mu, rf=0.0):
    return float((mu - rf) @ w / np.sqrt(w @ S @ w))


# --- MinimumVariance -------------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi"), [(-1.0, 1.0), (0.0, 1.0), (0.0, 0.3)])
def test_min_variance_matches_cvxpy_with_bounds_and_target(returns, lo, hi):
    S, mu, _ = _scaled(returns)
    # A target strictly inside the reachable range: between the two middle assets' means.
    target = float(np.sort(mu)[1] * 0.5 + np.sort(mu)[3] * 0.5)
    opt = MinimumVariancePortfolioOptimizer(lo, hi, target_return=target)
    w = opt.optimize(returns)
    ref = cvxpy_min_variance(S, mu, lo, hi, target)
    np.testing.assert_allclose(w, ref, atol=1e-6)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert mu @ w == pytest.approx(target, abs=1e-12)
    assert w.min() >= lo - 1e-12 and w.max() <= hi + 1e-12
    assert w @ S @ w <= ref @ S @ ref * (1 + 1e-8)
    assert opt.fallback_reason_ is None


def test_min_variance_without_target_matches_cvxpy(returns):
    S, mu, _ = _scaled(returns)
    w = MinimumVariancePortfolioOptimizer(0.0, 1.0, target_return=None).optimize(returns)
    np.testing.assert_allclose(w, cvxpy_min_variance(S, mu, 0.0, 1.0, None), atol=1e-6)


def test_min_variance_array_and_frame_agree_and_explicit_moments_are_used(returns):
    opt = MinimumVariancePortfolioOptimizer(0.0, 1.0, target_return=None)
    np.testing.assert_array_equal(opt.optimize(returns), opt.optimize(returns.to_numpy()))
    np.testing.assert_array_equal(opt.Optimize(returns), opt.optimize(returns))  # LEAN's name
    # An explicit covariance replaces the sample one: the identity gives equal weights.
    eye = np.eye(len(SYMBOLS))
    np.testing.assert_allclose(opt.optimize(returns, covariance=eye), np.full(5, 0.2))


def test_min_variance_default_target_is_infeasible_and_named(returns):
    with pytest.raises(InfeasibleError) as info:
        MinimumVariancePortfolioOptimizer().optimize(returns)
    assert info.value.parameter == "target_return"
    assert "reachable range" in str(info.value)


def test_lean_compat_infeasible_target_gives_equal_weight_and_records_why(returns):
    opt = MinimumVariancePortfolioOptimizer(lean_compat=True)
    w = opt.optimize(returns)
    np.testing.assert_array_equal(w, np.full(5, 0.2))
    assert opt.fallback_reason_ is not None and "target_return" in opt.fallback_reason_
    # The reason is reset by the next, successful call.
    opt.target_return = None
    opt.optimize(returns)
    assert opt.fallback_reason_ is None


def test_lean_compat_divides_long_short_weights_by_gross():
    """Hand case: two assets, mu = (1%, 2%), target 3% forces w = (-1, 2) (sum 1, mu'w = 3%)."""
    S = np.array([[0.04, 0.01], [0.01, 0.09]])
    mu = np.array([0.01, 0.02])
    right = MinimumVariancePortfolioOptimizer(-1, 2, target_return=0.03).optimize(None, mu, S)
    np.testing.assert_allclose(right, [-1.0, 2.0], atol=1e-12)
    lean = MinimumVariancePortfolioOptimizer(-1, 2, target_return=0.03, lean_compat=True)
    w = lean.optimize(None, mu, S)
    np.testing.assert_allclose(w, [-1.0 / 3.0, 2.0 / 3.0], atol=1e-12)
    assert np.abs(w).sum() == pytest.approx(1.0) and w.sum() == pytest.approx(1.0 / 3.0)
    # Long-only weights are unchanged by the division.
    lo = MinimumVariancePortfolioOptimizer(0, 1, target_return=0.015)
    lo_lean = MinimumVariancePortfolioOptimizer(0, 1, target_return=0.015, lean_compat=True)
    np.testing.assert_allclose(lo.optimize(None, mu, S), lo_lean.optimize(None, mu, S))


def test_min_variance_bad_configuration():
    with pytest.raises(ConfigError) as info:
        MinimumVariancePortfolioOptimizer(0.5, 0.1)
    assert info.value.parameter == "minimum_weight"
    with pytest.raises(ConfigError):
        MinimumVariancePortfolioOptimizer(target_return=float("nan"))


# --- MaximumSharpeRatio ----------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi", "rf"), [(-1.0, 1.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.4, 1e-4)])
def test_max_sharpe_matches_cvxpy_charnes_cooper(returns, lo, hi, rf):
    S, mu, _ = _scaled(returns)
    opt = MaximumSharpeRatioPortfolioOptimizer(lo, hi, risk_free_rate=rf)
    w = opt.optimize(returns)
    ref = cvxpy_max_sharpe(S, mu, lo, hi, rf)
    np.testing.assert_allclose(w, ref, atol=1e-6)
    np.testing.assert_allclose(
        w, max_sharpe(S, mu, risk_free=rf, bounds=(lo, hi)), atol=1e-12, rtol=0
    )
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    # No random feasible portfolio does better.
    rng = np.random.default_rng(1)
    for _ in range(200):
        x = rng.dirichlet(np.ones(5)) if lo == 0 else rng.uniform(-0.5, 0.5, 5)
        x = x / x.sum()
        if x.min() >= lo and x.max() <= hi:
            assert sharpe(x, S, mu, rf) <= sharpe(w, S, mu, rf) + 1e-12


def test_max_sharpe_is_not_min_variance(returns):
    """The defect of LEAN before PR #9560: it returned (near) minimum-variance weights."""
    S, mu, _ = _scaled(returns)
    w = MaximumSharpeRatioPortfolioOptimizer(0.0, 1.0).optimize(returns)
    mv = MinimumVariancePortfolioOptimizer(0.0, 1.0, target_return=None).optimize(returns)
    assert sharpe(w, S, mu) > sharpe(mv, S, mu) + 1e-3


def test_max_sharpe_without_positive_excess_return():
    S = np.array([[0.04, 0.006], [0.006, 0.01]])
    mu = np.array([-0.01, -0.02])
    with pytest.raises(OptimizationError) as info:
        MaximumSharpeRatioPortfolioOptimizer(0.0, 1.0).optimize(None, mu, S)
    assert info.value.parameter == "mu"
    lean = MaximumSharpeRatioPortfolioOptimizer(0.0, 1.0, lean_compat=True)
    np.testing.assert_array_equal(lean.optimize(None, mu, S), [0.5, 0.5])
    assert lean.fallback_reason_ is not None


# --- RiskParity ------------------------------------------------------------------------------


def lean_objective_by_scipy(S, b):
    """LEAN's program solved by a generic solver: min 1/2 x'Sx - b'log x, x > 0, w = x / sum x."""
    n = len(S)

    def f(x):
        return 0.5 * x @ S @ x - b @ np.log(x), S @ x - b / x

    x0 = np.full(n, 1.0 / n)
    res = minimize(
        f,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-12, None)] * n,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )
    return res.x / res.x.sum()


def test_risk_parity_equalises_risk_and_matches_the_lean_objective(returns):
    S, _, scale = _scaled(returns)
    w = RiskParityPortfolioOptimizer().optimize(returns)
    rc = np.asarray(risk_contributions(w, S))
    np.testing.assert_allclose(rc / rc.sum(), np.full(5, 0.2), atol=1e-9)
    np.testing.assert_allclose(w, lean_objective_by_scipy(S / scale, np.full(5, 0.2)), atol=1e-6)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


def test_risk_parity_budget_vector(returns):
    S, _, scale = _scaled(returns)
    b = np.array([0.4, 0.1, 0.1, 0.2, 0.2])
    w = RiskParityPortfolioOptimizer().optimize(returns, b)
    rc = np.asarray(risk_contributions(w, S))
    np.testing.assert_allclose(rc / rc.sum(), b, atol=1e-9)
    np.testing.assert_allclose(w, lean_objective_by_scipy(S / scale, b), atol=1e-6)
    # Any scale of the budget gives the same weights.
    np.testing.assert_allclose(RiskParityPortfolioOptimizer().optimize(returns, 7 * b), w)
    with pytest.raises(OptimizationError) as info:
        RiskParityPortfolioOptimizer().optimize(returns, -b)
    assert info.value.parameter == "expected_returns"


def test_risk_parity_bounds_renormalised_vs_lean_clipping():
    """Hand case: ERC (0.48, 0.24, 0.16, 0.12) with a 0.4 cap."""
    vol = np.array([0.1, 0.2, 0.3, 0.4])
    cov = 0.5 * np.outer(vol, vol) + 0.5 * np.diag(vol**2)
    erc = RiskParityPortfolioOptimizer().optimize(None, covariance=cov)
    np.testing.assert_allclose(erc, [0.48, 0.24, 0.16, 0.12], atol=1e-12)
    w = RiskParityPortfolioOptimizer(maximum_weight=0.4).optimize(None, covariance=cov)
    np.testing.assert_allclose(w, [0.4, 0.6 * 0.24 / 0.52, 0.6 * 0.16 / 0.52, 0.6 * 0.12 / 0.52])
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    lean = RiskParityPortfolioOptimizer(maximum_weight=0.4, lean_compat=True)
    w_lean = lean.optimize(None, covariance=cov)
    np.testing.assert_array_equal(w_lean, np.clip(erc, 1e-5, 0.4))
    assert w_lean.sum() == pytest.approx(0.92)
    # A floor that binds: 0.15 lifts the last asset, the others shrink in proportion.
    w = RiskParityPortfolioOptimizer(minimum_weight=0.15).optimize(None, covariance=cov)
    np.testing.assert_allclose(
        w, [0.85 * 0.48 / 0.88, 0.85 * 0.24 / 0.88, 0.85 * 0.16 / 0.88, 0.15]
    )
    # Bounds no portfolio summing to one can meet.
    with pytest.raises(InfeasibleError) as info:
        RiskParityPortfolioOptimizer(maximum_weight=0.2).optimize(None, covariance=cov)
    assert info.value.parameter == "maximum_weight"
    w_lean = RiskParityPortfolioOptimizer(maximum_weight=0.2, lean_compat=True).optimize(
        None, covariance=cov
    )
    np.testing.assert_allclose(w_lean, [0.2, 0.2, 0.16, 0.12])


def test_risk_parity_defaults_and_configuration():
    opt = RiskParityPortfolioOptimizer()
    assert opt.minimum_weight == 1e-5 and opt.maximum_weight == sys.float_info.max
    with pytest.raises(ConfigError):
        RiskParityPortfolioOptimizer(minimum_weight=-0.1)
    one = RiskParityPortfolioOptimizer().optimize(np.array([[0.01], [0.02], [-0.01]]))
    np.testing.assert_array_equal(one, [1.0])


@pytest.mark.parametrize(
    ("x", "lo", "hi"),
    [([5, 1, 1, 1], 0.0, 0.4), ([5, 3, 1, 0.01], 0.1, 0.35), ([1, 1, 1], 0.0, 1.0)],
)
def test_scale_and_clip_is_the_fixed_point_of_clip_and_rescale(x, lo, hi):
    w = scale_and_clip(x, lo, hi)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert w.min() >= lo - 1e-15 and w.max() <= hi + 1e-15
    # Reference: clip, then rescale the unclipped ones, until nothing moves.
    v = np.asarray(x, float) / np.sum(x)
    fixed = np.zeros(len(v), bool)
    for _ in range(50):
        v[~fixed] *= (1 - v[fixed].sum()) / v[~fixed].sum()
        low, high = (v < lo) & ~fixed, (v > hi) & ~fixed
        v[low], v[high] = lo, hi
        fixed |= low | high
    np.testing.assert_allclose(w, v, atol=1e-12)


# --- UnconstrainedMeanVariance ---------------------------------------------------------------


def test_unconstrained_is_the_closed_form_and_not_normalised(returns):
    S, mu, _ = _scaled(returns)
    w = UnconstrainedMeanVariancePortfolioOptimizer().optimize(returns)
    np.testing.assert_allclose(w, np.linalg.solve(S, mu), rtol=1e-10)
    np.testing.assert_allclose(w, mu @ np.linalg.inv(S), rtol=1e-8)  # LEAN's mu' S^-1
    assert abs(w.sum() - 1.0) > 1e-3
    with pytest.raises(OptimizationError):
        UnconstrainedMeanVariancePortfolioOptimizer().optimize(None, [0.1, 0.1], np.ones((2, 2)))


# --- Shared input checks ---------------------------------------------------------------------

ALL = [
    MinimumVariancePortfolioOptimizer(target_return=None),
    MaximumSharpeRatioPortfolioOptimizer(),
    RiskParityPortfolioOptimizer(),
    UnconstrainedMeanVariancePortfolioOptimizer(),
]


@pytest.mark.parametrize("opt", ALL, ids=lambda o: type(o).__name__)
def test_input_errors(opt, returns):
    assert isinstance(opt, PortfolioOptimizer)
    bad = returns.copy()
    bad.iloc[3, 2] = np.nan
    with pytest.raises(DataError) as info:
        opt.optimize(bad)
    assert info.value.symbol == SYMBOLS[2]
    with pytest.raises(DataError) as info:
        opt.optimize(returns.iloc[:1])
    assert info.value.parameter == "historical_returns"
    with pytest.raises(DataError):
        opt.optimize(np.zeros((10, 0)))
    with pytest.raises(DataError):
        opt.optimize(None)
    with pytest.raises(OptimizationError) as info:
        opt.optimize(returns, covariance=np.eye(3))
    assert info.value.parameter == "covariance"


def test_labelled_covariance_and_expected_returns_are_aligned(returns):
    S = returns.cov()
    mu = returns.mean()
    opt = MaximumSharpeRatioPortfolioOptimizer(0.0, 1.0)
    w = opt.optimize(returns, mu.iloc[::-1], S.iloc[::-1, ::-1])
    np.testing.assert_allclose(w, opt.optimize(returns), atol=1e-12)
    with pytest.raises(OptimizationError):
        opt.optimize(returns, covariance=S.rename(columns={"KO": "PEP"}, index={"KO": "PEP"}))
