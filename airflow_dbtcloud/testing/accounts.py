"""JSON shapes of accounts, projects, environments and repositories, with their warehouse connection.

The v3 spec gives a connection's adapter-specific settings in ``AccountConnectionDetail.config`` (GET
``/api/v3/accounts/{account_id}/connections/{id}/``), not in ``ProjectResponse.connection``
(``BaseConnectionV3``). Real project payloads also carry them as ``connection.details`` (the legacy
``Connection`` schema, which dbt Cloud clients read), so the emulator serves both, with the same values.
Nothing secret is ever rendered: the spec's write-only fields (passwords, private keys, client secrets)
are left out.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from airflow_dbtcloud.testing.adapters import ADAPTERS, DEFAULT_ADAPTER, Adapter
from airflow_dbtcloud.testing.timefmt import ts

# A fixed creation date for configured objects keeps payloads stable across restarts.
EPOCH = datetime(2026, 1, 5, 9, 30, tzinfo=UTC).timestamp()


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


def environment(
    env: dict[str, Any],
    account_id: int,
    project: dict[str, Any] | None,
    adapter: Adapter = ADAPTERS[DEFAULT_ADAPTER],
) -> dict[str, Any]:
    """Render an environment (``EnvironmentV3Response``).

    :param env: Configured environment.
    :param account_id: Owning account.
    :param project: Owning project (nested as ``project``), or None to omit the nesting.
    :param adapter: The warehouse adapter (shapes ``credentials``).
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
        "credentials": credentials(env, account_id, adapter),
        "fusion_readiness": None,
    }


def project_summary(project: dict[str, Any]) -> dict[str, Any]:
    """Render a project nested in other objects (the spec's ``Project``).

    :param project: Configured project.
    :return: The payload.
    """
    pid = int(project["id"])
    return {
        "id": pid,
        "account_id": project["account_id"],
        "name": project["name"],
        "description": project.get("description", ""),
        "connection_id": 4000 + pid,
        "repository_id": 3000 + pid,
        "semantic_layer_config_id": None,
        "state": 1,
        "dbt_project_subdirectory": None,
        "docs_job_id": None,
        "freshness_job_id": None,
        "type": 0,
    }


def account_summary(acc: dict[str, Any]) -> dict[str, Any]:
    """Render an account nested in other objects (the v2 spec's ``Account``).

    :param acc: Configured account.
    :return: The payload.
    """
    return {
        "id": acc["id"],
        "name": acc.get("name", f"Account {acc['id']}"),
        "state": 1,
        "docs_job_id": None,
        "freshness_job_id": None,
    }


def environment_summary(env: dict[str, Any], account_id: int) -> dict[str, Any]:
    """Render an environment nested in a job (the v2 spec's ``EnvironmentV2``).

    :param env: Configured environment.
    :param account_id: Owning account.
    :return: The payload.
    """
    return {
        "id": env["id"],
        "account_id": account_id,
        "project_id": env["project_id"],
        "name": env["name"],
        "connection_id": 4000 + int(env["project_id"]),
        "credentials_id": 5000 + int(env["id"]),
        "repository_id": 3000 + int(env["project_id"]),
        "extended_attributes_id": None,
        "custom_branch": env.get("custom_branch"),
        "use_custom_branch": bool(env.get("custom_branch")),
        "dbt_project_subdirectory": None,
        "dbt_version": env["dbt_version"],
        "supports_docs": True,
        "deployment_type": env["deployment_type"],
        "type": env["type"],
        "created_by_id": None,
        "state": 1,
    }


def project(
    proj: dict[str, Any], envs: list[dict[str, Any]], adapter: Adapter = ADAPTERS[DEFAULT_ADAPTER]
) -> dict[str, Any]:
    """Render a project (``ProjectResponse``).

    :param proj: Configured project.
    :param envs: Its configured environments.
    :param adapter: The warehouse adapter (shapes ``connection`` and the environments' credentials).
    :return: The payload.
    """
    return {
        **project_summary(proj),
        "created_at": ts(EPOCH),
        "updated_at": ts(EPOCH),
        "connection": project_connection(proj, adapter, EPOCH),
        "environments": [environment(e, proj["account_id"], None, adapter) for e in envs],
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


def connection_id(project: dict[str, Any]) -> int:
    """Return the id of a project's connection.

    :param project: Configured project.
    """
    return 4000 + int(project["id"])


def _common(project: dict[str, Any], adapter: Adapter, created: float) -> dict[str, Any]:
    return {
        "id": connection_id(project),
        "account_id": project["account_id"],
        "name": adapter.connection_name,
        "adapter_version": adapter.adapter_version,
        "private_link_endpoint_id": None,
        "oauth_redirect_uri": None,
        "oauth_configuration_id": None,
        "created_at": ts(created),
        "updated_at": ts(created),
    }


def project_connection(project: dict[str, Any], adapter: Adapter, created: float) -> dict[str, Any]:
    """Render ``ProjectResponse.connection`` (``BaseConnectionV3``) plus the settings as ``details``.

    :param project: Configured project.
    :param adapter: The warehouse adapter.
    :param created: Epoch written as ``created_at`` and ``updated_at``.
    :return: The payload.
    """
    return {
        **_common(project, adapter, created),
        "project_id": project["id"],
        "type": adapter.connection_type,
        "created_by_id": None,
        "created_by_service_token_id": None,
        "state": 1,
        "details": copy.deepcopy(adapter.connection_config),
    }


def account_connection(project: dict[str, Any], adapter: Adapter, created: float) -> dict[str, Any]:
    """Render ``AccountConnectionDetail``: the connection with its adapter-specific ``config``.

    :param project: Configured project the connection belongs to.
    :param adapter: The warehouse adapter.
    :param created: Epoch written as ``created_at`` and ``updated_at``.
    :return: The payload.
    """
    return {
        **_common(project, adapter, created),
        "is_ssh_tunnel_enabled": False,
        "is_configured_for_native_oauth": False,
        "platform_metadata_credentials_id": None,
        "analytics_credentials_id": None,
        "config": copy.deepcopy(adapter.connection_config),
    }


def credentials(env: dict[str, Any], account_id: int, adapter: Adapter) -> dict[str, Any]:
    """Render an environment's deployment credentials (the spec's ``<Adapter>Credentials``).

    :param env: Configured environment.
    :param account_id: Owning account.
    :param adapter: The warehouse adapter.
    :return: The payload; ``schema`` is always present (the target schema, BigQuery: the dataset).
    """
    return {
        "id": 5000 + int(env["id"]),
        "account_id": account_id,
        "project_id": env["project_id"],
        "type": adapter.connection_type,
        "state": 1,
        "threads": 4,
        "target_name": "default",
        "adapter_version": adapter.adapter_version,
        "schema": adapter.schema,
        **copy.deepcopy(adapter.credentials),
    }
