"""Configuration trees from TOML: frozen dataclasses filled from nested dicts, strictly.

One loader for every config riskbook reads (the book's, a run's): a partial table is laid over
the dataclass defaults, values are type-checked, and an unknown key is a
:class:`~riskbook.errors.ConfigError` naming it and the closest valid key.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Knobs:
...     window: int = 252
...     target: float = 0.1
>>> build_dataclass(Knobs, {"target": 0.12})
Knobs(window=252, target=0.12)
>>> build_dataclass(Knobs, {"windw": 10})
Traceback (most recent call last):
...
riskbook.errors.ConfigError: unknown key 'windw'; did you mean 'window'? [parameter=windw]
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from riskbook.errors import ConfigError


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML file; a ConfigError naming the file when it is unreadable or invalid."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc}", file=str(path)) from exc


def build_dataclass(cls: type, data: Any, prefix: str = "") -> Any:
    """``cls(**data)`` with nested dataclasses, type checks and unknown keys refused by name."""
    return _build(cls, data, prefix)


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'} must be a table", parameter=prefix or "config")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean '{prefix + '.' if prefix else ''}{close[0]}'?" if close else ""
            raise ConfigError(f"unknown key '{path}'{hint}", parameter=path)
        values[key] = _coerce(hints[key], value, path)
    return cls(**values)


def _coerce(hint: Any, value: Any, path: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path} must be a list", parameter=path)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{path} must have {len(args)} items", parameter=path)
        return tuple(
            _coerce(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path} must be a table", parameter=path)
        _, vt = typing.get_args(hint)
        return {str(k): _coerce(vt, v, f"{path}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path} must be a number, got {value!r}", parameter=path)
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path} must be an integer, got {value!r}", parameter=path)
        return value
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{path} must be true or false, got {value!r}", parameter=path)
    if hint is str and not isinstance(value, str):
        raise ConfigError(f"{path} must be a string, got {value!r}", parameter=path)
    return value
