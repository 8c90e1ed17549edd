"""The exceptions a dbt Cloud run wait raises, importable without the hook and its HTTP libraries.

:mod:`airflow_dbtcloud.hooks.dbt` raises them and re-exports them (the official provider defines them
there); the operators and the sensor catch them, and DAG files that only build tasks import those
modules without importing ``requests`` or ``aiohttp``.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException

from airflow_dbtcloud._transport.errors import DbtCloudError

__all__ = [
    "DbtCloudJobRunCancelledError",
    "DbtCloudJobRunException",
    "DbtCloudJobRunFailedError",
    "DbtCloudJobRunTimeoutError",
]


class DbtCloudJobRunException(DbtCloudError):
    """A dbt Cloud job run ended in a status other than the one expected, or did not end in time."""


class DbtCloudJobRunFailedError(DbtCloudJobRunException):
    """
    A run ended in a status the waiter did not expect (error or cancelled, usually).

    :param message: The message, with the failure report when one was gathered.
    :param status: The status code the run ended with.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DbtCloudJobRunTimeoutError(DbtCloudJobRunException):
    """A wait for a run ended because its timeout passed while the run was still going."""


class DbtCloudJobRunCancelledError(DbtCloudJobRunFailedError, AirflowFailException):
    """A run was cancelled in dbt Cloud: the task fails without using its remaining retries."""
