"""Ledoit-Wolf shrinkage: scikit-learn for the scaled identity, the papers for the other targets.

The references for the constant-correlation and single-factor targets below are written from the
papers' element-wise formulas with plain loops over pairs, in the 2021 reference-code convention
(demean, then every sample moment m(z) = sum_t z_t / n with n = T - 1), so they share no algebra
with the O(TN) implementation under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import LedoitWolf

from riskbook.errors import ConfigError, DataError
from riskbook.estimate import ledoit_wolf, ledoit_wolf_shrinkage, sample_covariance

TOL = 1e-10


@pytest.fixture(scope="module")
def recent(sp500) -> pd.DataFrame:
    return sp500.returns().iloc[-1000:]


def random_returns(seed: int, T: int, N: int, *, tails: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    market = rng.standard_normal((T, 1)) * 0.01
    noise = rng.standard_t(4, (T, N)) if tails else rng.standard_normal((T, N))
    return market * rng.uniform(0.5, 1.5, N) + noise * rng.uniform(0.005, 0.02, N)


# -- independent references ----------------------------------------------------------------------


def _moments(X: np.ndarray, demean: bool) -> tuple[np.ndarray, int]:
    T = X.shape[0]
    if demean:
        return X - X.mean(axis=0), T - 1
    return X.copy(), T


def honey_reference(X: np.ndarray, *, demean: bool = True) -> tuple[np.ndarray, float]:
    """Ledoit & Wolf (2004), "Honey, I shrunk the sample covariance matrix", appendix formulas."""
    Y, n = _moments(X, demean)
    N = Y.shape[1]

    def m(z: np.ndarray) -> float:
        return float(z.sum()) / n

    s = np.array([[m(Y[:, i] * Y[:, j]) for j in range(N)] for i in range(N)])
    r_bar = sum(
        s[i, j] / math.sqrt(s[i, i] * s[j, j]) for i in range(N) for j in range(N) if i != j
    ) / (N * (N - 1))
    f = np.array(
        [
            [s[i, i] if i == j else r_bar * math.sqrt(s[i, i] * s[j, j]) for j in range(N)]
            for i in range(N)
        ]
    )

    def pi(i: int, j: int) -> float:
        return m(Y[:, i] ** 2 * Y[:, j] ** 2) - s[i, j] ** 2

    def theta(i: int, j: int) -> float:  # theta_ii,ij
        return m(Y[:, i] ** 3 * Y[:, j]) - s[i, i] * s[i, j]

    pi_hat = sum(pi(i, j) for i in range(N) for j in range(N))
    rho_hat = sum(pi(i, i) for i in range(N))
    for i in range(N):
        for j in range(N):
            if i != j:
                rho_hat += (r_bar / 2) * (
                    math.sqrt(s[j, j] / s[i, i]) * theta(i, j)
                    + math.sqrt(s[i, i] / s[j, j]) * theta(j, i)
                )
    gamma_hat = sum((f[i, j] - s[i, j]) ** 2 for i in range(N) for j in range(N))
    delta = max(0.0, min(1.0, (pi_hat - rho_hat) / gamma_hat / n))
    return delta * f + (1 - delta) * s, delta


def market_reference(X: np.ndarray, *, demean: bool = True) -> tuple[np.ndarray, float]:
    """Ledoit & Wolf (2003), J. Empirical Finance, appendix formulas; x = equal-weighted market."""
    Y, n = _moments(X, demean)
    N = Y.shape[1]
    x = Y.mean(axis=1)

    def m(z: np.ndarray) -> float:
        return float(z.sum()) / n

    s = np.array([[m(Y[:, i] * Y[:, j]) for j in range(N)] for i in range(N)])
    s00 = m(x * x)
    s0 = [m(Y[:, i] * x) for i in range(N)]
    f = np.array([[s[i, i] if i == j else s0[i] * s0[j] / s00 for j in range(N)] for i in range(N)])
    pi_hat = rho_hat = 0.0
    for i in range(N):
        for j in range(N):
            yi, yj = Y[:, i], Y[:, j]
            pi_ij = m(yi**2 * yj**2) - s[i, j] ** 2
            pi_hat += pi_ij
            if i == j:
                rho_hat += pi_ij
            else:
                r_t = (s0[j] * s00 * yi + s0[i] * s00 * yj - s0[i] * s0[j] * x) * x * yi * yj
                rho_hat += m(r_t) / s00**2 - f[i, j] * s[i, j]
    gamma_hat = sum((f[i, j] - s[i, j]) ** 2 for i in range(N) for j in range(N))
    delta = max(0.0, min(1.0, (pi_hat - rho_hat) / gamma_hat / n))
    return delta * f + (1 - delta) * s, delta


REFERENCES = {"constant_correlation": honey_reference, "single_factor": market_reference}


# -- scaled identity: scikit-learn -------------------------------------------------------------


def test_scaled_identity_equals_sklearn_on_bundled_data(recent):
    X = recent.to_numpy()
    lw = LedoitWolf().fit(X)
    np.testing.assert_allclose(ledoit_wolf(X), lw.covariance_, rtol=TOL, atol=0)
    assert ledoit_wolf_shrinkage(X) == pytest.approx(lw.shrinkage_, abs=TOL)
    assert 0.01 < lw.shrinkage_ < 0.1  # a real, interior intensity: the comparison has teeth


@pytest.mark.parametrize("assume_centered", [False, True])
@pytest.mark.parametrize(("T", "N"), [(30, 50), (500, 10), (2000, 3)])
def test_scaled_identity_equals_sklearn_on_random_data(T, N, assume_centered):
    X = random_returns(T * N, T, N, tails=True) + 0.003  # a non-zero mean tells centring apart
    lw = LedoitWolf(assume_centered=assume_centered).fit(X)
    ours = ledoit_wolf(X, assume_centered=assume_centered)
    np.testing.assert_allclose(ours, lw.covariance_, rtol=TOL, atol=0)
    shrink = ledoit_wolf_shrinkage(X, assume_centered=assume_centered)
    assert shrink == pytest.approx(lw.shrinkage_, abs=TOL)


def test_scaled_identity_one_asset_is_the_1_over_T_variance():
    X = random_returns(3, 100, 1)
    assert ledoit_wolf_shrinkage(X) == 0.0
    np.testing.assert_allclose(ledoit_wolf(X), LedoitWolf().fit(X).covariance_, rtol=TOL)
    np.testing.assert_allclose(ledoit_wolf(X), [[X.var()]], rtol=TOL)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(2, 40),
    st.integers(1, 12),
    st.floats(1e-4, 1e2),
)
def test_scaled_identity_equals_sklearn_property(seed, T, N, scale):
    X = np.random.default_rng(seed).standard_normal((T, N)) * scale
    expected = LedoitWolf().fit(X).covariance_
    np.testing.assert_allclose(ledoit_wolf(X), expected, rtol=1e-9, atol=1e-12 * scale**2)


# -- constant correlation and single factor: the papers --------------------------------------


@pytest.mark.parametrize("target", ["constant_correlation", "single_factor"])
def test_target_equals_paper_formulas_on_bundled_data(recent, target):
    X = recent.to_numpy()
    expected, delta = REFERENCES[target](X)
    assert 0.01 < delta < 0.5  # interior: not a clipped, uninformative case
    np.testing.assert_allclose(ledoit_wolf(X, target), expected, rtol=TOL, atol=0)
    assert ledoit_wolf_shrinkage(X, target) == pytest.approx(delta, abs=TOL)


@pytest.mark.parametrize("target", ["constant_correlation", "single_factor"])
@pytest.mark.parametrize(
    ("seed", "T", "N", "tails"),
    [(1, 40, 25, False), (2, 250, 8, True), (3, 1000, 4, True), (4, 12, 3, False)],
)
@pytest.mark.parametrize("demean", [True, False])
def test_target_equals_paper_formulas_on_random_data(target, seed, T, N, tails, demean):
    X = random_returns(seed, T, N, tails=tails) + 0.002
    expected, delta = REFERENCES[target](X, demean=demean)
    got = ledoit_wolf(X, target, assume_centered=not demean)
    np.testing.assert_allclose(got, expected, rtol=TOL, atol=0)
    assert ledoit_wolf_shrinkage(X, target, assume_centered=not demean) == pytest.approx(
        delta, abs=TOL
    )


def test_intensity_clips_at_one_when_the_target_is_the_truth():
    # Equicorrelated data: the constant-correlation target is the true model, and the raw
    # estimate kappa / n exceeds 1 (checked on the reference), so it must be clipped.
    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 1)) * 0.3 + rng.standard_normal((300, 30))
    assert honey_reference(X)[1] == 1.0
    assert ledoit_wolf_shrinkage(X, "constant_correlation") == 1.0
    cov = ledoit_wolf(X, "constant_correlation")
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    off = corr[~np.eye(30, dtype=bool)]
    np.testing.assert_allclose(off, off[0], rtol=1e-12)  # fully shrunk: one correlation


def test_default_convention_is_T_minus_1_after_demeaning(recent):
    # covCor.m / covMarket.m (01/2021): the diagonal is the ddof=1 sample variance.
    for target in ("constant_correlation", "single_factor"):
        np.testing.assert_allclose(
            np.diag(ledoit_wolf(recent, target)), recent.var(ddof=1).to_numpy(), rtol=1e-12
        )
    # scikit-learn: trace preserved at 1/T.
    assert np.trace(ledoit_wolf(recent)) == pytest.approx(recent.var(ddof=0).sum(), rel=1e-12)


def test_single_factor_matches_pyportfolioopt_with_its_1_over_T_convention(recent):
    # PyPortfolioOpt follows the authors' 2014 code (demean, 1/T), which is our
    # assume_centered=True on demeaned data (k = 1 given, n = T in covMarket.m's terms).
    from pypfopt.risk_models import CovarianceShrinkage

    X = recent.to_numpy()
    expected, delta = CovarianceShrinkage(recent, returns_data=True)._ledoit_wolf_single_factor()
    Y = X - X.mean(axis=0)
    np.testing.assert_allclose(
        ledoit_wolf(Y, "single_factor", assume_centered=True), expected, rtol=TOL
    )
    assert ledoit_wolf_shrinkage(Y, "single_factor", assume_centered=True) == pytest.approx(
        delta, abs=TOL
    )


# -- properties ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(3, 60),
    st.integers(2, 15),
    st.sampled_from(["scaled_identity", "constant_correlation", "single_factor"]),
    st.booleans(),
)
def test_shrunk_covariance_is_symmetric_psd_and_on_the_segment_to_its_target(
    seed, T, N, target, tails
):
    X = random_returns(seed, T, N, tails=tails)
    cov = ledoit_wolf(X, target)
    delta = ledoit_wolf_shrinkage(X, target)
    assert 0.0 <= delta <= 1.0
    np.testing.assert_array_equal(cov, cov.T)
    scale = float(np.trace(cov)) / N
    assert np.linalg.eigvalsh(cov)[0] >= -1e-12 * scale
    # cov = (1 - delta) S + delta F, with S and F rebuilt here from their definitions.
    if target == "scaled_identity":
        S = sample_covariance(X, ddof=0)
        F = np.eye(N) * np.trace(S) / N
    else:
        S = sample_covariance(X)
        sd = np.sqrt(np.diag(S))
        if target == "constant_correlation":
            r = S / np.outer(sd, sd)
            F = (r.sum() - N) / (N * (N - 1)) * np.outer(sd, sd)
        else:
            Y = X - X.mean(axis=0)
            x = Y.mean(axis=1)
            c = Y.T @ x / (T - 1)
            F = np.outer(c, c) / (x @ x / (T - 1))
        np.fill_diagonal(F, np.diag(S))
    np.testing.assert_allclose(cov, (1 - delta) * S + delta * F, rtol=1e-9, atol=1e-12 * scale)


# -- labels and errors -----------------------------------------------------------------------


def test_frame_in_frame_out_array_in_array_out(recent):
    out = ledoit_wolf(recent, "single_factor", periods_per_year=252)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == list(out.columns) == [str(c) for c in recent.columns]
    arr = ledoit_wolf(recent.to_numpy(), "single_factor")
    assert isinstance(arr, np.ndarray)
    np.testing.assert_allclose(out.to_numpy(), 252 * arr, rtol=1e-14)


def test_unknown_target_is_a_config_error(recent):
    with pytest.raises(ConfigError, match="unknown shrinkage target"):
        ledoit_wolf(recent, "identity")


def test_constant_column_breaks_the_correlation_target_and_is_named(recent):
    frame = recent.iloc[:50].copy()
    frame["KO"] = 0.0
    with pytest.raises(DataError, match="constant") as info:
        ledoit_wolf(frame, "constant_correlation")
    assert info.value.symbol == "KO"
    assert "KO" in str(info.value)


def test_assume_centered_accepts_a_constant_but_not_a_zero_column(recent):
    frame = recent.iloc[:50].copy()
    frame["KO"] = 0.001
    X = frame.to_numpy()
    expected, _ = honey_reference(X, demean=False)
    np.testing.assert_allclose(
        ledoit_wolf(frame, "constant_correlation", assume_centered=True).to_numpy(),
        expected,
        rtol=TOL,
    )
    frame["KO"] = 0.0
    with pytest.raises(DataError, match="all zero") as info:
        ledoit_wolf(frame, "constant_correlation", assume_centered=True)
    assert info.value.symbol == "KO"


def test_zero_variance_market_factor_is_a_data_error():
    x = np.random.default_rng(0).standard_normal(30)
    with pytest.raises(DataError, match="market factor"):
        ledoit_wolf(np.column_stack([x, -x]), "single_factor")


@pytest.mark.parametrize("target", ["scaled_identity", "constant_correlation", "single_factor"])
def test_shrinkage_scale_moves_the_intensity_linearly_and_clips(target, recent):
    """cov(scale) = S + clip(scale * delta) (F - S): a straight line between the sample
    covariance (scale 0) and the target (intensity clipped at 1)."""
    X = recent.to_numpy()[-120:, :10]
    delta = ledoit_wolf_shrinkage(X, target)
    assert 0.0 < delta < 0.5
    base = ledoit_wolf(X, target)
    sample = ledoit_wolf(X, target, shrinkage_scale=0.0)
    half = ledoit_wolf(X, target, shrinkage_scale=0.5)
    np.testing.assert_allclose(half, sample + 0.5 * (base - sample), rtol=1e-12, atol=1e-18)
    full = ledoit_wolf(X, target, shrinkage_scale=1.0 / delta)
    assert np.allclose(ledoit_wolf(X, target, shrinkage_scale=10.0 / delta), full)
    np.testing.assert_allclose(base, sample + delta * (full - sample), rtol=1e-12, atol=1e-18)


def test_negative_shrinkage_scale_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        ledoit_wolf(np.eye(3), shrinkage_scale=-1.0)
    assert err.value.parameter == "shrinkage_scale"
