"""The five demo sleeves through the BookBuilder and the engine, 2000-2022 (weekly decisions):
the caps hold on every book, the governor only ever cuts, and more drawdown never means more
exposure."""

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook.book import BookBuilder, BookConfig, demo_sleeves, drawdown_multiplier


@pytest.fixture(scope="module")
def run(sp500):
    builder = BookBuilder(demo_sleeves())
    books = []

    class Recording:
        def targets(self, view, portfolio):
            weights = builder.targets(view, portfolio)
            books.append(builder.last_book)
            return weights

    result = riskbook.backtest(
        sp500.slice("1999-01-01", "2022-12-28"),
        Recording(),
        schedule="weekly",
        fill="next_close",
        start="2000-01-01",
        costs=5,
        cash=10_000_000,
        account="margin",
        leverage=2.0,
    )
    return result, books


def stage(book, name):
    return next(r for r in book.audit if r.stage == name)


def test_caps_hold_on_every_book(run):
    caps = BookConfig().caps
    _, books = run
    assert len(books) > 1000
    for book in books:
        assert np.abs(book.weights).sum() <= caps.gross + 1e-12
        assert abs(book.weights.sum()) <= caps.net + 1e-12
        assert np.abs(book.weights).max() <= caps.per_name + 1e-12


def test_governor_and_kill_tiers_only_reduce(run):
    _, books = run
    for book in books:
        info = stage(book, "5 governor").info
        assert info["gross_after"] <= info["gross_before"] + 1e-12
        assert 0.0 <= info["multiplier"] <= 1.0


def test_exposure_never_rises_as_drawdown_deepens(run):
    _, books = run
    rows = pd.DataFrame(
        [
            (
                stage(b, "5 governor").info["effective_drawdown"],
                stage(b, "5 governor").info["multiplier"],
            )
            for b in books
            if not stage(b, "5 governor").info["in_cooloff"]
        ],
        columns=["drawdown", "multiplier"],
    ).sort_values("drawdown")
    assert rows["drawdown"].max() > 0.05  # the governor was exercised
    # outside a cooloff the multiplier is the smooth curve of the drawdown (times a kill tier's
    # factor, itself non-increasing in the drawdown): sorted by drawdown it never increases
    assert (np.diff(rows["multiplier"].to_numpy()) <= 1e-12).all()
    curve = drawdown_multiplier(rows["drawdown"].to_numpy())
    assert (rows["multiplier"].to_numpy() <= curve + 1e-12).all()


def test_the_engine_trades_the_books(run):
    result, books = run
    rec = result.reconciliation
    booked = {b.time for b in books}
    assert set(rec["date"].to_numpy()) <= booked  # every rebalance is one of the books
    assert rec["date"].nunique() >= len(books) - 20  # all but the warm-up ones traded
    assert (result.cash.notna()).all() and np.isfinite(result.equity).all()
