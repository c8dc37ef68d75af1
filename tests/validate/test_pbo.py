"""CSCV / PBO against a plain loop over the combinations, on planted skill and on pure noise."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from riskbook.errors import ConfigError, DataError
from riskbook.validate.executor import ProcessExecutor
from riskbook.validate.pbo import PBOResult, pbo

REFERENCE_METRICS = {
    "sharpe": lambda X: X.mean(axis=0) / X.std(axis=0, ddof=1),
    "mean": lambda X: X.mean(axis=0),
    "total_return": lambda X: np.prod(1 + X, axis=0) - 1,
}


def reference_pbo(X: np.ndarray, S: int, metric: str = "sharpe") -> dict:
    """Bailey et al. (2017) CSCV written out the slow, obvious way: one loop turn per combination,
    numpy's own mean / std, scipy's rankdata for the OOS rank, np.polyfit for the degradation."""
    f = REFERENCE_METRICS[metric]
    T, N = X.shape
    X = X[T % S :]
    blocks = np.split(X, S)
    logits, is_best, oos_best, best = [], [], [], []
    for c in itertools.combinations(range(S), S // 2):
        rest = [b for b in range(S) if b not in c]
        m_is = f(np.vstack([blocks[b] for b in c]))
        m_oos = f(np.vstack([blocks[b] for b in rest]))
        n_star = int(np.argmax(m_is))
        w = stats.rankdata(m_oos)[n_star] / (N + 1)
        logits.append(np.log(w / (1 - w)))
        is_best.append(m_is[n_star])
        oos_best.append(m_oos[n_star])
        best.append(n_star)
    logits, is_best, oos_best = map(np.array, (logits, is_best, oos_best))
    slope, intercept = np.polyfit(is_best, oos_best, 1)
    return {
        "pbo": np.mean(logits <= 0),
        "logits": logits,
        "is_metric": is_best,
        "oos_metric": oos_best,
        "best_trial": np.array(best),
        "slope": slope,
        "intercept": intercept,
        "r2": np.corrcoef(is_best, oos_best)[0, 1] ** 2,
        "prob_loss": np.mean(oos_best < 0),
    }


def _returns(T: int, N: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # trials with different means and vols, so the metrics are not all alike
    return rng.normal(0.0003, 0.01, (T, N)) * rng.uniform(0.5, 2.0, N) + rng.normal(0, 3e-4, N)


def _assert_matches_reference(res: PBOResult, ref: dict) -> None:
    assert res.pbo == ref["pbo"]
    np.testing.assert_array_equal(res.best_trial, ref["best_trial"])
    np.testing.assert_allclose(res.logits, ref["logits"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.is_metric, ref["is_metric"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.oos_metric, ref["oos_metric"], rtol=1e-12, atol=1e-15)
    assert res.degradation_slope == pytest.approx(ref["slope"], rel=1e-10, abs=1e-12)
    assert res.degradation_intercept == pytest.approx(ref["intercept"], rel=1e-10, abs=1e-12)
    assert res.degradation_r2 == pytest.approx(ref["r2"], rel=1e-10, abs=1e-12)
    assert res.prob_loss == ref["prob_loss"]


# --- (a) the vectorised CSCV equals the slow loop ---------------------------------------------


@pytest.mark.parametrize(
    ("T", "N", "S", "seed"),
    [(200, 7, 8, 0), (100, 12, 16, 1), (333, 5, 10, 2), (64, 30, 2, 3), (517, 40, 12, 4)],
)
def test_sharpe_pbo_equals_reference_loop(T, N, S, seed):
    X = _returns(T, N, seed)
    res = pbo(X, n_partitions=S)
    _assert_matches_reference(res, reference_pbo(X, S))
    assert (
        res.n_combinations == len(res.logits) == len(list(itertools.combinations(range(S), S // 2)))
    )
    assert res.rows_dropped == T % S and res.block_size == T // S


@pytest.mark.parametrize("metric", ["mean", "total_return"])
def test_other_metrics_equal_reference_loop(metric):
    for T, N, S, seed in [(200, 7, 8, 5), (150, 9, 6, 6)]:
        X = _returns(T, N, seed)
        _assert_matches_reference(pbo(X, S, metric), reference_pbo(X, S, metric))


def test_callable_metric_takes_the_loop_and_agrees():
    X = _returns(160, 6, 7)

    def my_sharpe(block: np.ndarray) -> np.ndarray:
        return block.mean(axis=0) / block.std(axis=0, ddof=1)

    res = pbo(X, 8, my_sharpe)
    assert res.metric == "my_sharpe"
    _assert_matches_reference(res, reference_pbo(X, 8))


def test_tied_trials_get_average_ranks():
    """Duplicate columns tie exactly: IS ties go to the first column, OOS ties share the rank."""
    X = _returns(240, 8, 8)
    X[:, 2] += 0.003  # column 2 wins most halves...
    X[:, 5] = X[:, 2]  # ...and has a twin
    res = pbo(X, 8)
    _assert_matches_reference(res, reference_pbo(X, 8))
    assert 2 in res.best_trial and 5 not in res.best_trial
    # the twins share ranks k and k+1: each gets k + 1/2
    ranks = res.oos_rank[res.best_trial == 2] * 9
    np.testing.assert_allclose(ranks % 1, 0.5, atol=1e-12)


def test_chunking_does_not_change_the_answer():
    X = _returns(300, 11, 9)
    whole = pbo(X, 10)
    for chunk in (1, 7, 1000):
        part = pbo(X, 10, chunk_size=chunk)
        np.testing.assert_allclose(part.logits, whole.logits, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(part.best_trial, whole.best_trial)
        np.testing.assert_allclose(part.oos_metric, whole.oos_metric, rtol=1e-13)


def test_dataframe_input_is_labelled_and_dropped_rows_are_the_oldest():
    X = _returns(205, 6, 10)
    dates = pd.bdate_range("2020-01-01", periods=205)
    df = pd.DataFrame(X, index=dates, columns=[f"cfg{i}" for i in range(6)])
    res = pbo(df, 8)
    assert res.rows_dropped == 5 and res.block_size == 25
    assert res.trials == tuple(df.columns)
    assert res.best_trial_names == [f"cfg{i}" for i in res.best_trial]
    # the same as the array with its 5 oldest rows removed (and no rows dropped then)
    trimmed = pbo(X[5:], 8)
    assert trimmed.rows_dropped == 0
    np.testing.assert_array_equal(res.logits, trimmed.logits)


def test_result_is_frozen():
    res = pbo(_returns(80, 4, 11), 4)
    with pytest.raises(AttributeError):
        res.pbo = 0.0
    with pytest.raises(ValueError):
        res.logits[0] = 1.0
    assert "pbo=" in repr(res)


# --- (b) planted skill, (c) pure noise ---------------------------------------------------------


def test_planted_skill_gives_zero_pbo():
    """50 noise trials (N(0, 1)) and one with mean 0.5: over 800 rows a half's Sharpe ratio has
    a standard error of about 1/sqrt(800) = 0.035, so the skilled trial's 0.5 beats the noise
    trials' best (about 2.3 standard errors, 0.08) in every IS half and every OOS half."""
    rng = np.random.default_rng(12)
    X = rng.standard_normal((1600, 51))
    X[:, 17] += 0.5
    res = pbo(X, 16)
    assert res.pbo == 0.0
    assert np.all(res.best_trial == 17)
    assert np.all(res.oos_rank == 51 / 52)  # top of the OOS ranking every time
    assert np.allclose(res.logits, np.log(51))
    assert res.prob_loss == 0.0


def test_pure_noise_gives_pbo_near_one_half():
    """iid noise: the IS winner's OOS rank is uniform on 1..N, so with N even P(logit <= 0) =
    P(rank <= N/2) = 1/2 exactly. The mean PBO over 50 seeded matrices must be within 4
    standard errors (estimated from those 50 values) of 0.5."""
    values = np.array(
        [pbo(np.random.default_rng(100 + k).standard_normal((500, 20)), 10).pbo for k in range(50)]
    )
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert 0 < se < 0.05  # the test has power: a biased PBO of 0.6 would fail it
    assert abs(values.mean() - 0.5) < 4 * se


# --- (d) errors --------------------------------------------------------------------------------


def _raises(exc, parameter, *args, **kwargs):
    with pytest.raises(exc) as info:
        pbo(*args, **kwargs)
    assert info.value.parameter == parameter
    return info.value


def test_bad_partitions():
    X = _returns(200, 5, 13)
    for S in (7, 1, 0, -2, 2.0, True, "16"):
        _raises(ConfigError, "n_partitions", X, S)


def test_bad_data():
    X = _returns(200, 5, 14)
    _raises(DataError, "trial_returns", X[:, :1], 8)  # one trial
    _raises(DataError, "trial_returns", X[:, 0], 8)  # 1-D
    _raises(DataError, "trial_returns", X[:15], 8)  # T < 2 S
    _raises(DataError, "trial_returns", X[:31], 16)
    Y = X.copy()
    Y[40, 3] = np.nan
    err = _raises(DataError, "trial_returns", Y, 8)
    assert err.symbol == "column 3"
    df = pd.DataFrame(Y, index=pd.bdate_range("2021-01-01", periods=200), columns=list("abcde"))
    err = _raises(DataError, "trial_returns", df, 8)
    assert err.symbol == "d" and err.date is not None


def test_undefined_metrics_are_named():
    X = _returns(160, 5, 15)
    X[:80, 2] = 0.0  # idle for half the history: a Sharpe ratio of 0 / 0 on that half
    err = _raises(DataError, "trial_returns", X, 4)
    assert err.symbol == "column 2"
    assert pbo(X, 4, "mean").n_combinations == 6  # the mean is fine
    Y = _returns(160, 5, 16)
    Y[10, 1] = -1.5
    _raises(DataError, "trial_returns", Y, 4, "total_return")


def test_total_return_handles_a_wipe_out():
    X = _returns(160, 5, 17)
    X[30, 4] = -1.0  # trial 4 loses everything in block 0
    res = pbo(X, 4, "total_return")
    _assert_matches_reference(res, reference_pbo(X, 4, "total_return"))


def test_bad_metric_or_chunk():
    X = _returns(100, 4, 18)
    _raises(ConfigError, "metric", X, 4, "sortino")
    _raises(ConfigError, "metric", X, 4, lambda b: b.mean())  # a scalar, not one per trial
    _raises(ConfigError, "metric", X, 4, lambda b: np.full(b.shape[1], np.nan))
    _raises(ConfigError, "chunk_size", X, 4, chunk_size=0)


# --- (e) executors -----------------------------------------------------------------------------


def test_processes_match_serial_exactly():
    X = _returns(200, 10, 19)
    serial = pbo(X, 8, chunk_size=10)
    parallel = pbo(X, 8, chunk_size=10, executor=ProcessExecutor(2))
    for name in ("logits", "best_trial", "is_metric", "oos_metric", "oos_rank"):
        np.testing.assert_array_equal(getattr(parallel, name), getattr(serial, name))
    assert (parallel.pbo, parallel.degradation_slope) == (serial.pbo, serial.degradation_slope)
    assert pbo(X, 8, executor="serial").pbo == serial.pbo
