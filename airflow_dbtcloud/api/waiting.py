"""Waiting for a run: one policy for every waiter, and the event a deferred wait ends with.

:class:`Waiter` makes every decision of a wait (is it over, how long to pause, when to say something in
the log, whether an API error is worth waiting out) without doing any I/O or sleeping. Three loops use
it: the hook's ``wait_for_job_run_status`` (worker, sync), the operator's polling wait (through that
method) and the trigger (triggerer, async). :class:`WaitOutcome` is how a wait ended; its
:meth:`~WaitOutcome.to_event` is the trigger's event, in the official provider's shape
(``status``, ``message``, ``run_id``) so code that compares events keeps working.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, get_args

from airflow_dbtcloud._transport.errors import DbtCloudError
from airflow_dbtcloud._transport.retry import is_transient_error
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus, classify, status_name

__all__ = [
    "DEFAULT_ERROR_BUDGET",
    "TRIGGER_EVENT_STATUSES",
    "DbtCloudRunEvent",
    "DbtCloudTriggerEventException",
    "EventStatus",
    "WaitEnd",
    "WaitOutcome",
    "WaitStep",
    "Waiter",
    "deadlines",
    "spread_pause",
    "transient_pause",
    "validate_execute_complete_event",
]

#: How many transient API errors in a row a wait survives before it gives up.
DEFAULT_ERROR_BUDGET = 10
#: The longest pause after errors, in seconds.
MAX_BACKOFF_SECONDS = 300.0
#: A progress line is written at least this often, in seconds, even when the status does not change.
HEARTBEAT_SECONDS = 600.0

#: The statuses of a trigger event. The first four are the official provider's; ``api_error`` is ours,
#: for an outcome the official trigger does not have: transient API errors outlasted the error budget.
#: That says nothing about the run, so the task must not report the run as failed.
EventStatus = Literal["success", "error", "cancelled", "timeout", "api_error"]
TRIGGER_EVENT_STATUSES: frozenset[str] = frozenset(get_args(EventStatus))

#: How a wait ended: the run reached an expected status, ended in another one, a deadline passed
#: (``timeout`` for the waiter's own, ``execution_timeout`` for the task's), transient API errors
#: outlasted the budget (``gave_up``), or asking failed in a way waiting cannot fix (``api_failed``).
WaitEnd = Literal["reached", "ended", "timeout", "execution_timeout", "gave_up", "api_failed"]

_TIMEOUT_MESSAGE = "Job run {run_id} has not reached a terminal status within the configured timeout."
_MESSAGES = {
    "success": "Job run {run_id} has completed successfully.",
    "error": "Job run {run_id} has failed.",
    "cancelled": "Job run {run_id} has been cancelled.",
    "execution_timeout": "Job run {run_id} has timed out.",
    "timeout": _TIMEOUT_MESSAGE,
}


class DbtCloudTriggerEventException(DbtCloudError):
    """A deferred task resumed with a missing or malformed trigger event."""


class DbtCloudRunEvent(TypedDict):
    """The payload of the trigger's single event."""

    status: EventStatus
    message: str
    run_id: int | None


def validate_execute_complete_event(event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the event a deferred task resumed with, and return it unchanged.

    The event travels from the triggerer to the worker through the metadata database, so a task can
    resume with nothing, or with a status it does not know (a newer trigger, a custom one). Either
    must fail the task loudly instead of falling through to success.

    :param event: The ``event`` the task resumed with.
    :return: ``event`` itself.
    :raises DbtCloudTriggerEventException: When the event is None, not a dict, or has an unknown status.
    """
    if event is None:
        raise DbtCloudTriggerEventException("Trigger error: event is None")
    status = event.get("status") if isinstance(event, Mapping) else None
    if status not in TRIGGER_EVENT_STATUSES:
        raise DbtCloudTriggerEventException(f"Unexpected trigger event status {status!r}: {event!r}")
    return event


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait for a run ended.

    :param end: What ended it (see :data:`WaitEnd`).
    :param run_id: The run waited on (None only in events from elsewhere that lack it).
    :param status: The last status code seen, or None when no poll succeeded.
    :param detail: For ``gave_up`` and ``api_failed``: what failed, for the task log.
    """

    end: WaitEnd
    run_id: int | None
    status: int | None = None
    detail: str = ""

    @property
    def event_status(self) -> EventStatus:
        """The trigger event status this outcome is reported as (the official provider's names)."""
        if self.end == "reached":
            return "success"
        if self.end == "ended":
            return (
                "cancelled" if self.status is not None and classify(self.status) == "cancelled" else "error"
            )
        if self.end in ("timeout", "api_failed"):
            return "error"  # the official trigger reports its own deadline and any exception as errors
        if self.end == "execution_timeout":
            return "timeout"
        return "api_error"

    @property
    def message(self) -> str:
        """The sentence for the task log, worded as the official provider words it."""
        if self.end in ("gave_up", "api_failed"):
            return self.detail
        key = self.end if self.end in ("timeout", "execution_timeout") else self.event_status
        return _MESSAGES[key].format(run_id=self.run_id)

    def to_event(self) -> DbtCloudRunEvent:
        """Return the trigger event: exactly ``status``, ``message`` and ``run_id``.

        :return: A JSON-serializable dict.
        """
        return DbtCloudRunEvent(status=self.event_status, message=self.message, run_id=self.run_id)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WaitOutcome:
        """Read an event back (after :func:`validate_execute_complete_event`).

        The official trigger, and ours, report a failed run, the waiter's own deadline and an error in
        asking all as ``error``; the message tells them apart (the first two are fixed sentences).

        :param event: A validated event.
        :return: The outcome, without ``status`` (events do not carry it).
        """
        status, run_id = event["status"], event.get("run_id")
        message = str(event.get("message") or "")
        if status == "success":
            return cls("reached", run_id, DbtCloudJobRunStatus.SUCCESS.value)
        if status == "timeout":
            return cls("execution_timeout", run_id)
        if status == "api_error":
            return cls("gave_up", run_id, detail=message)
        if status == "cancelled":
            return cls("ended", run_id, DbtCloudJobRunStatus.CANCELLED.value)
        if message == _TIMEOUT_MESSAGE.format(run_id=run_id):
            return cls("timeout", run_id)
        if message == _MESSAGES["error"].format(run_id=run_id):
            return cls("ended", run_id, DbtCloudJobRunStatus.ERROR.value)
        return cls("api_failed", run_id, detail=message)


@dataclass(frozen=True)
class WaitStep:
    """What the waiter decided after one poll.

    :param outcome: How the wait ended, or None to keep waiting.
    :param pause: Seconds to sleep before the next poll (already cut to the nearest deadline).
    :param note: A progress line for the log at INFO, or None.
    :param warning: A line for the log at WARNING (a transient error being waited out), or None.
    """

    outcome: WaitOutcome | None = None
    pause: float = 0.0
    note: str | None = None
    warning: str | None = None


def transient_pause(poll_interval: float, errors_in_a_row: int, exc: BaseException) -> float:
    """How long to pause after the ``errors_in_a_row``-th transient error in a row, in seconds.

    The pause doubles from the poll interval (at least 1 s) up to :data:`MAX_BACKOFF_SECONDS`, and is
    never shorter than the ``Retry-After`` dbt Cloud sent.

    :param poll_interval: The normal pause between polls.
    :param errors_in_a_row: How many transient errors came in a row, this one included (from 1).
    :param exc: The error.
    """
    pause = min(max(poll_interval, 1.0) * 2.0 ** (errors_in_a_row - 1), MAX_BACKOFF_SECONDS)
    return float(max(pause, float(getattr(exc, "retry_after", None) or 0.0)))


def spread_pause(pause: float, draw: Callable[[], float] = random.random) -> float:
    """A pause between half and one and a half of the usual one, for the first pause of a trigger.

    Triggers that start together (a DAG fanning out, a triggerer picking up its triggers after a
    restart) would otherwise poll together, in bursts, for as long as they run. A run trigger still
    polls at once when it starts, as the official one does (users' tests count on it), and spreads the
    pause after that poll; a watcher spreads the pause before its first poll. The spread is centred
    on the usual pause, so a spread trigger makes as many requests over a run, on average, as one
    that is not spread.

    :param pause: The usual pause, in seconds.
    :param draw: A number in ``[0, 1)`` (``random.random``; a test's fixed draw).
    """
    return max(0.0, float(pause)) * (0.5 + draw())


def deadlines(timeout: float, execution_timeout: float | None, now: float) -> tuple[float, float | None]:
    """Turn a wait's relative limits into absolute deadlines.

    :param timeout: How long the waiter may wait, in seconds.
    :param execution_timeout: The task's ``execution_timeout`` in seconds, or None.
    :param now: The current time on the clock the deadlines are for.
    :return: ``(end_time, execution_deadline)``.
    """
    return now + timeout, (now + execution_timeout if execution_timeout is not None else None)


@dataclass
class Waiter:
    """The decisions of one wait for a run.

    Call :meth:`after_status` with each status read, or :meth:`after_error` with each failed read; act
    on the :class:`WaitStep` returned (stop with its outcome, or log and sleep ``pause``).

    :param run_id: The run waited on.
    :param poll_interval: The pause between polls, in seconds.
    :param end_time: When the waiter's own timeout passes, on ``clock``.
    :param execution_deadline: When the task's ``execution_timeout`` passes, on ``clock``, or None.
    :param expected: Statuses that end the wait as ``reached``; another terminal status ends it as
        ``ended``.
    :param error_budget: How many transient API errors in a row are waited out; the next one ends the
        wait as ``api_error``.
    :param clock: The clock the deadlines are on (``time.time`` for epoch deadlines).
    :param heartbeat: Seconds between progress lines while the status stays the same.
    :param expected_duration: Seconds the run is expected to take at most; the first poll after that
        warns, once.
    """

    run_id: int
    poll_interval: float
    end_time: float
    execution_deadline: float | None = None
    expected: Iterable[int] = (DbtCloudJobRunStatus.SUCCESS.value,)
    error_budget: int = DEFAULT_ERROR_BUDGET
    clock: Callable[[], float] = time.time
    heartbeat: float = HEARTBEAT_SECONDS
    expected_duration: float | None = None
    started: float = field(init=False)
    _warned_long: bool = field(default=False, init=False)
    last_status: int | None = field(default=None, init=False)
    errors_in_a_row: int = field(default=0, init=False)
    _last_note: float = field(init=False)

    def __post_init__(self) -> None:
        self.expected = frozenset(self.expected)
        self.started = self._last_note = self.clock()

    def elapsed(self) -> float:
        """Seconds since the wait started."""
        return self.clock() - self.started

    def after_status(self, status: int) -> WaitStep:
        """Decide what follows a successful poll.

        :param status: The run's status code.
        :return: The decision.
        :raises ValueError: When ``status`` is not a run status code.
        """
        outcome = classify(status)
        self.errors_in_a_row = 0
        changed, self.last_status = status != self.last_status, status
        if status in self.expected:
            return WaitStep(WaitOutcome("reached", self.run_id, status))
        if outcome != "pending":
            return WaitStep(WaitOutcome("ended", self.run_id, status))
        note = warning = None
        now = self.clock()
        if changed or now - self._last_note >= self.heartbeat:
            self._last_note = now
            note = f"Job run {self.run_id} is {status_name(status)} after {self.elapsed():.0f}s."
        if (
            self.expected_duration is not None
            and not self._warned_long
            and self.elapsed() > self.expected_duration
        ):
            self._warned_long = True
            warning = (
                f"Job run {self.run_id} has taken {self.elapsed():.0f}s, longer than the expected "
                f"{self.expected_duration:.0f}s; still waiting."
            )
        return self._keep_waiting(self.poll_interval, note=note, warning=warning)

    def after_error(self, exc: BaseException) -> WaitStep:
        """Decide what follows a failed poll.

        Transient errors (connection trouble, timeouts, 429, 5xx) are waited out, backing off, until
        ``error_budget`` of them came in a row (then the wait ends as ``gave_up``); any other error ends
        it at once as ``api_failed``, with the error's text as the message, as the official trigger does.

        :param exc: Why the poll failed.
        :return: The decision.
        """
        self.errors_in_a_row += 1
        why = f"{type(exc).__name__}: {exc}"
        if not is_transient_error(exc):
            return WaitStep(WaitOutcome("api_failed", self.run_id, self.last_status, str(exc) or why))
        if self.errors_in_a_row > self.error_budget:
            detail = (
                f"Gave up on job run {self.run_id} after {self.errors_in_a_row} transient API errors in a "
                f"row; the last was {why}"
            )
            return WaitStep(WaitOutcome("gave_up", self.run_id, self.last_status, detail))
        pause = transient_pause(self.poll_interval, self.errors_in_a_row, exc)
        return self._keep_waiting(
            pause,
            warning=(
                f"Transient error polling job run {self.run_id} "
                f"({self.errors_in_a_row}/{self.error_budget}), next poll in {pause:.0f}s: {why}"
            ),
        )

    def _keep_waiting(self, pause: float, note: str | None = None, warning: str | None = None) -> WaitStep:
        now = self.clock()
        if self.execution_deadline is not None and now >= self.execution_deadline:
            return WaitStep(WaitOutcome("execution_timeout", self.run_id, self.last_status))
        if now >= self.end_time:
            return WaitStep(WaitOutcome("timeout", self.run_id, self.last_status))
        nearest = min(d for d in (self.end_time, self.execution_deadline) if d is not None)
        return WaitStep(pause=max(0.0, min(pause, nearest - now)), note=note, warning=warning)
