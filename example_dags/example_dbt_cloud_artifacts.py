"""Run a job, then download its artifacts to a local directory and to object storage."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_dbtcloud.operators.dbt import DbtCloudGetJobRunArtifactOperator, DbtCloudRunJobOperator

JOB_ID = int(os.environ.get("DBT_CLOUD_JOB_ID", "300"))
OUTPUT_DIR = os.environ.get("DBT_CLOUD_ARTIFACT_DIR", "dbt_cloud_artifacts")
OUTPUT_URI = os.environ.get("DBT_CLOUD_ARTIFACT_URI", "file:///tmp/dbt_cloud_artifacts_store")

with DAG(
    dag_id="example_dbt_cloud_artifacts",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["example", "dbt_cloud"],
) as dag:
    run_job = DbtCloudRunJobOperator(task_id="run_job", job_id=JOB_ID, check_interval=10)

    # [START howto_operator_dbt_cloud_get_artifact]
    download_local = DbtCloudGetJobRunArtifactOperator(
        task_id="download_local",
        run_id=run_job.output,
        path=["run_results.json", "manifest.json"],
        output_dir=OUTPUT_DIR,
    )
    download_object_storage = DbtCloudGetJobRunArtifactOperator(
        task_id="download_object_storage",
        run_id=run_job.output,
        path="manifest.json",
        output_dir=OUTPUT_URI,
    )
    # [END howto_operator_dbt_cloud_get_artifact]

    run_job >> [download_local, download_object_storage]
