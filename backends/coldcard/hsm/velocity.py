"""Velocity bookkeeping: one period clock shared by all rules, a running total per rule.

As on the device: the clock starts at the first recorded spend; totals only grow; once
``period`` minutes have passed, the next look resets every total and stops the clock
(a fixed window, not a rolling one). Nothing here survives a power cycle.
"""

from __future__ import annotations

from collections.abc import Callable


class VelocityLedger:
    def __init__(self, period_minutes: int | None, rule_count: int, clock: Callable[[], float]):
        self.period_minutes = period_minutes
        self._clock = clock
        self.spent: list[int] = [0] * rule_count
        #: clock value when the period started; ``None`` while no spend is recorded
        self.period_started: float | None = None

    def reset(self) -> None:
        self.spent = [0] * len(self.spent)
        self.period_started = None

    def record_spend(self, rule_number: int, amount_sat: int) -> None:
        """Add ``amount_sat`` to rule #``rule_number`` (1-based); starts the clock if idle."""
        self.spent[rule_number - 1] += amount_sat
        if self.period_started is None:
            self.period_started = self._clock()

    def spent_so_far(self, rule_number: int) -> int:
        return self.spent[rule_number - 1]

    def time_left(self) -> float | None:
        """Seconds left in the period; ``-1`` if not started; ``None`` without a period.

        Side effect, as on the device: an expired period is reset here.
        """
        if self.period_minutes is None:
            return None
        if self.period_started is None:
            return -1
        left = self.period_minutes * 60 - (self._clock() - self.period_started)
        if left <= 0:
            self.reset()
            return -1
        return left

    def fast_forward(self, seconds: float) -> None:
        """Pretend the period started ``seconds`` earlier (the simulator's test hook)."""
        if self.period_started is not None:
            self.period_started -= seconds
