"""DAGs the UI tests show in Airflow's UI (copied into the throw-away DAGs folder by ``ui_server``).

Each DAG runs one dbt Cloud job with ``DbtCloudRunJobOperator``; the emulator's script for the job
decides whether the run, and so the task, succeeds (see ``ui_server.UI_DAGS``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor

#: The dbt Cloud job each DAG runs, by DAG id (jobs of the emulator's built-in account).
DAG_JOBS = {"ui_success": 302, "ui_failure": 300, "ui_restricted": 301}
#: The run task of each DAG.
TASK_ID = "run"
#: In the successful DAG, a sensor that watches the run its run task started.
SENSOR_TASK_ID = "watch"
#: A DAG the tests run themselves, to watch a run in progress (not run before the API server starts).
LIVE_DAG = "ui_live"
LIVE_JOB = 303

for _dag_id, _job_id in DAG_JOBS.items():
    with DAG(dag_id=_dag_id, start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
        _run = DbtCloudRunJobOperator(task_id=TASK_ID, job_id=_job_id, check_interval=1)
        if _dag_id == "ui_success":
            DbtCloudJobRunSensor(task_id=SENSOR_TASK_ID, run_id=_run.output, poke_interval=1)

with DAG(dag_id=LIVE_DAG, start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
    DbtCloudRunJobOperator(task_id=TASK_ID, job_id=LIVE_JOB, check_interval=1)
