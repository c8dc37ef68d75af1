"""Determinism: the same config and seed give bit-identical results, run after run, in a fresh
interpreter, and on every executor (serial, two local processes, a two-worker Dask cluster).

Example counts: none (deterministic; one tiny run per sweep and executor).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from riskbook.validate import (
    ProcessExecutor,
    SerialExecutor,
    monte_carlo_stress,
    pbo,
    sensitivity,
    walk_forward,
)

BACKTEST = textwrap.dedent(
    """
    import hashlib
    import riskbook
    from riskbook.book import BookBuilder, demo_sleeves

    def digest(result):
        h = hashlib.sha256()
        h.update(result.equity_values.tobytes())
        h.update(result.cash_values.tobytes())
        h.update(result.snapshots.tobytes())
        h.update(result.trades.to_csv(float_format="%.17g").encode())
        return h.hexdigest()

    def book_backtest():
        data = riskbook.load_prices("sp500").slice("2015-01-01", "2016-12-30")
        return riskbook.backtest(
            data, BookBuilder(demo_sleeves()), schedule="monthly", start="2016-01-01",
            account="margin", leverage=2.0, costs="ib",
        )
    """
)
namespace: dict = {}
exec(BACKTEST, namespace)
digest, book_backtest = namespace["digest"], namespace["book_backtest"]


def test_backtest_is_bit_identical_across_runs_and_interpreters():
    first, second = book_backtest(), book_backtest()
    np.testing.assert_array_equal(first.equity_values, second.equity_values)
    pd.testing.assert_frame_equal(first.trades, second.trades, check_exact=True)
    assert len(first.trades) > 0
    fresh = subprocess.run(
        [sys.executable, "-c", BACKTEST + "\nprint(digest(book_backtest()))"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert fresh.stdout.strip() == digest(first)


# ------------------------------------------------------------------ sweeps on every executor
def noisy_returns(params: dict) -> np.ndarray:
    """A top-level (picklable) sensitivity run: returns depend smoothly on the parameters."""
    rng = np.random.default_rng(7)
    base = rng.normal(0.0004, 0.01, 300)
    return base * params["scale"] + params["drift"] * 1e-4


def assert_identical(a, b, path="result"):
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            assert_identical(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=path)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=path)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
        assert a.dtype == b.dtype, path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            if k == "executor":  # the record of where it ran, e.g. "serial" vs "processes(2)"
                continue
            assert_identical(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), path
    else:
        assert a == b, path


def sweeps(executor, data, daily):
    trials = pd.DataFrame(
        np.random.default_rng(3).normal(0.0003, 0.01, size=(480, 12)),
        index=pd.bdate_range("2020-01-01", periods=480),
    )
    return {
        "monte_carlo_stress": monte_carlo_stress(
            daily, n_paths=300, horizon=63, chunk_size=50, seed=11, executor=executor
        ),
        "walk_forward": walk_forward(data, train=126, test=21, executor=executor),
        "pbo": pbo(trials, n_partitions=8, executor=executor, chunk_size=10),
        "sensitivity": sensitivity(noisy_returns, {"scale": 1.0, "drift": 1.0}, executor=executor),
    }


@pytest.fixture(scope="module")
def inputs(sp500):
    data = sp500.select(["AAPL", "JNJ", "KO", "XOM", "MSFT"]).slice("2018-01-01", "2019-12-31")
    daily = data.to_frame().pct_change().dropna().mean(axis=1).to_numpy()
    return data, daily


@pytest.fixture(scope="module")
def serial(inputs):
    return sweeps(SerialExecutor(), *inputs)


def test_sweeps_are_identical_across_serial_runs(serial, inputs):
    assert_identical(serial, sweeps("serial", *inputs))


def test_sweeps_are_identical_on_local_processes(serial, inputs):
    assert_identical(serial, sweeps(ProcessExecutor(2), *inputs))


def test_sweeps_are_identical_on_a_dask_cluster(serial, inputs):
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert_identical(serial, sweeps(client, *inputs))
