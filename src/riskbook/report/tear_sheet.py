"""The HTML tear sheet: one self-contained file that shows what a backtest did and why.

:func:`tear_sheet` writes a single HTML page with plotly.js embedded (no CDN, no fonts, no
request of any kind: a Content-Security-Policy in the page forbids them), so it opens offline
and can be mailed as it is. Sections appear when their inputs are given:

==========================  ================================================================
section                     needs
==========================  ================================================================
performance, metrics,       the :class:`~riskbook.simulate.BacktestResult` alone (the benchmark
monthly returns, exposure,  lines when it has one)
risk, reconciliation,
trading
vol target, governor        ``history`` (:meth:`riskbook.book.BookBuilder.history_frame`) or
                            ``vol_target``
sleeve weights              ``sleeve_weights`` (one row per decision, one column per sleeve)
validation                  ``validation`` (a :class:`~riskbook.validate.ValidationReport`, or
                            its ``tables()`` with the verdict strings)
audit                       ``audit`` (the last :meth:`~riskbook.book.TargetBook.audit_frame`,
                            or the :class:`~riskbook.book.TargetBook` itself)
==========================  ================================================================

Equity, drawdown and volatility are drawn on every session close; weights over time are
sampled at each week's last close, which keeps a 23-year daily run to a few megabytes that
render in about a second.

Examples
--------
>>> import pandas as pd
>>> eq = pd.Series([100.0, 110.0, 99.0, 108.9],
...                index=pd.to_datetime(["2020-01-02", "2020-01-31", "2020-02-28", "2020-03-31"]))
>>> monthly_returns(eq).loc[2020, ["Jan", "Feb", "Mar", "Year"]].round(4).tolist()
[0.1, -0.1, 0.1, 0.089]
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskbook.errors import ConfigError, DataError, OptimizationError
from riskbook.report import _html as H
from riskbook.simulate.metrics import drawdown, performance

__all__ = ["monthly_returns", "tear_sheet"]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Label and display kind of each metric of :meth:`BacktestResult.metrics`, in display order.
METRICS: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "pct"),
    "cagr": ("CAGR", "pct"),
    "volatility": ("Volatility (annualised)", "pct"),
    "sharpe": ("Sharpe ratio", "num"),
    "sortino": ("Sortino ratio", "num"),
    "max_drawdown": ("Max drawdown", "pct"),
    "calmar": ("Calmar ratio", "num"),
    "turnover": ("Turnover (one-way, per year)", "x"),
    "total_costs": ("Total costs (fees + slippage)", "money"),
    "costs_pct_of_initial": ("Costs / initial cash", "pct"),
    "exposure": ("Mean gross exposure", "pct"),
    "trades": ("Trades", "int"),
    "rebalances": ("Rebalances", "int"),
}

#: Display kinds of columns whose names do not tell, by validation table.
VALIDATION_KINDS: dict[str, dict[str, str]] = {
    "hypothetical_stress": {"value": "pct"},
    "historical_stress": {"days": "int", "cut_lag": "int"},
}

#: Titles and one-line explanations of the validation tables, by ``tables()`` key.
VALIDATION_TABLES: dict[str, tuple[str, str]] = {
    "gates": (
        "Overfitting gates: PBO and deflated Sharpe",
        "PBO is the probability that the configuration best in sample ranks below the median out "
        "of sample (CSCV over every allocator and lookback tried); the deflated Sharpe ratio is "
        "the probability that the book's Sharpe beats the best of that many trials by luck alone.",
    ),
    "ladder": (
        "Walk-forward benchmark ladder",
        "Each cross-sleeve allocator refitted on a rolling window and traded out of sample, net of "
        "costs, next to the full book; the verdict line says which one to ship.",
    ),
    "combined_sharpe": (
        "Diversification: expected vs realised combined Sharpe",
        "The Sharpe the sleeves should give combined, from their mean Sharpe and average "
        "correlation, against the Sharpe the 1/N-risk combination actually earned.",
    ),
    "historical_stress": (
        "Historical stress windows",
        "The book through past crises: its return and drawdown in each window, the benchmark's, "
        "and how fast the governor cut gross once the drawdown crossed its start.",
    ),
    "hypothetical_stress": (
        "Hypothetical shocks on the current book",
        "The last book under shocks it has not lived through: correlations to one, volatility "
        "tripled, a 1987-style day; the loss against the governor's start and the hard cap.",
    ),
    "monte_carlo": (
        "Monte Carlo drawdowns, with and without the governor",
        "Block-bootstrapped paths of the book's ungoverned returns: quantiles of the maximum "
        "drawdown and final loss, and the share of paths breaching the hard cap.",
    ),
    "sensitivity": (
        "Parameter sensitivity",
        "The book's Sharpe when each parameter moves by the factors shown: flat means robust, "
        "peaked means the chosen value is suspiciously special.",
    ),
}


# ---------------------------------------------------------------------------- computations
def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Calendar-month returns of an equity curve, one row per year, plus the year's return.

    Each month's return is its last value over the previous month's last value (the first
    month's over the curve's first value); ``Year`` compounds the months, i.e. the year's last
    value over the previous year's last value. Months outside the curve are NaN.

    Parameters
    ----------
    equity
        Equity (or any price level) indexed by datetime, in time order.

    Returns
    -------
    DataFrame
        Index ``year``; columns ``Jan`` .. ``Dec`` and ``Year``.

    Examples
    --------
    >>> eq = pd.Series([100.0, 105.0, 102.9, 110.0],
    ...     index=pd.to_datetime(["2019-12-30", "2019-12-31", "2020-01-31", "2020-02-03"]))
    >>> monthly_returns(eq).loc[2020, ["Jan", "Feb", "Year"]].round(4).tolist()
    [-0.02, 0.069, 0.0476]
    """
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise DataError("monthly_returns needs an equity curve indexed by datetime")
    values = equity.to_numpy(dtype=float)
    if len(values) == 0:
        return pd.DataFrame(columns=[*MONTHS, "Year"], index=pd.Index([], name="year"))
    stamps = equity.index.to_numpy().astype("datetime64[M]")
    last = np.r_[stamps[1:] != stamps[:-1], True]
    month_end = values[last]
    months = stamps[last]
    before = np.r_[values[0], month_end[:-1]]
    rets = month_end / before - 1.0
    years = months.astype("datetime64[Y]").astype(int) + 1970
    month_no = months.astype(int) % 12
    table = np.full((years.max() - years.min() + 1, 12), np.nan)
    table[years - years.min(), month_no] = rets
    out = pd.DataFrame(
        table, index=pd.Index(np.arange(years.min(), years.max() + 1), name="year"), columns=MONTHS
    )
    year_of = years
    year_last = np.r_[year_of[1:] != year_of[:-1], True]
    year_end = month_end[year_last]
    out["Year"] = year_end / np.r_[values[0], year_end[:-1]] - 1.0
    return out


def _session_last(dates: np.ndarray) -> np.ndarray:
    """True at each day's last stamp."""
    days = dates.astype("datetime64[D]")
    return np.r_[days[1:] != days[:-1], True]


def _week_last(index: pd.Index) -> np.ndarray:
    """True at each (Monday-based) week's last stamp."""
    days = np.asarray(index, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    week = (days + 3) // 7  # 1970-01-01 was a Thursday
    return np.r_[week[1:] != week[:-1], True]


@dataclass
class _Inputs:
    """Everything the sections draw from, computed once."""

    result: Any
    equity: pd.Series  # session closes
    benchmark: pd.Series | None
    metrics: pd.Series
    bench_metrics: dict[str, float] | None
    weights: pd.DataFrame  # session closes
    closes: np.ndarray  # session closes, (days, N)
    history: pd.DataFrame | None = None
    sleeve_weights: pd.DataFrame | None = None
    audit: pd.DataFrame | None = None
    audit_time: Any = None
    validation: Any = None
    vol_target: float | None = None
    notes: list[str] = field(default_factory=list)


def _prepare(result: Any, **kw: Any) -> _Inputs:
    if len(result.dates) < 2:
        raise ConfigError("a tear sheet needs a result with at least two bars", parameter="result")
    mask = (
        np.ones(len(result.dates), dtype=bool)
        if result.frequency == "daily"
        else _session_last(result.dates)
    )
    equity = result.daily_equity()
    bench = None
    if result.benchmark_values is not None:
        bench = pd.Series(result.benchmark_values[mask], index=equity.index, name="benchmark")
    weights = result.weights.iloc[mask]
    weights.index = equity.index
    bench_metrics = None
    if bench is not None and np.isfinite(bench.to_numpy()).sum() > 1:
        b = bench.dropna()
        bench_metrics = performance(b.to_numpy(), b.index.to_numpy())
    return _Inputs(
        result=result,
        equity=equity,
        benchmark=bench,
        metrics=result.metrics(),
        bench_metrics=bench_metrics,
        weights=weights,
        closes=result.close[mask],
        **kw,
    )


def _sleeve_frame(sleeve_weights: Any) -> pd.DataFrame | None:
    if sleeve_weights is None:
        return None
    if isinstance(sleeve_weights, pd.DataFrame):
        frame = sleeve_weights.copy()
    elif isinstance(sleeve_weights, Mapping):
        frame = pd.DataFrame.from_dict(dict(sleeve_weights), orient="index")
    else:
        raise ConfigError(
            "sleeve_weights must be a DataFrame (decisions x sleeves) or a mapping time -> "
            "{sleeve: weight}",
            parameter="sleeve_weights",
        )
    frame.index = pd.DatetimeIndex(frame.index)
    return frame.sort_index().astype(float).fillna(0.0)


def _audit_frame(audit: Any) -> tuple[pd.DataFrame | None, Any]:
    if audit is None:
        return None, None
    if hasattr(audit, "audit_frame"):
        return audit.audit_frame(), getattr(audit, "time", None)
    if isinstance(audit, pd.DataFrame):
        if "stage" not in audit.columns:
            raise ConfigError("an audit frame needs a 'stage' column", parameter="audit")
        return audit, None
    raise ConfigError(
        "audit must be a TargetBook or its audit_frame()", parameter="audit", got=type(audit)
    )


# ---------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class _Section:
    id: str
    title: str
    html: str


def _section(sid: str, title: str, note: str, *parts: str) -> _Section:
    body = (
        f'<section class="rb-section" id="{sid}"><h2>{H.esc(title)}</h2>'
        + (f'<p class="rb-note">{H.esc(note)}</p>' if note else "")
        + "".join(parts)
        + "</section>"
    )
    return _Section(sid, title, body)


def _sub(title: str, note: str = "") -> str:
    return f"<h3>{H.esc(title)}</h3>" + (f'<p class="rb-note">{H.esc(note)}</p>' if note else "")


def _performance(d: _Inputs, C: Any) -> _Section:
    eq = d.equity
    parts = [C.equity_chart(eq, d.benchmark).html()]
    dd = pd.Series(drawdown(eq.to_numpy(float)), index=eq.index)
    bdd = None
    if d.benchmark is not None:
        b = d.benchmark.dropna()
        bdd = pd.Series(drawdown(b.to_numpy(float)), index=b.index)
    mult = None
    h = d.history
    if h is not None and "governor" in h.columns:
        m = h["governor"].astype(float)
        if "tier_factor" in h.columns:
            m = m * h["tier_factor"].astype(float)
        mult = m
    parts.append(_sub("Drawdown", _dd_note(mult is not None)))
    parts.append(C.drawdown_chart(dd, bdd, mult).html())

    window = 63
    rets = eq.pct_change()
    realised = (rets.rolling(window).std(ddof=1) * np.sqrt(252.0)).dropna()
    target = ex_ante = None
    if h is not None and "vol_target" in h.columns:
        target = h["vol_target"].astype(float)
    elif d.vol_target is not None:
        target = pd.Series(float(d.vol_target), index=eq.index[[0, -1]])
    if h is not None and "final_vol" in h.columns:
        ex_ante = h["final_vol"].astype(float)
    if len(realised):
        parts.append(
            _sub(
                "Rolling volatility vs target",
                f"Realised volatility of daily returns over {window} sessions, annualised"
                + (
                    ", against the portfolio vol target in force at each decision"
                    if target is not None
                    else ""
                )
                + (
                    " and the ex-ante volatility of the final book. Below target after a loss is "
                    "the governor at work; above it is the estimate falling behind the market."
                    if ex_ante is not None
                    else "."
                ),
            )
        )
        parts.append(C.vol_chart(realised, target, ex_ante, window).html())
    note = (
        "Equity at every session close"
        + (
            ", next to the benchmark scaled to the same starting cash"
            if d.benchmark is not None
            else ""
        )
        + ". Switch the axis to Log to compare growth rates across decades. On every chart: "
        "drag to zoom, double-click to reset, click a legend entry to hide its line."
    )
    return _section("performance", "Performance", note, *parts)


def _dd_note(governor: bool) -> str:
    text = "Loss from the running peak of equity at each session close."
    if governor:
        text += (
            " The blue step line is the exposure multiplier the drawdown governor and the kill "
            "tiers applied at each decision (right axis): 100% is full size."
        )
    return text


def _metrics(d: _Inputs) -> _Section:
    head = "<tr><th>metric</th><th>strategy</th>"
    if d.bench_metrics is not None:
        head += "<th>benchmark</th>"
    head += "</tr>"
    rows = []
    keys = [k for k in METRICS if k in d.metrics.index]
    keys += [k for k in d.metrics.index if k not in METRICS]
    for key in keys:
        label, kind = METRICS.get(key, (str(key).replace("_", " "), "auto"))
        value = d.metrics[key]
        if kind == "int":
            value = int(value)
        row = f'<tr data-metric="{H.esc(key)}"><th scope="row">{H.esc(label)}</th>'
        row += H.cell(value, kind)
        if d.bench_metrics is not None:
            bv = d.bench_metrics.get(key)
            row += H.cell(bv, kind) if bv is not None else "<td></td>"
        rows.append(row + "</tr>")
    table = (
        '<div class="rb-scroll"><table class="rb-table" id="rb-metrics"><thead>'
        + head
        + "</thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )
    note = (
        "On session closes. Sharpe and Sortino annualise daily returns (no risk-free rate); "
        "CAGR uses calendar time; turnover is one-way traded value over mean equity per year."
    )
    return _section("metrics", "Metrics", note, table)


def _monthly(d: _Inputs) -> _Section:
    table = monthly_returns(d.equity)
    months = table[list(MONTHS)].to_numpy()
    finite = np.abs(months[np.isfinite(months)])
    scale = float(np.quantile(finite, 0.95)) if finite.size else 0.0
    years = table["Year"].to_numpy()
    yfinite = np.abs(years[np.isfinite(years)])
    yscale = float(yfinite.max()) if yfinite.size else 0.0
    head = "<tr><th>year</th>" + "".join(f"<th>{m}</th>" for m in MONTHS) + "<th>Year</th></tr>"
    rows = []
    for year, row in zip(table.index, table.to_numpy(), strict=True):
        cells = [f'<th scope="row">{int(year)}</th>']
        for v in row[:12]:
            cells.append(H.cell(float(v), "pct1", style=H.heat_style(float(v), scale)))
        yv = float(row[12])
        cells.append(
            H.cell(yv, "pct1", style=H.heat_style(yv, yscale)).replace(
                '<td class="num"', '<td class="num rb-year"', 1
            )
        )
        rows.append(f'<tr data-year="{int(year)}">' + "".join(cells) + "</tr>")
    html = (
        '<div class="rb-scroll"><table class="rb-table rb-heat" id="rb-monthly"><thead>'
        + head
        + "</thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )
    note = (
        "Return of each calendar month (last close over the previous month's last close), and of "
        "each year. Colours run from red (loss) to green (gain), saturating at the 95th "
        "percentile of the monthly moves."
    )
    return _section("monthly", "Monthly returns", note, html)


def _top_columns(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` columns of largest mean absolute value, the rest summed as "other" (longs and
    shorts summed separately so that a long and a short do not cancel)."""
    held = frame.loc[:, (frame != 0).any(axis=0)]
    if held.shape[1] <= k + 1:
        return held
    order = held.abs().mean().sort_values(ascending=False).index
    top, rest = held[order[:k]], held[order[k:]]
    out = top.copy()
    out["other (long)"] = rest.clip(lower=0).sum(axis=1)
    if (rest < 0).any().any():
        out["other (short)"] = rest.clip(upper=0).sum(axis=1)
    return out


def _exposure(d: _Inputs, C: Any) -> _Section | None:
    w = d.weights
    weekly = w.iloc[_week_last(w.index)]
    frame = _top_columns(weekly, 14)
    if frame.shape[1] == 0:
        return None
    note = (
        "Weight of each position (value / equity) at each week's last close: longs stacked above "
        "zero, shorts below, the black line the net exposure. Click a name in the legend to hide "
        "it."
    )
    if frame.shape[1] < weekly.loc[:, (weekly != 0).any(axis=0)].shape[1]:
        note += " The 14 largest names are shown; the rest are summed as other."
    chart = C.stacked_weights_chart(frame, "rb-chart-weights")
    return _section("exposure", "Weights over time", note, chart.html())


def _sleeves(d: _Inputs, C: Any) -> _Section | None:
    s = d.sleeve_weights
    if s is None or s.empty:
        return None
    weekly = s.iloc[_week_last(s.index)]
    last = s.iloc[-1]
    table = pd.DataFrame({"weight": last}).rename_axis("sleeve")
    table.loc["total"] = float(last.sum())
    parts = [
        C.stacked_weights_chart(weekly, "rb-chart-sleeves", height=320, net=False).html(),
        _sub(f"At the last decision ({H.format_value(pd.Timestamp(s.index[-1]))})"),
        H.table(table, kinds={"weight": "pct"}),
    ]
    note = (
        "Capital given to each sleeve by the allocation stage (HRP with caps, skill and regime "
        "tilts, probation and smoothing) at each week's last decision. The total departs from "
        "100% while sleeves are on probation and as the smoothing trails the targets."
    )
    return _section("sleeves", "Sleeve weights", note, *parts)


def _risk(d: _Inputs, C: Any, window: int = 252) -> _Section | None:
    from riskbook.estimate import ledoit_wolf
    from riskbook.optimize.diagnostics import risk_contributions

    w_all = d.weights.iloc[-1].to_numpy(float)
    held = np.flatnonzero(np.nan_to_num(w_all) != 0)
    title = "Risk contributions"
    when = H.format_value(pd.Timestamp(d.weights.index[-1]))
    if len(held) == 0:
        return _section("risk", title, f"Flat on {when}: no risk held.")
    closes = d.closes[-window - 1 :, held]
    if len(closes) < 3:
        return None
    rets = np.nan_to_num(closes[1:] / closes[:-1] - 1.0, nan=0.0, posinf=0.0, neginf=0.0)
    w = w_all[held]
    try:
        cov = np.asarray(ledoit_wolf(rets))
        rc = np.asarray(risk_contributions(w, cov))
    except (OptimizationError, DataError) as exc:
        return _section("risk", title, f"No decomposition on {when}: {exc}")
    vol = float(np.sqrt(max(w @ cov @ w, 0.0) * 252.0))
    frame = pd.DataFrame(
        {"weight": w, "risk_contribution": rc},
        index=pd.Index([d.result.symbols[i] for i in held], name="symbol"),
    ).sort_values("risk_contribution", ascending=False)
    note = (
        f"Each held name's weight and its share of the portfolio variance, w_i (Σw)_i / w'Σw, on "
        f"{when}, with Σ the Ledoit-Wolf covariance of the last {len(rets)} daily returns. "
        f"Estimated volatility of the book: {vol:.1%}. A share far above the weight marks a "
        "concentration of risk; a negative share is a hedge."
    )
    return _section("risk", title, note, C.risk_chart(frame).html())


def _reconciliation(d: _Inputs, C: Any) -> _Section | None:
    from riskbook.execute.reconcile import COMPONENTS

    rec = d.result.reconciliation
    if rec.empty:
        return None
    per = (
        rec.assign(
            total=rec["residual"].abs() * 1e4,
            execution=(rec["residual"] - rec["price_move"]).abs() * 1e4,
        )
        .groupby("date")[["total", "execution"]]
        .sum()
    )
    comps = [c for c in COMPONENTS if c in rec.columns]
    grouped = rec[["date", "residual", *comps]].set_index("date").abs().groupby(level=0).sum()
    summary = pd.DataFrame(
        {
            "mean_per_rebalance_bps": grouped.mean() * 1e4,
            "max_per_rebalance_bps": grouped.max() * 1e4,
        }
    ).rename_axis("component (Σ over names of |·|)")
    last_date = rec["date"].iloc[-1]
    last = rec[rec["date"] == last_date].set_index("symbol")
    last = last[(last["target_weight"] != 0) | (last["held_weight"] != 0)]
    last_table = last[["target_weight", "held_weight", "residual", *comps]]
    kinds = {"target_weight": "pct", "held_weight": "pct"} | {
        c: "bps" for c in ["residual", *comps]
    }
    parts = [
        C.reconciliation_chart(per).html(),
        _sub(
            "Where the residual comes from",
            "Σ over names of the absolute component, per rebalance, in basis points of equity.",
        ),
        H.table(summary, kinds={c: "num" for c in summary.columns}),
    ]
    if len(last_table):
        parts += [
            _sub(
                f"Last rebalance ({H.format_value(pd.Timestamp(last_date))}): target vs held",
                "Weights in %, the residual and its components in basis points of equity; the "
                "components sum to the residual.",
            ),
            C.target_held_chart(last_table).html(),
            H.table(last_table, kinds=kinds),
        ]
    note = (
        "After every rebalance the weights held differ from the targets; the difference is split "
        "into the price move between decision and fill, whole-share rounding, the cash buffer, "
        "costs, trades skipped by the band or minimum ticket, and cash shortfalls. The red line "
        "is what execution itself lost; the grey line adds the market's move."
    )
    return _section("reconciliation", "Reconciliation: target vs held", note, *parts)


def _trading(d: _Inputs, C: Any) -> _Section | None:
    trades = d.result.trades
    if trades.empty:
        return _section("trading", "Turnover and costs", "No trade was made.")
    month = trades["fill_time"].to_numpy().astype("datetime64[M]")
    traded = (trades["quantity"] * trades["reference_price"]).abs().to_numpy(float)
    costs = (trades["fee"] + trades["slippage"]).to_numpy(float)
    by = pd.DataFrame({"month": month, "traded": traded, "costs": costs}).groupby("month").sum()
    eq_month = d.equity.groupby(d.equity.index.to_numpy().astype("datetime64[M]")).mean()
    by = by.reindex(eq_month.index, fill_value=0.0)
    monthly = pd.DataFrame(
        {
            "turnover": by["traded"].to_numpy() / 2.0 / eq_month.to_numpy(),
            "cumulative_costs": np.cumsum(by["costs"].to_numpy()) / d.result.initial_cash,
        },
        index=pd.DatetimeIndex(eq_month.index.to_numpy().astype("datetime64[ns]")),
    )
    m = d.metrics
    note = (
        "One-way turnover of each month (traded value / 2 / mean equity) and the fees and "
        "slippage paid so far as a share of the starting cash. "
        f"Over the run: {H.format_value(float(m.get('turnover', np.nan)), 'x')} turnover a year, "
        f"{H.format_value(float(m.get('total_costs', np.nan)), 'money')} of costs "
        f"({H.format_value(float(m.get('costs_pct_of_initial', np.nan)), 'pct')} of initial cash)."
    )
    return _section("trading", "Turnover and costs", note, C.turnover_chart(monthly).html())


def _validation_parts(validation: Any) -> tuple[dict[str, pd.DataFrame], dict[str, str], list]:
    """Tables, verdicts (``ladder``, ``sensitivity``, others) and notes of a validation input."""
    verdicts: dict[str, str] = {}
    notes: list[str] = []
    if hasattr(validation, "tables"):
        tables = dict(validation.tables())
        if getattr(validation, "verdict", None):
            verdicts["ladder"] = str(validation.verdict)
        sens = getattr(validation, "sensitivity", None)
        if getattr(sens, "verdict", None):
            verdicts["sensitivity"] = str(sens.verdict)
        notes = [str(n) for n in getattr(validation, "notes", ())]
        return tables, verdicts, notes
    if not isinstance(validation, Mapping):
        raise ConfigError(
            "validation must be a ValidationReport or a mapping of tables and verdict strings",
            parameter="validation",
        )
    tables = {}
    for key, value in validation.items():
        if isinstance(value, pd.DataFrame):
            tables[str(key)] = value
        elif key == "notes" and not isinstance(value, str):
            notes = [str(n) for n in value]
        elif key == "notes":
            notes = [value]
        elif key in ("verdict", "ladder_verdict"):
            verdicts["ladder"] = str(value)
        elif key == "sensitivity_verdict":
            verdicts["sensitivity"] = str(value)
        elif isinstance(value, str):
            verdicts[str(key)] = value
    return tables, verdicts, notes


def _validation(d: _Inputs, C: Any) -> _Section | None:
    if d.validation is None:
        return None
    tables, verdicts, notes = _validation_parts(d.validation)
    parts = []
    order = [k for k in VALIDATION_TABLES if k in tables] + [
        k for k in tables if k not in VALIDATION_TABLES
    ]
    for key in order:
        frame = tables[key]
        title, note = VALIDATION_TABLES.get(key, (key.replace("_", " ").capitalize(), ""))
        parts.append(f'<div class="rb-validation" data-table="{H.esc(key)}">')
        parts.append(_sub(title, note))
        one_value = list(frame.columns) == ["value"]
        if key == "ladder" and "sharpe" in frame.columns and len(frame):
            parts.append(C.ladder_chart(frame["sharpe"].astype(float)).html())
        kinds = VALIDATION_KINDS.get(key, {})
        parts.append(H.table(frame, kinds=kinds, row_kinds=one_value, max_rows=60))
        if key in verdicts:
            parts.append(f'<div class="rb-callout rb-verdict-line">{H.esc(verdicts[key])}</div>')
        parts.append("</div>")
    for key, text in verdicts.items():
        if key not in tables:
            parts.append(f'<div class="rb-callout rb-verdict-line">{H.esc(text)}</div>')
    if notes:
        parts.append("<ul class='rb-note'>" + "".join(f"<li>{H.esc(n)}</li>" for n in notes))
        parts.append("</ul>")
    note = (
        "Seed 003's validation plan on this book: the walk-forward ladder, the probability of "
        "backtest overfitting, the deflated Sharpe ratio, stress tests and sensitivity."
    )
    return _section("validation", "Validation", note, *parts)


def _audit(d: _Inputs) -> _Section | None:
    if d.audit is None:
        return None
    when = d.audit_time
    if when is None and d.history is not None and len(d.history):
        when = d.history.index[-1]
    head = "<tr><th>stage</th><th>gross</th><th>net</th><th>what it did</th></tr>"
    rows = []
    for rec in d.audit.itertuples(index=False):
        stage = getattr(rec, "stage", "")
        gross = getattr(rec, "gross", np.nan)
        net = getattr(rec, "net", np.nan)
        info = getattr(rec, "info", {})
        rows.append(
            f'<tr data-stage="{H.esc(stage)}"><th scope="row">{H.esc(stage)}</th>'
            + H.cell(float(gross), "pct")
            + H.cell(float(net), "pct")
            + f'<td class="rb-info">{H.format_info(info)}</td></tr>'
        )
    html = (
        '<div class="rb-scroll"><table class="rb-table rb-audit" id="rb-audit"><thead>'
        + head
        + "</thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )
    title = "Book audit at the last rebalance"
    if when is not None:
        title += f" ({H.format_value(pd.Timestamp(when))})"
    note = (
        "What each stage of the integration layer did to the book: gross and net exposure after "
        "it (sleeve-level stages have no net), and its details: scales, allocation, vol "
        "targeting, caps clipped, the governor's drawdown and multiplier, the no-trade band."
    )
    return _section("audit", title, note, html)


def _run(d: _Inputs) -> _Section:
    from riskbook import __version__

    r = d.result
    rows = "".join(
        f"<tr><th scope='row'>{H.esc(k)}</th><td>{H.esc(H.format_value(v))}</td></tr>"
        for k, v in r.settings.items()
    )
    parts = [
        '<div class="rb-scroll"><table class="rb-table" id="rb-settings"><thead><tr>'
        f"<th>setting</th><th>value</th></tr></thead><tbody>{rows}</tbody></table></div>"
    ]
    notes = [*r.notes, *d.notes]
    if notes:
        parts.append("<ul class='rb-note'>" + "".join(f"<li>{H.esc(n)}</li>" for n in notes))
        parts.append("</ul>")
    return _section(
        "run",
        "Run settings",
        f"How the backtest was run (riskbook {__version__}), and the engine's notes.",
        *parts,
    )


def _header(d: _Inputs, title: str) -> str:
    r, m = d.result, d.metrics
    start, end = d.equity.index[0], d.equity.index[-1]
    s = r.settings
    sub = [
        f"{H.format_value(pd.Timestamp(start))} to {H.format_value(pd.Timestamp(end))}",
        f"{r.frequency} bars",
        f"{len(r.symbols)} symbols",
    ]
    if "schedule" in s:
        sub.append(f"{s['schedule']} decisions")
    if "fill" in s:
        sub.append(f"fill {s['fill']}")
    sub.append(f"initial cash {r.initial_cash:,.0f}")
    sub.append(f"final equity {float(d.equity.iloc[-1]):,.0f}")

    def tone(x: float) -> str:
        return "" if not np.isfinite(x) else ("good" if x > 0 else "bad" if x < 0 else "")

    g = lambda k: float(m.get(k, np.nan))  # noqa: E731
    items = [
        ("CAGR", H.format_value(g("cagr"), "pct"), tone(g("cagr"))),
        ("Sharpe", H.format_value(g("sharpe"), "num"), tone(g("sharpe"))),
        ("Volatility", H.format_value(g("volatility"), "pct"), ""),
        ("Max drawdown", H.format_value(g("max_drawdown"), "pct"), ""),
        ("Calmar", H.format_value(g("calmar"), "num"), ""),
        ("Turnover / year", H.format_value(g("turnover"), "x"), ""),
        ("Costs / initial cash", H.format_value(g("costs_pct_of_initial"), "pct"), ""),
    ]
    if d.bench_metrics is not None:
        items.append(("Benchmark CAGR", H.format_value(float(d.bench_metrics["cagr"]), "pct"), ""))
    verdict = ""
    if d.validation is not None:
        _, verdicts, _ = _validation_parts(d.validation)
        if "ladder" in verdicts:
            verdict = f'<div class="rb-verdict" id="rb-verdict">{H.esc(verdicts["ladder"])}</div>'
    return (
        '<header class="rb-header"><div class="rb-wrap">'
        f"<h1>{H.esc(title)}</h1><div class='rb-sub'>{H.esc(' · '.join(sub))}</div>"
        + H.cards(items)
        + verdict
        + "</div></header>"
    )


def _nav(sections: list[_Section]) -> str:
    links = "".join(f'<a href="#{s.id}">{H.esc(s.title.split(" (")[0])}</a>' for s in sections)
    return f'<nav class="rb-nav"><div class="rb-wrap">{links}</div></nav>'


# ---------------------------------------------------------------------------- public
def render(
    result: Any,
    *,
    history: pd.DataFrame | None = None,
    sleeve_weights: Any = None,
    audit: Any = None,
    validation: Any = None,
    title: str = "riskbook",
    vol_target: float | None = None,
) -> str:
    """The tear sheet's HTML as a string (see :func:`tear_sheet`, which writes it)."""
    from plotly.offline import get_plotlyjs

    from riskbook.report import _charts as C

    audit_frame, audit_time = _audit_frame(audit)
    if history is not None and not isinstance(history, pd.DataFrame):
        raise ConfigError("history must be BookBuilder.history_frame()", parameter="history")
    if vol_target is not None and not (np.isfinite(vol_target) and vol_target > 0):
        raise ConfigError("vol_target must be a positive number", parameter="vol_target")
    d = _prepare(
        result,
        history=history,
        sleeve_weights=_sleeve_frame(sleeve_weights),
        audit=audit_frame,
        audit_time=audit_time,
        validation=validation,
        vol_target=vol_target,
    )
    sections = [
        _performance(d, C),
        _metrics(d),
        _monthly(d),
        _exposure(d, C),
        _sleeves(d, C),
        _risk(d, C),
        _reconciliation(d, C),
        _trading(d, C),
        _validation(d, C),
        _audit(d),
        _run(d),
    ]
    present = [s for s in sections if s is not None]
    from riskbook import __version__

    footer = f"riskbook {H.esc(__version__)} · charts by plotly.js, embedded · works offline"
    js = get_plotlyjs()
    if "</script" in js.lower():  # pragma: no cover - would end the inline script early
        raise ConfigError("the bundled plotly.js cannot be inlined")
    return H.page(
        title=title,
        header=_header(d, title),
        nav=_nav(present),
        body="".join(s.html for s in present),
        footer=footer,
        plotly_js=js,
    )


def tear_sheet(
    result: Any,
    path: str | os.PathLike[str],
    *,
    history: pd.DataFrame | None = None,
    sleeve_weights: Any = None,
    audit: Any = None,
    validation: Any = None,
    title: str = "riskbook",
    vol_target: float | None = None,
) -> Path:
    """Write the HTML tear sheet of a backtest to ``path``, atomically.

    Parameters
    ----------
    result
        A :class:`~riskbook.simulate.BacktestResult`. Alone it gives the performance, metrics,
        monthly returns, weights, risk, reconciliation and trading sections.
    path
        The HTML file to write (parent folders are created). It is written to a temporary file
        beside it and moved into place, so a reader never sees half a report and a failure
        leaves any previous file untouched.
    history
        :meth:`riskbook.book.BookBuilder.history_frame`: the vol target, the book's ex-ante vol
        and the governor's multiplier at each decision.
    sleeve_weights
        Sleeve weights per decision: a DataFrame (decision times x sleeves) or a mapping
        ``time -> {sleeve: weight}`` (e.g. of :attr:`TargetBook.sleeve_weights`).
    audit
        The last :class:`~riskbook.book.TargetBook` or its ``audit_frame()``.
    validation
        A :class:`~riskbook.validate.ValidationReport`, or a mapping of its ``tables()`` with
        the verdict strings under ``"verdict"`` (the ladder's) and ``"sensitivity_verdict"``,
        and optional ``"notes"``.
    title
        The page's title and heading.
    vol_target
        A constant vol target to draw against realised vol when ``history`` is not given.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        An input of the wrong kind, or a result with fewer than two bars.

    Examples
    --------
    >>> import tempfile, riskbook
    >>> from pathlib import Path
    >>> from riskbook.datasets import load_sp500
    >>> data = load_sp500().slice("2021-01-01", "2021-12-31").select(["KO", "PEP", "XOM"])
    >>> result = riskbook.backtest(data, lambda view: {"KO": 0.3, "PEP": 0.3, "XOM": 0.3},
    ...                            fill="next_close")
    >>> out = tear_sheet(result, Path(tempfile.mkdtemp()) / "report.html")
    >>> page = out.read_text(encoding="utf-8")
    >>> 'id="rb-metrics"' in page, "<script src=" in page, 'id="validation"' in page
    (True, False, False)
    """
    target = Path(path)
    doc = render(
        result,
        history=history,
        sleeve_weights=sleeve_weights,
        audit=audit,
        validation=validation,
        title=title,
        vol_target=vol_target,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(doc)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target
