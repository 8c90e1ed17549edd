from __future__ import annotations

from unittest import mock

from airflow_dbtcloud.hooks.dbt import DbtCloudError
from airflow_dbtcloud.utils.failure_report import collect_failure_report, failed_nodes, failed_steps

RUN_RESULTS = {
    "results": [
        {
            "unique_id": "model.jaffle_shop.orders",
            "status": "success",
            "execution_time": 1.0,
            "message": "OK",
        },
        {
            "unique_id": "model.jaffle_shop.customers",
            "status": "error",
            "execution_time": 2.5,
            "message": "Database Error\n  relation does not exist",
        },
        {
            "unique_id": "test.jaffle_shop.not_null",
            "status": "fail",
            "execution_time": None,
            "message": "Got 3",
        },
        {"unique_id": "test.jaffle_shop.warned", "status": "warn", "execution_time": 0.1, "message": "w"},
    ]
}
RUN = {
    "id": 7,
    "status": 20,
    "status_humanized": "Error",
    "status_message": "Job failed",
    "href": "https://cloud.example/deploy/1/projects/100/runs/7/",
    "run_steps": [
        {"index": 1, "status": 10, "name": "Clone"},
        {
            "index": 2,
            "status": 20,
            "status_humanized": "Error",
            "name": "Invoke dbt with `dbt build`",
            "duration_humanized": "12s",
            "logs": "line1\nline2\nERROR boom",
        },
    ],
}


def test_failed_nodes_keep_errors_and_fails_only():
    nodes = failed_nodes(RUN_RESULTS)
    assert [n.node for n in nodes] == ["model.jaffle_shop.customers", "test.jaffle_shop.not_null"]
    assert nodes[0].message == "Database Error relation does not exist"
    assert nodes[1].seconds is None


def test_failed_nodes_tolerates_garbage():
    assert failed_nodes(None) == []
    assert failed_nodes({"results": ["x", {"status": "error"}]})[0].node == "?"


def test_failed_steps_picks_failed_with_log_tail():
    steps = failed_steps(RUN)
    assert len(steps) == 1
    assert steps[0].index == 2
    assert steps[0].log_tail[-1] == "ERROR boom"


def test_report_renders_steps_table_and_url():
    hook = mock.Mock()
    hook.get_run_data.return_value = RUN
    hook.get_artifact_json.return_value = RUN_RESULTS
    text = collect_failure_report(hook, 7).render()
    assert "dbt Cloud run 7 ended with status Error." in text
    assert "Step 2 Error after 12s: Invoke dbt with `dbt build`" in text
    assert "Failed nodes (2):" in text
    header = next(line for line in text.splitlines() if "node" in line and "status" in line)
    assert header.split() == ["node", "status", "message", "time"]
    assert "model.jaffle_shop.customers" in text
    assert "2.5s" in text
    assert text.rstrip().endswith("Run: https://cloud.example/deploy/1/projects/100/runs/7/")
    assert hook.get_artifact_json.call_args.kwargs["step"] == 2


def test_report_notes_missing_run_results_and_falls_back_to_last_step():
    hook = mock.Mock()
    hook.get_run_data.return_value = RUN
    hook.get_artifact_json.return_value = None
    report = collect_failure_report(hook, 7)
    assert hook.get_artifact_json.call_count == 2
    assert "No run_results.json" in report.render()


def test_report_survives_api_errors():
    hook = mock.Mock()
    hook.get_run_data.side_effect = DbtCloudError("boom")
    report = collect_failure_report(hook, 7, url="https://u/")
    assert "Could not fetch the run: boom" in report.render()
    assert "Run: https://u/" in report.render()
