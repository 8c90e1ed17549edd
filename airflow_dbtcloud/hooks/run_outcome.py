"""What a task does with how its wait ended: log a failed run's report once and raise, on every path.

Shared by the run operator and the sensor (polling, deferred, first status check), so the task log and
the exception look the same however the task waited.
"""

from __future__ import annotations

from typing import Any, NoReturn

from airflow_dbtcloud.api.failures import FailureReport
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus
from airflow_dbtcloud.api.waiting import WaitOutcome, validate_execute_complete_event
from airflow_dbtcloud.hooks.errors import DbtCloudJobRunCancelledError, DbtCloudJobRunFailedError

__all__ = ["NOT_RETRYING", "raise_for_failed_run", "settle_event"]

#: Appended to the message when a cancelled run fails the task without retries.
NOT_RETRYING = "Not retrying: the run was cancelled in dbt Cloud."


def raise_for_failed_run(
    hook: Any,
    run_id: int,
    account_id: int | None,
    message: str,
    *,
    cancelled: bool,
    fail_fast_on_cancel: bool = True,
    log: Any = None,
) -> NoReturn:
    """Log why a run failed (through ``hook.log_job_run_failure_details``) and raise.

    :param hook: The task's hook.
    :param run_id: The run.
    :param account_id: The account; None uses the connection's.
    :param message: The first line of the exception, e.g. "Job run 5 has failed.".
    :param cancelled: Whether the run was cancelled (rather than errored).
    :param fail_fast_on_cancel: Fail a cancelled run's task without its remaining retries.
    :param log: Where to say that the report could not be gathered; defaults to the hook's log.
    :raises DbtCloudJobRunCancelledError: For a cancelled run when ``fail_fast_on_cancel`` is set.
    :raises DbtCloudJobRunFailedError: Otherwise.
    """
    try:
        report = hook.log_job_run_failure_details(run_id=run_id, account_id=account_id)
    # The run's own failure is what the task must raise; a report that could not be gathered (even
    # for a reason this provider did not foresee) must not replace it.
    except Exception as exc:
        (log or hook.log).warning("Could not gather the failure details of run %s: %s", run_id, exc)
        report = None
    if isinstance(report, FailureReport):
        message = f"{message}\n{report.render()}"
    status = DbtCloudJobRunStatus.CANCELLED if cancelled else DbtCloudJobRunStatus.ERROR
    if cancelled and fail_fast_on_cancel:
        raise DbtCloudJobRunCancelledError(f"{message}\n{NOT_RETRYING}", status.value)
    raise DbtCloudJobRunFailedError(message, status.value)


def settle_event(
    hook: Any, event: dict[str, Any] | None, account_id: int | None, *, fail_fast_on_cancel: bool, log: Any
) -> WaitOutcome:
    """Read the event a deferred task resumed with; for a failed run, report and raise.

    :param hook: The task's hook.
    :param event: The event the task resumed with.
    :param account_id: The account; None uses the connection's.
    :param fail_fast_on_cancel: Fail a cancelled run's task without its remaining retries.
    :param log: The task's logger.
    :return: How the wait ended, when the run did not fail (success, a deadline, an API failure).
    :raises DbtCloudTriggerEventException: When the event is missing or malformed.
    :raises DbtCloudJobRunFailedError: When the run errored or was cancelled.
    """
    outcome = WaitOutcome.from_event(validate_execute_complete_event(event))
    if outcome.end == "ended" and outcome.run_id is not None:
        raise_for_failed_run(
            hook,
            int(outcome.run_id),
            account_id,
            outcome.message,
            cancelled=outcome.event_status == "cancelled",
            fail_fast_on_cancel=fail_fast_on_cancel,
            log=log,
        )
    return outcome
