"""Retry a failed dbt Cloud run from its point of failure when the task retries."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator

JOB_ID = int(os.environ.get("DBT_CLOUD_JOB_ID", "301"))

with DAG(
    dag_id="example_dbt_cloud_retry_from_failure",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["example", "dbt_cloud"],
) as dag:
    # [START howto_operator_dbt_cloud_retry_from_failure]
    run_with_retry = DbtCloudRunJobOperator(
        task_id="run_with_retry",
        job_id=JOB_ID,
        retry_from_failure=True,
        retries=2,
        retry_delay=timedelta(minutes=1),
        execution_timeout=timedelta(hours=2),
        deferrable=True,
    )
    # [END howto_operator_dbt_cloud_retry_from_failure]
