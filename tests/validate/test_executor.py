"""The executor returns the same results, in the same order, whichever backend runs it."""

import numpy as np
import pytest

from riskbook.errors import ConfigError
from riskbook.validate import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    resolve_executor,
    task_seeds,
)


def _noisy_mean(seed: np.random.SeedSequence) -> float:
    return float(np.random.default_rng(seed).standard_normal(1000).mean())


def _boom(x: int) -> int:
    if x == 2:
        raise ValueError("task 2 failed")
    return x


def test_processes_match_serial_bit_for_bit():
    seeds = task_seeds(42, 6)
    serial = SerialExecutor().map(_noisy_mean, seeds)
    parallel = ProcessExecutor(2).map(_noisy_mean, seeds)
    assert serial == parallel
    assert len(set(serial)) == 6  # independent streams, not one seed reused


def test_dask_local_cluster_matches_serial_bit_for_bit():
    distributed = pytest.importorskip("dask.distributed")
    seeds = task_seeds(42, 6)
    serial = SerialExecutor().map(_noisy_mean, seeds)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ticks = []
        ex = resolve_executor(client)
        assert ex.name.startswith("dask(")
        assert ex.map(_noisy_mean, seeds, progress=lambda d, n: ticks.append((d, n))) == serial
        assert ticks[-1] == (6, 6)
        # an address string works too
        assert resolve_executor(cluster.scheduler_address).map(_noisy_mean, seeds) == serial


def test_progress_reports_every_task():
    ticks = []
    SerialExecutor().map(abs, [-1, -2, -3], progress=lambda d, n: ticks.append((d, n)))
    assert ticks == [(1, 3), (2, 3), (3, 3)]
    ticks.clear()
    ProcessExecutor(2).map(abs, [-1, -2, -3], progress=lambda d, n: ticks.append((d, n)))
    assert sorted(ticks) == [(1, 3), (2, 3), (3, 3)]


def test_task_errors_propagate():
    with pytest.raises(ValueError, match="task 2 failed"):
        ProcessExecutor(2).map(_boom, [1, 2, 3])


@pytest.mark.parametrize("spec", ["threads", 0, -1, True, object()])
def test_bad_spec_is_a_config_error(spec):
    with pytest.raises(ConfigError) as err:
        resolve_executor(spec)
    assert err.value.parameter in {"executor", "workers"}


def test_unreachable_scheduler_is_a_config_error():
    pytest.importorskip("dask.distributed")
    with pytest.raises(ConfigError, match="cannot reach"):
        DaskExecutor("tcp://127.0.0.1:1", timeout="1s")
