"""JSON shapes of jobs, runs and run steps, with the spec's field names (accounts, projects: ``accounts``)."""

from __future__ import annotations

from typing import Any

from airflow_dbtcloud.testing import logs
from airflow_dbtcloud.testing.accounts import (
    EPOCH,
    account_summary,
    environment,
    environment_summary,
    project_summary,
    repository,
)
from airflow_dbtcloud.testing.config import JobConfig
from airflow_dbtcloud.testing.lifecycle import (
    CANCELLED,
    ERROR,
    FINAL,
    RUNNING,
    STATUS_NAMES,
    SUCCESS,
    Run,
    StepView,
)
from airflow_dbtcloud.testing.state import State
from airflow_dbtcloud.testing.timefmt import clock, humanize, ts


def job(
    j: JobConfig, acc: dict[str, Any], proj: dict[str, Any], env: dict[str, Any], *, internal: bool = False
) -> dict[str, Any]:
    """Render a job: ``HumanReadableJobDefinitionResponse`` or, with ``internal``, the run's nested form.

    :param j: Configured job.
    :param acc: Owning account (configured).
    :param proj: Its project.
    :param env: Its environment.
    :param internal: Render ``InternalJobDefinition`` (no ``id``, flat ``schedule``) as ``run.job`` is.
    :return: The payload.
    """
    account_id = int(acc["id"])
    out: dict[str, Any] = {
        "id": j.id,
        "account_id": account_id,
        "project_id": proj["id"],
        "environment_id": j.environment_id,
        "name": j.name,
        "description": j.description,
        **_job_execution(j, env),
        "triggers_on_draft_pr": False,
        "triggers": {
            "github_webhook": False,
            "schedule": j.job_type == "scheduled",
            "git_provider_webhook": False,
            "on_merge": False,
            "custom_branch_only": False,
        },
        "job_completion_trigger_condition": None,
        "created_at": ts(EPOCH),
        "updated_at": ts(EPOCH),
        "account": account_summary(acc),
        "project": project_summary(proj),
        "environment": environment_summary(env, account_id),
        "fusion_readiness": None,
        "schedule": {
            "cron": j.cron,
            "date": {"type": "custom_cron", "days": None, "cron": j.cron},
            "time": {"type": "every_hour", "interval": 1, "hours": None},
        },
    }
    if internal:
        for key in ("id", "account", "project", "environment", "run_failure_count", "lifecycle_webhooks_url"):
            out.pop(key)
        out["schedule"] = {"cron": j.cron, "date": "custom_cron", "time": "every_hour"}
    return out


def _job_execution(j: JobConfig, env: dict[str, Any]) -> dict[str, Any]:
    # job() splices these in where they stand in the API's field order.
    return {
        "dbt_version": None,
        "raw_dbt_version": env["dbt_version"],
        "deferring_environment_id": None,
        "deferring_job_definition_id": None,
        "execute_steps": list(j.execute_steps),
        "execution": {"timeout_seconds": 0},
        "generate_docs": j.generate_docs,
        "run_generate_sources": False,
        "generate_sources": False,
        "is_deferrable": False,
        "job_type": j.job_type,
        "lifecycle_webhooks": False,
        "lifecycle_webhooks_url": None,
        "run_compare_changes": False,
        "compare_changes_flags": "--select state:modified",
        "run_lint": False,
        "errors_on_lint_failure": True,
        "cost_optimization_features": [],
        "run_failure_count": 0,
        "settings": {"threads": j.threads, "target_name": j.target_name},
        "state": j.state,
    }


# status -> status_color, which the spec describes as "a status color code, in hex format"
_STATUS_COLORS = {SUCCESS: "#1DB07F", ERROR: "#DE3B47", CANCELLED: "#8B97A6"}
_RUNNING_COLOR = "#3B8BEB"


def run_step(run: Run, step: StepView, now: float, *, debug: bool) -> dict[str, Any]:
    """Render one run step (``RunStepResponse``), its console log as it reads at ``now``.

    :param run: The run.
    :param step: The step at this instant.
    :param now: The emulator epoch the log is rendered at.
    :param debug: Include ``debug_logs``.
    :return: The payload.
    """
    text = logs.console_log(run, step, now)
    duration = (step.end if step.end is not None else now) - step.start
    sid = run.step_id(step.index)
    out = {
        "id": sid,
        "run_id": run.id,
        "account_id": run.account_id,
        "index": step.index,
        "name": f"Invoke dbt with `{step.command}`",
        "status": step.status,
        "status_color": _STATUS_COLORS.get(step.status, _RUNNING_COLOR),
        "status_humanized": STATUS_NAMES[step.status],
        "logs": text,
        "truncated_debug_logs": text[-5000:],
        "log_path": f"runs/{run.id}/steps/{step.index}/logs",
        "debug_log_path": f"runs/{run.id}/steps/{step.index}/debug_logs",
        "started_at": ts(step.start),
        "finished_at": ts(step.end),
        "duration": clock(duration),
        "duration_humanized": humanize(duration),
        "created_at": ts(step.start),
        "updated_at": ts(step.end if step.end is not None else now),
        "run_step_command": {"run_step_id": sid, "dbt_command": step.command},
        "run_step_invocation": {"run_step_id": sid, "run_id": run.id},
    }
    if debug:
        out["debug_logs"] = text
    return out


def is_running(status: int) -> bool:
    """Whether a status counts as running (``is_running``).

    :param status: Status code.
    :return: True while RUNNING.
    """
    return status == RUNNING


def run(state: State, r: Run, related: set[str]) -> dict[str, Any]:
    """Render a run (``RunResponse``) as it stands now on the emulator clock.

    :param state: The emulator state: its clock, its lock, and the run's job, project and environment.
    :param r: The run.
    :param related: Names from ``include_related`` (``trigger``, ``job``, ``run_steps``...) to fill in.
    :return: The payload.
    """
    with state.lock:
        now = state.clock.now()
        status, dequeued, started, finished, steps = r.view(now)
        out = {
            **_run_summary(r, status, started, finished, steps),
            **_run_timestamps(r, now, dequeued, started, finished),
            **_run_nested(state, r, related),
            **_run_progress(r, status, now, started, finished),
            **_run_retry(r, status, state.base_url),
        }
        if "repository" in related:
            out["repository"] = repository(state.projects[r.project_id])
        if "audit" in related:
            out["audit"] = None
        if "run_steps" in related:
            debug = "debug_logs" in related
            out["run_steps"] = [run_step(r, s, now, debug=debug) for s in steps]
        return out


def _status_message(r: Run, status: int, finished: float | None, steps: list[StepView]) -> str | None:
    message = r.ending()[2] if finished is not None else None
    if status == ERROR and message is None and steps:
        failed = [n for n in r.results(steps[-1]) if n.status in ("error", "fail")]
        message = f"Failure in step {steps[-1].index}: " + (
            failed[0].message.splitlines()[0] if failed and failed[0].message else "dbt command failed"
        )
    return message


def _run_summary(
    r: Run, status: int, started: float | None, finished: float | None, steps: list[StepView]
) -> dict[str, Any]:
    saved = finished is not None and any(s.status in (SUCCESS, ERROR) for s in steps)
    begun = started is not None or finished is not None
    return {
        "id": r.id,
        "trigger_id": r.trigger["id"],
        "account_id": r.account_id,
        "environment_id": r.environment_id,
        "project_id": r.project_id,
        "job_definition_id": r.job_id,
        "job_id": r.job_id,
        "status": status,
        "status_humanized": STATUS_NAMES[status],
        "status_message": _status_message(r, status, finished, steps),
        "dbt_version": r.dbt_version,
        "git_branch": r.git_branch if begun else None,
        "git_sha": r.git_sha if begun else None,
        "owner_thread_id": None,
        "executed_by_thread_id": f"dbt-run-{r.id}" if started is not None else None,
        "deferring_run_id": None,
        "artifact_s3_path": f"prod/runs/{r.id}/artifacts/target" if saved else None,
        "artifacts_saved": saved,
        "has_docs_generated": bool(r.generate_docs and status == SUCCESS),
        "has_sources_generated": False,
        "notifications_sent": finished is not None,
        "blocked_by": [],
    }


def _run_timestamps(
    r: Run, now: float, dequeued: float | None, started: float | None, finished: float | None
) -> dict[str, Any]:
    return {
        "created_at": ts(r.created),
        "updated_at": ts(min(now, finished) if finished is not None else now),
        "dequeued_at": ts(dequeued),
        "started_at": ts(started),
        "finished_at": ts(finished),
        "last_checked_at": ts(now),
        "last_heartbeat_at": ts(now) if started is not None else None,
        "should_start_at": None,
    }


def _run_nested(state: State, r: Run, related: set[str]) -> dict[str, Any]:
    env = state.environments[r.environment_id]
    return {
        "trigger": dict(r.trigger) if "trigger" in related else None,
        "job": job(
            state.jobs[r.job_id],
            state.accounts[r.account_id],
            state.projects[r.project_id],
            env,
            internal=True,
        )
        if "job" in related
        else None,
        "environment": environment(env, r.account_id, None, state.adapter)
        if "environment" in related
        else None,
        "run_steps": [],
        "status_humanized_detail": None,
    }


def _run_progress(
    r: Run, status: int, now: float, started: float | None, finished: float | None
) -> dict[str, Any]:
    ref = finished if finished is not None else now
    return {
        "in_progress": status not in FINAL,
        "is_complete": status in FINAL,
        "is_success": status == SUCCESS,
        "is_error": status == ERROR,
        "is_cancelled": status == CANCELLED,
        "is_running": is_running(status),
        "duration": clock(ref - r.created),
        "queued_duration": clock((started or ref) - r.created),
        "run_duration": clock(ref - started if started is not None else 0),
        "duration_humanized": humanize(ref - r.created),
        "queued_duration_humanized": humanize((started or ref) - r.created),
        "run_duration_humanized": humanize(ref - started if started is not None else 0),
        "created_at_humanized": "just now",
        "finished_at_humanized": "just now" if finished is not None else "0 minutes from now",
    }


def _run_retry(r: Run, status: int, base_url: str) -> dict[str, Any]:
    if status != ERROR:
        reason: str | None = "RETRY_NOT_FAILED_RUN"
    else:
        reason = "RETRY_NOT_LATEST_RUN" if r.retried_by is not None else None
    return {
        "retrying_run_id": r.retried_by,
        "can_retry": status == ERROR and r.retried_by is None,
        "retry_not_supported_reason": reason,
        "href": f"{base_url}/deploy/{r.account_id}/projects/{r.project_id}/runs/{r.id}/",
        "used_repo_cache": False,
    }
