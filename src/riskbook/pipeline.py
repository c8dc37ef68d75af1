"""The whole pipeline from one TOML file: data -> sleeves -> book -> backtest -> validate -> report.

A run config names the data, the sleeves, the book's knobs, how to trade it, what to validate
and where to write the report; every table is optional and laid over the defaults (the demo:
the five demo sleeves on the bundled 20 stocks, 2000-2022, daily decisions). An unknown key is
an error naming it and the closest valid key.

Examples
--------
>>> cfg = RunConfig.from_dict({"name": "trial", "backtest": {"schedule": "weekly"}})
>>> cfg.name, cfg.backtest.schedule, cfg.book.warmup_days, sorted(cfg.sleeves)[:2]
('trial', 'weekly', 252, ['low_vol', 'pairs'])
>>> RunConfig.from_dict({"backtest": {"shedule": "weekly"}})
Traceback (most recent call last):
...
riskbook.errors.ConfigError: unknown key 'backtest.shedule'; did you mean 'backtest.schedule'? [parameter=backtest.shedule]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from riskbook._config import build_dataclass, read_toml
from riskbook.book import BookBuilder, BookConfig
from riskbook.book.sleeves import (
    CrossSectionalMomentum,
    LowVolatility,
    PairsStatArb,
    ShortTermReversal,
    TimeSeriesTrend,
)
from riskbook.data import MarketData, load_prices
from riskbook.errors import ConfigError
from riskbook.simulate import BacktestResult, backtest
from riskbook.validate.suite import ValidationSettings

#: The built-in sleeves a config can name, with their classes.
SLEEVES: dict[str, type] = {
    "ts_trend": TimeSeriesTrend,
    "xs_momentum": CrossSectionalMomentum,
    "st_reversal": ShortTermReversal,
    "low_vol": LowVolatility,
    "pairs": PairsStatArb,
}


@dataclass(frozen=True)
class DataSection:
    """Where the prices come from (anything :func:`riskbook.load_prices` takes)."""

    source: str = "sp500"
    start: str = "2000-01-01"
    end: str = "2022-12-28"
    gaps: str = "raise"
    benchmark: str = "sp500_index"  # a data set with one series, or "" for none


@dataclass(frozen=True)
class BacktestSection:
    """How the book is traded (see :func:`riskbook.backtest`)."""

    schedule: str = "daily"
    fill: str = "next_close"
    costs: float = 5.0  # bps, charged by the engine and used by the book's cost gate
    cash: float = 10_000_000.0
    account: str = "margin"
    leverage: float = 2.0


_V = ValidationSettings  # the validation plan's defaults live there, once


@dataclass(frozen=True)
class ValidateSection:
    """The validation plan's own knobs (data, book and trading come from the run)."""

    quick: bool = False  # the quick preset's sweep sizes (fewer paths, trials and points)
    train: int = _V.train
    test: int = _V.test
    pbo_lookbacks: tuple[int, ...] = _V.pbo_lookbacks
    n_partitions: int = _V.n_partitions
    mc_paths: int = _V.mc_paths
    mc_horizon: int = _V.mc_horizon
    seed: int = _V.seed
    sensitivity_parameters: tuple[str, ...] = _V.sensitivity_parameters
    sensitivity_factors: tuple[float, ...] = _V.sensitivity_factors
    sensitivity_schedule: str = _V.sensitivity_schedule


@dataclass(frozen=True)
class ReportSection:
    """The HTML tear sheet: ``path`` empty means ``$RISKBOOK_HOME/reports/<run id>.html``."""

    path: str = ""


def _default_sleeves() -> dict[str, dict[str, Any]]:
    return {name: {} for name in SLEEVES}


@dataclass(frozen=True)
class RunConfig:
    """One run: its name and the five sections above, plus the book's config.

    ``sleeves`` maps a built-in sleeve's name to its parameters (an empty table keeps its
    textbook defaults); ``book`` is a :class:`riskbook.book.BookConfig` (here with a one-year
    warm-up by default, so the book is invested from its first decision).
    """

    name: str = "demo"
    data: DataSection = field(default_factory=DataSection)
    sleeves: dict[str, dict[str, Any]] = field(default_factory=_default_sleeves)
    book: BookConfig = field(default_factory=lambda: BookConfig(warmup_days=252))
    backtest: BacktestSection = field(default_factory=BacktestSection)
    validate: ValidateSection = field(default_factory=ValidateSection)
    report: ReportSection = field(default_factory=ReportSection)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """A run config from a (partial) nested dict; unknown keys raise ConfigError by name."""
        data = dict(data)
        book = data.pop("book", None)
        sleeves = data.pop("sleeves", None)
        cfg = build_dataclass(cls, data)
        if book is not None:
            merged = {"warmup_days": 252, **book} if isinstance(book, dict) else book
            cfg = replace(cfg, book=build_dataclass(BookConfig, merged, "book"))
        if sleeves is not None:
            cfg = replace(cfg, sleeves=_check_sleeves(sleeves))
        return cfg

    @classmethod
    def from_toml(cls, path: str | Path) -> RunConfig:
        """A run config from a TOML file.

        Examples
        --------
        >>> RunConfig.from_toml("examples/demo.toml").name
        'demo'
        """
        return cls.from_dict(read_toml(path))

    def to_dict(self) -> dict[str, Any]:
        """The config as plain values (what the run registry stores).

        Examples
        --------
        >>> RunConfig().to_dict()["backtest"]["costs"]
        5.0
        """
        return dataclasses.asdict(self)

    def quick(self) -> RunConfig:
        """The same run made short: decisions from 2015 and the quick validation preset.

        Examples
        --------
        >>> RunConfig().quick().data.start
        '2015-01-01'
        """
        start = max(self.data.start, "2015-01-01")
        return replace(
            self,
            data=replace(self.data, start=start),
            validate=replace(self.validate, quick=True),
        )

    def make_sleeves(self) -> list[Any]:
        """The configured sleeves, in the config's order.

        Examples
        --------
        >>> [s.name for s in RunConfig.from_dict({"sleeves": {"pairs": {}}}).make_sleeves()]
        ['pairs']
        """
        return [build_dataclass(SLEEVES[name], params) for name, params in self.sleeves.items()]

    def validation_settings(self) -> ValidationSettings:
        """The :class:`riskbook.validate.ValidationSettings` this run implies."""
        v = self.validate
        base = ValidationSettings.quick() if v.quick else ValidationSettings()
        knobs = {f.name: getattr(v, f.name) for f in dataclasses.fields(v) if f.name != "quick"}
        if v.quick:  # the quick preset's sweep sizes win over the defaults, not over the user
            default = ValidateSection()
            knobs = {k: x for k, x in knobs.items() if x != getattr(default, k)}
        return replace(
            base,
            **knobs,
            start=self.data.start,
            end=self.data.end,
            schedule=self.backtest.schedule,
            fill=self.backtest.fill,
            costs=self.backtest.costs,
            cash=self.backtest.cash,
            warmup_days=self.book.warmup_days,
        )


def _check_sleeves(sleeves: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(sleeves, dict) or not sleeves:
        raise ConfigError("sleeves must be a non-empty table of sleeve tables", parameter="sleeves")
    out = {}
    for name, params in sleeves.items():
        if name not in SLEEVES:
            import difflib

            close = difflib.get_close_matches(name, list(SLEEVES), n=1)
            hint = f"; did you mean 'sleeves.{close[0]}'?" if close else ""
            raise ConfigError(
                f"unknown sleeve 'sleeves.{name}'{hint} (built-in: {', '.join(SLEEVES)})",
                parameter=f"sleeves.{name}",
            )
        build_dataclass(SLEEVES[name], params, f"sleeves.{name}")  # validates the parameters
        out[name] = dict(params)
    return out


@dataclass
class BookRun:
    """A backtested book: the data it ran on, the builder (history, tracker, last book) and
    the engine's result."""

    config: RunConfig
    data: MarketData
    builder: BookBuilder
    result: BacktestResult


def run_book(config: RunConfig, *, data: MarketData | None = None) -> BookRun:
    """Load the data, build the sleeves and the book, and backtest it as configured.

    The data start ``warmup_days`` trading days (plus slack) before ``data.start`` so the
    warm-up replays real history; decisions start at ``data.start``.
    """
    full = data if data is not None else load_prices(config.data.source, gaps=config.data.gaps)
    lead = np.timedelta64(int(config.book.warmup_days * 1.6) + 10, "D")
    begin = np.datetime64(config.data.start) - lead
    span = full.slice(begin, config.data.end)
    benchmark = None
    if config.data.benchmark:
        bench = load_prices(config.data.benchmark)
        if len(bench.symbols) != 1:
            raise ConfigError(
                "data.benchmark must name a data set with one series",
                parameter="data.benchmark",
            )
        benchmark = bench.slice(span.start, span.end)
    b = config.backtest
    builder = BookBuilder(config.make_sleeves(), config.book, costs=b.costs)
    result = backtest(
        span,
        builder,
        schedule=b.schedule,
        fill=b.fill,
        start=config.data.start,
        costs=b.costs,
        cash=b.cash,
        account=b.account,
        leverage=b.leverage,
        benchmark=benchmark,
    )
    return BookRun(config, span, builder, result)


@dataclass
class PipelineOutcome:
    """What :func:`run_pipeline` did: the run, its validation, where things were written."""

    book: BookRun
    validation: Any = None
    run_id: str | None = None
    report_path: Path | None = None
    notes: list[str] = field(default_factory=list)


def run_pipeline(
    config: RunConfig,
    *,
    validate: bool = False,
    report: bool = True,
    save: bool = True,
    executor: Any = "serial",
    step: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PipelineOutcome:
    """Backtest the configured book, optionally validate it, keep it in the registry and
    write its tear sheet.

    Parameters
    ----------
    config
        The run.
    validate
        Also run the validation plan (:func:`riskbook.validate.validate_book`) on it.
    report
        Write the HTML tear sheet (``config.report.path``, or under ``$RISKBOOK_HOME``).
    save
        Keep the run in the registry (``$RISKBOOK_HOME``).
    executor, step, progress
        Where sweeps run, and progress callbacks (stage labels; tasks done of total).
    """
    say = step or (lambda _label: None)
    say("backtest of the book")
    run = run_book(config)
    outcome = PipelineOutcome(run)
    if validate:
        from riskbook.validate.suite import validate_book

        outcome.validation = validate_book(
            run.data,
            config.make_sleeves(),
            config.book,
            settings=config.validation_settings(),
            executor=executor,
            step=step,
            progress=progress,
            backtested=(run.result, run.builder),
        )
    if save:
        say("saving the run")
        outcome.run_id = _save(run, outcome.validation)
    if report:
        say("writing the report")
        outcome.report_path = _report(run, outcome.validation, outcome.run_id)
    return outcome


def _tables(run: BookRun, validation: Any) -> dict[str, Any]:
    tables = {
        "history": run.builder.history_frame(),
        "sleeve_weights": run.builder.sleeve_weights_frame(),
        "sleeve_returns": run.builder.tracker.frame(),
    }
    if run.builder.last_book is not None:
        tables["audit"] = run.builder.last_book.audit_frame()
    if validation is not None:
        tables |= {f"{VALIDATION_PREFIX}{k}": v for k, v in validation.tables().items()}
    return tables


#: Registry table names of a validation's tables start with this.
VALIDATION_PREFIX = "validation."


def validation_from_record(record: Any) -> dict[str, Any] | None:
    """The tear sheet's ``validation`` mapping rebuilt from a registry record (None if the run
    was not validated)."""
    names = [n for n in record.table_names if n.startswith(VALIDATION_PREFIX)]
    if not names:
        return None
    out: dict[str, Any] = {n[len(VALIDATION_PREFIX) :]: record.table(n) for n in names}
    tags = record.tags or {}
    for key in ("verdict", "sensitivity_verdict", "notes"):
        if key in tags:
            out[key] = tags[key]
    return out


def _save(run: BookRun, validation: Any) -> str:
    from riskbook.report.registry import Registry

    record = Registry().save(
        run.result,
        name=run.config.name,
        kind="validate" if validation is not None else "backtest",
        config=run.config.to_dict(),
        data=run.data,
        tables=_tables(run, validation),
        tags=None
        if validation is None
        else {
            "verdict": validation.verdict,
            "sensitivity_verdict": validation.sensitivity.verdict,
            "notes": list(validation.notes),
        },
    )
    return record.run_id


def _report(run: BookRun, validation: Any, run_id: str | None) -> Path:
    from riskbook.data.store import riskbook_home
    from riskbook.report import tear_sheet

    if run.config.report.path:
        path = Path(run.config.report.path)
    else:
        path = riskbook_home() / "reports" / f"{run_id or run.config.name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    last = run.builder.last_book
    return tear_sheet(
        run.result,
        path,
        history=run.builder.history_frame(),
        sleeve_weights=run.builder.sleeve_weights_frame(),
        audit=None if last is None else last.audit_frame(),
        validation=validation,
        title=f"riskbook: {run.config.name}",
        vol_target=run.config.book.portfolio_vol.target,
    )


__all__ = [
    "SLEEVES",
    "BacktestSection",
    "BookRun",
    "DataSection",
    "PipelineOutcome",
    "ReportSection",
    "RunConfig",
    "ValidateSection",
    "run_book",
    "run_pipeline",
]
