"""Nearest correlation matrix: Higham's published example, an SDP solver, and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.errors import ConfigError, DataError
from riskbook.estimate import nearest_correlation
from riskbook.estimate.higham import project_to_correlation


def indefinite(seed: int, n: int) -> np.ndarray:
    """A symmetric unit-diagonal matrix with entries in [-1, 1], usually not PSD."""
    rng = np.random.default_rng(seed)
    A = rng.uniform(-1, 1, (n, n))
    A = (A + A.T) / 2
    np.fill_diagonal(A, 1.0)
    return A


def clipped(A: np.ndarray) -> np.ndarray:
    """The naive repair: negative eigenvalues set to 0, then rescaled to a unit diagonal."""
    vals, vecs = np.linalg.eigh(A)
    X = (vecs * np.maximum(vals, 0)) @ vecs.T
    d = np.sqrt(np.diag(X))
    return X / np.outer(d, d)


def test_higham_2002_example():
    # Higham (2002), section 4: the nearest correlation matrix to this A, to 4 decimals.
    A = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    expected = np.array([[1.0, 0.7607, 0.1573], [0.7607, 1.0, 0.7607], [0.1573, 0.7607, 1.0]])
    X = nearest_correlation(A)
    np.testing.assert_allclose(X, expected, atol=5e-5)
    assert np.linalg.eigvalsh(X)[0] == pytest.approx(0.0, abs=1e-9)  # on the boundary


@pytest.mark.parametrize("seed", [1, 2])
def test_equals_the_sdp_solution(seed):
    cp = pytest.importorskip("cvxpy")
    A = indefinite(seed, 6)
    X = cp.Variable((6, 6), symmetric=True)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(X - A)), [X >> 0, cp.diag(X) == 1])
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    ours = nearest_correlation(A)
    np.testing.assert_allclose(ours, X.value, atol=1e-6)
    assert np.sum((ours - A) ** 2) <= problem.value + 1e-9


def test_anderson_acceleration_converges_to_the_plain_higham_limit():
    A = indefinite(3, 30)
    plain = project_to_correlation(A, 1e-12, 20000, memory=0)
    fast = project_to_correlation(A, 1e-12, 20000)
    np.testing.assert_allclose(fast, plain, atol=1e-9)


def test_a_correlation_matrix_is_returned_unchanged(sp500):
    C = sp500.returns().iloc[-500:].corr().to_numpy().copy()
    C[np.diag_indices(20)] = 1.0
    np.testing.assert_array_equal(nearest_correlation(C), C)


def test_labels_are_kept():
    A = pd.DataFrame(indefinite(4, 3), index=list("abc"), columns=list("abc"))
    out = nearest_correlation(A)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == list(out.columns) == list("abc")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 12))
def test_valid_correlation_matrix_and_closer_than_eigenvalue_clipping(seed, n):
    A = indefinite(seed, n)
    X = nearest_correlation(A)
    np.testing.assert_array_equal(X, X.T)
    np.testing.assert_array_equal(np.diag(X), np.ones(n))
    assert np.linalg.eigvalsh(X)[0] >= -1e-12
    assert np.abs(X).max() <= 1 + 1e-12
    assert np.linalg.norm(X - A) <= np.linalg.norm(clipped(A) - A) + 1e-10


def test_non_symmetric_input_is_a_data_error():
    with pytest.raises(DataError, match="symmetric"):
        nearest_correlation(np.array([[1.0, 0.5], [0.4, 1.0]]))
    with pytest.raises(DataError, match="square"):
        nearest_correlation(np.ones((2, 3)))


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError):
        nearest_correlation(np.eye(2), tol=0.0)
    with pytest.raises(ConfigError):
        nearest_correlation(np.eye(2), max_iter=0)


def test_iteration_cap_warns_and_still_returns_a_correlation_matrix():
    A = indefinite(5, 20)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        X = nearest_correlation(A, tol=1e-15, max_iter=2)
    np.testing.assert_array_equal(np.diag(X), np.ones(20))
    assert np.linalg.eigvalsh(X)[0] >= -1e-12
