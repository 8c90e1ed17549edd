"""Run the demo's DAGs with ``dag.test()`` in one Airflow process; report what Airflow recorded.

``scripts/demo.py`` starts this script in the demo's Airflow environment (a migrated SQLite metadata DB,
the DAGs folder, the dbt Cloud connection pointing at the emulator) with the DAG ids to run, in order.
Each DAG runs as ``airflow dags test <dag_id>`` would run it: every task in this process, a deferred
task's trigger inline. After each DAG run, the DAG run, its task instances, XCom and asset events are
read back from the metadata DB through Airflow's models and printed as one JSON line starting with
:data:`MARK`; everything else on stdout is Airflow's own log.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

#: The start of the lines this script writes for ``demo.py``; the other lines are Airflow's log.
MARK = "@@demo "


def emit(event: str, **fields: Any) -> None:
    """Write one event line for ``demo.py``.

    :param event: What happened: ``start``, ``done`` or ``error``.
    :param fields: The event's data, as JSON.
    """
    print(MARK + json.dumps({"event": event, **fields}, default=str), flush=True)


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def record(dag: Any, dag_run: Any) -> dict[str, Any]:
    """What the metadata DB holds about one finished DAG run, as plain data.

    :param dag: The DAG, as parsed; it tells which dbt Cloud job each task names (``job_id``).
    :param dag_run: The DAG run ``dag.test()`` returned.
    :return: The fields of :class:`demo_report.DagRunRecord`.
    """
    from airflow.models.asset import AssetEvent
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    keys = {"dag_id": dag_run.dag_id, "run_id": dag_run.run_id}
    with create_session() as session:
        run = session.query(DagRun).filter_by(**keys).one()
        tasks = [
            {
                "task_id": ti.task_id,
                "operator": ti.operator,
                "state": None if ti.state is None else str(ti.state),
                "try_number": ti.try_number,
                "duration": ti.duration,
                "job_id": getattr(dag.get_task(ti.task_id), "job_id", None),
            }
            for ti in session.query(TaskInstance).filter_by(**keys).order_by(TaskInstance.start_date)
        ]
        xcom: dict[str, dict[str, Any]] = {}
        for row in session.query(XComModel).filter_by(**keys):
            xcom.setdefault(row.task_id, {})[row.key] = XComModel.deserialize_value(row)
        events = session.query(AssetEvent).filter_by(source_dag_id=run.dag_id, source_run_id=run.run_id)
        asset_events = [
            {"uri": event.asset.uri, "source_task_id": event.source_task_id, "extra": event.extra}
            for event in events.order_by(AssetEvent.id)
        ]
        return {
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "state": str(run.state),
            "start_date": _iso(run.start_date),
            "end_date": _iso(run.end_date),
            "tasks": tasks,
            "xcom": xcom,
            "asset_events": asset_events,
        }


def main(dag_ids: list[str]) -> int:
    """Run each DAG once, in order; return 0 unless a DAG could not be parsed.

    :param dag_ids: The DAGs to run, all from the DAGs folder.
    """
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        emit("error", message=f"DAG files failed to import: {bag.import_errors}")
        return 1
    for dag_id in dag_ids:
        dag = bag.dags[dag_id]
        emit("start", dag_id=dag_id, file=Path(dag.fileloc).name)
        started = time.monotonic()
        dag_run = dag.test()
        emit("done", seconds=round(time.monotonic() - started, 1), **record(dag, dag_run))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
