"""DbtCloudHook.get_failure_report gathers steps and run_results.json; every waiter renders it."""

from __future__ import annotations

from unittest import mock

import pytest
from api_failure_payloads import RUN, RUN_RESULTS

from airflow_dbtcloud.hooks.dbt import DbtCloudError, DbtCloudHook

pytestmark = pytest.mark.usefixtures("dbt_conn")


@pytest.fixture(autouse=True)
def _stop_patches():
    yield
    mock.patch.stopall()


def test_report_renders_steps_table_and_url():
    hook = DbtCloudHook()
    mock.patch.object(hook, "get_run_data", return_value=RUN).start()
    artifact = mock.patch.object(hook, "get_artifact_json", return_value=RUN_RESULTS).start()
    text = hook.get_failure_report(7).render()
    assert "dbt Cloud run 7 ended with status Error." in text
    assert "Step 2 Error after 12s: Invoke dbt with `dbt build`" in text
    assert "Failed nodes (2):" in text
    header = next(line for line in text.splitlines() if "node" in line and "status" in line)
    assert header.split() == ["node", "status", "message", "time"]
    assert "model.jaffle_shop.customers" in text
    assert "2.5s" in text
    assert text.rstrip().endswith("Run: https://cloud.example/deploy/1/projects/100/runs/7/")
    assert artifact.call_args.kwargs["step"] == 2


def test_report_notes_missing_run_results_and_falls_back_to_last_step():
    hook = DbtCloudHook()
    mock.patch.object(hook, "get_run_data", return_value=RUN).start()
    artifact = mock.patch.object(hook, "get_artifact_json", return_value=None).start()
    report = hook.get_failure_report(7)
    assert artifact.call_count == 2
    assert "No run_results.json" in report.render()


def test_report_survives_api_errors():
    hook = DbtCloudHook()
    mock.patch.object(hook, "get_run_data", side_effect=DbtCloudError("boom")).start()
    report = hook.get_failure_report(7, url="https://u/")
    assert "Could not fetch the run: boom" in report.render()
    assert "Run: https://u/" in report.render()
