"""The canonical sleeve returns of seed 003 s.4: ``r_{s,t} = sum_i w_{s,i,t-1} ret_{i,t}``.

Each sleeve's return over a bar is what its unit-gross target from the decision before that bar
earned over the bar. The series is the input of the whole cross-sleeve allocation (sleeve vol,
covariance, HRP), so it is computed one way only, here.

Conventions
-----------
- **Which weights earn a bar.** Bar ``j`` (close ``j-1`` to close ``j``, stamped ``dates[j]``)
  earns with the weights of the most recent decision made strictly before ``dates[j]``: the last
  decision that could not see bar ``j``. A daily engine deciding at each close therefore gets
  exactly ``w_{t-1} . ret_t``.
- **Between decisions** (weekly or monthly rebalancing) every bar uses the last decision's
  weights: the sleeve is held in constant proportion, as if rebalanced daily back to its
  target. The drift of a buy-and-hold position between rebalances is deliberately not modelled:
  it would make a sleeve's return depend on the rebalance calendar rather than on its signal.
- **Daily bars only.** Returns are close-to-close over the view's completed daily bars (on minute
  data, :meth:`~riskbook.data.view.PointInTimeView.daily`); a decision at 12:00 on day ``d``
  first earns bar ``d+1``, and the last decision of a day is the one that counts.
- **Missing prices.** A symbol without a price at either end of a bar contributes 0.
- **Inactive sleeves.** A sleeve absent (or None) at a decision has NaN returns until its next
  recorded weights; a new sleeve's series starts at its first decision, NaN before.
- **No look-ahead.** :meth:`SleeveReturnTracker.update` only reads the bars of the view it is
  given, so nothing after the view's time is ever used.

Examples
--------
>>> import numpy as np
>>> from riskbook import MarketData
>>> md = MarketData.from_arrays(np.arange(3).astype("datetime64[D]"), ["A", "B"],
...     close=[[10.0, 20.0], [11.0, 19.0], [11.0, 20.9]])
>>> tracker = SleeveReturnTracker()
>>> tracker.record(md.dates[0], {"long_a": np.array([2.0, 0.0]), "spread": np.array([1.0, -1.0])})
>>> tracker.update(md.until(md.dates[-1]))
2
>>> dates, r, names = tracker.returns()
>>> names, r.round(4).tolist()
(('long_a', 'spread'), [[0.1, 0.0], [0.075, -0.05]])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from riskbook.book.sleeves import daily_closes, unit_gross
from riskbook.data.market_data import to_datetime64
from riskbook.errors import DataError, TargetError

if TYPE_CHECKING:
    from riskbook.data.view import PointInTimeView

__all__ = ["Period", "SleeveReturnTracker"]


class Period(NamedTuple):
    """One tracked bar: its stamp, the weights that earned it, and the symbols' returns."""

    date: np.datetime64
    #: Unit-gross weights of every sleeve active over the bar.
    weights: Mapping[str, np.ndarray]
    #: Close-to-close simple return of each symbol over the bar (NaN without a price).
    returns: np.ndarray


class _Rows:
    """An append-only array that grows by doubling (amortised O(1) appends, no list rebuilds)."""

    __slots__ = ("data", "fill", "n")

    def __init__(self, dtype: Any, width: int | None, fill: Any) -> None:
        self.fill = fill
        self.data = np.full((16,) if width is None else (16, width), fill, dtype=dtype)
        self.n = 0

    def extend(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self.data):
            grown = np.full((max(need, 2 * len(self.data)), *self.data.shape[1:]), self.fill)
            grown = grown.astype(self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        if rows.ndim == 2:
            self.data[self.n : need, : rows.shape[1]] = rows
        else:
            self.data[self.n : need] = rows
        self.n = need

    def widen(self, width: int) -> None:
        if width > self.data.shape[1]:
            extra = np.full((len(self.data), width - self.data.shape[1]), self.fill)
            self.data = np.hstack([self.data, extra.astype(self.data.dtype)])

    def get(self) -> np.ndarray:
        return self.data[: self.n]


class SleeveReturnTracker:
    """Per-sleeve realised returns of the prior decision's unit-gross weights.

    Call :meth:`update` with the view at each decision (it computes every bar since the last
    update), then :meth:`record` that decision's sleeve weights. Both are incremental: the cost of
    a decision does not grow with the length of the history.

    Examples
    --------
    >>> import numpy as np
    >>> from riskbook.datasets import load_sp500
    >>> from riskbook.book.sleeves import demo_sleeves
    >>> sp, sleeves, tracker = load_sp500(), demo_sleeves(), SleeveReturnTracker()
    >>> for t in sp.dates[5000:5100]:
    ...     view = sp.until(t)
    ...     _ = tracker.update(view)
    ...     tracker.record(t, {s.name: s.weights(view) for s in sleeves})
    >>> dates, r, names = tracker.returns(window=60)
    >>> r.shape, len(tracker), bool(np.isfinite(r).all())
    ((5, 60), 99, True)
    """

    def __init__(self) -> None:
        self._names: list[str] = []
        self._column: dict[str, int] = {}
        self._n_symbols: int | None = None
        self._times = _Rows("datetime64[ns]", None, np.datetime64("NaT"))
        self._records: list[dict[str, np.ndarray]] = []
        self._dates = _Rows("datetime64[ns]", None, np.datetime64("NaT"))
        self._decision = _Rows(np.intp, None, -1)
        self._asset: _Rows | None = None
        self._sleeve = _Rows(np.float64, 0, np.nan)

    # ----------------------------------------------------------------- facts
    @property
    def names(self) -> tuple[str, ...]:
        """Sleeves in order of first appearance (the rows of :meth:`returns`)."""
        return tuple(self._names)

    @property
    def decision_times(self) -> np.ndarray:
        """The recorded decision times, ``datetime64[ns]``."""
        return self._times.get().copy()

    @property
    def last_date(self) -> np.datetime64 | None:
        """Stamp of the last bar whose returns are computed, or None."""
        return self._dates.data[self._dates.n - 1] if self._dates.n else None

    def __len__(self) -> int:
        """Number of bars whose returns are computed."""
        return self._dates.n

    def __repr__(self) -> str:
        return (
            f"SleeveReturnTracker(sleeves={len(self._names)}, decisions={len(self._records)}, "
            f"bars={len(self)})"
        )

    def observations(self, name: str) -> int:
        """Number of finite returns of sleeve ``name`` (0 for an unknown sleeve).

        Examples
        --------
        >>> SleeveReturnTracker().observations("trend")
        0
        """
        k = self._column.get(name)
        if k is None:
            return 0
        return int(np.isfinite(self._sleeve.get()[:, k]).sum())

    # ----------------------------------------------------------------- writing
    def record(self, time: Any, sleeve_weights: Mapping[str, Any]) -> None:
        """Store each sleeve's target at a decision, scaled to unit gross.

        Parameters
        ----------
        time
            The decision time: not before the previous decision, nor before the last bar already
            computed by :meth:`update`. A second record at the same time merges into the first
            (its sleeves replace theirs).
        sleeve_weights
            Sleeve name to signed weights aligned with the view's symbols; None (or leaving a
            sleeve out) marks it inactive until its next record. All-zero weights are a flat
            sleeve (return 0), not an inactive one.

        Raises
        ------
        DataError
            ``time`` goes backwards.
        TargetError
            Weights of the wrong length, or a non-finite weight.

        Examples
        --------
        >>> tracker = SleeveReturnTracker()
        >>> tracker.record("2020-01-02", {"a": [1.0, 3.0], "b": None})
        >>> tracker.names
        ('a',)
        """
        t = to_datetime64(time, parameter="time")
        last_time = self._times.data[self._times.n - 1] if self._times.n else None
        if last_time is not None and t < last_time:
            raise DataError(
                f"decisions must be recorded in time order; the last was at {last_time}", date=t
            )
        if self.last_date is not None and t < self.last_date:
            raise DataError(
                f"returns through {self.last_date} are already computed; record each decision "
                "before updating past it",
                date=t,
            )
        record: dict[str, np.ndarray] = {}
        for name, weights in sleeve_weights.items():
            if weights is None:
                continue
            w = np.asarray(weights, dtype=np.float64).ravel()
            if self._n_symbols is None:
                self._n_symbols = w.size
            if w.size != self._n_symbols:
                raise TargetError(
                    f"sleeve {name!r} has {w.size} weights, expected {self._n_symbols}",
                    parameter=name,
                    date=t,
                )
            if not np.isfinite(w).all():
                position = int(np.argmax(~np.isfinite(w)))
                raise TargetError(
                    f"sleeve {name!r} has a non-finite weight at position {position}",
                    parameter=name,
                    date=t,
                )
            record[str(name)] = unit_gross(w)
        for name in record:
            if name not in self._column:
                self._column[name] = len(self._names)
                self._names.append(name)
        self._sleeve.widen(len(self._names))
        if last_time is not None and t == last_time:
            self._records[-1].update(record)
        else:
            self._times.extend(np.array([t]))
            self._records.append(record)

    def update(self, view: PointInTimeView) -> int:
        """Compute the sleeve returns of every visible bar since the last update.

        Parameters
        ----------
        view
            The view at the current decision; bars after its time are never read.

        Returns
        -------
        int
            Number of bars added.
        """
        if not self._records or self._n_symbols is None:  # nothing active recorded yet
            return 0
        dates, close = daily_closes(view)
        if close.shape[1] != self._n_symbols:
            raise DataError(
                f"the view has {close.shape[1]} symbols, the recorded weights {self._n_symbols}",
                parameter="view",
            )
        after = self.last_date if self.last_date is not None else self._times.data[0]
        j0 = max(1, int(np.searchsorted(dates, after, side="right")))
        if j0 >= len(dates):
            return 0
        new_dates = dates[j0:]
        asset = close[j0:] / close[j0 - 1 : -1] - 1.0
        held = np.where(np.isfinite(asset), asset, 0.0)
        decision = np.searchsorted(self._times.get(), new_dates, side="left") - 1
        sleeve = np.empty((len(new_dates), len(self._names)))
        for d in np.unique(decision):
            rows = decision == d
            sleeve[rows] = held[rows] @ self._matrix(int(d)).T
        if self._asset is None:
            self._asset = _Rows(np.float64, close.shape[1], np.nan)
        self._dates.extend(new_dates)
        self._decision.extend(decision)
        self._asset.extend(asset)
        self._sleeve.extend(sleeve)
        return len(new_dates)

    def _matrix(self, d: int) -> np.ndarray:
        # NaN rows make an inactive sleeve's return NaN rather than a misleading 0
        assert self._n_symbols is not None
        out = np.full((len(self._names), self._n_symbols), np.nan)
        for name, w in self._records[d].items():
            out[self._column[name]] = w
        return out

    # ----------------------------------------------------------------- reading
    def returns(self, window: int | None = None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """The tracked returns of the last ``window`` bars (all if None).

        Returns
        -------
        dates : ndarray
            ``datetime64[ns]`` stamps, length T.
        returns : ndarray
            Shape (K, T): one row per sleeve in :attr:`names` order, NaN where a sleeve was
            inactive.
        names : tuple of str

        Examples
        --------
        >>> dates, r, names = SleeveReturnTracker().returns(window=252)
        >>> r.shape, names
        ((0, 0), ())
        """
        if window is not None and (isinstance(window, bool) or window < 1):
            raise DataError("window must be a positive number of bars", parameter="window")
        n = self._dates.n
        lo = 0 if window is None else max(0, n - int(window))
        returns = self._sleeve.data[lo:n, : len(self._names)].T.copy()
        return self._dates.data[lo:n].copy(), returns, tuple(self._names)

    def frame(self, window: int | None = None) -> pd.DataFrame:
        """:meth:`returns` as a frame indexed by date, one column per sleeve.

        Examples
        --------
        >>> SleeveReturnTracker().frame().shape
        (0, 0)
        """
        dates, returns, names = self.returns(window)
        return pd.DataFrame(
            returns.T,
            index=pd.DatetimeIndex(dates, name="date"),
            columns=pd.Index(names, name="sleeve"),
        )

    def periods(self, start: int = 0) -> Iterator[Period]:
        """The tracked bars from position ``start`` on, with the weights that earned each.

        Feeds the skill tracker: each period pairs a forecast (the weights) with what followed.

        Examples
        --------
        >>> list(SleeveReturnTracker().periods())
        []
        """
        if self._asset is None:
            return
        dates, decisions, assets = self._dates.get(), self._decision.get(), self._asset.get()
        for i in range(max(0, start), self._dates.n):
            weights = MappingProxyType(self._records[int(decisions[i])])
            yield Period(dates[i], weights, assets[i].copy())
