"""Turn a finished run into the task's result: a return value, or an exception with the failure output."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowFailException

from airflow_dbtcloud.hooks.dbt import DbtCloudJobRunException
from airflow_dbtcloud.utils.run_start import LogLike

if TYPE_CHECKING:
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

__all__ = ["DbtCloudJobRunCancelledError", "raise_for_failed_run"]


class DbtCloudJobRunCancelledError(DbtCloudJobRunException, AirflowFailException):
    """A run was cancelled in dbt Cloud: the task fails without using its remaining retries."""


def raise_for_failed_run(
    hook: DbtCloudHook,
    run_id: int,
    outcome: str,
    *,
    account_id: int | None = None,
    url: str | None = None,
    fail_fast_on_cancel: bool = True,
    log: LogLike | None = None,
) -> None:
    """Log the failure report once and raise.

    :param hook: The hook used to fetch the run's steps and ``run_results.json``.
    :param run_id: The dbt Cloud run id.
    :param outcome: ``"error"`` or ``"cancelled"``.
    :param account_id: The account id; ``None`` uses the connection's.
    :param url: The run's page, used when the run cannot be fetched.
    :param fail_fast_on_cancel: Raise :class:`DbtCloudJobRunCancelledError` (no retries) for a
        cancelled run, instead of :class:`DbtCloudJobRunException`.
    :param log: Where to write the report.
    :raises DbtCloudJobRunCancelledError: For a cancelled run when ``fail_fast_on_cancel`` is set.
    :raises DbtCloudJobRunException: Otherwise; the message holds the report.
    """
    log = log or logging.getLogger(__name__)
    report = hook.get_failure_report(run_id, account_id, url)
    text = report.render()
    log.error("%s", text)
    if outcome == "cancelled":
        message = f"Job run {run_id} has been cancelled.\n{text}"
        if fail_fast_on_cancel:
            raise DbtCloudJobRunCancelledError(
                message + "\nNot retrying: the run was cancelled in dbt Cloud."
            )
        raise DbtCloudJobRunException(message)
    raise DbtCloudJobRunException(f"Job run {run_id} has failed.\n{text}")
