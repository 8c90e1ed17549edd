"""What the run operator keeps about a task instance across tries: its identity and its run id.

This is the only code that touches ``task_state_store``. A try stores the id of the run it owns,
together with the task instance's marker; a later try (a retry) reads it back to reattach instead of
starting another run. Clearing a task instance gives it a new marker, so an id stored before the clear
is ignored and the cleared task starts a new run (the store itself survives a clear).

The decision is reported the way Airflow's ``ResumableJobMixin`` reports it: the ``resumable_job.*``
metrics and a ``resumable_job.resume_decision`` span.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow.sdk.observability import stats
from opentelemetry import trace

from airflow_dbtcloud.api.lifecycle import ObtainedRun, marker_for

__all__ = ["STATE_KEY", "TaskIdentity", "load_run_id", "report_decision", "resume_decision", "save_run_id"]

#: Key of the stored run in ``task_state_store``. Renaming it strands the runs of tasks in flight.
STATE_KEY = "dbt_cloud_run"

_tracer = trace.get_tracer(__name__)
#: The mixin's metric for each decision (a retry from failure counts as a resubmission).
_METRICS = {
    "reconnect": ("resumable_job.reconnect_attempt", "resumable_job.reconnect_success"),
    "already_succeeded": ("resumable_job.reconnect_attempt", "resumable_job.already_succeeded"),
    "terminal_resubmit": ("resumable_job.reconnect_attempt", "resumable_job.terminal_resubmit"),
    "retried": ("resumable_job.reconnect_attempt", "resumable_job.terminal_resubmit"),
    "fresh_submit": ("resumable_job.fresh_submit",),
    "reused": ("resumable_job.fresh_submit",),
}


@dataclass(frozen=True)
class TaskIdentity:
    """Who a task instance is, read from its context.

    :param dag_id: The DAG id.
    :param run_id: The DAG run id.
    :param task_id: The task id.
    :param map_index: The map index (-1 when not mapped).
    :param max_tries: The task instance's ``max_tries``, which a clear changes and a retry keeps.
    :param try_number: The try being run, from 1.
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    max_tries: int
    try_number: int

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> TaskIdentity | None:
        """Read the identity of the running task instance.

        :param context: The task context.
        :return: The identity, or None when the context holds no real task instance (a stand-in whose
            ids are not strings), in which case no earlier run can be looked for.
        """
        ti = context.get("ti")
        dag_id, run_id, task_id = (getattr(ti, name, None) for name in ("dag_id", "run_id", "task_id"))
        if not (isinstance(dag_id, str) and isinstance(run_id, str) and isinstance(task_id, str)):
            return None

        def number(name: str) -> int | None:
            value = getattr(ti, name, None)
            return value if isinstance(value, int) else None

        map_index = number("map_index")
        return cls(
            dag_id,
            run_id,
            task_id,
            map_index=-1 if map_index is None else map_index,
            max_tries=number("max_tries") or 0,
            try_number=number("try_number") or 1,
        )

    def marker(self, durable: bool) -> str:
        """Return the marker this task instance puts in its runs' ``cause``.

        :param durable: Whether tries share runs; without it each try has its own marker.
        """
        return marker_for(
            self.dag_id,
            self.run_id,
            self.task_id,
            self.map_index,
            self.max_tries,
            None if durable else self.try_number,
        )


def load_run_id(context: Mapping[str, Any], marker: str) -> int | None:
    """Read the run id an earlier try of this task instance stored under the same marker.

    :param context: The task context.
    :param marker: The current marker; an id stored under another one (before a clear) is ignored.
    :return: The run id, or None.
    """
    store = context.get("task_state_store")
    value = store.get(STATE_KEY) if store is not None else None
    if not isinstance(value, Mapping) or value.get("marker") != marker:
        return None
    run_id = value.get("run_id")
    return int(run_id) if isinstance(run_id, int | str) and str(run_id).isdigit() else None


def save_run_id(context: Mapping[str, Any], marker: str, run_id: int) -> bool:
    """Remember the run id for later tries of this task instance.

    :param context: The task context.
    :param marker: The current marker.
    :param run_id: The run id.
    :return: False when the context has no ``task_state_store`` (nothing was stored).
    """
    store = context.get("task_state_store")
    if store is None:
        return False
    store.set(STATE_KEY, {"run_id": int(run_id), "marker": marker})
    return True


@contextmanager
def resume_decision(operator: str) -> Iterator[Any]:
    """Open the ``resumable_job.resume_decision`` span around finding or starting the run.

    :param operator: The operator's class name.
    :return: The span, for :func:`report_decision`.
    """
    with _tracer.start_as_current_span("resumable_job.resume_decision") as span:
        span.set_attribute("operator", operator)
        span.set_attribute("resumable.external_id_key", STATE_KEY)
        yield span


def report_decision(span: Any, operator: str, obtained: ObtainedRun, tags: Mapping[str, Any]) -> None:
    """Record how the task came by its run as the mixin does: span attributes and metrics.

    :param span: The span from :func:`resume_decision`.
    :param operator: The operator's class name.
    :param obtained: The run and the decision.
    :param tags: The task instance's stats tags.
    """
    span.set_attribute("resumable.decision", obtained.decision)
    span.set_attribute("resumable.external_id", str(obtained.run.id))
    if obtained.earlier_run_id is not None:
        span.set_attribute("resumable.prior_external_id", str(obtained.earlier_run_id))
    for metric in _METRICS[obtained.decision]:
        stats.incr(metric, tags={**tags, "operator": operator})
