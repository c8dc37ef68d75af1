"""LEAN's two naming styles: ``self.SetHoldings`` and ``self.set_holdings`` reach the same code.

LEAN's Python API accepts PascalCase (the C# names) and snake_case; seed 000 mixes both in one
algorithm. :class:`LeanNames` maps a PascalCase attribute that is not found to its snake_case
spelling, for reading and for assigning, so each class implements the snake_case names only.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

_BOUNDARY_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_BOUNDARY_2 = re.compile(r"([a-z0-9])([A-Z])")


@cache
def snake_case(name: str) -> str:
    """The snake_case spelling of a PascalCase name.

    Examples
    --------
    >>> snake_case("MinimumOrderMarginPortfolioPercentage")
    'minimum_order_margin_portfolio_percentage'
    >>> snake_case("SMA"), snake_case("UtcTime"), snake_case("set_cash")
    ('sma', 'utc_time', 'set_cash')
    """
    return _BOUNDARY_2.sub(r"\1_\2", _BOUNDARY_1.sub(r"\1_\2", name)).lower()


class LeanNames:
    """Mixin: PascalCase attributes read and write their snake_case counterparts.

    Only names starting with a capital letter are translated, and an assignment is redirected
    only when the snake_case attribute exists, so a user's own ``self.SymbolDataList`` stays
    what it is.

    Examples
    --------
    >>> class Box(LeanNames):
    ...     def __init__(self):
    ...         self.total_value = 1.0
    >>> box = Box()
    >>> box.TotalValue = 2.0
    >>> box.total_value, box.TotalValue
    (2.0, 2.0)
    >>> box.Missing
    Traceback (most recent call last):
    ...
    AttributeError: 'Box' object has no attribute 'Missing'
    """

    def __getattr__(self, name: str) -> Any:
        if name[:1].isupper():
            snake = snake_case(name)
            if snake != name:
                try:
                    return object.__getattribute__(self, snake)
                except AttributeError:
                    pass
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name[:1].isupper():
            snake = snake_case(name)
            if snake != name and (hasattr(type(self), snake) or snake in self.__dict__):
                name = snake
        object.__setattr__(self, name, value)
