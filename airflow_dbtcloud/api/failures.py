"""What went wrong in a run, in words for the task log. Pure functions of API payloads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_dbtcloud.api.status import DbtCloudJobRunStatus, status_name

__all__ = ["describe_step", "failed_steps", "last_log_lines"]

#: Log lines quoted per failed step; the full log stays in dbt Cloud.
LOG_TAIL_LINES = 20


def failed_steps(run: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """
    Return the run's failed steps, or its last step when none is marked failed.

    :param run: A run fetched with ``include_related=["run_steps"]``.
    """
    steps = [step for step in run.get("run_steps") or [] if isinstance(step, Mapping)]
    failed = [step for step in steps if step.get("status") == DbtCloudJobRunStatus.ERROR.value]
    return failed or steps[-1:]


def last_log_lines(logs: str | None, lines: int = LOG_TAIL_LINES) -> str:
    """
    Return the end of a step log.

    :param logs: The step's log text.
    :param lines: How many lines to keep.
    """
    kept = (logs or "").rstrip().splitlines()[-lines:]
    return "\n".join(kept)


def describe_step(step: Mapping[str, Any]) -> str:
    """
    Describe a run step in one line: index, name and status.

    :param step: A run step.
    """
    status = step.get("status_humanized") or status_name(step.get("status"))
    return f"step {step.get('index', '?')} {step.get('name') or '<unnamed>'}: {status}"
