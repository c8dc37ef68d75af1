"""min_variance: the exact QP against cvxpy, closed forms, properties, and typed bad input."""

from __future__ import annotations

from functools import cache

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.datasets import load_sp500, load_sp500_index
from riskbook.errors import InfeasibleError, OptimizationError
from riskbook.optimize import exposure_constraints, min_variance


@cache
def bundled_returns() -> pd.DataFrame:
    return load_sp500().returns().iloc[-1000:]


@cache
def bundled_cov() -> pd.DataFrame:
    return bundled_returns().cov()


def cvxpy_min_variance(S, lo=0.0, hi=1.0, budget=1.0, groups=(), A=None, b=None):
    """Reference: cvxpy + Clarabel with tight tolerances on the covariance scaled to O(1)."""
    n = len(S)
    scale = np.diag(S).max()
    w = cp.Variable(n)
    cons = [cp.sum(w) == budget]
    lo, hi = np.broadcast_to(lo, n), np.broadcast_to(hi, n)
    if np.isfinite(lo).any():
        cons.append(w[np.isfinite(lo)] >= lo[np.isfinite(lo)])
    if np.isfinite(hi).any():
        cons.append(w[np.isfinite(hi)] <= hi[np.isfinite(hi)])
    for members, g_lo, g_hi in groups:
        if g_lo is not None:
            cons.append(cp.sum(w[members]) >= g_lo)
        if g_hi is not None:
            cons.append(cp.sum(w[members]) <= g_hi)
    if A is not None:
        cons.append(A @ w <= b)
    prob = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(S / scale))), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert prob.status == "optimal"
    return w.value


def variance(w, S):
    w = np.asarray(w)
    return float(w @ np.asarray(S) @ w)


# --- the user's pain: clip-and-renormalise is not the long-only minimum --------------------------


def test_clipped_closed_form_is_not_the_optimum_and_the_qp_is():
    vol = np.array([0.20, 0.15, 0.06])
    corr = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.1], [0.1, 0.1, 1.0]])
    S = corr * np.outer(vol, vol)
    closed = np.linalg.solve(S, np.ones(3))
    closed /= closed.sum()
    assert closed[0] < 0  # the unconstrained minimum shorts A
    clipped = np.maximum(closed, 0.0)
    clipped /= clipped.sum()
    np.testing.assert_allclose(clipped, [0.0, 0.206418, 0.793582], atol=1e-6)
    assert variance(clipped, S) == pytest.approx(0.003521, abs=5e-7)

    w = min_variance(S)
    # Without A the problem is two assets: w_B = (s_C^2 - s_BC) / (s_B^2 + s_C^2 - 2 s_BC) = 1/9.
    np.testing.assert_allclose(w, [0.0, 1 / 9, 8 / 9], atol=1e-15)
    assert variance(w, S) == pytest.approx(0.0033, abs=1e-15)
    assert variance(w, S) < variance(clipped, S) - 2e-4
    # KKT: A's marginal variance exceeds the budget multiplier, so it stays out.
    g = S @ w
    assert g[0] > g[1] + 1e-4
    assert g[1] == pytest.approx(g[2], abs=1e-16)


# --- cvxpy as the oracle on the bundled data ------------------------------------------------------


@pytest.mark.parametrize(
    "bounds",
    [(0.0, 1.0), (0.0, 0.1), (-0.1, 0.4), ([0.0] * 10 + [0.02] * 10, 0.25)],
    ids=["long-only", "caps", "shorts", "floors"],
)
def test_bundled_data_matches_cvxpy(bounds):
    S = bundled_cov()
    w = min_variance(S, bounds=bounds)
    assert isinstance(w, pd.Series) and list(w.index) == list(S.columns)
    ref = cvxpy_min_variance(S.to_numpy(), np.asarray(bounds[0]), np.asarray(bounds[1]))
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)
    assert variance(w, S) <= variance(ref, S) * (1 + 1e-10)


def test_bundled_data_groups_and_rows_match_cvxpy():
    S = bundled_cov()
    syms = list(S.columns)
    groups = {
        "tech": (["AAPL", "AMD", "MSFT"], 0.15, 0.3),
        "staples": (["KO", "PEP", "PG", "WMT"], None, 0.25),
        "energy": (["CVX", "XOM", "RRC"], 0.1, None),
    }
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 20))
    b = np.array([0.2, 0.1, 0.0])
    w = min_variance(S, bounds=(0.0, 0.2), groups=groups, linear_constraints=(A, b))
    idx = {k: [syms.index(s) for s in v[0]] for k, v in groups.items()}
    ref = cvxpy_min_variance(
        S.to_numpy(),
        0.0,
        0.2,
        groups=[(idx[k], v[1], v[2]) for k, v in groups.items()],
        A=A,
        b=b,
    )
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)
    assert variance(w, S) <= variance(ref, S) * (1 + 1e-10)
    # The constraints hold, and some of them bind (otherwise the test would prove little).
    assert w[["AAPL", "AMD", "MSFT"]].sum() == pytest.approx(0.15, abs=1e-9)
    assert w[["KO", "PEP", "PG", "WMT"]].sum() == pytest.approx(0.25, abs=1e-9)
    assert (A @ w.to_numpy() <= b + 1e-9).all()


def test_factor_exposure_limit_is_enforced():
    """Seed 000 left ``factor_exposure_limit = 0.5`` as a placeholder; here it binds."""
    syms = ["AAPL", "JNJ", "WMT", "XOM"]
    R = bundled_returns()[syms]
    f = load_sp500_index().returns().iloc[-1000:].to_numpy()[:, 0]
    X = np.column_stack([np.ones(len(f)), f])
    betas = np.linalg.lstsq(X, R.to_numpy(), rcond=None)[0][1]  # OLS on the S&P 500 index
    np.testing.assert_allclose(betas, [1.215, 0.539, 0.491, 0.913], atol=1e-3)
    S = R.cov()

    free = min_variance(S)
    assert float(betas @ free) == pytest.approx(0.563, abs=1e-3)  # above the limit

    loadings = pd.DataFrame({"SP500": betas}, index=syms)
    A, b = exposure_constraints(loadings, lower=-0.5, upper=0.5)
    w = min_variance(S, linear_constraints=(A, b))
    assert float(betas @ w) == pytest.approx(0.5, abs=1e-12)  # the limit binds exactly
    ref = cvxpy_min_variance(S.to_numpy(), A=A.to_numpy(), b=b)
    np.testing.assert_allclose(w.to_numpy(), ref, atol=1e-6)
    # Only JNJ and WMT are held, so the binding limit and the budget pin both weights.
    w_jnj = (0.5 - betas[2]) / (betas[1] - betas[2])
    np.testing.assert_allclose(w.to_numpy(), [0.0, w_jnj, 1.0 - w_jnj, 0.0], atol=1e-12)
    assert variance(w, S) > variance(free, S)


# --- closed forms and random matrices -------------------------------------------------------------


def random_cov(n: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    k = rank or n + 3
    F = rng.standard_normal((n, k)) * rng.uniform(0.3, 2.0, k)
    S = F @ F.T / k * rng.uniform(1e-5, 1e-3)
    if rank is None:
        S += np.diag(rng.uniform(0.1, 1.0, n)) * np.mean(np.diag(S))
    return (S + S.T) / 2


def test_unbounded_is_the_closed_form():
    S = random_cov(15, np.random.default_rng(1))
    x = np.linalg.solve(S, np.ones(15))
    np.testing.assert_allclose(min_variance(S, bounds=None), x / x.sum(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(
        min_variance(S, bounds=None, budget=-0.5), -0.5 * x / x.sum(), atol=1e-10, rtol=0
    )


@pytest.mark.parametrize("seed", range(5))
def test_random_matrices_match_cvxpy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    S = random_cov(n, rng)
    hi = float(rng.uniform(1.5 / n, 0.5))
    w = min_variance(S, bounds=(0.0, hi))
    np.testing.assert_allclose(w, cvxpy_min_variance(S, 0.0, hi), atol=1e-6)


def test_singular_covariance_more_assets_than_observations():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 40)) * 0.01  # T = 12 < N = 40: rank 11
    S = np.cov(X.T)
    w = min_variance(S, bounds=(0.0, 0.1))
    ref = cvxpy_min_variance(S, 0.0, 0.1)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert ((w >= 0) & (w <= 0.1)).all()
    # Minimisers need not be unique; the minimum is.
    assert variance(w, S) <= variance(ref, S) + 1e-12 * np.diag(S).max()


def test_riskless_asset_takes_its_cap():
    S = np.zeros((3, 3))
    S[1:, 1:] = [[0.04, 0.01], [0.01, 0.09]]
    w = min_variance(S, bounds=(0.0, 0.6))
    assert w[0] == pytest.approx(0.6, abs=1e-12)
    rest = np.linalg.solve(S[1:, 1:], np.ones(2))
    np.testing.assert_allclose(w[1:], 0.4 * rest / rest.sum(), atol=1e-12)


def test_budget_other_than_one():
    S = random_cov(8, np.random.default_rng(4))
    w = min_variance(S, bounds=(0.0, 1.0), budget=0.6)
    np.testing.assert_allclose(w, cvxpy_min_variance(S, 0.0, 1.0, budget=0.6), atol=1e-6)
    np.testing.assert_allclose(min_variance(S, bounds=(-1.0, 1.0), budget=0.0), 0.0, atol=1e-15)


def test_array_in_array_out_and_series_bounds_aligned():
    S = bundled_cov()
    w_arr = min_variance(S.to_numpy())
    assert isinstance(w_arr, np.ndarray)
    np.testing.assert_allclose(w_arr, min_variance(S).to_numpy(), atol=1e-15)
    caps = pd.Series(0.3, index=S.columns[::-1])
    caps["JNJ"] = 0.05
    w = min_variance(S, bounds=(0.0, caps))
    assert w["JNJ"] == pytest.approx(0.05, abs=1e-12)


# --- properties -----------------------------------------------------------------------------------


@st.composite
def psd_and_bounds(draw):
    n = draw(st.integers(2, 25))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rank = draw(st.one_of(st.none(), st.integers(1, n)))
    S = random_cov(n, rng, rank)
    lo = -rng.uniform(0.0, 0.2, n) * draw(st.booleans())
    hi = rng.uniform(1.0 / n, 0.6, n)
    budget = 1.0
    if lo.sum() > budget or hi.sum() < budget:
        hi = hi * 1.2 / hi.sum()
    hi = np.maximum(hi, lo)
    return S, lo, hi


@settings(max_examples=60, deadline=None)
@given(psd_and_bounds())
def test_weights_are_finite_feasible_and_sum_to_the_budget(case):
    S, lo, hi = case
    w = min_variance(S, bounds=(lo, hi))
    assert np.isfinite(w).all()
    assert abs(w.sum() - 1.0) <= 1e-8
    assert (w >= lo - 1e-9).all() and (w <= hi + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**32 - 1), st.one_of(st.none(), st.integers(1, 30)))
def test_no_long_only_portfolio_has_lower_variance(n, seed, rank):
    rng = np.random.default_rng(seed)
    S = random_cov(n, rng, None if rank is None else min(rank, n))
    w = min_variance(S)
    v = variance(w, S)
    tol = 1e-12 * np.diag(S).max()
    assert v <= variance(np.full(n, 1.0 / n), S) + tol
    inv_var = 1.0 / np.maximum(np.diag(S), 1e-300)
    assert v <= variance(inv_var / inv_var.sum(), S) + tol
    for candidate in rng.dirichlet(np.full(n, 0.5), size=50):
        assert v <= variance(candidate, S) + tol


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cov", "symbol"),
    [
        (np.ones((2, 3)), None),
        (np.array([[0.04, 0.01], [0.02, 0.09]]), "asset 0"),
        (np.array([[0.04, np.nan], [np.nan, 0.09]]), "asset 0"),
        (np.array([[-0.04, 0.0], [0.0, 0.09]]), "asset 0"),
    ],
    ids=["non-square", "asymmetric", "nan", "negative-variance"],
)
def test_bad_covariance(cov, symbol):
    with pytest.raises(OptimizationError) as err:
        min_variance(cov)
    assert err.value.parameter == "cov"
    assert err.value.symbol == symbol


def test_bad_bounds_and_budget():
    S = random_cov(4, np.random.default_rng(0))
    with pytest.raises(OptimizationError) as err:
        min_variance(S, bounds=(0.0, [0.5, 0.5, 0.5]))
    assert err.value.parameter == "bounds"
    with pytest.raises(InfeasibleError) as err:
        min_variance(S, bounds=([0.0, 0.0, 0.6, 0.0], 0.5))
    assert err.value.parameter == "bounds" and err.value.symbol == "asset 2"
    with pytest.raises(InfeasibleError, match=r"upper bounds sum to 0\.8") as err:
        min_variance(S, bounds=(0.0, 0.2))
    assert err.value.parameter == "bounds"
    with pytest.raises(InfeasibleError, match=r"lower bounds sum to 1\.2") as err:
        min_variance(S, bounds=(0.3, 1.0))
    assert err.value.parameter == "bounds"
    with pytest.raises(OptimizationError) as err:
        min_variance(S, budget=float("nan"))
    assert err.value.parameter == "budget"


def test_infeasible_groups_and_rows_are_named():
    S = bundled_cov()
    with pytest.raises(InfeasibleError) as err:
        min_variance(S, bounds=(0.0, 0.1), groups={"tech": (["AAPL", "AMD", "MSFT"], 0.4, None)})
    assert err.value.parameter == "groups" and "tech" in str(err.value)
    with pytest.raises(InfeasibleError) as err:  # each holds alone, not together
        min_variance(
            S,
            groups={
                "a": (list(S.columns[:10]), 0.6, None),
                "b": (list(S.columns[10:]), 0.6, None),
            },
        )
    assert err.value.parameter == "groups"
    with pytest.raises(OptimizationError) as err:
        min_variance(S, groups={"x": (["NOPE"], 0.1, None)})
    assert err.value.parameter == "groups" and err.value.symbol == "NOPE"
    with pytest.raises(OptimizationError) as err:
        min_variance(S, linear_constraints=(np.ones((2, 19)), [1.0, 1.0]))
    assert err.value.parameter == "linear_constraints"
