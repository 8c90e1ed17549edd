"""The trigger that waits for a dbt Cloud run in the triggerer, surviving a flaky API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_dbtcloud._transport.errors import DbtCloudError, DbtCloudPayloadError
from airflow_dbtcloud.api.ids import optional_id, require_id
from airflow_dbtcloud.api.progress import RunProgress
from airflow_dbtcloud.api.run_state import RunState, parse_time
from airflow_dbtcloud.api.run_watch import (
    DEFAULT_WINDOW,
    JobMark,
    PollErrors,
    RunFilter,
    WatchState,
    run_event,
    snapshot_payload,
)
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus
from airflow_dbtcloud.api.waiting import (
    DEFAULT_ERROR_BUDGET,
    Waiter,
    WaitOutcome,
    deadlines,
    spread_pause,
)
from airflow_dbtcloud.hooks.lazy import DEFAULT_CONN_NAME, hook_class, hook_names

if TYPE_CHECKING:
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

__all__ = ["DbtCloudJobRunEventTrigger", "DbtCloudRunJobTrigger", "storable_hook_params", "wait_arguments"]

# Imported on first use: the operators import this module, and a DAG file never needs the hook.
__getattr__ = hook_names(__name__, "DbtCloudHook")

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
    expected_duration: float | None = None,
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
    :param expected_duration: Seconds the run is expected to take at most; passed on only when set.
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
    if expected_duration is not None:
        arguments["expected_duration"] = expected_duration
    return arguments


def storable_hook_params(hook_params: dict[str, Any] | None, log: Any) -> dict[str, Any]:
    """Keep the hook arguments a trigger can store: its arguments are saved as JSON in the database.

    A tenacity object in ``retry_args``, say, would otherwise fail the deferral after the run started.

    :param hook_params: The hook arguments as given.
    :param log: Where to warn about each argument dropped.
    :return: The arguments that survive JSON.
    """
    kept: dict[str, Any] = {}
    for name, value in (hook_params or {}).items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            log.warning(
                "The trigger drops hook_params[%r]: it cannot be stored as JSON, so the hook in the "
                "triggerer uses its default for this argument.",
                name,
            )
        else:
            kept[name] = value
    return kept


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
    :param expected_duration: Seconds the run is expected to take at most; a warning is logged once
        when the wait lasts longer (not in the official trigger; serialized only when set).
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
        expected_duration: float | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.run_id = run_id
        self.expected_duration = expected_duration
        self.account_id = account_id
        self.conn_id = conn_id
        self.end_time = end_time
        self.execution_deadline = execution_deadline
        self.poll_interval = poll_interval
        self.error_budget = int(error_budget)
        self.hook_params = storable_hook_params(hook_params, self.log)
        # The deadlines are epoch seconds, so the clock is the wall clock; tests replace both.
        self._clock: Callable[[], float] = time.time
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._spread: Callable[[float], float] = spread_pause

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
        if self.expected_duration is not None:
            kwargs["expected_duration"] = self.expected_duration
        return _CLASSPATH, kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the run and yield exactly one event.

        :return: An async iterator with one :class:`~airflow.triggers.base.TriggerEvent`.
        """
        try:
            async with hook_class(__name__)(self.conn_id, **self.hook_params) as hook:
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
            expected_duration=self.expected_duration,
        )
        progress = hook.live_progress(self.run_id, self.account_id, asynchronous=True)
        if not isinstance(progress, RunProgress):
            progress = None  # a test double standing in for the whole hook
        first = True
        while True:
            try:
                if progress is None:  # the official poll (and what a test double controls)
                    status = await hook.get_job_status(self.run_id, self.account_id)
                else:
                    status, progress = await hook.apoll_run_status(self.run_id, self.account_id, progress)
                step = waiter.after_status(status)
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
            # Triggers that started together poll together only once.
            await self._sleep(self._spread(step.pause) if first else step.pause)
            first = False

    async def is_still_running(self, hook: DbtCloudHook) -> bool:
        """Tell whether the run has not reached a terminal status yet.

        :param hook: The hook to ask.
        :return: ``True`` while the run is queued, starting or running.
        """
        status = await hook.get_job_status(self.run_id, self.account_id)
        return not DbtCloudJobRunStatus.is_terminal(status)


_EVENT_CLASSPATH = "airflow_dbtcloud.triggers.dbt.DbtCloudJobRunEventTrigger"
#: How often the watched jobs themselves are checked (that they still exist), in seconds.
_JOB_CHECK_SECONDS = 600.0
#: A job definition's ``state`` once it was deleted (1 is active).
_DELETED_JOB_STATE = 2


class DbtCloudJobRunEventTrigger(BaseEventTrigger):
    """Fire once for each new finished run of one or more dbt Cloud jobs, whoever started it.

    Use it in an ``AssetWatcher`` so that a DAG runs after dbt Cloud's scheduler, CI or a person ran a
    job::

        Asset(
            "dbt_cloud_job_300",
            watchers=[AssetWatcher(name="job_300", trigger=DbtCloudJobRunEventTrigger(job_id=300))],
        )

    Each poll is one list request per job (the newest ``window`` runs), shared by every watcher of the
    same jobs with the same connection, account, interval and window. Each watcher remembers how far
    it got (:class:`~airflow_dbtcloud.api.run_watch.WatchState`) in Airflow's asset state store, so a
    run fires once: not again on the next poll, nor after a triggerer restart. A new watcher starts
    from now: runs that already ended do not fire, runs still going do when they end, unless
    ``start_after_run_id`` asks for a replay. Transient API errors are waited out like a run wait's
    (``error_budget``), and beyond the budget polled through every 5 minutes; a rejected token or a
    missing or deleted job stops the polls with an error in the triggerer's log, and one poll every
    30 minutes checks whether it was fixed. The trigger does not end on an error: Airflow would start it
    again at once.

    The event's payload (the asset event's ``extra["payload"]``) has the run and job ids, the status,
    ``finished_at``, the run's ``url``, its ``cause`` without this provider's marker, who started it,
    and whether artifacts and docs were saved: see
    :func:`~airflow_dbtcloud.api.run_watch.run_event`.

    :param job_id: The job to watch, or a list of jobs.
    :param conn_id: The dbt Cloud connection id; only the id is stored, never the token.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param statuses: The end statuses that fire (10 success, 20 error, 30 cancelled).
    :param environment_id: Only runs in this environment fire.
    :param cause_contains: Only runs whose cause contains this text fire (case-insensitive).
    :param exclude_airflow_runs: Runs that this provider's operator started do not fire.
    :param started_after: Only runs created at or after this moment (ISO 8601) fire.
    :param poll_interval: Seconds between polls.
    :param start_after_run_id: For a new watcher: fire for every finished run above this id (a replay,
        within the ``window`` newest runs; 0 for all of them) instead of starting from now.
    :param window: How many of a job's newest runs each poll reads (at most 100): more runs than this
        between two polls, or while the triggerer is down, and the oldest go unseen.
    :param error_budget: How many transient API errors in a row the watcher survives.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param marks: Where to start when there is no asset state (a deferred sensor passes its own);
        the JSON of a :class:`~airflow_dbtcloud.api.run_watch.WatchState`.
    :param fire_once: Stop after the first event (for a deferred task, which resumes on one event).
    """

    def __init__(
        self,
        job_id: int | Sequence[int],
        conn_id: str = DEFAULT_CONN_NAME,
        account_id: int | None = None,
        statuses: Sequence[int] = (DbtCloudJobRunStatus.SUCCESS.value,),
        environment_id: int | None = None,
        cause_contains: str | None = None,
        exclude_airflow_runs: bool = False,
        started_after: str | None = None,
        poll_interval: float = 60.0,
        start_after_run_id: int | None = None,
        window: int = DEFAULT_WINDOW,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        hook_params: dict[str, Any] | None = None,
        marks: dict[str, Any] | None = None,
        fire_once: bool = False,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        jobs = [job_id] if isinstance(job_id, int | str) else list(job_id)
        if not jobs:
            raise ValueError("job_id must name at least one dbt Cloud job")
        self.job_ids = sorted({require_id("job_id", job) for job in jobs})
        self.conn_id = conn_id
        self.account_id = optional_id("account_id", account_id)
        self.filter = RunFilter(
            statuses=frozenset(statuses),
            environment_id=optional_id("environment_id", environment_id),
            cause_contains=cause_contains or None,
            exclude_airflow_runs=bool(exclude_airflow_runs),
            started_after=parse_time(started_after),
        )
        if not float(poll_interval) > 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        if not 1 <= int(window) <= DEFAULT_WINDOW:
            raise ValueError(f"window must be between 1 and {DEFAULT_WINDOW}, got {window!r}")
        self.poll_interval = float(poll_interval)
        # 0 replays every run the window holds.
        self.start_after_run_id = (
            0
            if str(start_after_run_id).strip() == "0"
            else optional_id("start_after_run_id", start_after_run_id)
        )
        self.window = int(window)
        self.error_budget = int(error_budget)
        self.hook_params = storable_hook_params(hook_params, self.log)
        self.marks = dict(marks) if marks else None
        self.fire_once = bool(fire_once)
        self._stores: list[Any] = []  # the asset state accessors, found when the watch starts

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the keyword arguments that rebuild this trigger (no secrets).

        :return: ``(classpath, kwargs)``.
        """
        kwargs: dict[str, Any] = {
            "job_id": self.job_ids[0] if len(self.job_ids) == 1 else list(self.job_ids),
            "conn_id": self.conn_id,
            "account_id": self.account_id,
            "statuses": sorted(self.filter.statuses),
            "environment_id": self.filter.environment_id,
            "cause_contains": self.filter.cause_contains,
            "exclude_airflow_runs": self.filter.exclude_airflow_runs,
            "started_after": self.filter.started_after.isoformat() if self.filter.started_after else None,
            "poll_interval": self.poll_interval,
            "start_after_run_id": self.start_after_run_id,
            "window": self.window,
            "error_budget": self.error_budget,
            "hook_params": self.hook_params,
            "marks": self.marks,
            "fire_once": self.fire_once,
        }
        return _EVENT_CLASSPATH, kwargs

    def shared_stream_key(self) -> Hashable:
        """Watchers of the same jobs through the same connection and account share one poll.

        :return: A key made of what the poll depends on.
        """
        return (
            _EVENT_CLASSPATH,
            self.conn_id,
            self.account_id,
            tuple(self.job_ids),
            self.poll_interval,
            self.window,
            self.error_budget,
            json.dumps(self.hook_params, sort_keys=True),
            # A deferred sensor's stream fails on errors that a watcher's stream outlasts.
            self.fire_once,
        )

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """Poll the jobs' newest runs forever, one list request per job, and yield each snapshot.

        :param kwargs: The serialized arguments of one of the watchers sharing the poll.
        :return: Snapshots ``{"jobs": {"<job id>": [<run>, ...]}, "ui_base_url": "https://<tenant>"}``;
            the tenant's address lets each watcher accept a run's ``href`` only on that host.
        :raises DbtCloudError: For ``fire_once`` (a deferred sensor) only, when polling cannot go on (a
            rejected token, a missing job, or transient errors beyond the budget); a watcher logs the
            error and pauses instead (:meth:`PollErrors.pause_for_watcher`).
        """
        watcher = cls(**kwargs)
        errors = PollErrors(watcher.poll_interval, watcher.error_budget)
        await asyncio.sleep(spread_pause(watcher.poll_interval))
        while True:
            jobs_checked = -_JOB_CHECK_SECONDS
            # A hook per stretch of polls: after a stop, the next hook reads the connection again.
            async with hook_class(__name__)(watcher.conn_id, **watcher.hook_params) as hook:
                while True:
                    try:
                        if time.monotonic() - jobs_checked >= _JOB_CHECK_SECONDS:
                            await watcher._check_jobs(hook)
                            jobs_checked = time.monotonic()
                        snapshot = {
                            str(job): await watcher._newest_runs(hook, job) for job in watcher.job_ids
                        }
                    except DbtCloudError as exc:
                        pause, stopped = watcher._pause_after(errors, exc)
                        if stopped:
                            break
                        await asyncio.sleep(pause)
                        continue
                    errors.succeeded()
                    yield {"jobs": snapshot, "ui_base_url": (await hook.aclient_config()).base_url}
                    await asyncio.sleep(watcher.poll_interval)
            await asyncio.sleep(pause)

    def _pause_after(self, errors: PollErrors, exc: DbtCloudError) -> tuple[float, bool]:
        """Log a failed poll; return the pause before the next and whether polling stopped.

        Raise instead when a deferred sensor's task must fail.
        """
        jobs = ", ".join(map(str, self.job_ids))
        if self.fire_once:
            # A deferred sensor: raising fails its task, which reports the error where people look.
            pause, stopped = errors.pause_after(exc), False
            if pause is None:
                self.log.error("Stopped waiting for a run of dbt Cloud job(s) %s: %s", jobs, exc)
                raise exc
        else:
            pause, stopped = errors.pause_for_watcher(exc)
        if stopped:
            self.log.error(
                "Stopped watching dbt Cloud job(s) %s: %s. No more polls for %.0f minutes; then one poll "
                "checks whether the connection or the job was fixed (restarting the triggerer checks at "
                "once).",
                jobs,
                exc,
                pause / 60,
            )
        else:
            self.log.warning(
                "Transient error polling the runs of dbt Cloud job(s) %s (%s in a row%s), next poll in "
                "%.0fs: %s",
                jobs,
                errors.in_a_row,
                f" of {errors.budget}" if errors.in_a_row <= errors.budget else ", budget spent",
                pause,
                exc,
            )
        return pause, stopped

    async def _newest_runs(self, hook: DbtCloudHook, job: int) -> list[Any]:
        """One poll of one job: its newest runs, through the hook's ``aget_job_runs``."""
        body = await hook.aget_job_runs(self.account_id, snapshot_payload(job, self.window))
        return list(body["data"])

    async def _check_jobs(self, hook: DbtCloudHook) -> None:
        """Fail when a watched job was deleted (a missing one fails in the request itself)."""
        for job in self.job_ids:
            data = (await hook.aget_job(job, self.account_id))["data"]
            if isinstance(data, dict) and data.get("state") == _DELETED_JOB_STATE:
                raise DbtCloudError(f"dbt Cloud job {job} was deleted; there is nothing more to watch.")

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """Turn the shared snapshots into this watcher's events: one per new finished run it wants.

        :param shared_stream: The snapshots of :meth:`open_shared_stream`.
        :return: The events.
        """
        state = await self._load_state()
        stored = state
        unsaved: WatchState | None = None
        async for raw in shared_stream:
            if unsaved is not None:
                # The events of the previous snapshot have had a poll interval to reach the database.
                await self._save_state(unsaved)
                stored, unsaved = unsaved, None
            fired = False
            for job in self.job_ids:
                runs = self._read_snapshot(raw, job)
                mark = state.marks.get(job) or JobMark.start(runs, self.start_after_run_id)
                mark, ended = mark.advance(runs)
                state = state.with_mark(job, mark)
                for run in ended:
                    if not self.filter.wants(run):
                        continue
                    event = run_event(run, raw.get("ui_base_url") if isinstance(raw, dict) else None)
                    self.log.info(
                        "dbt Cloud run %s of job %s ended %s: firing (%s).",
                        run.id,
                        job,
                        run.label,
                        event["url"] or "no URL",
                    )
                    fired = True
                    yield TriggerEvent(event)  # type: ignore[no-untyped-call]
                    if self.fire_once:
                        return
            if state != stored:
                if fired:
                    unsaved = state
                else:
                    await self._save_state(state)
                    stored = state

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll on this trigger's own, when it is not sharing a stream.

        :return: The events.
        """
        async for event in self.filter_shared_stream(self.open_shared_stream(self.serialize()[1])):
            yield event

    def _read_snapshot(self, raw: Any, job: int) -> list[RunState]:
        """The runs of one job in a snapshot, typed; a run that cannot be read is logged and skipped."""
        runs = []
        for payload in raw["jobs"].get(str(job)) or []:
            try:
                runs.append(RunState.from_payload(payload))
            except DbtCloudPayloadError as exc:
                self.log.warning("Skipping a run of dbt Cloud job %s that cannot be read: %s", job, exc)
        return runs

    def _accessors(self) -> list[Any]:
        """One state accessor per watched asset (identical watchers share one trigger)."""
        store = self.asset_state_store
        if store is None:
            return []
        # AssetStateStoreAccessors has no public way to list its assets in Airflow 3.3.
        by_name, by_uri = getattr(store, "_by_name", None), getattr(store, "_by_uri", None)
        if not isinstance(by_name, dict) or not isinstance(by_uri, dict):
            self.log.warning(
                "This Airflow's asset state store cannot be read by the dbt Cloud watcher; its mark is kept "
                "in memory only, so a triggerer restart starts it from now."
            )
            return []
        return [*by_name.values(), *by_uri.values()]

    async def _load_state(self) -> WatchState:
        self._stores = self._accessors()
        if not self._stores:
            return WatchState.from_json(self.marks)
        stored = [WatchState.from_json(await accessor.aget(WatchState.KEY)) for accessor in self._stores]
        return WatchState.merge(stored)

    async def _save_state(self, state: WatchState) -> None:
        for accessor in self._stores:
            await accessor.aset(WatchState.KEY, state.to_json())
