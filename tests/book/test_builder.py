"""The BookBuilder end to end: stage order, audit, point in time, and use as a strategy."""

import numpy as np
import pytest

import riskbook
from riskbook import MarketData
from riskbook.book import BookBuilder, BookConfig, demo_sleeves
from riskbook.errors import ConfigError

STAGES = [
    "0 sleeves",
    "1 allocation",
    "2 assemble",
    "3 vol target",
    "3 sizing",
    "4 caps",
    "5 governor",
    "6 regime",
    "7 turnover",
    "8 capital ladder",
]


@pytest.fixture(scope="module")
def data(sp500):
    return sp500.slice("2013-01-01", "2016-12-30")


def run_books(data, start=300, every=5, builder=None):
    builder = builder or BookBuilder(demo_sleeves())
    books = [builder.build(data.until(t)) for t in data.dates[start::every]]
    return builder, books


def test_every_stage_is_audited_in_order(data):
    _, books = run_books(data)
    book = books[-1]
    assert [r.stage for r in book.audit] == STAGES
    frame = book.audit_frame()
    assert list(frame.columns) == ["stage", "gross", "net", "info"]
    assert frame.loc[frame.stage == "8 capital ladder", "gross"].item() == pytest.approx(
        np.abs(book.weights).sum()
    )
    alloc = book.audit[1].info
    assert alloc["method"] == "hrp" and set(alloc["final"]) == {s.name for s in demo_sleeves()}
    assert sum(book.sleeve_weights.values()) == pytest.approx(1.0, abs=0.05)


def test_caps_hold_on_every_book(data):
    cfg = BookConfig()
    _, books = run_books(data, every=3)
    for book in books:
        w = book.weights
        assert np.abs(w).sum() <= cfg.caps.gross + 1e-12
        assert abs(w.sum()) <= cfg.caps.net + 1e-12
        assert np.abs(w).max() <= cfg.caps.per_name + 1e-12


def test_sleeves_wait_for_their_history(data):
    builder = BookBuilder(demo_sleeves())
    book = builder.build(data.until(data.dates[300]))
    assert not book.weights.any()
    assert book.audit[0].info["warming_up"] == sorted(s.name for s in demo_sleeves())


def test_the_book_at_t_ignores_everything_after_t(data):
    t = 520
    _, books = run_books(data.slice(None, data.dates[t]), start=300, every=10)
    rng = np.random.default_rng(3)
    close = data.close.copy()
    close[t + 1 :] *= np.exp(rng.normal(0, 0.05, close[t + 1 :].shape))
    other = MarketData.from_arrays(data.dates, data.symbols, close=close)
    _, perturbed = run_books(other, start=300, every=10)
    for a, b in zip(books, perturbed, strict=False):
        np.testing.assert_array_equal(a.weights, b.weights)
        # stage by stage, not only the end result
        assert [r.stage for r in a.audit] == [r.stage for r in b.audit]
        np.testing.assert_array_equal(
            [(r.gross, r.net) for r in a.audit], [(r.gross, r.net) for r in b.audit]
        )
        assert a.sleeve_weights == b.sleeve_weights
    assert len(books) >= 20 and any(b.weights.any() for b in books)


def test_builder_is_a_strategy_and_trades_what_it_books(data):
    builder = BookBuilder(demo_sleeves())
    res = riskbook.backtest(
        data,
        builder,
        schedule="weekly",
        fill="close",
        fractional=True,
        account="margin",
        leverage=2.0,
        cash=1_000_000,
    )
    rec = res.reconciliation
    last = rec[rec["date"] == rec["date"].max()].set_index("symbol")["target_weight"]
    book = builder.last_book.weights_series()
    np.testing.assert_allclose(last.reindex(book.index, fill_value=0.0), book, atol=1e-15)
    assert res.to_frame()["gross_exposure"].max() <= 2.0 + 1e-9


def test_promotion_and_demotion(data):
    builder, _ = run_books(data, every=10)
    builder.demote("pairs")
    book = builder.build(data.until(data.dates[-1]))
    assert "pairs" not in book.sleeve_weights
    with pytest.raises(ConfigError):
        builder.demote("nope")
    with pytest.raises(ConfigError):
        BookBuilder([])


def test_minute_data_cadence_split(sp500):
    """Sleeve weights are recomputed once a day, at the allocation time; the other slots of the
    day refresh symbol targets within them (seed 003 s.6)."""
    from riskbook.datasets import synthetic_minutes

    # 30-minute synthetic sessions (09:31-10:00) keep the data small; allocate at 09:50
    minutes = synthetic_minutes(sp500.slice("2013-01-01", "2014-06-30"), seed=2, minutes_per_day=30)
    cfg = BookConfig.from_dict({"turnover": {"allocation_time": "09:50"}})
    builder = BookBuilder(demo_sleeves(), cfg)
    session_ends = minutes.dates[29::30]
    for t in session_ends[-100:-1]:
        builder.build(minutes.until(t))
    day = session_ends[-1].astype("datetime64[D]")

    def at(hh, mm):
        return builder.build(minutes.until(day + np.timedelta64(hh * 60 + mm, "m")))

    early = at(9, 40)
    assert early.audit[1].info.get("reused") is True  # before 09:50: yesterday's sleeve weights
    due = at(9, 50)
    assert "final" in due.audit[1].info  # recomputed, once
    later = at(9, 55)
    assert later.audit[1].info.get("reused") is True
    assert later.sleeve_weights == due.sleeve_weights
    assert due.weights.any()


def test_nco_is_the_documented_alternative(data):
    cfg = BookConfig.from_dict({"allocation": {"method": "nco"}})
    _, books = run_books(data, builder=BookBuilder(demo_sleeves(), cfg))
    info = books[-1].audit[1].info
    assert info["method"] == "nco" and info["fallbacks"] == []
    assert sum(info["base"].values()) == pytest.approx(1.0, abs=1e-5)


def test_event_refresh_keeps_sleeve_weights_and_skips_the_sleeve_covariance(data, monkeypatch):
    """Seed 003 stage 7: events refresh symbol targets within fixed sleeve weights; the sleeve
    covariance is never re-estimated for them, even on a new day."""
    builder = BookBuilder(demo_sleeves())
    for t in data.dates[300:600:5]:
        builder.build(data.until(t))
    before = dict(builder._sleeve_weights)
    assert before  # the allocation ran

    import riskbook.book.builder as module

    calls = []
    real = module.sleeve_covariance
    monkeypatch.setattr(module, "sleeve_covariance", lambda *a: calls.append(1) or real(*a))
    last = builder.last_book.time
    later = data.dates[data.dates > last][:3]  # new days: a build would re-allocate
    for t in later:
        book = builder.refresh(data.until(t))
        assert book.audit[1].info == {"reused": True, "reason": "event refresh"}
        assert book.sleeve_weights == pytest.approx(before, abs=0)
    assert calls == []
    builder.build(data.until(data.dates[data.dates > later[-1]][0]))  # a scheduled build does
    assert len(calls) == 1


def test_cost_gate_skips_risk_adding_trades_that_cost_more_than_their_edge(data):
    """With a $500 ticket fee and 10 bps of edge, only trades above $500k would pay: on a
    $1m book every new position is gated, so the book stays flat; with no fee none is."""
    from riskbook.execute import Costs, FixedFee

    gated = BookBuilder(demo_sleeves(), costs=Costs(fee=FixedFee(500.0)))
    free = BookBuilder(demo_sleeves(), costs=0.0)
    a = run_books(data, start=300, every=5, builder=gated)[1][-1]
    b = run_books(data, start=300, every=5, builder=free)[1][-1]
    assert np.abs(b.weights).sum() > 0.5
    assert np.abs(a.weights).sum() == 0.0  # notional equity, nothing held: every trade adds risk
    info = next(r for r in a.audit if r.stage == "7 turnover").info["cost_gate"]
    assert info["gated"] >= 5
    assert info["cost_saved"] == pytest.approx(500.0 * info["gated"])
    assert "cost_gate" in next(r for r in b.audit if r.stage == "7 turnover").info
    assert next(r for r in b.audit if r.stage == "7 turnover").info["cost_gate"]["gated"] == 0


def test_edge_must_be_callable():
    with pytest.raises(ConfigError) as err:
        BookBuilder(demo_sleeves(), edge=12.0)
    assert err.value.parameter == "edge"


def test_warm_up_replays_sleeves_point_in_time(data):
    """warmup_days: the first decision already has a year of sleeve returns, every sleeve is
    allocated at once, and the warm-up reads nothing after the decision."""
    t = 400
    config = BookConfig(warmup_days=252)
    warm = BookBuilder(demo_sleeves(), config)
    book = warm.build(data.until(data.dates[t]))
    assert len(warm.tracker) == 252  # returns of 252 replayed days (the decision adds none)
    assert set(book.sleeve_weights) == {s.name for s in demo_sleeves()}
    assert np.abs(book.weights).sum() > 0.5
    cold = BookBuilder(demo_sleeves()).build(data.until(data.dates[t]))
    assert not np.abs(cold.weights).any()  # without warm-up nothing is ready yet

    close = data.close.copy()
    close[t + 1 :] *= 1.5
    other = MarketData.from_arrays(data.dates, data.symbols, close=close)
    again = BookBuilder(demo_sleeves(), config).build(other.until(other.dates[t]))
    np.testing.assert_array_equal(book.weights, again.weights)
