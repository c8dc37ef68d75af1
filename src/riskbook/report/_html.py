"""HTML pieces of the tear sheet: number formats, tables, the page shell and its CSS.

Nothing here knows about backtests; it turns values and frames into escaped HTML.

Examples
--------
>>> format_value(0.12345, "pct")
'12.35%'
>>> format_value(1234567.891, "money")
'1,234,568'
>>> format_value(float("nan"), "num")
'–'
>>> guess_kind("max_drawdown"), guess_kind("sharpe"), guess_kind("trials")
('pct', 'num', 'auto')
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

DASH = "–"

#: Names (column or row labels) shown as ratios with two decimals, checked before percentages.
_NUM_WORDS = re.compile(
    r"sharpe|sortino|calmar|ratio|_se\b|\bse\b|slope|effective|factor|confidence|leverage|"
    r"kelly|bets"
)
#: Names shown as percentages: returns, volatilities, drawdowns, losses, exposures, shares.
_PCT_WORDS = re.compile(
    r"return|drawdown|vol|loss|turnover|drag|worst|\bq\d\d\b|breach|pbo|probability|weight|"
    r"exposure|gross|cap\b|cagr|governor|peak_to_trough|multiplier|residual|price_move|"
    r"rounding|buffer|costs_pct|shortfall|skipped|share"
)


def guess_kind(label: Any) -> str:
    """The display kind of a column or row from its name: ``"pct"``, ``"num"`` or ``"auto"``.

    Examples
    --------
    >>> guess_kind("annual_return"), guess_kind("book Sharpe (annual)"), guess_kind("days")
    ('pct', 'num', 'auto')
    """
    name = str(label).lower()
    if _NUM_WORDS.search(name):
        return "num"
    if _PCT_WORDS.search(name):
        return "pct"
    return "auto"


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return not math.isfinite(float(value))
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def format_value(value: Any, kind: str = "auto") -> str:
    """Format one value for a table cell (plain text, not yet escaped).

    ``kind``: ``"pct"`` (two decimals), ``"pct1"``, ``"num"`` (two decimals), ``"num3"``,
    ``"money"`` (no decimals, thousands separators), ``"int"``, ``"bps"`` (value x 1e4, one
    decimal), ``"x"`` (a multiple, two decimals), ``"auto"`` (by magnitude) or ``"text"``.

    Examples
    --------
    >>> format_value(17.06, "x"), format_value(-0.00012, "bps"), format_value(3.0)
    ('17.06×', '-1.2', '3')
    >>> format_value(True), format_value(pd.Timestamp("2020-03-23")), format_value(0.5)
    ('yes', '2020-03-23', '0.500')
    """
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if _is_missing(value):
        return DASH
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        return str(ts.date()) if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    if not isinstance(value, float | np.floating):
        return str(value)
    x = float(value)
    return _unsigned_zero(_format_float(x, kind))


def _format_float(x: float, kind: str) -> str:
    if kind == "pct":
        return f"{x:.2%}"
    if kind == "pct1":
        return f"{x:.1%}"
    if kind == "num":
        return f"{x:,.3f}" if 0 < abs(x) < 0.1 else f"{x:,.2f}"
    if kind == "num3":
        return f"{x:,.3f}"
    if kind in ("money", "int"):
        return f"{x:,.0f}"
    if kind == "bps":
        return f"{x * 1e4:,.1f}"
    if kind == "x":
        return f"{x:,.2f}×"
    if x == int(x) and abs(x) < 1e15:
        return f"{x:,.0f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) < 0.01:
        return f"{x:.3g}"
    return f"{x:.3f}"


def _unsigned_zero(text: str) -> str:
    """``-0.00`` and the like (a tiny negative rounded away) lose their sign."""
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        return text[1:]
    return text


def _short(value: Any) -> str:
    if isinstance(value, float | np.floating) and not _is_missing(value):
        return f"{float(value):.4g}"
    return format_value(value)


def esc(text: Any) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(text), quote=True)


def _raw(value: Any) -> str | None:
    """The exact value of a numeric cell, for ``data-value`` (machine-readable)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return None


def cell(value: Any, kind: str = "auto", *, tag: str = "td", style: str = "") -> str:
    """One table cell; numbers are right-aligned and carry their exact value in data-value."""
    raw = _raw(value)
    text = format_value(value, kind)
    attrs = []
    if raw is not None:
        attrs.append('class="num"')
        attrs.append(f'data-value="{esc(raw)}"')
    elif len(text) > 40:
        attrs.append('class="rb-long"')
    if style:
        attrs.append(f'style="{esc(style)}"')
    attr = (" " + " ".join(attrs)) if attrs else ""
    return f"<{tag}{attr}>{esc(text)}</{tag}>"


def table(
    frame: pd.DataFrame,
    *,
    kinds: Mapping[Any, str] | None = None,
    row_kinds: bool = False,
    css_class: str = "rb-table",
    table_id: str | None = None,
    index: bool = True,
    max_rows: int | None = None,
) -> str:
    """A DataFrame as an HTML table with formatted numbers.

    Parameters
    ----------
    frame
        The table; its index becomes the first column (``index=True``).
    kinds
        Display kind by column label; other columns are guessed from their names.
    row_kinds
        Guess each cell's kind from its row label instead (one-column "value" tables).
    max_rows
        Show at most this many rows, with a note of how many were left out.

    Examples
    --------
    >>> t = table(pd.DataFrame({"sharpe": [1.234], "max_drawdown": [-0.1]}, index=["a"]))
    >>> "1.23" in t and "-10.00%" in t
    True
    """
    kinds = dict(kinds or {})
    cols = list(frame.columns)
    col_kind = {c: kinds.get(c, guess_kind(c)) for c in cols}
    head = []
    if index:
        head.append(f"<th>{esc(_label(frame.index.name))}</th>")
    head.extend(f"<th>{esc(_label(c))}</th>" for c in cols)
    shown = frame if max_rows is None else frame.iloc[:max_rows]
    rows = []
    for label, row in zip(shown.index, shown.itertuples(index=False, name=None), strict=True):
        cells = [f'<th scope="row">{esc(format_value(label))}</th>'] if index else []
        for c, v in zip(cols, row, strict=True):
            kind = guess_kind(label) if row_kinds else col_kind[c]
            cells.append(cell(v, kind))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if max_rows is not None and len(frame) > max_rows:
        more = f'<p class="rb-more">{len(frame) - max_rows} more rows not shown.</p>'
    tid = f' id="{esc(table_id)}"' if table_id else ""
    return (
        f'<div class="rb-scroll"><table class="{esc(css_class)}"{tid}><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + more
    )


def _label(label: Any) -> str:
    if label is None:
        return ""
    return str(label).replace("_", " ")


def format_info(info: Any, *, depth: int = 0) -> str:
    """An audit stage's details (a dict of numbers, names, lists, dicts) as compact HTML.

    Examples
    --------
    >>> format_info({"tier": "NORMAL", "multiplier": 0.311586, "clipped": ["A", "B"]})
    '<span class="rb-kv"><b>tier</b> NORMAL</span> <span class="rb-kv"><b>multiplier</b> 0.3116</span> <span class="rb-kv"><b>clipped</b> A, B</span>'
    """
    if isinstance(info, Mapping):
        if not info:
            return DASH
        if depth > 0:
            return ", ".join(f"{esc(k)} {format_info(v, depth=depth + 1)}" for k, v in info.items())
        return " ".join(
            f'<span class="rb-kv"><b>{esc(k)}</b> {format_info(v, depth=1)}</span>'
            for k, v in info.items()
        )
    if isinstance(info, str):
        if _ISO_MIDNIGHT.match(info):
            return esc(info[:10])
        return esc(info) if info else '""'
    if isinstance(info, np.ndarray):
        info = info.tolist()
    if isinstance(info, Sequence | set | frozenset):
        items = list(info)
        if not items:
            return "none"
        shown = ", ".join(format_info(v, depth=depth + 1) for v in items[:12])
        return shown + (f", … (+{len(items) - 12})" if len(items) > 12 else "")
    if isinstance(info, float | np.floating) and not _is_missing(info):
        x = float(info)
        return esc(f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}")
    return esc(format_value(info))


_ISO_MIDNIGHT = re.compile(r"^\d{4}-\d\d-\d\dT00:00:00(\.0+)?$")


def heat_style(value: float, scale: float) -> str:
    """Background of a heat-map cell: green for gains, red for losses, stronger when larger.

    Examples
    --------
    >>> heat_style(0.05, 0.05)
    'background-color: rgba(22, 130, 70, 0.70)'
    >>> heat_style(float("nan"), 0.05)
    ''
    """
    if not math.isfinite(value) or scale <= 0:
        return ""
    t = max(-1.0, min(1.0, value / scale))
    rgb = "22, 130, 70" if t >= 0 else "200, 45, 45"
    return f"background-color: rgba({rgb}, {0.08 + 0.62 * abs(t):.2f})"


def cards(items: Iterable[tuple[str, str, str]]) -> str:
    """Headline figures: (label, value text, tone) with tone "", "good" or "bad"."""
    out = []
    for label, value, tone in items:
        cls = f"rb-card {tone}".strip()
        out.append(
            f'<div class="{cls}"><div class="rb-card-value">{esc(value)}</div>'
            f'<div class="rb-card-label">{esc(label)}</div></div>'
        )
    return '<div class="rb-cards">' + "".join(out) + "</div>"


CSS = """
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f4f6f9; --navy: #16324f;
  --accent: #2563eb; --good: #15803d; --bad: #b91c1c; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header.rb-header { background: var(--navy); color: #fff; padding: 28px 0 22px; }
.rb-wrap { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: .2px; }
header .rb-sub { color: #c7d2e0; font-size: 13px; }
.rb-cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 10px;
  margin-top: 18px; }
.rb-card { background: rgba(255,255,255,.08); border: 1px solid rgba(255,255,255,.14);
  border-radius: 8px; padding: 10px 12px; }
.rb-card-value { font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; }
.rb-card-label { font-size: 12px; color: #c7d2e0; }
.rb-card.good .rb-card-value { color: #86efac; }
.rb-card.bad .rb-card-value { color: #fca5a5; }
.rb-verdict { margin-top: 14px; padding: 8px 12px; border-radius: 6px; background: rgba(255,255,255,.1);
  border-left: 4px solid #93c5fd; font-size: 13.5px; }
nav.rb-nav { position: sticky; top: 0; z-index: 10; background: #fff; border-bottom: 1px solid var(--line); }
nav.rb-nav .rb-wrap { display: flex; flex-wrap: wrap; gap: 2px 16px; padding-top: 8px; padding-bottom: 8px; }
nav.rb-nav a { color: var(--muted); text-decoration: none; font-size: 13px; }
nav.rb-nav a:hover { color: var(--accent); }
main { padding: 18px 0 8px; }
section.rb-section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 22px 14px; margin: 0 0 18px; }
section.rb-section h2 { margin: 0 0 4px; font-size: 18px; font-weight: 650; color: var(--navy); }
section.rb-section h3 { margin: 16px 0 4px; font-size: 14.5px; font-weight: 650; }
p.rb-note { margin: 2px 0 10px; color: var(--muted); font-size: 13px; max-width: 920px; }
p.rb-more, p.rb-empty { color: var(--muted); font-size: 12.5px; margin: 4px 0; }
.rb-grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 8px 24px; }
figure.rb-figure { margin: 8px 0 4px; }
figure.rb-figure figcaption { color: var(--muted); font-size: 12.5px; margin: 2px 0 0 4px; }
.rb-chart { width: 100%; }
.rb-scroll { overflow-x: auto; margin: 4px 0 8px; }
table.rb-table { border-collapse: collapse; font-size: 12.5px; font-variant-numeric: tabular-nums;
  min-width: 40%; }
table.rb-table th, table.rb-table td { padding: 4px 10px; border-bottom: 1px solid var(--line);
  text-align: left; white-space: nowrap; vertical-align: top; }
table.rb-table td.rb-long { white-space: normal; min-width: 280px; max-width: 420px; }
table.rb-table thead th { background: #f8fafc; color: #374151; font-weight: 600;
  border-bottom: 2px solid #d1d5db; position: sticky; top: 0; }
table.rb-table tbody th { font-weight: 500; color: #374151; }
table.rb-table td.num { text-align: right; }
table.rb-table tbody tr:hover { background: #f9fafb; }
table.rb-heat td { text-align: center !important; min-width: 54px; }
table.rb-heat td.rb-year { font-weight: 650; border-left: 2px solid #d1d5db; }
table.rb-audit td.rb-info { white-space: normal; max-width: 760px; color: #374151; }
.rb-kv { display: inline-block; margin: 0 12px 2px 0; }
.rb-kv b { font-weight: 600; color: #4b5563; }
.rb-callout { padding: 8px 12px; border-radius: 6px; background: #eff6ff; border-left: 4px solid var(--accent);
  margin: 8px 0; font-size: 13.5px; }
.rb-callout.warn { background: #fef2f2; border-left-color: var(--bad); }
footer { color: var(--muted); font-size: 12px; padding: 6px 0 30px; }
"""

#: Allows only what is inside the file: inline scripts and styles, data: and blob: images.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
)

LOADER = """
(function () {
  var specs = document.querySelectorAll('script[type="application/json"][data-rb-chart]');
  var pending = [];
  specs.forEach(function (node) {
    var id = node.getAttribute('data-rb-chart');
    try {
      var spec = JSON.parse(node.textContent);
      pending.push(Plotly.newPlot(document.getElementById(id), spec.data, spec.layout, spec.config));
    } catch (err) {
      console.error('riskbook: chart ' + id + ' failed: ' + err);
    }
  });
  Promise.all(pending).then(function () {
    document.body.setAttribute('data-rb-rendered', String(pending.length));
  }, function (err) {
    console.error('riskbook: a chart failed: ' + err);
  });
})();
"""


def page(*, title: str, header: str, nav: str, body: str, footer: str, plotly_js: str) -> str:
    """The whole document: one file, its styles and scripts inline, nothing fetched."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="riskbook">'
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        f"<script>{plotly_js}</script></head>\n"
        f"<body>{header}{nav}<main><div class='rb-wrap'>{body}</div></main>"
        f"<footer><div class='rb-wrap'>{footer}</div></footer>"
        f"<script>{LOADER}</script></body></html>\n"
    )
