"""The QP core: exactness (KKT), agreement with cvxpy, fallbacks, and failures that are typed."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from riskbook.errors import InfeasibleError, OptimizationError
from riskbook.optimize import qp as qp_module
from riskbook.optimize.constraints import build_constraints
from riskbook.optimize.qp import QuadraticProgram, kkt_report, solve_portfolio, solve_qp


def random_cov(n: int, seed: int, *, rank: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = rank or n + 5
    F = rng.standard_normal((n, k)) * rng.uniform(0.5, 2.0, k)
    S = F @ F.T / k * 1e-4
    if rank is None:
        S += np.diag(rng.uniform(0.2, 1.0, n)) * 1e-4
    return (S + S.T) / 2


def cvxpy_solve(qp: QuadraticProgram) -> tuple[np.ndarray, float]:
    """Reference solution with tight Clarabel tolerances, on the problem scaled to O(1)."""
    scale = max(np.abs(np.diag(qp.P)).max(), np.abs(qp.q).max())
    x = cp.Variable(qp.n)
    cons = []
    if len(qp.e):
        cons.append(qp.E @ x == qp.e)
    if len(qp.h):
        cons.append(qp.G @ x <= qp.h)
    fin_lo, fin_hi = np.isfinite(qp.lo), np.isfinite(qp.hi)
    if fin_lo.any():
        cons.append(x[fin_lo] >= qp.lo[fin_lo])
    if fin_hi.any():
        cons.append(x[fin_hi] <= qp.hi[fin_hi])
    obj = 0.5 * cp.quad_form(x, cp.psd_wrap(qp.P / scale)) + (qp.q / scale) @ x
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert prob.status == "optimal"
    return x.value, prob.value * scale


def box_qp(S, lo, hi, budget=1.0, q=None, E_extra=None, e_extra=None, G=None, h=None):
    n = len(S)
    E = np.ones((1, n)) if E_extra is None else np.vstack([np.ones((1, n)), E_extra])
    e = [budget] if e_extra is None else [budget, *e_extra]
    return QuadraticProgram.build(
        S,
        np.zeros(n) if q is None else q,
        np.broadcast_to(lo, n),
        np.broadcast_to(hi, n),
        E,
        e,
        G,
        h,
    )


def assert_exact(sol):
    """KKT residuals at machine precision, relative to the problem's scale."""
    assert sol.kkt.primal <= 1e-12
    assert sol.kkt.stationarity <= 1e-12
    assert sol.kkt.gap <= 1e-12
    assert sol.kkt.dual >= 0.0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    ("lo", "hi"), [(0.0, 1.0), (0.0, 0.15), (-0.2, 0.4), (-np.inf, 0.3), (0.0, np.inf)]
)
def test_active_set_matches_cvxpy(seed, lo, hi):
    S = random_cov(12, seed)
    qp = box_qp(S, lo, hi)
    sol = solve_qp(qp)
    assert sol.method == "active-set"
    assert_exact(sol)
    x_ref, f_ref = cvxpy_solve(qp)
    np.testing.assert_allclose(sol.x, x_ref, atol=1e-6)
    assert sol.objective <= f_ref * (1 + 1e-9)


def test_two_equalities_and_a_linear_term():
    rng = np.random.default_rng(7)
    S = random_cov(15, 7)
    mu = rng.normal(5e-4, 3e-4, 15)
    qp = box_qp(S, 0.0, 0.3, q=-mu * 0.1, E_extra=mu[None, :], e_extra=[np.quantile(mu, 0.7)])
    sol = solve_qp(qp)
    assert_exact(sol)
    x_ref, _ = cvxpy_solve(qp)
    np.testing.assert_allclose(sol.x, x_ref, atol=1e-6)


def rows_problem() -> tuple[QuadraticProgram, np.ndarray, np.ndarray]:
    S = random_cov(10, 3)
    G = np.random.default_rng(3).standard_normal((3, 10))
    h = np.array([0.05, 0.0, 0.1])
    return box_qp(S, 0.0, 0.4, G=G, h=h), G, h


def test_rows_are_solved_exactly_by_the_active_set():
    qp, G, h = rows_problem()
    sol = solve_qp(qp)
    assert sol.method == "active-set"
    assert_exact(sol)
    assert (G @ sol.x <= h + 1e-12).all()
    assert (sol.z > 0).sum() >= 1  # some rows bind
    x_ref, _ = cvxpy_solve(qp)
    np.testing.assert_allclose(sol.x, x_ref, atol=1e-6)


def test_rows_through_clarabel_are_polished_to_exact(monkeypatch):
    qp, _, _ = rows_problem()
    expected = solve_qp(qp).x
    original = qp_module._active_set
    calls = []

    def fail_first(*args):
        calls.append(1)
        return None if len(calls) == 1 else original(*args)

    monkeypatch.setattr(qp_module, "_active_set", fail_first)
    sol = solve_qp(qp)
    assert sol.method == "clarabel+polish"
    assert_exact(sol)
    np.testing.assert_allclose(sol.x, expected, atol=1e-13)


def test_a_wrong_point_fails_verification():
    qp = box_qp(random_cov(8, 1), 0.0, 1.0)
    sol = solve_qp(qp)
    assert kkt_report(qp, sol.x, sol.nu, sol.z).passes(stationarity=1e-9, gap=1e-10)
    # Move weight between two assets: still feasible, but no longer optimal.
    x = sol.x.copy()
    i, j = np.argsort(-x)[:2]
    x[i] -= 0.01
    x[j] += 0.01
    assert not kkt_report(qp, x, sol.nu, sol.z).passes(stationarity=1e-9, gap=1e-10)
    # Put a zero-weight asset in with the same multipliers: caught by the gap or stationarity.
    x = sol.x.copy()
    k = int(np.argmin(x))
    x[k] += 0.01
    x[int(np.argmax(x))] -= 0.01
    assert not kkt_report(qp, x, sol.nu, sol.z).passes(stationarity=1e-9, gap=1e-10)


def test_singular_covariance_is_solved_without_a_ridge():
    S = random_cov(30, 5, rank=8)  # rank 8: many minimisers may exist
    assert np.linalg.matrix_rank(S) == 8
    qp = box_qp(S, 0.0, 0.2)
    sol = solve_qp(qp)
    assert sol.kkt.passes(stationarity=1e-9, gap=1e-10)
    assert sol.x.sum() == pytest.approx(1.0, abs=1e-12)
    _, f_ref = cvxpy_solve(qp)
    assert sol.objective <= f_ref + 1e-10 * np.abs(np.diag(S)).max()


def test_singular_with_rows():
    S = random_cov(20, 6, rank=5)
    G = np.zeros((1, 20))
    G[0, :5] = 1.0
    qp = box_qp(S, 0.0, 0.3, G=G, h=np.array([0.2]))
    sol = solve_qp(qp)
    assert sol.kkt.passes(stationarity=1e-9, gap=1e-10)
    _, f_ref = cvxpy_solve(qp)
    assert sol.objective <= f_ref + 1e-10 * np.abs(np.diag(S)).max()


def test_every_variable_on_a_bound():
    qp = box_qp(random_cov(4, 2), 0.0, 0.25)
    sol = solve_qp(qp)
    np.testing.assert_allclose(sol.x, [0.25] * 4, atol=1e-15)
    assert sol.kkt.passes(stationarity=1e-12, gap=1e-12)


def test_fixed_variables():
    S = random_cov(5, 4)
    lo = np.array([0.1, 0.0, 0.0, 0.0, 0.0])
    hi = np.array([0.1, 1.0, 1.0, 1.0, 1.0])
    sol = solve_qp(box_qp(S, lo, hi))
    assert sol.x[0] == 0.1
    x_ref, _ = cvxpy_solve(box_qp(S, lo, hi))
    np.testing.assert_allclose(sol.x, x_ref, atol=1e-6)


def test_warm_start_reaches_the_same_answer_faster():
    S = random_cov(60, 8)
    cold = solve_qp(box_qp(S, 0.0, 1.0))
    warm = solve_qp(box_qp(S, 0.0, 1.0), warm_state=cold.state)
    np.testing.assert_allclose(warm.x, cold.x, atol=1e-14)
    assert warm.iterations == 1 < cold.iterations


def test_clarabel_fallback_when_the_active_set_gives_up(monkeypatch):
    S = random_cov(12, 9)
    expected = solve_qp(box_qp(S, 0.0, 0.2)).x
    original = qp_module._active_set
    calls = []

    def fail_first(*args):
        calls.append(1)
        return None if len(calls) == 1 else original(*args)

    monkeypatch.setattr(qp_module, "_active_set", fail_first)
    monkeypatch.setattr(qp_module, "_proximal_polish", lambda *args: None)
    sol = solve_qp(box_qp(S, 0.0, 0.2))
    assert sol.method == "clarabel+polish"
    np.testing.assert_allclose(sol.x, expected, atol=1e-13)


def test_unpolished_clarabel_answer_is_verified(monkeypatch):
    S = random_cov(12, 10)
    expected = solve_qp(box_qp(S, 0.0, 0.2)).x
    monkeypatch.setattr(qp_module, "_active_set", lambda *args: None)
    monkeypatch.setattr(qp_module, "_proximal_polish", lambda *args: None)
    sol = solve_qp(box_qp(S, 0.0, 0.2))
    assert sol.method == "clarabel"
    assert sol.kkt.passes(stationarity=1e-7, gap=1e-8)
    np.testing.assert_allclose(sol.x, expected, atol=1e-6)


def test_infeasible_rows_raise_infeasible_error():
    G = np.array([[1.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    qp = box_qp(random_cov(3, 1), 0.0, 1.0, G=G, h=np.array([0.3, -0.2, -0.2]))
    with pytest.raises(InfeasibleError):
        solve_qp(qp)


def test_unbounded_objective_is_an_error():
    qp = QuadraticProgram.build(
        np.zeros((2, 2)), np.array([1.0, -1.0]), [-np.inf] * 2, [np.inf] * 2
    )
    with pytest.raises(OptimizationError, match="unbounded"):
        solve_qp(qp)


def test_solve_portfolio_names_the_family_at_fault():
    S = random_cov(4, 3)
    cons = build_constraints(
        4, None, bounds=(0.0, 0.4), groups={"ab": ([0, 1], 0.7, None), "cd": ([2, 3], 0.7, None)}
    )
    with pytest.raises(InfeasibleError) as err:
        solve_portfolio(S, np.zeros(4), cons)
    assert err.value.parameter == "groups"


def test_solution_in_original_units():
    """Scaling the covariance scales the objective and multipliers, not the weights."""
    S = random_cov(10, 11)
    a = solve_qp(box_qp(S, 0.0, 0.3))
    b = solve_qp(box_qp(S * 1e6, 0.0, 0.3))
    np.testing.assert_allclose(a.x, b.x, atol=1e-13)
    assert b.objective == pytest.approx(a.objective * 1e6, rel=1e-12)
    np.testing.assert_allclose(b.nu, a.nu * 1e6, rtol=1e-10)
