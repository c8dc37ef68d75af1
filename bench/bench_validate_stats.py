"""Overfitting statistics: CSCV / PBO against a plain loop, PSR / DSR against skfolio.

Run from the repository root: ``.venv/bin/python -m bench.bench_validate_stats``. One BLAS
thread, as every benchmark here.

No library a user would pick instead computes the probability of backtest overfitting: skfolio,
PyPortfolioOpt and Riskfolio-Lib have no CSCV, so ``pbo`` is raced against the obvious
implementation, one loop turn per combination (numpy mean / std, scipy rankdata), the way the
paper describes it. skfolio does have the probabilistic and deflated Sharpe ratios
(``skfolio.measures``), which are timed side by side.

Goal (issue: PBO must be cheap enough to run on every sweep): ``pbo`` with S = 16
(12,870 combinations) on T = 2520 days x N = 1000 trials in under 5 s.
"""

from __future__ import annotations

# First, before numpy loads anywhere: bench._common pins every library to the same BLAS threads.
from bench._common import Timing, fmt_seconds, machine_line, markdown_table, measure

# isort: split

import itertools
import time
from collections.abc import Iterable

import numpy as np
from scipy import stats

from riskbook.validate.pbo import pbo
from riskbook.validate.sharpe import deflated_sharpe, probabilistic_sharpe

T = 2520
GOAL_SECONDS = 5.0
REFERENCE_SAMPLE = 400  # combinations of the big case the slow loop is timed on


def trials(T: int, N: int, seed: int = 0) -> np.ndarray:
    """N noisy daily strategies with slightly different means and vols."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0003, 0.01, (T, N)) * rng.uniform(0.5, 2.0, N)


def reference_logits(X: np.ndarray, S: int, combos: Iterable[tuple[int, ...]]) -> np.ndarray:
    """CSCV the slow, obvious way (as tests/validate/test_pbo.py): one loop turn per combination."""
    N = X.shape[1]
    blocks = np.split(X[X.shape[0] % S :], S)
    out = []
    for c in combos:
        rest = [b for b in range(S) if b not in c]
        Xi = np.vstack([blocks[b] for b in c])
        Xo = np.vstack([blocks[b] for b in rest])
        m_is = Xi.mean(axis=0) / Xi.std(axis=0, ddof=1)
        m_oos = Xo.mean(axis=0) / Xo.std(axis=0, ddof=1)
        w = stats.rankdata(m_oos)[int(np.argmax(m_is))] / (N + 1)
        out.append(np.log(w / (1 - w)))
    return np.array(out)


def timed_once(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def pbo_table() -> tuple[str, list[str]]:
    header = [
        "case",
        "combinations",
        "riskbook pbo",
        "plain loop",
        "speed-up",
        "max abs d logit",
        "PBO",
    ]
    rows, verdicts = [], []

    # Small enough for the loop to run in full.
    S, N = 12, 100
    X = trials(T, N, seed=1)
    mine = measure(lambda: pbo(X, S), repeats=5)
    combos = list(itertools.combinations(range(S), S // 2))
    loop, ref = timed_once(lambda: reference_logits(X, S, combos))
    res = pbo(X, S)
    rows.append(
        [
            f"T={T}, N={N}, S={S} (loop in full)",
            f"{len(combos):,}",
            mine.fmt(),
            fmt_seconds(loop),
            f"{loop / mine.median:.0f}x",
            f"{np.abs(res.logits - ref).max():.1e}",
            f"{res.pbo:.3f}",
        ]
    )

    # The goal case: the loop would take minutes, so it is timed on a sample of combinations
    # and scaled; its cost per combination does not depend on which combination it is.
    S, N = 16, 1000
    X = trials(T, N, seed=2)
    mine = measure(lambda: pbo(X, S), repeats=5, warmup=1)
    combos = list(itertools.combinations(range(S), S // 2))
    sample = combos[:REFERENCE_SAMPLE]
    loop_sample, ref = timed_once(lambda: reference_logits(X, S, sample))
    loop = loop_sample * len(combos) / len(sample)
    res = pbo(X, S)
    rows.append(
        [
            f"T={T}, N={N}, S={S} (loop timed on {len(sample)}, scaled)",
            f"{len(combos):,}",
            mine.fmt(),
            f"~{fmt_seconds(loop)}",
            f"~{loop / mine.median:.0f}x",
            f"{np.abs(res.logits[: len(sample)] - ref).max():.1e}",
            f"{res.pbo:.3f}",
        ]
    )
    ok = "met" if mine.median < GOAL_SECONDS else "NOT met"
    verdicts.append(
        f"pbo S=16 on T={T} x N={N}: {fmt_seconds(mine.median)} median "
        f"(goal < {GOAL_SECONDS:.0f} s): {ok}"
    )

    for metric in ("mean", "total_return"):
        t = measure(lambda metric=metric: pbo(X, S, metric), repeats=3)
        rows.append(
            [f"T={T}, N={N}, S={S}, metric={metric}", f"{len(combos):,}", t.fmt()] + ["-"] * 4
        )
    table = "### CSCV / PBO (metric: Sharpe ratio unless said)\n\n" + markdown_table(header, rows)
    return table, verdicts


def sharpe_table() -> str:
    from skfolio import measures

    header = ["call", "N", "riskbook", "skfolio", "x vs skfolio", "max abs diff"]
    rows = []
    for N in (1, 1000):
        X = trials(T, N, seed=3)
        R = X[:, 0] if N == 1 else X
        trial_srs = trials(T, 200, seed=4)
        trial_srs = trial_srs.mean(axis=0) / trial_srs.std(axis=0, ddof=1)
        cases = {
            "probabilistic_sharpe": (
                lambda R=R: probabilistic_sharpe(R, 0.01),
                lambda R=R: measures.probabilistic_sharpe_ratio(R, benchmark_sharpe_ratio=0.01),
            ),
            "deflated_sharpe": (
                lambda R=R, s=trial_srs: deflated_sharpe(
                    R, n_trials=s.size, sr_variance=s.var(ddof=1)
                ),
                lambda R=R, s=trial_srs: measures.deflated_sharpe_ratio(R, s),
            ),
        }
        for name, (ours, theirs) in cases.items():
            a: Timing = measure(ours)
            b: Timing = measure(theirs)
            diff = np.abs(np.asarray(ours()) - np.asarray(theirs())).max()
            rows.append([name, N, a.fmt(), b.fmt(), f"{b.median / a.median:.1f}x", f"{diff:.1e}"])
    return f"### PSR and DSR on T={T} returns (one series, or N columns)\n\n" + markdown_table(
        header, rows
    )


def main() -> None:
    started = time.perf_counter()
    print("# Overfitting statistics: PBO, PSR, DSR\n")
    print(machine_line())
    print(
        "\nNo peer library computes PBO (skfolio, PyPortfolioOpt and Riskfolio-Lib have no "
        "CSCV): riskbook's vectorised pbo is raced against a plain loop over the combinations. "
        "Both give the same logits (last-but-one column).\n"
    )
    table, verdicts = pbo_table()
    print(table + "\n")
    print(sharpe_table() + "\n")
    print("### Goals\n")
    for line in verdicts:
        print(f"- {line}")
    print(f"\nTotal run time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
