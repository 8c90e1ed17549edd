"""What a task asks dbt Cloud to run, validated before the first request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_dbtcloud.api.jobs import trigger_fields

__all__ = ["TYPED_OVERRIDES", "RunRequest", "validate_overrides"]

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
    unknown = sorted(set(typed) - set(TYPED_OVERRIDES))
    if unknown:
        raise ValueError(f"Unknown override(s) {unknown}; accepted: {TYPED_OVERRIDES}.")
    if additional_run_config is not None and not isinstance(additional_run_config, Mapping):
        raise ValueError(f"additional_run_config must be a dict, got {type(additional_run_config).__name__}.")
    extra = dict(additional_run_config or {})
    chosen = {name: value for name, value in typed.items() if value is not None}
    clash = sorted(set(extra) & set(chosen))
    if clash:
        raise ValueError(f"additional_run_config repeats {clash}; set each field in one place only.")
    # The rules for each field live with the API request, so the hook and the operator agree.
    return trigger_fields(steps_override, schema_override, {**extra, **chosen})


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
