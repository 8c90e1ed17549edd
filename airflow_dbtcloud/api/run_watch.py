"""Watching a job's runs: which finished runs are new, which of them count, and where a watcher got to.

A watcher sees a job through snapshots: the newest runs of the job, one list request per poll (see
:func:`snapshot_payload`). :class:`JobMark` remembers what it has dealt with, so each finished run is
reported once however many snapshots show it, and survives a restart as JSON (:class:`WatchState`).
:class:`RunFilter` says which of the new finished runs count. Nothing here does I/O: the event trigger,
the next-run sensor and its trigger all use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_dbtcloud._transport.retry import is_transient_error
from airflow_dbtcloud.api.lifecycle import split_marker
from airflow_dbtcloud.api.run_state import RunState, parse_time
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus, status_name
from airflow_dbtcloud.api.urls import run_page, web_url
from airflow_dbtcloud.api.waiting import DEFAULT_ERROR_BUDGET, MAX_BACKOFF_SECONDS, transient_pause

__all__ = [
    "DEFAULT_WINDOW",
    "STOPPED_RECHECK_SECONDS",
    "JobMark",
    "PollErrors",
    "RunFilter",
    "WatchState",
    "run_event",
    "snapshot_payload",
]

#: How many of a job's newest runs one poll reads; a job must not start more than this many runs
#: between two polls (or while the watcher is down), or the oldest of them go unseen.
DEFAULT_WINDOW = 100
#: How long a watcher that cannot go on (a rejected token, a deleted job) waits before it checks again.
STOPPED_RECHECK_SECONDS = 1800.0


def snapshot_payload(job_id: int, window: int = DEFAULT_WINDOW) -> dict[str, Any]:
    """Return the query of one poll: the job's newest ``window`` runs, with their trigger (for the cause).

    :param job_id: The job.
    :param window: How many runs; dbt Cloud's page limit is 100.
    """
    return {
        "job_definition_id": job_id,
        "order_by": "-id",
        "limit": window,
        "include_related": json.dumps(["trigger"]),
    }


@dataclass(frozen=True)
class RunFilter:
    """Which finished runs a watcher reports.

    :param statuses: The end statuses that count (10 success, 20 error, 30 cancelled).
    :param environment_id: Only runs in this environment.
    :param cause_contains: Only runs whose cause contains this text (case-insensitive).
    :param exclude_airflow_runs: Leave out runs this provider started (their cause ends with a marker).
    :param started_after: Only runs created at or after this moment.
    """

    statuses: frozenset[int] = frozenset({DbtCloudJobRunStatus.SUCCESS.value})
    environment_id: int | None = None
    cause_contains: str | None = None
    exclude_airflow_runs: bool = False
    started_after: datetime | None = None

    def __post_init__(self) -> None:
        try:
            statuses = frozenset(int(status) for status in self.statuses)
        except (TypeError, ValueError):
            statuses = frozenset()  # refused below, with what was given
        if not statuses or not all(DbtCloudJobRunStatus.is_terminal(status) for status in statuses):
            raise ValueError(
                f"statuses must be end statuses of a run (10 success, 20 error, 30 cancelled), "
                f"got {list(self.statuses)!r}"
            )
        object.__setattr__(self, "statuses", statuses)

    def wants(self, run: RunState) -> bool:
        """Whether a finished run counts.

        :param run: The run, read from a snapshot (with its trigger).
        """
        if run.status not in self.statuses:
            return False
        if self.environment_id is not None and run.environment_id != self.environment_id:
            return False
        reason, marker = split_marker(run.cause)
        if self.exclude_airflow_runs and marker is not None:
            return False
        if self.cause_contains and self.cause_contains.lower() not in reason.lower():
            return False
        if self.started_after is not None:
            created = parse_time(run.created_at)
            if created is None or created < self.started_after:
                return False
        return True


@dataclass(frozen=True)
class JobMark:
    """How far a watcher got through one job's runs.

    :param after: Every run of the job with an id up to this one has been dealt with.
    :param seen: Finished runs above ``after`` already dealt with (a run still going holds ``after``
        below it, while newer runs may finish first).
    """

    after: int
    seen: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def start(cls, snapshot: Iterable[RunState], start_after_run_id: int | None = None) -> JobMark:
        """Where a new watcher begins.

        By default, from now: runs that already ended are not reported, runs still going are, when
        they end. With ``start_after_run_id``, every run above that id is reported when it has ended
        (a replay; limited to the runs the snapshot holds).

        :param snapshot: The job's newest runs.
        :param start_after_run_id: Replay from just after this run id.
        """
        if start_after_run_id is not None:
            return cls(after=int(start_after_run_id))
        runs = list(snapshot)
        pending = [run.id for run in runs if not run.is_terminal]
        newest = max((run.id for run in runs), default=0)
        after = min(pending) - 1 if pending else newest
        return cls(after=after, seen=frozenset(run.id for run in runs if run.id > after and run.is_terminal))

    def advance(self, snapshot: Iterable[RunState]) -> tuple[JobMark, list[RunState]]:
        """Take in a snapshot: return the new mark and the runs that ended since, oldest first.

        :param snapshot: The job's newest runs, in any order.
        """
        newer = sorted((run for run in snapshot if run.id > self.after), key=lambda run: run.id)
        ended = [run for run in newer if run.is_terminal and run.id not in self.seen]
        pending = [run.id for run in newer if not run.is_terminal]
        after = min(pending) - 1 if pending else max((run.id for run in newer), default=self.after)
        after = max(after, self.after)
        seen = frozenset(run_id for run_id in self.seen | {run.id for run in ended} if run_id > after)
        return JobMark(after, seen), ended

    def to_json(self) -> dict[str, Any]:
        """Return the mark as JSON-ready data."""
        return {"after": self.after, "seen": sorted(self.seen)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobMark:
        """Read a mark written by :meth:`to_json`.

        :param data: The stored data.
        :raises ValueError: When it is not a mark.
        """
        try:
            return cls(int(data["after"]), frozenset(int(run_id) for run_id in data.get("seen") or ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a job mark: {data!r}") from exc


@dataclass(frozen=True)
class WatchState:
    """A watcher's marks, one per job, as stored between restarts.

    :param marks: The mark of each job by job id.
    """

    marks: Mapping[int, JobMark] = field(default_factory=dict)

    #: The key the state is stored under in Airflow's asset state store.
    KEY = "dbt_cloud_run_watermark"

    def to_json(self) -> dict[str, Any]:
        """Return the state as JSON-ready data (job ids become strings, as JSON keys must)."""
        return {"version": 1, "jobs": {str(job): mark.to_json() for job, mark in sorted(self.marks.items())}}

    @classmethod
    def from_json(cls, data: Any) -> WatchState:
        """Read a state written by :meth:`to_json`; anything else reads as no state.

        :param data: The stored data, or None.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("jobs"), Mapping):
            return cls()
        marks = {}
        for job, mark in data["jobs"].items():
            try:
                marks[int(job)] = JobMark.from_json(mark)
            except (TypeError, ValueError):
                continue
        return cls(marks)

    @classmethod
    def merge(cls, states: Sequence[WatchState]) -> WatchState:
        """Combine the states stored for several assets of one trigger: per job, the furthest mark.

        Assets watched through identical triggers share one trigger, which keeps one state for all
        of them; an asset added later has none yet and adopts the others'.

        :param states: The stored states.
        """
        marks: dict[int, JobMark] = {}
        for state in states:
            for job, mark in state.marks.items():
                if job not in marks or mark.after > marks[job].after:
                    marks[job] = mark
        return cls(marks)

    def with_mark(self, job_id: int, mark: JobMark) -> WatchState:
        """Return the state with one job's mark replaced.

        :param job_id: The job.
        :param mark: Its new mark.
        """
        return WatchState({**self.marks, job_id: mark})


def run_event(run: RunState, ui_base_url: str | None = None) -> dict[str, Any]:
    """Describe a finished run for a trigger event (and so for the asset event built from it).

    :param run: The run, read with its trigger.
    :param ui_base_url: ``scheme://host`` of the tenant. With it, the URL is dbt Cloud's ``href`` only
        when it is on that host, else built from the ids (:func:`~airflow_dbtcloud.api.urls.run_page`);
        without it, any ``href`` that is not a plain http(s) address is dropped.
    :return: Run and job ids, status, times, URL, the cause without this provider's marker, who
        started it, and whether its artifacts and docs can be fetched. Never a secret.
    """
    reason, marker = split_marker(run.cause)
    trigger = run.trigger
    return {
        "run_id": run.id,
        "job_id": run.job_id,
        "account_id": run.account_id,
        "project_id": run.project_id,
        "environment_id": run.environment_id,
        "status": run.status,
        "status_name": status_name(run.status),
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "url": run_page(run, ui_base_url) if ui_base_url is not None else web_url(run.href),
        "cause": reason.strip(),
        "cause_category": trigger.get("cause_category"),
        "started_by_airflow": marker is not None,
        "git_branch": run.git_branch,
        "git_sha": run.git_sha,
        "artifacts_saved": run.artifacts_saved,
        "has_docs_generated": run.has_docs_generated,
    }


@dataclass
class PollErrors:
    """The error budget of a watcher's polls, the same policy as a wait's.

    Transient errors (timeouts, 429, 5xx, dropped connections) are waited out with a growing pause until
    ``budget`` of them came in a row; any other error (a rejected token, a job that does not exist)
    stops the watch, since polling again soon cannot fix it. :meth:`pause_after` serves a wait that
    reports the error (a deferred sensor), :meth:`pause_for_watcher` an asset watcher, which has no one
    to report to but its log.

    :param poll_interval: The normal pause between polls, in seconds.
    :param budget: How many transient errors in a row are waited out.
    """

    poll_interval: float
    budget: int = DEFAULT_ERROR_BUDGET
    in_a_row: int = 0

    def succeeded(self) -> None:
        """Note a poll that worked: the count starts again."""
        self.in_a_row = 0

    def pause_after(self, exc: BaseException) -> float | None:
        """Return how long to pause before polling again, or None when the watch must stop.

        :param exc: Why the poll failed.
        """
        self.in_a_row += 1
        if not is_transient_error(exc) or self.in_a_row > self.budget:
            return None
        return transient_pause(self.poll_interval, self.in_a_row, exc)

    def pause_for_watcher(self, exc: BaseException) -> tuple[float, bool]:
        """Return how long a long-lived watcher pauses after a failed poll, and whether it stopped.

        A watcher never ends on an error: Airflow would start it again at once, and it would fail again
        at once, a request storm. Transient errors beyond the budget are polled through at the longest
        backoff (dbt Cloud may be down for an hour; the watcher must be there when it is back). Any
        other error stops the polls for :data:`STOPPED_RECHECK_SECONDS`, then one poll checks whether
        the connection or the job was fixed.

        :param exc: Why the poll failed.
        :return: ``(pause in seconds, stopped)``.
        """
        pause = self.pause_after(exc)
        if pause is not None:
            return pause, False
        if is_transient_error(exc):
            return transient_pause(MAX_BACKOFF_SECONDS, 1, exc), False
        return STOPPED_RECHECK_SECONDS, True
