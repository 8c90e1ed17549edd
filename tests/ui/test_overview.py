"""The overview's grouping: per connection and job, counts, success rate, latest task, runs in progress."""

from __future__ import annotations

from types import SimpleNamespace

from test_run_view import task_run

from airflow_dbtcloud.ui.app import UNNAMED_JOB, overview


def request(root_path: str = "/dbt-cloud") -> SimpleNamespace:
    return SimpleNamespace(scope={"root_path": root_path})


def test_jobs_are_grouped_per_connection_with_their_success_rate_and_latest_task():
    newest_first = [
        task_run(13, run_id="r3", state="failed", duration=30.0),
        task_run(12, run_id="r2", state="success", duration=10.0),
        task_run(11, run_id="r1", state="success", duration=20.0),
        task_run(21, job_id=None, job_name="Nightly", conn_id="eu", state="deferred"),
    ]
    found = overview(newest_first, request())
    assert [c["conn_id"] for c in found["connections"]] == ["dbt_cloud_default", "eu"]
    job = found["connections"][0]["jobs"][0]
    assert (job["job"], job["task_runs"], job["finished"], job["succeeded"]) == ("300", 3, 3, 2)
    assert abs(job["success_rate"] - 2 / 3) < 1e-9
    assert job["mean_duration"] == 20.0
    assert (job["last"]["dbt_run_id"], job["last"]["state"]) == (13, "failed")
    assert job["last"]["ti_url"] == "/dags/d/runs/r3/tasks/run"
    nightly = found["connections"][1]["jobs"][0]
    assert (nightly["job"], nightly["finished"], nightly["success_rate"]) == ("Nightly", 0, None)
    assert [r["dbt_run_id"] for r in found["in_progress"]] == [21]


def test_links_to_task_instances_keep_airflows_base_path_and_quote_ids():
    mapped = task_run(5, run_id="manual__2026-01-01T00:00:00+00:00", map_index=3, dag_id="a b")
    found = overview([mapped], request("/airflow/dbt-cloud"))
    assert found["connections"][0]["jobs"][0]["last"]["ti_url"] == (
        "/airflow/dags/a%20b/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00/tasks/run/mapped/3"
    )


def test_tasks_that_name_no_job_share_one_row_that_says_so():
    sensor = task_run(7, job_id=None, job_name=None, task_id="watch")
    found = overview([sensor], request())
    assert [job["job"] for job in found["connections"][0]["jobs"]] == [UNNAMED_JOB]


def test_no_task_runs_give_an_empty_overview():
    assert overview([], request()) == {"connections": [], "in_progress": []}
