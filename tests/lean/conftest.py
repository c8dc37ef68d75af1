"""Small LEAN algorithms shared by the riskbook.lean tests."""

from __future__ import annotations

from riskbook.lean import QCAlgorithm


class Recorder(QCAlgorithm):
    """Runs ``plan[n](self)`` at the n-th on_data (0-based) and records every event."""

    plan: dict = {}  # noqa: RUF012 - replaced per subclass
    tickers = ("KO", "MSFT", "XOM")
    start = (2020, 3, 2)
    end = (2020, 3, 13)

    def initialize(self):
        self.set_start_date(*self.start)
        self.set_end_date(*self.end)
        self.set_cash(100_000)
        self.syms = [self.add_equity(t).symbol for t in self.tickers]
        self.step = 0
        self.seen = []  # (time, kind, payload)

    def on_data(self, data):
        action = self.plan.get(self.step)
        if action is not None:
            action(self)
        self.step += 1

    def on_order_event(self, event):
        self.seen.append((self.time, "event", event))
