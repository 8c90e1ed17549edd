"""DbtCloudHook.get_failure_report gathers steps and run_results.json through the reference methods."""

from __future__ import annotations

from unittest import mock

import pytest
from api_failure_payloads import RUN, RUN_RESULTS

from airflow_dbtcloud.hooks.dbt import DbtCloudConfigError, DbtCloudError, DbtCloudHook, DbtCloudNotFoundError

pytestmark = pytest.mark.usefixtures("dbt_conn")


def answer(body):
    response = mock.Mock()
    response.json.return_value = body
    return response


@pytest.fixture
def seams():
    """The two reference methods the report reads, patched on the class as users' tests do."""
    with (
        mock.patch.object(DbtCloudHook, "get_job_run") as get_job_run,
        mock.patch.object(DbtCloudHook, "get_job_run_artifact") as get_artifact,
    ):
        get_job_run.return_value = answer({"data": {**RUN, "artifacts_saved": True}})
        get_artifact.return_value = answer(RUN_RESULTS)
        yield get_job_run, get_artifact


ON_HOST = "https://ab123.us1.dbt.com/deploy/7/projects/100/runs/7/"


def test_report_renders_steps_table_and_url(seams):
    get_job_run, get_artifact = seams
    get_job_run.return_value = answer({"data": {**RUN, "artifacts_saved": True, "href": ON_HOST}})
    text = DbtCloudHook().get_failure_report(7).render()
    assert "dbt Cloud run 7 ended with status Error." in text
    assert "Step 2 Error after 12s: Invoke dbt with `dbt build`" in text
    assert "Failed nodes (2):" in text
    header = next(line for line in text.splitlines() if "node" in line and "status" in line)
    assert header.split() == ["node", "status", "message", "time"]
    assert "model.jaffle_shop.customers" in text
    assert "2.5s" in text
    assert text.rstrip().endswith(f"Run: {ON_HOST}")
    get_job_run.assert_called_once_with(run_id=7, account_id=None, include_related=["run_steps"])
    get_artifact.assert_called_once_with(run_id=7, path="run_results.json", account_id=None, step=2)


@pytest.mark.parametrize(
    "href", ["https://cloud.example/deploy/1/projects/100/runs/7/", "javascript:alert(1)"]
)
def test_report_links_to_the_connections_host_whatever_href_dbt_cloud_gives(seams, href):
    get_job_run, _ = seams
    get_job_run.return_value = answer({"data": {**RUN, "account_id": 1, "project_id": 100, "href": href}})
    report = DbtCloudHook().get_failure_report(7)
    assert report.url == "https://ab123.us1.dbt.com/deploy/1/projects/100/runs/7/"
    assert href not in report.render()


def test_report_refuses_a_bad_run_id_instead_of_reporting_it(seams):
    get_job_run, _ = seams
    with pytest.raises(DbtCloudConfigError, match="run_id must be a positive integer, got 'x'"):
        DbtCloudHook().get_failure_report("x")
    get_job_run.assert_not_called()


def test_report_falls_back_to_the_last_step_then_notes_missing_run_results(seams):
    _, get_artifact = seams
    get_artifact.side_effect = DbtCloudNotFoundError(404, "GET", "/artifacts/run_results.json")
    report = DbtCloudHook().get_failure_report(7)
    assert [call.kwargs["step"] for call in get_artifact.call_args_list] == [2, None]
    assert "No run_results.json was saved for this run." in report.render()


def test_report_does_not_ask_for_artifacts_a_run_did_not_save(seams):
    get_job_run, get_artifact = seams
    get_job_run.return_value = answer({"data": RUN})
    report = DbtCloudHook().get_failure_report(7)
    get_artifact.assert_not_called()
    assert "The run saved no artifacts" in report.render()


def test_report_survives_api_errors(seams):
    get_job_run, _ = seams
    get_job_run.side_effect = DbtCloudError("boom")
    assert "Could not fetch the run: boom" in DbtCloudHook().get_failure_report(7).render()


def test_log_job_run_failure_details_uses_the_run_it_is_given(seams, caplog):
    get_job_run, get_artifact = seams
    report = DbtCloudHook().log_job_run_failure_details(7, job_run={"status": 20, "status_message": "Bad"})
    get_job_run.assert_not_called()
    get_artifact.assert_not_called()
    assert report.status_message == "Bad"
