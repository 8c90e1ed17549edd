"""URL paths of the dbt Cloud Administrative API, in one table."""

from __future__ import annotations

from urllib.parse import quote

from airflow_dbtcloud._transport.errors import DbtCloudConfigError
from airflow_dbtcloud.api.ids import require_id

__all__ = ["v2", "v3"]


def _join(version: str, account_id: int | None, parts: tuple[object, ...]) -> str:
    segments = ["api", version, "accounts"]
    # Only the accounts list goes without an account; None before further parts is refused.
    if account_id is not None or parts or version != "v2":
        segments.append(str(require_id("account_id", account_id)))
    for part in parts:
        segment = quote(str(part), safe="")
        # Quoting keeps dots, and an HTTP library collapses "." and ".." segments on the way out.
        if segment in ("", ".", ".."):
            raise DbtCloudConfigError(f"{part!r} cannot be a segment of a dbt Cloud API path")
        segments.append(segment)
    return "/" + "/".join(segments) + "/"


def v2(account_id: int | None, *parts: object) -> str:
    """
    Return a v2 path, e.g. ``v2(1, "runs", 5)`` is ``/api/v2/accounts/1/runs/5/``.

    :param account_id: The account (checked: a positive integer, or digits), or None for the accounts
        list.
    :param parts: Further path segments, each quoted, so none can add a ``/``; ids among them are
        checked by the caller.
    :raises DbtCloudConfigError: When ``account_id`` is not a positive integer, or a segment is empty,
        ``.`` or ``..``.
    """
    return _join("v2", account_id, parts)


def v3(account_id: int, *parts: object) -> str:
    """
    Return a v3 path, e.g. ``v3(1, "projects")`` is ``/api/v3/accounts/1/projects/``.

    :param account_id: The account (checked as in :func:`v2`).
    :param parts: Further path segments, each quoted.
    :raises DbtCloudConfigError: As :func:`v2`.
    """
    return _join("v3", account_id, parts)
