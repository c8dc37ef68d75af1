"""A realistic tear-sheet input, built once: the demo book through the engine (2018-2020, weekly
decisions, a year of sleeve warm-up, 5 bps, the S&P 500 index as benchmark) with its history,
sleeve weights and last audit, and a small but real validation report."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import pytest

import riskbook
from riskbook.book import BookBuilder, BookConfig, TargetBook, demo_sleeves
from riskbook.datasets import load_sp500_index
from riskbook.validate import ValidationSettings, validate_book


@dataclass(frozen=True)
class BookRun:
    result: riskbook.BacktestResult
    history: pd.DataFrame
    sleeve_weights: pd.DataFrame
    last_book: TargetBook
    validation: Any

    def inputs(self) -> dict[str, Any]:
        """Every optional input of ``tear_sheet``."""
        return {
            "history": self.history,
            "sleeve_weights": self.sleeve_weights,
            "audit": self.last_book.audit_frame(),
            "validation": self.validation,
        }


@pytest.fixture(scope="session")
def book_run(sp500) -> BookRun:
    config = replace(BookConfig(), warmup_days=252)
    builder = BookBuilder(demo_sleeves(), config, costs=5)
    sleeves: dict[pd.Timestamp, dict[str, float]] = {}

    class Recording:
        def targets(self, view, portfolio):
            weights = builder.targets(view, portfolio)
            sleeves[pd.Timestamp(view.time)] = builder.last_book.sleeve_weights
            return weights

    result = riskbook.backtest(
        sp500.slice("2016-09-01", "2020-12-31"),
        Recording(),
        schedule="weekly",
        fill="next_close",
        start="2018-01-01",
        costs=5,
        cash=10_000_000,
        account="margin",
        leverage=config.caps.gross,
        benchmark=load_sp500_index(),
    )
    settings = ValidationSettings(
        start="2019-01-01",
        end="2020-12-31",
        schedule="weekly",
        mc_paths=100,
        n_partitions=4,
        pbo_lookbacks=(63,),
        sensitivity_parameters=("vol_target",),
    )
    validation = validate_book(sp500, settings=settings, executor="serial")
    return BookRun(
        result=result,
        history=builder.history_frame(),
        sleeve_weights=pd.DataFrame.from_dict(sleeves, orient="index").fillna(0.0),
        last_book=builder.last_book,
        validation=validation,
    )
