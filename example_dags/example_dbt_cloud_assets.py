"""dbt models as Airflow assets: a producer that runs a dbt Cloud job, and consumers scheduled on its tables.

The producer adds one asset event per model, seed and snapshot the run built (through a second task when
the run failed, since Airflow records no events of a failed task). Each URI names the warehouse
table the way Airflow's own providers do (here Postgres; see ``docs/assets.md`` for the other warehouses),
so the consumer below is scheduled on exactly the table another provider's task would read.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Asset, AssetAlias, task

from airflow_dbtcloud.operators.assets import DbtCloudRunAssetsOperator
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator

JOB_ID = int(os.environ.get("DBT_CLOUD_JOB_ID", "300"))
#: The table the consumer waits for; the default is the emulator's Postgres project.
ORDERS_URI = os.environ.get(
    "DBT_CLOUD_ORDERS_URI", "postgres://db.internal.example:5432/analytics/dbt_prod/orders"
)

# [START howto_operator_dbt_cloud_emit_assets]
with DAG(
    dag_id="example_dbt_cloud_assets_producer",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["example", "dbt_cloud"],
):
    build = DbtCloudRunJobOperator(
        task_id="build",
        job_id=JOB_ID,
        emit_assets=True,  # events go to the alias "dbt_cloud__job_<JOB_ID>"
        deferrable=True,
        check_interval=10,
    )
    # A failed task records no asset events; this task records what a failed run did build.
    build >> DbtCloudRunAssetsOperator(
        task_id="assets_of_failed_build",
        run_id="{{ ti.xcom_pull(task_ids='build', key='job_run_id') }}",
        job_id=JOB_ID,
        trigger_rule="all_failed",
    )
# [END howto_operator_dbt_cloud_emit_assets]

# [START howto_schedule_on_dbt_cloud_model]
with DAG(
    dag_id="example_dbt_cloud_assets_consumer",
    start_date=datetime(2025, 1, 1),
    schedule=[Asset(uri=ORDERS_URI)],
    catchup=False,
    tags=["example", "dbt_cloud"],
):

    @task
    def report(triggering_asset_events=None) -> None:
        """Read what the dbt Cloud run said about the table it built."""
        # Keyed by the asset or by the alias the event came through; each event names its asset.
        for events in (triggering_asset_events or {}).values():
            for event in events:
                print(event.asset.uri, event.extra.get("dbt_cloud_run_id"), event.extra.get("rows_affected"))

    report()
# [END howto_schedule_on_dbt_cloud_model]

# [START howto_schedule_on_dbt_cloud_job_alias]
with DAG(
    dag_id="example_dbt_cloud_assets_any_model",
    start_date=datetime(2025, 1, 1),
    schedule=[AssetAlias(f"dbt_cloud__job_{JOB_ID}")],
    catchup=False,
    tags=["example", "dbt_cloud"],
):

    @task
    def anything_rebuilt() -> None:
        """Runs after each run of the job that built at least one model."""

    anything_rebuilt()
# [END howto_schedule_on_dbt_cloud_job_alias]
