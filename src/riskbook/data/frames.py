"""Turning user frames (wide, (field, symbol) columns, or long tables) into aligned arrays.

Nothing is dropped quietly: an unknown column, a non-numeric cell or a duplicate (date, symbol)
is a DataError that names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskbook.data.validation import ALL_FIELDS
from riskbook.errors import DataError

DATE_COLUMNS = ("date", "datetime", "timestamp", "time")


def _lower(name: Any) -> str:
    return str(name).strip().lower()


def _find(columns: pd.Index, candidates: tuple[str, ...]) -> Any:
    for col in columns:
        if _lower(col) in candidates:
            return col
    return None


def _numeric(values: pd.Series, symbol: Any, dates: pd.Index, field: str) -> np.ndarray:
    """A column as float64; a cell that is neither a number nor empty is a DataError.

    ``symbol`` is the column's symbol, or one symbol per row for a long table.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    coerced = pd.to_numeric(values, errors="coerce")
    text = values.astype("string").str.strip()
    bad = (
        coerced.isna().to_numpy()
        & values.notna().to_numpy()
        & (text != "").fillna(False).to_numpy()
    )
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"non-numeric {field} {values.iloc[pos]!r}",
            symbol=symbol if isinstance(symbol, str) else str(symbol[pos]),
            date=dates[pos],
            parameter=field,
        )
    return coerced.to_numpy(dtype=np.float64, na_value=np.nan)


def _check_field(name: Any) -> str:
    field = _lower(name)
    if field not in ALL_FIELDS:
        raise DataError(
            f"unknown field {name!r}; expected one of {', '.join(ALL_FIELDS)}", parameter=str(name)
        )
    return field


def _date_index(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """Split off the dates of a wide frame: its index, or a date column."""
    col = _find(frame.columns, DATE_COLUMNS) if frame.columns.nlevels == 1 else None
    if col is not None:
        return frame.drop(columns=[col]), pd.Index(frame[col])
    return frame, frame.index


def frame_to_fields(frame: pd.DataFrame) -> tuple[pd.Index, list[str], dict[str, np.ndarray]]:
    """Dates, symbols and a dict of (dates x symbols) field arrays from any accepted layout."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if frame.empty:
        raise DataError("the frame is empty: no rows or no columns")
    if frame.columns.nlevels == 1 and _find(frame.columns, ("symbol", "ticker")) is not None:
        return _long_to_fields(frame)
    body, dates = _date_index(frame)
    if body.columns.nlevels == 2:
        return _multi_to_fields(body, dates)
    symbols = [str(c) for c in body.columns]
    close = np.column_stack(
        [_numeric(body.iloc[:, j], s, dates, "close") for j, s in enumerate(symbols)]
    )
    return dates, symbols, {"close": close}


def _multi_to_fields(body: pd.DataFrame, dates: pd.Index) -> tuple[pd.Index, list[str], dict]:
    level0 = [_lower(v) for v in body.columns.get_level_values(0)]
    if not set(level0) <= set(ALL_FIELDS):
        body = body.swaplevel(axis=1)  # accept (symbol, field) too
    fields: dict[str, np.ndarray] = {}
    symbols: list[str] | None = None
    for name in dict.fromkeys(body.columns.get_level_values(0)):
        field = _check_field(name)
        block = body[name]
        these = [str(c) for c in block.columns]
        if symbols is None:
            symbols = these
        elif these != symbols:
            raise DataError(
                f"field {field} has symbols {these}, close has {symbols}", parameter=field
            )
        fields[field] = np.column_stack(
            [_numeric(block.iloc[:, j], s, dates, field) for j, s in enumerate(these)]
        )
    if "close" not in fields:
        raise DataError("no close field", parameter="close")
    return dates, symbols or [], fields


def _long_to_fields(frame: pd.DataFrame) -> tuple[pd.Index, list[str], dict]:
    date_col = _find(frame.columns, DATE_COLUMNS)
    if date_col is None:
        raise DataError("a long table needs a date column", parameter="date")
    sym_col = _find(frame.columns, ("symbol", "ticker"))
    field_col, value_col = _find(frame.columns, ("field",)), _find(frame.columns, ("value",))
    if field_col is not None and value_col is not None:
        frame = frame.pivot_table(
            index=[date_col, sym_col], columns=field_col, values=value_col, aggfunc="size"
        ).pipe(lambda counts: _no_duplicates(counts, frame, date_col, sym_col, field_col))
    keys = [date_col, sym_col]
    dup = frame.duplicated(subset=keys, keep=False)
    if dup.any():
        row = frame.loc[dup].iloc[0]
        raise DataError(
            "duplicate timestamp for this symbol", symbol=str(row[sym_col]), date=row[date_col]
        )
    value_cols = [c for c in frame.columns if c not in keys]
    for col in value_cols:
        _check_field(col)
    if not any(_lower(c) == "close" for c in value_cols):
        raise DataError(
            "a long table needs a close column (or field/value rows)", parameter="close"
        )
    dates = pd.Index(pd.unique(pd.to_datetime(frame[date_col], format="mixed")))
    dates = dates.sort_values()
    symbols = [str(s) for s in pd.unique(frame[sym_col].astype(str))]
    date_pos = dates.get_indexer(pd.to_datetime(frame[date_col], format="mixed"))
    sym_pos = pd.Index(symbols).get_indexer(frame[sym_col].astype(str))
    fields: dict[str, np.ndarray] = {}
    for col in value_cols:
        field = _lower(col)
        row_symbols = frame[sym_col].astype(str).to_numpy()
        values = _numeric(frame[col].reset_index(drop=True), row_symbols, dates[date_pos], field)
        grid = np.full((len(dates), len(symbols)), np.nan)
        grid[date_pos, sym_pos] = values
        fields[field] = grid
    return dates, symbols, fields


def _no_duplicates(
    counts: pd.DataFrame, frame: pd.DataFrame, date_col: Any, sym_col: Any, field_col: Any
) -> pd.DataFrame:
    """Check (date, symbol, field) is unique, then pivot the values for real."""
    if (counts > 1).any().any():
        stacked = counts.stack()
        (date, symbol, field) = stacked[stacked > 1].index[0]
        raise DataError(f"duplicate {field} for this symbol", symbol=str(symbol), date=date)
    value_col = _find(frame.columns, ("value",))
    wide = frame.pivot(index=[date_col, sym_col], columns=field_col, values=value_col)
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()
