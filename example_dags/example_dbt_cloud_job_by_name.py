"""Find a job by project, environment and job name, and list jobs and runs."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_dbtcloud.operators.dbt import (
    DbtCloudListJobRunsOperator,
    DbtCloudListJobsOperator,
    DbtCloudRunJobOperator,
)

with DAG(
    dag_id="example_dbt_cloud_job_by_name",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["example", "dbt_cloud"],
) as dag:
    # [START howto_operator_dbt_cloud_run_job_by_name]
    run_by_name = DbtCloudRunJobOperator(
        task_id="run_by_name",
        project_name="jaffle_shop",
        environment_name="Production",
        job_name="Daily build",
        check_interval=10,
    )
    # [END howto_operator_dbt_cloud_run_job_by_name]

    # [START howto_operator_dbt_cloud_list]
    list_jobs = DbtCloudListJobsOperator(task_id="list_jobs", project_id=100)
    latest_run = DbtCloudListJobRunsOperator(task_id="latest_run", job_id=300, latest_only=True)
    # [END howto_operator_dbt_cloud_list]

    run_by_name >> [list_jobs, latest_run]
