"""One error hierarchy: every exception class riskbook defines derives from RiskbookError, and
every ``raise`` of a built-in exception type in src/riskbook is on an allow-list with a reason."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import riskbook
from riskbook.errors import (
    ConfigError,
    DataError,
    InfeasibleError,
    LookAheadError,
    OptimizationError,
    RiskbookError,
    StoreError,
    StrategyError,
    TargetError,
)

SRC = Path(riskbook.__file__).parent

# (file relative to src/riskbook, built-in raised) -> why it stays a built-in.
ALLOWED = {
    ("report/registry.py", "KeyError"): "Mapping.__getitem__ protocol of the run's tables",
    ("report/registry.py", "AssertionError"): "unreachable line after a bounded retry loop",
    ("construct/algorithm.py", "KeyError"): "Mapping.__getitem__ protocol of Portfolio",
    ("construct/portfolio_construction.py", "NotImplementedError"): "abstract method (LEAN API)",
    ("construct/optimization_models.py", "NotImplementedError"): "abstract method",
    ("construct/models.py", "RuntimeError"): "LEAN's own error for a model used unattached",
    ("execute/fills.py", "NotImplementedError"): "abstract method",
    ("validate/walk_forward.py", "TypeError"): "caught two lines below, re-raised as DataError",
    ("lean/algorithm.py", "AttributeError"): "__getattr__ protocol (unsupported LEAN names)",
    ("lean/framework.py", "AttributeError"): "attribute lookup protocol for ported models",
    ("lean/_names.py", "AttributeError"): "__getattr__ protocol (snake/camel aliases)",
    ("lean/data.py", "KeyError"): "Mapping.__getitem__ protocol of a Slice (LEAN semantics)",
}


def _modules() -> list[str]:
    names = ["riskbook"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="riskbook."):
        names.append(info.name)
    return names


def test_every_exception_class_derives_from_riskbook_error():
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == name and issubclass(obj, BaseException):
                found.append(obj)
                assert issubclass(obj, RiskbookError), f"{name}.{obj.__name__}"
    # the nine classes of riskbook.errors, at least, were walked
    assert {
        RiskbookError,
        DataError,
        LookAheadError,
        OptimizationError,
        InfeasibleError,
        ConfigError,
        StoreError,
        TargetError,
        StrategyError,
    } <= set(found)


def _builtin_raises() -> set[tuple[str, str]]:
    import builtins

    builtin = {n for n in dir(builtins) if isinstance(getattr(builtins, n), type)}
    builtin = {n for n in builtin if issubclass(getattr(builtins, n), BaseException)}
    out = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in builtin:
                out.add((path.relative_to(SRC).as_posix(), exc.id))
    return out


def test_every_builtin_raise_is_allowed_with_a_reason():
    raised = _builtin_raises()
    assert raised, "the AST walk found nothing: it is broken"
    unexplained = sorted(raised - ALLOWED.keys())
    assert not unexplained, f"raise a riskbook.errors type instead: {unexplained}"
    stale = sorted(ALLOWED.keys() - raised)
    assert not stale, f"allow-list entries no longer needed: {stale}"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (DataError, ValueError),
        (LookAheadError, IndexError),
        (OptimizationError, ValueError),
        (InfeasibleError, OptimizationError),
        (ConfigError, ValueError),
        (StoreError, OSError),
        (TargetError, ValueError),
        (StrategyError, RuntimeError),
    ],
)
def test_each_error_carries_symbol_date_parameter_and_context(cls, builtin):
    err = cls("what to do", symbol="AAPL", date="2020-03-16", parameter="p", file="x.csv")
    assert isinstance(err, RiskbookError) and isinstance(err, builtin)
    assert (err.symbol, err.date, err.parameter, err.context) == (
        "AAPL",
        "2020-03-16",
        "p",
        {"file": "x.csv"},
    )
    assert str(err) == "what to do [symbol=AAPL, date=2020-03-16, parameter=p, file=x.csv]"
