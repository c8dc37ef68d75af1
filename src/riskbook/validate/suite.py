"""The whole validation plan of seed 003 s.10 on one book, in one call.

:func:`validate_book` backtests the integration layer over the sleeves, then runs on it:

1. the walk-forward benchmark ladder of the cross-sleeve allocators (HRP, ERC, 1/N-risk, 1/N,
   min variance) on the sleeves' own return streams, net of costs, next to the book itself,
   with the seed's verdict line;
2. the probability of backtest overfitting of the method choice: every ladder allocator at
   three training lookbacks is one trial, and CSCV ranks them;
3. the deflated Sharpe ratio of the book's daily track, deflated by those trials;
4. the expected combined Sharpe of the sleeves (seed 003 s.8) next to the realised one;
5. stress: historical windows, hypothetical shocks and a Monte Carlo with the governor;
6. sensitivity of the book's Sharpe to +/-50% on its lookback, shrinkage, vol target and
   smoothing.

Every sweep runs through one executor, and every random draw comes from ``seed``, so a run is
reproducible bit for bit whichever executor ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from riskbook.book import BookBuilder, BookConfig, demo_sleeves
from riskbook.errors import ConfigError
from riskbook.simulate import BacktestResult, backtest
from riskbook.validate.executor import resolve_executor
from riskbook.validate.pbo import PBOResult, pbo
from riskbook.validate.sensitivity import SensitivityResult, book_sensitivity
from riskbook.validate.sharpe import deflated_sharpe, expected_combined_sharpe
from riskbook.validate.stress import (
    MonteCarloStress,
    historical_stress,
    hypothetical_stress,
    monte_carlo_stress,
)
from riskbook.validate.walk_forward import DEFAULT_LADDER, WalkForwardResult, walk_forward

Step = Callable[[str], None]


@dataclass(frozen=True)
class ValidationSettings:
    """What :func:`validate_book` runs, with the demo's defaults.

    ``quick()`` gives a short configuration for tests and first looks (2015-2022, fewer paths,
    two sensitivity parameters at three factors).
    """

    start: str = "2000-01-01"
    end: str = "2022-12-28"
    schedule: str = "daily"
    fill: str = "next_close"
    costs: float = 5.0  # bps, both for the engine and the book's cost gate
    cash: float = 10_000_000.0
    warmup_days: int = 252
    train: int = 252
    test: int = 21
    pbo_lookbacks: tuple[int, ...] = (63, 126, 252)
    n_partitions: int = 16
    mc_paths: int = 2000
    mc_horizon: int = 252
    seed: int = 0
    sensitivity_parameters: tuple[str, ...] = ("lookback", "shrinkage", "vol_target", "ewma_lambda")
    sensitivity_factors: tuple[float, ...] = (0.5, 1.0, 1.5)
    sensitivity_schedule: str = "weekly"

    @classmethod
    def quick(cls) -> ValidationSettings:
        """A short run: 2015-2022, 300 Monte Carlo paths, 2 sensitivity parameters.

        Examples
        --------
        >>> ValidationSettings.quick().start
        '2015-01-01'
        """
        return cls(
            start="2015-01-01",
            mc_paths=300,
            n_partitions=8,
            pbo_lookbacks=(63, 126),
            sensitivity_parameters=("vol_target", "lookback"),
        )


@dataclass(frozen=True)
class ValidationReport:
    """Everything :func:`validate_book` measured. ``text()`` renders it for a terminal."""

    result: BacktestResult
    history: pd.DataFrame
    sleeve_returns: pd.DataFrame
    ladder: pd.DataFrame
    verdict: str | None
    walk_forward: WalkForwardResult
    pbo: PBOResult
    pbo_trials: tuple[str, ...]
    dsr: dict[str, float]
    combined_sharpe: dict[str, float]
    historical_stress: pd.DataFrame
    hypothetical_stress: pd.DataFrame
    monte_carlo: MonteCarloStress
    sensitivity: SensitivityResult
    settings: ValidationSettings
    executor: str = "serial"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The report's tables by section name (what a tear sheet or a file export shows)."""
        gates = pd.DataFrame(
            {
                "value": [
                    self.pbo.pbo,
                    self.pbo.prob_loss,
                    self.pbo.degradation_slope,
                    self.dsr["dsr"],
                    self.dsr["sharpe_annual"],
                    self.dsr["expected_max_sharpe_annual"],
                    float(self.dsr["n_trials"]),
                ]
            },
            index=pd.Index(
                [
                    "PBO",
                    "probability of loss (OOS)",
                    "degradation slope",
                    "deflated Sharpe ratio",
                    "book Sharpe (annual)",
                    "expected max Sharpe of the trials (annual)",
                    "trials",
                ],
                name="gate",
            ),
        )
        combined = pd.DataFrame({"value": pd.Series(self.combined_sharpe)})
        combined.index.name = "diversification (seed 003 s.8)"
        return {
            "ladder": self.ladder,
            "gates": gates,
            "combined_sharpe": combined,
            "historical_stress": self.historical_stress,
            "hypothetical_stress": self.hypothetical_stress,
            "monte_carlo": self.monte_carlo.summary,
            "sensitivity": self.sensitivity.parameters,
        }

    def text(self) -> str:
        """A plain-text rendering, deterministic for a given run (no timings, no paths).

        Examples
        --------
        >>> # see tests/validate/test_suite.py for a full run
        """
        out = []
        with pd.option_context(
            "display.width", 160, "display.max_columns", 30, "display.float_format", "{:.4f}".format
        ):
            for name, table in self.tables().items():
                out.append(f"== {name} ==")
                out.append(table.to_string())
                if name == "ladder" and self.verdict:
                    out.append(self.verdict)
                if name == "sensitivity":
                    out.append(self.sensitivity.verdict)
                out.append("")
        out.extend(self.notes)
        return "\n".join(out).rstrip() + "\n"


def validate_book(
    data: Any = None,
    sleeves: Sequence[Any] | None = None,
    config: BookConfig | None = None,
    *,
    settings: ValidationSettings | None = None,
    executor: Any = "serial",
    step: Step | None = None,
    progress: Callable[[int, int], None] | None = None,
    backtested: tuple[BacktestResult, BookBuilder] | None = None,
) -> ValidationReport:
    """Run seed 003's validation plan on the book the sleeves make.

    Parameters
    ----------
    data
        Daily :class:`~riskbook.MarketData`; the bundled 20 stocks when None.
    sleeves
        The sleeves; :func:`riskbook.book.demo_sleeves` when None.
    config
        The book's config (seed 003's defaults when None); ``settings.warmup_days`` overrides
        its ``warmup_days``.
    settings
        What to run (:class:`ValidationSettings`; its defaults are the demo's).
    executor
        Where the sweeps run (see :func:`riskbook.validate.resolve_executor`); the results do
        not depend on it.
    step
        Called with a short label before each stage (a progress display).
    progress
        Called as ``progress(done, total)`` as the tasks of each sweep finish.
    backtested
        The book's backtest and the builder that ran it, when already done with the same data,
        sleeves, config and settings (the demo pipeline): not run again.

    Returns
    -------
    ValidationReport
    """
    from riskbook.datasets import load_sp500

    settings = settings or ValidationSettings()
    ex = resolve_executor(executor)
    say = step or (lambda _label: None)
    sleeves = list(sleeves) if sleeves is not None else demo_sleeves()
    config = replace(config or BookConfig(), warmup_days=settings.warmup_days)
    data = data if data is not None else load_sp500()
    if data.frequency != "daily":
        raise ConfigError("validate_book needs daily data", parameter="data")
    begin = np.datetime64(settings.start) - np.timedelta64(int(settings.warmup_days * 1.6), "D")
    span = data.slice(begin, settings.end)

    if backtested is None:
        say("backtest of the book")
        builder = BookBuilder(sleeves, config, costs=settings.costs)
        result = backtest(
            span,
            builder,
            schedule=settings.schedule,
            fill=settings.fill,
            start=settings.start,
            costs=settings.costs,
            cash=settings.cash,
            account="margin",
            leverage=config.caps.gross,
        )
    else:
        result, builder = backtested
    history = builder.history_frame()
    book_returns = result.equity.pct_change().iloc[1:]
    sleeve_returns = builder.tracker.frame().loc[settings.start :].dropna(how="all")
    sleeve_returns = sleeve_returns.fillna(0.0)  # a sleeve with no target earns nothing

    say("walk-forward ladder")
    wf = walk_forward(
        sleeve_returns,
        None,
        train=settings.train,
        test=settings.test,
        costs=settings.costs,
        executor=ex,
        progress=progress,
    )
    ladder = wf.summary()
    ladder.loc["book (full layer)"] = _book_row(result.equity, wf.returns.index, ladder.columns)
    trials, names = _pbo_trials(sleeve_returns, settings, ex)

    say("probability of backtest overfitting")
    overfit = pbo(trials, n_partitions=settings.n_partitions)

    say("deflated Sharpe")
    per_period = trials.mean() / trials.std(ddof=1)
    r = book_returns.to_numpy()
    dsr_value = float(
        deflated_sharpe(r, n_trials=len(names), sr_variance=float(per_period.var(ddof=1)))
    )
    ppy = config.periods_per_year
    sr = float(r.mean() / r.std(ddof=1))
    from riskbook.validate.sharpe import expected_max_sharpe

    dsr = {
        "dsr": dsr_value,
        "sharpe_annual": sr * np.sqrt(ppy),
        "expected_max_sharpe_annual": float(
            expected_max_sharpe(len(names), float(per_period.var(ddof=1))) * np.sqrt(ppy)
        ),
        "n_trials": len(names),
    }

    say("expected vs realised combined Sharpe")
    combined = _combined(sleeve_returns, wf, ppy)

    say("stress")
    hist = historical_stress(result, history, config=config)
    last = result.weights.iloc[-1].to_numpy()
    window = span.returns().loc[: result.equity.index[-1]].iloc[-config.portfolio_vol.window :]
    hypo = hypothetical_stress(last, window.to_numpy(), symbols=span.symbols, config=config)
    mc = monte_carlo_stress(
        _ungoverned(book_returns, history, settings.fill),
        n_paths=settings.mc_paths,
        horizon=settings.mc_horizon,
        seed=settings.seed,
        config=config,
        executor=ex,
        progress=progress,
    )

    say("sensitivity")
    sens = book_sensitivity(
        span,
        sleeves,
        config,
        parameters=settings.sensitivity_parameters,
        factors=settings.sensitivity_factors,
        backtest_kwargs={
            "schedule": settings.sensitivity_schedule,
            "fill": settings.fill,
            "start": settings.start,
            "costs": settings.costs,
            "cash": settings.cash,
            "account": "margin",
            "leverage": config.caps.gross,
        },
        executor=ex,
        progress=progress,
    )
    notes = (
        f"Ladder: sleeve-level allocators on the sleeves' daily returns, train {settings.train} "
        f"days, refit every {settings.test}, {settings.costs:g} bps on the sleeve weights traded; "
        "the book row is the full integration layer, net of its own trading costs.",
        f"PBO: {len(names)} trials ({', '.join(names)}), S = {settings.n_partitions}.",
        f"Sensitivity on {settings.sensitivity_schedule} decisions.",
    )
    return ValidationReport(
        result=result,
        history=history,
        sleeve_returns=sleeve_returns,
        ladder=ladder,
        verdict=wf.verdict,
        walk_forward=wf,
        pbo=overfit,
        pbo_trials=tuple(names),
        dsr=dsr,
        combined_sharpe=combined,
        historical_stress=hist,
        hypothetical_stress=hypo,
        monte_carlo=mc,
        sensitivity=sens,
        settings=settings,
        executor=ex.name,
        notes=notes,
    )


def _book_row(equity: pd.Series, dates: pd.Index, columns: pd.Index) -> pd.Series:
    """The book's own track over the ladder's out-of-sample dates, in the ladder's columns."""
    from riskbook.simulate.metrics import performance

    eq = equity.loc[dates[0] : dates[-1]]
    stats = performance(eq.to_numpy(), eq.index.to_numpy())
    row = pd.Series(np.nan, index=columns, dtype=float)
    for key in ("sharpe", "volatility", "max_drawdown"):
        if key in stats and key in row.index:
            row[key] = stats[key]
    if "annual_return" in row.index:
        row["annual_return"] = stats.get("cagr", np.nan)
    return row


def _ungoverned(returns: pd.Series, history: pd.DataFrame, fill: str) -> np.ndarray:
    """The book's daily returns at full exposure: each day's return divided by the governor's
    and kill tier's multiplier in force (the book decided one bar before the fill), so the Monte
    Carlo applies the governor once. Cooloff days (multiplier 0) carry no information and are
    left out."""
    lag = 2 if fill in ("next_close", "next_open") else 1
    m = (history.governor * history.tier_factor).reindex(returns.index).ffill().shift(lag)
    m = m.to_numpy()
    keep = np.isfinite(m) & (m > 0)
    return returns.to_numpy()[keep] / m[keep]


def _pbo_trials(
    sleeve_returns: pd.DataFrame, settings: ValidationSettings, ex: Any
) -> tuple[pd.DataFrame, list[str]]:
    """Out-of-sample daily returns of every (allocator, lookback) configuration, on the dates
    all of them cover."""
    columns = {}
    longest = max(settings.pbo_lookbacks)
    for lookback in settings.pbo_lookbacks:
        wf = walk_forward(
            sleeve_returns.iloc[longest - lookback :],
            None,
            train=lookback,
            test=settings.test,
            costs=settings.costs,
            executor=ex,
        )
        for name in wf.returns.columns:
            columns[f"{name} {lookback}d"] = wf.returns[name]
    trials = pd.DataFrame(columns).dropna()
    return trials, list(trials.columns)


def _combined(sleeve_returns: pd.DataFrame, wf: WalkForwardResult, ppy: float) -> dict[str, float]:
    r = sleeve_returns
    sharpe = (r.mean() / r.std(ddof=1) * np.sqrt(ppy)).to_numpy()
    corr = r.corr().to_numpy()
    k = corr.shape[0]
    rho = float(corr[~np.eye(k, dtype=bool)].mean()) if k > 1 else 0.0
    mean_sr = float(np.mean(sharpe))
    realised = wf.summary().loc[_label_of(wf, "inverse_vol"), "sharpe"]
    return {
        "sleeves": float(k),
        "mean sleeve Sharpe": mean_sr,
        "average pairwise correlation": rho,
        "expected combined Sharpe": float(expected_combined_sharpe(max(mean_sr, 0.0), k, rho)),
        "realised 1/N-risk combination (net)": float(realised),
    }


def _label_of(wf: WalkForwardResult, allocator: str) -> str:
    for name, spec in DEFAULT_LADDER.items():
        if spec == allocator and name in wf.returns.columns:
            return name
    raise ConfigError(f"no {allocator} line in the ladder", parameter="strategies")


__all__ = ["ValidationReport", "ValidationSettings", "validate_book"]
