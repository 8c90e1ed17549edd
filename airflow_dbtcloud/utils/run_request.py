"""What a task asks dbt Cloud to run, validated before the first request."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TYPED_OVERRIDES", "RunRequest", "validate_overrides"]

_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
#: The typed trigger-body fields the operator accepts as parameters.
TYPED_OVERRIDES = (
    "git_branch",
    "git_sha",
    "threads_override",
    "target_name_override",
    "dbt_version_override",
    "generate_docs_override",
    "timeout_seconds_override",
)


def _text(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}.")


def _positive_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def validate_overrides(
    *,
    steps_override: Any = None,
    schema_override: Any = None,
    additional_run_config: Any = None,
    **typed: Any,
) -> dict[str, Any]:
    """Validate the trigger-body overrides and merge them into one body (without ``cause``).

    :param steps_override: A list of dbt commands, each starting with ``dbt ``.
    :param schema_override: A schema name.
    :param additional_run_config: Further body fields, passed as they are; must not repeat a typed one.
    :param typed: The :data:`TYPED_OVERRIDES`, each ``None`` when unset.
    :return: The body fields that are set.
    :raises ValueError: Naming the first field that is wrong and what is accepted.
    """
    body: dict[str, Any] = {}
    if steps_override is not None:
        if (
            isinstance(steps_override, str)
            or not isinstance(steps_override, list | tuple)
            or not steps_override
        ):
            raise ValueError(
                f"steps_override must be a non-empty list of dbt commands, got {steps_override!r}."
            )
        for step in steps_override:
            if not isinstance(step, str) or not step.strip().startswith("dbt "):
                raise ValueError(f"Each steps_override entry must start with 'dbt ', got {step!r}.")
        body["steps_override"] = [step.strip() for step in steps_override]
    if schema_override is not None:
        _text("schema_override", schema_override)
        body["schema_override"] = schema_override
    unknown = sorted(set(typed) - set(TYPED_OVERRIDES))
    if unknown:
        raise ValueError(f"Unknown override(s) {unknown}; accepted: {TYPED_OVERRIDES}.")
    checks = {
        "git_branch": lambda v: _text("git_branch", v),
        "target_name_override": lambda v: _text("target_name_override", v),
        "dbt_version_override": lambda v: _text("dbt_version_override", v),
        "threads_override": lambda v: _positive_int("threads_override", v, 1),
        "timeout_seconds_override": lambda v: _positive_int("timeout_seconds_override", v, 0),
    }
    for name, value in typed.items():
        if value is None:
            continue
        if name == "git_sha" and (not isinstance(value, str) or not _SHA.match(value)):
            raise ValueError(f"git_sha must be 7 to 40 hexadecimal characters, got {value!r}.")
        if name == "generate_docs_override" and not isinstance(value, bool):
            raise ValueError(f"generate_docs_override must be True or False, got {value!r}.")
        if name in checks:
            checks[name](value)
        body[name] = value
    if additional_run_config:
        if not isinstance(additional_run_config, Mapping):
            raise ValueError(
                f"additional_run_config must be a dict, got {type(additional_run_config).__name__}."
            )
        clash = sorted(set(additional_run_config) & (set(body) | {"cause"}))
        if clash:
            raise ValueError(f"additional_run_config repeats {clash}; set each field in one place only.")
        body.update(additional_run_config)
    return body


@dataclass(frozen=True)
class RunRequest:
    """One task's request to run a job.

    :param job_id: The dbt Cloud job id.
    :param cause: The cause sent to dbt Cloud; it ends with ``marker``.
    :param marker: The task instance's marker.
    :param account_id: The account id; ``None`` uses the connection's.
    :param body: The validated overrides (no ``cause``).
    """

    job_id: int
    cause: str
    marker: str
    account_id: int | None = None
    body: dict[str, Any] = field(default_factory=dict)

    def start_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments for ``DbtCloudHook.start_job_run`` besides job, cause and account."""
        extra = {k: v for k, v in self.body.items() if k not in ("steps_override", "schema_override")}
        return {
            "steps_override": self.body.get("steps_override"),
            "schema_override": self.body.get("schema_override"),
            "additional_run_config": extra or None,
        }
