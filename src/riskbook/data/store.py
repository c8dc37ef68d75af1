"""The local store: one Parquet file per data set under ``$RISKBOOK_HOME/store``, read with DuckDB.

Ingest validates the file completely before anything is written, writes the new version to a
temporary file beside the old one and swaps it in with one atomic rename, so a failed or
interrupted ingest leaves the previous version exactly as it was.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskbook._files import remove_dead_temporaries
from riskbook.data.market_data import MarketData
from riskbook.data.validation import GapPolicy
from riskbook.errors import StoreError

#: Test hook: when this environment variable names a stage of :meth:`Store.ingest` ("written":
#: the temporary file is complete but not yet swapped in), the ingest sleeps there so a test can
#: kill the process mid-write (as ``RISKBOOK_REGISTRY_PAUSE_AT`` does for the registry).
PAUSE_ENV = "RISKBOOK_STORE_PAUSE_AT"

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
META_KEY = "riskbook"


def riskbook_home() -> Path:
    """``$RISKBOOK_HOME``, or ``~/.riskbook`` when it is not set."""
    return Path(os.environ.get("RISKBOOK_HOME") or "~/.riskbook").expanduser()


def fingerprint(data: MarketData) -> str:
    """A SHA-256 of the dates, symbols and every field: equal data gives an equal fingerprint."""
    digest = hashlib.sha256()
    digest.update(data.dates.tobytes())
    digest.update("\x1f".join(data.symbols).encode())
    for name, values in data.field_arrays().items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class StoreEntry:
    """What the store knows about one data set, read from its Parquet metadata."""

    name: str
    path: Path
    source: str
    ingested_at: str
    frequency: str
    symbols: tuple[str, ...]
    n_dates: int
    start: str
    end: str
    fields: tuple[str, ...]
    fingerprint: str
    gaps: str
    changed_cells: int


def _pause(stage: str) -> None:
    if os.environ.get(PAUSE_ENV) == stage:
        print(f"riskbook store: paused at {stage}", file=sys.stderr, flush=True)
        time.sleep(600)


def _remove_stale_temporaries(root: Path, name: str) -> None:
    """Delete temporary files a killed ingest of ``name`` left behind (their process is gone)."""

    def pid_of(file_name: str) -> int | None:
        pid = file_name.rsplit("-", 1)[-1]
        return int(pid) if pid.isdigit() else None

    remove_dead_temporaries(root.glob(f".{name}.parquet.tmp-*"), pid_of)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Store:
    """The embedded data store.

    Parameters
    ----------
    home
        Root folder; defaults to ``$RISKBOOK_HOME`` or ``~/.riskbook``.

    Examples
    --------
    >>> import tempfile, riskbook
    >>> from riskbook.data.store import Store
    >>> store = Store(tempfile.mkdtemp())
    >>> path = tempfile.mktemp(suffix=".csv")
    >>> riskbook.load_prices("factor_etfs").to_frame().to_csv(path)
    >>> store.ingest(path, "etfs").n_dates
    2264
    >>> riskbook.load_prices("factor_etfs").close.shape == store.load("etfs").close.shape
    True
    """

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.home = Path(home).expanduser() if home is not None else riskbook_home()
        self.root = self.home / "store"

    def _path(self, name: str) -> Path:
        if not NAME_PATTERN.match(name):
            raise StoreError(
                "a data set name is letters, digits, '_', '.' or '-' (at most 100)",
                parameter="name",
                name=name,
            )
        return self.root / f"{name}.parquet"

    def ingest(
        self, path: str | os.PathLike, name: str, *, gaps: GapPolicy = "raise"
    ) -> StoreEntry:
        """Validate a price file and store it under ``name`` (replacing any earlier version).

        Raises
        ------
        DataError
            If the file does not validate; nothing is written.
        StoreError
            If writing fails; the previous version is left intact.
        """
        from riskbook.data.loaders import read_price_file

        target = self._path(name)
        data = read_price_file(os.fspath(path), gaps=gaps, name=name)  # raises before any write
        meta = {
            "name": name,
            "source": os.path.abspath(os.fspath(path)),
            "ingested_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "frequency": data.frequency,
            "symbols": list(data.symbols),
            "n_dates": len(data.dates),
            "start": str(data.start),
            "end": str(data.end),
            "fields": list(data.fields),
            "fingerprint": fingerprint(data),
            "gaps": gaps,
            "changed_cells": len(data.report.filled) + sum(len(s) for _, s in data.report.dropped),
        }
        self.root.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(self.root, name)
        tmp = self.root / f".{name}.parquet.tmp-{os.getpid()}"
        try:
            self._write(data, tmp, meta)
            _pause("written")
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)  # the one atomic step: readers see old or new, never half
            _fsync_dir(self.root)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, Exception) and not isinstance(exc, StoreError):
                raise StoreError(f"could not store the data set: {exc}", name=name) from exc
            raise
        return self.entry(name)

    @staticmethod
    def _write(data: MarketData, tmp: Path, meta: dict) -> None:
        import duckdb

        present = ~np.isnan(data.close)
        rows, cols = np.nonzero(present)
        long = pd.DataFrame(
            {
                "date": data.dates[rows],
                "symbol": np.asarray(data.symbols, dtype=object)[cols],
                **{f: v[rows, cols] for f, v in data.field_arrays().items()},
            }
        )
        blob = json.dumps(meta).replace("'", "''")
        with duckdb.connect() as con:
            con.register("prices", long)
            con.execute(
                f"COPY prices TO '{tmp.as_posix()}' "
                f"(FORMAT PARQUET, KV_METADATA {{{META_KEY}: '{blob}'}})"
            )

    def entry(self, name: str) -> StoreEntry:
        """Metadata of one stored data set."""
        import duckdb

        path = self._path(name)
        if not path.exists():
            raise StoreError("no such data set in the store", name=name, store=str(self.root))
        with duckdb.connect() as con:
            rows = con.execute(
                "SELECT value FROM parquet_kv_metadata(?) WHERE key = ?", [str(path), META_KEY]
            ).fetchall()
        if not rows:
            raise StoreError("stored file has no riskbook metadata", name=name, file=str(path))
        raw = rows[0][0]
        meta = json.loads(raw.decode() if isinstance(raw, bytes | bytearray) else raw)
        return StoreEntry(
            name=meta["name"],
            path=path,
            source=meta["source"],
            ingested_at=meta["ingested_at"],
            frequency=meta["frequency"],
            symbols=tuple(meta["symbols"]),
            n_dates=meta["n_dates"],
            start=meta["start"],
            end=meta["end"],
            fields=tuple(meta["fields"]),
            fingerprint=meta["fingerprint"],
            gaps=meta["gaps"],
            changed_cells=meta["changed_cells"],
        )

    def list(self) -> list[StoreEntry]:
        """Every stored data set, by name."""
        if not self.root.exists():
            return []
        return [
            self.entry(p.name.removesuffix(".parquet")) for p in sorted(self.root.glob("*.parquet"))
        ]

    def load(self, name: str, *, gaps: GapPolicy = "raise") -> MarketData:
        """The stored data set as MarketData (symbols in their original order)."""
        import duckdb

        entry = self.entry(name)
        with duckdb.connect() as con:
            long = con.execute("SELECT * FROM read_parquet(?)", [str(entry.path)]).df()
        data = MarketData.from_frame(long, gaps=gaps, name=f"store:{name}")
        return data.select(list(entry.symbols))

    def remove(self, name: str) -> None:
        """Delete a stored data set."""
        path = self._path(name)
        if not path.exists():
            raise StoreError("no such data set in the store", name=name, store=str(self.root))
        path.unlink()
