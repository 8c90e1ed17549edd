"""Run statuses, and the one function that interprets them for every waiter."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Literal, TypeAlias

__all__ = ["DbtCloudJobRunStatus", "RunOutcome", "classify", "status_name"]

#: What a status means to a waiter.
RunOutcome: TypeAlias = Literal["pending", "success", "error", "cancelled"]


class DbtCloudJobRunStatus(Enum):
    """dbt Cloud job run statuses."""

    QUEUED = 1
    STARTING = 2
    RUNNING = 3
    SUCCESS = 10
    ERROR = 20
    CANCELLED = 30
    NON_TERMINAL_STATUSES = (QUEUED, STARTING, RUNNING)
    TERMINAL_STATUSES = (SUCCESS, ERROR, CANCELLED)

    @classmethod
    def check_is_valid(cls, statuses: int | Iterable[int]) -> None:
        """
        Validate that the statuses are known run status values.

        :param statuses: One status value, or a sequence or set of them.
        :raises ValueError: For the first value that is not a run status, with the standard ``Enum``
            message (``"42 is not a valid DbtCloudJobRunStatus"``).
        """
        values = [statuses] if isinstance(statuses, int) else list(statuses)
        for value in values:
            cls(value)

    @classmethod
    def is_terminal(cls, status: int) -> bool:
        """
        Tell whether a status is final (success, error or cancelled).

        :param status: A run status value.
        :raises ValueError: When the value is not a run status.
        """
        cls.check_is_valid(status)
        return status in cls.TERMINAL_STATUSES.value


_OUTCOMES: dict[int, RunOutcome] = {10: "success", 20: "error", 30: "cancelled"}
_CODES = frozenset(member.value for member in DbtCloudJobRunStatus if isinstance(member.value, int))


def classify(status: int) -> RunOutcome:
    """
    Say what a run status means to a waiter.

    :param status: A run status value.
    :return: ``"pending"`` while the run can still change, else how it ended.
    :raises ValueError: When the value is not a run status.
    """
    if status not in _CODES:
        DbtCloudJobRunStatus.check_is_valid(status)  # raises for an unknown value
        raise ValueError(f"{status!r} is not a single dbt Cloud run status")
    return _OUTCOMES.get(status, "pending")


def status_name(status: int | None) -> str:
    """
    Return a status value's name for logs (``"RUNNING"``), or the value itself when unknown.

    :param status: A run status value.
    """
    try:
        return DbtCloudJobRunStatus(status).name
    except ValueError:
        return str(status)
