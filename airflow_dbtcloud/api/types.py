"""The fields of dbt Cloud's payloads this provider reads, as ``TypedDict`` classes.

They describe the JSON as it arrives; :class:`~airflow_dbtcloud.api.run_state.RunState` is the typed
value the rest of the provider works with.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["Job", "Run", "RunStep", "RunTrigger"]


class RunStep(TypedDict, total=False):
    """A step of a run (``run_steps`` with ``include_related``)."""

    id: int
    run_id: int
    index: int
    name: str
    status: int
    status_humanized: str
    logs: str
    truncated_debug_logs: str
    started_at: str | None
    finished_at: str | None
    duration: str | None
    duration_humanized: str | None


class RunTrigger(TypedDict, total=False):
    """Why and how a run was started (``trigger`` with ``include_related``)."""

    id: int
    cause: str
    cause_category: str
    git_branch: str | None
    git_sha: str | None
    schema_override: str | None
    steps_override: list[str] | None
    created_at: str


class Run(TypedDict, total=False):
    """A job run."""

    id: int
    account_id: int
    project_id: int
    environment_id: int
    job_definition_id: int
    job_id: int
    status: int
    status_humanized: str
    status_message: str | None
    href: str
    in_progress: bool
    is_complete: bool
    retrying_run_id: int | None
    can_retry: bool
    retry_not_supported_reason: str | None
    artifacts_saved: bool
    git_branch: str | None
    git_sha: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration: str | None
    duration_humanized: str
    trigger: RunTrigger
    run_steps: list[RunStep]
    job: dict[str, Any]


class Job(TypedDict, total=False):
    """A job definition."""

    id: int
    account_id: int
    project_id: int
    environment_id: int
    name: str
    execute_steps: list[str]
    state: int
