"""Checking what users give as ids (account, job, run, step...) and artifact paths, before any request."""

from __future__ import annotations

from datetime import timedelta
from numbers import Integral
from typing import Any

from airflow_dbtcloud._transport.errors import DbtCloudConfigError

__all__ = ["artifact_path", "optional_id", "require_id", "seconds_or_none"]

#: How much of a refused value an error message repeats.
_SHOWN = 80


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def require_id(name: str, value: Any) -> int:
    """Return an id as an int, or refuse it with a message that names the parameter and the value.

    Templated fields arrive as text, so a string of ASCII digits (``"42"``) is accepted, and so is a
    float without a fraction (``42.0``). Booleans, other text, fractions, zero and negative numbers are
    refused.

    :param name: The parameter's name, e.g. ``"job_id"``.
    :param value: What the user passed.
    :raises DbtCloudConfigError: When the value is not a positive integer.
    """
    # The common case first: a deferred wait checks two ids on every poll.
    if type(value) is int and value > 0:
        return value
    number: int | None = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, str):
        text = value.strip()
        # isdigit alone accepts "²" and other digits int() cannot read.
        if text.isascii() and text.isdigit():
            number = int(text)
    elif isinstance(value, float):
        if value.is_integer():
            number = int(value)
    elif isinstance(value, Integral):
        number = int(value)
    if number is None or number < 1:
        raise DbtCloudConfigError(f"{name} must be a positive integer, got {_shown(value)}")
    return number


def optional_id(name: str, value: Any) -> int | None:
    """Like :func:`require_id`, but None stays None (meaning "not given").

    :param name: The parameter's name, e.g. ``"account_id"``.
    :param value: What the user passed.
    :raises DbtCloudConfigError: When the value is neither None nor a positive integer.
    """
    return None if value is None else require_id(name, value)


def artifact_path(path: Any) -> tuple[str, ...]:
    """Split an artifact path (relative to the run's ``target/``) into its segments, or refuse it.

    A segment such as ``..`` would be collapsed on the way to dbt Cloud and reach another endpoint with
    the same token, so only plain relative paths pass: ``manifest.json``,
    ``compiled/my_project/models/orders.sql``.

    :param path: What the user passed.
    :return: The path's segments, e.g. ``("compiled", "my_project", "models", "orders.sql")``.
    :raises DbtCloudConfigError: When the path is not a non-empty string, is absolute (``/x``, ``C:x``,
        ``~x``), holds a backslash or a control character, or has an empty, ``.`` or ``..`` segment.
    """
    if not isinstance(path, str) or not path.strip():
        raise DbtCloudConfigError(f"An artifact path must be a non-empty string, got {_shown(path)}")
    segments = tuple(path.split("/"))
    if (
        path.startswith(("/", "~"))
        or (len(path) > 1 and path[1] == ":")
        or "\\" in path
        or any(ord(character) < 32 or character == "\x7f" for character in path)
        or any(segment in ("", ".", "..") for segment in segments)
    ):
        raise DbtCloudConfigError(
            f"Artifact path {_shown(path)} must be a relative path under target/ such as 'manifest.json' "
            "or 'compiled/<project>/models/x.sql': no leading '/', no backslash, no empty, '.' or '..' "
            "segment"
        )
    return segments


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
