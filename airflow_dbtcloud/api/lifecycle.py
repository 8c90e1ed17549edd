"""The run lifecycle: find or start the one dbt Cloud run a task instance owns, written once.

:func:`obtain_run` is a call flow (see :mod:`airflow_dbtcloud.api.calls`): it decides, the hook's
public methods act. In order it looks for the run an earlier try of the task started (the id the
earlier try stored, else the task's marker in a recent run's ``cause``), adopts it when it is still
going or succeeded, retries it from its point of failure when asked, optionally reuses a running run
of the job, and otherwise starts a new run. A start whose answer was lost is resolved by looking for the
marker before anything is sent again, so a task try never starts two runs.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from airflow_dbtcloud._transport.errors import (
    DbtCloudApiError,
    DbtCloudNotFoundError,
    DbtCloudRunMayExistError,
)
from airflow_dbtcloud.api.calls import CallFlow, Pause, get_run, list_runs, retry_run, trigger_run
from airflow_dbtcloud.api.jobs import CAUSE_MAX_LENGTH
from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.runs import related
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus

__all__ = [
    "MARKER_PATTERN",
    "MARKER_SEARCH_DEPTH",
    "START_ATTEMPTS",
    "Decision",
    "LogLike",
    "ObtainedRun",
    "RunRequest",
    "build_cause",
    "marker_for",
    "obtain_run",
    "reason_room",
    "split_marker",
]

#: How many of a job's newest runs are searched for a task's marker.
MARKER_SEARCH_DEPTH = 100
#: How many times a run-starting request whose outcome stayed unknown is sent before the task fails.
START_ATTEMPTS = 3
#: How many "retried by" links are followed from a failed run to the retry that replaced it.
MAX_RETRY_HOPS = 10
#: After a run request got no answer (a timeout, a dropped connection), dbt Cloud may still be
#: creating the run: the marker is searched again after each of these pauses (15 s in all) before the
#: request is sent again. An answer (a 5xx) means dbt Cloud was done with it, so one search is enough.
MARKER_GRACE_PAUSES = (1.0, 2.0, 4.0, 8.0)

#: How the task came by its run; the first five are the names ``ResumableJobMixin`` reports.
Decision = Literal["fresh_submit", "reconnect", "already_succeeded", "terminal_resubmit", "retried", "reused"]

_log = logging.getLogger(__name__)


class LogLike(Protocol):
    """What the lifecycle needs of a logger; ``logging.Logger`` and Airflow's task logger both fit."""

    def info(self, msg: Any, /, *args: Any) -> Any: ...

    def warning(self, msg: Any, /, *args: Any) -> Any: ...


#: A marker as :func:`marker_for` writes it, at the end of a cause.
MARKER_PATTERN = re.compile(r"\s*\[airflow:[0-9a-f]{16}\]\s*$")


def split_marker(cause: str | None) -> tuple[str, str | None]:
    """Split a run's cause into the reason and the marker this provider appended, if any.

    :param cause: The run's ``trigger.cause``.
    :return: ``(reason, marker)``; the marker is None for a run this provider did not start.
    """
    text = cause or ""
    found = MARKER_PATTERN.search(text)
    if found is None:
        return text, None
    return text[: found.start()], found.group().strip()


def marker_for(
    dag_id: str, run_id: str, task_id: str, map_index: int, generation: int, try_number: int | None = None
) -> str:
    """Return the marker that identifies a task instance's runs in their ``cause``.

    :param dag_id: The DAG id.
    :param run_id: The DAG run id.
    :param task_id: The task id.
    :param map_index: The map index (-1 when the task is not mapped).
    :param generation: The task instance's ``max_tries``: clearing a task instance changes it, so a
        cleared task gets a new marker and starts a new run, while its retries share one.
    :param try_number: Set only when tries must not share runs (``durable=False``).
    :return: A short token such as ``[airflow:3f2a9c0d41b7e65a]``.
    """
    parts = [dag_id, run_id, task_id, str(map_index), str(generation)]
    if try_number is not None:
        parts.append(f"try={try_number}")
    return f"[airflow:{hashlib.sha256(chr(31).join(parts).encode()).hexdigest()[:16]}]"


def reason_room(marker: str | None) -> int:
    """How many characters the reason may take in a cause that ends with ``marker``.

    :param marker: The marker from :func:`marker_for`, or None.
    """
    return CAUSE_MAX_LENGTH - (len(marker) + 1 if marker else 0)


def build_cause(reason: str, marker: str | None) -> str:
    """Append the marker to the trigger reason, shortening the reason so the cause fits dbt Cloud's limit.

    :param reason: The human-readable reason.
    :param marker: The marker from :func:`marker_for`, or None to send the reason as it is.
    :return: The cause (at most 255 characters when a marker is added).
    """
    if marker is None:
        return reason
    room = reason_room(marker)
    reason = " ".join(reason.split())
    if len(reason) > room:
        reason = reason[: room - 1].rstrip() + "…"
    return f"{reason} {marker}" if reason else marker


@dataclass(frozen=True)
class RunRequest:
    """What one task asks dbt Cloud to run (the hook checks the fields when it sends them).

    :param job_id: The job.
    :param cause: The cause to send (ending with ``marker`` when there is one).
    :param marker: The task instance's marker, or None when the task cannot be identified (then earlier
        runs cannot be found and a lost answer cannot be resolved).
    :param account_id: The account; None uses the connection's.
    :param steps_override: dbt commands to run instead of the job's.
    :param schema_override: The schema to build into.
    :param additional_run_config: Further trigger fields, sent as given.
    """

    job_id: int
    cause: str
    marker: str | None
    account_id: int | None = None
    steps_override: list[str] | None = None
    schema_override: str | None = None
    additional_run_config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ObtainedRun:
    """The run a task instance owns, and how it came by it.

    :param run: The run.
    :param decision: How the task came by it.
    :param earlier_run_id: The earlier try's run, when there was one.
    """

    run: RunState
    decision: Decision
    earlier_run_id: int | None = None


def _marked(runs: list[RunState], marker: str) -> RunState | None:
    return next((run for run in runs if run.cause and marker in run.cause), None)


def _find_marked(request: RunRequest) -> CallFlow[RunState | None]:
    if request.marker is None:
        return None
    payload = {
        "job_definition_id": request.job_id,
        "order_by": "-id",
        "limit": MARKER_SEARCH_DEPTH,
        **related(["trigger"]),
    }
    return _marked((yield list_runs(request.account_id, payload)), request.marker)


def _latest_attempt(request: RunRequest, run: RunState, log: LogLike) -> CallFlow[RunState]:
    """Follow ``retrying_run_id`` from a failed run to the retry that superseded it.

    A try that retried its run and died before storing the new id leaves only the failed run behind;
    retrying that again would start a second retry.
    """
    for _ in range(MAX_RETRY_HOPS):
        if run.retrying_run_id is None or run.outcome != "error":
            break
        log.info("dbt Cloud run %s was already retried by run %s; following it.", run.id, run.retrying_run_id)
        run = yield get_run(run.retrying_run_id, request.account_id)
    return run


def _earlier_run(
    request: RunRequest, stored_run_id: int | None, search: bool, log: LogLike
) -> CallFlow[RunState | None]:
    found: RunState | None = None
    if stored_run_id is not None:
        try:
            found = yield get_run(stored_run_id, request.account_id)
        except DbtCloudNotFoundError:
            log.warning("dbt Cloud run %s, stored by an earlier try, no longer exists.", stored_run_id)
        else:
            log.info("An earlier try of this task stored dbt Cloud run %s.", stored_run_id)
    if found is None and search:
        found = yield from _find_marked(request)
        if found is not None:
            log.info("Found dbt Cloud run %s carrying this task's marker %s.", found.id, request.marker)
    if found is None:
        return None
    return (yield from _latest_attempt(request, found, log))


def _start(request: RunRequest, after: int, rerun_latest: bool, log: LogLike) -> CallFlow[RunState]:
    """Start a run; after an answer was lost, look for the marker before sending again."""
    last: DbtCloudRunMayExistError | None = None
    call = trigger_run(
        request.account_id,
        request.job_id,
        request.cause,
        request.steps_override,
        request.schema_override,
        rerun_latest,
        request.additional_run_config,
    )
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            started: RunState = yield call
            return started
        except DbtCloudRunMayExistError as exc:
            if request.marker is None:
                raise
            last = exc
            log.warning(
                "dbt Cloud may have started a run although the request failed (attempt %s/%s): %s. "
                "Looking for it by this task's marker before trying again.",
                attempt,
                START_ATTEMPTS,
                exc,
            )
            found = yield from _find_started(request, after, exc.answered, log)
            if found is not None:
                log.info("dbt Cloud run %s was started by the request whose answer was lost.", found.id)
                return found
    assert last is not None
    raise last


def _find_started(request: RunRequest, after: int, answered: bool, log: LogLike) -> CallFlow[RunState | None]:
    """The run a lost request started, found by the marker; searched again for a while if no answer came."""
    found = yield from _find_marked(request)
    for pause in () if answered else MARKER_GRACE_PAUSES:
        if found is not None and found.id > after:
            break
        log.info("No run carries this task's marker yet; looking again in %.0f s.", pause)
        yield Pause(pause)
        found = yield from _find_marked(request)
    return found if found is not None and found.id > after else None


def _retry(request: RunRequest, failed: RunState, log: LogLike) -> CallFlow[RunState | None]:
    """Retry the earlier try's failed run from its point of failure; None when dbt Cloud will not."""
    if failed.can_retry is False:
        log.warning(
            "dbt Cloud run %s cannot be retried (%s); starting a new run.",
            failed.id,
            failed.retry_not_supported_reason or "no reason given",
        )
        return None
    log.info("Retrying dbt Cloud run %s from its point of failure.", failed.id)
    for _ in range(START_ATTEMPTS):
        try:
            retried: RunState = yield retry_run(failed.id, request.account_id)
            return retried
        except DbtCloudRunMayExistError as exc:
            log.warning(
                "The answer to retrying run %s was lost (%s); checking whether it happened.", failed.id, exc
            )
            again = yield get_run(failed.id, request.account_id)
            if again.retrying_run_id is not None:
                successor: RunState = yield get_run(again.retrying_run_id, request.account_id)
                return successor
        except DbtCloudApiError as exc:
            if exc.status not in (400, 409):
                raise
            log.warning("dbt Cloud refused to retry run %s (%s); starting a new run.", failed.id, exc)
            return None
    raise DbtCloudRunMayExistError(
        "POST", f"runs/{failed.id}/retry", "every attempt's outcome stayed unknown"
    )


def _reusable(request: RunRequest) -> CallFlow[RunState | None]:
    """The newest run of the job that has not ended, whoever started it (the official rule)."""
    payload = {
        "job_definition_id": request.job_id,
        "status__in": str(list(DbtCloudJobRunStatus.NON_TERMINAL_STATUSES.value)),
        "order_by": "-created_at",
    }
    runs = yield list_runs(request.account_id, payload)
    return runs[0] if runs else None


def obtain_run(
    request: RunRequest,
    *,
    stored_run_id: int | None = None,
    search_earlier: bool = False,
    reuse_existing_run: bool = False,
    retry_from_failure: bool = False,
    rerun_latest: bool = False,
    log: LogLike = _log,
) -> CallFlow[ObtainedRun]:
    """Return the run this task instance owns, starting at most one new run.

    :param request: What to run.
    :param stored_run_id: The run id an earlier try of this task instance stored, if any.
    :param search_earlier: Look for an earlier try's run by the marker when no id was stored (a retry).
    :param reuse_existing_run: With no earlier run, adopt the job's newest run that has not ended.
    :param retry_from_failure: Retry the earlier try's failed run from its point of failure instead of
        starting a new run.
    :param rerun_latest: Ask ``trigger_job_run`` to rerun the job's latest run if it failed (the official
        provider's ``retry_from_failure``); for tasks whose own runs cannot be identified.
    :param log: Where to say what was decided.
    :return: The run and how the task came by it.
    :raises DbtCloudRunMayExistError: When a start's outcome stayed unknown on every attempt.
    """
    earlier = yield from _earlier_run(request, stored_run_id, search_earlier, log)
    if earlier is not None:
        if earlier.outcome in (None, "pending", "success"):
            decision: Decision = "already_succeeded" if earlier.outcome == "success" else "reconnect"
            log.info(
                "Reattaching to dbt Cloud run %s (%s) instead of starting another.", earlier.id, earlier.label
            )
            return ObtainedRun(earlier, decision, earlier.id)
        if earlier.outcome == "error" and retry_from_failure:
            retried = yield from _retry(request, earlier, log)
            if retried is not None:
                return ObtainedRun(retried, "retried", earlier.id)
        else:
            log.info(
                "The earlier try's dbt Cloud run %s ended %s; starting a new run.", earlier.id, earlier.label
            )
        run = yield from _start(request, earlier.id, False, log)
        return ObtainedRun(run, "terminal_resubmit", earlier.id)
    if reuse_existing_run:
        match = yield from _reusable(request)
        if match is not None:
            log.info("Reusing dbt Cloud run %s of job %s, which has not ended yet.", match.id, request.job_id)
            return ObtainedRun(match, "reused")
    return ObtainedRun((yield from _start(request, 0, rerun_latest, log)), "fresh_submit")
