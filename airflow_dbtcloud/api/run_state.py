"""The state of one dbt Cloud run, read once from the API's payload and typed from then on.

Everything above the hook reads runs through :class:`RunState`: the status is parsed and checked in
one place (:meth:`RunState.from_payload`), and what a status means comes from :func:`classify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_dbtcloud._transport.errors import DbtCloudPayloadError
from airflow_dbtcloud.api.status import RunOutcome, classify, status_name
from airflow_dbtcloud.api.types import Run, RunStep

__all__ = ["RunState", "StepState", "parse_time"]


def _int(value: Any, name: str, *, required: bool = False) -> int | None:
    """Read an integer id or code; dbt Cloud sends ints, a digit string is tolerated."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise DbtCloudPayloadError(f"the run's {name} must be an integer, got {value!r}")
    return int(value)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def parse_time(value: str | datetime | None) -> datetime | None:
    """Read a timestamp as dbt Cloud writes it (ISO 8601, with or without a zone; naive means UTC).

    :param value: The text, a datetime, or None.
    :return: An aware datetime, or None for None or an empty string.
    :raises ValueError: When the text is not a timestamp.
    """
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace(" ", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StepState:
    """One step of a run, e.g. "Invoke dbt with `dbt build`".

    :param index: The step's position, starting at 1.
    :param name: The step's name.
    :param status: The step's status code (the same codes as runs), or None when not reported.
    :param status_humanized: dbt Cloud's word for the status, e.g. "Error".
    :param duration: How long the step took, as dbt Cloud words it.
    :param logs: The step's log text (empty when not fetched).
    :param id: The step's id (for ``/steps/{id}/``), when the payload gives it.
    """

    index: int
    name: str
    status: int | None = None
    status_humanized: str | None = None
    duration: str | None = None
    logs: str = ""
    id: int | None = None

    @property
    def ended(self) -> bool:
        """Whether the step has ended (success, error or cancelled)."""
        return self.status is not None and classify(self.status) != "pending"

    @property
    def failed(self) -> bool:
        """Whether the step errored or was cancelled."""
        return self.status is not None and classify(self.status) in ("error", "cancelled")

    @classmethod
    def from_payload(cls, step: RunStep) -> StepState:
        """Read a step from a run's ``run_steps``.

        :param step: One element of ``run_steps``.
        :raises DbtCloudPayloadError: When the step's status is not a run status code.
        """
        status = _int(step.get("status"), "step status")
        return cls(
            index=_int(step.get("index"), "step index") or 0,
            name=str(step.get("name") or "<unnamed step>"),
            status=status,
            status_humanized=_text(step.get("status_humanized")),
            duration=_text(step.get("duration_humanized") or step.get("duration")),
            logs=str(step.get("logs") or ""),
            id=_int(step.get("id"), "step id"),
        )


@dataclass(frozen=True)
class RunState:
    """What this provider knows of a run after one API answer.

    Only ``id`` is required: answers that omit a field (a trigger answer without ``status``, a run
    fetched without ``include_related``) leave it ``None``.

    :param id: The run id.
    :param status: The status code (1 queued, 2 starting, 3 running, 10 success, 20 error, 30 cancelled).
    :param account_id: The account the run belongs to.
    :param project_id: The project the run belongs to.
    :param job_id: The job definition the run belongs to.
    :param environment_id: The environment the run ran in.
    :param href: The run's page in dbt Cloud, as dbt Cloud gives it.
    :param status_humanized: dbt Cloud's word for the status.
    :param status_message: dbt Cloud's message for the run, e.g. why it failed.
    :param cause: Why the run was started (from ``trigger``, when included).
    :param trigger: The ``trigger`` related object (cause and overrides), empty when not included.
    :param retrying_run_id: The run that retried this one from its point of failure, if any.
    :param can_retry: Whether dbt Cloud allows retrying this run from its point of failure.
    :param retry_not_supported_reason: Why it cannot be retried, when it cannot.
    :param artifacts_saved: Whether the run saved artifacts (``run_results.json`` and others).
    :param has_docs_generated: Whether the run generated docs (``catalog.json``).
    :param git_branch: The branch the run checked out.
    :param git_sha: The commit the run checked out.
    :param created_at: When the run was created (ISO 8601 text).
    :param started_at: When the run started executing.
    :param finished_at: When the run ended.
    :param duration: How long the run has taken, as dbt Cloud words it.
    :param steps: The run's steps (when fetched with ``run_steps``).
    """

    id: int
    status: int | None = None
    account_id: int | None = None
    project_id: int | None = None
    job_id: int | None = None
    environment_id: int | None = None
    href: str | None = None
    status_humanized: str | None = None
    status_message: str | None = None
    cause: str | None = None
    trigger: Mapping[str, Any] = field(default_factory=dict)
    retrying_run_id: int | None = None
    can_retry: bool | None = None
    retry_not_supported_reason: str | None = None
    artifacts_saved: bool = False
    has_docs_generated: bool = False
    git_branch: str | None = None
    git_sha: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration: str | None = None
    steps: tuple[StepState, ...] = ()

    @classmethod
    def from_payload(cls, payload: Run | Mapping[str, Any]) -> RunState:
        """Read a run from the ``data`` of a run answer (get, trigger, retry, or an element of a list).

        :param payload: The run object dbt Cloud returned.
        :return: The run's state.
        :raises DbtCloudPayloadError: When the payload is not a run object, or its id or status is not
            an integer (the status must also be a known code).
        """
        if not isinstance(payload, Mapping):
            raise DbtCloudPayloadError(f"expected a run object, got {type(payload).__name__}: {payload!r}")
        status = _int(payload.get("status"), "status")
        if status is not None:
            try:
                classify(status)  # an undocumented code is an error here, not a silent "pending"
            except ValueError as exc:
                raise DbtCloudPayloadError(
                    f"the run's status {status} is not a dbt Cloud run status"
                ) from exc
        trigger = payload.get("trigger")
        trigger = trigger if isinstance(trigger, Mapping) else {}
        steps = payload.get("run_steps")
        return cls(
            id=_int(payload.get("id"), "id", required=True) or 0,
            status=status,
            account_id=_int(payload.get("account_id"), "account_id"),
            project_id=_int(payload.get("project_id"), "project_id"),
            job_id=_int(payload.get("job_definition_id") or payload.get("job_id"), "job_definition_id"),
            environment_id=_int(payload.get("environment_id"), "environment_id"),
            href=_text(payload.get("href")),
            status_humanized=_text(payload.get("status_humanized")),
            status_message=_text(payload.get("status_message")),
            cause=_text(trigger.get("cause")),
            trigger=trigger,
            retrying_run_id=_int(payload.get("retrying_run_id"), "retrying_run_id"),
            can_retry=payload.get("can_retry") if isinstance(payload.get("can_retry"), bool) else None,
            retry_not_supported_reason=_text(payload.get("retry_not_supported_reason")),
            artifacts_saved=payload.get("artifacts_saved") is True,
            has_docs_generated=payload.get("has_docs_generated") is True,
            git_branch=_text(payload.get("git_branch")),
            git_sha=_text(payload.get("git_sha")),
            created_at=_text(payload.get("created_at")),
            started_at=_text(payload.get("started_at")),
            finished_at=_text(payload.get("finished_at")),
            duration=_text(payload.get("duration_humanized") or payload.get("duration")),
            steps=tuple(StepState.from_payload(s) for s in steps) if isinstance(steps, list) else (),
        )

    @classmethod
    def from_stand_in(cls, data: Any) -> RunState:
        """Read what a test double returned in place of a run, as leniently as the official provider.

        Users' tests patch hook methods such as ``trigger_job_run`` without always shaping the answer
        like dbt Cloud's; the official operator then carries on with whatever ``["id"]`` gives. Real
        answers (``requests.Response``) never come here: they are read by :meth:`from_payload`.

        :param data: The ``data`` of the double's ``json()``.
        :return: The run as :meth:`from_payload` reads it when it can; else only its ``id``, as given
            (which may then not be an int: the operators do not wait on such a run).
        """
        try:
            return cls.from_payload(data)
        except DbtCloudPayloadError:
            try:
                raw_id = data["id"]
            except (TypeError, KeyError, IndexError):
                raw_id = None
            return cls(id=raw_id)

    @property
    def outcome(self) -> RunOutcome | None:
        """What the status means to a waiter (``pending``, ``success``, ``error``, ``cancelled``).

        :return: The outcome, or None when the answer carried no status.
        """
        return None if self.status is None else classify(self.status)

    @property
    def is_terminal(self) -> bool:
        """Whether the run has ended (success, error or cancelled)."""
        return self.outcome not in (None, "pending")

    @property
    def label(self) -> str:
        """The status for a log line: dbt Cloud's word for it, else its name, else "unknown"."""
        if self.status_humanized:
            return self.status_humanized
        return "unknown" if self.status is None else status_name(self.status).capitalize()

    def current_step(self) -> StepState | None:
        """Return the last step that has started (the one running, or the one that ended the run)."""
        return next((step for step in reversed(self.steps) if step.status not in (None, 1)), None)

    def progress(self, elapsed_seconds: float) -> str:
        """Describe the run for a progress line in the task log.

        :param elapsed_seconds: How long the caller has been waiting, in seconds.
        :return: e.g. ``"Running after 42s, step 2/3: Invoke dbt with `dbt build`"``.
        """
        text = f"{self.label} after {elapsed_seconds:.0f}s"
        step = self.current_step()
        if step is not None:
            text += f", step {step.index}/{len(self.steps)}: {step.name}"
        return text
