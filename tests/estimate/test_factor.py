"""Factor-model covariance: per-asset lstsq loop, scikit-learn for Sigma_f, and the seed 000 model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import LedoitWolf

from riskbook.datasets import load_factor_etfs, load_sp500_index
from riskbook.errors import ConfigError, DataError
from riskbook.estimate import FactorModel, factor_model_covariance, sample_covariance

SEED_ASSETS = ["JNJ", "XOM", "MSFT", "KO"]


@pytest.fixture(scope="module")
def recent(sp500) -> pd.DataFrame:
    return sp500.returns().iloc[-1000:]


@pytest.fixture(scope="module")
def index_returns(recent) -> pd.DataFrame:
    return load_sp500_index().returns().loc[recent.index]


def loop_reference(Y: np.ndarray, F: np.ndarray, ddof: int = 0) -> dict[str, np.ndarray]:
    """One np.linalg.lstsq per asset, scikit-learn's LedoitWolf for the factor covariance."""
    T, N = Y.shape
    K = F.shape[1]
    design = np.column_stack([np.ones(T), F])
    B = np.zeros((N, K))
    alpha = np.zeros(N)
    resid_var = np.zeros(N)
    for i in range(N):
        coef = np.linalg.lstsq(design, Y[:, i], rcond=None)[0]
        alpha[i] = coef[0]
        B[i] = coef[1:]
        e = Y[:, i] - design @ coef
        resid_var[i] = e @ e / (T - ddof)
    Sigma_f = LedoitWolf().fit(F).covariance_
    return {
        "covariance": B @ Sigma_f @ B.T + np.diag(resid_var),
        "loadings": B,
        "residual_variance": resid_var,
        "factor_covariance": Sigma_f,
        "alpha": alpha,
    }


def seed_000_covariance(asset_returns: np.ndarray, factor_returns: np.ndarray) -> np.ndarray:
    """The covariance exactly as the user's seed 000 algorithm builds it (ridge included)."""
    T, N = asset_returns.shape
    K = factor_returns.shape[1]
    X = np.column_stack([np.ones(T), factor_returns])
    B = np.zeros((N, K))
    residuals = np.zeros((N, T))
    for i in range(N):
        y = asset_returns[:, i]
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        B[i, :] = beta[1:]
        residuals[i, :] = y - X @ beta
    Sigma_f = LedoitWolf().fit(factor_returns).covariance_
    idio_var = np.var(residuals, axis=1)
    assert (idio_var > 1e-6).all()  # the seed's floor does not bind on this data
    idio_var = np.maximum(idio_var, 1e-6)
    Sigma = B @ Sigma_f @ B.T + np.diag(idio_var)
    return Sigma + 1e-6 * np.eye(N)


def test_reproduces_seed_000_with_the_sp500_index_as_factor(sp500):
    # Seed 000: a 252-bar lookback, pct_change().dropna() -> 251 returns, LW factor covariance.
    assets = sp500.returns()[SEED_ASSETS].iloc[-251:]
    factor = load_sp500_index().returns().loc[assets.index]
    expected = seed_000_covariance(assets.to_numpy(), factor.to_numpy())
    model = factor_model_covariance(assets, factor)
    # The seed's 1e-6 ridge belongs to its optimizer, not to the estimate.
    got = model.covariance.to_numpy() + 1e-6 * np.eye(4)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert list(model.covariance.columns) == SEED_ASSETS
    assert list(model.loadings.columns) == ["SP500"]


def test_matches_lstsq_loop_and_sklearn_with_one_factor(recent, index_returns):
    model = factor_model_covariance(recent.to_numpy(), index_returns.to_numpy())
    ref = loop_reference(recent.to_numpy(), index_returns.to_numpy())
    for field, expected in ref.items():
        np.testing.assert_allclose(getattr(model, field), expected, rtol=1e-10, err_msg=field)
    assert 0.5 < np.median(model.loadings) < 1.5  # stocks on their index: betas near one


def test_matches_lstsq_loop_and_sklearn_with_five_factor_etfs(recent):
    factors = load_factor_etfs().returns()
    dates = recent.index.intersection(factors.index)
    Y, F = recent.loc[dates], factors.loc[dates]
    model = factor_model_covariance(Y, F)
    ref = loop_reference(Y.to_numpy(), F.to_numpy())
    lw = LedoitWolf().fit(F.to_numpy())
    assert lw.shrinkage_ > 0  # the Ledoit-Wolf shrinkage actually acts on the factor part
    for field, expected in ref.items():
        np.testing.assert_allclose(
            np.asarray(getattr(model, field)), expected, rtol=1e-10, err_msg=field
        )
    assert isinstance(model, FactorModel)
    assert model.loadings.shape == (20, 5)
    assert list(model.loadings.columns) == ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"]
    assert list(model.residual_variance.index) == list(model.alpha.index) == list(Y.columns)


@pytest.mark.parametrize("ddof", [0, 1, 6])
def test_sample_factor_covariance_preserves_the_sample_variances(recent, ddof):
    factors = load_factor_etfs().returns()
    dates = recent.index.intersection(factors.index)
    Y, F = recent.loc[dates].to_numpy(), factors.loc[dates].to_numpy()
    model = factor_model_covariance(Y, F, "sample", residual_ddof=ddof)
    np.testing.assert_allclose(np.diag(model.covariance), Y.var(axis=0, ddof=ddof), rtol=1e-10)
    np.testing.assert_allclose(model.factor_covariance, np.cov(F, rowvar=False, ddof=ddof))
    # Off the diagonal it is a model, not the sample covariance.
    assert not np.allclose(model.covariance, sample_covariance(Y, ddof=ddof), rtol=1e-3)


def test_callable_factor_estimator_gets_the_kind_given(recent, index_returns):
    seen = []

    def estimator(f):
        seen.append(type(f))
        return f.cov()

    model = factor_model_covariance(recent, index_returns, estimator, residual_ddof=1)
    assert seen == [pd.DataFrame]
    same = factor_model_covariance(recent, index_returns, "sample", residual_ddof=1)
    np.testing.assert_allclose(model.covariance.to_numpy(), same.covariance.to_numpy(), rtol=1e-12)


def test_series_factor_and_periods_per_year(recent, index_returns):
    base = factor_model_covariance(recent, index_returns["SP500"])
    yearly = factor_model_covariance(recent, index_returns["SP500"], periods_per_year=252)
    for field in ("covariance", "residual_variance", "factor_covariance", "alpha"):
        np.testing.assert_allclose(
            np.asarray(getattr(yearly, field)), 252 * np.asarray(getattr(base, field)), rtol=1e-13
        )
    np.testing.assert_allclose(yearly.loadings.to_numpy(), base.loadings.to_numpy())


def test_covariance_is_symmetric_and_positive_definite(recent, index_returns):
    cov = factor_model_covariance(recent.to_numpy(), index_returns.to_numpy()).covariance
    np.testing.assert_array_equal(cov, cov.T)
    assert np.linalg.eigvalsh(cov)[0] > 0


def test_misaligned_dates_are_a_data_error(recent, index_returns):
    shifted = index_returns.shift(1, freq="D")
    with pytest.raises(DataError, match="same dates"):
        factor_model_covariance(recent, shifted)
    with pytest.raises(DataError, match="rows"):
        factor_model_covariance(recent.to_numpy(), index_returns.to_numpy()[1:])


def test_constant_factor_is_named(recent, index_returns):
    factors = index_returns.assign(CASH=0.0)
    with pytest.raises(DataError, match="constant") as info:
        factor_model_covariance(recent, factors)
    assert info.value.symbol == "CASH"


def test_collinear_factors_are_a_data_error(recent, index_returns):
    factors = index_returns.assign(TWICE=2 * index_returns["SP500"])
    with pytest.raises(DataError, match="collinear"):
        factor_model_covariance(recent, factors)


def test_nan_in_factor_returns_names_the_factor(recent, index_returns):
    factors = index_returns.copy()
    factors.iloc[10, 0] = np.nan
    with pytest.raises(DataError) as info:
        factor_model_covariance(recent, factors)
    assert info.value.symbol == "SP500"


def test_too_few_observations(recent, index_returns):
    with pytest.raises(DataError, match="at least"):
        factor_model_covariance(recent.iloc[:2], index_returns.iloc[:2])


def test_bad_factor_estimator(recent, index_returns):
    with pytest.raises(ConfigError, match="factor_estimator"):
        factor_model_covariance(recent, index_returns, "oas")
    with pytest.raises(ConfigError, match="1 x 1"):
        factor_model_covariance(recent, index_returns, lambda f: np.eye(2))
