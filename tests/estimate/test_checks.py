"""Rules every estimator shares: input kinds, bad data named by column, periods_per_year."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskbook.errors import ConfigError, DataError
from riskbook.estimate import (
    ewma_covariance,
    ewma_volatility,
    factor_model_covariance,
    ledoit_wolf,
    pairwise_covariance,
    sample_covariance,
)


def _factor(returns, **kw):
    # The equal-weighted market as the one factor, in the kind of the input.
    market = np.asarray(returns, dtype=float).mean(axis=1)
    if isinstance(returns, pd.DataFrame):
        market = pd.Series(market, index=returns.index, name="MKT")
    return factor_model_covariance(returns, market, **kw).covariance


MATRIX_ESTIMATORS = {
    "sample": lambda r, **kw: sample_covariance(r, **kw),
    "lw_identity": lambda r, **kw: ledoit_wolf(r, **kw),
    "lw_correlation": lambda r, **kw: ledoit_wolf(r, "constant_correlation", **kw),
    "lw_market": lambda r, **kw: ledoit_wolf(r, "single_factor", **kw),
    "ewma": lambda r, **kw: ewma_covariance(r, 20.0, **kw),
    "pairwise": lambda r, **kw: pairwise_covariance(r, **kw),
    "factor": _factor,
}
ALL = {**MATRIX_ESTIMATORS, "ewma_vol": lambda r, **kw: ewma_volatility(r, 20.0, **kw)}
NO_NAN = [name for name in ALL if name != "pairwise"]


@pytest.fixture(scope="module")
def frame(sp500) -> pd.DataFrame:
    return sp500.returns().iloc[-250:, :6]


@pytest.mark.parametrize("name", list(MATRIX_ESTIMATORS))
def test_frame_in_labelled_frame_out_and_array_in_array_out(frame, name):
    estimate = MATRIX_ESTIMATORS[name]
    out = estimate(frame)
    assert isinstance(out, pd.DataFrame)
    labels = [str(c) for c in frame.columns]
    assert list(out.index) == list(out.columns) == labels
    arr = estimate(frame.to_numpy())
    assert isinstance(arr, np.ndarray) and arr.shape == (6, 6)
    np.testing.assert_allclose(out.to_numpy(), arr, rtol=1e-12)
    assert np.linalg.eigvalsh(arr)[0] > 0


@pytest.mark.parametrize("name", list(ALL))
def test_periods_per_year_multiplies_the_result(frame, name):
    estimate = ALL[name]
    X = frame.to_numpy()
    factor = math.sqrt(252) if name == "ewma_vol" else 252
    np.testing.assert_allclose(
        np.asarray(estimate(X, periods_per_year=252)), factor * np.asarray(estimate(X)), rtol=1e-12
    )


@pytest.mark.parametrize("bad", [0, -252, float("nan"), "daily"])
@pytest.mark.parametrize("name", list(ALL))
def test_bad_periods_per_year_is_a_config_error(frame, name, bad):
    with pytest.raises(ConfigError) as info:
        ALL[name](frame, periods_per_year=bad)
    assert info.value.parameter == "periods_per_year"


@pytest.mark.parametrize("name", NO_NAN)
def test_nan_is_refused_naming_the_column_and_date(frame, name):
    bad = frame.copy()
    bad.iloc[17, 3] = np.nan
    with pytest.raises(DataError, match="NaN") as info:
        ALL[name](bad)
    assert info.value.symbol == str(frame.columns[3])
    assert str(frame.columns[3]) in str(info.value)
    assert str(frame.index[17].date()) in info.value.date


@pytest.mark.parametrize("name", list(ALL))
def test_infinite_value_is_refused_naming_the_column(frame, name):
    X = frame.to_numpy().copy()
    X[5, 2] = -np.inf
    with pytest.raises(DataError, match="infinite") as info:
        ALL[name](X)
    assert info.value.symbol == "column 2"


@pytest.mark.parametrize("name", list(ALL))
def test_fewer_than_two_observations_is_a_data_error(frame, name):
    with pytest.raises(DataError, match="at least 2"):
        ALL[name](frame.iloc[:1])
