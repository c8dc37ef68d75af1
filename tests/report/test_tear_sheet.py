"""The HTML tear sheet: sections follow the inputs, its numbers are the result's, it loads
nothing from anywhere, and it is written atomically."""

from __future__ import annotations

import base64
import importlib
import json
import math
import os
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskbook
from riskbook.datasets import synthetic_minutes
from riskbook.errors import ConfigError
from riskbook.report import monthly_returns, tear_sheet

tear_sheet_module = importlib.import_module("riskbook.report.tear_sheet")  # the function shadows it

ALWAYS = ("performance", "metrics", "monthly", "exposure", "risk", "reconciliation", "trading")
#: Optional input -> the section it adds (the history adds lines to the performance charts).
OPTIONAL = {"sleeve_weights": "sleeves", "audit": "audit", "validation": "validation"}
GOVERNOR_LINE = "exposure multiplier (governor × kill tier)"


class Page(HTMLParser):
    """Every start tag with its attributes, every table (by id) as rows of cells, the text
    of every ``script`` and ``style`` element, and the ids present."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.tables: dict[str, list[list[tuple[str, dict, str]]]] = {}
        self.scripts: list[tuple[dict, str]] = []
        self.styles: list[str] = []
        self._table: str | None = None
        self._cell: tuple[str, dict, list[str]] | None = None
        self._raw: tuple[str, dict, list[str]] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.add(a["id"])
        if tag in ("script", "style"):
            self._raw = (tag, a, [])
        elif tag == "table":
            self._table = a.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = (tag, a, [])

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._raw:
            kind, attrs, chunks = self._raw
            if kind == "script":
                self.scripts.append((attrs, "".join(chunks)))
            else:
                self.styles.append("".join(chunks))
            self._raw = None
        elif tag in ("td", "th") and self._cell and self._table:
            kind, attrs, chunks = self._cell
            self.tables[self._table][-1].append((kind, attrs, "".join(chunks).strip()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._raw:
            self._raw[2].append(data)
        elif self._cell:
            self._cell[2].append(data)

    def charts(self) -> dict[str, dict]:
        return {
            a["data-rb-chart"]: json.loads(body)
            for a, body in self.scripts
            if a.get("type") == "application/json" and "data-rb-chart" in a
        }


def decode(values) -> np.ndarray:
    """A plotly array: a list, or a base64 typed array ``{"dtype", "bdata"}``."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


@pytest.fixture(scope="module")
def full_page(book_run, tmp_path_factory) -> tuple[Path, str, Page]:
    path = tear_sheet(
        book_run.result,
        tmp_path_factory.mktemp("report") / "report.html",
        title="demo book",
        **book_run.inputs(),
    )
    text = path.read_text(encoding="utf-8")
    return path, text, Page(text)


@pytest.fixture(scope="module")
def bare_page(book_run, tmp_path_factory) -> tuple[Path, str, Page]:
    path = tear_sheet(book_run.result, tmp_path_factory.mktemp("bare") / "bare.html")
    text = path.read_text(encoding="utf-8")
    return path, text, Page(text)


# ---------------------------------------------------------------------------- sections
def test_a_result_alone_gives_the_core_sections_and_no_optional_one(bare_page):
    _, text, page = bare_page
    assert set(ALWAYS) <= page.ids
    for marker in OPTIONAL.values():
        assert marker not in page.ids
    charts = page.charts()  # no history: no governor line, no vol target
    assert [t["name"] for t in charts["rb-chart-drawdown"]["data"]] == [
        "strategy drawdown",
        "benchmark drawdown",
    ]
    assert [t["name"] for t in charts["rb-chart-vol"]["data"]] == ["realised (63-day)"]
    assert 'id="rb-verdict"' not in text


def test_every_input_adds_its_section(book_run, full_page):
    _, text, page = full_page
    assert set(ALWAYS) | set(OPTIONAL.values()) <= page.ids
    report = book_run.validation
    # the seed's verdict line, in the header and under the ladder, and the sensitivity verdict
    assert report.verdict and text.count(_escaped(report.verdict)) == 2
    assert _escaped(report.sensitivity.verdict) in text
    for key in report.tables():
        assert f'data-table="{key}"' in text
    # the audit: one row per stage of the last book, dated
    stages = [row[0][2] for row in page.tables["rb-audit"][1:]]
    assert stages == [r.stage for r in book_run.last_book.audit]
    assert pd.Timestamp(book_run.history.index[-1]).strftime("%Y-%m-%d") in text
    # the governor's multiplier and the vol target come from the history
    charts = page.charts()
    names = [t.get("name") for t in charts["rb-chart-drawdown"]["data"]]
    assert GOVERNOR_LINE in names
    vol_names = [t.get("name") for t in charts["rb-chart-vol"]["data"]]
    assert vol_names == ["realised (63-day)", "ex-ante of the final book", "target"]


@pytest.mark.parametrize("given", ["history", *sorted(OPTIONAL)])
def test_each_optional_section_needs_only_its_input(book_run, tmp_path, given):
    kwargs = {given: book_run.inputs()[given]}
    text = tear_sheet(book_run.result, tmp_path / "r.html", **kwargs).read_text("utf-8")
    page = Page(text)
    assert set(ALWAYS) <= page.ids
    for name, marker in OPTIONAL.items():
        assert (marker in page.ids) == (name == given), marker
    drawdown_lines = [t["name"] for t in page.charts()["rb-chart-drawdown"]["data"]]
    assert (GOVERNOR_LINE in drawdown_lines) == (given == "history")


def test_validation_as_tables_and_verdict_strings(book_run, tmp_path):
    report = book_run.validation
    mapping = {
        **report.tables(),
        "verdict": report.verdict,
        "sensitivity_verdict": report.sensitivity.verdict,
        "notes": list(report.notes),
    }
    text = tear_sheet(book_run.result, tmp_path / "r.html", validation=mapping).read_text("utf-8")
    assert text.count(_escaped(report.verdict)) == 2
    assert _escaped(report.sensitivity.verdict) in text
    assert _escaped(report.notes[0]) in text
    page = Page(text)
    pbo_rows = [row for rows in page.tables.values() for row in rows if row and row[0][2] == "PBO"]
    assert len(pbo_rows) == 1
    assert float(pbo_rows[0][1][1]["data-value"]) == report.pbo.pbo


def test_a_constant_vol_target_without_history(book_run, tmp_path):
    text = tear_sheet(book_run.result, tmp_path / "r.html", vol_target=0.1).read_text("utf-8")
    target = next(t for t in Page(text).charts()["rb-chart-vol"]["data"] if t["name"] == "target")
    assert decode(target["y"]).tolist() == [0.1, 0.1]


# ---------------------------------------------------------------------------- numbers
def test_metrics_table_equals_result_metrics(book_run, full_page):
    _, _, page = full_page
    expected = book_run.result.metrics()
    rows = page.tables["rb-metrics"]
    assert [c[2] for c in rows[0]] == ["metric", "strategy", "benchmark"]
    shown = {row[0][2]: row[1] for row in rows[1:]}
    assert len(shown) == len(expected)
    labels = tear_sheet_module.METRICS
    for key, value in expected.items():
        raw = float(shown[labels[key][0]][1]["data-value"])
        assert raw == value or (math.isnan(raw) and math.isnan(value)), key
    sharpe = expected["sharpe"]
    assert shown["CAGR"][2] == f"{expected['cagr']:.2%}"
    assert shown["Sharpe ratio"][2] == (f"{sharpe:.3f}" if abs(sharpe) < 0.1 else f"{sharpe:.2f}")
    assert shown["Max drawdown"][2] == f"{expected['max_drawdown']:.2%}"
    assert shown["Trades"][2] == f"{int(expected['trades']):,}"
    assert shown["Total costs (fees + slippage)"][2] == f"{expected['total_costs']:,.0f}"


def test_benchmark_column_is_the_benchmark_performance(book_run, full_page):
    from riskbook.simulate.metrics import performance

    _, _, page = full_page
    bench = book_run.result.benchmark
    expected = performance(bench.to_numpy(), bench.index.to_numpy())
    rows = {row[0][2]: row for row in page.tables["rb-metrics"][1:]}
    assert float(rows["CAGR"][2][1]["data-value"]) == expected["cagr"]
    assert float(rows["Max drawdown"][2][1]["data-value"]) == expected["max_drawdown"]


def _hand_monthly(equity: pd.Series) -> dict[tuple[int, int], float]:
    """Month -> last close of the month / last close of the month before (the first value for
    the first month), in plain Python."""
    last: dict[tuple[int, int], float] = {}
    for stamp, value in equity.items():
        last[(stamp.year, stamp.month)] = float(value)
    out, before = {}, float(equity.iloc[0])
    for month in sorted(last):
        out[month] = last[month] / before - 1.0
        before = last[month]
    return out


def test_monthly_table_equals_a_hand_computation(book_run, full_page):
    _, _, page = full_page
    expected = _hand_monthly(book_run.result.daily_equity())
    rows = page.tables["rb-monthly"]
    header = [c[2] for c in rows[0]]
    assert header == ["year", *tear_sheet_module.MONTHS, "Year"]
    seen = 0
    for row in rows[1:]:
        year = int(row[0][2])
        yearly = 1.0
        for m, (_, attrs, text) in enumerate(row[1:13], start=1):
            value = float(attrs["data-value"])
            if (year, m) in expected:
                assert value == pytest.approx(expected[(year, m)], rel=1e-12, abs=1e-15)
                assert text == f"{expected[(year, m)]:.1%}".replace("-0.0%", "0.0%")
                yearly *= 1.0 + expected[(year, m)]
                seen += 1
            else:
                assert math.isnan(value) and text == "–"
        assert float(row[13][1]["data-value"]) == pytest.approx(yearly - 1.0, rel=1e-12)
    assert seen == len(expected) == 36  # 2018-2020


def test_monthly_returns_partial_years():
    eq = pd.Series(
        [100.0, 102.0, 99.96, 104.958],
        index=pd.to_datetime(["2019-11-29", "2019-12-31", "2020-01-31", "2020-02-28"]),
    )
    table = monthly_returns(eq)
    assert list(table.index) == [2019, 2020]
    assert table.loc[2019, "Nov"] == 0.0 and table.loc[2019, "Dec"] == pytest.approx(0.02)
    assert table.loc[2020, "Jan"] == pytest.approx(-0.02)
    assert table.loc[2020, "Feb"] == pytest.approx(0.05)
    assert table.loc[2020, "Year"] == pytest.approx(104.958 / 102.0 - 1.0)
    assert (
        table.loc[2019, ["Jan", "Oct"]].isna().all() and table.loc[2020, "Mar":"Dec"].isna().all()
    )


def test_equity_is_drawn_daily_and_weights_weekly(book_run, full_page):
    _, _, page = full_page
    charts = page.charts()
    equity = book_run.result.daily_equity()
    trace = charts["rb-chart-equity"]["data"][0]
    assert trace["x"][0] == str(equity.index[0].date()) and len(trace["x"]) == len(equity)
    np.testing.assert_array_equal(decode(trace["y"]), equity.to_numpy())
    bench = charts["rb-chart-equity"]["data"][1]
    np.testing.assert_array_equal(decode(bench["y"]), book_run.result.benchmark.to_numpy())
    weeks = equity.index.to_period("W").nunique()
    weights = charts["rb-chart-weights"]["data"]
    assert all(len(t["x"]) == weeks for t in weights)
    # longs and shorts of a name stack separately and add up to its weight at the week's close
    week_close = book_run.result.weights.groupby(equity.index.to_period("W")).tail(1)
    names = {t["name"] for t in weights} - {"net", "other (long)", "other (short)"}
    assert len(names) == 14  # the largest names, the rest summed as "other"
    for name in names:
        sides = [decode(t["y"]) for t in weights if t["name"] == name]
        np.testing.assert_allclose(sum(sides), week_close[name].to_numpy(), atol=1e-15)
    # the Linear / Log toggle
    menu = charts["rb-chart-equity"]["layout"]["updatemenus"][0]
    assert [b["args"][0]["yaxis.type"] for b in menu["buttons"]] == ["linear", "log"]


def test_reconciliation_shows_the_last_rebalance(book_run, full_page):
    _, _, page = full_page
    rec = book_run.result.reconciliation
    last = rec[rec["date"] == rec["date"].iloc[-1]].set_index("symbol")
    table = next(
        rows
        for rows in page.tables.values()
        if [c[2] for c in rows[0]][:3] == ["symbol", "target weight", "held weight"]
    )
    for row in table[1:]:
        symbol = row[0][2]
        assert float(row[1][1]["data-value"]) == last.loc[symbol, "target_weight"]
        assert float(row[2][1]["data-value"]) == last.loc[symbol, "held_weight"]
        assert float(row[3][1]["data-value"]) == last.loc[symbol, "residual"]


# ---------------------------------------------------------------------------- offline
NETWORK = ("http:", "https:", "//", "ftp:", "ws:", "wss:")
URL_ATTRS = ("src", "href", "action", "data", "poster", "srcset", "formaction", "background")


def test_nothing_is_loaded_from_anywhere(full_page):
    _, _, page = full_page
    assert not [tag for tag, _ in page.tags if tag in ("link", "iframe", "img", "object")]
    for tag, attrs in page.tags:
        assert not (tag == "script" and "src" in attrs), attrs
        for name in URL_ATTRS:
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(NETWORK), (tag, name, value)
            assert not value or value.startswith("#"), (tag, name, value)  # in-page links only
    for css in page.styles:
        assert "url(" not in css and "@import" not in css
    # plotly.js itself is inline, and the page forbids any request should anything try
    assert max(len(body) for _, body in page.scripts) > 3_000_000
    csp = next(a for t, a in page.tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in csp["content"] and "connect-src 'none'" in csp["content"]


def test_every_chart_spec_is_complete(full_page):
    _, _, page = full_page
    charts = page.charts()
    containers = {a["id"] for t, a in page.tags if "rb-chart" in (a.get("class") or "").split()}
    assert containers == set(charts)
    assert len(charts) == 10
    for spec in charts.values():
        assert spec["data"] and spec["layout"]["height"] > 0
        assert spec["config"]["displaylogo"] is False


def test_text_is_escaped(book_run, tmp_path):
    title = 'Book <script>alert("x")</script> & co'
    text = tear_sheet(book_run.result, tmp_path / "r.html", title=title).read_text("utf-8")
    assert "<script>alert" not in text
    assert "Book &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in text


# ---------------------------------------------------------------------------- writing
def test_write_is_atomic(book_run, tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    path.write_text("previous report", encoding="utf-8")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(tear_sheet_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        tear_sheet(book_run.result, path)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]

    monkeypatch.undo()

    def failing_section(*args, **kwargs):
        raise RuntimeError("a section failed")

    monkeypatch.setattr(tear_sheet_module, "_monthly", failing_section)
    with pytest.raises(RuntimeError, match="a section failed"):
        tear_sheet(book_run.result, path)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]

    monkeypatch.undo()
    out = tear_sheet(book_run.result, path)
    assert out == path and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_parent_folders_are_created(book_run, tmp_path):
    out = tear_sheet(book_run.result, str(tmp_path / "a" / "b" / "r.html"))
    assert out.is_file() and isinstance(out, Path)


# ---------------------------------------------------------------------------- inputs
def test_wrong_inputs_are_refused(book_run, tmp_path):
    path = tmp_path / "r.html"
    with pytest.raises(ConfigError, match="validation"):
        tear_sheet(book_run.result, path, validation=42)
    with pytest.raises(ConfigError, match="audit"):
        tear_sheet(book_run.result, path, audit=[1, 2])
    with pytest.raises(ConfigError, match="audit"):
        tear_sheet(book_run.result, path, audit=pd.DataFrame({"x": [1]}))
    with pytest.raises(ConfigError, match="vol_target"):
        tear_sheet(book_run.result, path, vol_target=-0.1)
    with pytest.raises(ConfigError, match="sleeve_weights"):
        tear_sheet(book_run.result, path, sleeve_weights=[0.5, 0.5])
    with pytest.raises(ConfigError, match="history"):
        tear_sheet(book_run.result, path, history={"vol_target": 0.1})
    assert not path.exists()


def test_audit_from_the_target_book_and_sleeves_from_a_mapping(book_run, tmp_path):
    book = book_run.last_book
    sleeves = {t: dict(row) for t, row in book_run.sleeve_weights.iterrows()}
    text = tear_sheet(
        book_run.result, tmp_path / "r.html", audit=book, sleeve_weights=sleeves
    ).read_text("utf-8")
    page = Page(text)
    assert {"audit", "sleeves"} <= page.ids
    assert f"({pd.Timestamp(book.time).date()})" in text
    assert len(page.tables["rb-audit"]) == len(book.audit) + 1


def test_a_minute_result_is_drawn_on_session_closes(sp500, tmp_path):
    daily = sp500.slice("2021-01-04", "2021-03-31").select(["KO", "PEP", "XOM"])
    minutes = synthetic_minutes(daily, minutes_per_day=30, seed=3)
    result = riskbook.backtest(
        minutes, lambda view: {"KO": 0.3, "PEP": 0.3, "XOM": 0.3}, schedule="weekly"
    )
    page = Page(tear_sheet(result, tmp_path / "r.html").read_text("utf-8"))
    equity = page.charts()["rb-chart-equity"]["data"][0]
    assert len(equity["x"]) == len(result.daily_equity()) < len(result.dates)
    np.testing.assert_array_equal(decode(equity["y"]), result.daily_equity().to_numpy())


def _escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)
