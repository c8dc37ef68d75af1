"""Benchmark: riskbook's QP optimizers against skfolio, PyPortfolioOpt and Riskfolio-Lib.

Every library gets the same sample covariance (and the same expected returns) of the same
returns: T = 2520 days of synthetic factor-model returns for N in {20, 100, 500, 1000}, and the
last 2520 days of the 20 bundled S&P 500 stocks. How each peer is fed a fixed covariance:

* skfolio ``MeanRisk`` with ``EmpiricalPrior(covariance_estimator=FixedCovariance(S))``, a
  covariance estimator whose ``fit`` stores ``S`` unchanged (``nearest=False``);
* PyPortfolioOpt ``EfficientFrontier(mu or None, S)``, with its default solver (cvxpy picks OSQP
  for these QPs) and with ``solver="CLARABEL"``;
* Riskfolio-Lib ``Portfolio(returns=X)`` with ``port.cov = S`` and ``port.mu = mean(X)`` set
  directly (built once; only ``optimization`` is timed).

Run from the repository root: ``python -m bench.bench_optimize_qp`` (``--n20`` prints only the
N = 20 regression table of :func:`n20_every_call`, without the peers). BLAS is pinned to one
thread for everyone (bench._common). Times are medians with (min-max) over repeats; ratios are
peer median / riskbook median. Agreement is the largest absolute weight difference from
riskbook, and "excess" how much higher the peer's objective is (relative): riskbook's answers
are KKT-verified to machine precision, so a positive excess is the peer's solver tolerance.
"""

from __future__ import annotations

from bench._common import (  # first: pins BLAS threads before numpy loads
    Timing,
    fmt_seconds,
    machine_line,
    markdown_table,
    measure,
    synthetic_factor_returns,
)

# isort: split
import gc
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskbook.datasets import load_sp500
from riskbook.optimize import (
    efficient_frontier,
    exposure_constraints,
    hrp,
    inverse_volatility,
    max_diversification,
    max_sharpe,
    mean_variance,
    min_variance,
    nco,
    optimize_with_fallback,
    risk_parity,
    unconstrained_mean_variance,
)

T = 2520
SIZES = (20, 100, 500, 1000)
RISK_AVERSION = 10.0  # for mu'w - δ/2 w'Σw; skfolio and Riskfolio use δ/2 (no 1/2 in theirs)
PEERS = ("skfolio", "PPO (OSQP)", "PPO (Clarabel)", "Riskfolio")


def load_peers():
    """Import the peer libraries (slow imports, kept out of every timing)."""
    import riskfolio as rp
    from pypfopt import EfficientFrontier
    from skfolio import RiskMeasure
    from skfolio.moments.covariance._base import BaseCovariance
    from skfolio.optimization import MeanRisk, ObjectiveFunction
    from skfolio.prior import EmpiricalPrior

    class FixedCovariance(BaseCovariance):
        """A skfolio covariance estimator that returns the matrix it was given."""

        def __init__(self, covariance=None):
            super().__init__(nearest=False)
            self.covariance = covariance

        def fit(self, X, y=None, **fit_params):
            self._set_covariance(np.asarray(self.covariance))
            return self

    return (
        rp,
        EfficientFrontier,
        RiskMeasure,
        MeanRisk,
        ObjectiveFunction,
        EmpiricalPrior,
        FixedCovariance,
    )


@dataclass
class Case:
    name: str
    X: np.ndarray
    S: np.ndarray
    mu: np.ndarray
    frame: pd.DataFrame

    @property
    def n(self) -> int:
        return self.S.shape[0]


def cases() -> list[Case]:
    out = []
    R = load_sp500().returns().iloc[-T:]
    X = R.to_numpy()
    out.append(Case("S&P 500 stocks", X, np.cov(X.T), X.mean(axis=0), R))
    for n in SIZES:
        X = synthetic_factor_returns(T, n, seed=n)
        frame = pd.DataFrame(X, columns=[f"A{i}" for i in range(n)])
        out.append(Case(f"synthetic N={n}", X, np.cov(X.T), X.mean(axis=0), frame))
    return out


def timed(fn: Callable[[], object], n: int, *, fast: bool) -> Timing:
    """Fewer repeats for slow peers at large N, to keep the run within a few minutes."""
    if fast:
        return measure(fn, repeats=9, min_time=0.05)
    if n >= 1000:
        samples = []
        for _ in range(2):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        a = np.array(samples)
        return Timing(float(np.median(a)), float(a.min()), float(a.max()), len(a))
    return measure(fn, repeats=3 if n >= 500 else 5, min_time=0.0 if n >= 500 else 0.05)


def peer_calls(case: Case, problem: str, peers) -> dict[str, Callable[[], np.ndarray]]:
    rp, EfficientFrontier, RiskMeasure, MeanRisk, ObjectiveFunction, EmpiricalPrior, FixedCov = (
        peers
    )
    S, mu, X = case.S, case.mu, case.X

    def skfolio() -> np.ndarray:
        kwargs = {"risk_measure": RiskMeasure.VARIANCE}
        if problem == "min_variance":
            kwargs["objective_function"] = ObjectiveFunction.MINIMIZE_RISK
        elif problem == "max_sharpe":
            kwargs["objective_function"] = ObjectiveFunction.MAXIMIZE_RATIO
        else:
            kwargs["objective_function"] = ObjectiveFunction.MAXIMIZE_UTILITY
            kwargs["risk_aversion"] = RISK_AVERSION / 2
        model = MeanRisk(prior_estimator=EmpiricalPrior(covariance_estimator=FixedCov(S)), **kwargs)
        return np.asarray(model.fit(X).weights_)

    def ppo(solver: str | None) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            ef = EfficientFrontier(None if problem == "min_variance" else mu, S, solver=solver)
            if problem == "min_variance":
                ef.min_volatility()
            elif problem == "max_sharpe":
                ef.max_sharpe(risk_free_rate=0.0)
            else:
                ef.max_quadratic_utility(risk_aversion=RISK_AVERSION)
            return np.asarray(ef.weights)

        return run

    port = rp.Portfolio(returns=case.frame)
    port.cov = pd.DataFrame(S, index=case.frame.columns, columns=case.frame.columns)
    port.mu = pd.DataFrame(mu[None, :], columns=case.frame.columns)
    obj = {"min_variance": "MinRisk", "max_sharpe": "Sharpe", "mean_variance": "Utility"}[problem]

    def riskfolio() -> np.ndarray:
        w = port.optimization(
            model="Classic", rm="MV", obj=obj, rf=0, l=RISK_AVERSION / 2, hist=True
        )
        return w["weights"].to_numpy()

    return {
        "skfolio": skfolio,
        "PPO (OSQP)": ppo(None),
        "PPO (Clarabel)": ppo("CLARABEL"),
        "Riskfolio": riskfolio,
    }


def riskbook_call(case: Case, problem: str) -> Callable[[], np.ndarray]:
    S, mu = case.S, case.mu
    if problem == "min_variance":
        return lambda: min_variance(S)
    if problem == "max_sharpe":
        return lambda: max_sharpe(S, mu)
    return lambda: mean_variance(S, mu, risk_aversion=RISK_AVERSION)


def objective(problem: str, w: np.ndarray, case: Case) -> float:
    """Lower is better for every problem (variance, -Sharpe, -utility)."""
    var = float(w @ case.S @ w)
    if problem == "min_variance":
        return var
    if problem == "max_sharpe":
        return -float(case.mu @ w) / np.sqrt(var)
    return -(float(case.mu @ w) - RISK_AVERSION / 2 * var)


def run_problem(
    problem: str, all_cases: list[Case], peers, *, skip_slow_at: int | None
) -> list[list[object]]:
    """Time riskbook and the peers on every case; print the tables; return the goal rows."""
    time_rows, ratio_rows, agree_rows, goal_rows = [], [], [], []
    for case in all_cases:
        rb_fn = riskbook_call(case, problem)
        w_rb = np.asarray(rb_fn())
        t_rb = timed(rb_fn, case.n, fast=True)
        f_rb = objective(problem, w_rb, case)
        cells_t, cells_r, cells_a = [t_rb.fmt()], [], []
        fastest: tuple[float, str] | None = None
        for name, fn in peer_calls(case, problem, peers).items():
            slow = name in ("skfolio", "Riskfolio")
            if skip_slow_at is not None and slow and case.n >= skip_slow_at:
                cells_t.append("not run")
                cells_r.append("-")
                cells_a.append("-")
                continue
            try:
                w = fn()
            except Exception as exc:  # a peer failing is a result worth printing
                cells_t.append(f"failed ({type(exc).__name__})")
                cells_r.append("-")
                cells_a.append("-")
                continue
            t = timed(fn, case.n, fast=False)
            if fastest is None or t.median < fastest[0]:
                fastest = (t.median, name)
            cells_t.append(t.fmt())
            cells_r.append(f"{t.median / t_rb.median:.1f}x")
            excess = (objective(problem, w, case) - f_rb) / abs(f_rb)
            cells_a.append(f"{np.abs(w - w_rb).max():.1e} / {excess:+.1e}")
        label = [case.name, case.n]
        if fastest is not None:
            ratio = fastest[0] / t_rb.median
            goal_rows.append(
                [
                    *label,
                    fmt_seconds(t_rb.median),
                    f"{fastest[1]} {fmt_seconds(fastest[0])}",
                    f"{ratio:.1f}x",
                ]
            )
        time_rows.append(label + cells_t)
        ratio_rows.append(label + cells_r)
        agree_rows.append(label + cells_a)
        print(f"  done: {problem} {case.name}", flush=True)
    head = ["data", "N"]
    print(f"\n### {problem}: wall time per call, median (min-max)\n")
    print(markdown_table([*head, "riskbook", *PEERS], time_rows))
    print(f"\n### {problem}: peer time / riskbook time\n")
    print(markdown_table(head + list(PEERS), ratio_rows))
    print(f"\n### {problem}: max |w_peer - w_riskbook| / excess objective of the peer (relative)\n")
    print(markdown_table(head + list(PEERS), agree_rows))
    return goal_rows


def small_calls() -> None:
    """Every riskbook optimizer on the 20 bundled stocks, array and DataFrame input."""
    R = load_sp500().returns().iloc[-T:]
    frame_cov, frame_mu = R.cov(), R.mean()
    S, mu = frame_cov.to_numpy(), frame_mu.to_numpy()
    syms = list(frame_cov.columns)
    groups = {
        "tech": (["AAPL", "AMD", "MSFT"], None, 0.2),
        "energy": (["CVX", "XOM", "RRC"], 0.05, None),
    }
    igroups = {k: ([syms.index(s) for s in v[0]], v[1], v[2]) for k, v in groups.items()}
    beta = np.linalg.lstsq(
        np.column_stack([np.ones(len(R)), R.mean(axis=1)]), R.to_numpy(), rcond=None
    )[0][1]
    A, b = exposure_constraints(beta, lower=-0.9, upper=0.9)
    target = float(np.quantile(mu, 0.8))
    calls = {
        "min_variance long-only": (lambda c, m: min_variance(c)),
        "min_variance caps 0.1": (lambda c, m: min_variance(c, bounds=(0.0, 0.1))),
        "min_variance groups + exposure rows": (
            lambda c, m: min_variance(
                c,
                bounds=(0.0, 0.3),
                groups=groups if isinstance(c, pd.DataFrame) else igroups,
                linear_constraints=(A, b),
            )
        ),
        "mean_variance target_return": (lambda c, m: mean_variance(c, m, target_return=target)),
        "mean_variance risk_aversion": (
            lambda c, m: mean_variance(c, m, risk_aversion=RISK_AVERSION)
        ),
        "max_sharpe long-only": (lambda c, m: max_sharpe(c, m)),
        "max_sharpe caps 0.2": (lambda c, m: max_sharpe(c, m, bounds=(0.0, 0.2))),
        "max_diversification": (lambda c, m: max_diversification(c)),
        "unconstrained_mean_variance": (lambda c, m: unconstrained_mean_variance(c, m)),
    }
    rows = []
    for name, f in calls.items():
        t_arr = measure(lambda f=f: f(S, mu), repeats=15, min_time=0.05)
        t_df = measure(lambda f=f: f(frame_cov, frame_mu), repeats=15, min_time=0.05)
        ok = " / ".join("yes" if t.median < 1e-3 else "no" for t in (t_arr, t_df))
        rows.append([name, t_arr.fmt(), t_df.fmt(), ok])
    t_ef = measure(lambda: efficient_frontier(S, mu, n_points=50), repeats=5)
    rows.append(
        [
            "efficient_frontier 50 points (per point)",
            f"{t_ef.fmt()} ({fmt_seconds(t_ef.median / 50)})",
            "-",
            "yes / -" if t_ef.median / 50 < 1e-3 else "no / -",
        ]
    )
    print("\n### riskbook at N = 20 (bundled stocks): every call, median (min-max)\n")
    print(
        markdown_table(
            ["call", "ndarray in", "DataFrame in", "median < 1 ms (ndarray / frame)"], rows
        )
    )


def interleaved(
    calls: dict[str, Callable[[], object]], *, rounds: int = 15, batch_time: float = 0.02
) -> dict[str, Timing]:
    """Per-call wall time of every function in ``calls``, measured in interleaved rounds.

    Each round times one batch of every call in turn (a batch lasts about ``batch_time``), so a
    slow spell of a shared machine lands on all of them alike instead of on whichever call was
    being measured; median (min-max) are over the ``rounds`` batches.
    """
    loops = {}
    for name, fn in calls.items():
        fn()  # warm-up
        t0 = time.perf_counter()
        fn()
        loops[name] = max(1, int(batch_time / max(time.perf_counter() - t0, 1e-7)))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, fn in calls.items():
                t0 = time.perf_counter()
                for _ in range(loops[name]):
                    fn()
                samples[name].append((time.perf_counter() - t0) / loops[name])
    finally:
        if gc_was:
            gc.enable()
    return {
        name: Timing(float(np.median(a)), float(np.min(a)), float(np.max(a)), len(a))
        for name, a in ((k, np.array(v)) for k, v in samples.items())
    }


def n20_every_call() -> None:
    """Regression table for the goal "every optimizer call under 1 ms at N = 20".

    Sample covariance of the last 1000 days of the 20 bundled stocks, ``mu`` its column means;
    every call with ndarray input and with the labelled DataFrame / Series.
    """
    R = load_sp500().returns().iloc[-1000:]
    frame_cov, frame_mu = R.cov(), R.mean()
    S, mu = frame_cov.to_numpy(), frame_mu.to_numpy()
    target = float(np.mean(mu))
    calls = {
        "min_variance": lambda c, m: min_variance(c),
        "min_variance bounds=(0, 0.1)": lambda c, m: min_variance(c, bounds=(0.0, 0.1)),
        "mean_variance target_return=mean(mu)": (
            lambda c, m: mean_variance(c, m, target_return=target)
        ),
        "mean_variance risk_aversion=10": lambda c, m: mean_variance(c, m, risk_aversion=10.0),
        "max_sharpe": lambda c, m: max_sharpe(c, m),
        "max_sharpe bounds=(0, 0.2)": lambda c, m: max_sharpe(c, m, bounds=(0.0, 0.2)),
        "max_diversification": lambda c, m: max_diversification(c),
        "hrp": lambda c, m: hrp(c),
        "risk_parity": lambda c, m: risk_parity(c),
        "nco": lambda c, m: nco(c),
        "inverse_volatility": lambda c, m: inverse_volatility(c),
        "optimize_with_fallback": lambda c, m: optimize_with_fallback(c),
        "unconstrained_mean_variance": lambda c, m: unconstrained_mean_variance(c, m),
    }
    jobs = {}
    for name, f in calls.items():
        jobs[(name, "ndarray")] = lambda f=f: f(S, mu)
        jobs[(name, "DataFrame")] = lambda f=f: f(frame_cov, frame_mu)
    times = interleaved(jobs)
    rows = []
    for name in calls:
        t_arr, t_df = times[(name, "ndarray")], times[(name, "DataFrame")]
        ok = " / ".join("yes" if t.median < 1e-3 else "no" for t in (t_arr, t_df))
        rows.append([name, t_arr.fmt(), t_df.fmt(), ok])
    print("\n### N = 20 regression: last 1000 days of the bundled stocks, median (min-max)\n")
    print(markdown_table(["call", "ndarray in", "DataFrame in", "< 1 ms (ndarray / frame)"], rows))


def main() -> None:
    warnings.filterwarnings("ignore")
    start = time.perf_counter()
    print("## QP optimizers: riskbook vs skfolio, PyPortfolioOpt, Riskfolio-Lib\n")
    print(machine_line())
    # riskbook alone first, before the peers' imports and warm-ups can disturb the machine.
    n20_every_call()
    small_calls()
    peers = load_peers()
    all_cases = cases()
    # Warm every library up once (imports, cvxpy's first compile) before any timing.
    for problem in ("min_variance", "max_sharpe", "mean_variance"):
        for fn in peer_calls(all_cases[0], problem, peers).values():
            fn()
    goals = run_problem("min_variance", all_cases, peers, skip_slow_at=None)
    print("\n### min_variance goal: at least 3x faster than the fastest peer at N = 500, 1000\n")
    rows = [[*row, "yes" if float(row[-1][:-1]) >= 3 else "no"] for row in goals]
    print(
        markdown_table(
            ["data", "N", "riskbook", "fastest peer", "ratio", ">= 3x"],
            rows,
        )
    )
    # The two informational problems skip skfolio and Riskfolio at N = 1000 (tens of seconds).
    run_problem("max_sharpe", all_cases, peers, skip_slow_at=1000)
    run_problem("mean_variance", all_cases, peers, skip_slow_at=1000)
    print(f"\n{machine_line()}; whole run {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    if "--n20" in sys.argv[1:]:
        print(machine_line())
        n20_every_call()
    else:
        main()
