"""Optimizer-based construction models: targets against hand / closed-form / library references."""

from __future__ import annotations

from datetime import timedelta

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from pypfopt import BlackLittermanModel, HRPOpt
from pypfopt.black_litterman import market_implied_prior_returns
from scipy.optimize import minimize

from riskbook.construct import Insight, PortfolioBias, SimpleAlgorithm
from riskbook.construct.optimization_models import (
    BlackLittermanOptimizationPortfolioConstructionModel,
    HierarchicalRiskParityPortfolioConstructionModel,
    MeanReversionPortfolioConstructionModel,
    MeanVarianceOptimizationPortfolioConstructionModel,
    MinimumVariancePortfolioConstructionModel,
    RiskParityPortfolioConstructionModel,
    black_litterman,
    olmar_step,
    simplex_projection,
)
from riskbook.construct.optimizers import UnconstrainedMeanVariancePortfolioOptimizer
from riskbook.data import MarketData
from riskbook.errors import ConfigError, DataError, InfeasibleError, OptimizationError
from riskbook.optimize import risk_contributions

SYMBOLS = ["JNJ", "KO", "XOM", "AAPL"]
T = "2019-12-31"
DAY = timedelta(days=1)
_TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


@pytest.fixture(scope="module")
def data(sp500) -> MarketData:
    return sp500.select(SYMBOLS).slice("2017-01-01", "2020-12-31")


@pytest.fixture
def algo(data) -> SimpleAlgorithm:
    return SimpleAlgorithm(data, T)


def hand_returns(data: MarketData, lookback: int, period: int, time: str = T) -> pd.DataFrame:
    """LEAN's windows by hand: lookback*period closes, lookback-bar rate of change, last period."""
    closes = data.to_frame().loc[:time].tail(lookback * period)
    return (closes / closes.shift(lookback) - 1.0).iloc[lookback:].tail(period)


def ups(symbols=SYMBOLS, **kwargs) -> list[Insight]:
    return [Insight.price(s, DAY, 1, **kwargs) for s in symbols]


def percents(model, algo, insights) -> dict[str, float]:
    model.algorithm = algo
    return {i.symbol: p for i, p in model.determine_target_percent(insights).items()}


def vector(p: dict[str, float], symbols=SYMBOLS) -> np.ndarray:
    return np.array([p[s] for s in symbols])


def cvxpy_min_variance(S, mu=None, lo=-1.0, hi=1.0, target=None, budget=1.0):
    w = cp.Variable(len(S))
    cons = [cp.sum(w) == budget, w >= lo, w <= hi]
    if target is not None:
        cons.append(mu @ w == target)
    scale = float(np.abs(S).max())
    prob = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(S / scale))), cons)
    prob.solve(solver="CLARABEL", **_TIGHT)
    assert prob.status == "optimal"
    return np.asarray(w.value)


def cvxpy_max_sharpe(S, mu, lo, hi, rf=0.0):
    y, k = cp.Variable(len(S)), cp.Variable(nonneg=True)
    scale = float(np.abs(S).max())
    cons = [(mu - rf) @ y == 1, cp.sum(y) == k, y >= lo * k, y <= hi * k]
    prob = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(S / scale))), cons)
    prob.solve(solver="CLARABEL", **_TIGHT)
    assert prob.status == "optimal"
    return np.asarray(y.value) / float(k.value)


class Recorder:
    """An optimizer that records what it is given and answers 1/N."""

    def optimize(self, historical_returns, expected_returns=None, covariance=None):
        self.returns, self.mu, self.cov = historical_returns, expected_returns, covariance
        n = historical_returns.shape[1]
        return np.full(n, 1.0 / n)


# --- MeanVarianceOptimization ----------------------------------------------------------------


def test_mv_windows_are_lean_sized_and_point_in_time(data, algo):
    rec = Recorder()
    model = MeanVarianceOptimizationPortfolioConstructionModel(optimizer=rec)
    p = percents(model, algo, ups())
    assert p == dict.fromkeys(SYMBOLS, 0.25)
    R = hand_returns(data, 1, 63)
    assert rec.returns.shape == (62, 4)  # 63 closes give 62 one-bar returns, as in LEAN
    assert rec.returns.index[-1] == pd.Timestamp(T)
    np.testing.assert_allclose(rec.returns.to_numpy(), R.to_numpy(), rtol=1e-13)
    assert rec.mu is None  # no magnitude: the optimizer's own default (the historical mean)
    # lookback is the rate of change's span, period the number kept (LEAN's ReturnsSymbolData)
    model = MeanVarianceOptimizationPortfolioConstructionModel(lookback=5, period=10, optimizer=rec)
    percents(model, algo, ups())
    np.testing.assert_allclose(rec.returns.to_numpy(), hand_returns(data, 5, 10).to_numpy())
    assert rec.returns.shape == (10, 4)


def test_mv_accepts_a_lean_camelcase_optimizer_and_checks_its_answer(algo):
    class LeanStyle:
        def Optimize(self, historicalReturns, expectedReturns=None, covariance=None):
            return np.arange(1.0, historicalReturns.shape[1] + 1)

    model = MeanVarianceOptimizationPortfolioConstructionModel(optimizer=LeanStyle())
    assert percents(model, algo, ups()) == {"JNJ": 1.0, "KO": 2.0, "XOM": 3.0, "AAPL": 4.0}

    class Broken:
        def optimize(self, historical_returns, expected_returns=None, covariance=None):
            return [np.nan, 1.0]

    with pytest.raises(OptimizationError) as info:
        percents(
            MeanVarianceOptimizationPortfolioConstructionModel(optimizer=Broken()), algo, ups()
        )
    assert info.value.parameter == "optimizer"


@pytest.mark.parametrize(
    ("bias", "lo", "hi"), [(PortfolioBias.LONG_SHORT, -1.0, 1.0), (PortfolioBias.LONG, 0.0, 1.0)]
)
def test_mv_default_optimizer_matches_cvxpy(data, algo, bias, lo, hi):
    R = hand_returns(data, 1, 63)
    S, mu = R.cov().to_numpy(), R.mean().to_numpy()
    target = float(np.median(mu))
    model = MeanVarianceOptimizationPortfolioConstructionModel(
        portfolio_bias=bias, target_return=target
    )
    w = vector(percents(model, algo, ups()))
    np.testing.assert_allclose(w, cvxpy_min_variance(S, mu, lo, hi, target), atol=1e-6)
    model = MeanVarianceOptimizationPortfolioConstructionModel(
        portfolio_bias=bias, target_return=None
    )
    w = vector(percents(model, algo, ups()))
    np.testing.assert_allclose(w, cvxpy_min_variance(S, None, lo, hi), atol=1e-6)


def test_mv_magnitudes_are_the_expected_returns(data, algo):
    R = hand_returns(data, 1, 63)
    S = R.cov().to_numpy()
    mags = {"JNJ": 0.002, "KO": 0.001, "XOM": -0.001}  # XOM's insight is DOWN
    insights = [
        Insight.price("JNJ", DAY, 1, magnitude=0.002),
        Insight.price("KO", DAY, 1, magnitude=0.001),
        Insight.price("XOM", DAY, -1, magnitude=0.001),
        Insight.price("AAPL", DAY, 1),  # no magnitude: its historical mean
    ]
    mu = np.array([mags.get(s, R[s].mean()) for s in SYMBOLS])
    model = MeanVarianceOptimizationPortfolioConstructionModel(target_return=0.001)
    w = vector(percents(model, algo, insights))
    np.testing.assert_allclose(w, cvxpy_min_variance(S, mu, -1, 1, 0.001), atol=1e-6)
    assert mu @ w == pytest.approx(0.001, abs=1e-12)


def test_mv_lean_default_target_is_infeasible_and_says_so(algo):
    model = MeanVarianceOptimizationPortfolioConstructionModel()
    with pytest.raises(InfeasibleError) as info:
        percents(model, algo, ups())
    assert info.value.parameter == "target_return"
    assert "target_return=None" in str(info.value) and "reachable" in str(info.value)
    lean = MeanVarianceOptimizationPortfolioConstructionModel(lean_compat=True)
    assert percents(lean, algo, ups(magnitude=0.001)) == dict.fromkeys(SYMBOLS, 0.25)
    assert "target_return" in lean.optimizer.fallback_reason_


def test_mv_short_bias_lean_gives_all_zeros(algo):
    """Bounds -1..0 cannot sum to 1: LEAN falls back to 1/N, then zeroes every positive weight."""
    model = MeanVarianceOptimizationPortfolioConstructionModel(
        portfolio_bias=PortfolioBias.SHORT, target_return=None
    )
    with pytest.raises(InfeasibleError) as info:
        percents(model, algo, ups())
    assert info.value.parameter == "bounds"
    lean = MeanVarianceOptimizationPortfolioConstructionModel(
        portfolio_bias=PortfolioBias.SHORT, lean_compat=True
    )
    assert percents(lean, algo, ups(magnitude=0.001)) == dict.fromkeys(SYMBOLS, 0.0)


def test_mv_wrong_sign_weights_refused_or_zeroed_without_renormalising(data, algo):
    R = hand_returns(data, 1, 63)
    raw = np.linalg.solve(R.cov().to_numpy(), R.mean().to_numpy())
    assert (raw < 0).any() and (raw > 0).any()
    model = MeanVarianceOptimizationPortfolioConstructionModel(
        portfolio_bias=PortfolioBias.LONG, optimizer=UnconstrainedMeanVariancePortfolioOptimizer()
    )
    with pytest.raises(OptimizationError) as info:
        percents(model, algo, ups())
    assert info.value.parameter == "optimizer"
    assert info.value.symbol == SYMBOLS[int(np.argmax(raw < 0))]
    lean = MeanVarianceOptimizationPortfolioConstructionModel(
        portfolio_bias=PortfolioBias.LONG,
        optimizer=UnconstrainedMeanVariancePortfolioOptimizer(),
        lean_compat=True,
    )
    # lean_compat appends the magnitude to the window; at the warm-up time it is skipped
    w = vector(percents(lean, algo, ups(magnitude=0.0005)))
    np.testing.assert_allclose(w, np.where(raw > 0, raw, 0.0), rtol=1e-10)


def test_mv_lean_windows_are_frozen_at_warm_up_plus_magnitudes(data):
    rec = Recorder()
    model = MeanVarianceOptimizationPortfolioConstructionModel(optimizer=rec, lean_compat=True)
    algo = SimpleAlgorithm(data, T)
    model.on_securities_changed(algo, algo.security_changes(added=SYMBOLS))
    later = "2020-03-16"
    algo.set_time(later)
    insights = [Insight.price(s, DAY, 1, magnitude=0.01 * (k + 1)) for k, s in enumerate(SYMBOLS)]
    for insight in insights:
        model.algorithm = algo
        model.should_create_target_for_insight(insight)
    percents(model, algo, insights)
    warm = hand_returns(data, 1, 63)  # at T, never updated afterwards (LEAN's stale window)
    expected = np.vstack([[0.01, 0.02, 0.03, 0.04], warm.to_numpy()[::-1][:62]])
    np.testing.assert_allclose(rec.returns.to_numpy(), expected, rtol=1e-13)
    # riskbook's default reads fresh history at the later time
    fresh = Recorder()
    model = MeanVarianceOptimizationPortfolioConstructionModel(optimizer=fresh)
    percents(model, algo, insights)
    assert fresh.returns.index[-1] == pd.Timestamp(later)
    with pytest.raises(DataError) as info:
        lean = MeanVarianceOptimizationPortfolioConstructionModel(lean_compat=True)
        lean.algorithm = algo
        lean.should_create_target_for_insight(Insight.price("KO", DAY, 1))
    assert info.value.parameter == "magnitude"


# --- Black-Litterman -------------------------------------------------------------------------


def test_black_litterman_posterior_matches_pypfopt(data):
    R = hand_returns(data, 1, 63)
    cov = R.cov() * 252
    prior = pd.Series(2.5 * cov.to_numpy() @ np.full(4, 0.25), index=SYMBOLS)
    P = np.array([[1.0, 0, 0, 0], [0, 1.0, -1.0, 0], [0.5, 0, 0, 0.5]])
    Q = np.array([0.10, 0.02, 0.05])
    tau = 0.05
    omega = np.diag(np.diag(P @ (tau * cov.to_numpy()) @ P.T))
    mu, post = black_litterman(prior, cov, P, Q, tau=tau)
    ref = BlackLittermanModel(cov, pi=prior, P=P, Q=Q, omega=omega, tau=tau)
    np.testing.assert_allclose(mu, ref.bl_returns().to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(post, ref.bl_cov().to_numpy(), rtol=1e-10)
    # A custom Omega is used as given.
    mu2, _ = black_litterman(prior, cov, P, Q, tau=tau, omega=2 * omega)
    ref2 = BlackLittermanModel(cov, pi=prior, P=P, Q=Q, omega=2 * omega, tau=tau)
    np.testing.assert_allclose(mu2, ref2.bl_returns().to_numpy(), rtol=1e-10)


def test_bl_model_prior_views_posterior_and_weights(data, algo):
    R = hand_returns(data, 1, 63)
    cov = R.cov() * 252
    rf = 0.01
    model = BlackLittermanOptimizationPortfolioConstructionModel(risk_free_rate=rf)
    insights = [
        Insight.price("JNJ", DAY, 1, magnitude=0.001, source_model="a"),
        Insight.price("XOM", DAY, -1, magnitude=0.0005, source_model="a"),
        Insight.price("KO", DAY, 1, source_model="b"),
        Insight.price("AAPL", DAY, 0, magnitude=0.002, source_model="b"),  # flat: no view
    ]
    w = percents(model, algo, insights)
    symbols = [i.symbol for i in insights]
    cov = cov.loc[symbols, symbols]
    prior = market_implied_prior_returns(pd.Series(1.0, index=symbols), 2.5, cov, rf)
    np.testing.assert_allclose(model.prior_[0].to_numpy(), prior.to_numpy(), rtol=1e-12)
    P, Q = model.views_
    np.testing.assert_array_equal(P.to_numpy(), [[1, 0, 0, 0], [0, 1, 0, 0]])
    np.testing.assert_allclose(Q.to_numpy(), [0.001, -0.0005])
    omega = np.diag(np.diag(P.to_numpy() @ (0.05 * cov.to_numpy()) @ P.to_numpy().T))
    ref = BlackLittermanModel(cov, pi=prior, P=P.to_numpy(), Q=Q.to_numpy() * 252, omega=omega)
    mu, S = model.posterior_
    np.testing.assert_allclose(mu.to_numpy(), ref.bl_returns().to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(S.to_numpy(), ref.bl_cov().to_numpy(), rtol=1e-10)
    expected = cvxpy_max_sharpe(S.to_numpy(), mu.to_numpy(), -1.0, 1.0, rf)
    np.testing.assert_allclose(vector(w, symbols), expected, atol=1e-6)


def test_bl_without_views_holds_the_prior_portfolio(algo):
    """The prior's tangency portfolio is the equal-weight one (LEAN returns no targets)."""
    model = BlackLittermanOptimizationPortfolioConstructionModel(portfolio_bias=PortfolioBias.LONG)
    w = vector(percents(model, algo, ups()))
    np.testing.assert_allclose(w, np.full(4, 0.25), atol=1e-9)
    assert model.views_ is None
    lean = BlackLittermanOptimizationPortfolioConstructionModel(lean_compat=True)
    assert percents(lean, algo, ups(magnitude=0.0)) == {}


def test_bl_views_per_insight_vs_lean_per_source_model():
    """Two UP 2% insights of one model: riskbook says r_X = r_Y = 2%; LEAN (r_X + r_Y) / 2 = 4%."""
    insights = [
        Insight.price("X", DAY, 1, magnitude=0.02, source_model="m"),
        Insight.price("Y", DAY, 1, magnitude=0.02, source_model="m"),
        Insight.price("Z", DAY, -1, magnitude=0.01, source_model="m"),
    ]
    P, Q = BlackLittermanOptimizationPortfolioConstructionModel().get_views(
        insights, ["X", "Y", "Z"]
    )
    np.testing.assert_array_equal(P.to_numpy(), np.eye(3))
    np.testing.assert_allclose(Q.to_numpy(), [0.02, 0.02, -0.01])
    lean = BlackLittermanOptimizationPortfolioConstructionModel(lean_compat=True)
    P, Q = lean.get_views(insights, ["X", "Y", "Z"])
    np.testing.assert_allclose(P.to_numpy(), [[0.5, 0.5, -0.25]])
    np.testing.assert_allclose(Q.to_numpy(), [0.04])


def test_bl_lean_compat_reproduces_lean_formulas(data, algo):
    rec = Recorder()
    model = BlackLittermanOptimizationPortfolioConstructionModel(
        risk_free_rate=0.01, optimizer=rec, lean_compat=True
    )
    insights = ups(magnitude=0.001)
    insights[2] = Insight.price("XOM", DAY, -1, magnitude=0.002)
    percents(model, algo, insights)
    R = rec.returns
    np.testing.assert_allclose(  # warm-up window; the magnitude row at the same time is skipped
        np.sort(R.to_numpy(), axis=0), np.sort(hand_returns(data, 1, 63).to_numpy(), axis=0)
    )
    S = R.cov().to_numpy() * 252
    w = np.full(4, 0.25)
    lam = (w @ ((1 + R.mean().to_numpy()) ** 252 - 1) - 0.01) / (w @ S @ w)
    pi = lam * S @ w
    q = max(0.003, 0.002)  # one view for the one source model: max(sum up, sum down)
    P = np.array([[0.001, 0.001, -0.002, 0.001]]) / q
    tS = 0.05 * S
    omega = P @ tS @ P.T
    A = tS @ P.T @ np.linalg.inv(P @ tS @ P.T + omega)
    mu = pi + A @ (np.array([q]) - P @ pi)
    post = (S + tS - A @ P @ tS) * 2.5
    np.testing.assert_allclose(np.asarray(rec.mu), mu, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(rec.cov), post, rtol=1e-10)
    with pytest.raises(DataError):
        percents(model, algo, ups())


def test_bl_latest_insight_per_source_model_and_symbol(algo):
    model = BlackLittermanOptimizationPortfolioConstructionModel()
    model.algorithm = algo
    old = Insight.price("KO", timedelta(days=5), 1, magnitude=0.001, source_model="a")
    old.set_times(algo.utc_time - timedelta(days=1))
    new = Insight.price("KO", timedelta(days=5), -1, magnitude=0.001, source_model="a")
    other = Insight.price("KO", timedelta(days=5), 1, magnitude=0.002, source_model="b")
    for i in (new, other):
        i.set_times(algo.utc_time)
    for i in (old, new, other):
        model.insight_collection.add(i)
    assert set(model.get_target_insights()) == {new, other}


# --- Risk parity -----------------------------------------------------------------------------


def test_rp_equal_risk_contributions_on_252_returns_direction_ignored(data, algo):
    R = hand_returns(data, 1, 252)
    S = R.cov().to_numpy()
    insights = [Insight.price(s, DAY, d) for s, d in zip(SYMBOLS, (1, -1, 0, 1), strict=True)]
    w = vector(percents(RiskParityPortfolioConstructionModel(), algo, insights))
    assert (w > 0).all() and w.sum() == pytest.approx(1.0)
    rc = np.asarray(risk_contributions(w, S))
    np.testing.assert_allclose(rc / rc.sum(), 0.25, atol=1e-9)
    # LEAN's program by a generic solver.
    scale = np.abs(S).max()
    res = minimize(
        lambda x: (0.5 * x @ S @ x / scale - 0.25 * np.log(x).sum(), S @ x / scale - 0.25 / x),
        np.full(4, 0.25),
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-12, None)] * 4,
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    np.testing.assert_allclose(w, res.x / res.x.sum(), atol=1e-6)


def test_rp_short_bias_refused():
    with pytest.raises(ConfigError) as info:
        RiskParityPortfolioConstructionModel(portfolio_bias=PortfolioBias.SHORT)
    assert info.value.parameter == "portfolio_bias"
    RiskParityPortfolioConstructionModel(portfolio_bias=PortfolioBias.LONG)


# --- Mean reversion (OLMAR) ------------------------------------------------------------------


def test_simplex_projection_by_hand_and_against_cvxpy():
    # u = (0.9, 0.5, -0.2): rho = 2 (0.5 > (1.4 - 1) / 2), theta = 0.2
    np.testing.assert_allclose(simplex_projection([0.5, 0.9, -0.2]), [0.3, 0.7, 0.0])
    np.testing.assert_allclose(simplex_projection([2.0, 0.0]), [1.0, 0.0])
    np.testing.assert_allclose(simplex_projection([1.0, 1.0], total=4.0), [2.0, 2.0])
    rng = np.random.default_rng(3)
    for _ in range(20):
        v = rng.normal(size=6)
        x = cp.Variable(6)
        cp.Problem(cp.Minimize(cp.sum_squares(x - v)), [x >= 0, cp.sum(x) == 1]).solve(
            solver="CLARABEL", **_TIGHT
        )
        np.testing.assert_allclose(simplex_projection(v), x.value, atol=1e-7)
    with pytest.raises(ConfigError):
        simplex_projection([1.0], total=0.0)


def test_olmar_step_by_hand():
    # b'x = 0.99 < 1: lambda = 0.01 / 0.0018, b + lambda * (0.03, -0.03)
    np.testing.assert_allclose(olmar_step([0.5, 0.5], [1.02, 0.96], 1.0), [2 / 3, 1 / 3])
    # Already predicted to reach epsilon: passive.
    np.testing.assert_allclose(olmar_step([0.5, 0.5], [1.06, 0.98], 1.0), [0.5, 0.5])
    np.testing.assert_allclose(olmar_step([0.2, 0.8], [1.0, 1.0], 5.0), [0.2, 0.8])


def test_mean_reversion_two_steps_by_hand(data):
    symbols = ["JNJ", "KO", "XOM"]
    eps = 1.01
    model = MeanReversionPortfolioConstructionModel(reversion_threshold=eps, window_size=5)
    b = np.full(3, 1 / 3)
    for day in ("2019-12-30", "2019-12-31"):
        algo = SimpleAlgorithm(data, day)
        closes = data.to_frame().loc[:day, symbols].tail(5)
        x = closes.mean().to_numpy() / closes.iloc[-1].to_numpy()  # MA / price
        dev = x - x.mean()
        lam = max(0.0, (eps - b @ x) / (dev @ dev))
        b = simplex_projection(b + lam * dev)
        got = vector(percents(model, algo, ups(symbols)), symbols)
        np.testing.assert_allclose(got, b, atol=1e-12)
    assert sum(model.weights_.values()) == pytest.approx(1.0)


def test_mean_reversion_lean_compat_by_hand(data):
    symbols = ["JNJ", "KO", "XOM"]
    algo = SimpleAlgorithm(data, T)
    closes = data.to_frame().loc[:T, symbols].tail(20)
    x = closes.iloc[-1].to_numpy() / closes.mean().to_numpy()  # LEAN: price / MA
    x[0] = 1 + 0.01 * -1  # a DOWN insight with magnitude 0.01
    dev = x - x.mean()
    lam = max(0.0, (np.full(3, 1 / 3) @ x - 1.0) / (dev @ dev))
    expected = simplex_projection(np.full(3, 1 / 3) - lam * dev)
    insights = [Insight.price("JNJ", DAY, -1, magnitude=0.01), *ups(symbols[1:])]
    model = MeanReversionPortfolioConstructionModel(lean_compat=True)
    np.testing.assert_allclose(vector(percents(model, algo, insights), symbols), expected)


def test_mean_reversion_magnitude_direction(data):
    """Magnitudes are predicted relatives: riskbook leaves a predicted faller, LEAN a riser.

    Two symbols from 1/2 each, epsilon 1. JNJ DOWN 2%: x = (0.98, 1), b'x = 0.99 < 1, so OLMAR
    moves lambda = 0.01 / 0.0002 = 50 along (-0.01, 0.01): JNJ 0. JNJ UP 2%: b'x = 1.01, passive.
    LEAN's mirrored update does the opposite: it moves away from the predicted riser.
    """
    algo = SimpleAlgorithm(data, T)
    ko = Insight.price("KO", DAY, 1, magnitude=0.0)
    down = [Insight.price("JNJ", DAY, -1, magnitude=0.02), ko]
    up = [Insight.price("JNJ", DAY, 1, magnitude=0.02), ko]
    assert percents(MeanReversionPortfolioConstructionModel(), algo, down)["JNJ"] == 0.0
    assert percents(MeanReversionPortfolioConstructionModel(), algo, up)["JNJ"] == 0.5
    lean = MeanReversionPortfolioConstructionModel
    assert percents(lean(lean_compat=True), algo, up)["JNJ"] == pytest.approx(0.0, abs=1e-12)
    assert percents(lean(lean_compat=True), algo, down)["JNJ"] == 0.5


def test_mean_reversion_not_ready_and_bias(data):
    algo = SimpleAlgorithm(data, "2017-01-10")  # fewer than 20 bars of history
    assert percents(MeanReversionPortfolioConstructionModel(), algo, ups()) == {}
    with pytest.raises(ConfigError):
        MeanReversionPortfolioConstructionModel(portfolio_bias=PortfolioBias.SHORT)


# --- riskbook's own --------------------------------------------------------------------------


def test_hrp_model_matches_pypfopt_and_zeroes_non_up(data, algo):
    R = hand_returns(data, 1, 252)[["JNJ", "KO", "AAPL"]]
    ref = pd.Series(HRPOpt(R).optimize(linkage_method="single"))
    insights = [Insight.price(s, DAY, d) for s, d in zip(SYMBOLS, (1, 1, -1, 1), strict=True)]
    p = percents(HierarchicalRiskParityPortfolioConstructionModel(), algo, insights)
    assert p["XOM"] == 0.0
    np.testing.assert_allclose(
        vector(p, ["JNJ", "KO", "AAPL"]), ref[["JNJ", "KO", "AAPL"]].to_numpy(), atol=1e-10
    )


def test_min_variance_model_matches_cvxpy_with_cap_and_budget(data, algo):
    S = hand_returns(data, 1, 252).cov().to_numpy()
    model = MinimumVariancePortfolioConstructionModel(max_weight=0.3, budget=0.95)
    w = vector(percents(model, algo, ups()))
    np.testing.assert_allclose(w, cvxpy_min_variance(S, lo=0.0, hi=0.3, budget=0.95), atol=1e-6)
    assert w.sum() == pytest.approx(0.95)


def test_covariance_estimator_is_used(data, algo):
    def diag(R):
        return np.diag(R.var().to_numpy())

    model = MinimumVariancePortfolioConstructionModel(covariance_estimator=diag)
    w = vector(percents(model, algo, ups()))
    inv = 1 / hand_returns(data, 1, 252).var().to_numpy()
    np.testing.assert_allclose(w, inv / inv.sum(), atol=1e-9)


# --- Data handling, create_targets, no look-ahead --------------------------------------------


def test_symbol_with_short_history_is_excluded_and_named():
    dates = pd.bdate_range("2020-01-01", periods=80)
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (80, 3)), axis=0))
    close[:79, 2] = np.nan  # C listed on the last day
    md = MarketData.from_arrays(dates.values, ["A", "B", "C"], close=close)
    algo = SimpleAlgorithm(md, dates[-1])
    model = RiskParityPortfolioConstructionModel(period=63)
    p = percents(model, algo, ups(["A", "B", "C"]))
    assert set(p) == {"A", "B"} and sum(p.values()) == pytest.approx(1.0)
    assert "C" in model.excluded_ and any("left out" in m for _, m in algo.messages)


def test_create_targets_end_to_end(algo):
    model = RiskParityPortfolioConstructionModel()
    targets = model.create_targets(algo, ups())
    assert [t.symbol for t in targets] == SYMBOLS
    assert all(t.quantity > 0 for t in targets)


MODELS = [
    lambda: MeanVarianceOptimizationPortfolioConstructionModel(target_return=None),
    lambda: BlackLittermanOptimizationPortfolioConstructionModel(),
    lambda: RiskParityPortfolioConstructionModel(),
    lambda: MeanReversionPortfolioConstructionModel(),
    lambda: HierarchicalRiskParityPortfolioConstructionModel(),
    lambda: MinimumVariancePortfolioConstructionModel(),
    lambda: MeanVarianceOptimizationPortfolioConstructionModel(lean_compat=True),
    lambda: BlackLittermanOptimizationPortfolioConstructionModel(lean_compat=True),
    lambda: MeanReversionPortfolioConstructionModel(lean_compat=True),
]


@pytest.mark.parametrize("make", MODELS)
def test_no_look_ahead(data, make):
    """Scrambling every price after the decision time leaves the targets unchanged."""
    rng = np.random.default_rng(7)
    after = data.dates > np.datetime64(T)
    close = data.close.copy()
    close[after] *= rng.uniform(0.5, 1.5, size=close[after].shape)
    scrambled = MarketData.from_arrays(data.dates, data.symbols, close=close)
    insights = [
        Insight.price(s, DAY, d, magnitude=m)
        for s, d, m in zip(SYMBOLS, (1, 1, -1, 1), (0.001, 0.002, 0.001, 0.0005), strict=True)
    ]
    results = []
    for md in (data, scrambled):
        algo = SimpleAlgorithm(md, T)
        model = make()
        model.on_securities_changed(algo, algo.security_changes(added=SYMBOLS))
        results.append(percents(model, algo, insights))
    assert results[0] == results[1] and results[0]


def test_bad_configuration():
    with pytest.raises(ConfigError):
        MeanVarianceOptimizationPortfolioConstructionModel(period=0)
    with pytest.raises(ConfigError):
        BlackLittermanOptimizationPortfolioConstructionModel(tau=0.0)
    with pytest.raises(ConfigError):
        MeanReversionPortfolioConstructionModel(window_size=1.5)
    with pytest.raises(ConfigError):
        MinimumVariancePortfolioConstructionModel(budget=0)
