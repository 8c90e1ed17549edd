"""Run a dbt Cloud job and wait for it, in the triggerer or by a sensor."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor

JOB_ID = int(os.environ.get("DBT_CLOUD_JOB_ID", "300"))

with DAG(
    dag_id="example_dbt_cloud_run_job",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    default_args={"dbt_cloud_conn_id": "dbt_cloud_default"},
    tags=["example", "dbt_cloud"],
) as dag:
    # [START howto_operator_dbt_cloud_run_job_deferrable]
    trigger_and_wait = DbtCloudRunJobOperator(
        task_id="trigger_and_wait",
        job_id=JOB_ID,
        check_interval=10,
        timeout=3600,
        deferrable=True,
    )
    # [END howto_operator_dbt_cloud_run_job_deferrable]

    # [START howto_operator_dbt_cloud_run_job_async_sensor]
    trigger_only = DbtCloudRunJobOperator(
        task_id="trigger_only",
        job_id=JOB_ID,
        steps_override=["dbt build --select state:modified+"],
        wait_for_termination=False,
    )
    wait_for_run = DbtCloudJobRunSensor(
        task_id="wait_for_run",
        run_id=trigger_only.output,
        deferrable=True,
    )
    # [END howto_operator_dbt_cloud_run_job_async_sensor]

    trigger_and_wait >> trigger_only
