"""Decisions shared by every waiter (operator, sensor, trigger): deadlines, the error budget, progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_ERROR_BUDGET", "Deadlines", "ErrorBudget", "describe_progress"]

#: How many transient API errors in a row a wait survives before it gives up.
DEFAULT_ERROR_BUDGET = 10
_MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True)
class Deadlines:
    """The two absolute deadlines of a wait, in seconds since the epoch.

    :param end_time: When the operator's ``timeout`` (or the sensor's) runs out.
    :param execution_deadline: When the task's ``execution_timeout`` runs out, if set.
    """

    end_time: float
    execution_deadline: float | None = None

    def passed(self, now: float) -> str | None:
        """Tell which deadline has passed.

        :param now: The current time, in seconds since the epoch.
        :return: ``"execution_timeout"``, ``"timeout"``, or ``None`` when neither has passed.
        """
        if self.execution_deadline is not None and now >= self.execution_deadline:
            return "execution_timeout"
        if now >= self.end_time:
            return "timeout"
        return None

    def remaining(self, now: float) -> float:
        """Return the seconds left until the earlier deadline (never negative).

        :param now: The current time, in seconds since the epoch.
        """
        ends = [self.end_time] + ([self.execution_deadline] if self.execution_deadline is not None else [])
        return max(0.0, min(ends) - now)


@dataclass
class ErrorBudget:
    """Count transient errors in a row and say how long to back off.

    :param limit: How many transient errors in a row are tolerated; the next one exhausts the budget.
    :param poll_interval: The normal pause between polls, in seconds; back-off starts from it.
    :param max_backoff: The longest pause, in seconds.
    """

    limit: int = DEFAULT_ERROR_BUDGET
    poll_interval: float = 60.0
    max_backoff: float = _MAX_BACKOFF_SECONDS
    consecutive: int = field(default=0, init=False)
    total: int = field(default=0, init=False)

    def record_error(self) -> bool:
        """Record one transient error.

        :return: ``True`` while the budget lasts, ``False`` once it is exhausted.
        """
        self.consecutive += 1
        self.total += 1
        return self.consecutive <= self.limit

    def record_success(self) -> None:
        """Record a successful poll, which refills the budget."""
        self.consecutive = 0

    def backoff(self, retry_after: float | None = None) -> float:
        """Return the pause before the next poll after an error, in seconds.

        :param retry_after: The server's ``Retry-After``, in seconds, which wins when it is longer.
        """
        base = max(self.poll_interval, 1.0) * (2 ** max(self.consecutive - 1, 0))
        pause = min(base, self.max_backoff)
        return float(max(pause, retry_after or 0.0))


def describe_progress(run: Mapping[str, Any], started: float, clock: Callable[[], float] = time.time) -> str:
    """Describe a run for a status-change log line: status, elapsed time and the current step.

    :param run: The run, ideally with ``run_steps``.
    :param started: When the wait started, in seconds since the epoch.
    :param clock: The clock, injectable for tests.
    :return: e.g. ``"Running after 42s, step 2/3: Invoke dbt with `dbt build`"``.
    """
    text = f"{run.get('status_humanized') or run.get('status')} after {clock() - started:.0f}s"
    steps = run.get("run_steps") or []
    current = next((s for s in reversed(steps) if s.get("status") not in (None, 1)), None)
    if current is not None:
        text += f", step {current.get('index')}/{len(steps)}: {current.get('name')}"
    return text
