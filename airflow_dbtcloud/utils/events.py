"""The event a :class:`~airflow_dbtcloud.triggers.dbt.DbtCloudRunJobTrigger` fires, and its validation."""

from __future__ import annotations

from typing import Any, Literal, TypedDict, cast, get_args

from airflow_dbtcloud.hooks.dbt import DbtCloudError

__all__ = [
    "EVENT_STATUSES",
    "DbtCloudEventError",
    "DbtCloudRunEvent",
    "EventStatus",
    "make_event",
    "validate_event",
]

#: ``success``, ``error`` and ``cancelled`` mirror the run's terminal status; ``timeout`` means a deadline
#: passed while the run was still going; ``api_error`` means dbt Cloud could not be asked in time (the
#: transient error budget ran out) or answered with an error that waiting cannot fix.
EventStatus = Literal["success", "error", "cancelled", "timeout", "api_error"]
EVENT_STATUSES: tuple[str, ...] = get_args(EventStatus)


class DbtCloudRunEvent(TypedDict):
    """The payload of the trigger's single event.

    ``reason`` refines ``timeout`` (``"timeout"`` for the operator's ``timeout``, ``"execution_timeout"``
    for the task's ``execution_timeout``) and is ``None`` otherwise. ``run_status`` is the last status
    code seen, or ``None`` when no poll succeeded.
    """

    status: EventStatus
    message: str
    run_id: int
    run_status: int | None
    reason: str | None
    elapsed_seconds: float


class DbtCloudEventError(DbtCloudError):
    """Raised when a task resumes with an event that is missing or malformed."""


def make_event(
    status: EventStatus,
    run_id: int,
    message: str,
    *,
    run_status: int | None = None,
    reason: str | None = None,
    elapsed_seconds: float = 0.0,
) -> DbtCloudRunEvent:
    """Build a trigger event payload.

    :param status: What ended the wait.
    :param run_id: The dbt Cloud run id.
    :param message: A sentence for the task log.
    :param run_status: The last run status code seen, if any.
    :param reason: Which deadline passed, for ``timeout`` events.
    :param elapsed_seconds: How long the trigger waited, in seconds.
    :return: The payload, a plain dict that serializes as JSON.
    """
    return DbtCloudRunEvent(
        status=status,
        message=message,
        run_id=run_id,
        run_status=run_status,
        reason=reason,
        elapsed_seconds=round(elapsed_seconds, 3),
    )


def validate_event(event: Any) -> DbtCloudRunEvent:
    """Check that a resumed task received a well-formed event, loudly.

    Events from the official provider's trigger (``status``, ``message``, ``run_id`` only) are accepted,
    so tasks deferred before an upgrade still resume.

    :param event: The ``event`` keyword the task was resumed with.
    :return: The event with every key present.
    :raises DbtCloudEventError: When the event is missing, not a dict, lacks a key, or has an unknown status.
    """
    if event is None:
        raise DbtCloudEventError("The task resumed without a trigger event; the trigger did not finish.")
    if not isinstance(event, dict):
        raise DbtCloudEventError(f"The trigger event must be a dict, got {type(event).__name__}.")
    missing = [key for key in ("status", "run_id") if key not in event]
    if missing:
        raise DbtCloudEventError(f"The trigger event lacks {', '.join(missing)}: {sorted(event)}.")
    if event["status"] not in EVENT_STATUSES:
        raise DbtCloudEventError(
            f"The trigger event has an unknown status {event['status']!r}; expected one of {EVENT_STATUSES}."
        )
    try:
        run_id = int(event["run_id"])
    except (TypeError, ValueError) as exc:
        raise DbtCloudEventError(f"The trigger event has a non-integer run_id {event['run_id']!r}.") from exc
    return make_event(
        cast(EventStatus, event["status"]),
        run_id,
        str(event.get("message") or ""),
        run_status=event.get("run_status"),
        reason=event.get("reason"),
        elapsed_seconds=float(event.get("elapsed_seconds") or 0.0),
    )
