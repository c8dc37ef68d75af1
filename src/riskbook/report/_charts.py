"""Plotly figures of the tear sheet, each returned as a :class:`Chart` ready to embed.

The figures are built from numpy arrays already reduced to what a reader can see (daily equity,
weekly weights); dates are sent as ``YYYY-MM-DD`` strings and numbers as plotly's base64 typed
arrays, so a 23-year daily run stays a few megabytes and renders in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from riskbook.report._html import esc

NAVY = "#16324f"
BLUE = "#2563eb"
GREY = "#9ca3af"
RED = "#dc2626"
GREEN = "#15803d"
ORANGE = "#ea580c"
PURPLE = "#7c3aed"
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#5f6b7a",
    "#a0cbe8",
    "#ffbe7d",
    "#8cd17d",
    "#86bcb6",
    "#f1ce63",
    "#d4a6c8",
    "#fabfd2",
    "#d7b5a6",
    "#bab0ac",
    "#2f4b7c",
)
#: Drag to zoom, double-click to reset; no mode bar (it would cover the legends).
CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}


@dataclass(frozen=True)
class Chart:
    """One figure: its container id, height, caption and plotly JSON (data, layout, config)."""

    id: str
    height: int
    caption: str
    spec: str

    def html(self) -> str:
        """The container, the figure's JSON (inert until the loader draws it) and the caption."""
        spec = self.spec.replace("</", "<\\/")
        caption = f"<figcaption>{esc(self.caption)}</figcaption>" if self.caption else ""
        return (
            f'<figure class="rb-figure"><div class="rb-chart" id="{esc(self.id)}" '
            f'style="height:{self.height}px"></div>{caption}'
            f'<script type="application/json" data-rb-chart="{esc(self.id)}">{spec}</script>'
            "</figure>"
        )


def _chart(fig: go.Figure, chart_id: str, height: int, caption: str = "") -> Chart:
    body = fig.to_json()
    spec = body[:-1] + ', "config": ' + _config_json() + "}"
    return Chart(chart_id, height, caption, spec)


def _config_json() -> str:
    import json

    return json.dumps(CONFIG)


def x_dates(index: pd.Index | np.ndarray) -> np.ndarray:
    """Dates as short ISO strings: days when every stamp is at midnight, else minutes.

    Examples
    --------
    >>> x_dates(pd.DatetimeIndex(["2020-01-02", "2020-01-03"])).tolist()
    ['2020-01-02', '2020-01-03']
    """
    d = np.asarray(index, dtype="datetime64[ns]")
    days = d.astype("datetime64[D]")
    unit = "D" if (d == days).all() else "m"
    return np.datetime_as_string(d, unit=unit)


def _layout(height: int, **extra: object) -> dict:
    axis = {
        "gridcolor": "#eef0f3",
        "linecolor": "#d1d5db",
        "zerolinecolor": "#c4c9d1",
        "tickfont": {"size": 11},
        "automargin": True,
    }
    layout = {
        "template": "none",
        "height": height,
        "margin": {"l": 64, "r": 24, "t": 34, "b": 36},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, Arial", "size": 12},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "x unified",
        "hoverlabel": {"font": {"size": 11}},
        "legend": {
            "orientation": "h",
            "x": 1.0,
            "xanchor": "right",
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"size": 11},
            "bgcolor": "rgba(255,255,255,0)",
        },
        "xaxis": dict(axis),
        "yaxis": dict(axis),
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def equity_chart(equity: pd.Series, benchmark: pd.Series | None) -> Chart:
    """Equity (and the benchmark, scaled to the same start) with a linear / log toggle."""
    fig = go.Figure()
    fig.add_scatter(
        x=x_dates(equity.index),
        y=equity.to_numpy(float),
        name="strategy",
        line={"color": NAVY, "width": 1.6},
        hovertemplate="%{y:,.0f}",
    )
    if benchmark is not None:
        fig.add_scatter(
            x=x_dates(benchmark.index),
            y=benchmark.to_numpy(float),
            name="benchmark",
            line={"color": GREY, "width": 1.3},
            hovertemplate="%{y:,.0f}",
        )
    buttons = [
        {"label": "Linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
        {"label": "Log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
    ]
    fig.update_layout(
        _layout(
            360,
            yaxis={"title": {"text": "equity"}, "tickformat": ",.0f", "type": "linear"},
            updatemenus=[
                {
                    "type": "buttons",
                    "direction": "left",
                    "buttons": buttons,
                    "showactive": True,
                    "active": 0,
                    "x": 0.0,
                    "xanchor": "left",
                    "y": 1.02,
                    "yanchor": "bottom",
                    "pad": {"l": 0, "r": 0, "t": 0, "b": 0},
                    "font": {"size": 11},
                    "bgcolor": "#f3f4f6",
                    "bordercolor": "#d1d5db",
                }
            ],
        )
    )
    return _chart(fig, "rb-chart-equity", 360)


def drawdown_chart(
    drawdown: pd.Series, benchmark_dd: pd.Series | None, multiplier: pd.Series | None
) -> Chart:
    """Drawdown from the running peak; the governor's exposure multiplier on a second axis."""
    fig = go.Figure()
    fig.add_scatter(
        x=x_dates(drawdown.index),
        y=drawdown.to_numpy(float),
        name="strategy drawdown",
        fill="tozeroy",
        line={"color": RED, "width": 1.0},
        fillcolor="rgba(220, 38, 38, 0.18)",
        hovertemplate="%{y:.2%}",
    )
    if benchmark_dd is not None:
        fig.add_scatter(
            x=x_dates(benchmark_dd.index),
            y=benchmark_dd.to_numpy(float),
            name="benchmark drawdown",
            line={"color": GREY, "width": 1.0},
            hovertemplate="%{y:.2%}",
        )
    extra: dict = {}
    if multiplier is not None:
        fig.add_scatter(
            x=x_dates(multiplier.index),
            y=multiplier.to_numpy(float),
            name="exposure multiplier (governor × kill tier)",
            yaxis="y2",
            line={"color": BLUE, "width": 1.2, "shape": "hv"},
            hovertemplate="%{y:.2f}",
        )
        extra["yaxis2"] = {
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.05],
            "dtick": 0.25,
            "showgrid": False,
            "tickformat": ".0%",
            "title": {"text": "multiplier"},
            "tickfont": {"size": 11},
        }
        extra["margin"] = {"r": 64}
    fig.update_layout(
        _layout(280, yaxis={"tickformat": ".0%", "title": {"text": "drawdown"}}, **extra)
    )
    return _chart(fig, "rb-chart-drawdown", 280)


def vol_chart(
    realised: pd.Series,
    target: pd.Series | None,
    ex_ante: pd.Series | None,
    window: int,
) -> Chart:
    """Rolling realised volatility against the target (and the book's ex-ante volatility)."""
    fig = go.Figure()
    fig.add_scatter(
        x=x_dates(realised.index),
        y=realised.to_numpy(float),
        name=f"realised ({window}-day)",
        line={"color": NAVY, "width": 1.3},
        hovertemplate="%{y:.1%}",
    )
    if ex_ante is not None:
        fig.add_scatter(
            x=x_dates(ex_ante.index),
            y=ex_ante.to_numpy(float),
            name="ex-ante of the final book",
            line={"color": PURPLE, "width": 1.0, "dash": "dot"},
            hovertemplate="%{y:.1%}",
        )
    if target is not None:
        fig.add_scatter(
            x=x_dates(target.index),
            y=target.to_numpy(float),
            name="target",
            line={"color": ORANGE, "width": 1.6, "shape": "hv"},
            hovertemplate="%{y:.1%}",
        )
    fig.update_layout(
        _layout(280, yaxis={"tickformat": ".0%", "title": {"text": "annualised vol"}})
    )
    return _chart(fig, "rb-chart-vol", 280)


def stacked_weights_chart(
    frame: pd.DataFrame, chart_id: str, *, height: int = 380, net: bool = True, caption: str = ""
) -> Chart:
    """Weights over time as stacked areas: longs stacked above zero, shorts below, one colour
    per column (toggling a legend entry hides both sides), and the net exposure as a line."""
    fig = go.Figure()
    x = x_dates(frame.index)
    values = frame.to_numpy(float)
    has_short = bool((values < 0).any())
    for j, name in enumerate(frame.columns):
        color = PALETTE[j % len(PALETTE)]
        col = values[:, j]
        common = {
            "x": x,
            "mode": "lines",
            "line": {"width": 0.4, "color": color},
            "fillcolor": color,
            "legendgroup": str(name),
            "name": str(name),
            "hovertemplate": "%{y:.1%}",
        }
        fig.add_scatter(y=np.clip(col, 0.0, None), stackgroup="long", **common)
        if has_short and (col < 0).any():
            fig.add_scatter(
                y=np.clip(col, None, 0.0), stackgroup="short", showlegend=False, **common
            )
    if net and has_short:
        fig.add_scatter(
            x=x,
            y=values.sum(axis=1),
            name="net",
            line={"color": "#111827", "width": 1.2},
            hovertemplate="%{y:.1%}",
        )
    fig.update_layout(
        _layout(
            height,
            yaxis={"tickformat": ".0%", "title": {"text": "weight"}},
            legend={"traceorder": "normal"},
            hovermode="closest",
        )
    )
    return _chart(fig, chart_id, height, caption)


def risk_chart(frame: pd.DataFrame) -> Chart:
    """Weight and share of the portfolio variance of each held name (horizontal bars)."""
    height = max(220, 60 + 20 * len(frame))
    fig = go.Figure()
    names = [str(s) for s in frame.index]
    fig.add_bar(
        y=names,
        x=frame["weight"].to_numpy(float),
        name="weight",
        orientation="h",
        marker={"color": "#a0b4cc"},
        hovertemplate="%{x:.2%}",
    )
    fig.add_bar(
        y=names,
        x=frame["risk_contribution"].to_numpy(float),
        name="share of variance",
        orientation="h",
        marker={"color": NAVY},
        hovertemplate="%{x:.2%}",
    )
    fig.update_layout(
        _layout(
            height,
            barmode="group",
            bargap=0.25,
            hovermode="y unified",
            xaxis={"tickformat": ".0%"},
            yaxis={"autorange": "reversed", "type": "category"},
        )
    )
    return _chart(fig, "rb-chart-risk", height)


def reconciliation_chart(per_rebalance: pd.DataFrame) -> Chart:
    """Per rebalance: total |held - target| and the part not due to the price move, in bps."""
    fig = go.Figure()
    x = x_dates(per_rebalance.index)
    fig.add_scatter(
        x=x,
        y=per_rebalance["total"].to_numpy(float),
        name="Σ|held − target|",
        line={"color": GREY, "width": 1.0},
        hovertemplate="%{y:.1f} bps",
    )
    fig.add_scatter(
        x=x,
        y=per_rebalance["execution"].to_numpy(float),
        name="Σ|residual − price move| (rounding, costs, skips, cash)",
        line={"color": RED, "width": 1.2},
        hovertemplate="%{y:.1f} bps",
    )
    fig.update_layout(_layout(260, yaxis={"title": {"text": "bps of equity"}}))
    return _chart(fig, "rb-chart-reconciliation", 260)


def target_held_chart(last: pd.DataFrame) -> Chart:
    """Target and held weight of each symbol after the last rebalance (grouped bars)."""
    fig = go.Figure()
    names = [str(s) for s in last.index]
    fig.add_bar(
        x=names,
        y=last["target_weight"].to_numpy(float),
        name="target",
        marker={"color": "#a0b4cc"},
        hovertemplate="%{y:.3%}",
    )
    fig.add_bar(
        x=names,
        y=last["held_weight"].to_numpy(float),
        name="held",
        marker={"color": NAVY},
        hovertemplate="%{y:.3%}",
    )
    fig.update_layout(
        _layout(
            280,
            barmode="group",
            bargap=0.25,
            yaxis={"tickformat": ".0%"},
            xaxis={"type": "category"},
        )
    )
    return _chart(fig, "rb-chart-target-held", 280)


def turnover_chart(monthly: pd.DataFrame) -> Chart:
    """Monthly one-way turnover (bars) and cumulative costs as a share of initial cash (line)."""
    fig = go.Figure()
    x = x_dates(monthly.index)
    fig.add_bar(
        x=x,
        y=monthly["turnover"].to_numpy(float),
        name="one-way turnover in the month",
        marker={"color": "#7f9cbf"},
        hovertemplate="%{y:.1%}",
    )
    fig.add_scatter(
        x=x,
        y=monthly["cumulative_costs"].to_numpy(float),
        name="cumulative costs / initial cash",
        yaxis="y2",
        line={"color": RED, "width": 1.6},
        hovertemplate="%{y:.2%}",
    )
    fig.update_layout(
        _layout(
            280,
            bargap=0.1,
            yaxis={"tickformat": ".0%", "title": {"text": "turnover"}},
            yaxis2={
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "rangemode": "tozero",
                "tickformat": ".1%",
                "title": {"text": "costs"},
                "tickfont": {"size": 11},
            },
            margin={"r": 64},
        )
    )
    return _chart(fig, "rb-chart-turnover", 280)


def ladder_chart(sharpe: pd.Series) -> Chart:
    """Out-of-sample Sharpe of each allocator of the ladder, the book highlighted."""
    names = [str(s) for s in sharpe.index]
    colors = [NAVY if "book" in n.lower() else "#a0b4cc" for n in names]
    height = max(200, 60 + 26 * len(names))
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=sharpe.to_numpy(float),
        orientation="h",
        marker={"color": colors},
        name="Sharpe",
        hovertemplate="%{x:.2f}",
    )
    fig.update_layout(
        _layout(
            height,
            hovermode="y unified",
            showlegend=False,
            xaxis={"title": {"text": "Sharpe (annualised, net)"}},
            yaxis={"autorange": "reversed", "type": "category"},
        )
    )
    return _chart(fig, "rb-chart-ladder", height)
