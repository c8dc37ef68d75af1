"""The ``riskbook`` command line: data management and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskbook.errors import ConfigError, RiskbookError

app = typer.Typer(
    name="riskbook",
    help="Turn strategy signals into one risk-targeted portfolio and trade it exactly as intended.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(
    help="Manage price data in the local store ($RISKBOOK_HOME).", no_args_is_help=True
)
app.add_typer(data_app, name="data")
console = Console()


def _costs_option(text: str) -> float | str:
    """``--costs``: a number of basis points, or a preset name such as ``ib``."""
    try:
        return float(text)
    except ValueError:
        return text


def _fail(exc: RiskbookError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(code=2)


def summary_table(data, title: str) -> Table:
    """One row per symbol: first date, last close, annualised volatility and growth."""
    table = Table(title=title)
    for col, justify in (
        ("symbol", "left"),
        ("first date", "left"),
        ("last close", "right"),
        ("ann. vol", "right"),
        ("CAGR", "right"),
    ):
        table.add_column(col, justify=justify)
    rets = np.log(data.close[1:] / data.close[:-1])
    vol = np.nanstd(rets, axis=0, ddof=1) * np.sqrt(252)
    first = data.first_valid_dates()
    for j, sym in enumerate(data.symbols):
        series = data.close[:, j]
        valid = np.flatnonzero(~np.isnan(series))
        years = (data.dates[valid[-1]] - data.dates[valid[0]]) / np.timedelta64(1, "D") / 365.25
        cagr = (series[valid[-1]] / series[valid[0]]) ** (1 / years) - 1 if years > 0 else np.nan
        table.add_row(
            sym,
            str(first.iloc[j])[:10],
            f"{series[valid[-1]]:,.2f}",
            f"{vol[j]:.1%}",
            f"{cagr:.1%}",
        )
    return table


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """riskbook command line."""
    if version:
        from riskbook import __version__

        console.print(f"riskbook {__version__}")
        raise typer.Exit()


@app.command()
def demo(
    quick: Annotated[
        bool, typer.Option("--quick", help="A short run: decisions from 2015, the quick checks.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes for the sweeps (default: all).")
    ] = None,
) -> None:
    """The whole pipeline on the bundled data: five demo sleeves -> integration layer ->
    backtest -> validation -> HTML report. Prints the report's path."""
    from riskbook.datasets import load_sp500

    sp = load_sp500()
    console.print(
        f"[bold]Bundled S&P 500 data:[/] {len(sp.symbols)} symbols, {len(sp.dates)} dates, "
        f"{sp.start.date()}..{sp.end.date()} ({sp.frequency})"
    )
    console.print(
        "five demo sleeves -> seed 003's integration layer -> daily backtest -> validation"
    )
    try:
        outcome = _run(
            None,
            quick=quick,
            validate=True,
            executor=workers if workers is not None else "processes",
            save=True,
            report=True,
        )
    except RiskbookError as exc:
        _fail(exc)
    _print_metrics(outcome.book.result)
    v = outcome.validation
    console.print(v.verdict or "", markup=False)
    console.print(
        f"PBO {v.pbo.pbo:.3f} over {len(v.pbo_trials)} configurations; deflated Sharpe "
        f"{v.dsr['dsr']:.3f}; sensitivity: {v.sensitivity.verdict}",
        markup=False,
    )
    _print_outcome(outcome)


@data_app.command("ingest")
def data_ingest(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file, wide or long.")],
    name: Annotated[str, typer.Option("--name", help="Name to store it under.")],
    gaps: Annotated[str, typer.Option(help="Gap policy: raise, ffill or drop.")] = "raise",
) -> None:
    """Validate FILE and store it as NAME (atomically; nothing is stored on error)."""
    from riskbook.data.store import Store

    try:
        entry = Store().ingest(file, name, gaps=gaps)  # type: ignore[arg-type]
    except RiskbookError as exc:
        _fail(exc)
    console.print(
        f"stored [bold]{entry.name}[/]: {len(entry.symbols)} symbols x {entry.n_dates} "
        f"{entry.frequency} bars, {entry.start[:10]}..{entry.end[:10]}"
        + (
            f", {entry.changed_cells} cell(s) changed by gaps={entry.gaps}"
            if entry.changed_cells
            else ""
        )
    )


@data_app.command("list")
def data_list() -> None:
    """List the data sets in the store."""
    from riskbook.data.store import Store

    store = Store()
    entries = store.list()
    if not entries:
        console.print(f"the store at {store.root} is empty")
        return
    table = Table(title=f"store: {store.root}")
    for col in ("name", "symbols", "bars", "frequency", "start", "end", "ingested"):
        table.add_column(col)
    for e in entries:
        table.add_row(
            e.name,
            str(len(e.symbols)),
            str(e.n_dates),
            e.frequency,
            e.start[:10],
            e.end[:10],
            e.ingested_at,
        )
    console.print(table)


@data_app.command("show")
def data_show(name: Annotated[str, typer.Argument(help="Stored data set name.")]) -> None:
    """Show one stored data set: its metadata and a per-symbol summary."""
    from riskbook.data.store import Store

    try:
        store = Store()
        entry = store.entry(name)
        data = store.load(name)
    except RiskbookError as exc:
        _fail(exc)
    console.print(f"[bold]{entry.name}[/] from {entry.source}, ingested {entry.ingested_at}")
    console.print(f"fields: {', '.join(entry.fields)}; fingerprint {entry.fingerprint[:16]}")
    console.print(
        summary_table(data, f"{name}: {len(data.symbols)} symbols x {len(data.dates)} bars")
    )


if __name__ == "__main__":  # pragma: no cover
    app()


def _sweep_progress():
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _run(
    config: Path | None, *, quick: bool, validate: bool, executor: object, save: bool, report: bool
):
    from riskbook.pipeline import RunConfig, run_pipeline

    cfg = RunConfig.from_toml(config) if config is not None else RunConfig()
    if quick:
        cfg = cfg.quick()
    with _sweep_progress() as bar:
        task = bar.add_task("starting", total=None)
        return run_pipeline(
            cfg,
            validate=validate,
            report=report,
            save=save,
            executor=executor,
            step=lambda label: bar.update(task, description=label, completed=0, total=None),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _print_metrics(result) -> None:
    table = Table(title="metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.metrics().items():
        table.add_row(key, f"{value:,.4f}" if isinstance(value, float) else str(value))
    console.print(table)


def _print_outcome(outcome) -> None:
    # soft_wrap: a long path stays on one line, so it can be copied (and parsed)
    if outcome.run_id:
        console.print(f"run: {outcome.run_id}", markup=False, soft_wrap=True)
    if outcome.report_path:
        console.print(f"report: {outcome.report_path}", markup=False, soft_wrap=True)


QUICK = typer.Option("--quick", help="A short run: decisions from 2015, the quick validation.")
CONFIG = typer.Argument(help="A run config (TOML, see examples/demo.toml); the demo if omitted.")


@app.command()
def backtest(
    config: Annotated[Path | None, CONFIG] = None,
    quick: Annotated[bool, QUICK] = False,
    no_save: Annotated[bool, typer.Option("--no-save", help="Do not keep the run.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no tear sheet.")] = False,
) -> None:
    """Backtest the configured book; keep the run and write its tear sheet."""
    try:
        outcome = _run(
            config,
            quick=quick,
            validate=False,
            executor="serial",
            save=not no_save,
            report=not no_report,
        )
    except RiskbookError as exc:
        _fail(exc)
    _print_metrics(outcome.book.result)
    _print_outcome(outcome)


@app.command()
def validate(
    config: Annotated[Path | None, CONFIG] = None,
    quick: Annotated[bool, QUICK] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Local processes for the sweeps (1 = serial; all cores)."),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", help="A Dask scheduler address, e.g. tcp://host:8786."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the report text and tables (CSV) here.")
    ] = None,
    no_save: Annotated[bool, typer.Option("--no-save", help="Do not keep the run.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no tear sheet.")] = False,
) -> None:
    """Run seed 003's validation plan on the configured book: ladder, PBO, DSR, stress,
    sensitivity.

    Results do not depend on where the sweeps run (serial, processes or Dask).
    """
    executor = cluster if cluster else (workers if workers is not None else "processes")
    try:
        outcome = _run(
            config,
            quick=quick,
            validate=True,
            executor=executor,
            save=not no_save,
            report=not no_report,
        )
    except RiskbookError as exc:
        _fail(exc)
    text = outcome.validation.text()
    console.print(text, markup=False, highlight=False, soft_wrap=True)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "validation.txt").write_text(text)
        for name, table in outcome.validation.tables().items():
            table.to_csv(out / f"{name}.csv")
        console.print(f"written: {out}")
    _print_outcome(outcome)


lean_app = typer.Typer(
    help="Run QuantConnect LEAN algorithms on riskbook's engine.", no_args_is_help=True
)
app.add_typer(lean_app, name="lean")


@lean_app.command("run")
def lean_run(
    file: Annotated[Path, typer.Argument(help="A Python LEAN algorithm (QCAlgorithm subclass).")],
    algorithm: Annotated[
        str | None, typer.Option(help="The class to run when the file defines several.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Override set_start_date.")] = None,
    end: Annotated[str | None, typer.Option(help="Override set_end_date.")] = None,
    cash: Annotated[float | None, typer.Option(help="Override set_cash.")] = None,
    costs: Annotated[
        str | None, typer.Option(help="'ib' (LEAN's default fees) or a number of bps.")
    ] = None,
    account: Annotated[str | None, typer.Option(help="cash or margin.")] = None,
    parameter: Annotated[
        list[str] | None, typer.Option("-p", "--parameter", help="NAME=VALUE for get_parameter.")
    ] = None,
) -> None:
    """Run FILE with LEAN's daily timing; print its debug log and the metrics."""
    from riskbook.lean import run_file

    overrides: dict = {}
    for key, value in (("start", start), ("end", end), ("cash", cash), ("account", account)):
        if value is not None:
            overrides[key] = value
    if costs is not None:
        overrides["costs"] = _costs_option(costs)
    if parameter:
        pairs = [p.split("=", 1) for p in parameter]
        if any(len(p) != 2 for p in pairs):
            _fail(ConfigError("parameters must be NAME=VALUE", parameter="parameter"))
        overrides["parameters"] = dict(pairs)
    try:
        result = run_file(file, algorithm=algorithm, **overrides)
    except RiskbookError as exc:
        _fail(exc)
    for line in result.logs:
        console.print(line, markup=False, highlight=False)
    _print_metrics(result)


@app.command("plan")
def plan_command(
    positions: Annotated[
        Path | None, typer.Option("--positions", help="Holdings CSV: symbol,quantity.")
    ] = None,
    targets: Annotated[
        Path | None, typer.Option("--targets", help="Target weights CSV: symbol,weight.")
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices", help="Prices CSV: symbol,price (with --book: default last close)."
        ),
    ] = None,
    book: Annotated[
        Path | None,
        typer.Option(
            "--book",
            help="Build the targets with the integration layer (a run or book config TOML).",
        ),
    ] = None,
    data: Annotated[
        str, typer.Option(help="With --book: price data (file, bundled name, store:NAME).")
    ] = "sp500",
    cash: Annotated[float, typer.Option(help="Cash held.")] = 0.0,
    account: Annotated[
        str | None, typer.Option(help="cash or margin (default: cash; margin with --book).")
    ] = None,
    leverage: Annotated[
        float | None,
        typer.Option(help="Gross limit (default 1; with --book the config's caps.gross)."),
    ] = None,
    lot_size: Annotated[int, typer.Option(help="Shares per lot.")] = 1,
    min_trade_value: Annotated[float, typer.Option(help="Minimum ticket, in cash.")] = 0.0,
    no_trade_band: Annotated[
        float, typer.Option(help="Skip a trade whose weight change is at most this.")
    ] = 0.0,
    cash_buffer: Annotated[float, typer.Option(help="Fraction of equity kept in cash.")] = 0.0,
    fractional: Annotated[bool, typer.Option(help="Trade fractional shares.")] = False,
    rounding: Annotated[
        str, typer.Option(help="auto, toward_zero, toward_target or nearest.")
    ] = "auto",
    costs: Annotated[
        str | None, typer.Option(help="'ib' or a number of bps of fees (expected costs).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the orders CSV here (atomically).")
    ] = None,
) -> None:
    """Orders that move --positions to --targets at --prices; the weights after, explained."""
    from riskbook.execute.planner import plan, plan_from_book

    options = dict(
        cash=cash,
        min_trade_value=min_trade_value,
        no_trade_band=no_trade_band,
        lot_size=lot_size,
        fractional=fractional,
        cash_buffer=cash_buffer,
        rounding=rounding,
        costs=None if costs is None else _costs_option(costs),
    )
    try:
        if book is not None:
            if targets is not None:
                raise ConfigError("give --targets or --book, not both", parameter="targets")
            config, sleeves, source = _book_inputs(book, data)
            result = plan_from_book(
                config,
                source,
                positions,
                prices,
                sleeves=sleeves,
                account=account or "margin",
                leverage=leverage,
                **options,
            )
        else:
            if targets is None or prices is None:
                raise ConfigError(
                    "--targets and --prices are required (or --book)", parameter="targets"
                )
            result = plan(
                positions,
                targets,
                prices,
                account=account or "cash",
                leverage=1.0 if leverage is None else leverage,
                **options,
            )
        if out is not None:
            result.write_orders(out)
    except RiskbookError as exc:
        _fail(exc)
    console.print(result.summary(), markup=False, highlight=False, soft_wrap=True)
    if out is not None:
        console.print(f"written: {out} ({len(result.orders)} orders)")
    else:
        console.print(result.orders_csv(), markup=False, highlight=False, end="")


def _book_inputs(path: Path, data: str) -> tuple:
    """A run config (its book, sleeves and data source) or a bare book config."""
    from riskbook._config import read_toml
    from riskbook.book import BookConfig
    from riskbook.pipeline import RunConfig

    table = read_toml(path)
    run_keys = {"name", "data", "sleeves", "book", "backtest", "validate", "report"}
    if set(table) & run_keys and not set(table) - run_keys:
        run = RunConfig.from_dict(table)
        source = data if data != "sp500" else run.data.source
        return run.book, run.make_sleeves(), source
    return BookConfig.from_dict(table), None, data


runs_app = typer.Typer(help="The run registry ($RISKBOOK_HOME/runs).", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


def _frame_table(frame, title: str | None = None) -> Table:
    table = Table(title=title)
    table.add_column(frame.index.name or "", justify="left")
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for idx, row in frame.iterrows():
        cells = [f"{v:,.4f}" if isinstance(v, float) else escape(str(v)) for v in row.tolist()]
        table.add_row(escape(str(idx)), *cells)
    return table


@runs_app.command("list")
def runs_list(
    kind: Annotated[str | None, typer.Option(help="backtest or validate.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """The runs kept, newest first, with headline metrics."""
    from riskbook.report import Registry

    registry = Registry()
    try:
        frame = registry.list(kind=kind, limit=limit)
    except RiskbookError as exc:
        _fail(exc)
    if frame.empty:
        console.print(f"no runs in {registry.root}")
        return
    shown = frame.set_index("run_id")[
        ["name", "kind", "created_at", "cagr", "volatility", "sharpe", "max_drawdown"]
    ].copy()
    shown["created_at"] = [str(t)[:16] for t in shown["created_at"]]
    console.print(_frame_table(shown, "runs"))


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id, a unique prefix, or 'latest'.")],
    config: Annotated[bool, typer.Option("--config", help="Also print its config.")] = False,
) -> None:
    """One run: what it was and its metrics."""
    import json

    from riskbook.report import Registry

    try:
        record = Registry().get(run_id)
    except RiskbookError as exc:
        _fail(exc)
    console.print(_frame_table(record.summary().to_frame("value"), record.run_id))
    console.print(_frame_table(record.metrics.to_frame("value"), "metrics"))
    if config:
        console.print(json.dumps(record.config, indent=2, default=str), markup=False)


@runs_app.command("compare")
def runs_compare(
    a: Annotated[str, typer.Argument(help="First run (id, prefix or 'latest').")],
    b: Annotated[str, typer.Argument(help="Second run.")],
) -> None:
    """Two runs' metrics side by side, and how their configs differ."""
    from riskbook.report import Registry

    registry = Registry()
    try:
        frame = registry.compare(a, b)
        ra, rb = registry.get(a), registry.get(b)
        diff = registry.config_diff(a, b)
    except RiskbookError as exc:
        _fail(exc)
    console.print(_frame_table(frame, f"{ra.name} vs {rb.name}"))
    if ra.data_fingerprint != rb.data_fingerprint:
        console.print("[yellow]note:[/] the two runs used different data")
    if len(diff):
        console.print(_frame_table(diff, "config differences"))


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="A run id, a unique prefix, or 'latest'.")],
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the HTML.")] = None,
) -> None:
    """Re-render a kept run's HTML tear sheet from the registry."""
    from riskbook.pipeline import validation_from_record
    from riskbook.report import Registry, tear_sheet

    try:
        record = Registry().get(run_id)
        tables = record.tables
        path = tear_sheet(
            record.result(),
            out or Path(f"{record.run_id}.html"),
            history=tables.get("history"),
            sleeve_weights=tables.get("sleeve_weights"),
            audit=tables.get("audit"),
            validation=validation_from_record(record),
            title=f"riskbook: {record.name or record.run_id}",
        )
    except RiskbookError as exc:
        _fail(exc)
    console.print(f"report: {path}", markup=False, soft_wrap=True)
