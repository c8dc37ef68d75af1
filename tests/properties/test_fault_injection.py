"""Fault injection: a process SIGKILLed mid-write leaves the previous state intact.

- Store: an ingest of a large data set is killed after its new version is fully written to the
  temporary file but before the atomic swap (the ``RISKBOOK_STORE_PAUSE_AT=written`` hook); the
  previous version is still listed, loads bit-identically, no other data set appears, and the
  next ingest removes the dead process's temporary file.
- Registry: covered by ``tests/report/test_registry.py::test_sigkill_mid_save_keeps_the_previous_state``
  (killed mid-table and at the commit), not repeated here.
- Planner: a planner process killed between writing its temporary file and the swap leaves the
  old orders file byte-identical and no visible partial file. Failures raised mid-write are
  covered by ``tests/execute/test_planner.py::test_atomic_write_failure_mid_write_keeps_previous_file``.

Example counts: none (deterministic subprocess tests).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from riskbook.data.store import PAUSE_ENV, Store, fingerprint

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plan"

INGEST = textwrap.dedent(
    """
    import sys
    from riskbook.data.store import Store
    Store(sys.argv[1]).ingest(sys.argv[2], "prices")
    print("ingested")
    """
)


def run_killed(code: str, args: list[str], env: dict[str, str], marker: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        line = proc.stderr.readline()
        assert marker in line, line + proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_store_survives_sigkill_mid_ingest(tmp_path, sp500):
    home = tmp_path / "home"
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    sp500.select(["AAPL", "KO", "XOM"]).slice("2019-01-01", "2020-12-31").to_frame().to_csv(small)
    sp500.to_frame().to_csv(large)  # every symbol and date: 33 years x 20 names
    store = Store(home)
    store.ingest(small, "prices")
    store.ingest(small, "other")
    before_bytes = (store.root / "prices.parquet").read_bytes()
    before = store.load("prices")

    run_killed(INGEST, [str(home), str(large)], {PAUSE_ENV: "written"}, "paused at written")

    leftovers = [p.name for p in store.root.iterdir() if ".tmp-" in p.name]
    assert len(leftovers) == 1  # the dead process's complete-but-unswapped file
    visible = sorted(p.name for p in store.root.iterdir() if not p.name.startswith("."))
    assert visible == ["other.parquet", "prices.parquet"]
    assert [e.name for e in Store(home).list()] == ["other", "prices"]
    assert (store.root / "prices.parquet").read_bytes() == before_bytes
    after = Store(home).load("prices")
    assert fingerprint(after) == fingerprint(before)
    np.testing.assert_array_equal(after.close, before.close)

    # the next ingest sweeps the dead process's temporary file and swaps in the new version
    Store(home).ingest(large, "prices")
    assert sorted(os.listdir(store.root)) == ["other.parquet", "prices.parquet"]
    assert Store(home).entry("prices").n_dates == len(sp500.dates)


PLANNER = textwrap.dedent(
    """
    import os, sys, time
    import riskbook
    from riskbook.execute import planner

    real_replace = os.replace

    def stalled_replace(src, dst):
        print("temp written", file=sys.stderr, flush=True)
        time.sleep(600)
        real_replace(src, dst)

    planner.os.replace = stalled_replace
    ex = sys.argv[2]
    p = riskbook.plan(f"{ex}/holdings.csv", f"{ex}/targets.csv", f"{ex}/prices.csv",
                      cash=10_000.0, min_trade_value=float(sys.argv[3]))
    p.write_orders(sys.argv[1])
    """
)


def test_planner_killed_before_the_swap_leaves_the_old_file(tmp_path):
    import riskbook

    out = tmp_path / "orders.csv"
    old = riskbook.plan(
        EXAMPLE / "holdings.csv", EXAMPLE / "targets.csv", EXAMPLE / "prices.csv", cash=10_000.0
    ).write_orders(out)
    before = old.read_bytes()
    run_killed(PLANNER, [str(out), str(EXAMPLE), "500"], {}, "temp written")
    assert out.read_bytes() == before
    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert visible == ["orders.csv"]
    # the only other file is the dead process's hidden temporary, never a torn orders.csv
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert hidden and all(name.endswith(".tmp") for name in hidden)
    # the next write removes the dead writer's temporary
    riskbook.plan(
        EXAMPLE / "holdings.csv", EXAMPLE / "targets.csv", EXAMPLE / "prices.csv", cash=10_000.0
    ).write_orders(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv"]
