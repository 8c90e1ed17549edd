"""The trigger that waits for a dbt Cloud run in the triggerer, surviving a flaky API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_dbtcloud.api.waiting import DEFAULT_ERROR_BUDGET, Waiter, WaitOutcome, deadlines
from airflow_dbtcloud.hooks.dbt import DbtCloudError, DbtCloudHook, DbtCloudJobRunStatus

__all__ = ["DbtCloudRunJobTrigger", "wait_arguments"]

_CLASSPATH = "airflow_dbtcloud.triggers.dbt.DbtCloudRunJobTrigger"


def wait_arguments(
    *,
    conn_id: str,
    run_id: int,
    account_id: int | None,
    poll_interval: float,
    timeout: float,
    execution_timeout: float | None,
    hook_params: dict[str, Any],
    error_budget: int = DEFAULT_ERROR_BUDGET,
) -> dict[str, Any]:
    """Return the keyword arguments of a :class:`DbtCloudRunJobTrigger` for a task about to defer.

    The deadlines are made absolute now, so time spent before the trigger starts counts.

    :param conn_id: The dbt Cloud connection id.
    :param run_id: The run to wait for.
    :param account_id: The account; None uses the connection's.
    :param poll_interval: The pause between polls, in seconds.
    :param timeout: How long to wait, in seconds.
    :param execution_timeout: The task's ``execution_timeout`` in seconds, or None.
    :param hook_params: Extra arguments for the hook.
    :param error_budget: How many transient API errors in a row the wait survives; passed on only when it
        is not the default, so the arguments stay those of the official trigger.
    """
    end_time, execution_deadline = deadlines(timeout, execution_timeout, time.time())
    arguments: dict[str, Any] = {
        "conn_id": conn_id,
        "run_id": run_id,
        "end_time": end_time,
        "execution_deadline": execution_deadline,
        "account_id": account_id,
        "poll_interval": poll_interval,
        "hook_params": hook_params,
    }
    if error_budget != DEFAULT_ERROR_BUDGET:
        arguments["error_budget"] = error_budget
    return arguments


class DbtCloudRunJobTrigger(BaseTrigger):
    """Poll a dbt Cloud run until it ends, a deadline passes, or the API stays unreachable.

    Transient API errors (timeouts, 429, 5xx, dropped connections) do not end the wait: the trigger logs
    them, backs off and keeps polling until ``error_budget`` errors in a row have happened. One hook, and
    so one HTTP session, serves the trigger's whole life. Decisions come from
    :class:`~airflow_dbtcloud.api.waiting.Waiter`, the policy every waiter of this provider shares.

    The single event has the official shape ``{"status", "message", "run_id"}``: ``success``, ``error``
    or ``cancelled`` when the run ended; ``timeout`` when the task's ``execution_timeout`` passed;
    ``error`` with "has not reached a terminal status within the configured timeout" when ``end_time``
    passed; ``error`` with the error's text when asking failed in a way waiting cannot fix; and
    ``api_error`` (not in the official trigger) when transient errors outlasted ``error_budget``.

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
        *,
        error_budget: int = DEFAULT_ERROR_BUDGET,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.run_id = run_id
        self.account_id = account_id
        self.conn_id = conn_id
        self.end_time = end_time
        self.execution_deadline = execution_deadline
        self.poll_interval = poll_interval
        self.error_budget = int(error_budget)
        # The trigger's arguments are stored as JSON; a tenacity object in retry_args would fail the
        # deferral after the run has already started.
        self.hook_params: dict[str, Any] = {}
        for name, value in (hook_params or {}).items():
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                self.log.warning(
                    "The trigger drops hook_params[%r]: it cannot be stored as JSON, so the hook in the "
                    "triggerer uses its default for this argument.",
                    name,
                )
            else:
                self.hook_params[name] = value
        # The deadlines are epoch seconds, so the clock is the wall clock; tests replace both.
        self._clock: Callable[[], float] = time.time
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the keyword arguments that rebuild this trigger.

        :return: ``(classpath, kwargs)``; the kwargs hold the connection id, never its secrets, and
            ``error_budget`` only when it is not the default.
        """
        kwargs: dict[str, Any] = {
            "run_id": self.run_id,
            "account_id": self.account_id,
            "conn_id": self.conn_id,
            "end_time": self.end_time,
            "execution_deadline": self.execution_deadline,
            "poll_interval": self.poll_interval,
            "hook_params": self.hook_params,
        }
        if self.error_budget != DEFAULT_ERROR_BUDGET:
            kwargs["error_budget"] = self.error_budget
        return _CLASSPATH, kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the run and yield exactly one event.

        :return: An async iterator with one :class:`~airflow.triggers.base.TriggerEvent`.
        """
        try:
            async with DbtCloudHook(self.conn_id, **self.hook_params) as hook:
                outcome = await self._wait(hook)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Outermost guard: whatever escaped the wait still ends it with a reason the task can show.
            self.log.exception("Waiting for dbt Cloud run %s failed.", self.run_id)
            outcome = WaitOutcome("api_failed", self.run_id, detail=str(exc) or type(exc).__name__)
        yield TriggerEvent(dict(outcome.to_event()))  # type: ignore[no-untyped-call]

    async def _wait(self, hook: DbtCloudHook) -> WaitOutcome:
        waiter = Waiter(
            self.run_id,
            self.poll_interval,
            self.end_time,
            self.execution_deadline,
            error_budget=self.error_budget,
            clock=self._clock,
        )
        while True:
            try:
                step = waiter.after_status(await hook.get_job_status(self.run_id, self.account_id))
            except DbtCloudError as exc:
                step = waiter.after_error(exc)
            if step.outcome is not None:
                if step.outcome.end in ("gave_up", "api_failed"):
                    self.log.error("Stopped following job run %s: %s", self.run_id, step.outcome.detail)
                return step.outcome
            if step.note:
                self.log.info("%s", step.note)
            if step.warning:
                self.log.warning("%s", step.warning)
            await self._sleep(step.pause)

    async def is_still_running(self, hook: DbtCloudHook) -> bool:
        """Tell whether the run has not reached a terminal status yet.

        :param hook: The hook to ask.
        :return: ``True`` while the run is queued, starting or running.
        """
        status = await hook.get_job_status(self.run_id, self.account_id)
        return not DbtCloudJobRunStatus.is_terminal(status)
