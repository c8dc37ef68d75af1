"""Sample covariance against numpy and pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.errors import ConfigError
from riskbook.estimate import sample_covariance


@pytest.fixture(scope="module")
def recent(sp500) -> pd.DataFrame:
    return sp500.returns().iloc[-1000:]


@pytest.mark.parametrize("ddof", [0, 1, 5])
def test_equals_numpy_cov(recent, ddof):
    X = recent.to_numpy()
    np.testing.assert_allclose(
        sample_covariance(X, ddof=ddof), np.cov(X, rowvar=False, ddof=ddof), rtol=1e-12
    )


def test_frame_equals_pandas_cov_with_labels(recent):
    out = sample_covariance(recent)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(
        out, recent.cov().rename_axis(index=None, columns=None), check_exact=False, rtol=1e-12
    )


def test_periods_per_year_multiplies(recent):
    base = sample_covariance(recent.to_numpy())
    np.testing.assert_allclose(
        sample_covariance(recent.to_numpy(), periods_per_year=252), 252 * base, rtol=1e-14
    )


def test_one_dimensional_input_is_one_asset():
    x = np.array([0.01, -0.02, 0.03, 0.0])
    np.testing.assert_allclose(sample_covariance(x), [[np.var(x, ddof=1)]], rtol=1e-14)


@pytest.mark.parametrize("ddof", [-1, 10, 1.5, True])
def test_bad_ddof_is_a_config_error(ddof):
    with pytest.raises(ConfigError) as info:
        sample_covariance(np.ones((10, 2)) * np.arange(10)[:, None], ddof=ddof)
    assert info.value.parameter == "ddof"


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 30), st.integers(1, 10))
def test_symmetric_psd_with_sample_variances(seed, T, N):
    X = np.random.default_rng(seed).standard_normal((T, N))
    S = sample_covariance(X)
    np.testing.assert_array_equal(S, S.T)
    assert np.linalg.eigvalsh(S)[0] >= -1e-12 * max(1.0, np.trace(S))
    np.testing.assert_allclose(np.diag(S), X.var(axis=0, ddof=1), rtol=1e-12)
