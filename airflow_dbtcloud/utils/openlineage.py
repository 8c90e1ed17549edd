"""OpenLineage for dbt Cloud runs: the run as a job of its own, the lineage of its nodes, the parent link.

Four levels of OpenLineage runs, each the parent of the next (the DAG run is every level's root)::

    Airflow DAG run                      the OpenLineage provider's listener emits these two
      Airflow task run
        dbt Cloud job run                emit_dbt_cloud_run_start / emit_dbt_cloud_run_end
          dbt node runs (models, tests)  from the run's artifacts, emitted before the job run ends

The dbt Cloud job run is named ``dbt_cloud.<account>.<project>.job_<job>`` in the OpenLineage
provider's namespace, and its run id is a UUID derived from that namespace, the account and the dbt
Cloud run id, so the event that starts it and the one that ends it agree even when they are sent by
different processes (a deferred task resumes elsewhere) or by different tries of the task.

Everything here reaches dbt Cloud only through the hook's public methods (``get_job_run``,
``get_project``, ``get_job_run_artifact``, ``get_job_run_artifacts_concurrently``), and nothing needs
OpenLineage to be installed: without the provider, or with OpenLineage disabled (for the deployment
or for the task), the ``emit_*`` functions log why and do nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow.providers.common.compat.openlineage.check import require_openlineage_version

from airflow_dbtcloud._transport.errors import DbtCloudNotFoundError
from airflow_dbtcloud.api.jobs import CAUSE_MAX_LENGTH as DBT_CAUSE_MAX_LENGTH
from airflow_dbtcloud.api.run_state import RunState, parse_time
from airflow_dbtcloud.hooks.errors import DbtCloudJobRunFailedError

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import RunEvent
    from openlineage.common.provider.dbt import ParentRunMetadata

__all__ = [
    "DBT_CAUSE_MAX_LENGTH",
    "DBT_CLOUD_RUN_ID_NAMESPACE",
    "DbtCloudRunTask",
    "emit_dbt_cloud_run_end",
    "emit_dbt_cloud_run_start",
    "failed_run_lineage",
    "generate_openlineage_events_from_dbt_cloud_run",
    "inject_parent_job_information_into_dbt_cloud_cause",
    "log",
]

log = logging.getLogger(__name__)

#: The UUID namespace of dbt Cloud job run ids (a UUID5 of the OpenLineage namespace, account and run id).
DBT_CLOUD_RUN_ID_NAMESPACE = uuid.UUID("842a1d2c-e7d3-4641-80ec-cbd9432c3ad4")

_MANIFEST, _RUN_RESULTS, _CATALOG = "manifest.json", "run_results.json", "catalog.json"
_DBT_STEP = re.compile(r"^Invoke dbt with `(?P<command>[^`]+)`")
#: The dbt commands whose ``run_results.json`` holds node lineage (the others write none, or other files).
_LINEAGE_COMMANDS = frozenset({"build", "run", "seed", "snapshot", "test"})
_NOT_INSTALLED = (
    "apache-airflow-providers-openlineage is not installed: no OpenLineage events for dbt Cloud run %s."
)


class DbtCloudRunTask(Protocol):
    """What lineage reads of the task that ran or watched a dbt Cloud run (the run operator, the sensor)."""

    @property
    def hook(self) -> Any:
        """The task's :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`."""

    @property
    def run_id(self) -> Any:
        """The dbt Cloud run id."""

    @property
    def account_id(self) -> int | None:
        """The account; None uses the connection's."""

    @property
    def log(self) -> Any:
        """The task's logger."""


@dataclass(frozen=True)
class _JobRunIdentity:
    """Who the dbt Cloud job run is in OpenLineage: its job's namespace and name, and its run id."""

    namespace: str
    name: str
    run_id: str


# -- the Airflow task as the parent -----------------------------------------------------------------


def _get_parent_run_metadata(task_instance: Any) -> ParentRunMetadata:
    """Return the OpenLineage identity of the Airflow task run (the parent) and of its DAG run (the root).

    The ids come from the OpenLineage provider's macros, so they are the ones its listener puts on the
    task's own events.

    :param task_instance: The task instance that ran or watched the dbt Cloud run.
    :return: The parent and root, as the dbt integration of OpenLineage takes them.
    :raises ImportError: When the OpenLineage provider or client is not installed.
    """
    from airflow.providers.openlineage.conf import namespace
    from airflow.providers.openlineage.plugins import macros
    from openlineage.common.provider.dbt import ParentRunMetadata

    return ParentRunMetadata(
        run_id=macros.lineage_run_id(task_instance),
        job_name=macros.lineage_job_name(task_instance),
        job_namespace=namespace(),
        root_parent_run_id=macros.lineage_root_run_id(task_instance),
        root_parent_job_name=macros.lineage_root_job_name(task_instance),
        root_parent_job_namespace=macros.lineage_root_job_namespace(task_instance),
    )


def inject_parent_job_information_into_dbt_cloud_cause(
    cause: str | None, task_instance: Any, *, max_length: int = DBT_CAUSE_MAX_LENGTH
) -> str | None:
    """Return the Airflow task's OpenLineage parent and root run as compact JSON, to send as the run's cause.

    Whoever reads the dbt Cloud run later can then attach it to the Airflow task that started it. The
    JSON replaces the cause; when parent and root together are longer than ``max_length``, the root is
    left out, and when even the parent alone is, the cause is returned unchanged (with a warning). The
    run operator passes ``max_length`` so that its exactly-once marker still fits after the JSON.

    :param cause: The cause the run would otherwise get.
    :param task_instance: The task instance that starts the run.
    :param max_length: The most characters the JSON may take; dbt Cloud's limit by default.
    :return: The JSON, or ``cause`` when the OpenLineage provider is missing or the JSON does not fit.
    """
    try:
        metadata = _get_parent_run_metadata(task_instance)
    except ImportError:
        log.warning(
            "apache-airflow-providers-openlineage is not installed: the dbt Cloud run's cause carries no "
            "OpenLineage parent job information."
        )
        return cause
    parent = {
        "run": {"runId": metadata.run_id},
        "job": {"namespace": metadata.job_namespace, "name": metadata.job_name},
    }
    root = {
        "run": {"runId": metadata.root_parent_run_id},
        "job": {"namespace": metadata.root_parent_job_namespace, "name": metadata.root_parent_job_name},
    }
    for payload in ({"parent": parent, "root": root}, {"parent": parent}):
        text = json.dumps(payload, separators=(",", ":"))
        if len(text) <= max_length:
            return text
    log.warning(
        "The OpenLineage parent job information does not fit in %s characters of the dbt Cloud run's "
        "cause; the cause is sent without it.",
        max_length,
    )
    return cause


# -- is lineage wanted ---------------------------------------------------------------------------


def _task_emits(task_instance: Any) -> bool:
    """Whether the OpenLineage emission policy lets this task's operator send its own lineage."""
    task = getattr(task_instance, "task", None)
    if task is None:
        return True
    try:
        from airflow.providers.openlineage.utils.emission_policy import resolve_task_emission_policy
    except ImportError:
        # Providers before the emission policy (2.16 up to 2.19) decide with these two switches.
        from airflow.providers.openlineage.utils.utils import (
            is_operator_disabled,
            is_selective_lineage_enabled,
        )

        return not is_operator_disabled(task) and is_selective_lineage_enabled(task)
    policy = resolve_task_emission_policy(
        operator=task, dag_id=task_instance.dag_id, task_id=task_instance.task_id
    )
    return bool(policy.emit and policy.extract_operator_metadata)


def _lineage_wanted(task_instance: Any, run_id: Any) -> bool:
    """Whether OpenLineage is installed, enabled, and enabled for this task; if not, say why in the log."""
    if task_instance is None:
        log.debug("No task instance to parent them to: no OpenLineage events for dbt Cloud run %s.", run_id)
        return False
    try:
        from airflow.providers.openlineage import conf
    except ImportError:
        log.debug(_NOT_INSTALLED, run_id)
        return False
    try:
        from airflow.providers.openlineage.api import is_openlineage_active
    except ImportError:
        active = not conf.is_disabled()
    else:
        active = is_openlineage_active()
    if not active:
        log.debug("OpenLineage is disabled: no OpenLineage events for dbt Cloud run %s.", run_id)
        return False
    if not _task_emits(task_instance):
        log.info(
            "OpenLineage is disabled for task %s: no OpenLineage events for dbt Cloud run %s.",
            getattr(task_instance, "task_id", "?"),
            run_id,
        )
        return False
    return True


def _producer() -> str:
    """The producer URL the OpenLineage provider puts on its own events (the official module uses it too)."""
    from airflow.providers.openlineage.plugins.adapter import _PRODUCER  # type: ignore[attr-defined]

    return str(_PRODUCER)


def _emit(event: RunEvent) -> None:
    """Send one event through the OpenLineage provider's client (and its configured transport)."""
    from airflow.providers.openlineage.api import emit

    emit(event)


# -- the dbt Cloud job run -----------------------------------------------------------------------


def _identity(run: RunState, account_id: int | None) -> _JobRunIdentity | None:
    """The job run's OpenLineage identity; None when the run does not say its account, project and job."""
    from airflow.providers.openlineage.conf import namespace as lineage_namespace

    account = run.account_id if run.account_id is not None else account_id
    if account is None or run.project_id is None or run.job_id is None:
        return None
    namespace = lineage_namespace()
    return _JobRunIdentity(
        namespace=namespace,
        name=f"dbt_cloud.{account}.{run.project_id}.job_{run.job_id}",
        run_id=str(uuid.uuid5(DBT_CLOUD_RUN_ID_NAMESPACE, f"{namespace}/{account}/{run.id}")),
    )


def _event_time(*candidates: str | None) -> str:
    """The first of dbt Cloud's timestamps that reads as one, in ISO 8601 with a zone; else now."""
    for text in candidates:
        try:
            moment = parse_time(text)
        except ValueError:
            continue
        if moment is not None:
            return moment.isoformat()
    return datetime.now(UTC).isoformat()


def _send_job_run_event(
    event_type: str,
    task_instance: Any,
    run: RunState,
    account_id: int | None,
    *,
    job_name: str | None = None,
    error_message: str | None = None,
) -> str | None:
    """Build and send one event of the job run (START, COMPLETE or FAIL); return the job run's id.

    None, with a warning, when the run does not say its account, project and job, since the job run
    could not be named the same way by its other events.
    """
    from openlineage.client.event_v2 import Job, Run, RunEvent
    from openlineage.client.event_v2 import RunState as EventType
    from openlineage.client.facet_v2 import error_message_run, job_type_job

    from airflow_dbtcloud.utils.openlineage_facets import DBT_CLOUD_RUN_FACET, DbtCloudRunRunFacet

    identity = _identity(run, account_id)
    if identity is None:
        log.warning(
            "dbt Cloud run %s does not say its account, project and job: no OpenLineage %s event.",
            run.id,
            event_type,
        )
        return None
    run_facets: dict[str, Any] = {
        "parent": _get_parent_run_metadata(task_instance).to_openlineage(),
        DBT_CLOUD_RUN_FACET: DbtCloudRunRunFacet.from_run(run, account_id=account_id, job_name=job_name),
    }
    kind = EventType(event_type)
    if kind is EventType.FAIL:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error_message or run.status_message or f"dbt Cloud run {run.id} ended {run.label}.",
            programmingLanguage="sql",
        )
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DBT", jobType="JOB")
    }
    when = (
        _event_time(run.started_at, run.created_at)
        if kind is EventType.START
        else _event_time(run.finished_at)
    )
    _emit(
        RunEvent(
            eventType=kind,
            eventTime=when,
            run=Run(runId=identity.run_id, facets=run_facets),
            job=Job(namespace=identity.namespace, name=identity.name, facets=job_facets),
            producer=_producer(),
            inputs=[],
            outputs=[],
        )
    )
    return identity.run_id


def _nodes_parent(task_instance: Any, run: RunState, account_id: int | None) -> ParentRunMetadata:
    """The parent of node events: the dbt Cloud job run, under the DAG run as root.

    When the run does not say what it is a run of, the node events fall back to the Airflow task as
    their parent (as the official provider has them).
    """
    from openlineage.common.provider.dbt import ParentRunMetadata

    task = _get_parent_run_metadata(task_instance)
    identity = _identity(run, account_id)
    if identity is None:
        log.info("dbt Cloud run %s does not say its project and job; its nodes hang off the task.", run.id)
        return task
    return ParentRunMetadata(
        run_id=identity.run_id,
        job_name=identity.name,
        job_namespace=identity.namespace,
        root_parent_run_id=task.root_parent_run_id,
        root_parent_job_name=task.root_parent_job_name,
        root_parent_job_namespace=task.root_parent_job_namespace,
    )


def emit_dbt_cloud_run_start(
    task_instance: Any, run: RunState, *, account_id: int | None = None
) -> str | None:
    """Send the START event of the dbt Cloud job run, child of the Airflow task's OpenLineage run.

    Call it when the task started the run or reattached to it (a retry, a reused run). Sending it
    again for the same run is harmless: the run id is the same. Never raises: a failure is a warning.

    :param task_instance: The task instance that started or watches the run.
    :param run: The run, as the API gave it (its account, project and job name the OpenLineage job).
    :param account_id: The account, when ``run`` does not say.
    :return: The OpenLineage run id of the job run, or None when nothing was sent.
    """
    try:
        if not _lineage_wanted(task_instance, run.id):
            return None
        return _send_job_run_event("START", task_instance, run, account_id)
    # Lineage is a side line: whatever goes wrong there must not fail the task.
    except Exception:
        log.warning("Could not send the OpenLineage START event of dbt Cloud run %s.", run.id, exc_info=True)
        return None


def emit_dbt_cloud_run_end(
    task_instance: Any,
    run: RunState,
    succeeded: bool,
    *,
    hook: Any = None,
    account_id: int | None = None,
    error_message: str | None = None,
) -> str | None:
    """Send the end of the dbt Cloud job run: first its nodes' events, then its COMPLETE or FAIL event.

    With ``hook``, the run is read again through ``hook.get_job_run`` (with its steps and job) and the
    node-level events are built from each dbt step's artifacts and sent before the job run's own end
    event, each with the job run as parent and the DAG run as root. Never raises: a failure is a
    warning, and a failure with the nodes does not keep the end event from being sent.

    :param task_instance: The task instance that ran or watched the run.
    :param run: The run (only its id is needed when ``hook`` is given).
    :param succeeded: COMPLETE when True, else FAIL.
    :param hook: The task's :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`; None sends only the end
        event, from ``run`` as given.
    :param account_id: The account, when ``run`` does not say; None uses the connection's.
    :param error_message: What went wrong, for the ``errorMessage`` facet of FAIL; defaults to dbt
        Cloud's status message of the run.
    :return: The OpenLineage run id of the job run, or None when its end event was not sent.
    """
    event_type = "COMPLETE" if succeeded else "FAIL"
    try:
        if not _lineage_wanted(task_instance, run.id):
            return None
        job_name = None
        if hook is not None:
            run, job_name = _send_node_events(task_instance, hook, run, account_id)
        return _send_job_run_event(
            event_type, task_instance, run, account_id, job_name=job_name, error_message=error_message
        )
    # Lineage is a side line: whatever goes wrong there must not fail the task.
    except Exception:
        log.warning(
            "Could not send the OpenLineage %s event of dbt Cloud run %s.", event_type, run.id, exc_info=True
        )
        return None


@contextmanager
def failed_run_lineage(
    task_instance: Any,
    hook: Any,
    run_id: Any,
    account_id: int | None,
    ends: tuple[type[BaseException], ...] = (DbtCloudJobRunFailedError,),
) -> Iterator[None]:
    """Around a wait: when it raises because the run ended without success, send the run's FAIL first.

    The node events and the FAIL event go out (see :func:`emit_dbt_cloud_run_end`), with the
    exception's text as the error message, and the exception is raised on unchanged. Anything else
    (the task deferring, dbt Cloud not answering, a sensor's own timeout) passes through without an
    event: the run has not ended, or nobody knows how.

    :param task_instance: The task instance that ran or watched the run.
    :param hook: The task's hook.
    :param run_id: The dbt Cloud run id.
    :param account_id: The account; None uses the connection's.
    :param ends: The exceptions that mean the run ended without success.
    """
    try:
        yield
    except ends as exc:
        emit_dbt_cloud_run_end(
            task_instance,
            RunState(id=run_id),
            False,
            hook=hook,
            account_id=account_id,
            error_message=str(exc),
        )
        raise


def _send_node_events(
    task_instance: Any, hook: Any, run: RunState, account_id: int | None
) -> tuple[RunState, str | None]:
    """Read the run again and send its nodes' events; return the run as read (or as given) and job name."""
    try:
        payload = _fetch_run(hook, run.id, account_id)
    # The end event can still be sent from what the caller knows.
    except Exception:
        log.warning("Could not read dbt Cloud run %s for its node lineage.", run.id, exc_info=True)
        return run, None
    fresh = _read_run(payload, run.id)
    account = fresh.account_id if fresh.account_id is not None else account_id
    try:
        events = _node_events(
            hook, payload, fresh, account, _nodes_parent(task_instance, fresh, account), log
        )
        for event in events:
            _emit(event)
        log.info("Sent %s OpenLineage events for the nodes of dbt Cloud run %s.", len(events), fresh.id)
    # Node lineage is best effort; the job run's end event must still go out.
    except Exception:
        log.warning("Could not send the node lineage of dbt Cloud run %s.", fresh.id, exc_info=True)
    job = payload.get("job") if isinstance(payload, Mapping) else None
    name = job.get("name") if isinstance(job, Mapping) else None
    return fresh, name if isinstance(name, str) else None


# -- the nodes -----------------------------------------------------------------------------------


def _fetch_run(hook: Any, run_id: Any, account_id: int | None) -> Any:
    """The run's ``data``, with its steps and its job, through ``hook.get_job_run``."""
    response = hook.get_job_run(run_id=run_id, account_id=account_id, include_related=["run_steps", "job"])
    return response.json()["data"]


def _read_run(payload: Any, run_id: Any) -> RunState:
    """Read the run leniently: the ids the run omits are taken from its job (test doubles omit many)."""
    data: dict[str, Any] = dict(payload) if isinstance(payload, Mapping) else {}
    job = data.get("job")
    if isinstance(job, Mapping):
        for key, value in (
            ("account_id", job.get("account_id")),
            ("project_id", job.get("project_id")),
            ("job_definition_id", job.get("id")),
        ):
            if data.get(key) is None:
                data[key] = value
    if data.get("id") is None:
        data["id"] = run_id
    return RunState.from_stand_in(data)


def _lineage_steps(run_steps: Any) -> list[int]:
    """The indexes of the steps that invoked a dbt command whose run results hold node lineage.

    Read from the step names (``Invoke dbt with `dbt build --select x```), so steps of
    ``steps_override`` count as well as the job's own.
    """
    steps: list[int] = []
    for step in run_steps if isinstance(run_steps, list) else ():
        if not isinstance(step, Mapping):
            continue
        found = _DBT_STEP.match(str(step.get("name") or ""))
        if found is None:
            continue
        words = found["command"].split()
        command = next((word for word in words[1:] if not word.startswith("-")), None)
        if words[:1] == ["dbt"] and command in _LINEAGE_COMMANDS and isinstance(step.get("index"), int):
            steps.append(step["index"])
    return steps


def _warehouse_profile(connection: Any) -> dict[str, Any]:
    """Shape the project's dbt Cloud connection as the dbt profile OpenLineage's dbt processor reads."""
    profile = dict(connection) if isinstance(connection, Mapping) else {}
    details = dict(profile.get("details") or {})
    # dbt Cloud calls the host of Postgres and Redshift connections "hostname"; dbt profiles call it "host".
    if "host" not in details and "hostname" in details:
        details["host"] = details["hostname"]
    profile["details"] = details
    if not profile.get("name"):
        profile["name"] = profile.get("type") or "dbt_cloud"
    return profile


def _catalog(hook: Any, run_id: Any, account_id: int | None) -> Any:
    """The run's ``catalog.json`` (column types), or None: it exists only when the job generated docs."""
    try:
        catalog = hook.get_job_run_artifact(run_id=run_id, path=_CATALOG, account_id=account_id).json()
    except DbtCloudNotFoundError:
        log.info(
            "dbt Cloud run %s has no catalog.json (no docs generated); columns come from the manifest.",
            run_id,
        )
        return None
    # Without a catalog the lineage is still complete, only the column types are missing.
    except Exception as exc:
        log.warning("Could not read catalog.json of dbt Cloud run %s: %s", run_id, exc)
        return None
    return catalog if isinstance(catalog, Mapping) and "nodes" in catalog else None


async def _close_async(hook: Any) -> None:
    """Close the hook's HTTP session in the event loop that opened it."""
    close = getattr(hook, "aclose", None)
    if callable(close):
        result = close()
        if inspect.isawaitable(result):
            await result


def _step_artifacts(
    hook: Any, run_id: Any, account_id: int | None, steps: Sequence[int]
) -> list[dict[str, Any] | BaseException]:
    """Each step's manifest and run results, fetched concurrently; an exception for a step that failed."""

    async def fetch() -> list[dict[str, Any] | BaseException]:
        try:
            found: list[dict[str, Any] | BaseException] = await asyncio.gather(
                *(
                    hook.get_job_run_artifacts_concurrently(
                        run_id=run_id, artifacts=[_MANIFEST, _RUN_RESULTS], account_id=account_id, step=step
                    )
                    for step in steps
                ),
                return_exceptions=True,
            )
        finally:
            await _close_async(hook)
        return found

    return asyncio.run(fetch())


def _node_events(
    hook: Any,
    payload: Any,
    run: RunState,
    account_id: int | None,
    parent: ParentRunMetadata,
    logger: Any,
) -> list[RunEvent]:
    """Build the node-level events of a run from each dbt step's artifacts, in the order of the steps."""
    from openlineage.common.provider.dbt import DbtCloudArtifactProcessor

    job = payload.get("job") if isinstance(payload, Mapping) else None
    job = job if isinstance(job, Mapping) else {}
    project_id = job.get("project_id", run.project_id)
    project = hook.get_project(project_id=project_id, account_id=account_id).json()["data"]
    profile = _warehouse_profile(project.get("connection"))
    steps = _lineage_steps(payload.get("run_steps") if isinstance(payload, Mapping) else None)
    if not steps:
        log.info(
            "dbt Cloud run %s has no dbt build, run, test, seed or snapshot step to take lineage from.",
            run.id,
        )
        return []
    catalog = _catalog(hook, run.id, account_id)
    events: list[RunEvent] = []
    for step, found in zip(steps, _step_artifacts(hook, run.id, account_id, steps), strict=True):
        if isinstance(found, DbtCloudNotFoundError):
            log.info("Step %s of dbt Cloud run %s saved no manifest or run results.", step, run.id)
            continue
        if isinstance(found, BaseException):
            log.warning(
                "Could not read the artifacts of step %s of dbt Cloud run %s: %s", step, run.id, found
            )
            continue
        if not found.get(_RUN_RESULTS) or not found.get(_MANIFEST):
            log.info("Step %s of dbt Cloud run %s has no run results; skipping it.", step, run.id)
            continue
        processor = DbtCloudArtifactProcessor(
            producer=_producer(),
            job_namespace=parent.job_namespace,
            skip_errors=False,
            logger=logger,
            manifest=found[_MANIFEST],
            run_result=found[_RUN_RESULTS],
            profile=profile,
            catalog=catalog,
            project_name=project.get("name"),
            account_id=None if account_id is None else str(account_id),
        )
        processor.dbt_run_metadata = parent
        try:
            events += processor.parse().events()
        # One step's odd artifacts must not cost the lineage of the others.
        except Exception:
            log.warning(
                "Could not turn step %s of dbt Cloud run %s into OpenLineage events.",
                step,
                run.id,
                exc_info=True,
            )
    return events


@require_openlineage_version(provider_min_version="2.16.0")  # type: ignore[untyped-decorator]
def generate_openlineage_events_from_dbt_cloud_run(
    operator: DbtCloudRunTask, task_instance: Any
) -> OperatorLineage[Any, Any]:
    """Send the node-level OpenLineage events of the operator's dbt Cloud run, read from its artifacts.

    For every step that ran ``dbt build``, ``run``, ``test``, ``seed`` or ``snapshot``, the step's
    ``manifest.json`` and ``run_results.json`` (and the run's ``catalog.json``, when docs were
    generated) become events through OpenLineage's dbt processor: a START and a COMPLETE or FAIL per
    model, snapshot and test. Their parent is the dbt Cloud job run (see
    :func:`emit_dbt_cloud_run_start`), their root the Airflow DAG run.

    :param operator: The run operator or sensor, with its ``hook``, ``run_id`` and ``account_id``.
    :param task_instance: The task instance that ran or watched the run.
    :return: An empty ``OperatorLineage``: the events have been sent already.
    :raises AirflowOptionalProviderFeatureException: When the OpenLineage provider is older than 2.16.0.
    """
    from airflow.providers.openlineage.extractors import OperatorLineage

    payload = _fetch_run(operator.hook, operator.run_id, operator.account_id)
    run = _read_run(payload, operator.run_id)
    account_id = run.account_id if run.account_id is not None else operator.account_id
    parent = _nodes_parent(task_instance, run, account_id)
    events = _node_events(operator.hook, payload, run, account_id, parent, operator.log)
    for event in events:
        _emit(event)
    log.info("Sent %s OpenLineage events for the nodes of dbt Cloud run %s.", len(events), run.id)
    return OperatorLineage()
