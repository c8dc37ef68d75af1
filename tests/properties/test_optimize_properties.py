"""Every solver, on random covariances, bounds and budgets: finite weights that meet the budget and
the bounds to 1e-9, or a typed :class:`~riskbook.errors.RiskbookError`, never NaN or a bare crash.

Example counts (``dev`` profile; ``ci`` a third, ``thorough`` x5): 60 per constrained solver,
40 per unconstrained solver, 40 for the fallback ladder.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskbook import optimize as opt
from riskbook.errors import RiskbookError

from .conftest import prop

TOL = 1e-9


@st.composite
def covariances(draw, min_n: int = 2, max_n: int = 8):
    """PSD covariances: full rank, near-singular (T < N) and wildly scaled, from a seed."""
    n = draw(st.integers(min_n, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(["factor", "sample", "rank_deficient", "diagonal"]))
    rng = np.random.default_rng(seed)
    vols = np.exp(rng.uniform(np.log(0.02), np.log(1.0), n)) / np.sqrt(252)
    if kind == "factor":
        b = rng.normal(size=(n, 2))
        c = b @ b.T + np.diag(rng.uniform(0.1, 1.0, n))
    elif kind == "sample":
        x = rng.standard_t(4, size=(n + 30, n))
        c = np.cov(x, rowvar=False)
    elif kind == "rank_deficient":
        x = rng.normal(size=(max(2, n - 1), n))
        c = x.T @ x / len(x) + 1e-12 * np.eye(n)
    else:
        c = np.diag(rng.uniform(0.5, 2.0, n))
    d = np.sqrt(np.diag(c))
    corr = c / np.outer(d, d)
    cov = corr * np.outer(vols, vols)
    return (cov + cov.T) / 2


@st.composite
def problems(draw):
    cov = draw(covariances())
    n = len(cov)
    lo = draw(st.sampled_from([0.0, 0.0, -0.2, -1.0]))
    hi = draw(st.sampled_from([1.0, 0.5, 2.0 / n, 1.0 / n + 0.05]))
    budget = draw(st.sampled_from([1.0, 1.0, 0.5, 1.3]))
    mu = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).normal(0.0005, 0.001, n)
    return cov, mu, (lo, hi), budget


def check(w, n, *, bounds=None, budget=1.0):
    w = np.asarray(w, dtype=float)
    assert w.shape == (n,)
    assert np.isfinite(w).all(), w
    assert abs(w.sum() - budget) <= TOL * max(1.0, abs(budget)), (w.sum(), budget)
    if bounds is not None:
        lo, hi = bounds
        assert (w >= lo - TOL).all(), (w.min(), lo)
        assert (w <= hi + TOL).all(), (w.max(), hi)


def call(fn, *args, **kwargs):
    """The solver's weights, or None when it raised a typed riskbook error."""
    try:
        return fn(*args, **kwargs)
    except RiskbookError:
        return None
    # anything else (ValueError, LinAlgError, ZeroDivisionError, ...) fails the test


CONSTRAINED = {
    "min_variance": lambda cov, mu, b, B: opt.min_variance(cov, bounds=b, budget=B),
    "mean_variance_ra": lambda cov, mu, b, B: opt.mean_variance(
        cov, mu, risk_aversion=3.0, bounds=b, budget=B
    ),
    "mean_variance_target": lambda cov, mu, b, B: opt.mean_variance(
        cov, mu, target_return=float(np.median(mu)) * B, bounds=b, budget=B
    ),
    "max_sharpe": lambda cov, mu, b, B: opt.max_sharpe(cov, mu, bounds=b, budget=B),
    "max_diversification": lambda cov, mu, b, B: opt.max_diversification(cov, bounds=b, budget=B),
}


@pytest.mark.parametrize("name", sorted(CONSTRAINED))
def test_constrained_solvers_meet_budget_and_bounds_or_raise_typed(name):
    @prop(60)
    @given(problems())
    def inner(problem):
        cov, mu, bounds, budget = problem
        n = len(cov)
        feasible = n * bounds[0] <= budget + 1e-12 and budget <= n * bounds[1] + 1e-12
        w = call(CONSTRAINED[name], cov, mu, bounds, budget)
        if w is None:
            return
        assert feasible, f"{name} returned weights for an infeasible problem"
        check(w, n, bounds=bounds, budget=budget)

    inner()


UNCONSTRAINED = {
    "hrp": opt.hrp,
    "hrp_ward": lambda cov: opt.hrp(cov, linkage="ward"),
    "risk_parity": opt.risk_parity,
    "nco_long_only": lambda cov: opt.nco(cov, intra="min_variance", inter="min_variance"),
    "nco_hrp_erc": lambda cov: opt.nco(cov, intra="hrp", inter="risk_parity"),
    "equal_weight": opt.equal_weight,
    "inverse_volatility": opt.inverse_volatility,
    "inverse_variance": opt.inverse_variance,
}


@pytest.mark.parametrize("name", sorted(UNCONSTRAINED))
def test_long_only_solvers_sum_to_one_and_stay_in_0_1(name):
    @prop(40)
    @given(covariances())
    def inner(cov):
        w = call(UNCONSTRAINED[name], cov)
        if w is None:
            return
        check(w, len(cov), bounds=(0.0, 1.0))

    inner()


@prop(40)
@given(covariances())
def test_nco_closed_form_sums_to_one_long_short_allowed(cov):
    """The default NCO is the closed-form minimum variance per cluster: long-short by design."""
    w = call(opt.nco, cov)
    if w is not None:
        check(w, len(cov))


@prop(40)
@given(covariances(), st.integers(0, 3))
def test_fallback_always_returns_valid_weights_even_from_a_broken_matrix(cov, damage):
    """The default ladder ends in equal weight, so it never fails, whatever the matrix holds."""
    n = len(cov)
    bad = cov.copy()
    if damage == 1:
        bad[0, 0] = np.nan
    elif damage == 2:
        bad[0, 1] = bad[1, 0] = 10 * np.sqrt(bad[0, 0] * bad[1, 1])  # not PSD
    elif damage == 3:
        bad[:] = 0.0
    result = opt.optimize_with_fallback(bad)
    check(result.weights, n, bounds=(0.0, 1.0))
    assert result.method in opt.fallback.OPTIMIZERS or callable(result.method)
    if damage == 0:
        assert not any(m == "equal_weight" for m, _ in result.failures)


@pytest.mark.parametrize("name", sorted(CONSTRAINED))
def test_nan_input_is_a_typed_error_not_nan_weights(name):
    cov = np.diag([0.01, 0.02, np.nan])
    mu = np.array([0.001, 0.002, 0.003])
    with pytest.raises(RiskbookError):
        CONSTRAINED[name](cov, mu, (0.0, 1.0), 1.0)
