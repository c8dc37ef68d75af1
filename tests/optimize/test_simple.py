"""equal_weight, inverse_volatility, inverse_variance: closed forms, kinds, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskbook.datasets import load_sp500
from riskbook.errors import OptimizationError
from riskbook.optimize.simple import equal_weight, inverse_variance, inverse_volatility


@pytest.fixture(scope="module")
def sp500_cov() -> pd.DataFrame:
    return load_sp500().returns().iloc[-1000:].cov()


def test_equal_weight_from_count_labels_and_matrices(sp500_cov):
    np.testing.assert_array_equal(equal_weight(5), np.full(5, 0.2))
    from_labels = equal_weight(["B", "A", "C"])
    assert list(from_labels.index) == ["B", "A", "C"]
    np.testing.assert_allclose(from_labels.to_numpy(), 1 / 3, rtol=0, atol=1e-16)
    from_index = equal_weight(pd.Index(["X", "Y"]))
    assert from_index.to_dict() == {"X": 0.5, "Y": 0.5}
    series = equal_weight(sp500_cov)
    assert isinstance(series, pd.Series)
    assert list(series.index) == list(sp500_cov.columns)
    assert series.sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_array_equal(equal_weight(np.eye(4)), np.full(4, 0.25))


def test_equal_weight_never_reads_values():
    nan_frame = pd.DataFrame(np.full((3, 3), np.nan), index=list("abc"), columns=list("abc"))
    assert equal_weight(nan_frame).to_dict() == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    np.testing.assert_array_equal(equal_weight(np.full((2, 2), np.inf)), [0.5, 0.5])


@pytest.mark.parametrize(
    ("bad", "parameter"),
    [
        (0, "n"),
        (-3, "n"),
        ([], "labels"),
        (np.ones((2, 3)), "cov"),
        (np.ones(3), "cov"),
        (True, "cov"),
    ],
)
def test_equal_weight_rejects(bad, parameter):
    with pytest.raises(OptimizationError) as info:
        equal_weight(bad)
    assert info.value.parameter == parameter


def test_inverse_volatility_and_variance_closed_forms(sp500_cov):
    var = np.diag(sp500_cov.to_numpy())
    iv = inverse_volatility(sp500_cov)
    expected = (1 / np.sqrt(var)) / (1 / np.sqrt(var)).sum()
    np.testing.assert_allclose(iv.to_numpy(), expected, rtol=1e-14, atol=0)
    assert list(iv.index) == list(sp500_cov.columns)
    ivar = inverse_variance(sp500_cov.to_numpy())
    assert isinstance(ivar, np.ndarray)
    np.testing.assert_allclose(ivar, (1 / var) / (1 / var).sum(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(inverse_volatility(np.diag([1.0, 4.0, 16.0])), [4 / 7, 2 / 7, 1 / 7])
    np.testing.assert_allclose(inverse_variance(np.diag([1.0, 4.0])), [0.8, 0.2])


def test_inverse_weights_ignore_correlation_and_scale():
    vol = np.array([0.1, 0.2, 0.4])
    corr = np.array([[1.0, 0.9, -0.3], [0.9, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    cov = corr * np.outer(vol, vol)
    np.testing.assert_allclose(inverse_volatility(cov), [4 / 7, 2 / 7, 1 / 7], rtol=1e-14)
    np.testing.assert_allclose(inverse_volatility(250 * cov), inverse_volatility(cov), rtol=1e-14)


def test_zero_variance_is_named():
    cov = pd.DataFrame(np.diag([0.04, 0.0, 0.01]), index=list("xyz"), columns=list("xyz"))
    for fn in (inverse_volatility, inverse_variance):
        with pytest.raises(OptimizationError) as info:
            fn(cov)
        assert info.value.symbol == "y"
        assert info.value.parameter == "cov"


@pytest.mark.parametrize(
    "bad",
    [
        np.array([[1.0, 0.5], [0.4, 1.0]]),  # asymmetric
        np.array([[1.0, np.nan], [np.nan, 1.0]]),
        np.array([[-1.0, 0.0], [0.0, 1.0]]),
        np.ones((2, 3)),
    ],
)
def test_inverse_weights_reject_invalid_covariances(bad):
    with pytest.raises(OptimizationError):
        inverse_volatility(bad)
    with pytest.raises(OptimizationError):
        inverse_variance(bad)
