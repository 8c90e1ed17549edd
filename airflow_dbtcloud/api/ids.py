"""Checking the ids users give (job, run, account), before any request is sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow_dbtcloud._transport.errors import DbtCloudConfigError

__all__ = ["optional_id", "require_id", "seconds_or_none"]


def require_id(name: str, value: Any) -> int:
    """Return an id as an int, or refuse it with a message that names the parameter.

    Templated fields arrive as text, so a string of digits is accepted.

    :param name: The parameter's name, e.g. ``"job_id"``.
    :param value: What the user passed.
    :raises DbtCloudConfigError: When the value is not a positive integer.
    """
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) < 1:
        raise DbtCloudConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(text)


def optional_id(name: str, value: Any) -> int | None:
    """Like :func:`require_id`, but None stays None (the connection's default is used).

    :param name: The parameter's name, e.g. ``"account_id"``.
    :param value: What the user passed.
    :raises DbtCloudConfigError: When the value is neither None nor a positive integer.
    """
    return None if value is None else require_id(name, value)


def seconds_or_none(name: str, value: Any) -> float | None:
    """Return a duration in seconds (from a number or a ``timedelta``), or None; refuse anything else.

    :param name: The parameter's name, e.g. ``"expected_duration"``.
    :param value: What the user passed.
    :raises DbtCloudConfigError: When the value is not a positive duration.
    """
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        raise DbtCloudConfigError(
            f"{name} must be a positive number of seconds or a timedelta, got {value!r}"
        )
    return float(seconds)
