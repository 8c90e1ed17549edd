"""Exactly-once bookkeeping: the cause marker, the task state store, and finding an earlier try's run.

A task instance gets a marker (a hash of ``dag_id``, ``run_id``, ``task_id``, ``map_index`` and the
clear generation) that goes into the ``cause`` of every run it starts. The run id is also written to
``context["task_state_store"]``, which survives task retries. A later try reads the store first and, when
the id was never stored (the worker died right after the POST, or the POST's answer was lost), searches
the job's recent runs for the marker.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_dbtcloud.hooks.dbt import DBT_CAUSE_MAX_LENGTH

if TYPE_CHECKING:
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

__all__ = [
    "STATE_KEY",
    "build_cause",
    "find_marked_run",
    "load_stored_run_id",
    "marker_for",
    "marker_from_context",
    "run_matches_request",
    "store_run_id",
]

log = logging.getLogger(__name__)

#: The key under which the run id is kept in ``context["task_state_store"]``.
STATE_KEY = "dbt_cloud_run"
#: How many of the job's newest runs are searched for the marker.
MARKER_SEARCH_DEPTH = 100


def marker_for(dag_id: str, run_id: str, task_id: str, map_index: int = -1, generation: int = 0) -> str:
    """Return the marker that identifies one task instance's runs in dbt Cloud.

    :param dag_id: The DAG id.
    :param run_id: The Airflow DAG run id (not a dbt Cloud run id).
    :param task_id: The task id.
    :param map_index: The map index, ``-1`` for unmapped tasks.
    :param generation: Changes when the task instance is cleared (its ``max_tries``), so a cleared task
        starts a fresh run while retries of one generation share runs.
    :return: A short token such as ``[airflow:3f2a9c0d41b7e65a]``.
    """
    key = "\x1f".join([dag_id, run_id, task_id, str(map_index), str(generation)])
    return f"[airflow:{hashlib.sha256(key.encode()).hexdigest()[:16]}]"


def marker_from_context(context: Mapping[str, Any]) -> str:
    """Return :func:`marker_for` the task instance in a task context.

    :param context: The Airflow task context.
    :return: The marker.
    """
    ti = context["ti"]
    return marker_for(
        ti.dag_id,
        ti.run_id,
        ti.task_id,
        ti.map_index if ti.map_index is not None else -1,
        int(getattr(ti, "max_tries", 0) or 0),
    )


def build_cause(reason: str, marker: str) -> str:
    """Append the marker to the trigger reason, shortening the reason to fit dbt Cloud's limit.

    :param reason: The human-readable reason.
    :param marker: The marker from :func:`marker_for`.
    :return: A cause of at most ``DBT_CAUSE_MAX_LENGTH`` characters that ends with the marker.
    """
    room = DBT_CAUSE_MAX_LENGTH - len(marker) - 1
    reason = " ".join(reason.split())
    if len(reason) > room:
        reason = reason[: room - 1].rstrip() + "…"
    return f"{reason} {marker}" if reason else marker


def _cause_of(run: Mapping[str, Any]) -> str:
    trigger = run.get("trigger") or {}
    return str(trigger.get("cause") or "")


def find_marked_run(
    hook: DbtCloudHook, job_id: int, marker: str, account_id: int | None = None
) -> dict[str, Any] | None:
    """Find the newest recent run of a job whose cause carries the marker.

    :param hook: The hook to ask.
    :param job_id: The dbt Cloud job id.
    :param marker: The marker from :func:`marker_for`.
    :param account_id: The account id; ``None`` uses the connection's.
    :return: The run (with ``trigger``), or ``None`` when no recent run carries the marker.
    """
    runs = hook.list_runs_data(
        account_id,
        job_definition_id=job_id,
        order_by="-id",
        include_related=("trigger",),
        max_results=MARKER_SEARCH_DEPTH,
    )
    for run in runs:
        if marker in _cause_of(run):
            return run
    return None


def run_matches_request(run: Mapping[str, Any], job_id: int, request: Mapping[str, Any]) -> bool:
    """Tell whether a run is what this task would start: same job and the same overrides.

    :param run: A run with its ``trigger`` related object.
    :param job_id: The job the task would run.
    :param request: The body the task would send, without ``cause``.
    :return: ``True`` when every override in ``request`` equals the run's, and the run has no override
        the request lacks.
    """
    if int(run.get("job_definition_id") or run.get("job_id") or -1) != int(job_id):
        return False
    trigger = run.get("trigger") or {}
    for key, value in trigger.items():
        if not key.endswith("_override") and key not in ("git_branch", "git_sha"):
            continue
        if value in (None, [], "") and request.get(key) in (None, [], ""):
            continue
        if request.get(key) != value:
            return False
    for key, value in request.items():
        if value not in (None, [], "") and trigger.get(key) != value:
            return False
    return True


def load_stored_run_id(context: Mapping[str, Any], marker: str) -> int | None:
    """Read the run id an earlier try of this task instance stored.

    :param context: The Airflow task context.
    :param marker: The current marker; a value stored under another marker (an earlier clear generation)
        is ignored.
    :return: The run id, or ``None`` when nothing usable was stored or no store is available.
    """
    store = context.get("task_state_store")
    if store is None:
        return None
    value = store.get(STATE_KEY)
    if not isinstance(value, dict) or value.get("marker") != marker:
        return None
    run_id = value.get("run_id")
    return int(run_id) if isinstance(run_id, int | str) and str(run_id).isdigit() else None


def store_run_id(context: Mapping[str, Any], marker: str, run_id: int) -> bool:
    """Remember the run id for later tries of this task instance.

    :param context: The Airflow task context.
    :param marker: The current marker.
    :param run_id: The dbt Cloud run id.
    :return: ``True`` when stored, ``False`` when the context has no ``task_state_store``.
    """
    store = context.get("task_state_store")
    if store is None:
        log.warning(
            "No task_state_store in the context; a retry will find run %s by its cause marker.", run_id
        )
        return False
    store.set(STATE_KEY, {"run_id": int(run_id), "marker": marker})
    return True
