"""mean_variance, efficient_frontier, max_sharpe, unconstrained_mean_variance."""

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
from riskbook.optimize import (
    efficient_frontier,
    max_sharpe,
    mean_variance,
    min_variance,
    unconstrained_mean_variance,
)


@cache
def bundled() -> tuple[pd.DataFrame, pd.Series]:
    R = load_sp500().returns().iloc[-1000:]
    return R.cov(), R.mean()


def random_problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, n + 3))
    S = (F @ F.T / (n + 3) + np.diag(rng.uniform(0.2, 1.0, n))) * 1e-4
    S = (S + S.T) / 2
    mu = rng.normal(4e-4, 4e-4, n)
    return S, mu


def _solve(objective, cons, w):
    prob = cp.Problem(objective, cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert prob.status == "optimal"
    return w.value


def _box(w, lo, hi):
    out = []
    if lo is not None:
        out.append(w >= lo)
    if hi is not None:
        out.append(w <= hi)
    return out


def cvxpy_target(S, mu, target, lo=0.0, hi=1.0, groups=()):
    scale = np.diag(S).max()
    w = cp.Variable(len(mu))
    cons = [cp.sum(w) == 1, mu @ w == target, *_box(w, lo, hi)]
    cons += [cp.sum(w[m]) <= cap for m, cap in groups]
    return _solve(cp.Minimize(cp.quad_form(w, cp.psd_wrap(S / scale))), cons, w)


def cvxpy_utility(S, mu, delta, lo=0.0, hi=1.0):
    scale = np.diag(S).max()
    w = cp.Variable(len(mu))
    obj = cp.Minimize((delta / 2 * cp.quad_form(w, cp.psd_wrap(S)) - mu @ w) / scale)
    return _solve(obj, [cp.sum(w) == 1, *_box(w, lo, hi)], w)


def cvxpy_max_sharpe(S, mu, rf=0.0, lo=0.0, hi=1.0):
    """The homogenised QP written independently in cvxpy: y = k w, (mu - rf)'y = 1, k >= 0."""
    n = len(mu)
    scale = np.diag(S).max()
    y, k = cp.Variable(n), cp.Variable(nonneg=True)
    cons = [(mu - rf) @ y == 1, cp.sum(y) == k]
    if lo is not None:
        cons.append(y >= lo * k)
    if hi is not None:
        cons.append(y <= hi * k)
    prob = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(S / scale))), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert prob.status == "optimal"
    return y.value / k.value


def sharpe(w, S, mu, rf=0.0):
    w = np.asarray(w)
    return float((np.asarray(mu) - rf) @ w / np.sqrt(w @ np.asarray(S) @ w))


# --- Merton's closed form -------------------------------------------------------------------------


def merton(S, mu, t, budget=1.0):
    """w(t) = S^-1 (lam 1 + gam mu), from the Lagrangian with A, B, C as in seed 004."""
    ones = np.ones(len(mu))
    Si1, Simu = np.linalg.solve(S, ones), np.linalg.solve(S, mu)
    A, B, C = ones @ Si1, ones @ Simu, mu @ Simu
    D = A * C - B**2
    lam = (C * budget - B * t) / D
    gam = (A * t - B * budget) / D
    return lam * Si1 + gam * Simu, (A * t**2 - 2 * B * budget * t + C * budget**2) / D, B / A


def test_unbounded_target_return_is_the_merton_closed_form():
    S, mu = bundled()
    S, mu = S.to_numpy(), mu.to_numpy()
    for t in (0.0, 5e-4, 1.5e-3, 4e-3):
        w_ref, var_ref, _ = merton(S, mu, t)
        w = mean_variance(S, mu, target_return=t, bounds=None)
        np.testing.assert_allclose(w, w_ref, atol=1e-10, rtol=0)
        assert w @ S @ w == pytest.approx(var_ref, rel=1e-10)
    w_ref, _, _ = merton(S, mu, 1e-3, budget=0.5)
    w = mean_variance(S, mu, target_return=1e-3, bounds=None, budget=0.5)
    np.testing.assert_allclose(w, w_ref, atol=1e-10, rtol=0)


def test_unbounded_frontier_is_the_merton_hyperbola():
    S, mu = random_problem(12, 0)
    ef = efficient_frontier(S, mu, n_points=25, bounds=None)
    _, _, t_gmv = merton(S, mu, 0.0)
    assert ef.returns[0] == pytest.approx(t_gmv, abs=1e-15)
    assert ef.returns[-1] == pytest.approx(mu.max(), abs=1e-15)
    for t, vol, w in zip(ef.returns, ef.volatilities, ef.weights, strict=True):
        w_ref, var_ref, _ = merton(S, mu, t)
        np.testing.assert_allclose(w, w_ref, atol=1e-10, rtol=0)
        assert vol**2 == pytest.approx(var_ref, rel=1e-10)
    # The first point is the global minimum-variance portfolio.
    np.testing.assert_allclose(ef.weights[0], min_variance(S, bounds=None), atol=1e-10)


# --- cvxpy as the oracle --------------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (0.0, 0.15), (-0.1, 0.3)])
def test_target_return_matches_cvxpy_on_bundled_data(lo, hi):
    S, mu = bundled()
    target = float(np.quantile(mu, 0.75))
    w = mean_variance(S, mu, target_return=target, bounds=(lo, hi))
    assert float(mu @ w) == pytest.approx(target, abs=1e-15)
    ref = cvxpy_target(S.to_numpy(), mu.to_numpy(), target, lo, hi)
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)


def test_target_return_with_groups_matches_cvxpy():
    S, mu = bundled()
    syms = list(S.columns)
    tech = ["AAPL", "AMD", "MSFT"]
    target = float(np.quantile(mu, 0.8))
    w = mean_variance(S, mu, target_return=target, groups={"tech": (tech, None, 0.2)})
    ref = cvxpy_target(
        S.to_numpy(), mu.to_numpy(), target, groups=[([syms.index(s) for s in tech], 0.2)]
    )
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)
    assert w[tech].sum() == pytest.approx(0.2, abs=1e-9)


@pytest.mark.parametrize(
    ("delta", "lo", "hi"), [(1.0, 0.0, 1.0), (10.0, 0.0, 0.2), (5.0, -0.2, 0.5)]
)
def test_risk_aversion_matches_cvxpy(delta, lo, hi):
    S, mu = bundled()
    w = mean_variance(S, mu, risk_aversion=delta, bounds=(lo, hi))
    ref = cvxpy_utility(S.to_numpy(), mu.to_numpy(), delta, lo, hi)
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)


def test_risk_aversion_unbounded_closed_form():
    S, mu = random_problem(10, 3)
    delta = 4.0
    # max mu'w - delta/2 w'Sw s.t. 1'w = 1: w = S^-1 (mu - nu 1) / delta with the budget fixing nu.
    Si1, Simu = np.linalg.solve(S, np.ones(10)), np.linalg.solve(S, mu)
    nu = (Simu.sum() - delta) / Si1.sum()
    w_ref = (Simu - nu * Si1) / delta
    np.testing.assert_allclose(
        mean_variance(S, mu, risk_aversion=delta, bounds=None), w_ref, atol=1e-10
    )


# --- the bounded frontier -------------------------------------------------------------------------


def test_bounded_frontier_ends_and_points():
    S, mu = bundled()
    ef = efficient_frontier(S, mu, n_points=15)
    frame = ef.to_frame()
    assert list(frame.columns[:3]) == ["return", "volatility", "AAPL"]
    # First point: the long-only minimum-variance portfolio; last: all in the top-mu asset.
    np.testing.assert_allclose(ef.weights[0], min_variance(S).to_numpy(), atol=1e-15)
    top = int(np.argmax(mu.to_numpy()))
    np.testing.assert_allclose(ef.weights[-1], np.eye(20)[top], atol=1e-15)
    np.testing.assert_allclose(ef.returns, np.linspace(ef.returns[0], mu.max(), 15), rtol=1e-12)
    assert (np.diff(ef.volatilities) > 0).all()
    for i in (3, 9):
        ref = cvxpy_target(S.to_numpy(), mu.to_numpy(), ef.returns[i])
        np.testing.assert_allclose(ef.weights[i], ref, atol=1e-6)


def test_frontier_top_with_caps_and_ties():
    S, _ = random_problem(6, 5)
    mu = np.array([0.03, 0.03, 0.03, 0.01, 0.02, 0.0])  # three tied best assets
    ef = efficient_frontier(S, mu, n_points=4, bounds=(0.0, 0.5))
    top = ef.weights[-1]
    assert ef.returns[-1] == pytest.approx(0.03, abs=1e-15)
    # The tied assets share the whole budget with minimum variance among them.
    sub = min_variance(S[:3, :3], bounds=(0.0, 0.5))
    np.testing.assert_allclose(top, [*sub, 0.0, 0.0, 0.0], atol=1e-12)


def test_frontier_with_groups_reaches_the_lp_top():
    S, mu = bundled()
    tech = ["AAPL", "AMD", "MSFT"]
    ef = efficient_frontier(
        S, mu, n_points=5, bounds=(0.0, 0.3), groups={"tech": (tech, None, 0.25)}
    )
    top = pd.Series(ef.weights[-1], index=S.columns)
    assert top[tech].sum() == pytest.approx(0.25, abs=1e-9)
    assert (top <= 0.3 + 1e-12).all() and (top >= 0).all()
    # The top is the best return reachable: an LP optimum (cvxpy) has the same return.
    w = cp.Variable(20)
    idx = [list(S.columns).index(s) for s in tech]
    lp = cp.Problem(
        cp.Maximize(mu.to_numpy() @ w), [cp.sum(w) == 1, w >= 0, w <= 0.3, cp.sum(w[idx]) <= 0.25]
    )
    lp.solve(solver="CLARABEL", tol_gap_abs=1e-14, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert ef.returns[-1] == pytest.approx(lp.value, rel=1e-9)


def test_frontier_explicit_targets_and_labels():
    S, mu = bundled()
    ef = efficient_frontier(S, mu, target_returns=[8e-4, 1e-3])
    assert ef.symbols == tuple(S.columns)
    np.testing.assert_allclose(ef.weights @ mu.to_numpy(), [8e-4, 1e-3], atol=1e-15)


# --- max Sharpe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rf", "lo", "hi"),
    [(0.0, 0.0, 1.0), (2e-4, 0.0, 1.0), (0.0, 0.0, 0.2), (0.0, -0.2, 0.5), (1e-4, 0.02, 0.3)],
)
def test_max_sharpe_matches_cvxpy(rf, lo, hi):
    S, mu = bundled()
    w = max_sharpe(S, mu, risk_free=rf, bounds=(lo, hi))
    ref = cvxpy_max_sharpe(S.to_numpy(), mu.to_numpy(), rf, lo, hi)
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)
    assert sharpe(w, S, mu, rf) >= sharpe(ref, S, mu, rf) - 1e-10
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


def test_max_sharpe_unbounded_is_the_tangency_portfolio():
    S, mu = bundled()
    S, mu = S.to_numpy(), mu.to_numpy()
    x = np.linalg.solve(S, mu - 1e-4)
    np.testing.assert_allclose(
        max_sharpe(S, mu, risk_free=1e-4, bounds=None), x / x.sum(), atol=1e-10
    )


def test_max_sharpe_beats_every_frontier_point():
    S, mu = bundled()
    best = sharpe(max_sharpe(S, mu), S, mu)
    ef = efficient_frontier(S, mu, n_points=40)
    assert best >= max(sharpe(w, S, mu) for w in ef.weights) - 1e-12


def test_max_sharpe_needs_an_asset_above_the_risk_free_rate():
    S, mu = random_problem(5, 1)
    with pytest.raises(OptimizationError) as err:
        max_sharpe(S, mu, risk_free=mu.max() + 1e-4)
    assert err.value.parameter == "mu"
    with pytest.raises(OptimizationError) as err:
        max_sharpe(S, -np.abs(mu))
    assert err.value.parameter == "mu"
    with pytest.raises(OptimizationError) as err:
        max_sharpe(S, mu, budget=0.0, bounds=(-1, 1))
    assert err.value.parameter == "budget"


def test_max_sharpe_not_attained_unbounded():
    S = np.diag([0.04, 0.01])
    mu = np.array([-0.05, -0.01])  # tangency has a negative net position
    with pytest.raises(OptimizationError) as err:
        max_sharpe(S, mu, bounds=None)
    assert err.value.parameter in ("mu", "bounds")


# --- LEAN parity ----------------------------------------------------------------------------------


def test_unconstrained_mean_variance_is_lean_inverse_times_mu():
    S, mu = bundled()
    w = unconstrained_mean_variance(S, mu)
    np.testing.assert_allclose(
        w.to_numpy(), np.linalg.solve(S.to_numpy(), mu.to_numpy()), rtol=1e-12
    )
    assert abs(w.sum() - 1.0) > 0.1  # not normalised, as in LEAN
    singular = np.array([[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(OptimizationError) as err:
        unconstrained_mean_variance(singular, [0.1, 0.2])
    assert err.value.parameter == "cov"


# --- bad input ------------------------------------------------------------------------------------


def test_exactly_one_of_target_and_risk_aversion():
    S, mu = random_problem(3, 0)
    for kwargs in ({}, {"target_return": 1e-4, "risk_aversion": 1.0}):
        with pytest.raises(OptimizationError) as err:
            mean_variance(S, mu, **kwargs)
        assert err.value.parameter == "target_return/risk_aversion"
        assert "target_return" in str(err.value) and "risk_aversion" in str(err.value)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(OptimizationError) as err:
            mean_variance(S, mu, risk_aversion=bad)
        assert err.value.parameter == "risk_aversion"


def test_unreachable_target_names_the_range():
    S, mu = random_problem(4, 2)
    with pytest.raises(InfeasibleError) as err:
        mean_variance(S, mu, target_return=mu.max() + 1e-4)
    assert err.value.parameter == "target_return"
    assert err.value.context["reachable"] == f"[{mu.min():.6g}, {mu.max():.6g}]"
    # With caps the top of the range is lower than the best asset.
    with pytest.raises(InfeasibleError) as err:
        mean_variance(S, mu, target_return=mu.max() - 1e-6, bounds=(0, 0.5))
    assert err.value.parameter == "target_return"
    # A group making the target unreachable is found by the LP diagnosis.
    top = int(np.argmax(mu))
    with pytest.raises(InfeasibleError) as err:
        mean_variance(S, mu, target_return=mu.max() - 1e-6, groups={"t": ([top], None, 0.5)})
    assert err.value.parameter == "target_return"
    # Unbounded, but every asset has the same mean.
    with pytest.raises(InfeasibleError) as err:
        mean_variance(S, np.full(4, 1e-3), target_return=2e-3, bounds=None)
    assert err.value.parameter == "target_return"


def test_mu_length_and_labels():
    S, mu = bundled()
    with pytest.raises(OptimizationError) as err:
        mean_variance(S.to_numpy(), mu.to_numpy()[:5], risk_aversion=1.0)
    assert err.value.parameter == "mu"
    with pytest.raises(OptimizationError) as err:
        mean_variance(S, mu.drop("AAPL"), risk_aversion=1.0)
    assert err.value.parameter == "mu" and err.value.symbol == "AAPL"
    # A Series is aligned by symbol, not position.
    w = mean_variance(S, mu[::-1], risk_aversion=2.0)
    np.testing.assert_allclose(w.to_numpy(), mean_variance(S, mu, risk_aversion=2.0).to_numpy())
    with pytest.raises(OptimizationError) as err:
        efficient_frontier(S, mu, n_points=0)
    assert err.value.parameter == "n_points"


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 20), st.integers(0, 2**32 - 1), st.floats(0.5, 50.0))
def test_utility_is_not_beaten_by_feasible_portfolios(n, seed, delta):
    S, mu = random_problem(n, seed)
    cap = max(1.5 / n, 0.3)
    w = mean_variance(S, mu, risk_aversion=delta, bounds=(0.0, cap))
    assert abs(w.sum() - 1.0) <= 1e-8 and (w >= -1e-9).all() and (w <= cap + 1e-9).all()

    def utility(x):
        return mu @ x - delta / 2 * x @ S @ x

    rng = np.random.default_rng(seed)
    best = utility(w)
    for x in rng.dirichlet(np.ones(n), size=30):
        if x.max() <= cap:
            assert best >= utility(x) - 1e-15
