"""Whole DAGs run with ``dag.test()`` on SQLite against the dbt Cloud emulator over HTTP."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from pathlib import Path

import pytest


def _run_id(result, task_id="run"):
    return int(result.xcom[(task_id, "job_run_id")])


def test_sync_run_succeeds_and_publishes_links(emu, run_dag):
    result = run_dag("it_sync")
    assert result.state == "success"
    assert emu.runs_created(300) == 1
    run_id = _run_id(result)
    assert result.xcom[("run", "return_value")] == run_id
    url = result.xcom[("run", "job_run_url")]
    assert f"/runs/{run_id}/" in url
    assert result.xcom[("run", "_link_DbtCloudRunJobOperatorLink")] == url
    assert result.xcom[("run", "_link_DbtCloudJobLink")].endswith("/projects/100/jobs/300/")


def test_deferrable_run_succeeds(emu, run_dag, caplog):
    result = run_dag("it_deferrable")
    assert result.state == "success"
    assert emu.runs_created(300) == 1
    assert "running trigger in line" in caplog.text


def test_error_logs_failed_node_table(emu, run_dag, capfd):
    emu.fail_next_run(301, failing_nodes=["model.jaffle_shop.orders"])
    result = run_dag("it_error")
    assert result.ti_state("run") == "failed"
    text = "".join(capfd.readouterr())
    assert "Failed nodes" in text
    assert re.search(r"model\.jaffle_shop\.\w+\s+error\s+Database Error", text)
    assert f"/runs/{_run_id(result)}/" in text


def test_error_deferrable_reports_too(emu, run_dag, capfd):
    emu.fail_next_run(301, failing_nodes=["model.jaffle_shop.customers"])
    result = run_dag("it_error_deferrable")
    assert result.ti_state("run") == "failed"
    assert re.search(r"model\.jaffle_shop\.\w+\s+error", "".join(capfd.readouterr()))


def test_cancelled_run_fails_without_retrying(emu, run_dag):
    emu.set_job_script(303, outcome="cancelled")
    result = run_dag("it_cancelled")
    assert result.ti_state("run") == "failed"
    assert result.try_number("run") == 1
    assert emu.runs_created(303) == 1


@pytest.mark.parametrize("dag_id", ["it_timeout_deferrable", "it_timeout_sync", "it_execution_timeout_sync"])
def test_timeout_cancels_the_run(emu, run_dag, capfd, dag_id):
    emu.set_job_script(302, outcome="hang")
    result = run_dag(dag_id)
    assert result.ti_state("run") == "failed"
    run_id = _run_id(result)
    assert emu.get_run(run_id)["status"] == 30
    assert f"Cancelling dbt Cloud run {run_id}" in "".join(capfd.readouterr())


def test_sensor_poke_and_deferrable(emu, run_dag):
    result = run_dag("it_sensor")
    assert result.tis["poke"][0] == "success"
    assert result.tis["deferred"][0] == "success"
    assert emu.runs_created(300) == 1
    url = result.xcom[("start", "job_run_url")]
    assert result.xcom[("poke", "_link_DbtCloudRunJobOperatorLink")] == url
    assert result.xcom[("deferred", "_link_DbtCloudRunJobOperatorLink")] == url


def test_sensor_fails_on_error(emu, run_dag, capfd):
    emu.fail_next_run(301, failing_nodes=["model.jaffle_shop.orders"])
    result = run_dag("it_sensor_error")
    assert result.ti_state("deferred") == "failed"
    assert re.search(r"model\.jaffle_shop\.\w+\s+error", "".join(capfd.readouterr()))


def test_artifacts_to_local_dir_and_object_storage(emu, run_dag):
    result = run_dag("it_artifacts")
    assert result.state == "success"
    run_id = _run_id(result)
    local = [Path(p) for p in result.xcom[("local", "return_value")]]
    assert [p.name for p in local] == [f"{run_id}_run_results.json", f"{run_id}_manifest.json"]
    assert "results" in json.loads(local[0].read_text())
    remote = result.xcom[("remote", "return_value")]
    assert remote.startswith("file://")
    assert remote.endswith(f"/store/{run_id}_manifest.json")
    assert "nodes" in json.loads(Path(remote.removeprefix("file://")).read_text())


@pytest.mark.parametrize("mode", ["poke", "deferred"])
def test_a_sensor_waits_for_a_run_started_outside_airflow_then_its_artifact_is_fetched(emu, run_dag, mode):
    started: list[int] = []

    def dbt_cloud_scheduler() -> None:
        # Start the run only once the sensor has taken its first look, as a run that comes later would.
        seen = len(emu.journal)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(entry.get("route") == "list_runs" for entry in emu.journal[seen:]):
                started.append(emu.start_run(300, source="scheduler"))
                return
            time.sleep(0.05)

    scheduler = threading.Thread(target=dbt_cloud_scheduler)
    scheduler.start()
    try:
        result = run_dag(f"it_next_run_{mode}")
    finally:
        scheduler.join()

    assert result.state == "success"
    assert len(started) == 1
    assert result.xcom[("next_run", "return_value")] == started[0]
    assert emu.runs_created(300) == 0, "Airflow started no run"
    written = Path(result.xcom[("latest", "return_value")])
    assert written.name == "job_300_latest_run_results.json"
    assert json.loads(written.read_text()) == _artifact(emu, started[0], "run_results.json")


def _artifact(emu, run_id: int, path: str) -> object:
    request = urllib.request.Request(  # noqa: S310 - the loopback emulator
        f"{emu.base_url}/api/v2/accounts/{emu.account_id}/runs/{run_id}/artifacts/{path}",
        headers={"Authorization": f"Token {emu.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def test_second_try_reattaches_to_first_tries_run(emu, run_dag):
    emu.set_job_script(300, outcome="success", running_seconds=1.0)
    emu.add_fault(route="get_run", kind="status", status=503, times=1)
    result = run_dag("it_retry_reattach")
    assert result.ti_state("run") == "success"
    assert result.try_number("run") == 2
    assert emu.runs_created(300) == 1


def test_retry_from_failure_retries_the_tasks_own_run(emu, run_dag):
    emu.fail_next_run(301, failing_nodes=["model.jaffle_shop.orders"])
    result = run_dag("it_retry_from_failure")
    assert result.ti_state("run") == "success"
    retries = [e for e in emu.journal if e["method"] == "POST" and e["path"].endswith("/retry/")]
    assert len(retries) == 1


def test_accept_then_fail_post_gives_one_run(emu, run_dag):
    emu.add_fault(route="trigger_run", kind="accept_then_fail", times=1)
    result = run_dag("it_accept_then_fail")
    assert result.ti_state("run") == "success"
    assert emu.runs_created(300) == 1


def test_retry_post_answer_lost_gives_one_retry(emu, run_dag):
    emu.fail_next_run(301, failing_nodes=["model.jaffle_shop.orders"])
    emu.add_fault(route="retry_run", kind="accept_then_fail", times=1)
    result = run_dag("it_retry_from_failure")
    assert result.ti_state("run") == "success"
    retries = [e for e in emu.journal if e["method"] == "POST" and e["path"].endswith("/retry/")]
    assert len(retries) == 1
    assert emu.runs_created(301) == 2


@pytest.mark.parametrize("status", [400, 409])
def test_a_refused_retry_starts_a_new_run_on_the_tasks_retry(emu, run_dag, capfd, status):
    emu.fail_next_run(301, failing_nodes=["model.jaffle_shop.orders"])
    emu.add_fault(route="retry_run", kind="status", status=status, times=1)
    result = run_dag("it_retry_from_failure")
    assert result.ti_state("run") == "success"
    assert result.try_number("run") == 2
    posts = [e["path"] for e in emu.journal if e["method"] == "POST"]
    # First try: the job's run. Second try: the retry dbt Cloud refused, then a new run of the job.
    assert [p.rsplit("/", 2)[-2] for p in posts] == ["run", "retry", "run"]
    assert emu.runs_created(301) == 2
    logged = capfd.readouterr()
    assert "refused to retry run" in logged.out + logged.err


def test_a_run_post_answered_after_the_read_timeout_gives_one_run(emu, run_dag, monkeypatch):
    # dbt Cloud creates the run 1.5 s after the request came; the client gave up after 1 s.
    conn = json.loads(emu.connection_json())
    conn["extra"] = {**(conn.get("extra") or {}), "read_timeout": 1.0}
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
    emu.add_fault(route="trigger_run", kind="latency", latency=1.5, status=None, times=1)
    result = run_dag("it_accept_then_fail")
    assert result.ti_state("run") == "success"
    assert emu.runs_created(300) == 1
