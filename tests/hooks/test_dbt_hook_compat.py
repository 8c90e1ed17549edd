"""The hook module offers every public name of the reference provider with the same signature."""

from __future__ import annotations

import inspect
from enum import Enum

import pytest
import requests
from airflow.sdk.exceptions import AirflowException
from requests.auth import AuthBase

from airflow_dbtcloud.hooks import dbt

# Public methods of the reference DbtCloudHook: name -> (parameters with defaults, is coroutine).
# ``...`` marks a parameter without default. Written from the reference API listing.
REFERENCE_METHODS = {
    "get_request_url_params": (
        {"tenant": ..., "endpoint": ..., "include_related": None, "api_version": "v2"},
        False,
    ),
    "get_headers_tenants_from_connection": ({}, True),
    "get_job_details": ({"run_id": ..., "account_id": None, "include_related": None}, True),
    "get_job_status": ({"run_id": ..., "account_id": None, "include_related": None}, True),
    "list_accounts": ({}, False),
    "get_account": ({"account_id": None}, False),
    "list_projects": ({"account_id": None, "name_contains": None}, False),
    "get_project": ({"project_id": ..., "account_id": None}, False),
    "list_environments": ({"project_id": ..., "name_contains": None, "account_id": None}, False),
    "get_environment": ({"project_id": ..., "environment_id": ..., "account_id": None}, False),
    "list_jobs": (
        {
            "account_id": None,
            "order_by": None,
            "project_id": None,
            "environment_id": None,
            "name_contains": None,
        },
        False,
    ),
    "get_job": ({"job_id": ..., "account_id": None}, False),
    "get_job_by_name": (
        {"project_name": ..., "environment_name": ..., "job_name": ..., "account_id": None},
        False,
    ),
    "trigger_job_run": (
        {
            "job_id": ...,
            "cause": ...,
            "account_id": None,
            "steps_override": None,
            "schema_override": None,
            "retry_from_failure": False,
            "additional_run_config": None,
        },
        False,
    ),
    "list_job_runs": (
        {"account_id": None, "include_related": None, "job_definition_id": None, "order_by": None},
        False,
    ),
    "get_job_runs": ({"account_id": None, "payload": None}, False),
    "get_job_run": ({"run_id": ..., "account_id": None, "include_related": None}, False),
    "get_job_run_status": ({"run_id": ..., "account_id": None}, False),
    "wait_for_job_run_status": (
        {
            "run_id": ...,
            "account_id": None,
            "expected_statuses": 10,
            "check_interval": 60,
            "timeout": 60 * 60 * 24 * 7,
        },
        False,
    ),
    "cancel_job_run": ({"run_id": ..., "account_id": None}, False),
    "list_job_run_artifacts": ({"run_id": ..., "account_id": None, "step": None}, False),
    "get_job_run_artifact": ({"run_id": ..., "path": ..., "account_id": None, "step": None}, False),
    "get_job_run_artifacts_concurrently": (
        {"run_id": ..., "artifacts": ..., "account_id": None, "step": None},
        True,
    ),
    "retry_failed_job_run": ({"job_id": ..., "account_id": None}, False),
    "test_connection": ({}, False),
    "get_conn": ({}, False),
    "get_ui_field_behaviour": ({}, False),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_METHODS))
def test_method_signature_matches_reference(name):
    expected, is_async = REFERENCE_METHODS[name]
    method = getattr(dbt.DbtCloudHook, name)
    assert inspect.iscoroutinefunction(method) is is_async
    params = {
        p.name: (... if p.default is inspect.Parameter.empty else p.default)
        for p in inspect.signature(method).parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    assert params == expected


def test_module_level_names():
    assert dbt.DBT_CAUSE_MAX_LENGTH == 255
    assert issubclass(dbt.TokenAuth, AuthBase)
    assert dbt.JobRunInfo.__annotations__.keys() == {"account_id", "run_id"}
    assert issubclass(dbt.DbtCloudJobRunException, AirflowException)
    assert callable(dbt.fallback_to_default_account)
    assert callable(dbt.provide_account_id)
    assert dbt.T is not None


def test_hook_class_attributes():
    hook = dbt.DbtCloudHook
    assert hook.conn_name_attr == "dbt_cloud_conn_id"
    assert hook.default_conn_name == "dbt_cloud_default"
    assert hook.conn_type == "dbt_cloud"
    assert hook.hook_name == "dbt Cloud"
    assert inspect.signature(hook.__init__).parameters["dbt_cloud_conn_id"].default == "dbt_cloud_default"


def test_run_status_enum():
    status = dbt.DbtCloudJobRunStatus
    assert issubclass(status, Enum)
    assert [status.QUEUED.value, status.STARTING.value, status.RUNNING.value] == [1, 2, 3]
    assert [status.SUCCESS.value, status.ERROR.value, status.CANCELLED.value] == [10, 20, 30]
    assert status.NON_TERMINAL_STATUSES.value == (1, 2, 3)
    assert status.TERMINAL_STATUSES.value == (10, 20, 30)
    assert status.is_terminal(20)
    assert not status.is_terminal(3)
    status.check_is_valid([1, 10])
    with pytest.raises(ValueError):
        status.check_is_valid(7)


def test_ui_field_behaviour_relabels_fields():
    behaviour = dbt.DbtCloudHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == ["schema", "port"]
    assert behaviour["relabeling"] == {"login": "Account ID", "password": "API Token", "host": "Tenant"}


def test_get_request_url_params():
    url, params = dbt.DbtCloudHook.get_request_url_params("emea.dbt.com", "7/runs/5/", ["job"])
    assert url == "https://emea.dbt.com/api/v2/accounts/7/runs/5/"
    assert params == {"include_related": ["job"]}
    url, params = dbt.DbtCloudHook.get_request_url_params("emea.dbt.com", "7/projects/", api_version="v3")
    assert url == "https://emea.dbt.com/api/v3/accounts/7/projects/"
    assert params == {}


def test_token_auth_sets_header_and_hides_token():
    request = requests.Request("GET", "https://x/").prepare()
    auth = dbt.TokenAuth("tok-abc")
    assert auth(request).headers["Authorization"] == "Token tok-abc"
    assert "tok-abc" not in repr(auth)


def test_fallback_to_default_account_uses_connection(dbt_conn):
    class Probe(dbt.DbtCloudHook):
        @dbt.fallback_to_default_account
        def which(self, account_id=None):
            return account_id

    assert Probe().which() == 7
    assert Probe().which(account_id=3) == 3
    assert Probe().which(3) == 3


async def test_provide_account_id_uses_connection(dbt_conn):
    class Probe(dbt.DbtCloudHook):
        @dbt.provide_account_id
        async def which(self, account_id=None):
            return account_id

    assert await Probe().which() == 7
    assert await Probe().which(account_id=3) == 3


def test_retry_limit_below_one_is_rejected():
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        dbt.DbtCloudHook(retry_limit=0)
