"""Which dbt Cloud run a task instance started or watched, read from Airflow's metadata database.

The view runs in the API server, which owns the database. A task of this provider's run operator or
sensor pushes the run id to XCom (``job_run_id``) and renders its connection id, account id and job id
as template fields; those two records are all the view needs to find the run again, so it works for
any task that follows the same conventions (the official provider's included) and never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow.models.renderedtifields import RenderedTaskInstanceFields
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_dbtcloud.api.ids import optional_id
from airflow_dbtcloud.api.lifecycle import marker_for
from airflow_dbtcloud.links.dbt import JOB_RUN_ID_KEY

__all__ = ["DEFAULT_CONN_ID", "RECENT_LIMIT", "TaskRun", "find_task_run", "recent_task_runs"]

#: The connection a task uses when its ``dbt_cloud_conn_id`` was not rendered.
DEFAULT_CONN_ID = "dbt_cloud_default"
#: How many of the newest task instances with a run the overview reads.
RECENT_LIMIT = 2000
#: What a connection id may look like before it is handed to the hook (Airflow's own ids are tamer).
_CONN_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")


@dataclass(frozen=True)
class TaskRun:
    """A task instance and the dbt Cloud run it pushed to XCom.

    :param dag_id: The DAG id.
    :param run_id: The DAG run id.
    :param task_id: The task id.
    :param map_index: The map index (-1 when the task is not mapped).
    :param dbt_run_id: The dbt Cloud run id from XCom ``job_run_id``.
    :param conn_id: The connection the task used (its rendered ``dbt_cloud_conn_id``).
    :param account_id: The rendered ``account_id``; None means the connection's default account.
    :param job_id: The rendered ``job_id``, when the task names one.
    :param job_name: The rendered ``job_name``, when the task names its job that way.
    :param state: The task instance's state, e.g. ``success`` or ``deferred``.
    :param try_number: The task instance's try number.
    :param max_tries: The task instance's ``max_tries`` (part of the marker its runs carry).
    :param operator: The task's operator class name.
    :param start_date: When the task instance started.
    :param end_date: When it ended.
    :param duration: Its duration in seconds, as Airflow recorded it.
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    dbt_run_id: int
    conn_id: str
    account_id: int | None
    job_id: int | None
    job_name: str | None
    state: str | None
    try_number: int
    max_tries: int
    operator: str | None
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None

    def started_by_this_task(self, cause_marker: str | None) -> bool:
        """Whether a run carrying ``cause_marker`` was started by this task instance (any of its tries).

        :param cause_marker: The marker found at the end of the run's cause, or None.
        """
        if cause_marker is None:
            return False
        identity = (self.dag_id, self.run_id, self.task_id, self.map_index, self.max_tries)
        if cause_marker == marker_for(*identity):
            return True
        # With durable=False each try has a marker of its own.
        return any(cause_marker == marker_for(*identity, n) for n in range(1, self.try_number + 1))


def _conn_id(value: Any) -> str:
    return value if isinstance(value, str) and _CONN_ID.match(value) else DEFAULT_CONN_ID


def _maybe_id(name: str, value: Any) -> int | None:
    try:
        return optional_id(name, value)
    except ValueError:
        return None


def _task_run(ti: TaskInstance, xcom: XComModel, rendered: dict[str, Any] | None) -> TaskRun | None:
    dbt_run_id = _maybe_id("job_run_id", XComModel.deserialize_value(xcom))
    if dbt_run_id is None:
        return None
    fields = rendered or {}
    job_name = fields.get("job_name")
    return TaskRun(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index,
        dbt_run_id=dbt_run_id,
        conn_id=_conn_id(fields.get("dbt_cloud_conn_id")),
        account_id=_maybe_id("account_id", fields.get("account_id")),
        job_id=_maybe_id("job_id", fields.get("job_id")),
        job_name=job_name if isinstance(job_name, str) else None,
        state=None if ti.state is None else str(ti.state),
        try_number=ti.try_number or 0,
        max_tries=ti.max_tries or 0,
        operator=ti.operator,
        start_date=ti.start_date,
        end_date=ti.end_date,
        duration=ti.duration,
    )


def _rows(session: Session, *conditions: Any, newest: int | None = None) -> Iterable[Any]:
    """Task instances with their ``job_run_id`` XCom and rendered fields, filtered by ``conditions``."""
    same_ti = [
        (XComModel, XComModel.dag_id, XComModel.run_id, XComModel.task_id, XComModel.map_index),
        (
            RenderedTaskInstanceFields,
            RenderedTaskInstanceFields.dag_id,
            RenderedTaskInstanceFields.run_id,
            RenderedTaskInstanceFields.task_id,
            RenderedTaskInstanceFields.map_index,
        ),
    ]
    joins = [
        (
            model,
            (dag == TaskInstance.dag_id)
            & (run == TaskInstance.run_id)
            & (task == TaskInstance.task_id)
            & (index == TaskInstance.map_index),
        )
        for model, dag, run, task, index in same_ti
    ]
    statement = (
        select(TaskInstance, XComModel, RenderedTaskInstanceFields.rendered_fields)
        .join(*joins[0])
        .outerjoin(*joins[1])
        .where(XComModel.key == JOB_RUN_ID_KEY, *conditions)
    )
    if newest is not None:
        statement = statement.order_by(XComModel.timestamp.desc()).limit(newest)
    return session.execute(statement)


def find_task_run(session: Session, dag_id: str, run_id: str, task_id: str, map_index: int) -> TaskRun | None:
    """Return the dbt Cloud run of one task instance, or None when it pushed none.

    :param session: A session on Airflow's metadata database.
    :param dag_id: The DAG id.
    :param run_id: The DAG run id.
    :param task_id: The task id.
    :param map_index: The map index.
    """
    rows = _rows(
        session,
        TaskInstance.dag_id == dag_id,
        TaskInstance.run_id == run_id,
        TaskInstance.task_id == task_id,
        TaskInstance.map_index == map_index,
    )
    for ti, xcom, rendered in rows:
        return _task_run(ti, xcom, rendered)
    return None


def recent_task_runs(session: Session, dag_ids: Collection[str]) -> list[TaskRun]:
    """Return the newest task instances (up to :data:`RECENT_LIMIT`) that pushed a dbt Cloud run.

    :param session: A session on Airflow's metadata database.
    :param dag_ids: The DAGs the user may read; task instances of other DAGs are never read.
    """
    if not dag_ids:
        return []
    found = (
        _task_run(ti, xcom, rendered)
        for ti, xcom, rendered in _rows(session, TaskInstance.dag_id.in_(dag_ids), newest=RECENT_LIMIT)
    )
    return [task_run for task_run in found if task_run is not None]
