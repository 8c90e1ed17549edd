"""DAGs run by the integration tests (copied into the temporary DAGs folder by conftest.py)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, AssetAlias

from airflow_dbtcloud.operators.assets import DbtCloudRunAssetsOperator
from airflow_dbtcloud.operators.dbt import DbtCloudGetJobRunArtifactOperator, DbtCloudRunJobOperator
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor

ARTIFACT_DIR = os.environ.get("IT_ARTIFACT_DIR", "/tmp/it-artifacts")
FAST = {"check_interval": 0.2}
ONE_TRY = {"retry_limit": 1, "retry_delay": 0.01}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id=dag_id, start_date=datetime(2025, 1, 1), schedule=None, catchup=False)


with _dag("it_sync"):
    DbtCloudRunJobOperator(task_id="run", job_id=300, **FAST)

with _dag("it_deferrable"):
    DbtCloudRunJobOperator(task_id="run", job_id=300, deferrable=True, **FAST)

with _dag("it_error"):
    DbtCloudRunJobOperator(task_id="run", job_id=301, **FAST)

with _dag("it_error_deferrable"):
    DbtCloudRunJobOperator(task_id="run", job_id=301, deferrable=True, **FAST)

with _dag("it_cancelled"):
    DbtCloudRunJobOperator(task_id="run", job_id=303, retries=2, retry_delay=timedelta(0), **FAST)

with _dag("it_timeout_deferrable"):
    DbtCloudRunJobOperator(task_id="run", job_id=302, deferrable=True, timeout=2, **FAST)

with _dag("it_timeout_sync"):
    DbtCloudRunJobOperator(task_id="run", job_id=302, timeout=2, **FAST)

with _dag("it_execution_timeout_sync"):
    DbtCloudRunJobOperator(task_id="run", job_id=302, execution_timeout=timedelta(seconds=2), **FAST)

with _dag("it_sensor"):
    start = DbtCloudRunJobOperator(task_id="start", job_id=300, wait_for_termination=False)
    poke = DbtCloudJobRunSensor(task_id="poke", run_id=start.output, poke_interval=0.2, timeout=60)
    deferred = DbtCloudJobRunSensor(
        task_id="deferred", run_id=start.output, deferrable=True, poke_interval=0.2
    )
    start >> [poke, deferred]

with _dag("it_sensor_error"):
    start = DbtCloudRunJobOperator(task_id="start", job_id=301, wait_for_termination=False)
    DbtCloudJobRunSensor(task_id="deferred", run_id=start.output, deferrable=True, poke_interval=0.2)

with _dag("it_artifacts"):
    run = DbtCloudRunJobOperator(task_id="run", job_id=300, **FAST)
    local = DbtCloudGetJobRunArtifactOperator(
        task_id="local",
        run_id=run.output,
        path=["run_results.json", "manifest.json"],
        output_dir=f"{ARTIFACT_DIR}/local",
    )
    remote = DbtCloudGetJobRunArtifactOperator(
        task_id="remote", run_id=run.output, path="manifest.json", output_dir=f"file://{ARTIFACT_DIR}/store"
    )
    run >> [local, remote]

for mode, deferrable in (("poke", False), ("deferred", True)):
    # Waits for job 300's next run, started outside Airflow, then fetches the job's latest artifact.
    with _dag(f"it_next_run_{mode}"):
        found = DbtCloudJobRunSensor(
            task_id="next_run", job_id=300, deferrable=deferrable, poke_interval=0.2, timeout=60
        )
        latest = DbtCloudGetJobRunArtifactOperator(
            task_id="latest", job_id=300, path="run_results.json", output_dir=f"{ARTIFACT_DIR}/{mode}"
        )
        found >> latest

with _dag("it_retry_reattach"):
    DbtCloudRunJobOperator(
        task_id="run",
        job_id=300,
        retries=1,
        retry_delay=timedelta(0),
        error_budget=0,
        hook_params=ONE_TRY,
        **FAST,
    )

with _dag("it_retry_from_failure"):
    DbtCloudRunJobOperator(
        task_id="run", job_id=301, retries=1, retry_delay=timedelta(0), retry_from_failure=True, **FAST
    )

with _dag("it_accept_then_fail"):
    DbtCloudRunJobOperator(task_id="run", job_id=300, hook_params=ONE_TRY, **FAST)

# Assets: the producer emits one event per built model, seed and snapshot; the consumers wait on them.
ORDERS_URI = "postgres://db.internal.example:5432/analytics/dbt_prod/orders"

with _dag("it_assets"):
    run = DbtCloudRunJobOperator(task_id="run", job_id=300, emit_assets=True, **FAST)
    # Airflow records no events of a failed task: this one records what a failed run did build.
    run >> DbtCloudRunAssetsOperator(
        task_id="assets_after_failure",
        run_id="{{ ti.xcom_pull(task_ids='run', key='job_run_id') }}",
        job_id=300,
        trigger_rule="all_failed",
    )

with _dag("it_assets_deferrable_sensor"):
    start = DbtCloudRunJobOperator(task_id="start", job_id=301, wait_for_termination=False)
    DbtCloudJobRunSensor(
        task_id="wait",
        run_id=start.output,
        deferrable=True,
        poke_interval=0.2,
        outlets=[AssetAlias("it_sensor_alias")],
    )

with DAG(dag_id="it_assets_consumer", start_date=datetime(2025, 1, 1), schedule=[Asset(uri=ORDERS_URI)]):
    EmptyOperator(task_id="report")

with DAG(
    dag_id="it_assets_alias_consumer",
    start_date=datetime(2025, 1, 1),
    schedule=[AssetAlias("dbt_cloud__job_300")],
):
    EmptyOperator(task_id="report")

with _dag("it_lineage"):
    DbtCloudRunJobOperator(task_id="run", job_id=300, openlineage_inject_parent_job_info=True, **FAST)

# The fault soak (test_fault_soak.py): every kind of wait and a download, through injected faults.
with _dag("it_soak"):
    DbtCloudRunJobOperator(task_id="deferred", job_id=300, deferrable=True, **FAST)
    polled = DbtCloudRunJobOperator(task_id="polled", job_id=300, **FAST)
    started = DbtCloudRunJobOperator(task_id="started", job_id=300, wait_for_termination=False)
    DbtCloudJobRunSensor(task_id="sensed", run_id=started.output, deferrable=True, poke_interval=0.2)
    polled >> DbtCloudGetJobRunArtifactOperator(
        task_id="artifact",
        run_id=polled.output,
        path="run_results.json",
        output_dir=f"{ARTIFACT_DIR}/soak/{{{{ run_id }}}}",
    )
