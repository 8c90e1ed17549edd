"""JSON shapes of accounts, projects, environments, jobs and runs, with the spec's field names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow_dbtcloud.testing.config import JobConfig
from airflow_dbtcloud.testing.lifecycle import CANCELLED, ERROR, RUNNING, STATUS_NAMES, SUCCESS, Run, StepView

# A fixed creation date for configured objects keeps payloads stable across restarts.
EPOCH = datetime(2026, 1, 5, 9, 30, tzinfo=UTC).timestamp()


def ts(value: float | None) -> str | None:
    """Format an epoch the way the Admin API does (``2026-11-25 10:00:00.123456+00:00``).

    :param value: Seconds since the epoch, or None.
    :return: The string, or None.
    """
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def clock(seconds: float) -> str:
    """Format a duration as ``HH:MM:SS``.

    :param seconds: Duration.
    :return: The string.
    """
    whole = max(int(seconds), 0)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def humanize(seconds: float) -> str:
    """Format a duration as dbt Cloud's UI does (``1 minute, 5 seconds``).

    :param seconds: Duration.
    :return: The string.
    """
    whole = max(int(seconds), 0)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    shown = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n] or ["0 seconds"]
    return ", ".join(shown)


def account(acc: dict[str, Any]) -> dict[str, Any]:
    """Render an account (``AccountResponse``).

    :param acc: Configured account.
    :return: The payload.
    """
    out: dict[str, Any] = {
        "id": acc["id"],
        "name": acc.get("name", f"Account {acc['id']}"),
        "state": 1,
        "plan": "enterprise",
        "run_slots": 5,
        "developer_seats": 10,
        "it_seats": 1,
        "explorer_seats": 0,
        "analyst_seats": 0,
        "read_only_seats": 5,
        "locked": False,
        "lock_reason": None,
        "lock_cause": None,
        "unlocked_at": None,
        "pending_cancel": False,
        "billing_email_address": None,
        "pod_memory_request_mebibytes": 600,
        "develop_pod_memory_request_mebibytes": 600,
        "run_duration_limit_seconds": 86400,
        "queue_limit": 50,
        "enterprise_login_slug": None,
        "business_critical": False,
        "starter_repo_url": None,
        "git_auth_level": "team",
        "identifier": f"act{acc['id']}",
        "trial_end_date": None,
        "static_subdomain": None,
        "vanity_subdomain": None,
        "run_locked_until": None,
        "docs_job_id": None,
        "freshness_job_id": None,
        "copilot_locked_until": None,
        "agent_credit_locked": False,
        "account_migration_events": [],
        "groups": [],
        "created_at": ts(EPOCH),
        "updated_at": ts(EPOCH),
    }
    return out


def environment(env: dict[str, Any], account_id: int, project: dict[str, Any] | None) -> dict[str, Any]:
    """Render an environment (``EnvironmentV3Response``).

    :param env: Configured environment.
    :param account_id: Owning account.
    :param project: Owning project (nested as ``project``), or None to omit the nesting.
    :return: The payload.
    """
    return {
        "id": env["id"],
        "account_id": account_id,
        "project_id": env["project_id"],
        "credentials_id": 5000 + int(env["id"]),
        "connection_id": 4000 + int(env["project_id"]),
        "extended_attributes_id": None,
        "name": env["name"],
        "dbt_version": env["dbt_version"],
        "raw_dbt_version": env["dbt_version"],
        "type": env["type"],
        "use_custom_branch": bool(env.get("custom_branch")),
        "custom_branch": env.get("custom_branch"),
        "supports_docs": True,
        "deployment_type": env["deployment_type"],
        "is_deferrable": env["type"] == "deployment",
        "enable_model_query_history": False,
        "enable_dbt_state": False,
        "state": 1,
        "created_at": ts(EPOCH),
        "updated_at": ts(EPOCH),
        "project": project_summary(project) if project else None,
        "primary_profile_id": None,
        "credentials": {"id": 5000 + int(env["id"]), "type": "postgres", "schema": "dbt_prod", "state": 1},
        "fusion_readiness": None,
    }


def project_summary(project: dict[str, Any]) -> dict[str, Any]:
    """Render the short form of a project nested in other objects.

    :param project: Configured project.
    :return: The payload.
    """
    return {"id": project["id"], "account_id": project["account_id"], "name": project["name"], "state": 1}


def project(proj: dict[str, Any], envs: list[dict[str, Any]]) -> dict[str, Any]:
    """Render a project (``ProjectResponse``).

    :param proj: Configured project.
    :param envs: Its configured environments.
    :return: The payload.
    """
    pid = int(proj["id"])
    return {
        "id": pid,
        "name": proj["name"],
        "account_id": proj["account_id"],
        "description": proj.get("description", ""),
        "connection_id": 4000 + pid,
        "repository_id": 3000 + pid,
        "semantic_layer_config_id": None,
        "state": 1,
        "dbt_project_subdirectory": None,
        "docs_job_id": None,
        "freshness_job_id": None,
        "type": 0,
        "created_at": ts(EPOCH),
        "updated_at": ts(EPOCH),
        "connection": {
            "id": 4000 + pid,
            "account_id": proj["account_id"],
            "name": "Postgres",
            "type": "postgres",
        },
        "environments": [environment(e, proj["account_id"], None) for e in envs],
        "repository": repository(proj),
        "group_permissions": [],
        "docs_job": None,
        "freshness_job": None,
        "fusion_readiness": None,
        "default_version": "latest",
    }


def repository(proj: dict[str, Any]) -> dict[str, Any]:
    """Render a project's git repository.

    :param proj: Configured project.
    :return: The payload.
    """
    return {
        "id": 3000 + int(proj["id"]),
        "account_id": proj["account_id"],
        "remote_url": f"git@github.com:emulated/{proj['name']}.git",
        "remote_backend": "github",
        "git_clone_strategy": "deploy_key",
        "state": 1,
    }


def job(
    j: JobConfig, account_id: int, proj: dict[str, Any], env: dict[str, Any], *, internal: bool = False
) -> dict[str, Any]:
    """Render a job: ``HumanReadableJobDefinitionResponse`` or, with ``internal``, the run's nested form.

    :param j: Configured job.
    :param account_id: Owning account.
    :param proj: Its project.
    :param env: Its environment.
    :param internal: Render ``InternalJobDefinition`` (no ``id``, flat ``schedule``) as ``run.job`` is.
    :return: The payload.
    """
    out: dict[str, Any] = {
        "id": j.id,
        "account_id": account_id,
        "project_id": proj["id"],
        "environment_id": j.environment_id,
        "name": j.name,
        "description": j.description,
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
        "account": {"id": account_id},
        "project": project_summary(proj),
        "environment": {"id": env["id"], "name": env["name"], "project_id": env["project_id"]},
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


def run_step(run: Run, step: StepView, logs: str, *, debug: bool) -> dict[str, Any]:
    """Render one run step.

    :param run: The run.
    :param step: The step at this instant.
    :param logs: Console log text so far.
    :param debug: Include ``debug_logs``.
    :return: The payload.
    """
    duration = (step.end or step.start) - step.start
    out = {
        "id": run.id * 100 + step.index,
        "run_id": run.id,
        "account_id": run.account_id,
        "index": step.index,
        "name": f"Invoke dbt with `{step.command}`",
        "status": step.status,
        "status_color": {SUCCESS: "green", ERROR: "red", CANCELLED: "grey"}.get(step.status, "blue"),
        "status_humanized": STATUS_NAMES[step.status],
        "logs": logs,
        "truncated_debug_logs": logs[-5000:],
        "log_path": f"runs/{run.id}/steps/{step.index}/logs",
        "debug_log_path": f"runs/{run.id}/steps/{step.index}/debug_logs",
        "started_at": ts(step.start),
        "finished_at": ts(step.end),
        "duration": clock(duration),
        "duration_humanized": humanize(duration),
        "created_at": ts(step.start),
        "updated_at": ts(step.end or step.start),
    }
    if debug:
        out["debug_logs"] = logs
    return out


def is_running(status: int) -> bool:
    """Whether a status counts as running (``is_running``).

    :param status: Status code.
    :return: True while RUNNING.
    """
    return status == RUNNING
