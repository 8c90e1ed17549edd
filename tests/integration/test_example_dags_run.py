"""The example DAGs that the demo does not run, run with ``dag.test()`` against the emulator.

The examples are what users copy, so each runs as written; only what makes a test slow is shortened
(the poll interval, the retry delay), on the parsed task objects.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def _example(name: str, dag_id: str, dags_folder: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    # dag.test() runs DAGs of the DAGs folder (it serializes them from there).
    shutil.copy(EXAMPLES / name, dags_folder / name)
    bag = DagBag(dag_folder=str(dags_folder / name))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def test_job_by_name_finds_the_job_then_lists_jobs_and_runs(emu, airflow_db, run_parsed_dag):
    dag = _example("example_dbt_cloud_job_by_name.py", "example_dbt_cloud_job_by_name", airflow_db)
    dag.get_task("run_by_name").check_interval = 0.2
    result = run_parsed_dag(dag)
    assert result.state == "success", result.tis
    # "Daily build" in jaffle_shop / Production is job 300: one run of it, found by name.
    assert emu.runs_created(300) == 1
    assert emu.runs_created() == 1
    run_id = int(result.xcom[("run_by_name", "return_value")])
    assert emu.get_run(run_id)["job_definition_id"] == 300
    listed = result.xcom[("list_jobs", "return_value")]
    assert 300 in listed
    # latest_only: the job's newest run, as dbt Cloud describes it.
    latest = result.xcom[("latest_run", "return_value")]
    assert latest["id"] == run_id
    assert latest["job_definition_id"] == 300


def test_retry_from_failure_reruns_from_the_failed_node_on_the_tasks_retry(
    emu, airflow_db, run_parsed_dag, monkeypatch
):
    monkeypatch.setenv("DBT_CLOUD_JOB_ID", "301")
    dag = _example(
        "example_dbt_cloud_retry_from_failure.py", "example_dbt_cloud_retry_from_failure", airflow_db
    )
    task = dag.get_task("run_with_retry")
    task.retry_delay = timedelta(0)
    task.check_interval = 0.2
    emu.fail_next_run(301, failing_nodes=["model.jaffle_shop.orders"])
    result = run_parsed_dag(dag)
    assert result.ti_state("run_with_retry") == "success"
    assert result.try_number("run_with_retry") == 2
    # One job run started by the first try; the second try asked dbt Cloud to rerun it from its
    # failure (which dbt Cloud records as a second run) instead of starting the job afresh.
    posts = [e["path"] for e in emu.journal if e["method"] == "POST"]
    assert [p for p in posts if p.endswith("/run/")] == ["/api/v2/accounts/1/jobs/301/run/"]
    retries = [p for p in posts if p.endswith("/retry/")]
    assert len(retries) == 1
    failed = emu.get_run(int(retries[0].split("/runs/")[1].split("/")[0]))
    assert (failed["job_definition_id"], failed["status"]) == (301, 20), "the first try's failed run"
    assert emu.runs_created(301) == 2
