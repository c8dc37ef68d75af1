"""risk_parity: exact risk contributions, the paper's example, references, ordering, bad input."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskbook.datasets import load_sp500
from riskbook.errors import OptimizationError
from riskbook.optimize.risk_parity import risk_parity

rp_module = importlib.import_module("riskbook.optimize.risk_parity")


@pytest.fixture(scope="module")
def sp500_cov() -> pd.DataFrame:
    return load_sp500().returns().iloc[-1000:].cov()


def random_cov(seed: int, n: int, *, t: int | None = None, signs: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = t or 3 * n + 10
    loadings = rng.standard_normal((2, n)) + np.array([[1.0], [0.0]])
    if signs:  # a factor that some assets are short: negative correlations
        loadings[0] *= rng.choice([-1.0, 1.0], n)
    returns = rng.standard_normal((t, 2)) @ loadings + rng.standard_normal((t, n)) * rng.uniform(
        0.2, 2.0, n
    )
    return np.cov(returns, rowvar=False)


def relative_contributions(w: np.ndarray, cov: np.ndarray) -> np.ndarray:
    rc = w * (cov @ w)
    return rc / rc.sum()


# --- Maillard, Roncalli & Teiletche (2010) ---------------------------------------------------


@pytest.mark.parametrize("rho", [0.5, 0.0, -0.2, 0.9])
def test_papers_four_asset_example(rho):
    # Volatilities 10/20/30/40% with one correlation: ERC is inverse volatility, 48/24/16/12%.
    vol = np.array([0.1, 0.2, 0.3, 0.4])
    corr = np.full((4, 4), rho) + (1 - rho) * np.eye(4)
    w = risk_parity(corr * np.outer(vol, vol))
    np.testing.assert_allclose(w, [0.48, 0.24, 0.16, 0.12], rtol=0, atol=1e-12)


def test_two_assets_are_inverse_volatility_whatever_the_correlation():
    cov = np.array([[0.01, -0.5 * 0.1 * 0.3], [-0.5 * 0.1 * 0.3, 0.09]])
    np.testing.assert_allclose(risk_parity(cov), [0.75, 0.25], rtol=0, atol=1e-13)


# --- Equal (budgeted) risk contributions to 1e-10 relative ---------------------------------------


def test_equal_risk_contributions_on_bundled_data(sp500_cov):
    w = risk_parity(sp500_cov)
    assert isinstance(w, pd.Series)
    assert list(w.index) == list(sp500_cov.columns)
    rc = relative_contributions(w.to_numpy(), sp500_cov.to_numpy())
    np.testing.assert_allclose(rc * len(rc), 1.0, rtol=0, atol=1e-10)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("seed", range(10))
def test_equal_risk_contributions_on_random_matrices(seed):
    n = 3 + 7 * seed
    cov = random_cov(seed, n, signs=seed % 2 == 1)
    w = risk_parity(cov)
    np.testing.assert_allclose(relative_contributions(w, cov) * n, 1.0, rtol=0, atol=1e-10)
    assert (w > 0).all()


def test_budgets_are_met_and_aligned_by_symbol(sp500_cov):
    rng = np.random.default_rng(4)
    budgets = pd.Series(rng.uniform(0.1, 3.0, 20), index=sp500_cov.columns)
    shuffled = budgets.sample(frac=1.0, random_state=1)
    w = risk_parity(sp500_cov, budgets=shuffled)
    rc = relative_contributions(w.to_numpy(), sp500_cov.to_numpy())
    target = (budgets / budgets.sum()).to_numpy()
    np.testing.assert_allclose(rc / target, 1.0, rtol=0, atol=1e-10)
    # Budgets are scale-free.
    np.testing.assert_allclose(
        risk_parity(sp500_cov, budgets=1000 * budgets).to_numpy(), w.to_numpy(), rtol=1e-12
    )


def test_singular_covariance_with_duplicate_assets(sp500_cov):
    returns = load_sp500().returns().iloc[-1000:]
    cov = returns.assign(KO2=returns["KO"], PG2=returns["PG"]).cov()
    assert np.linalg.matrix_rank(cov.to_numpy()) == cov.shape[0] - 2
    w = risk_parity(cov)
    rc = relative_contributions(w.to_numpy(), cov.to_numpy())
    np.testing.assert_allclose(rc * len(rc), 1.0, rtol=0, atol=1e-10)
    assert w["KO"] == pytest.approx(w["KO2"], rel=1e-10)


def test_newton_phase_alone_reaches_the_same_portfolio(monkeypatch, sp500_cov):
    cov = sp500_cov.to_numpy()
    jacobi_first = risk_parity(cov)
    # No Jacobi sweep: Newton from inverse volatility must land on the same unique solution.
    monkeypatch.setattr(rp_module, "_JACOBI_SWEEPS", 0)
    newton_only = risk_parity(cov)
    np.testing.assert_allclose(newton_only, jacobi_first, rtol=1e-10, atol=0)
    np.testing.assert_allclose(relative_contributions(newton_only, cov) * 20, 1.0, atol=1e-10)


def test_matches_a_cvxpy_log_barrier_solution():
    cp = pytest.importorskip("cvxpy")
    cov = random_cov(11, 12, signs=True)
    budgets = np.linspace(1.0, 2.0, 12)
    y = cp.Variable(12)
    objective = 0.5 * cp.quad_form(y, cp.psd_wrap(cov)) - budgets @ cp.log(y)
    cp.Problem(cp.Minimize(objective)).solve(solver=cp.CLARABEL)
    reference = y.value / y.value.sum()
    ours = risk_parity(cov, budgets=budgets)
    # The exponential-cone solve is accurate to about 1e-5; ours meets the budgets exactly.
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-5)
    target = budgets / budgets.sum()
    ours_error = np.abs(relative_contributions(ours, cov) / target - 1).max()
    assert ours_error < 1e-10
    assert ours_error < np.abs(relative_contributions(reference, cov) / target - 1).max()


def test_matches_skfolio_risk_budgeting(sp500_cov):
    pytest.importorskip("skfolio")
    from skfolio import RiskMeasure
    from skfolio.moments import BaseCovariance
    from skfolio.optimization import RiskBudgeting
    from skfolio.prior import EmpiricalPrior

    class FixedCovariance(BaseCovariance):
        def __init__(self, covariance=None):
            super().__init__(nearest=False)
            self.covariance = covariance

        def fit(self, X, y=None, **fit_params):
            self._set_covariance(np.asarray(self.covariance))
            return self

    cov = sp500_cov.to_numpy()
    model = RiskBudgeting(
        risk_measure=RiskMeasure.VARIANCE,
        prior_estimator=EmpiricalPrior(covariance_estimator=FixedCovariance(cov)),
    )
    theirs = model.fit(load_sp500().returns().iloc[-1000:].to_numpy()).weights_
    ours = risk_parity(cov)
    # skfolio's conic solver stops around 1e-6; ours is exact to rounding.
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-5)
    assert (
        np.abs(relative_contributions(ours, cov) * 20 - 1).max()
        < np.abs(relative_contributions(theirs, cov) * 20 - 1).max()
    )


# --- Properties -------------------------------------------------------------------------------


def min_variance_cvxpy(cov: np.ndarray) -> np.ndarray:
    import cvxpy as cp

    w = cp.Variable(cov.shape[0])
    problem = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(cov))), [cp.sum(w) == 1, w >= 0])
    problem.solve(solver=cp.CLARABEL)
    return np.asarray(w.value)


@st.composite
def covariances(draw):
    n = draw(st.integers(2, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    signs = draw(st.booleans())
    return random_cov(seed, n, signs=signs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cov=covariances())
def test_properties_and_the_volatility_ordering(cov):
    pytest.importorskip("cvxpy")
    n = cov.shape[0]
    w = risk_parity(cov)
    assert np.isfinite(w).all()
    assert (w > 0).all()
    assert abs(w.sum() - 1) <= 1e-8
    np.testing.assert_allclose(relative_contributions(w, cov) * n, 1.0, rtol=0, atol=1e-10)
    # Maillard et al.: sigma_minvar <= sigma_ERC <= sigma_1/N.
    vol = float(np.sqrt(w @ cov @ w))
    ones = np.full(n, 1.0 / n)
    mv = min_variance_cvxpy(cov)
    assert float(np.sqrt(mv @ cov @ mv)) <= vol * (1 + 1e-6)
    assert vol <= float(np.sqrt(ones @ cov @ ones)) * (1 + 1e-12)


# --- Bad input -------------------------------------------------------------------------------


def test_zero_variance_asset_is_named(sp500_cov):
    cov = sp500_cov.copy()
    cov.loc["MSFT", :] = 0.0
    cov.loc[:, "MSFT"] = 0.0
    with pytest.raises(OptimizationError) as info:
        risk_parity(cov)
    assert info.value.symbol == "MSFT"
    assert info.value.parameter == "cov"


def test_long_only_zero_variance_combination_has_no_erc():
    # Perfectly anti-correlated: 50/50 has zero variance, every contribution is zero.
    with pytest.raises(OptimizationError, match="zero variance"):
        risk_parity(np.array([[1.0, -1.0], [-1.0, 1.0]]))
    # Far fewer observations than assets: a positive null vector exists.
    rng = np.random.default_rng(0)
    cov = np.cov(rng.standard_normal((3, 30)), rowvar=False)
    with pytest.raises(OptimizationError):
        risk_parity(cov)


@pytest.mark.parametrize(
    ("budgets", "message"),
    [
        ([1.0, 2.0], "length"),
        ([1.0, 0.0, 1.0], "positive"),
        ([1.0, -1.0, 1.0], "positive"),
        ([1.0, np.nan, 1.0], "non-finite"),
    ],
)
def test_bad_budgets_are_named(budgets, message):
    with pytest.raises(OptimizationError, match=message) as info:
        risk_parity(np.eye(3), budgets=budgets)
    assert info.value.parameter == "budgets"


def test_budget_series_missing_a_symbol(sp500_cov):
    budgets = pd.Series(1.0, index=sp500_cov.columns).drop("KO")
    with pytest.raises(OptimizationError) as info:
        risk_parity(sp500_cov, budgets=budgets)
    assert info.value.symbol == "KO"


@pytest.mark.parametrize(
    "bad",
    [
        np.ones((2, 3)),
        np.array([[1.0, np.nan], [np.nan, 1.0]]),
        np.array([[1.0, 0.2], [0.3, 1.0]]),
        np.array([[-1.0, 0.0], [0.0, 1.0]]),
    ],
)
def test_invalid_matrices(bad):
    with pytest.raises(OptimizationError) as info:
        risk_parity(bad)
    assert info.value.parameter == "cov"


def test_one_asset():
    assert risk_parity(pd.DataFrame([[0.2]], index=["A"], columns=["A"])).to_dict() == {"A": 1.0}
