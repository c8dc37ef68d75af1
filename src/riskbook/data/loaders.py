"""`load_prices`: CSV and Parquet files (wide or long), bundled data sets, and the local store."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from riskbook.data.frames import DATE_COLUMNS
from riskbook.data.market_data import MarketData
from riskbook.data.validation import GapPolicy
from riskbook.errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
MISSING = ["", "NaN", "nan", "NA", "null"]


def _read_csv(path: str) -> pd.DataFrame:
    sep = "\t" if path.endswith(".tsv") else ","
    try:
        # Only these spellings mean "missing": any other text stays text, so a non-numeric cell
        # is named in an error rather than silently read as NaN.
        return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=MISSING)
    except pd.errors.EmptyDataError as exc:
        raise DataError("the file is empty", file=path) from exc


def _read_parquet(path: str) -> pd.DataFrame:
    import duckdb

    try:
        with duckdb.connect() as con:
            return con.execute("SELECT * FROM read_parquet(?)", [path]).df()
    except duckdb.Error as exc:
        raise DataError(f"cannot read Parquet: {exc}", file=path) from exc


def read_price_file(path: str, *, gaps: GapPolicy = "raise", name: str | None = None) -> MarketData:
    """Read one CSV or Parquet file of prices into a validated MarketData.

    Wide files have a date column first and one column of closes per symbol; long files have
    ``date`` and ``symbol`` columns and either one column per field or ``field``/``value``.
    """
    lower = path.lower()
    if not os.path.exists(path):
        raise DataError("no such file", file=path)
    if os.path.getsize(path) == 0:
        raise DataError("the file is empty", file=path)
    if lower.endswith(PARQUET_SUFFIXES):
        frame = _read_parquet(path)
    elif lower.endswith(CSV_SUFFIXES):
        frame = _read_csv(path)
    else:
        raise DataError("unknown file type; use .csv, .csv.gz, .tsv or .parquet", file=path)
    if frame.empty:
        raise DataError("the file has a header but no rows", file=path)
    lowered = [str(c).strip().lower() for c in frame.columns]
    if not set(lowered) & {"symbol", "ticker"} and not set(lowered) & set(DATE_COLUMNS):
        # A wide file whose first column holds the dates under another name.
        frame = frame.rename(columns={frame.columns[0]: "date"})
    try:
        return MarketData.from_frame(frame, gaps=gaps, name=name or Path(path).name)
    except DataError as exc:
        if "file" not in exc.context:
            exc.context["file"] = path
            exc.args = (exc._render(),)
        raise


def load_prices(path_or_name: str | os.PathLike, *, gaps: GapPolicy = "raise") -> MarketData:
    """Load prices from a file, a bundled data set or the local store.

    Parameters
    ----------
    path_or_name
        A path to a ``.csv``, ``.csv.gz`` or ``.parquet`` file (wide or long); the name of a
        bundled data set (``"sp500"``, ``"sp500_index"``, ``"factor_etfs"``); or
        ``"store:NAME"`` for a data set ingested with ``riskbook data ingest``.
    gaps
        Policy for a missing price inside a series: ``"raise"`` (default), ``"ffill"`` or
        ``"drop"``; what it did is kept in ``result.report``.

    Raises
    ------
    DataError
        Naming the file, symbol and date of the first problem.

    Examples
    --------
    >>> import riskbook
    >>> riskbook.load_prices("sp500").shape
    (8313, 20)
    """
    text = os.fspath(path_or_name)
    if text.startswith("store:"):
        from riskbook.data.store import Store

        return Store().load(text.removeprefix("store:"), gaps=gaps)
    from riskbook.datasets import BUNDLED, load_bundled

    if text in BUNDLED and not os.path.exists(text):
        data = load_bundled(text)
        if gaps != "raise":
            return MarketData.from_frame(data.to_frame(), gaps=gaps, name=data.name)
        return data
    return read_price_file(text, gaps=gaps)
