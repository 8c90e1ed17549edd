"""The trigger that waits for a dbt Cloud run in the triggerer, surviving a flaky API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_dbtcloud.api.status import classify, status_name
from airflow_dbtcloud.hooks.dbt import DbtCloudError, DbtCloudHook, DbtCloudJobRunStatus, is_transient_error
from airflow_dbtcloud.utils.events import DbtCloudRunEvent, EventStatus, make_event
from airflow_dbtcloud.utils.polling import DEFAULT_ERROR_BUDGET, Deadlines, ErrorBudget

__all__ = ["DbtCloudRunJobTrigger"]

_CLASSPATH = "airflow_dbtcloud.triggers.dbt.DbtCloudRunJobTrigger"
_TRANSIENT_CANDIDATES = (DbtCloudError, aiohttp.ClientError, OSError, TimeoutError)


def _is_transient(exc: BaseException) -> bool:
    # The hook maps library errors to ours; a raw connection error or timeout that slips through is
    # still the kind of trouble that waiting fixes.
    return is_transient_error(exc) or isinstance(exc, aiohttp.ClientConnectionError | TimeoutError)


_MESSAGES: dict[str, str] = {
    "success": "Job run {run_id} has completed successfully.",
    "error": "Job run {run_id} has failed.",
    "cancelled": "Job run {run_id} has been cancelled.",
}


class DbtCloudRunJobTrigger(BaseTrigger):
    """Poll a dbt Cloud run until it ends, a deadline passes, or the API stays unreachable.

    Transient API errors (timeouts, 429, 5xx, dropped connections) do not end the wait: the trigger logs
    them, backs off and keeps polling until ``error_budget`` errors in a row have happened. One hook, and
    so one HTTP session, serves the trigger's whole life.

    The single event is a :class:`~airflow_dbtcloud.utils.events.DbtCloudRunEvent` whose ``status`` is
    ``success``, ``error`` or ``cancelled`` (the run's end), ``timeout`` (a deadline passed; ``reason``
    says which), or ``api_error`` (the budget ran out, or dbt Cloud refused the request).

    :param conn_id: The dbt Cloud connection id. Only the id is serialized, never the token.
    :param run_id: The dbt Cloud run id.
    :param end_time: When to stop waiting, in seconds since the epoch.
    :param poll_interval: The pause between polls, in seconds.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`; values that
        cannot be stored as JSON are dropped with a warning.
    :param execution_deadline: When the task's ``execution_timeout`` runs out, in seconds since the epoch.
    :param error_budget: How many transient API errors in a row the wait survives.
    """

    def __init__(
        self,
        conn_id: str,
        run_id: int,
        end_time: float,
        poll_interval: float,
        account_id: int | None,
        hook_params: dict[str, Any] | None = None,
        execution_deadline: float | None = None,
        error_budget: int = DEFAULT_ERROR_BUDGET,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.conn_id = conn_id
        self.run_id = int(run_id)
        self.end_time = float(end_time)
        self.poll_interval = float(poll_interval)
        self.account_id = account_id
        self.execution_deadline = execution_deadline
        self.error_budget = int(error_budget)
        self.hook_params: dict[str, Any] = {}
        for name, value in (hook_params or {}).items():
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                self.log.warning("Dropping hook_params[%r]: it cannot be stored as JSON.", name)
            else:
                self.hook_params[name] = value
        self._clock: Callable[[], float] = time.time
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the keyword arguments that rebuild this trigger.

        :return: ``(classpath, kwargs)``; the kwargs hold the connection id, never its secrets.
        """
        return (
            _CLASSPATH,
            {
                "conn_id": self.conn_id,
                "run_id": self.run_id,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "account_id": self.account_id,
                "hook_params": self.hook_params,
                "execution_deadline": self.execution_deadline,
                "error_budget": self.error_budget,
            },
        )

    def _hook(self) -> DbtCloudHook:
        return DbtCloudHook(self.conn_id, **self.hook_params)

    def _event(self, status: EventStatus, message: str, started: float, **extra: Any) -> TriggerEvent:
        payload: DbtCloudRunEvent = make_event(
            status, self.run_id, message, elapsed_seconds=self._clock() - started, **extra
        )
        return TriggerEvent(dict(payload))  # type: ignore[no-untyped-call]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the run and yield exactly one event.

        :return: An async iterator with one :class:`~airflow.triggers.base.TriggerEvent`.
        """
        started = self._clock()
        hook = self._hook()
        try:
            async with hook:
                event = await self._wait(hook, started)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Outermost guard: whatever escaped the wait is classified once, so the task can say why.
            kind = "transient" if _is_transient(exc) else "non-transient"
            self.log.error("Waiting for dbt Cloud run %s failed (%s): %s", self.run_id, kind, exc)
            event = self._event(
                "api_error",
                f"Could not get the status of job run {self.run_id} ({kind} error): "
                f"{type(exc).__name__}: {exc}",
                started,
            )
        yield event

    async def _wait(self, hook: DbtCloudHook, started: float) -> TriggerEvent:
        deadlines = Deadlines(self.end_time, self.execution_deadline)
        budget = ErrorBudget(limit=self.error_budget, poll_interval=self.poll_interval)
        last: int | None = None
        while True:
            pause = self.poll_interval
            try:
                status = await hook.get_job_status(self.run_id, self.account_id)
            except _TRANSIENT_CANDIDATES as exc:
                if not _is_transient(exc):
                    raise
                if not budget.record_error():
                    return self._event(
                        "api_error",
                        f"Gave up on job run {self.run_id} after {budget.consecutive} transient API errors "
                        f"in a row; the last was {type(exc).__name__}: {exc}",
                        started,
                        run_status=last,
                    )
                pause = budget.backoff(getattr(exc, "retry_after", None))
                self.log.warning(
                    "Transient error polling job run %s (%s/%s), next poll in %.0fs: %s",
                    self.run_id,
                    budget.consecutive,
                    budget.limit,
                    pause,
                    exc,
                )
            else:
                budget.record_success()
                if status != last:
                    self.log.info(
                        "Job run %s is %s after %.0fs.",
                        self.run_id,
                        status_name(status).lower(),
                        self._clock() - started,
                    )
                    last = status
                outcome = classify(status)
                if outcome != "pending":
                    return self._event(
                        outcome, _MESSAGES[outcome].format(run_id=self.run_id), started, run_status=status
                    )
            now = self._clock()
            passed = deadlines.passed(now)
            if passed is not None:
                return self._event(
                    "timeout",
                    f"Job run {self.run_id} did not finish before the {passed} ({now - started:.0f}s).",
                    started,
                    run_status=last,
                    reason=passed,
                )
            await self._sleep(min(pause, max(deadlines.remaining(now), 0.0)))

    async def is_still_running(self, hook: DbtCloudHook) -> bool:
        """Tell whether the run has not reached a terminal status yet.

        :param hook: The hook to ask.
        :return: ``True`` while the run is queued, starting or running.
        """
        status = await hook.get_job_status(self.run_id, self.account_id)
        return not DbtCloudJobRunStatus.is_terminal(status)
