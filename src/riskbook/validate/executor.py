"""One executor for every sweep: serial, local processes, or a Dask cluster.

Walk-forward folds, parameter grids, Monte Carlo paths and PBO trials all go through
:func:`resolve_executor(spec).map(fn, items) <resolve_executor>`. Results come back in the order
of ``items`` whichever executor ran them, and each task gets its randomness only from
:func:`task_seeds`, so serial, multi-process and Dask runs are bit-for-bit identical.

Examples
--------
>>> ex = resolve_executor("serial")
>>> ex.map(abs, [-2, 3, -5])
[2, 3, 5]
>>> [int(s.generate_state(1)[0]) for s in task_seeds(7, 2)] == [
...     int(s.generate_state(1)[0]) for s in task_seeds(7, 2)]
True
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from riskbook.errors import ConfigError

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each finished task."""


class Executor(Protocol):
    """Anything with an order-preserving ``map``."""

    name: str

    def map(
        self, fn: Callable[[Any], Any], items: Iterable[Any], *, progress: Progress | None = None
    ) -> list[Any]: ...


class SerialExecutor:
    """Run tasks one after another in this process (the reference for determinism).

    Examples
    --------
    >>> SerialExecutor().map(lambda x: x * x, range(4))
    [0, 1, 4, 9]
    """

    name = "serial"

    def map(
        self, fn: Callable[[Any], Any], items: Iterable[Any], *, progress: Progress | None = None
    ) -> list[Any]:
        items = list(items)
        out = []
        for i, item in enumerate(items, 1):
            out.append(fn(item))
            if progress is not None:
                progress(i, len(items))
        return out


class ProcessExecutor:
    """Run tasks on local worker processes (``forkserver``: safe with threaded BLAS).

    Parameters
    ----------
    workers : int, optional
        Number of processes; all cores by default.

    Examples
    --------
    >>> ProcessExecutor(2).workers
    2
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}", parameter="workers")
        self.workers = workers or os.cpu_count() or 1
        self.name = f"processes({self.workers})"

    def map(
        self, fn: Callable[[Any], Any], items: Iterable[Any], *, progress: Progress | None = None
    ) -> list[Any]:
        items = list(items)
        if len(items) <= 1 or self.workers == 1:
            return SerialExecutor().map(fn, items, progress=progress)
        ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has riskbook (numpy, scipy, pandas) imported once,
        # instead of each re-importing it: seconds saved on every pool start.
        ctx.set_forkserver_preload(["riskbook", "riskbook.validate"])
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=ctx
        ) as pool:
            futures = [pool.submit(fn, item) for item in items]
            return _gather(futures, progress, concurrent.futures.as_completed)


class DaskExecutor:
    """Run tasks on a Dask distributed cluster.

    Parameters
    ----------
    client : dask.distributed.Client or str
        A connected client, or a scheduler address such as ``"tcp://host:8786"``.
    timeout : str, default "10s"
        How long to wait for the scheduler when given an address.
    """

    def __init__(self, client: Any, *, timeout: str = "10s") -> None:
        try:
            from dask.distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ConfigError(
                "a Dask cluster needs the 'cluster' extra: pip install 'riskbook[cluster]'",
                parameter="cluster",
            ) from exc
        if isinstance(client, str):
            try:
                client = Client(client, timeout=timeout)
            except OSError as exc:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {client!r}: {exc}", parameter="cluster"
                ) from exc
        self.client = client
        self.name = f"dask({client.scheduler.address})"

    def map(
        self, fn: Callable[[Any], Any], items: Iterable[Any], *, progress: Progress | None = None
    ) -> list[Any]:
        items = list(items)
        # pure=False: identical items are still separate tasks (e.g. two folds with equal args).
        from dask.distributed import as_completed

        futures = self.client.map(fn, items, pure=False)
        return _gather(futures, progress, as_completed)


def _gather(futures: Sequence[Any], progress: Progress | None, as_completed: Callable) -> list[Any]:
    if progress is not None:
        for done, _ in enumerate(as_completed(futures), 1):
            progress(done, len(futures))
    return [f.result() for f in futures]


def resolve_executor(spec: Any = None) -> Executor:
    """Turn a user's choice into an executor.

    Parameters
    ----------
    spec : None, str, int, Executor or dask.distributed.Client
        ``None`` or ``"processes"``: all local cores; ``"serial"`` or ``1``: this process;
        an int ``n``: ``n`` processes; ``"tcp://host:port"``: that Dask scheduler; a Dask
        ``Client``; or an object that already has ``map``.

    Examples
    --------
    >>> resolve_executor(1).name
    'serial'
    >>> resolve_executor("nonsense")
    Traceback (most recent call last):
    ...
    riskbook.errors.ConfigError: unknown executor 'nonsense': use 'serial', 'processes', a worker count, a tcp:// scheduler address or a dask Client [parameter=executor]
    """
    if isinstance(spec, bool):
        raise ConfigError(f"unknown executor {spec!r}", parameter="executor")
    if spec is None or spec == "processes":
        return ProcessExecutor()
    if spec == "serial" or spec == 1:
        return SerialExecutor()
    if isinstance(spec, int):
        return ProcessExecutor(spec)
    if isinstance(spec, str):
        if "://" in spec:
            return DaskExecutor(spec)
        raise ConfigError(
            f"unknown executor {spec!r}: use 'serial', 'processes', a worker count, "
            "a tcp:// scheduler address or a dask Client",
            parameter="executor",
        )
    if type(spec).__name__ == "Client" and hasattr(spec, "scheduler"):
        return DaskExecutor(spec)
    if callable(getattr(spec, "map", None)):
        return spec
    raise ConfigError(f"unknown executor {spec!r}", parameter="executor")


def task_seeds(seed: int | None, n: int) -> list[np.random.SeedSequence]:
    """Independent, reproducible seeds for ``n`` tasks, the same on any executor.

    Examples
    --------
    >>> len(task_seeds(0, 3))
    3
    """
    return np.random.SeedSequence(seed).spawn(n)
