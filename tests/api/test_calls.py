"""Calls reach dbt Cloud through the hook's public methods, with arguments its real signatures accept."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_dbtcloud._transport.errors import DbtCloudPayloadError, DbtCloudRunMayExistError
from airflow_dbtcloud.api import calls
from airflow_dbtcloud.api.lifecycle import RunRequest, obtain_run
from airflow_dbtcloud.hooks.dbt import DbtCloudHook


def answer(data):
    response = mock.Mock()
    response.json.return_value = {"data": data}
    return response


@pytest.fixture
def hook():
    # spec_set: a call with a keyword the real method does not take fails the test.
    return mock.create_autospec(DbtCloudHook, instance=True, spec_set=True)


@pytest.mark.parametrize(
    "call",
    [
        calls.get_run(5, 1, ["trigger"]),
        calls.list_runs(1, {"job_definition_id": 2}),
        calls.trigger_run(1, 2, "why", ["dbt build"], "s", False, {"threads_override": 2}),
        calls.retry_run(5, 1),
    ],
    ids=lambda call: call.method,
)
async def test_every_call_fits_the_real_sync_and_async_signatures(call, hook):
    getattr(hook, call.method)(**call.kwargs)
    await getattr(hook, call.amethod)(**call.kwargs)


def test_a_misspelt_keyword_would_fail(hook):
    with pytest.raises(TypeError):
        hook.get_job_runs(account_id=1, status_in=[1])


def test_drive_calls_makes_calls_through_the_public_methods(hook):
    hook.trigger_job_run.return_value = answer({"id": 9, "status": 1})
    obtained = calls.drive_calls(obtain_run(RunRequest(300, "why", None)), hook)
    assert obtained.run.id == 9
    hook.trigger_job_run.assert_called_once_with(
        account_id=None,
        job_id=300,
        cause="why",
        steps_override=None,
        schema_override=None,
        retry_from_failure=False,
        additional_run_config={},
    )


def test_errors_from_a_method_are_thrown_into_the_flow(hook):
    request = RunRequest(300, "why [airflow:m]", "[airflow:m]")
    hook.trigger_job_run.side_effect = DbtCloudRunMayExistError("POST", "/run/", "reset")
    hook.get_job_runs.return_value = answer([{"id": 9, "status": 1, "trigger": {"cause": "why [airflow:m]"}}])
    assert calls.drive_calls(obtain_run(request), hook).run.id == 9


async def test_adrive_calls_uses_the_async_twins(hook):
    hook.atrigger_job_run.return_value = {"data": {"id": 9, "status": 1}}
    obtained = await calls.adrive_calls(obtain_run(RunRequest(300, "why", None)), hook)
    assert obtained.run.id == 9
    hook.trigger_job_run.assert_not_called()


@pytest.mark.parametrize("body", [None, {"status": {}}, {"data": None}])
def test_a_body_without_a_run_is_a_payload_error(body):
    with pytest.raises(DbtCloudPayloadError):
        calls.run_from_body(body)


def test_a_list_answer_must_hold_a_list():
    with pytest.raises(DbtCloudPayloadError, match="expected a list of runs"):
        calls.runs_from_body({"data": {"id": 1}})


def test_a_test_double_in_place_of_a_response_is_read_leniently():
    double = mock.MagicMock()
    run = calls.get_run(5, None).parse(double)
    assert run.id is double.json()["data"]["id"]


def test_a_real_response_with_a_malformed_body_is_refused():
    import requests

    response = requests.Response()
    response.status_code = 200
    response._content = b'{"data": {"id": null}}'
    with pytest.raises(DbtCloudPayloadError, match="id must be an integer, got None"):
        calls.get_run(5, None).parse(response)
