"""Run after dbt Cloud runs a job, whoever starts it: an asset watcher, and a sensor for the next run.

dbt Cloud's own scheduler, CI or a person start many runs that Airflow never sees. The first DAG is
scheduled on an asset that a ``DbtCloudJobRunEventTrigger`` watches: each new successful run of the job
queues one DAG run, with the run's id, URL and cause in the asset event. The second waits inside a DAG
run for the job's next successful run, then fetches the manifest of the job's latest run.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_dbtcloud.operators.dbt import DbtCloudGetJobRunArtifactOperator
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor
from airflow_dbtcloud.triggers.dbt import DbtCloudJobRunEventTrigger

JOB_ID = int(os.environ.get("DBT_CLOUD_JOB_ID", "300"))
ARTIFACT_DIR = os.environ.get("DBT_CLOUD_ARTIFACT_DIR", "dbt_cloud_artifacts")

# [START howto_trigger_dbt_cloud_job_run_event]
dbt_job_succeeded = Asset(
    f"dbt_cloud_job_{JOB_ID}_succeeded",
    watchers=[
        AssetWatcher(
            name=f"dbt_cloud_job_{JOB_ID}",
            trigger=DbtCloudJobRunEventTrigger(
                job_id=JOB_ID,
                statuses=[10],  # success; add 20 (error) or 30 (cancelled) to fire on those too
                exclude_airflow_runs=True,  # runs this provider's operator starts are seen there already
                poll_interval=60,
            ),
        )
    ],
)

with DAG(
    dag_id="example_dbt_cloud_job_events",
    start_date=datetime(2025, 1, 1),
    schedule=[dbt_job_succeeded],
    catchup=False,
    tags=["example", "dbt_cloud"],
):

    @task
    def after_the_run(triggering_asset_events=None) -> None:
        """Read which dbt Cloud run queued this DAG run."""
        for event in (triggering_asset_events or {}).get(dbt_job_succeeded, []):
            run = event.extra["payload"]
            print(run["run_id"], run["status_name"], run["url"], run["cause"], run["artifacts_saved"])

    # The same run id in a templated field: the newest event of the (only) triggering asset.
    run_results = DbtCloudGetJobRunArtifactOperator(
        task_id="run_results",
        run_id="{{ (triggering_asset_events.values() | first | last).extra['payload']['run_id'] }}",
        path="run_results.json",
        output_dir=ARTIFACT_DIR,
    )
    after_the_run() >> run_results
# [END howto_trigger_dbt_cloud_job_run_event]

# [START howto_sensor_dbt_cloud_next_run]
with DAG(
    dag_id="example_dbt_cloud_next_run",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["example", "dbt_cloud"],
):
    next_run = DbtCloudJobRunSensor(
        task_id="next_successful_run",
        job_id=JOB_ID,
        started_after="{{ dag_run.start_date }}",  # count a run that ended before the sensor started
        deferrable=True,
        poke_interval=30,
        timeout=6 * 3600,
    )
    latest_manifest = DbtCloudGetJobRunArtifactOperator(
        task_id="latest_manifest",
        job_id=JOB_ID,
        path="manifest.json",
        output_dir=ARTIFACT_DIR,
    )
    next_run >> latest_manifest
# [END howto_sensor_dbt_cloud_next_run]
