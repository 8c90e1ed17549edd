"""Account endpoints."""

from __future__ import annotations

from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, Flow, single
from airflow_dbtcloud.api.ids import require_id
from airflow_dbtcloud.api.paths import v2

__all__ = ["get_account", "list_accounts"]


def list_accounts() -> Flow[ApiResponse]:
    """List the accounts the token may access (one request, as dbt Cloud does not page it)."""
    return (yield from single(ApiRequest("GET", v2(None), resource="the accounts list")))


def get_account(account_id: int) -> Flow[ApiResponse]:
    """
    Get one account.

    :param account_id: The account.
    :raises DbtCloudConfigError: When ``account_id`` is not a positive integer (before any request).
    """
    account_id = require_id("account_id", account_id)
    return (yield from single(ApiRequest("GET", v2(account_id), resource=f"account {account_id}")))
