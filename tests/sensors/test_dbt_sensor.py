from __future__ import annotations

import functools
from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred

from airflow_dbtcloud.hooks.dbt import (
    DbtCloudAuthError,
    DbtCloudHook,
    DbtCloudJobRunException,
    DbtCloudServerError,
)
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor


class FakeTI:
    def __init__(self) -> None:
        self.xcom: dict = {}

    def xcom_push(self, key, value):
        self.xcom[key] = value

    def xcom_pull(self, task_ids=None, key=None):
        return self.xcom.get(key)


def run(status):
    return {
        "id": 5,
        "status": status,
        "account_id": 1,
        "project_id": 100,
        "job_definition_id": 300,
        "href": "https://x/deploy/1/projects/100/runs/5/",
    }


def make(**kwargs):
    sensor = DbtCloudJobRunSensor(task_id="s", run_id=5, **kwargs)
    hook = mock.MagicMock()
    # The report is gathered for real, from whatever the mocked data methods return.
    hook.get_failure_report.side_effect = functools.partial(DbtCloudHook.get_failure_report, hook)
    hook.ui_base_url = "https://x"
    sensor.__dict__["hook"] = hook
    return sensor, hook, {"ti": FakeTI()}


def test_poke_states_and_publishes_links():
    sensor, hook, context = make()
    hook.get_run_data.side_effect = [run(3), run(10)]
    assert sensor.poke(context) is False
    assert sensor.poke(context) is True
    assert context["ti"].xcom["job_run_url"] == "https://x/deploy/1/projects/100/runs/5/"
    assert context["ti"].xcom["job_url"] == "https://x/deploy/1/projects/100/jobs/300/"


def test_poke_error_raises_with_report():
    sensor, hook, context = make()
    hook.get_run_data.return_value = run(20)
    hook.get_artifact_json.return_value = {
        "results": [{"unique_id": "model.x", "status": "error", "message": "m"}]
    }
    with pytest.raises(DbtCloudJobRunException, match=r"model\.x"):
        sensor.poke(context)


def test_poke_cancelled_fails_fast():
    sensor, hook, context = make()
    hook.get_run_data.return_value = run(30)
    with pytest.raises(AirflowFailException):
        sensor.poke(context)


def test_poke_tolerates_transient_errors_within_budget():
    sensor, hook, context = make(error_budget=1)
    hook.get_run_data.side_effect = [
        DbtCloudServerError(502, "GET", "/p"),
        DbtCloudServerError(502, "GET", "/p"),
    ]
    assert sensor.poke(context) is False
    with pytest.raises(DbtCloudServerError):
        sensor.poke(context)


def test_poke_raises_non_transient_errors():
    sensor, hook, context = make()
    hook.get_run_data.side_effect = DbtCloudAuthError(401, "GET", "/p")
    with pytest.raises(DbtCloudAuthError):
        sensor.poke(context)


def test_deferrable_defaults_and_defer():
    sensor, hook, context = make(deferrable=True)
    assert sensor.poke_interval == 5
    assert sensor.timeout == 60 * 60 * 24 * 7
    hook.get_run_data.return_value = run(1)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    assert deferred.value.trigger.run_id == 5
    assert deferred.value.trigger.poll_interval == 5


def test_deferrable_done_at_first_check_does_not_defer():
    sensor, hook, context = make(deferrable=True)
    hook.get_run_data.return_value = run(10)
    sensor.execute(context)


def test_execute_complete_outcomes():
    sensor, hook, context = make()
    assert sensor.execute_complete(context, {"status": "success", "run_id": 5, "message": "ok"}) == 5
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute_complete(context, {"status": "timeout", "run_id": 5, "message": "late"})
    with pytest.raises(DbtCloudJobRunException, match="gave up"):
        sensor.execute_complete(context, {"status": "api_error", "run_id": 5, "message": "gave up"})
    hook.get_run_data.return_value = run(20)
    hook.get_artifact_json.return_value = None
    with pytest.raises(DbtCloudJobRunException, match="has failed"):
        sensor.execute_complete(context, {"status": "error", "run_id": 5, "message": "x"})


def test_sensor_has_run_link():
    names = {link.name for link in DbtCloudJobRunSensor.operator_extra_links}
    assert "dbt Cloud Job Run" in names
