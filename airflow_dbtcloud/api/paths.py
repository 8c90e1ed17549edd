"""URL paths of the dbt Cloud Administrative API, in one table."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["v2", "v3"]


def _join(version: str, account_id: int | None, parts: tuple[object, ...]) -> str:
    segments = ["api", version, "accounts"]
    if account_id is not None:
        segments.append(str(account_id))
    segments.extend(quote(str(part), safe="") for part in parts)
    return "/" + "/".join(segments) + "/"


def v2(account_id: int | None, *parts: object) -> str:
    """
    Return a v2 path, e.g. ``v2(1, "runs", 5)`` is ``/api/v2/accounts/1/runs/5/``.

    :param account_id: The account, or None for the accounts list.
    :param parts: Further path segments, each quoted.
    """
    return _join("v2", account_id, parts)


def v3(account_id: int, *parts: object) -> str:
    """
    Return a v3 path, e.g. ``v3(1, "projects")`` is ``/api/v3/accounts/1/projects/``.

    :param account_id: The account.
    :param parts: Further path segments, each quoted.
    """
    return _join("v3", account_id, parts)
