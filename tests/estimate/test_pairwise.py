"""Pairwise-complete covariance: overlaps, PSD repair and diagonal-target shrinkage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.errors import ConfigError, DataError
from riskbook.estimate import nearest_correlation, pairwise_covariance, sample_covariance


@pytest.fixture(scope="module")
def recent(sp500) -> pd.DataFrame:
    return sp500.returns().iloc[-1000:]


@pytest.fixture(scope="module")
def late_starters(recent) -> pd.DataFrame:
    """Three stocks listed late: 700, 400 and 100 days of history instead of 1000."""
    frame = recent.copy()
    frame.iloc[:300, frame.columns.get_loc("AAPL")] = np.nan
    frame.iloc[:600, frame.columns.get_loc("AMD")] = np.nan
    frame.iloc[:900, frame.columns.get_loc("BAC")] = np.nan
    return frame


def gappy(seed: int, T: int, N: int) -> np.ndarray:
    """Random factor returns where each series starts late and/or ends early."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, 1)) * 0.01 + rng.standard_normal((T, N)) * 0.01
    for j in range(N):
        X[: rng.integers(0, T // 3), j] = np.nan
        X[T - rng.integers(0, T // 3) :, j] = np.nan
    return X


def holes(seed: int, T: int, N: int, keep: float) -> np.ndarray:
    """Random returns with each value missing with probability 1 - keep (scattered gaps)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, 1)) * 0.01 + rng.standard_normal((T, N)) * 0.01
    X[rng.random((T, N)) > keep] = np.nan
    return X


def cov_diag_reference(X: np.ndarray) -> np.ndarray:
    """Ledoit (1995) / covDiag.m (01/2021): diagonal target, demeaned, n = T - 1, by loops."""
    T, N = X.shape
    Y = X - X.mean(axis=0)
    n = T - 1
    s = np.array([[Y[:, i] @ Y[:, j] / n for j in range(N)] for i in range(N)])
    pi_off = sum(
        (Y[:, i] ** 2 @ Y[:, j] ** 2) / n - s[i, j] ** 2
        for i in range(N)
        for j in range(N)
        if i != j
    )
    gamma = sum(s[i, j] ** 2 for i in range(N) for j in range(N) if i != j)
    delta = max(0.0, min(1.0, pi_off / gamma / n))
    return (1 - delta) * s + delta * np.diag(np.diag(s))


def pairwise_reference(X: np.ndarray, shrink: bool) -> np.ndarray:
    """Each pair on its own overlap, by loops; repair by nearest_correlation; pairwise covDiag."""
    N = X.shape[1]
    S = np.empty((N, N))
    entry_var = np.empty((N, N))
    for i in range(N):
        for j in range(N):
            both = ~np.isnan(X[:, i]) & ~np.isnan(X[:, j])
            u = X[both, i] - X[both, i].mean()
            v = X[both, j] - X[both, j].mean()
            n = both.sum() - 1
            S[i, j] = u @ v / n
            entry_var[i, j] = ((u**2 @ v**2) / n - S[i, j] ** 2) / n
    sd = np.sqrt(np.diag(S))
    R = S / np.outer(sd, sd)
    np.fill_diagonal(R, 1.0)
    if np.linalg.eigvalsh(R)[0] < 0:
        S = nearest_correlation(R) * np.outer(sd, sd)
        np.fill_diagonal(S, sd**2)
    if shrink:
        off = ~np.eye(N, dtype=bool)
        delta = max(0.0, min(1.0, entry_var[off].sum() / (S[off] ** 2).sum()))
        S = (1 - delta) * S + delta * np.diag(np.diag(S))
    return S


def test_without_gaps_and_shrinkage_it_is_the_sample_covariance(recent):
    np.testing.assert_allclose(
        pairwise_covariance(recent, shrink=False).to_numpy(),
        sample_covariance(recent).to_numpy(),
        rtol=1e-12,
    )


def test_without_gaps_the_shrinkage_is_covdiag(recent):
    X = recent.to_numpy()
    expected = cov_diag_reference(X)
    got = pairwise_covariance(X)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert not np.allclose(got, sample_covariance(X), rtol=1e-4)  # it did shrink


def test_late_starters_each_entry_is_the_covariance_of_the_pair_overlap(late_starters):
    raw = late_starters.cov().to_numpy()  # pandas' pairwise-complete covariance
    sd = np.sqrt(np.diag(raw))
    assert np.linalg.eigvalsh(raw / np.outer(sd, sd))[0] > 0  # so no repair is involved
    got = pairwise_covariance(late_starters, shrink=False)
    X = late_starters.to_numpy()
    for i in range(20):
        for j in range(20):
            both = ~np.isnan(X[:, i]) & ~np.isnan(X[:, j])
            expected = np.cov(X[both, i], X[both, j])[0, 1]
            assert got.iloc[i, j] == pytest.approx(expected, rel=1e-10, abs=1e-16)
    np.testing.assert_allclose(got.to_numpy(), raw, rtol=1e-10)
    # Not truncated: the full-history variances of the long series are kept.
    assert got.loc["JNJ", "JNJ"] == pytest.approx(late_starters["JNJ"].var(), rel=1e-12)
    truncated = late_starters.dropna().cov()
    assert got.loc["JNJ", "JNJ"] != pytest.approx(truncated.loc["JNJ", "JNJ"], rel=1e-3)


@pytest.mark.parametrize("shrink", [False, True])
def test_late_starters_match_the_loop_reference(late_starters, shrink):
    got = pairwise_covariance(late_starters, shrink=shrink)
    expected = pairwise_reference(late_starters.to_numpy(), shrink)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-10)
    assert list(got.columns) == [str(c) for c in late_starters.columns]


@pytest.fixture(scope="module")
def indefinite_case() -> np.ndarray:
    X = holes(0, 40, 12, keep=0.5)  # overlaps of 5 to 15 dates: noisy, inconsistent pairs
    raw = pd.DataFrame(X).cov().to_numpy()
    sd = np.sqrt(np.diag(raw))
    assert np.linalg.eigvalsh(raw / np.outer(sd, sd))[0] < -1e-3  # repair is really needed
    return X


@pytest.mark.parametrize("shrink", [False, True])
def test_indefinite_pairwise_matrix_is_repaired_keeping_variances(indefinite_case, shrink):
    X = indefinite_case
    got = pairwise_covariance(X, shrink=shrink)
    np.testing.assert_allclose(got, pairwise_reference(X, shrink), rtol=1e-9, atol=1e-15)
    assert np.linalg.eigvalsh(got)[0] >= -1e-12
    np.testing.assert_allclose(np.diag(got), np.nanvar(X, axis=0, ddof=1), rtol=1e-12)
    if not shrink:
        raw = pd.DataFrame(X).cov().to_numpy()
        sd = np.sqrt(np.diag(raw))
        corr = raw / np.outer(sd, sd)
        np.fill_diagonal(corr, 1.0)
        expected_corr = nearest_correlation(corr)
        np.testing.assert_allclose(got / np.outer(sd, sd), expected_corr, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(30, 80), st.integers(2, 8), st.booleans())
def test_psd_symmetric_variances_kept_and_shrinkage_only_shrinks(seed, T, N, scattered):
    X = holes(seed, T, N, keep=0.6) if scattered else gappy(seed, T, N)
    full = pairwise_covariance(X, shrink=False)
    shrunk = pairwise_covariance(X)
    for C in (full, shrunk):
        np.testing.assert_array_equal(C, C.T)
        assert np.linalg.eigvalsh(C)[0] >= -1e-12
        np.testing.assert_allclose(np.diag(C), np.nanvar(X, axis=0, ddof=1), rtol=1e-12)
    off = ~np.eye(N, dtype=bool)
    ratio = shrunk[off] / full[off]
    assert np.all((ratio >= -1e-12) & (ratio <= 1 + 1e-12))
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-8, atol=1e-12)  # one intensity


def test_periods_per_year_and_array_kind(late_starters):
    X = late_starters.to_numpy()
    base = pairwise_covariance(X)
    assert isinstance(base, np.ndarray)
    np.testing.assert_allclose(pairwise_covariance(X, periods_per_year=252), 252 * base)


def test_pair_without_enough_overlap_names_both(recent):
    frame = recent.iloc[:, :4].copy()
    frame.iloc[:500, 1] = np.nan  # AMD: second half only
    frame.iloc[501:, 2] = np.nan  # BAC: first half, and one shared day
    with pytest.raises(DataError, match="overlap on 1 date") as info:
        pairwise_covariance(frame)
    assert info.value.symbol == "AMD"
    assert "BAC" in str(info.value)


def test_series_with_too_few_observations_is_named(recent):
    frame = recent.iloc[:100, :3].copy()
    frame.iloc[:95, 2] = np.nan
    with pytest.raises(DataError, match="5 observation") as info:
        pairwise_covariance(frame, min_periods=20)
    assert info.value.symbol == "BAC"


def test_infinite_value_is_named(recent):
    frame = recent.iloc[:50, :3].copy()
    frame.iloc[7, 1] = np.inf
    with pytest.raises(DataError, match="infinite") as info:
        pairwise_covariance(frame)
    assert info.value.symbol == "AMD"


def test_bad_min_periods():
    with pytest.raises(ConfigError):
        pairwise_covariance(np.eye(3), min_periods=1)
