"""The run registry: every run kept under ``$RISKBOOK_HOME/runs``, one folder a run, read with DuckDB.

A run is everything needed to look at it again, compare it and re-render its tear sheet: who
made it (riskbook version, time, host), from what (the configuration as JSON, the fingerprint of
the market data), what it did (equity, cash, benchmark, weights over time, trades, orders,
reconciliation) and what came of it (the metrics), plus any named tables a caller adds (the book's
history and last audit, a validation ladder, ...).

Layout::

    $RISKBOOK_HOME/runs/<run_id>/run.parquet             one row: the header (JSON for the rest)
                                 metrics.parquet         metric, value
                                 equity.parquet          per bar: equity, cash, return, drawdown,
                                                         gross_exposure (and benchmark)
                                 weights.parquet         long: date, symbol, weight (non-zero)
                                 close.parquet           closes of the traded bars (wide)
                                 trades.parquet, orders.parquet, reconciliation.parquet
                                 tables/<name>.parquet   the caller's tables
    $RISKBOOK_HOME/runs/.partial/                        saves in progress (never read)

Why a folder of Parquet files per run and not one DuckDB database file
---------------------------------------------------------------------
DuckDB lets one process at a time open a database file for writing, and while it does no other
process may even read the file. Parallel savers (a sweep on a process pool) would queue on that
lock with retries and timeouts, ``riskbook runs list`` would wait for the slowest of them, a
notebook that kept a connection open would block everyone, and the lock is unreliable on the
shared file systems a cluster writes to. Here no process ever waits for another: each save writes
into a staging folder of its own, so parallel savers cannot lose or mix each other's runs.

The transaction is one rename, as in the price store (:mod:`riskbook.data.store`): a save encodes
everything in memory first (a bad table raises before anything is written), writes and fsyncs every
file in ``.partial/<token>``, then moves the folder to ``runs/<run_id>`` with one ``os.rename``,
atomic within a file system. A reader sees all of a run or none of it; a process killed at any
moment, even by SIGKILL, leaves at most a staging folder that readers never look at and the next
save on that host removes once its process is gone. ``rename`` refuses to replace an existing run,
so two savers that drew the same id cannot overwrite each other: the loser draws again.

DuckDB reads the files: :meth:`Registry.sql` opens views ``runs``, ``metrics``, ``equity``,
``weights`` and ``trades`` over every committed run, so runs can be compared in SQL.
``RunRecord.result()`` reads a run back with the attributes a report reads from a
``BacktestResult``, so the tear sheet re-renders from the registry alone.

Tables round-trip exactly for numeric, boolean, string, datetime (with or without a time zone),
timedelta and categorical columns and any index; object columns of other values (the audit's
``info`` dicts) are stored as JSON, so dicts and lists come back as dicts and lists, tuples and
arrays as lists, and any other object as its ``repr``.

Examples
--------
>>> import tempfile, riskbook
>>> from riskbook.report.registry import Registry
>>> data = riskbook.load_prices("sp500").select(["AAPL", "KO"]).slice("2019-01-01", "2019-12-31")
>>> result = riskbook.backtest(data, lambda view: {"AAPL": 0.5, "KO": 0.5})
>>> registry = Registry(tempfile.mkdtemp())
>>> run = registry.save(result, name="half-half", data=data)
>>> again = registry.get(run.run_id[:15])  # any unique prefix of the id
>>> again.equity.equals(result.equity), again.weights.equals(result.weights)
(True, True)
>>> list(registry.list()["name"])
['half-half']
>>> float(registry.compare(run.run_id, run.run_id).loc["sharpe", "difference"])
0.0
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import difflib
import enum
import json
import math
import os
import secrets
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskbook._files import pid_alive
from riskbook.data.store import META_KEY, NAME_PATTERN, _fsync_dir, fingerprint, riskbook_home
from riskbook.errors import StoreError

__all__ = ["HEADLINE_METRICS", "Registry", "RunRecord", "StoredResult"]

FORMAT = 1
RUNS_DIR = "runs"
PARTIAL_DIR = ".partial"
HEADER_FILE = "run.parquet"
TABLES_DIR = "tables"
HEADLINE_METRICS = ("cagr", "volatility", "sharpe", "max_drawdown")
STALE_AFTER = 7 * 24 * 3600.0  # a staging folder this old is removed whoever wrote it
# Test hook: a save pauses (sleeps) when it reaches the named stage, so a test can kill it there.
# Stages are "after:<file>" (e.g. "after:weights.parquet") and "commit" (before the rename).
PAUSE_ENV = "RISKBOOK_REGISTRY_PAUSE_AT"

_LIST_COLUMNS = ("run_id", "name", "kind", "created_at", "version", "data_fingerprint")


# ---------------------------------------------------------------------------------- JSON values
def _plain(obj: Any) -> Any:
    """``obj`` as plain JSON values (str keys); unknown objects become their repr."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, pd.Timestamp | _dt.datetime | _dt.date | np.datetime64):
        return str(pd.Timestamp(obj)) if isinstance(obj, np.datetime64) else obj.isoformat()
    if isinstance(obj, pd.Timedelta | _dt.timedelta | np.timedelta64):
        return str(pd.Timedelta(obj))
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, enum.Enum):
        return _plain(obj.value)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, pd.DataFrame):
        return _plain(obj.to_dict(orient="split"))
    if isinstance(obj, pd.Series):
        return {_key(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, Mapping):
        return {_key(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, set | frozenset):
        try:
            return [_plain(v) for v in sorted(obj)]
        except TypeError:
            return [_plain(v) for v in obj]
    if isinstance(obj, list | tuple | np.ndarray | pd.Index):
        return [_plain(v) for v in obj]
    if hasattr(obj, "model_dump"):  # a pydantic model
        return _plain(obj.model_dump())
    return repr(obj)


def _key(key: Any) -> str:
    value = _plain(key)
    return value if isinstance(value, str) else json.dumps(value)


def _dumps(obj: Any) -> str:
    return json.dumps(_plain(obj), allow_nan=True)


def _label_out(label: Any) -> Any:
    """A row or column label as JSON, tagged where JSON would lose its type."""
    if label is None or isinstance(label, bool | int | float | str):
        return label
    if isinstance(label, np.generic) and not isinstance(label, np.datetime64 | np.timedelta64):
        return label.item()
    if isinstance(label, tuple):
        return {"tuple": [_label_out(v) for v in label]}
    if isinstance(label, pd.Timestamp | _dt.datetime | np.datetime64):
        return {"timestamp": str(pd.Timestamp(label))}
    return str(label)


def _label_in(value: Any) -> Any:
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(_label_in(v) for v in value["tuple"])
        if "timestamp" in value:
            return pd.Timestamp(value["timestamp"])
    return value


# ---------------------------------------------------------------------------------- frame codec
def _encode_values(values: pd.Series, where: str) -> tuple[Any, dict[str, Any]]:
    """A column as something DuckDB writes to Parquet losslessly, and how to undo that."""
    dtype = values.dtype
    spec: dict[str, Any] = {"dtype": str(dtype)}
    if isinstance(dtype, pd.CategoricalDtype):
        spec |= {
            "codec": "category",
            "categories": [_label_out(c) for c in dtype.categories],
            "categories_dtype": str(dtype.categories.dtype),
            "ordered": bool(dtype.ordered),
        }
        return values.cat.codes.to_numpy().astype(np.int64), spec
    if isinstance(dtype, pd.DatetimeTZDtype):
        naive = values.dt.tz_convert("UTC").dt.tz_localize(None)
        spec |= {"codec": "tz", "tz": str(dtype.tz), "naive": str(naive.dtype)}
        return naive.to_numpy(), spec
    if pd.api.types.is_timedelta64_dtype(dtype):
        spec["codec"] = "timedelta"
        return values.to_numpy().view(np.int64), spec
    if pd.api.types.is_object_dtype(dtype):
        items = values.tolist()
        if all(isinstance(v, str) or _is_missing(v) for v in items):
            spec["codec"] = "text"
            return pd.array([None if _is_missing(v) else v for v in items], dtype="str"), spec
        spec["codec"] = "json"
        text = [None if _is_missing(v) else json.dumps(_plain(v), allow_nan=True) for v in items]
        return pd.array(text, dtype="str"), spec
    if pd.api.types.is_complex_dtype(dtype) or not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_datetime64_dtype(dtype)
    ):
        raise StoreError(f"cannot store a column of dtype {dtype}", parameter=where)
    return values.array, spec


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _decode_values(values: pd.Series, spec: dict[str, Any]) -> Any:
    codec = spec.get("codec")
    if codec == "category":
        categories = pd.Index(
            [_label_in(c) for c in spec["categories"]], dtype=spec["categories_dtype"]
        )
        codes = values.to_numpy(dtype=np.int64)
        return pd.Categorical.from_codes(codes, categories=categories, ordered=spec["ordered"])
    if codec == "tz":
        naive = pd.Series(values.to_numpy()).astype(spec["naive"])
        return naive.dt.tz_localize("UTC").dt.tz_convert(spec["tz"]).array
    if codec == "timedelta":
        return values.to_numpy(dtype=np.int64).view(spec["dtype"])
    if codec in ("text", "json"):
        out = np.empty(len(values), dtype=object)
        raw = values.astype(object).tolist()
        out[:] = [
            None if _is_missing(v) else (json.loads(v) if codec == "json" else v) for v in raw
        ]
        return out
    return values.astype(spec["dtype"]).array


def _safe_name(label: Any, fallback: str, used: set[str]) -> str:
    name = label if isinstance(label, str) and label and not label.startswith("__") else fallback
    if name.lower() in used:  # DuckDB column names are case-insensitive
        name = fallback
    used.add(name.lower())
    return name


def _encode_frame(obj: Any, where: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A DataFrame or Series as a flat frame of DuckDB-friendly columns plus its restore recipe."""
    if isinstance(obj, pd.Series):
        meta: dict[str, Any] = {"type": "series", "name": _label_out(obj.name)}
        frame = obj.to_frame(name="value")
    elif isinstance(obj, pd.DataFrame):
        meta = {"type": "frame"}
        frame = obj
    else:
        raise StoreError(
            f"{where} must be a DataFrame or Series, got {type(obj).__name__}", parameter=where
        )
    used: set[str] = set()
    flat: dict[str, Any] = {}
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        meta["index"] = None
        meta["index_name"] = _label_out(index.name)
    else:
        meta["index"] = []
        for level in range(index.nlevels):
            values = pd.Series(index.get_level_values(level))
            column = _safe_name(index.names[level], f"__index_{level}__", used)
            flat[column], spec = _encode_values(values, f"{where} index")
            meta["index"].append(
                {"label": _label_out(index.names[level]), "column": column, **spec}
            )
        freq = getattr(index, "freqstr", None)  # a DatetimeIndex's or TimedeltaIndex's
        if freq is not None:
            meta["index_freq"] = freq
    columns = frame.columns
    meta["columns_range"] = isinstance(columns, pd.RangeIndex)
    meta["columns_names"] = [_label_out(n) for n in columns.names]
    meta["columns_dtype"] = str(columns.dtype) if columns.nlevels == 1 else None
    meta["columns"] = []
    for position, label in enumerate(columns):
        column = _safe_name(label, f"__col_{position}__", used)
        values = frame.iloc[:, position]
        flat[column], spec = _encode_values(values, f"{where}[{label!r}]")
        meta["columns"].append({"label": _label_out(label), "column": column, **spec})
    if not flat:  # DuckDB needs a column; a frame without any keeps its row count
        flat["__rows__"] = np.zeros(len(frame), dtype=bool)
    return pd.DataFrame(flat, index=pd.RangeIndex(len(frame))), meta


def _decode_frame(flat: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame | pd.Series:
    if meta["index"] is None:
        index: pd.Index = pd.RangeIndex(len(flat), name=_label_in(meta.get("index_name")))
    else:
        arrays = [_decode_values(flat[s["column"]], s) for s in meta["index"]]
        names = [_label_in(s["label"]) for s in meta["index"]]
        if len(arrays) == 1:
            index = pd.Index(arrays[0], name=names[0])
            if meta.get("index_freq"):
                index = type(index)(index, freq=meta["index_freq"])
        else:
            index = pd.MultiIndex.from_arrays(arrays, names=names)
    data = {i: _decode_values(flat[s["column"]], s) for i, s in enumerate(meta["columns"])}
    frame = pd.DataFrame(data, index=index) if data else pd.DataFrame(index=index)
    labels = [_label_in(s["label"]) for s in meta["columns"]]
    names = [_label_in(n) for n in meta["columns_names"]]
    if meta["columns_range"]:
        frame.columns = pd.RangeIndex(len(labels), name=names[0])
    elif len(names) > 1:
        frame.columns = pd.MultiIndex.from_tuples(labels, names=names)
    else:
        try:
            frame.columns = pd.Index(labels, dtype=meta["columns_dtype"], name=names[0])
        except (TypeError, ValueError):
            frame.columns = pd.Index(labels, name=names[0])
    if meta["type"] == "series":
        return frame.iloc[:, 0].rename(_label_in(meta["name"]))
    return frame


_BASE: tuple[int, Any] | None = None
_BASE_LOCK = threading.Lock()


def _database() -> Any:
    """This process's in-memory DuckDB: connecting costs ~20 ms, a cursor on it ~nothing."""
    import duckdb

    global _BASE
    with _BASE_LOCK:
        if _BASE is None or _BASE[0] != os.getpid():  # a forked child makes its own
            _BASE = (os.getpid(), duckdb.connect())
        return _BASE[1]


@contextlib.contextmanager
def _duck() -> Iterator[Any]:
    """A cursor (its own connection) on :func:`_database`, closed after use."""
    cursor = _database().cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write_parquet(con: Any, flat: pd.DataFrame, meta: dict[str, Any], path: Path) -> None:
    blob = json.dumps(meta, allow_nan=True)
    con.register("riskbook_table", flat)
    try:
        con.execute(
            f"COPY riskbook_table TO {_sql_text(path.as_posix())} "
            f"(FORMAT PARQUET, KV_METADATA {{{META_KEY}: {_sql_text(blob)}}})"
        )
    finally:
        con.unregister("riskbook_table")
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _read_parquet(path: Path) -> pd.DataFrame | pd.Series:
    return _read_parquet_meta(path)[0]


def _read_parquet_meta(path: Path) -> tuple[pd.DataFrame | pd.Series, dict[str, Any]]:
    import duckdb

    try:
        with _duck() as con:
            rows = con.execute(
                "SELECT value FROM parquet_kv_metadata(?) WHERE key = ?", [str(path), META_KEY]
            ).fetchall()
            flat = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).df()
    except duckdb.Error as exc:
        raise StoreError(f"cannot read a stored run file: {exc}", file=str(path)) from exc
    if not rows:
        raise StoreError("stored run file has no riskbook metadata", file=str(path))
    raw = rows[0][0]
    meta = json.loads(raw.decode() if isinstance(raw, bytes | bytearray) else raw)
    return _decode_frame(flat, meta), meta


# ---------------------------------------------------------------------------------- helpers
def _now() -> pd.Timestamp:
    return pd.Timestamp(_dt.datetime.now(_dt.UTC))


def new_run_id(now: pd.Timestamp | None = None) -> str:
    """A run id: the UTC time to the second, then 6 random hex digits (``20240521-143015-3fa9c2``).

    Ids sort by time; the random part keeps ids from parallel processes apart, and a clash is
    caught anyway by the rename that commits a run.
    """
    now = _now() if now is None else now
    return f"{now.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def _checkpoint(stage: str) -> None:
    """The test hook: sleep at ``stage`` when ``$RISKBOOK_REGISTRY_PAUSE_AT`` names it."""
    if os.environ.get(PAUSE_ENV) == stage:
        print(f"riskbook registry: paused at {stage}", file=sys.stderr, flush=True)
        time.sleep(600)


def _flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(config, dict):
        out: dict[str, Any] = {}
        for key, value in config.items():
            out |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix or "config": config}


def _config_json(config: Any) -> tuple[str | None, str | None]:
    """(config as JSON, its type's qualified name) for a dataclass, pydantic model, dict or None."""
    if config is None:
        return None, None
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        kind = f"{type(config).__module__}.{type(config).__qualname__}"
        return _dumps(config), kind
    if hasattr(config, "model_dump"):
        kind = f"{type(config).__module__}.{type(config).__qualname__}"
        return _dumps(config.model_dump()), kind
    if isinstance(config, Mapping):
        return _dumps(dict(config)), None
    raise StoreError(
        f"config must be a dataclass (e.g. BookConfig), a dict or None, got {type(config).__name__}",
        parameter="config",
    )


def _data_facts(data: Any) -> tuple[str | None, dict[str, Any]]:
    """(fingerprint, description) of the market data a run used."""
    if data is None:
        return None, {}
    if isinstance(data, str):
        return data, {}
    from riskbook.data.market_data import MarketData

    if isinstance(data, MarketData):
        return fingerprint(data), {
            "name": data.name,
            "frequency": data.frequency,
            "symbols": list(data.symbols),
            "start": str(data.start),
            "end": str(data.end),
            "n_dates": len(data.dates),
        }
    found = getattr(data, "fingerprint", None)  # e.g. a StoreEntry
    if isinstance(found, str):
        return found, {"name": getattr(data, "name", None)}
    raise StoreError(
        f"data must be MarketData, a fingerprint string or None, got {type(data).__name__}",
        parameter="data",
    )


# ---------------------------------------------------------------------------------- records
class _Tables(Mapping):
    """The named tables of a run, each read on first access."""

    def __init__(self, record: RunRecord) -> None:
        self._record = record
        self._cache: dict[str, pd.DataFrame | pd.Series] = {}

    def __getitem__(self, name: str) -> pd.DataFrame | pd.Series:
        if name not in self._record.table_names:
            raise KeyError(name)
        if name not in self._cache:
            self._cache[name] = self._record._read(f"{TABLES_DIR}/{name}.parquet")
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._record.table_names)

    def __len__(self) -> int:
        return len(self._record.table_names)

    def __repr__(self) -> str:
        return f"<tables of run {self._record.run_id}: {', '.join(self) or 'none'}>"


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One stored run: its header at once, its series and tables read from disk on first access.

    Attributes
    ----------
    run_id, name, kind, created_at, version
        Identity: ``created_at`` is a UTC timestamp, ``version`` riskbook's at save time.
    data_fingerprint, data
        SHA-256 of the market data (:func:`riskbook.data.store.fingerprint`) and its name,
        symbols, span and frequency; None / empty when the save was not given the data.
    config, config_type
        The configuration as a JSON dict (None if none) and the qualified name of its class.
    metrics
        ``result.metrics()`` as saved.
    tags, settings, notes, symbols, frequency, table_names, files, path
        The caller's tags, the engine's settings, its notes, the traded symbols, the bar
        frequency, the names of the extra tables, the stored files, and the run's folder.

    The series and tables (``frame``, ``equity``, ``cash``, ``benchmark``, ``weights``,
    ``weights_long``, ``close``, ``trades``, ``orders``, ``reconciliation``, ``tables``) are
    read on first access; :meth:`result` gives them the shape of a ``BacktestResult``.
    """

    run_id: str
    name: str | None
    kind: str
    created_at: pd.Timestamp
    version: str
    data_fingerprint: str | None
    data: dict[str, Any]
    config: dict[str, Any] | None
    config_type: str | None
    metrics: pd.Series
    tags: Any
    settings: dict[str, Any]
    notes: tuple[str, ...]
    symbols: tuple[str, ...]
    frequency: str | None
    table_names: tuple[str, ...]
    files: tuple[str, ...]
    path: Path
    _header: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def _file(self, file: str) -> Path:
        path = self.path / file
        if not path.exists():
            raise StoreError(
                "the run's file is missing (was the run deleted?)", run_id=self.run_id, file=file
            )
        return path

    def _read(self, file: str) -> Any:
        return _read_parquet(self._file(file))

    @cached_property
    def frame(self) -> pd.DataFrame:
        """Per bar: equity, cash, return, drawdown, gross exposure (and benchmark)."""
        return self._read("equity.parquet")

    @property
    def equity(self) -> pd.Series:
        return self.frame["equity"].rename("equity")

    @property
    def cash(self) -> pd.Series | None:
        return self.frame["cash"].rename("cash") if "cash" in self.frame else None

    @property
    def benchmark(self) -> pd.Series | None:
        return self.frame["benchmark"].rename("benchmark") if "benchmark" in self.frame else None

    @cached_property
    def _weights_stored(self) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        if "weights.parquet" not in self.files:
            return None
        return _read_parquet_meta(self._file("weights.parquet"))

    @property
    def weights_long(self) -> pd.DataFrame | None:
        """The stored weights: one row per (date, symbol) with a non-zero weight."""
        stored = self._weights_stored
        return None if stored is None else stored[0]

    @cached_property
    def weights(self) -> pd.DataFrame | None:
        """Weights over time, wide (dates x symbols), as ``result.weights``."""
        if self._weights_stored is None:
            return None
        long, meta = self._weights_stored
        wide = meta["weights"]
        name = _label_in(wide["index_name"])
        if wide["dense"]:
            index = pd.Index(pd.unique(long.iloc[:, 0]), name=name)
        else:
            index = self.frame.index
        columns_name = _label_in(wide["columns_name"])
        try:
            columns = pd.Index(wide["symbols"], dtype=wide["columns_dtype"], name=columns_name)
        except (TypeError, ValueError):
            columns = pd.Index(wide["symbols"], name=columns_name)
        table = np.zeros((len(index), len(columns)))
        rows = index.get_indexer(long.iloc[:, 0])
        cols = columns.get_indexer(long.iloc[:, 1])
        table[rows, cols] = long.iloc[:, 2].to_numpy(dtype=np.float64)
        return pd.DataFrame(table, index=index, columns=columns)

    @cached_property
    def trades(self) -> pd.DataFrame | None:
        """Every fill, as ``result.trades``."""
        return self._read("trades.parquet") if "trades.parquet" in self.files else None

    @cached_property
    def orders(self) -> pd.DataFrame | None:
        return self._read("orders.parquet") if "orders.parquet" in self.files else None

    @cached_property
    def reconciliation(self) -> pd.DataFrame | None:
        return (
            self._read("reconciliation.parquet") if "reconciliation.parquet" in self.files else None
        )

    @cached_property
    def tables(self) -> Mapping[str, pd.DataFrame | pd.Series]:
        """The caller's named tables (``history``, ``audit``, ...), each read on first access."""
        return _Tables(self)

    def table(self, name: str) -> pd.DataFrame | pd.Series:
        """One named table; StoreError naming the ones there are if ``name`` is not stored."""
        if name not in self.table_names:
            raise StoreError(
                f"run has no table {name!r}; it has: {', '.join(self.table_names) or 'none'}",
                parameter="name",
                run_id=self.run_id,
            )
        return self.tables[name]

    @cached_property
    def close(self) -> pd.DataFrame | None:
        """Closes of the bars the run traded on (dates x symbols), as ``result.close``."""
        return self._read("close.parquet") if "close.parquet" in self.files else None

    @property
    def initial_cash(self) -> float:
        return float(self.header_value("initial_cash"))

    def header_value(self, key: str) -> Any:
        """One raw field of the stored header (``host``, ``pid``, ``n_bars``, ...)."""
        return self._header.get(key)

    def summary(self) -> pd.Series:
        """The header as one labelled Series, for ``riskbook runs show``."""
        head = self._header
        data = self.data or {}
        return pd.Series(
            {
                "run_id": self.run_id,
                "name": self.name,
                "kind": self.kind,
                "created_at": self.created_at,
                "version": self.version,
                "host": head.get("host"),
                "data": data.get("name"),
                "data_fingerprint": self.data_fingerprint,
                "frequency": self.frequency,
                "symbols": len(self.symbols),
                "start": head.get("start"),
                "end": head.get("end"),
                "bars": head.get("n_bars"),
                "initial_cash": head.get("initial_cash"),
                "final_equity": head.get("final_equity"),
                "config": self.config_type or ("dict" if self.config is not None else None),
                "tags": self.tags,
                "tables": ", ".join(self.table_names),
            },
            dtype=object,
            name=self.run_id,
        )

    def result(self) -> StoredResult:
        """The run with the reading surface of :class:`~riskbook.BacktestResult`, so reports
        take it in place of the original: ``tear_sheet(record.result(), path, ...)``."""
        return StoredResult(self)

    def load_config(self) -> Any:
        """The configuration as its original riskbook class (e.g. ``BookConfig``) when it has a
        ``from_dict``, else the JSON dict."""
        import importlib

        kind = self.config_type
        if self.config is None or not kind or not kind.startswith("riskbook."):
            return self.config
        module, _, qualname = kind.rpartition(".")
        cls = getattr(importlib.import_module(module), qualname, None)
        from_dict = getattr(cls, "from_dict", None)
        return from_dict(self.config) if callable(from_dict) else self.config

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<RunRecord {self.run_id}{label} kind={self.kind} version={self.version}>"


class StoredResult:
    """A stored run read back with the attributes and methods of a ``BacktestResult`` that
    reports read: ``symbols``, ``dates``, ``close``, ``frequency``, ``initial_cash``,
    ``settings``, ``notes``, ``equity`` / ``equity_values``, ``cash`` / ``cash_values``,
    ``benchmark`` / ``benchmark_values``, ``weights``, ``trades``, ``orders``,
    ``reconciliation``, ``metrics()`` (as saved), ``daily_equity()`` and ``to_frame()``.
    The engine's per-decision records are not stored, so nothing that needs them is here."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.symbols: tuple[str, ...] = record.symbols
        self.frequency: str = record.frequency or "daily"
        self.settings: dict[str, Any] = record.settings
        self.notes: tuple[str, ...] = record.notes
        self.initial_cash: float = record.initial_cash

    def __repr__(self) -> str:
        return f"<StoredResult of {self.record!r}>"

    @property
    def dates(self) -> np.ndarray:
        return self.record.frame.index.to_numpy()

    @property
    def close(self) -> np.ndarray:
        close = self.record.close
        if close is None:
            raise StoreError("the run has no stored closes", run_id=self.record.run_id)
        return close.to_numpy()

    @property
    def equity(self) -> pd.Series:
        return self.record.equity

    @property
    def equity_values(self) -> np.ndarray:
        return self.record.equity.to_numpy()

    @property
    def cash(self) -> pd.Series | None:
        return self.record.cash

    @property
    def cash_values(self) -> np.ndarray | None:
        cash = self.record.cash
        return None if cash is None else cash.to_numpy()

    @property
    def benchmark(self) -> pd.Series | None:
        return self.record.benchmark

    @property
    def benchmark_values(self) -> np.ndarray | None:
        bench = self.record.benchmark
        return None if bench is None else bench.to_numpy()

    @property
    def weights(self) -> pd.DataFrame | None:
        return self.record.weights

    @property
    def trades(self) -> pd.DataFrame | None:
        return self.record.trades

    @property
    def orders(self) -> pd.DataFrame | None:
        return self.record.orders

    @property
    def reconciliation(self) -> pd.DataFrame | None:
        return self.record.reconciliation

    def metrics(self) -> pd.Series:
        return self.record.metrics.copy()

    def to_frame(self) -> pd.DataFrame:
        return self.record.frame.copy()

    def daily_equity(self) -> pd.Series:
        """Equity at each session's close (the equity itself on daily data)."""
        from riskbook.simulate.result import BacktestResult

        return BacktestResult.daily_equity(self)  # type: ignore[arg-type]  # same rule, one place


# ---------------------------------------------------------------------------------- registry
class Registry:
    """Stored runs under ``$RISKBOOK_HOME/runs``: save, list, get, compare, delete, query in SQL.

    Parameters
    ----------
    home
        Root folder; defaults to ``$RISKBOOK_HOME`` or ``~/.riskbook`` (as the price store).

    Examples
    --------
    >>> import tempfile
    >>> registry = Registry(tempfile.mkdtemp())
    >>> len(registry.list())
    0
    >>> registry.get("2024")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskbook.errors.StoreError: no run '2024' in the registry (it is empty) [parameter=run_id, ...]
    """

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.home = Path(home).expanduser() if home is not None else riskbook_home()
        self.root = self.home / RUNS_DIR

    def __repr__(self) -> str:
        return f"Registry({str(self.home)!r})"

    # ------------------------------------------------------------------ writing
    def save(
        self,
        result: Any,
        *,
        name: str | None = None,
        kind: str = "backtest",
        config: Any = None,
        data: Any = None,
        tables: Mapping[str, pd.DataFrame | pd.Series] | None = None,
        tags: Any = None,
    ) -> RunRecord:
        """Store one run, all of it or nothing, and return its record.

        Parameters
        ----------
        result
            A :class:`~riskbook.BacktestResult` (or any object with ``metrics()`` and
            ``equity``; ``to_frame()``, ``weights``, ``trades``, ``orders``,
            ``reconciliation``, ``settings`` and ``notes`` are stored when present).
        name
            A label for people; need not be unique.
        kind
            What made the run: ``"backtest"``, ``"walkforward"``, ``"shadow"``, ...
        config
            The configuration: a dataclass such as :class:`~riskbook.book.BookConfig`, a
            pydantic model, a dict, or None; stored as JSON.
        data
            The market data the run used (its fingerprint is stored), a fingerprint string, or
            None.
        tables
            Further named tables (``{"history": builder.history_frame(), "audit":
            builder.last_book.audit_frame()}``); names are letters, digits, ``_ . -``.
        tags
            Any JSON-able value (a dict or a list of labels).

        Raises
        ------
        StoreError
            If an argument cannot be stored (naming it) or writing fails; nothing is stored
            then.
        """
        import riskbook

        if not isinstance(kind, str) or not NAME_PATTERN.match(kind):
            raise StoreError("kind is a short word (letters, digits, _ . -)", parameter="kind")
        if name is not None and not isinstance(name, str):
            raise StoreError(f"name must be a string, got {type(name).__name__}", parameter="name")
        files = self._encode_result(result)
        extra = self._encode_tables(tables)
        config_text, config_type = _config_json(config)
        data_fingerprint, data_info = _data_facts(data)
        metrics = result.metrics()
        frame = files["equity.parquet"][2]
        header = {
            "format": FORMAT,
            "run_id": "",
            "name": name,
            "kind": kind,
            "created_at": _now(),
            "version": riskbook.__version__,
            "data_fingerprint": data_fingerprint,
            "data": _dumps(data_info),
            "config": config_text,
            "config_type": config_type,
            "metrics": _dumps(metrics.to_dict()),
            "metrics_meta": _dumps(
                {
                    "name": _label_out(metrics.name),
                    "index_name": _label_out(metrics.index.name),
                    "dtype": str(metrics.dtype),
                }
            ),
            "tags": _dumps(tags),
            "settings": _dumps(getattr(result, "settings", {}) or {}),
            "notes": _dumps(list(getattr(result, "notes", ()) or ())),
            "symbols": _dumps(list(getattr(result, "symbols", ()) or ())),
            "frequency": getattr(result, "frequency", None),
            "start": frame.index[0] if len(frame) else pd.NaT,
            "end": frame.index[-1] if len(frame) else pd.NaT,
            "n_bars": len(frame),
            "final_equity": float(frame["equity"].iloc[-1]) if len(frame) else math.nan,
            "initial_cash": float(getattr(result, "initial_cash", math.nan)),
            "tables": _dumps(list(extra)),
            "files": "",
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        numeric = pd.to_numeric(metrics, errors="coerce").astype(np.float64)
        metric_rows = pd.DataFrame(
            {"metric": [str(k) for k in metrics.index], "value": numeric.to_numpy()}
        )
        files["metrics.parquet"] = (*_encode_frame(metric_rows, "metrics"), metric_rows)
        header["files"] = _dumps(sorted(files))
        return self._commit(header, files, extra)

    def _encode_result(self, result: Any) -> dict[str, tuple[pd.DataFrame, dict, Any]]:
        if not callable(getattr(result, "metrics", None)) or not hasattr(result, "equity"):
            raise StoreError(
                f"result must be a BacktestResult, got {type(result).__name__}",
                parameter="result",
            )
        frame = result.to_frame() if callable(getattr(result, "to_frame", None)) else None
        if frame is None:
            frame = result.equity.rename("equity").to_frame()
        files = {"equity.parquet": (*_encode_frame(frame, "equity"), frame)}
        close, symbols = getattr(result, "close", None), getattr(result, "symbols", None) or ()
        if isinstance(close, np.ndarray) and close.shape == (len(frame), len(symbols)):
            closes = pd.DataFrame(
                close, index=frame.index, columns=pd.Index(list(symbols), name="symbol")
            )
            files["close.parquet"] = (*_encode_frame(closes, "close"), closes)
        weights = getattr(result, "weights", None)
        if isinstance(weights, pd.DataFrame):
            files["weights.parquet"] = self._encode_weights(weights, frame.index)
        for attr in ("trades", "orders", "reconciliation"):
            table = getattr(result, attr, None)
            if isinstance(table, pd.DataFrame):
                files[f"{attr}.parquet"] = (*_encode_frame(table, attr), table)
        return files

    @staticmethod
    def _encode_weights(weights: pd.DataFrame, index: pd.Index) -> tuple[pd.DataFrame, dict, Any]:
        """Wide weights as long rows (date, symbol, weight): the non-zero ones when the dates are
        the equity's, else all of them; the metadata rebuilds the wide frame exactly."""
        values = weights.to_numpy(dtype=np.float64)
        dense = not weights.index.equals(index)
        rows, cols = np.nonzero(np.ones(values.shape, bool) if dense else values != 0)
        date_name = weights.index.name if isinstance(weights.index.name, str) else "date"
        long = pd.DataFrame(
            {
                date_name: weights.index[rows],
                "symbol": np.asarray([str(s) for s in weights.columns], dtype=object)[cols],
                "weight": values[rows, cols],
            }
        )
        flat, meta = _encode_frame(long, "weights")
        meta["weights"] = {
            "dense": dense,
            "index_name": _label_out(weights.index.name),
            "symbols": [str(s) for s in weights.columns],
            "columns_name": _label_out(weights.columns.name),
            "columns_dtype": str(weights.columns.dtype),
        }
        return flat, meta, long

    @staticmethod
    def _encode_tables(
        tables: Mapping[str, pd.DataFrame | pd.Series] | None,
    ) -> dict[str, tuple[pd.DataFrame, dict, Any]]:
        if tables is None:
            return {}
        if not isinstance(tables, Mapping):
            raise StoreError("tables must be a dict of name -> DataFrame", parameter="tables")
        out = {}
        for key, table in tables.items():
            if not isinstance(key, str) or not NAME_PATTERN.match(key):
                raise StoreError(
                    "a table name is letters, digits, '_', '.' or '-' (at most 100)",
                    parameter="tables",
                    name=key,
                )
            out[key] = (*_encode_frame(table, f"tables[{key!r}]"), table)
        return out

    def _commit(self, header: dict, files: dict, extra: dict) -> RunRecord:
        partial = self.root / PARTIAL_DIR
        try:
            partial.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the registry: {exc}", registry=str(self.root)) from exc
        self._sweep(partial)
        staging = partial / f"{secrets.token_hex(8)}+{socket.gethostname()}+{os.getpid()}"
        try:
            staging.mkdir()
            (staging / TABLES_DIR).mkdir()
            with _duck() as con:
                for file, (flat, meta, _) in files.items():
                    _write_parquet(con, flat, meta, staging / file)
                    _checkpoint(f"after:{file}")
                for key, (flat, meta, _) in extra.items():
                    _write_parquet(con, flat, meta, staging / TABLES_DIR / f"{key}.parquet")
                    _checkpoint(f"after:{TABLES_DIR}/{key}.parquet")
                _fsync_dir(staging / TABLES_DIR)
                for _attempt in range(20):
                    header["created_at"] = _now()
                    header["run_id"] = run_id = new_run_id(header["created_at"])
                    target = self.root / run_id
                    if target.exists():
                        continue
                    flat, meta = _encode_frame(pd.DataFrame([header]), "header")
                    _write_parquet(con, flat, meta, staging / HEADER_FILE)
                    _fsync_dir(staging)
                    _checkpoint("commit")
                    try:
                        os.rename(staging, target)  # the commit: all of the run appears at once
                    except OSError:
                        if target.exists():  # another process took the id meanwhile
                            continue
                        raise
                    break
                else:
                    raise StoreError("could not find a free run id", registry=str(self.root))
            _fsync_dir(self.root)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, Exception) and not isinstance(exc, StoreError):
                raise StoreError(f"could not save the run: {exc}", registry=str(self.root)) from exc
            raise
        return self._record(run_id)

    @staticmethod
    def _sweep(partial: Path) -> None:
        """Remove staging folders left by dead processes on this host (or older than a week)."""
        host = socket.gethostname()
        now = time.time()
        for entry in partial.iterdir():
            parts = entry.name.rsplit("+", 2)
            dead = False
            if len(parts) == 3 and parts[1] == host and parts[2].isdigit() and os.name == "posix":
                dead = int(parts[2]) != os.getpid() and not pid_alive(int(parts[2]))
            try:
                stale = now - entry.stat().st_mtime > STALE_AFTER
            except OSError:
                continue
            if dead or stale:
                shutil.rmtree(entry, ignore_errors=True)

    def delete(self, run_id: str) -> str:
        """Remove a run (atomically: it disappears at once); returns its full id."""
        full = self._resolve(run_id)
        partial = self.root / PARTIAL_DIR
        partial.mkdir(parents=True, exist_ok=True)
        doomed = partial / f"{secrets.token_hex(8)}+{socket.gethostname()}+{os.getpid()}"
        try:
            os.rename(self.root / full, doomed)
        except OSError as exc:
            raise StoreError(f"could not delete the run: {exc}", run_id=full) from exc
        _fsync_dir(self.root)
        shutil.rmtree(doomed, ignore_errors=True)
        return full

    # ------------------------------------------------------------------ reading
    def _run_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            p
            for p in self.root.iterdir()
            if not p.name.startswith(".") and (p / HEADER_FILE).is_file()
        )

    def ids(self) -> list[str]:
        """Every committed run id, sorted (which is by time, to the second)."""
        return [p.name for p in self._run_dirs()]

    def _headers(self, columns: tuple[str, ...]) -> pd.DataFrame:
        import duckdb

        for attempt in range(3):  # a run deleted between the scan and the read: scan again
            dirs = self._run_dirs()
            if not dirs:
                return pd.DataFrame(columns=list(columns))
            paths = [str(d / HEADER_FILE) for d in dirs]
            try:
                with _duck() as con:
                    return con.execute(
                        f"SELECT {', '.join(columns)} FROM read_parquet(?, union_by_name=true)",
                        [paths],
                    ).df()
            except duckdb.IOException:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def list(self, kind: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """The stored runs, newest first.

        Columns: run_id, name, kind, created_at (UTC), version, data_fingerprint, and the
        headline metrics (cagr, volatility, sharpe, max_drawdown).
        """
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise StoreError("limit must be a non-negative integer", parameter="limit")
        head = self._headers((*_LIST_COLUMNS, "metrics"))
        if kind is not None:
            head = head[head["kind"] == kind]
        head = head.sort_values(["created_at", "run_id"], ascending=False, kind="stable")
        if limit is not None:
            head = head.head(limit)
        out = head[list(_LIST_COLUMNS)].reset_index(drop=True)
        out["created_at"] = pd.to_datetime(out["created_at"]).dt.tz_localize("UTC")
        metrics = [json.loads(m) for m in head["metrics"]]
        for key in HEADLINE_METRICS:
            out[key] = np.array(
                [_number(m.get(key) if isinstance(m, dict) else None) for m in metrics],
                dtype=np.float64,
            )
        return out

    def _resolve(self, run_id: str) -> str:
        if not isinstance(run_id, str) or not run_id:
            raise StoreError("a run id is a non-empty string", parameter="run_id")
        ids = self.ids()
        if run_id in ids:
            return run_id
        if run_id == "latest" and ids:
            return str(self.list(limit=1)["run_id"].iloc[0])
        matches = [i for i in ids if i.startswith(run_id)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
            raise StoreError(
                f"run id prefix {run_id!r} matches {len(matches)} runs ({shown}); give more of it",
                parameter="run_id",
            )
        close = difflib.get_close_matches(run_id, ids, n=3, cutoff=0.0)
        where = f"; closest: {', '.join(close)}" if close else " (it is empty)"
        raise StoreError(
            f"no run {run_id!r} in the registry{where}",
            parameter="run_id",
            registry=str(self.root),
        )

    def get(self, run_id: str) -> RunRecord:
        """A stored run by id, unique id prefix, or ``"latest"``.

        Raises
        ------
        StoreError
            If no run matches (naming the closest ids) or the prefix is ambiguous.
        """
        return self._record(self._resolve(run_id))

    def _record(self, run_id: str) -> RunRecord:
        path = self.root / run_id
        header = _read_parquet(path / HEADER_FILE).iloc[0].to_dict()
        meta = json.loads(header["metrics_meta"])
        values = json.loads(header["metrics"])
        metrics = pd.Series(
            list(values.values()),
            index=pd.Index(list(values), name=_label_in(meta["index_name"])),
            name=_label_in(meta["name"]),
            dtype=meta["dtype"],
        )
        config = header["config"]
        return RunRecord(
            run_id=header["run_id"],
            name=_none(header["name"]),
            kind=header["kind"],
            created_at=pd.Timestamp(header["created_at"]),
            version=header["version"],
            data_fingerprint=_none(header["data_fingerprint"]),
            data=json.loads(header["data"]),
            config=None if _none(config) is None else json.loads(config),
            config_type=_none(header["config_type"]),
            metrics=metrics,
            tags=json.loads(header["tags"]),
            settings=json.loads(header["settings"]),
            notes=tuple(json.loads(header["notes"])),
            symbols=tuple(json.loads(header["symbols"])),
            frequency=_none(header["frequency"]),
            table_names=tuple(json.loads(header["tables"])),
            files=tuple(json.loads(header["files"])),
            path=path,
            _header=header,
        )

    def compare(self, a: str, b: str) -> pd.DataFrame:
        """Metrics of two runs side by side, and ``difference = b - a``.

        Returns
        -------
        DataFrame
            Index ``metric`` (a's metrics in order, then any only b has); columns: a's run id,
            b's run id and ``difference`` (NaN where either is missing or not a number).
        """
        ra, rb = self.get(a), self.get(b)
        names = list(ra.metrics.index) + [k for k in rb.metrics.index if k not in ra.metrics.index]
        la, lb = (ra.run_id, rb.run_id) if ra.run_id != rb.run_id else ("a", "b")
        va = pd.to_numeric(ra.metrics.reindex(names), errors="coerce").astype(np.float64)
        vb = pd.to_numeric(rb.metrics.reindex(names), errors="coerce").astype(np.float64)
        out = pd.DataFrame(
            {la: va.to_numpy(), lb: vb.to_numpy(), "difference": (vb - va).to_numpy()},
            index=pd.Index(names, name="metric"),
        )
        return out

    def config_diff(self, a: str, b: str) -> pd.DataFrame:
        """The configuration keys (dotted paths) whose values differ between two runs."""
        ra, rb = self.get(a), self.get(b)
        fa, fb = _flatten(ra.config or {}), _flatten(rb.config or {})
        keys = list(fa) + [k for k in fb if k not in fa]
        rows = [(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]
        la, lb = (ra.run_id, rb.run_id) if ra.run_id != rb.run_id else ("a", "b")
        frame = pd.DataFrame(
            {la: [r[1] for r in rows], lb: [r[2] for r in rows]},
            index=pd.Index([r[0] for r in rows], name="key", dtype=object),
            dtype=object,
        )
        return frame

    # ------------------------------------------------------------------ SQL
    def connect(self) -> Any:
        """An in-memory DuckDB connection with views over every committed run (close it).

        Views: ``runs`` (one row a run: the header), ``metrics`` (run_id, metric, value),
        ``equity`` (run_id, date, equity, cash, ...), ``weights`` (run_id, date, symbol,
        weight) and ``trades`` (run_id and the trade columns).
        """
        dirs = self._run_dirs()
        con = _database().cursor()  # the caller's own connection, with temporary views
        empty = {
            "runs": "NULL::VARCHAR AS run_id, NULL::VARCHAR AS name, NULL::VARCHAR AS kind, "
            "NULL::TIMESTAMP AS created_at, NULL::VARCHAR AS version",
            "metrics": "NULL::VARCHAR AS run_id, NULL::VARCHAR AS metric, NULL::DOUBLE AS value",
            "equity": "NULL::VARCHAR AS run_id, NULL::TIMESTAMP AS date, NULL::DOUBLE AS equity",
            "weights": "NULL::VARCHAR AS run_id, NULL::TIMESTAMP AS date, "
            "NULL::VARCHAR AS symbol, NULL::DOUBLE AS weight",
            "trades": "NULL::VARCHAR AS run_id",
        }
        run_of = r"regexp_extract(filename, '([^/\\]+)[/\\][^/\\]+$', 1)"
        for view, file in (
            ("runs", HEADER_FILE),
            ("metrics", "metrics.parquet"),
            ("equity", "equity.parquet"),
            ("weights", "weights.parquet"),
            ("trades", "trades.parquet"),
        ):
            paths = [(d / file).as_posix() for d in dirs if (d / file).is_file()]
            if not paths:
                con.execute(f"CREATE TEMP VIEW {view} AS SELECT {empty[view]} WHERE false")
                continue
            listing = "[" + ", ".join(_sql_text(p) for p in paths) + "]"
            if view == "runs":
                select = f"* FROM read_parquet({listing}, union_by_name=true)"
            else:
                select = (
                    f"{run_of} AS run_id, * EXCLUDE (filename) "
                    f"FROM read_parquet({listing}, union_by_name=true, filename=true)"
                )
            con.execute(f"CREATE TEMP VIEW {view} AS SELECT {select}")
        return con

    def sql(self, query: str, params: Any = None) -> pd.DataFrame:
        """Run one SQL query over the views of :meth:`connect` and return a DataFrame.

        Examples
        --------
        >>> import tempfile
        >>> int(Registry(tempfile.mkdtemp()).sql("SELECT count(*) AS n FROM metrics")["n"].iloc[0])
        0
        """
        con = self.connect()
        try:
            return con.execute(query, params or []).df()
        finally:
            con.close()


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)
