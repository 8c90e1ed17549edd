"""Checking the ids users give (job, run, account), before any request is sent."""

from __future__ import annotations

from typing import Any

from airflow_dbtcloud._transport.errors import DbtCloudConfigError

__all__ = ["optional_id", "require_id"]


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
