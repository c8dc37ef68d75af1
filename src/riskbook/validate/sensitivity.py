"""Parameter sensitivity: perturb the knobs by +/-50% and ask whether the Sharpe ratio is flat.

Seed 003 s.10: "Perturb lookback, shrinkage, vol target, EWMA lambda by +/-50%. Acceptance
criterion: Sharpe is stable. High sensitivity = overfit and is itself a rejection signal." A
configuration whose Sharpe is a sharp peak at the chosen values was probably tuned to the sample;
one on a plateau was not.

:func:`sensitivity` is the generic core: a picklable ``run(params) -> periodic returns`` and the
base values; each point of a one-at-a-time or full-factorial design runs once through
:func:`riskbook.validate.executor.resolve_executor`. :func:`book_sensitivity` wires it to the
integration layer, one backtest of a fresh :class:`riskbook.book.BookBuilder` per point.

How values are perturbed (``kinds``), so that nothing is changed silently:

============== ========================================================================
``linear``     ``base * f`` (default for a float)
``integer``    ``base * f`` rounded half up, at least 1 (default for an int); every value
               that moved is listed in ``SensitivityResult.rounding``
``complement`` for a weight ``lambda`` in (0, 1): ``1 - (1 - lambda) * f``, the weight on
               news scaled by ``f`` (EWMA smoothing); a value leaving (0, 1) is an error
``halflife``   for ``lambda`` in (0, 1): the half-life ``ln 0.5 / ln lambda`` scaled by
               ``f``, i.e. ``lambda ** (1 / f)``; always stays in (0, 1)
============== ========================================================================

The peaked rule. Along each parameter's axis through the base point (the others at base), let
``SR_0`` be the base Sharpe (annualised), ``SE`` its standard error ``sqrt((1 + s^2 / 2) / T)``
annualised (Lo 2002; ``s`` the per-period Sharpe, ``T`` the number of returns) and ``SR_edge``
the median Sharpe at the two extreme factors (+/-50% by default). The parameter is

- ``peaked`` when ``SR_0 - SR_edge > threshold * SE``: the base beats its +/-50% neighbours by
  more than the noise of the Sharpe estimate itself, the signature of a tuned optimum;
- ``flat`` when not peaked and ``max - min`` of the Sharpe along the axis is at most
  ``threshold * SE``;
- ``sensitive`` otherwise (the Sharpe moves with the parameter, but the base is not a peak:
  a slope or a valley; reported, not flagged as overfit);
- ``undetermined`` when the base Sharpe is not defined (zero volatility).

The surface is ``peaked`` when any parameter is; ``threshold`` is 1 by default.

Examples
--------
>>> import numpy as np
>>> def run(params):  # the Sharpe does not depend on the scale x: a flat surface
...     return np.array([0.01, -0.005, 0.02, 0.0]) * params["x"]
>>> res = sensitivity(run, {"x": 1.0}, factors=(0.5, 1.0, 1.5))
>>> res.table["x"].tolist(), res.peaked, res.verdict.split(":")[0]
([1.0, 0.5, 1.5], False, 'flat')
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from riskbook.book.builder import BookBuilder
from riskbook.book.config import BookConfig
from riskbook.errors import ConfigError, DataError
from riskbook.simulate.engine import backtest
from riskbook.simulate.metrics import performance
from riskbook.validate.executor import Progress, resolve_executor

__all__ = [
    "BOOK_PARAMETERS",
    "DEFAULT_FACTORS",
    "KINDS",
    "BookRun",
    "SensitivityResult",
    "book_config",
    "book_sensitivity",
    "perturb",
    "sensitivity",
]

#: Seed 003's +/-50% grid.
DEFAULT_FACTORS: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5)

#: How a base value is perturbed by a factor (see the module docstring).
KINDS = ("linear", "integer", "complement", "halflife")

#: Parameters :func:`book_sensitivity` knows, and the config fields each one moves.
BOOK_PARAMETERS: dict[str, str] = {
    "lookback": "allocation.window, with portfolio_vol.window scaled by the same ratio",
    "shrinkage": "allocation.shrinkage_scale (x the Ledoit-Wolf optimal intensity)",
    "vol_target": "portfolio_vol.target, with its band and regime.vol_targets scaled alike",
    "ewma_lambda": "allocation.smoothing, perturbed through 1 - lambda ('complement')",
    "sleeve_halflife": "sleeve_vol.halflife (days)",
}

_BOOK_KINDS = {
    "lookback": "integer",
    "shrinkage": "linear",
    "vol_target": "linear",
    "ewma_lambda": "complement",
    "sleeve_halflife": "linear",
}

_BOOK_FIELDS = (
    "allocation.window",
    "portfolio_vol.window",
    "allocation.shrinkage_scale",
    "portfolio_vol.target",
    "portfolio_vol.band",
    "allocation.smoothing",
    "sleeve_vol.halflife",
)


# ---------------------------------------------------------------------------- perturbation
def _kind_of(name: str, value: Any, kinds: Mapping[str, str]) -> str:
    if name in kinds:
        kind = kinds[name]
        if kind not in KINDS:
            raise ConfigError(
                f"unknown kind {kind!r} for {name}; use one of {KINDS}", parameter=name
            )
        return kind
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(f"base value of {name} must be a number, got {value!r}", parameter=name)
    return "integer" if isinstance(value, int | np.integer) else "linear"


def perturb(
    value: float, factor: float, kind: str, *, name: str = "parameter"
) -> tuple[Any, float]:
    """A base value moved by a factor, the way its kind says.

    Parameters
    ----------
    value
        The base value.
    factor
        The multiplier (> 0); 1 returns the base value unchanged.
    kind
        One of ``KINDS`` (see the module docstring).
    name
        The parameter's name, for errors.

    Returns
    -------
    used : int or float
        The value to run with.
    raw : float
        The value before rounding (differs from ``used`` only for ``integer``).

    Raises
    ------
    ConfigError
        An unknown kind, a non-positive factor, or a ``complement`` / ``halflife`` value
        outside (0, 1) (before or after the move), naming the parameter.

    Examples
    --------
    >>> perturb(63, 1.25, "integer")
    (79, 78.75)
    >>> [round(perturb(0.8, f, "complement")[0], 4) for f in (0.5, 1.5)]
    [0.9, 0.7]
    >>> round(perturb(0.8, 0.5, "halflife")[0], 4)  # half-life 3.1 days -> 1.55
    0.64
    """
    if not (math.isfinite(factor) and factor > 0):
        raise ConfigError(f"factors must be positive numbers, got {factor!r}", parameter="factors")
    try:
        base = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"base value of {name} must be a number", parameter=name) from exc
    if isinstance(value, bool) or not math.isfinite(base):
        raise ConfigError(f"base value of {name} must be finite", parameter=name)
    if kind == "linear":
        return base * factor, base * factor
    if kind == "integer":
        raw = base * factor
        return max(1, math.floor(raw + 0.5)), raw
    if kind in ("complement", "halflife"):
        if not 0.0 < base < 1.0:
            raise ConfigError(
                f"{name} = {base} must lie in (0, 1) to be perturbed as {kind!r}", parameter=name
            )
        out = 1.0 - (1.0 - base) * factor if kind == "complement" else base ** (1.0 / factor)
        if not 0.0 < out < 1.0:
            raise ConfigError(
                f"{name}: 1 - (1 - {base}) * {factor} = {out:.6g} leaves (0, 1); use smaller "
                "factors or kind 'halflife'",
                parameter=name,
            )
        return out, out
    raise ConfigError(f"unknown kind {kind!r} for {name}; use one of {KINDS}", parameter=name)


# ---------------------------------------------------------------------------- the core
@dataclass(frozen=True)
class SensitivityResult:
    """A sensitivity run: the points, each parameter's stability, and the verdict.

    Attributes
    ----------
    table
        One row per design point: ``perturbed`` (the parameter moved, "base", or for a grid a
        comma-separated list), each parameter's value and its ``<name>_factor``, ``sharpe``
        (annualised), ``sharpe_se``, ``volatility`` (annualised), ``max_drawdown`` (positive
        fraction), ``n_obs``, and any extra values ``run`` returned.
    parameters
        One row per parameter: ``kind``, ``base_value``, ``values`` along its axis,
        ``sharpe_min``, ``sharpe_max``, ``sharpe_range``, ``range_in_se``, ``edge_sharpe``
        (median at the extreme factors), ``drop`` (base minus edge), ``drop_in_se`` and
        ``status`` ("flat", "peaked", "sensitive" or "undetermined").
    rounding
        Every value an integer parameter was rounded to: ``parameter``, ``factor``, ``raw``,
        ``used``.
    peaked
        True when any parameter is peaked.
    verdict
        One line starting with "flat:", "peaked:", "sensitive:" or "undetermined:".
    base, factors, mode, threshold, n_evaluations
        The inputs, and how many distinct points were run.
    """

    table: pd.DataFrame
    parameters: pd.DataFrame
    rounding: pd.DataFrame
    peaked: bool
    verdict: str
    base: dict[str, Any]
    factors: tuple[float, ...]
    mode: str
    threshold: float
    n_evaluations: int
    kinds: dict[str, str] = field(default_factory=dict)

    def surface(self, parameter: str) -> pd.Series:
        """Sharpe along ``parameter``'s axis through the base point, indexed by factor.

        Examples
        --------
        >>> import numpy as np
        >>> def run(params):
        ...     return np.array([0.01, -0.005, 0.02, 0.0]) + 0.01 * params["x"]
        >>> res = sensitivity(run, {"x": 1.0}, factors=(0.5, 1.0, 1.5))
        >>> res.surface("x").round(2).to_dict()
        {0.5: 16.11, 1.0: 23.27, 1.5: 30.43}
        """
        if parameter not in self.base:
            raise ConfigError(f"no parameter {parameter!r} in this run", parameter=parameter)
        axis = _axis(self.table, list(self.base), parameter)
        return pd.Series(
            axis["sharpe"].to_numpy(),
            index=pd.Index(axis[f"{parameter}_factor"].to_numpy(), name="factor"),
            name="sharpe",
        )


def _returns_of(output: Any, point: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    extras: dict[str, Any] = {}
    if isinstance(output, Mapping):
        if "returns" not in output:
            raise DataError(f"run returned a mapping without 'returns' at {point}", parameter="run")
        extras = {k: v for k, v in output.items() if k != "returns"}
        output = output["returns"]
    try:
        r = np.asarray(output, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"run returned non-numeric returns at {point}", parameter="run") from exc
    if r.ndim != 1 or len(r) < 2 or not np.isfinite(r).all():
        raise DataError(
            f"run must return a 1-D array of >= 2 finite returns; got shape {r.shape} at {point}",
            parameter="run",
        )
    return r, extras


def _stats(r: np.ndarray, periods_per_year: float) -> dict[str, float]:
    equity = np.r_[1.0, np.cumprod(1.0 + r)]
    dates = np.arange(len(equity)).astype("datetime64[D]")  # only the per-period metrics are read
    perf = performance(equity, dates, periods_per_year=periods_per_year)
    sharpe = perf["sharpe"]
    s = sharpe / math.sqrt(periods_per_year)
    se = math.sqrt((1.0 + s * s / 2.0) / len(r)) * math.sqrt(periods_per_year)
    return {
        "sharpe": sharpe,
        "sharpe_se": se,
        "volatility": perf["volatility"],
        "max_drawdown": -perf["max_drawdown"],
        "n_obs": len(r),
    }


def _axis(table: pd.DataFrame, names: list[str], parameter: str) -> pd.DataFrame:
    others = [n for n in names if n != parameter]
    on_axis = np.ones(len(table), dtype=bool)
    for n in others:
        on_axis &= table[f"{n}_factor"].to_numpy() == 1.0
    return table[on_axis].sort_values(f"{parameter}_factor")


def _judge(
    table: pd.DataFrame, names: list[str], kinds: dict[str, str], base: dict[str, Any], z: float
) -> pd.DataFrame:
    rows = []
    for name in names:
        axis = _axis(table, names, name)
        f = axis[f"{name}_factor"].to_numpy()
        sr = axis["sharpe"].to_numpy()
        at_base = f == 1.0
        sr0 = float(sr[at_base][0])
        se = float(axis["sharpe_se"].to_numpy()[at_base][0])
        edge = float(np.median(sr[(f == f.min()) | (f == f.max())]))
        drop = sr0 - edge
        rng = float(np.max(sr) - np.min(sr)) if np.isfinite(sr).all() else math.nan
        if not (math.isfinite(sr0) and math.isfinite(se) and se > 0 and math.isfinite(edge)):
            status = "undetermined"
        elif drop > z * se:
            status = "peaked"
        elif rng <= z * se:
            status = "flat"
        else:
            status = "sensitive"
        rows.append(
            {
                "parameter": name,
                "kind": kinds[name],
                "base_value": base[name],
                "values": tuple(axis[name].tolist()),
                "factors": tuple(f.tolist()),
                "base_sharpe": sr0,
                "sharpe_se": se,
                "sharpe_min": float(np.min(sr)),
                "sharpe_max": float(np.max(sr)),
                "sharpe_range": rng,
                "range_in_se": rng / se if se > 0 else math.nan,
                "edge_sharpe": edge,
                "drop": drop,
                "drop_in_se": drop / se if se > 0 else math.nan,
                "status": status,
            }
        )
    return pd.DataFrame(rows).set_index("parameter")


def _verdict(params: pd.DataFrame, factors: Sequence[float], z: float) -> str:
    lo, hi = min(factors), max(factors)
    span = f"x{lo:g} to x{hi:g}"
    peaked = params[params["status"] == "peaked"]
    if len(peaked):
        parts = [
            f"{name} (base Sharpe {row.base_sharpe:.2f}, {row.edge_sharpe:.2f} at {span}: "
            f"{row.drop_in_se:.1f} SE above)"
            for name, row in peaked.iterrows()
        ]
        return (
            f"peaked: {'; '.join(parts)} > {z:g} SE; likely overfit: prefer a flatter "
            "configuration even at a slightly lower in-sample Sharpe"
        )
    undetermined = params.index[params["status"] == "undetermined"].tolist()
    if undetermined:
        return (
            f"undetermined: the Sharpe is not defined along {', '.join(undetermined)} "
            "(zero volatility or too few returns)"
        )
    sensitive = params[params["status"] == "sensitive"]
    if len(sensitive):
        parts = [
            f"{name} (Sharpe {row.sharpe_min:.2f} to {row.sharpe_max:.2f}, "
            f"{row.range_in_se:.1f} SE)"
            for name, row in sensitive.iterrows()
        ]
        return (
            f"sensitive: the Sharpe moves with {'; '.join(parts)} over {span}, but the base is "
            "not a peak; not flagged as overfit"
        )
    se = float(params["sharpe_se"].iloc[0])
    return (
        f"flat: the Sharpe stays within {z:g} SE ({z * se:.2f}) over {span} of "
        f"{', '.join(params.index)}; no sign of overfit"
    )


def sensitivity(
    run: Callable[[dict[str, Any]], Any],
    base: Mapping[str, Any],
    *,
    factors: Sequence[float] = DEFAULT_FACTORS,
    mode: str = "one_at_a_time",
    kinds: Mapping[str, str] | None = None,
    threshold: float = 1.0,
    periods_per_year: float = 252.0,
    executor: Any = "serial",
    progress: Progress | None = None,
) -> SensitivityResult:
    """Run a strategy over perturbed parameters and judge whether its Sharpe is flat or peaked.

    Parameters
    ----------
    run
        ``run(params) -> returns``: a top-level (picklable) callable taking a dict of parameter
        values and returning a 1-D array of periodic returns, or a mapping with the returns
        under ``"returns"`` and extra scalar values (added to the table as columns).
    base
        Parameter name -> base value.
    factors
        Multipliers applied to each base value; must include 1.0 (the base point).
    mode
        ``"one_at_a_time"``: the base point plus each parameter moved alone (``1 + k (F - 1)``
        points for ``k`` parameters and ``F`` factors); ``"grid"``: the full factorial
        (``F ** k`` points).
    kinds
        Parameter name -> one of ``KINDS``; by default ``integer`` for ints, ``linear`` for
        floats (see the module docstring).
    threshold
        The rule's threshold in standard errors of the base Sharpe (module docstring).
    periods_per_year
        Annualisation of the returns.
    executor, progress
        Passed to :func:`riskbook.validate.executor.resolve_executor` and its ``map``; points
        whose values coincide after rounding are run once.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    ConfigError
        No parameters, factors without 1.0 or with a non-positive value, an unknown mode or
        kind, a base value that is not a number, or a perturbation leaving (0, 1) (named).
    DataError
        ``run`` returned something that is not a 1-D array of finite returns.

    Examples
    --------
    >>> import numpy as np
    >>> def flat(params):
    ...     return np.random.default_rng(0).normal(0.0005, 0.01, 500)
    >>> res = sensitivity(flat, {"window": 63, "lam": 0.9}, kinds={"lam": "complement"})
    >>> len(res.table), res.peaked, res.verdict.split(":")[0]
    (9, False, 'flat')
    >>> res.rounding[["raw", "used"]].values.tolist()  # 63 x (0.5, 0.75, 1.25, 1.5)
    [[31.5, 32.0], [47.25, 47.0], [78.75, 79.0], [94.5, 95.0]]
    """
    names = list(base)
    if not names:
        raise ConfigError("base must name at least one parameter", parameter="base")
    factors = tuple(float(f) for f in factors)
    if 1.0 not in factors or len(set(factors)) < 2:
        raise ConfigError(
            "factors must include 1.0 (the base point) and at least one other value",
            parameter="factors",
        )
    if mode not in ("one_at_a_time", "grid"):
        raise ConfigError(f"unknown mode {mode!r}: use 'one_at_a_time' or 'grid'", parameter="mode")
    try:
        threshold = float(threshold)
    except (TypeError, ValueError) as exc:
        raise ConfigError("threshold must be a number", parameter="threshold") from exc
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ConfigError("threshold must be a number >= 0", parameter="threshold")
    kinds = dict(kinds or {})
    unknown = [k for k in kinds if k not in base]
    if unknown:
        raise ConfigError(f"kinds names an unknown parameter {unknown[0]!r}", parameter=unknown[0])
    kinds = {n: _kind_of(n, base[n], kinds) for n in names}
    unique_factors = sorted(set(factors))

    # the design, as factor tuples
    if mode == "grid":
        design = list(itertools.product(unique_factors, repeat=len(names)))
        design.sort(key=lambda d: (any(f != 1.0 for f in d), d))  # base first
    else:
        design = [tuple(1.0 for _ in names)]
        for i in range(len(names)):
            for f in unique_factors:
                if f != 1.0:
                    design.append(tuple(f if j == i else 1.0 for j in range(len(names))))

    # the values each factor gives, with rounding reported
    values: dict[tuple[str, float], Any] = {}
    rounding = []
    for name in names:
        for f in unique_factors:
            used, raw = perturb(base[name], f, kinds[name], name=name)
            values[name, f] = used
            if kinds[name] == "integer" and float(used) != raw:
                rounding.append({"parameter": name, "factor": f, "raw": raw, "used": used})

    points = [{n: values[n, f] for n, f in zip(names, d, strict=True)} for d in design]
    keys = [tuple(p[n] for n in names) for p in points]
    distinct = list(dict.fromkeys(keys))
    first = {k: points[keys.index(k)] for k in distinct}
    outputs = resolve_executor(executor).map(run, [first[k] for k in distinct], progress=progress)
    evaluated = dict(zip(distinct, outputs, strict=True))

    rows = []
    for d, point, key in zip(design, points, keys, strict=True):
        moved = [n for n, f in zip(names, d, strict=True) if f != 1.0]
        r, extras = _returns_of(evaluated[key], point)
        row: dict[str, Any] = {"perturbed": ", ".join(moved) if moved else "base"}
        for n, f in zip(names, d, strict=True):
            row[n] = point[n]
            row[f"{n}_factor"] = f
        row |= _stats(r, periods_per_year)
        row |= extras
        rows.append(row)
    table = pd.DataFrame(rows)
    params = _judge(table, names, kinds, dict(base), threshold)
    rounding_frame = pd.DataFrame(rounding, columns=["parameter", "factor", "raw", "used"])
    return SensitivityResult(
        table=table,
        parameters=params,
        rounding=rounding_frame,
        peaked=bool((params["status"] == "peaked").any()),
        verdict=_verdict(params, factors, threshold),
        base=dict(base),
        factors=factors,
        mode=mode,
        threshold=threshold,
        n_evaluations=len(distinct),
        kinds=kinds,
    )


# ---------------------------------------------------------------------------- the book
def _book_base(config: BookConfig, name: str) -> Any:
    return {
        "lookback": config.allocation.window,
        "shrinkage": config.allocation.shrinkage_scale,
        "vol_target": config.portfolio_vol.target,
        "ewma_lambda": config.allocation.smoothing,
        "sleeve_halflife": config.sleeve_vol.halflife,
    }[name]


def _check_book_parameters(parameters: Sequence[str], *, required: bool = True) -> list[str]:
    names = list(parameters)
    for name in names:
        if name not in BOOK_PARAMETERS:
            raise ConfigError(
                f"unknown book parameter {name!r}; use one of {tuple(BOOK_PARAMETERS)}",
                parameter=name,
            )
    if (required and not names) or len(set(names)) != len(names):
        raise ConfigError("parameters must be distinct and not empty", parameter="parameters")
    return names


def book_config(config: BookConfig | None, params: Mapping[str, Any]) -> BookConfig:
    """The book config at one point of a sensitivity run (``BOOK_PARAMETERS`` mapping).

    - ``lookback`` ``L``: ``allocation.window = L`` and ``portfolio_vol.window`` scaled by
      ``L / allocation.window`` of ``config`` (rounded half up, at least 2): one lookback for
      both the sleeve and the asset covariance;
    - ``shrinkage`` ``s``: ``allocation.shrinkage_scale = s``;
    - ``vol_target`` ``t``: ``portfolio_vol.target = t``, and ``portfolio_vol.band`` and every
      ``regime.vol_targets`` value multiplied by ``t / portfolio_vol.target`` of ``config``,
      so the target keeps its place in the band and the regime tilt its relative size;
    - ``ewma_lambda`` ``lambda``: ``allocation.smoothing = lambda``;
    - ``sleeve_halflife`` ``h``: ``sleeve_vol.halflife = h``.

    Parameters
    ----------
    config
        The base config; seed 003's defaults when None.
    params
        Parameter name -> value (any subset of ``BOOK_PARAMETERS``).

    Returns
    -------
    BookConfig

    Raises
    ------
    ConfigError
        An unknown parameter or a value out of range (named).

    Examples
    --------
    >>> cfg = book_config(None, {"lookback": 126, "vol_target": 0.05})
    >>> cfg.allocation.window, cfg.portfolio_vol.window, cfg.portfolio_vol.band
    (126, 60, (0.04, 0.06))
    """
    cfg = config or BookConfig()
    _check_book_parameters(list(params), required=False)
    alloc, pvol, svol, regime = cfg.allocation, cfg.portfolio_vol, cfg.sleeve_vol, cfg.regime
    if "lookback" in params:
        lookback = params["lookback"]
        if isinstance(lookback, bool) or not isinstance(lookback, int | np.integer) or lookback < 2:
            raise ConfigError(
                f"lookback must be an integer >= 2, got {lookback!r}", parameter="lookback"
            )
        ratio = int(lookback) / alloc.window
        alloc = replace(alloc, window=int(lookback))
        pvol = replace(pvol, window=max(2, math.floor(pvol.window * ratio + 0.5)))
    if "shrinkage" in params:
        s = float(params["shrinkage"])
        if not (math.isfinite(s) and s >= 0):
            raise ConfigError(f"shrinkage must be >= 0, got {s}", parameter="shrinkage")
        alloc = replace(alloc, shrinkage_scale=s)
    if "vol_target" in params:
        t = float(params["vol_target"])
        if not (math.isfinite(t) and t > 0):
            raise ConfigError(f"vol_target must be > 0, got {t}", parameter="vol_target")
        ratio = t / cfg.portfolio_vol.target
        pvol = replace(pvol, target=t, band=(pvol.band[0] * ratio, pvol.band[1] * ratio))
        regime = replace(regime, vol_targets={k: v * ratio for k, v in regime.vol_targets.items()})
    if "ewma_lambda" in params:
        lam = float(params["ewma_lambda"])
        if not 0.0 <= lam < 1.0:
            raise ConfigError(f"ewma_lambda must lie in [0, 1), got {lam}", parameter="ewma_lambda")
        alloc = replace(alloc, smoothing=lam)
    if "sleeve_halflife" in params:
        h = float(params["sleeve_halflife"])
        if not (math.isfinite(h) and h > 0):
            raise ConfigError(f"sleeve_halflife must be > 0, got {h}", parameter="sleeve_halflife")
        svol = replace(svol, halflife=h)
    return replace(cfg, allocation=alloc, portfolio_vol=pvol, sleeve_vol=svol, regime=regime)


def _field(cfg: BookConfig, path: str) -> Any:
    section, name = path.split(".")
    return getattr(getattr(cfg, section), name)


@dataclass(frozen=True)
class BookRun:
    """One sensitivity point of the book: a backtest of a fresh BookBuilder (picklable).

    Calling it with a dict of ``BOOK_PARAMETERS`` values builds :func:`book_config`, runs
    ``riskbook.backtest(data, BookBuilder(sleeves, config), **backtest_kwargs)`` and returns
    ``{"returns": daily returns of equity, <config field>: value, ...}``, the fields read back
    from the builder that ran, so the table shows what each task actually used.

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> from riskbook.book import demo_sleeves
    >>> data = load_sp500().slice("2019-01-01", "2019-06-28")
    >>> out = BookRun(data, tuple(demo_sleeves()[:2]))({"vol_target": 0.05})
    >>> out["portfolio_vol.target"], len(out["returns"]) > 10
    (0.05, True)
    """

    data: Any
    sleeves: tuple[Any, ...]
    config: BookConfig | None = None
    backtest_kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        builder = BookBuilder(list(self.sleeves), book_config(self.config, params))
        kwargs = {"schedule": "weekly", "fill": "next_close", "account": "margin", "leverage": 2.0}
        kwargs |= self.backtest_kwargs
        result = backtest(self.data, builder, **kwargs)
        equity = result.daily_equity().to_numpy()
        out: dict[str, Any] = {"returns": equity[1:] / equity[:-1] - 1.0}
        for path in _BOOK_FIELDS:
            out[path] = _field(builder.config, path)
        return out


def book_sensitivity(
    data: Any,
    sleeves: Sequence[Any],
    config: BookConfig | None = None,
    *,
    parameters: Sequence[str] = ("lookback", "shrinkage", "vol_target", "ewma_lambda"),
    factors: Sequence[float] = DEFAULT_FACTORS,
    mode: str = "one_at_a_time",
    threshold: float = 1.0,
    backtest_kwargs: Mapping[str, Any] | None = None,
    executor: Any = "serial",
    progress: Progress | None = None,
) -> SensitivityResult:
    """Seed 003's overfitting screen on the integration layer: +/-50% on its main knobs.

    Each point backtests a fresh :class:`riskbook.book.BookBuilder` with the config of
    :func:`book_config` (a :class:`BookRun` task, so it runs on any executor) and scores the
    daily returns of its equity with :func:`sensitivity`. Base values come from ``config``;
    ``lookback`` is perturbed as an integer (rounding reported), ``ewma_lambda`` (the
    sleeve-weight smoothing ``allocation.smoothing``) through ``1 - lambda`` (``complement``),
    the others linearly. The table gains the config fields each task used (``allocation.window``,
    ``portfolio_vol.window``, ``allocation.shrinkage_scale``, ``portfolio_vol.target``,
    ``portfolio_vol.band``, ``allocation.smoothing``, ``sleeve_vol.halflife``).

    Parameters
    ----------
    data
        Daily :class:`riskbook.MarketData`.
    sleeves
        The sleeves (picklable for a process or Dask executor: module-level classes, not
        lambdas).
    config
        The base ``BookConfig``; seed 003's defaults when None.
    parameters
        Names from ``BOOK_PARAMETERS``.
    factors, mode, threshold, executor, progress
        As in :func:`sensitivity`.
    backtest_kwargs
        Passed to :func:`riskbook.backtest` over the defaults ``schedule="weekly"``,
        ``fill="next_close"``, ``account="margin"``, ``leverage=2.0`` (the book is long/short
        with gross up to 2).

    Returns
    -------
    SensitivityResult

    Raises
    ------
    ConfigError
        An unknown parameter (named), or see :func:`sensitivity`.

    Examples
    --------
    >>> from riskbook.datasets import load_sp500
    >>> from riskbook.book import demo_sleeves
    >>> data = load_sp500().slice("2019-01-01", "2019-06-28")
    >>> res = book_sensitivity(data, demo_sleeves()[:2], parameters=["shrinkage"],
    ...                        factors=(0.5, 1.0))
    >>> res.table["allocation.shrinkage_scale"].tolist()
    [1.0, 0.5]
    """
    cfg = config or BookConfig()
    names = _check_book_parameters(parameters)
    base = {name: _book_base(cfg, name) for name in names}
    kinds = {name: _BOOK_KINDS[name] for name in names}
    task = BookRun(data, tuple(sleeves), cfg, dict(backtest_kwargs or {}))
    return sensitivity(
        task,
        base,
        factors=factors,
        mode=mode,
        kinds=kinds,
        threshold=threshold,
        periods_per_year=cfg.periods_per_year,
        executor=executor,
        progress=progress,
    )
