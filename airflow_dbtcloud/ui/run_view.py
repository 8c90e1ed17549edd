"""What the dbt Cloud view shows about one run, fetched through the hook and kept for a short while.

A page view costs dbt Cloud at most two requests: the run (with its steps, job and trigger) and, once
the run has ended and saved artifacts, its ``run_results.json`` (streamed to a temporary file and read
node by node). An ended run never changes, so its view is kept for :data:`ENDED_TTL`; a run in
progress is kept for :data:`LIVE_TTL`, so the page's refreshes from several people cost one request
per run per interval. One hook per connection serves every view, so views share its connection pool
and rate budget.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow_dbtcloud._transport.errors import DbtCloudError, DbtCloudNotFoundError
from airflow_dbtcloud.api.lifecycle import split_marker
from airflow_dbtcloud.api.run_artifacts import node_rows
from airflow_dbtcloud.api.run_state import RunState, parse_time
from airflow_dbtcloud.api.status import status_name
from airflow_dbtcloud.hooks.dbt import DbtCloudHook
from airflow_dbtcloud.links.dbt import job_page_url, run_page_url
from airflow_dbtcloud.ui.task_runs import TaskRun

__all__ = ["ENDED_TTL", "LIVE_TTL", "RunViews"]

#: Seconds an ended run's view is kept.
ENDED_TTL = 600.0
#: Seconds a view of a run in progress is kept; also how often the page refreshes it.
LIVE_TTL = 5.0
#: Seconds a connection's hook is kept before the connection is read again (a rotated token is seen).
HOOK_TTL = 300.0
#: Views kept at most; the oldest goes first.
MAX_VIEWS = 256
#: Artifacts the view offers for download (through the API server, never from the browser to dbt Cloud).
ARTIFACTS = ("run_results.json", "manifest.json", "catalog.json", "sources.json")


def _seconds(start: str | None, end: str | None) -> float | None:
    began = parse_time(start)
    if began is None:
        return None
    ended = parse_time(end) or datetime.now(UTC)
    return max(0.0, (ended - began).total_seconds())


class RunViews:
    """Build and keep the views of dbt Cloud runs, one hook per connection.

    :param hook_factory: Makes the hook for a connection id (``DbtCloudHook`` by default).
    :param clock: Monotonic seconds, for the cache.
    """

    def __init__(
        self,
        hook_factory: Callable[[str], DbtCloudHook] = DbtCloudHook,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hook_factory = hook_factory
        self._clock = clock
        self._lock = threading.Lock()
        self._views: OrderedDict[tuple[str, int | None, int], tuple[float, dict[str, Any]]] = OrderedDict()
        self._hooks: dict[str, tuple[float, DbtCloudHook]] = {}

    def hook(self, conn_id: str) -> DbtCloudHook:
        """Return the shared hook of a connection, made again after :data:`HOOK_TTL`.

        :param conn_id: The connection id.
        """
        now = self._clock()
        with self._lock:
            kept = self._hooks.get(conn_id)
            if kept is not None and now - kept[0] < HOOK_TTL:
                return kept[1]
        hook = self._hook_factory(conn_id)
        with self._lock:
            self._hooks[conn_id] = (now, hook)
        return hook

    def view(self, task_run: TaskRun) -> dict[str, Any]:
        """Return what the page shows about the task's run (without the task's own fields).

        :param task_run: The task instance and its run.
        :raises DbtCloudError: When dbt Cloud cannot be read; its message is safe to show.
        """
        key = (task_run.conn_id, task_run.account_id, task_run.dbt_run_id)
        now = self._clock()
        with self._lock:
            kept = self._views.get(key)
            if kept is not None and kept[0] > now:
                self._views.move_to_end(key)
                return kept[1]
        view = self._build(task_run)
        ttl = ENDED_TTL if view["run"]["ended"] else LIVE_TTL
        with self._lock:
            self._views[key] = (self._clock() + ttl, view)
            self._views.move_to_end(key)
            while len(self._views) > MAX_VIEWS:
                self._views.popitem(last=False)
        return view

    def _build(self, task_run: TaskRun) -> dict[str, Any]:
        hook = self.hook(task_run.conn_id)
        account = task_run.account_id
        answer = hook.get_job_run(
            task_run.dbt_run_id, account, include_related=["run_steps", "job", "trigger"]
        )
        data = answer.json().get("data")
        run = RunState.from_payload(data)
        job = data.get("job") if isinstance(data.get("job"), dict) else {}
        reason, marker = split_marker(run.cause)
        notes: list[str] = []
        nodes: list[dict[str, Any]] = []
        if run.is_terminal and run.artifacts_saved:
            try:
                nodes = self._nodes(hook, task_run.dbt_run_id, account)
                if not nodes:
                    notes.append("The run's run_results.json lists no nodes.")
            except DbtCloudNotFoundError:
                notes.append("The run saved no run_results.json.")
            except DbtCloudError as exc:
                notes.append(f"Could not read run_results.json: {exc}")
        elif run.is_terminal:
            notes.append("The run saved no artifacts, so there is no node table.")
        base_url = lambda: hook.ui_base_url  # noqa: E731 - read only when a link is built
        return {
            "run": {
                "id": run.id,
                "status": run.status,
                "status_name": run.label,
                "status_code_name": status_name(run.status),
                "outcome": run.outcome,
                "ended": run.is_terminal,
                "status_message": run.status_message,
                "account_id": run.account_id or account,
                "project_id": run.project_id,
                "environment_id": run.environment_id,
                "job_id": run.job_id,
                "job_name": job.get("name") if isinstance(job.get("name"), str) else None,
                "cause": reason,
                "marker": marker,
                "git_branch": run.git_branch,
                "git_sha": run.git_sha,
                "created_at": run.created_at,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "duration_seconds": _seconds(run.started_at or run.created_at, run.finished_at),
                "can_retry": run.can_retry,
                "url": run_page_url(run, base_url, account),
                "job_url": job_page_url(run, base_url, account),
            },
            "steps": [
                {
                    "index": step.index,
                    "name": step.name,
                    "status": step.status_humanized or status_name(step.status),
                    "duration": step.duration,
                    "failed": step.failed,
                }
                for step in run.steps
            ],
            "nodes": nodes,
            "notes": notes,
            "artifacts": list(ARTIFACTS) if run.is_terminal and run.artifacts_saved else [],
        }

    @staticmethod
    def _nodes(hook: DbtCloudHook, run_id: int, account_id: int | None) -> list[dict[str, Any]]:
        with tempfile.TemporaryDirectory(prefix="dbt-cloud-view-") as folder:
            target = Path(folder) / "run_results.json"
            hook.download_job_run_artifact(run_id, "run_results.json", target, account_id)
            with target.open("rb") as stream:
                return [asdict(row) | {"failed": row.failed} for row in node_rows(stream)]
