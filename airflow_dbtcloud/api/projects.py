"""Project and environment endpoints (API v3)."""

from __future__ import annotations

from airflow_dbtcloud._transport.pagination import paginate
from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, Flow, encode_params, single
from airflow_dbtcloud.api.ids import require_id
from airflow_dbtcloud.api.paths import v3

__all__ = ["get_account_connection", "get_environment", "get_project", "list_environments", "list_projects"]


def list_projects(account_id: int, name_contains: str | None = None) -> Flow[list[ApiResponse]]:
    """
    List the account's projects, every page.

    :param account_id: The account.
    :param name_contains: Case-insensitive substring of the project name.
    """
    request = ApiRequest(
        "GET",
        v3(account_id, "projects"),
        encode_params({"name__icontains": name_contains}),
        resource=f"projects of account {account_id}",
    )
    return (yield from paginate(request))


def get_project(account_id: int, project_id: int) -> Flow[ApiResponse]:
    """
    Get one project.

    :param account_id: The account.
    :param project_id: The project.
    :raises DbtCloudConfigError: When an id is not a positive integer (before any request, as in every
        flow of this module).
    """
    project_id = require_id("project_id", project_id)
    resource = f"project {project_id} in account {account_id}"
    return (yield from single(ApiRequest("GET", v3(account_id, "projects", project_id), resource=resource)))


def list_environments(
    account_id: int, project_id: int, name_contains: str | None = None
) -> Flow[list[ApiResponse]]:
    """
    List a project's environments, every page.

    :param account_id: The account.
    :param project_id: The project.
    :param name_contains: Case-insensitive substring of the environment name.
    """
    project_id = require_id("project_id", project_id)
    request = ApiRequest(
        "GET",
        v3(account_id, "projects", project_id, "environments"),
        encode_params({"name__icontains": name_contains}),
        resource=f"environments of project {project_id} in account {account_id}",
    )
    return (yield from paginate(request))


def get_environment(account_id: int, project_id: int, environment_id: int) -> Flow[ApiResponse]:
    """
    Get one environment.

    :param account_id: The account.
    :param project_id: The environment's project.
    :param environment_id: The environment.
    """
    project_id = require_id("project_id", project_id)
    environment_id = require_id("environment_id", environment_id)
    path = v3(account_id, "projects", project_id, "environments", environment_id)
    resource = f"environment {environment_id} of project {project_id} in account {account_id}"
    return (yield from single(ApiRequest("GET", path, resource=resource)))


def get_account_connection(account_id: int, connection_id: int) -> Flow[ApiResponse]:
    """
    Get one of the account's warehouse connections (its ``config`` names the warehouse).

    :param account_id: The account.
    :param connection_id: The connection, e.g. a project's ``connection_id``.
    """
    connection_id = require_id("connection_id", connection_id)
    request = ApiRequest(
        "GET",
        v3(account_id, "connections", connection_id),
        resource=f"connection {connection_id} in account {account_id}",
    )
    return (yield from single(request))
