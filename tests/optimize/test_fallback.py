"""optimize_with_fallback: the ladder's moves, reasons, verification and bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskbook.datasets import load_sp500
from riskbook.errors import OptimizationError
from riskbook.optimize.fallback import (
    DEFAULT_LADDER,
    OPTIMIZERS,
    FallbackResult,
    optimize_with_fallback,
    resolve_optimizer,
)
from riskbook.optimize.hrp import hrp
from riskbook.optimize.risk_parity import risk_parity
from riskbook.optimize.simple import inverse_volatility


@pytest.fixture(scope="module")
def sp500_cov() -> pd.DataFrame:
    return load_sp500().returns().iloc[-1000:].cov()


def test_default_ladder_is_seed_003s():
    assert DEFAULT_LADDER == ("hrp", "risk_parity", "inverse_volatility", "equal_weight")


def test_valid_covariance_takes_the_first_rung(sp500_cov):
    result = optimize_with_fallback(sp500_cov)
    assert isinstance(result, FallbackResult)
    assert result.method == "hrp"
    assert result.failures == ()
    pd.testing.assert_series_equal(result.weights, hrp(sp500_cov))


def test_nan_matrix_falls_to_equal_weight_with_every_reason(sp500_cov):
    cov = sp500_cov.copy()
    cov.loc[:, :] = np.nan
    result = optimize_with_fallback(cov)
    assert result.method == "equal_weight"
    assert list(result.weights.index) == list(sp500_cov.columns)
    np.testing.assert_allclose(result.weights.to_numpy(), 1 / 20, rtol=0, atol=1e-16)
    assert [m for m, _ in result.failures] == ["hrp", "risk_parity", "inverse_volatility"]
    assert all("non-finite" in reason for _, reason in result.failures)
    assert all(reason.startswith("OptimizationError") for _, reason in result.failures)


def test_one_nan_entry_is_reported_with_its_symbol(sp500_cov):
    cov = sp500_cov.copy()
    cov.loc["JPM", "BAC"] = cov.loc["BAC", "JPM"] = np.nan
    result = optimize_with_fallback(cov)
    assert result.method == "equal_weight"
    assert "symbol=" in result.failures[0][1]


def test_singular_psd_matrix_stays_on_hrp(sp500_cov):
    returns = load_sp500().returns().iloc[-1000:]
    cov = returns.assign(GE2=returns["GE"]).cov()
    result = optimize_with_fallback(cov)
    assert result.method == "hrp"
    assert result.failures == ()


def test_singular_matrix_with_a_zero_variance_asset_falls_to_equal_weight():
    cov = np.diag([0.04, 0.0, 0.09])
    result = optimize_with_fallback(cov)
    assert result.method == "equal_weight"
    assert [m for m, _ in result.failures] == ["hrp", "risk_parity", "inverse_volatility"]
    assert all("zero variance" in reason for _, reason in result.failures)
    np.testing.assert_allclose(result.weights, 1 / 3)


def test_singular_matrix_breaks_a_closed_form_rung(sp500_cov):
    returns = load_sp500().returns().iloc[-1000:]
    cov = returns.assign(GE2=returns["GE"]).cov()

    def inverted(c):
        x = np.linalg.solve(np.asarray(c), np.ones(c.shape[0]))
        if not np.isfinite(x).all() or np.abs(x).max() > 1e12:
            raise np.linalg.LinAlgError("Singular matrix")
        return x / x.sum()

    result = optimize_with_fallback(cov, ladder=("nco", "risk_parity"), nco={"n_clusters": 1})
    assert result.method == "risk_parity"
    assert "not positive definite" in result.failures[0][1]
    pd.testing.assert_series_equal(result.weights, risk_parity(cov))
    via_callable = optimize_with_fallback(cov, ladder=(inverted, "hrp"))
    assert via_callable.method == "hrp"
    assert via_callable.failures[0][0] == "inverted"


def test_non_psd_matrix_skips_the_rungs_that_need_psd():
    corr = np.full((6, 6), -0.95)
    for block in (slice(0, 3), slice(3, 6)):
        corr[block, block] = -0.6
    np.fill_diagonal(corr, 1.0)
    result = optimize_with_fallback(corr)
    assert result.method == "inverse_volatility"
    assert [m for m, _ in result.failures] == ["hrp", "risk_parity"]
    assert all("not positive semidefinite" in r for _, r in result.failures)
    assert "smallest eigenvalue -" in result.failures[0][1]
    unchecked = optimize_with_fallback(corr, check_psd=False)
    assert unchecked.method in {"risk_parity", "inverse_volatility"}
    assert "not positive semidefinite" in unchecked.failures[0][1]  # hrp sees it by itself


def test_first_rung_raising_moves_down(sp500_cov):
    def exploding(cov):
        raise RuntimeError("solver crashed")

    result = optimize_with_fallback(sp500_cov, ladder=(exploding, "risk_parity", "equal_weight"))
    assert result.method == "risk_parity"
    assert result.failures == (("exploding", "RuntimeError: solver crashed"),)
    pd.testing.assert_series_equal(result.weights, risk_parity(sp500_cov))


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (None, "returned None"),
        (np.full(20, np.nan), "non-finite"),
        (np.full(20, 0.1), "sum to"),
        (np.r_[-0.5, np.full(19, 1.5 / 19)], "negative weight"),
        (np.full(19, 1 / 19), "length"),
    ],
)
def test_unverifiable_output_is_a_failure(sp500_cov, output, reason):
    result = optimize_with_fallback(sp500_cov, ladder=(lambda cov: output, "inverse_volatility"))
    assert result.method == "inverse_volatility"
    assert reason in result.failures[0][1]
    pd.testing.assert_series_equal(result.weights, inverse_volatility(sp500_cov))


def test_rounding_negatives_are_cleaned_and_series_are_aligned(sp500_cov):
    # A solver's rounding: one weight a hair below zero, the sum still one.
    w = hrp(sp500_cov)
    shifted = w.copy()
    shifted.iloc[0] = -1e-12
    shifted.iloc[2] += w.iloc[0] + 1e-12

    result = optimize_with_fallback(sp500_cov, ladder=(lambda cov: shifted.iloc[::-1],))
    assert (result.weights >= 0).all()
    assert result.weights.iloc[0] == 0.0
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-15)
    assert result.weights["AMD"] == pytest.approx(shifted["AMD"], rel=1e-10)


def test_options_reach_their_rung(sp500_cov):
    result = optimize_with_fallback(sp500_cov, hrp={"linkage": "ward"})
    pd.testing.assert_series_equal(result.weights, hrp(sp500_cov, linkage="ward"))
    budgets = np.arange(1.0, 21.0)
    result = optimize_with_fallback(
        sp500_cov, ladder=("risk_parity",), risk_parity={"budgets": budgets}
    )
    pd.testing.assert_series_equal(result.weights, risk_parity(sp500_cov, budgets=budgets))


def test_min_variance_rung_resolves_lazily(sp500_cov):
    optimize = pytest.importorskip("riskbook.optimize")
    if not callable(getattr(optimize, "min_variance", None)):
        pytest.skip("riskbook.optimize.min_variance is not part of this build yet")
    result = optimize_with_fallback(sp500_cov, ladder=("min_variance", "equal_weight"))
    assert result.method == "min_variance"
    pd.testing.assert_series_equal(
        result.weights, optimize.min_variance(sp500_cov), check_names=False, atol=1e-10
    )


def test_all_rungs_failing_raises_with_every_reason():
    with pytest.raises(OptimizationError, match="every rung") as info:
        optimize_with_fallback(np.full((2, 2), np.nan), ladder=("hrp", "inverse_variance"))
    assert "hrp:" in info.value.message and "inverse_variance:" in info.value.message


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda c: optimize_with_fallback(c, ladder=()), "ladder"),
        (lambda c: optimize_with_fallback(c, ladder=("hrp", "herc")), "ladder"),
        (lambda c: optimize_with_fallback(c, ladder=("hrp", 3)), "ladder"),
        (lambda c: optimize_with_fallback(c, nco={"n_clusters": 2}), "nco"),
        (lambda c: optimize_with_fallback(c, hrp="ward"), "hrp"),
        (lambda c: optimize_with_fallback(np.ones((2, 3))), "cov"),
        (lambda c: optimize_with_fallback(np.ones(3)), "cov"),
        (lambda c: optimize_with_fallback(5), "cov"),
    ],
)
def test_bad_input_is_named(call, parameter):
    with pytest.raises(OptimizationError) as info:
        call(np.eye(3))
    assert info.value.parameter == parameter


def test_result_is_frozen_and_names_resolve():
    result = optimize_with_fallback(np.eye(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.method = "other"  # type: ignore[misc]
    assert resolve_optimizer("risk_parity") is risk_parity
    assert resolve_optimizer("nco").__name__ == "nco"
    assert set(DEFAULT_LADDER) <= set(OPTIMIZERS)
    with pytest.raises(OptimizationError) as info:
        resolve_optimizer("herc")
    assert info.value.parameter == "method"


@st.composite
def hostile_matrices(draw):
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.standard_normal((n + 2, n))
    cov = a.T @ a / (n + 2)
    kind = draw(st.sampled_from(["psd", "nan", "zero_var", "non_psd", "rank_one", "asym"]))
    if kind == "nan":
        i, j = rng.integers(0, n, 2)
        cov[i, j] = cov[j, i] = np.nan
    elif kind == "zero_var":
        k = rng.integers(0, n)
        cov[k, :] = cov[:, k] = 0.0
    elif kind == "non_psd":
        cov -= 2.0 * np.abs(np.linalg.eigvalsh(cov)).max() * np.outer(np.ones(n), np.ones(n)) / n
        np.fill_diagonal(cov, np.abs(np.diag(cov)) + 0.1)
    elif kind == "rank_one":
        v = rng.standard_normal(n)
        cov = np.outer(v, v)
    elif kind == "asym" and n > 1:
        cov[0, -1] += 1.0
    return cov


@settings(max_examples=60, deadline=None)
@given(cov=hostile_matrices())
def test_never_returns_nan_whatever_the_matrix(cov):
    result = optimize_with_fallback(cov)
    w = np.asarray(result.weights)
    assert np.isfinite(w).all()
    assert (w >= 0).all()
    assert abs(w.sum() - 1.0) <= 1e-8
    assert result.method in DEFAULT_LADDER
    assert len(result.failures) == DEFAULT_LADDER.index(result.method)
