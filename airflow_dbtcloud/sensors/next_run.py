"""What a sensor waiting for a job's next run keeps between pokes, and how one poke looks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_dbtcloud.api.calls import list_runs, make_call
from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.run_watch import DEFAULT_WINDOW, JobMark, RunFilter, WatchState, snapshot_payload

__all__ = ["NextRun"]


@dataclass
class NextRun:
    """Where a next-run wait got to in one job's runs.

    The first poll marks "now" (runs that already ended do not count, unless ``run_filter`` has
    ``started_after``, which makes every run the window holds a candidate); later polls report the
    first run that ended since and passes the filter. The same mark goes to the trigger when the
    sensor defers, so poking and deferring agree.

    :param job_id: The job.
    :param account_id: The account; None uses the connection's.
    :param run_filter: Which finished runs count.
    :param window: How many of the job's newest runs a poll reads.
    """

    job_id: int
    account_id: int | None
    run_filter: RunFilter
    window: int = DEFAULT_WINDOW
    mark: JobMark | None = field(default=None, init=False)

    def poll(self, hook: Any) -> RunState | None:
        """Read the job's newest runs once (one ``get_job_runs`` call); return the run that counts, if any.

        :param hook: The sensor's hook.
        """
        runs = make_call(list_runs(self.account_id, snapshot_payload(self.job_id, self.window)), hook)
        if self.mark is None:
            replay = 0 if self.run_filter.started_after is not None else None
            self.mark = JobMark.start(runs, replay)
        self.mark, ended = self.mark.advance(runs)
        return next((run for run in ended if self.run_filter.wants(run)), None)

    def state(self) -> dict[str, Any] | None:
        """The mark as a trigger's ``marks`` argument (None before the first poll)."""
        return None if self.mark is None else WatchState({self.job_id: self.mark}).to_json()
