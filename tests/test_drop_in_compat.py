"""Every parameter and template field of the official 4.11.1 classes exists here with the same default.

The tables were read from the official provider's signatures; a switch of imports must keep working.
"""

from __future__ import annotations

import inspect

import pytest

from airflow_dbtcloud.operators import dbt as operators
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor
from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger

REQUIRED = object()

OFFICIAL = {
    operators.DbtCloudRunJobOperator: (
        {
            "dbt_cloud_conn_id": "dbt_cloud_default",
            "job_id": None,
            "project_name": None,
            "environment_name": None,
            "job_name": None,
            "account_id": None,
            "trigger_reason": None,
            "steps_override": None,
            "schema_override": None,
            "wait_for_termination": True,
            "timeout": 604800,
            "check_interval": 60,
            "additional_run_config": None,
            "reuse_existing_run": False,
            "retry_from_failure": False,
            "deferrable": False,
            "hook_params": None,
            "openlineage_inject_parent_job_info": False,
        },
        (
            "dbt_cloud_conn_id",
            "job_id",
            "project_name",
            "environment_name",
            "job_name",
            "account_id",
            "trigger_reason",
            "steps_override",
            "schema_override",
            "additional_run_config",
        ),
    ),
    operators.DbtCloudGetJobRunArtifactOperator: (
        {
            "dbt_cloud_conn_id": "dbt_cloud_default",
            "run_id": REQUIRED,
            "path": REQUIRED,
            "account_id": None,
            "step": None,
            "output_file_name": None,
            "hook_params": None,
        },
        ("dbt_cloud_conn_id", "run_id", "path", "account_id", "output_file_name"),
    ),
    operators.DbtCloudListJobsOperator: (
        {
            "dbt_cloud_conn_id": "dbt_cloud_default",
            "account_id": None,
            "project_id": None,
            "order_by": None,
            "hook_params": None,
        },
        ("account_id", "project_id", "dbt_cloud_conn_id"),
    ),
    operators.DbtCloudListJobRunsOperator: (
        {
            "dbt_cloud_conn_id": "dbt_cloud_default",
            "account_id": None,
            "job_id": None,
            "order_by": None,
            "include_related": None,
            "hook_params": None,
            "latest_only": False,
            "status_filter": None,
        },
        ("account_id", "job_id", "order_by", "include_related", "dbt_cloud_conn_id"),
    ),
    DbtCloudJobRunSensor: (
        {
            "dbt_cloud_conn_id": "dbt_cloud_default",
            "run_id": REQUIRED,
            "account_id": None,
            "deferrable": False,
            "hook_params": None,
        },
        ("dbt_cloud_conn_id", "run_id", "account_id"),
    ),
    DbtCloudRunJobTrigger: (
        {
            "conn_id": REQUIRED,
            "run_id": REQUIRED,
            "end_time": REQUIRED,
            "poll_interval": REQUIRED,
            "account_id": REQUIRED,
            "hook_params": None,
            "execution_deadline": None,
        },
        (),
    ),
}


@pytest.mark.parametrize("cls", list(OFFICIAL), ids=lambda cls: cls.__name__)
def test_official_parameters_and_defaults_exist(cls):
    expected, template_fields = OFFICIAL[cls]
    params = inspect.signature(cls.__init__).parameters
    for name, default in expected.items():
        assert name in params, f"{cls.__name__} lacks {name}"
        actual = params[name].default
        if default is REQUIRED:
            assert actual is inspect.Parameter.empty, name
        else:
            assert actual == default, (name, actual, default)
    new_required = [
        n
        for n, p in params.items()
        if n not in expected
        and n != "self"
        and p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    assert new_required == [], "new parameters must be optional"
    assert set(template_fields) <= set(getattr(cls, "template_fields", ()))


def test_official_module_names_exist():
    for name in (
        "DbtCloudRunJobOperator",
        "DbtCloudGetJobRunArtifactOperator",
        "DbtCloudListJobsOperator",
        "DbtCloudListJobRunsOperator",
        "DbtCloudRunJobOperatorLink",
        "DbtCloudRunJobTrigger",
        "DbtCloudHook",
        "DbtCloudJobRunException",
        "DbtCloudJobRunStatus",
    ):
        assert hasattr(operators, name), name
