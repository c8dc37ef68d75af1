"""The run registry: exact round trips, lookup, comparison, parallel writers and SIGKILL mid-save."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook.book import BookBuilder, BookConfig, demo_sleeves
from riskbook.data.store import fingerprint
from riskbook.errors import StoreError
from riskbook.report import registry as registry_module
from riskbook.report.registry import PAUSE_ENV, Registry

SYMBOLS = ["AAPL", "MSFT", "KO", "JPM"]


def equal_weight(view):
    return {s: 1.0 / len(view.symbols) for s in view.symbols}


def tilted(view):
    return {"AAPL": 0.4, "MSFT": 0.3, "KO": 0.2, "JPM": 0.1}


@pytest.fixture(scope="module")
def data(sp500):
    return sp500.select(SYMBOLS).slice("2018-01-01", "2020-12-31")


@pytest.fixture(scope="module")
def result(data):
    return riskbook.backtest(data, equal_weight, schedule="monthly", costs=5)


@pytest.fixture(scope="module")
def book_run(sp500):
    """A BookBuilder backtest: its history frame and last audit are tables worth storing."""
    builder = BookBuilder(demo_sleeves())
    result = riskbook.backtest(
        sp500.slice("2014-01-01", "2016-12-30"),
        builder,
        schedule="monthly",
        start="2015-06-01",
        account="margin",
        leverage=2.0,
    )
    return result, builder


def test_round_trip_is_exact(result, data, isolated_home):
    registry = Registry()
    assert registry.root == isolated_home / "runs"
    run = registry.save(result, name="ew", data=data, tags={"owner": "me"})
    again = Registry().get(run.run_id)
    pd.testing.assert_series_equal(again.equity, result.equity, check_exact=True)
    pd.testing.assert_series_equal(again.cash, result.cash, check_exact=True)
    pd.testing.assert_frame_equal(again.frame, result.to_frame(), check_exact=True)
    pd.testing.assert_frame_equal(again.weights, result.weights, check_exact=True)
    pd.testing.assert_frame_equal(again.trades, result.trades, check_exact=True)
    pd.testing.assert_frame_equal(again.orders, result.orders, check_exact=True)
    pd.testing.assert_frame_equal(again.reconciliation, result.reconciliation, check_exact=True)
    pd.testing.assert_series_equal(again.metrics, result.metrics(), check_exact=True)
    assert again.benchmark is None
    assert again.version == riskbook.__version__
    assert again.data_fingerprint == fingerprint(data)
    assert again.data["symbols"] == SYMBOLS
    assert again.symbols == tuple(SYMBOLS)
    assert again.settings["costs"] == result.settings["costs"]
    assert again.tags == {"owner": "me"}
    assert (again.name, again.kind) == ("ew", "backtest")
    assert again.created_at.tz is not None
    # the long weights keep only the non-zero cells, and agree with the wide frame
    long = again.weights_long
    assert list(long.columns) == ["date", "symbol", "weight"]
    assert (long["weight"] != 0).all()
    assert len(long) == int((result.weights.to_numpy() != 0).sum())


def test_benchmark_is_kept(data):
    result = riskbook.backtest(
        data, tilted, schedule="monthly", benchmark=riskbook.load_prices("sp500_index")
    )
    assert result.benchmark is not None
    run = Registry().save(result)
    pd.testing.assert_series_equal(run.benchmark, result.benchmark, check_exact=True)


def test_book_config_history_and_audit_round_trip(book_run):
    result, builder = book_run
    config = BookConfig.from_dict(
        {"portfolio_vol": {"target": 0.12}, "caps": {"clusters": {"tech": [["AAPL", "MSFT"], 0.3]}}}
    )
    history = builder.history_frame()
    audit = builder.last_book.audit_frame()
    run = Registry().save(
        result,
        name="book",
        config=config,
        tables={"history": history, "audit": audit, "sleeves": builder.last_book.weights_series()},
    )
    again = Registry().get(run.run_id)
    assert again.config_type == "riskbook.book.config.BookConfig"
    assert again.load_config() == config
    assert again.config["portfolio_vol"]["target"] == 0.12
    assert set(again.tables) == {"history", "audit", "sleeves"}
    pd.testing.assert_frame_equal(again.tables["history"], history, check_exact=True)
    pd.testing.assert_series_equal(
        again.table("sleeves"), builder.last_book.weights_series(), check_exact=True
    )
    stored = again.tables["audit"]
    pd.testing.assert_frame_equal(stored.drop(columns="info"), audit.drop(columns="info"))
    # the info dicts go through JSON: equal after the same trip
    assert list(stored["info"]) == [
        json.loads(json.dumps(registry_module._plain(i))) for i in audit["info"]
    ]
    with pytest.raises(StoreError, match="has no table 'ladder'") as err:
        again.table("ladder")
    assert err.value.parameter == "name"


def test_odd_tables_round_trip():
    index = pd.MultiIndex.from_tuples([("a", 1), ("b", 2), ("b", 3)], names=["k", None])
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan, -0.0],
            "i": np.array([1, -2, 3], dtype=np.int32),
            "b": [True, False, True],
            "s": pd.array(["x", None, "z"], dtype="str"),
            "t": pd.to_datetime(["2020-01-01 00:00", None, "2020-01-03 09:30"]),
            "tz": pd.to_datetime(["2020-01-01", "2020-06-01", "2021-01-01"]).tz_localize(
                "America/New_York"
            ),
            "td": pd.to_timedelta([1, 2, 3], unit="ns"),
            "cat": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi"], ordered=True),
            "ni": pd.array([1, None, 3], dtype="Int64"),
            "F": [np.inf, -np.inf, 1e-300],  # same name as "f" but for the case
            ("tuple", 1): [1, 2, 3],
        },
        index=index,
    )
    frame.columns.name = "field"
    empty = pd.DataFrame({"x": pd.Series([], dtype="float64")})
    no_columns = pd.DataFrame(index=pd.date_range("2020-01-01", periods=3, name="d"))
    run = Registry().save(
        riskbook.backtest(
            riskbook.load_prices("sp500").select(["KO"]).slice("2020", "2020-03-31"), equal_weight
        ),
        tables={"odd": frame, "empty": empty, "no_columns": no_columns},
    )
    again = Registry().get(run.run_id)
    pd.testing.assert_frame_equal(again.tables["odd"], frame, check_exact=True)
    pd.testing.assert_frame_equal(again.tables["empty"], empty)
    pd.testing.assert_frame_equal(again.tables["no_columns"], no_columns)


def test_bad_arguments_write_nothing(result, isolated_home):
    registry = Registry()
    with pytest.raises(StoreError) as err:
        registry.save(result, tables={"bad name!": pd.DataFrame({"x": [1]})})
    assert err.value.parameter == "tables"
    with pytest.raises(StoreError) as err:
        registry.save(result, tables={"x": [1, 2]})
    assert err.value.parameter == "tables['x']"
    with pytest.raises(StoreError) as err:
        registry.save(result, config=42)
    assert err.value.parameter == "config"
    with pytest.raises(StoreError) as err:
        registry.save("not a result")
    assert err.value.parameter == "result"
    assert registry.ids() == []
    assert not (isolated_home / "runs").exists()


def test_fingerprint_follows_the_data(data, result):
    registry = Registry()
    a = registry.save(result, data=data)
    b = registry.save(result, data=data)
    changed = riskbook.MarketData.from_arrays(
        data.dates, data.symbols, close=data.close * (1 + 1e-9)
    )
    c = registry.save(result, data=changed)
    d = registry.save(result, data=data.slice(None, "2020-12-30"))
    assert a.data_fingerprint == b.data_fingerprint == fingerprint(data)
    assert len({a.data_fingerprint, c.data_fingerprint, d.data_fingerprint}) == 3
    assert registry.save(result).data_fingerprint is None


def test_list_compare_and_config_diff(data, result):
    registry = Registry()
    other = riskbook.backtest(data, tilted, schedule="monthly", costs=5)
    a = registry.save(result, name="ew", config={"vol": 0.10, "caps": {"gross": 2.0}})
    b = registry.save(
        other, name="tilted", kind="sweep", config={"vol": 0.12, "caps": {"gross": 2.0}}
    )
    listing = registry.list()
    assert list(listing["run_id"]) == [b.run_id, a.run_id]  # newest first
    assert list(listing.columns) == [
        "run_id", "name", "kind", "created_at", "version", "data_fingerprint",
        "cagr", "volatility", "sharpe", "max_drawdown",
    ]  # fmt: skip
    assert listing.loc[1, "sharpe"] == result.metrics()["sharpe"]
    assert list(registry.list(kind="sweep")["name"]) == ["tilted"]
    assert len(registry.list(limit=1)) == 1
    table = registry.compare(a.run_id, b.run_id)
    assert list(table.columns) == [a.run_id, b.run_id, "difference"]
    ma, mb = result.metrics(), other.metrics()
    assert list(table.index) == list(ma.index)
    np.testing.assert_array_equal(table[a.run_id], ma.to_numpy())
    np.testing.assert_array_equal(table["difference"], mb.to_numpy() - ma.to_numpy())
    assert table.loc["sharpe", "difference"] == mb["sharpe"] - ma["sharpe"]
    diff = registry.config_diff(a.run_id, b.run_id)
    assert list(diff.index) == ["vol"] and diff.loc["vol"].tolist() == [0.10, 0.12]
    # the same numbers through SQL
    sql = registry.sql(
        "SELECT r.name, m.value FROM metrics m JOIN runs r USING (run_id) "
        "WHERE m.metric = 'sharpe' ORDER BY r.name"
    )
    assert sql["value"].tolist() == [ma["sharpe"], mb["sharpe"]]
    rows = registry.sql("SELECT run_id, count(*) AS n FROM weights GROUP BY run_id ORDER BY n")
    assert set(rows["run_id"]) == {a.run_id, b.run_id}
    trades = registry.sql("SELECT count(*) AS n FROM trades WHERE run_id = ?", [a.run_id])
    assert trades["n"].iloc[0] == len(result.trades)


def test_prefix_latest_and_unknown_ids(result, monkeypatch):
    registry = Registry()
    ids = iter(["20240101-000000-aaaaaa", "20240101-000000-aaaaab", "20240202-120000-c0ffee"])
    monkeypatch.setattr(registry_module, "new_run_id", lambda now=None: next(ids))
    first = registry.save(result, name="one")
    registry.save(result, name="two")
    third = registry.save(result, name="three")
    assert registry.get("20240202").run_id == third.run_id
    assert registry.get("20240101-000000-aaaaaa").name == "one"
    assert registry.get("latest").run_id == third.run_id
    with pytest.raises(StoreError, match="matches 2 runs") as err:
        registry.get("20240101")
    assert err.value.parameter == "run_id"
    with pytest.raises(StoreError, match=r"no run '20240101-000000-aaaaac'.*closest: 2024") as err:
        registry.get("20240101-000000-aaaaac")
    assert err.value.parameter == "run_id"
    assert "20240101-000000-aaaaaa" in str(err.value)
    assert registry.delete(first.run_id[:-1] + "a") == first.run_id
    assert first.run_id not in registry.ids()
    with pytest.raises(StoreError, match="deleted"):
        _ = first.trades  # lazily read from a folder that is gone
    with pytest.raises(StoreError, match="no run"):
        registry.delete(first.run_id)


def test_an_id_clash_draws_again(result, monkeypatch):
    registry = Registry()
    ids = iter(["20240101-000000-000000", "20240101-000000-000000", "20240101-000000-111111"])
    monkeypatch.setattr(registry_module, "new_run_id", lambda now=None: next(ids))
    a = registry.save(result, name="a")
    b = registry.save(result, name="b")
    assert (a.run_id, b.run_id) == ("20240101-000000-000000", "20240101-000000-111111")
    assert registry.get(a.run_id).name == "a"


def strategy_k(k):
    return lambda view: {"AAPL": 0.1 * (k + 1), "KO": 0.2}


def save_three(home, worker, barrier, queue):
    """One writer process: three runs, saved the moment every writer is ready."""
    try:
        data = riskbook.load_prices("sp500").select(SYMBOLS).slice("2018-01-01", "2020-12-31")
        results = [riskbook.backtest(data, strategy_k(k), schedule="monthly") for k in range(3)]
        registry = Registry(home)
        barrier.wait(timeout=60)
        ids = [
            registry.save(r, name=f"w{worker}-{k}", tags={"worker": worker, "k": k}).run_id
            for k, r in enumerate(results)
        ]
        queue.put((worker, ids))
    except BaseException as exc:
        queue.put((worker, repr(exc)))
        raise


def test_parallel_writers_lose_nothing(tmp_path, data):
    home, n = tmp_path / "home", 6
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["riskbook", "riskbook.report.registry", __name__])
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=save_three, args=(home, i, barrier, queue)) for i in range(n)]
    for p in procs:
        p.start()
    answers = dict(queue.get(timeout=120) for _ in range(n))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert all(isinstance(ids, list) for ids in answers.values()), answers
    saved = [run_id for ids in answers.values() for run_id in ids]
    registry = Registry(home)
    assert len(saved) == len(set(saved)) == 18
    assert sorted(registry.ids()) == sorted(saved)
    listing = registry.list()
    assert len(listing) == 18 and listing["run_id"].is_unique
    assert sorted(listing["name"]) == sorted(f"w{i}-{k}" for i in range(n) for k in range(3))
    for k in range(3):
        expected = riskbook.backtest(data, strategy_k(k), schedule="monthly")
        for run_id in listing.loc[listing["name"].str.endswith(f"-{k}"), "run_id"]:
            run = registry.get(run_id)
            assert run.tags["k"] == k
            pd.testing.assert_series_equal(run.equity, expected.equity, check_exact=True)
            pd.testing.assert_frame_equal(run.weights, expected.weights, check_exact=True)
            pd.testing.assert_frame_equal(run.trades, expected.trades, check_exact=True)
    assert os.listdir(registry.root / ".partial") == []


KILLED = textwrap.dedent(
    """
    import sys
    import numpy as np, pandas as pd
    import riskbook
    from riskbook.report.registry import Registry

    data = riskbook.load_prices("sp500").slice("2000-01-01", "2020-12-31")
    result = riskbook.backtest(data, lambda v: {s: 0.05 for s in v.symbols}, schedule="weekly")
    big = pd.DataFrame(np.random.default_rng(0).normal(size=(200_000, 8)), columns=list("abcdefgh"))
    Registry(sys.argv[1]).save(result, name="doomed", tables={"big": big, "after": big.head()})
    print("saved")
    """
)


@pytest.mark.parametrize("stage", ["after:tables/big.parquet", "commit"])
def test_sigkill_mid_save_keeps_the_previous_state(tmp_path, result, stage):
    home = tmp_path / "home"
    registry = Registry(home)
    before = [registry.save(result, name=f"kept-{i}").run_id for i in range(2)]
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, PAUSE_ENV: stage},
    )
    try:
        line = proc.stderr.readline()  # the save reached the stage (files half written)
        assert f"paused at {stage}" in line, line + proc.stderr.read()
        staging = list((registry.root / ".partial").iterdir())
        assert len(staging) == 1 and (staging[0] / "tables" / "big.parquet").exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    after = Registry(home)
    assert sorted(after.ids()) == sorted(before)
    assert list(after.list()["name"]) == ["kept-1", "kept-0"]
    assert "doomed" not in after.sql("SELECT name FROM runs")["name"].tolist()
    pd.testing.assert_series_equal(after.get(before[0]).equity, result.equity, check_exact=True)
    # the next save clears the dead process's staging folder
    after.save(result, name="next")
    assert os.listdir(after.root / ".partial") == []
    assert len(after.ids()) == 3


def test_stored_result_reads_like_the_backtest(data):
    result = riskbook.backtest(
        data, tilted, schedule="monthly", costs=5, benchmark=riskbook.load_prices("sp500_index")
    )
    stored = Registry().save(result).result()
    np.testing.assert_array_equal(stored.dates, result.dates)
    assert stored.dates.dtype == result.dates.dtype
    np.testing.assert_array_equal(stored.close, result.close)
    np.testing.assert_array_equal(stored.equity_values, result.equity_values)
    np.testing.assert_array_equal(stored.cash_values, result.cash_values)
    np.testing.assert_array_equal(stored.benchmark_values, result.benchmark_values)
    pd.testing.assert_series_equal(stored.daily_equity(), result.daily_equity(), check_exact=True)
    pd.testing.assert_series_equal(stored.metrics(), result.metrics(), check_exact=True)
    pd.testing.assert_frame_equal(stored.to_frame(), result.to_frame(), check_exact=True)
    pd.testing.assert_frame_equal(stored.weights, result.weights, check_exact=True)
    assert (stored.symbols, stored.frequency) == (result.symbols, result.frequency)
    assert (stored.initial_cash, stored.settings) == (result.initial_cash, result.settings)
    assert stored.notes == result.notes


def test_the_tear_sheet_rerenders_identically_from_the_registry(book_run):
    pytest.importorskip("plotly")
    from riskbook.report.tear_sheet import render

    result, builder = book_run
    history, audit = builder.history_frame(), builder.last_book.audit_frame()
    run = Registry().save(result, tables={"history": history, "audit": audit})
    again = Registry().get(run.run_id)
    rerendered = render(again.result(), history=again.tables["history"], audit=again.table("audit"))
    assert rerendered == render(result, history=history, audit=audit)


def test_summary_names_the_run(result, data):
    run = Registry().save(result, name="ew", data=data, tables={"x": pd.DataFrame({"a": [1]})})
    summary = run.summary()
    assert summary["run_id"] == run.run_id and summary["name"] == "ew"
    assert summary["data"] == data.name and summary["symbols"] == len(SYMBOLS)
    assert summary["bars"] == len(result.equity) and summary["tables"] == "x"
    assert summary["final_equity"] == result.equity.iloc[-1]
    assert summary["start"] == result.equity.index[0]
