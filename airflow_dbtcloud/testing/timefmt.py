"""How the Admin API writes instants and durations in its payloads."""

from __future__ import annotations

from datetime import UTC, datetime


def ts(value: float | None) -> str | None:
    """Format an epoch the way the Admin API does (``2026-11-25 10:00:00.123456+00:00``).

    :param value: Seconds since the epoch, or None.
    :return: The string, or None when ``value`` is None.
    """
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def clock(seconds: float) -> str:
    """Format a duration as ``HH:MM:SS``.

    :param seconds: The duration; a negative one shows as ``00:00:00``.
    :return: The string.
    """
    whole = max(int(seconds), 0)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def humanize(seconds: float) -> str:
    """Format a duration as dbt Cloud's UI does (``1 minute, 5 seconds``).

    :param seconds: The duration; a negative one shows as ``0 seconds``.
    :return: The string.
    """
    whole = max(int(seconds), 0)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    shown = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n] or ["0 seconds"]
    return ", ".join(shown)
