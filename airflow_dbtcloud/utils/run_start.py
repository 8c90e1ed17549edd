"""Find or start the one dbt Cloud run a task instance owns."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from airflow_dbtcloud.api.status import DbtCloudJobRunStatus, classify
from airflow_dbtcloud.hooks.dbt import DbtCloudApiError, DbtCloudRunMayExistError
from airflow_dbtcloud.utils.run_tracking import find_marked_run, load_stored_run_id, run_matches_request

if TYPE_CHECKING:
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook
    from airflow_dbtcloud.utils.run_request import RunRequest

__all__ = ["START_ATTEMPTS", "How", "LogLike", "obtain_run"]


class LogLike(Protocol):
    """What this package needs of a logger: ``logging.Logger`` and Airflow's task logger both fit."""

    def info(self, msg: Any, /, *args: Any) -> Any: ...

    def warning(self, msg: Any, /, *args: Any) -> Any: ...

    def error(self, msg: Any, /, *args: Any) -> Any: ...


#: How many times an ambiguous run-starting POST is sent before the task fails.
START_ATTEMPTS = 3
#: How the task came by its run.
How = Literal["reattached", "retried", "reused", "started"]
_NON_TERMINAL = list(DbtCloudJobRunStatus.NON_TERMINAL_STATUSES.value)


#: How many "retried by" links are followed from a failed run to the retry that replaced it.
_MAX_RETRY_HOPS = 10


def _latest_attempt(
    hook: DbtCloudHook, run: dict[str, Any], request: RunRequest, log: LogLike
) -> dict[str, Any]:
    """Follow ``retrying_run_id`` from a failed run to the retry that superseded it.

    A try that retried its run and then died before storing the new id leaves only the failed run
    behind; retrying that again would start a second retry.
    """
    for _ in range(_MAX_RETRY_HOPS):
        successor = run.get("retrying_run_id")
        if not successor or classify(int(run["status"])) != "error":
            break
        log.info("dbt Cloud run %s was already retried by run %s; following it.", run["id"], successor)
        run = hook.get_run_data(int(successor), request.account_id)
    return run


def _earlier_run(
    hook: DbtCloudHook, context: Mapping[str, Any], request: RunRequest, log: LogLike
) -> dict[str, Any] | None:
    stored = load_stored_run_id(context, request.marker)
    if stored is not None:
        log.info("An earlier try of this task stored dbt Cloud run %s.", stored)
        return _latest_attempt(hook, hook.get_run_data(stored, request.account_id), request, log)
    found = find_marked_run(hook, request.job_id, request.marker, request.account_id)
    if found is not None:
        log.info("Found dbt Cloud run %s carrying this task's marker %s.", found["id"], request.marker)
        return _latest_attempt(hook, found, request, log)
    return None


def _retry_that_happened(
    hook: DbtCloudHook, request: RunRequest, failed_run_id: int
) -> dict[str, Any] | None:
    """After a retry POST with an unknown outcome, the failed run names its retry if there is one."""
    successor = hook.get_run_data(failed_run_id, request.account_id).get("retrying_run_id")
    return hook.get_run_data(int(successor), request.account_id) if successor else None


def _newer_marked_run(hook: DbtCloudHook, request: RunRequest, after: int) -> dict[str, Any] | None:
    found = find_marked_run(hook, request.job_id, request.marker, request.account_id)
    return found if found is not None and int(found["id"]) > after else None


def _send(
    hook: DbtCloudHook, request: RunRequest, log: LogLike, retry_of: int | None, after: int
) -> dict[str, Any]:
    last: DbtCloudRunMayExistError | None = None
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            if retry_of is not None:
                return hook.retry_job_run(retry_of, request.account_id)
            return hook.start_job_run(
                request.job_id, request.cause, request.account_id, **request.start_kwargs()
            )
        except DbtCloudRunMayExistError as exc:
            last = exc
            log.warning(
                "dbt Cloud may have started a run although the request failed (attempt %s/%s): %s. "
                "Looking for it by this task's marker before trying again.",
                attempt,
                START_ATTEMPTS,
                exc,
            )
            if retry_of is not None:
                found = _retry_that_happened(hook, request, retry_of)
            else:
                found = _newer_marked_run(hook, request, after)
            if found is not None:
                log.info("dbt Cloud run %s was started by the request whose answer was lost.", found["id"])
                return found
    assert last is not None
    raise last


def _reusable(hook: DbtCloudHook, request: RunRequest, log: LogLike) -> dict[str, Any] | None:
    runs = hook.list_runs_data(
        request.account_id,
        job_definition_id=request.job_id,
        statuses=_NON_TERMINAL,
        order_by="-id",
        include_related=("trigger",),
    )
    for run in runs:
        if run_matches_request(run, request.job_id, request.body):
            return run
        log.info("Not reusing dbt Cloud run %s: its overrides differ from this task's.", run["id"])
    return None


def obtain_run(
    hook: DbtCloudHook,
    context: Mapping[str, Any],
    request: RunRequest,
    *,
    reuse_existing_run: bool = False,
    retry_from_failure: bool = False,
    log: LogLike | None = None,
) -> tuple[dict[str, Any], How]:
    """Return the run this task instance owns, starting at most one new run.

    In order: the run an earlier try stored or marked (waited on if still going or succeeded; retried
    from its point of failure if it errored and ``retry_from_failure`` is set); with
    ``reuse_existing_run``, a non-terminal run of the job with the same overrides; else a new run. A
    run-starting POST whose outcome is unknown is followed by a search for the marker before it is sent
    again.

    :param hook: The hook to ask.
    :param context: The Airflow task context (for ``task_state_store``).
    :param request: What to run.
    :param reuse_existing_run: Attach to a matching non-terminal run started by anyone.
    :param retry_from_failure: Retry the earlier try's failed run instead of starting a new one.
    :param log: Where to say what happened.
    :return: The run and how the task came by it.
    :raises DbtCloudRunMayExistError: When every attempt's outcome stayed unknown.
    """
    log = log or logging.getLogger(__name__)
    earlier = _earlier_run(hook, context, request, log)
    after = 0
    if earlier is not None:
        after = int(earlier["id"])
        outcome = classify(earlier["status"])
        if outcome in ("pending", "success"):
            log.info("Reattaching to dbt Cloud run %s (%s) instead of starting another.", after, outcome)
            return earlier, "reattached"
        if outcome == "error" and retry_from_failure:
            if earlier.get("can_retry") is False:
                log.warning(
                    "dbt Cloud run %s cannot be retried (%s); starting a new run.",
                    after,
                    earlier.get("retry_not_supported_reason") or "no reason given",
                )
            else:
                log.info("Retrying dbt Cloud run %s from its point of failure.", after)
                try:
                    return _send(hook, request, log, retry_of=after, after=after), "retried"
                except DbtCloudRunMayExistError:
                    raise
                except DbtCloudApiError as exc:
                    if exc.status not in (400, 409):
                        raise
                    log.warning("dbt Cloud refused to retry run %s (%s); starting a new run.", after, exc)
        else:
            log.info("The earlier try's dbt Cloud run %s ended %s; starting a new run.", after, outcome)
    elif reuse_existing_run:
        match = _reusable(hook, request, log)
        if match is not None:
            log.info(
                "Reusing dbt Cloud run %s, which runs job %s with the same overrides.",
                match["id"],
                request.job_id,
            )
            return match, "reused"
    return _send(hook, request, log, retry_of=None, after=after), "started"
