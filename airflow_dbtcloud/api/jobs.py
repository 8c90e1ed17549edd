"""Job endpoints: list, get, look up by names, trigger and rerun."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_dbtcloud._transport.errors import DbtCloudConfigError, DbtCloudError
from airflow_dbtcloud._transport.pagination import paginate
from airflow_dbtcloud._transport.request import JSON, ApiRequest, ApiResponse, Flow, encode_params, single
from airflow_dbtcloud.api.ids import optional_id, require_id
from airflow_dbtcloud.api.paths import v2

__all__ = [
    "CAUSE_MAX_LENGTH",
    "TYPED_OVERRIDES",
    "DbtCloudResourceLookupError",
    "exactly_one",
    "get_job",
    "list_jobs",
    "merge_overrides",
    "rerun_job",
    "trigger_body",
    "trigger_fields",
    "trigger_run",
]

#: dbt Cloud rejects a longer ``cause``.
CAUSE_MAX_LENGTH = 255

#: Trigger body fields and the Python types dbt Cloud accepts for them.
TRIGGER_FIELDS: dict[str, tuple[type, ...]] = {
    "git_sha": (str,),
    "git_branch": (str,),
    "azure_pull_request_id": (int,),
    "github_pull_request_id": (int,),
    "gitlab_merge_request_id": (int,),
    "non_native_pull_request_id": (str,),
    "schema_override": (str,),
    "dbt_version_override": (str,),
    "threads_override": (int,),
    "target_name_override": (str,),
    "generate_docs_override": (bool,),
    "timeout_seconds_override": (int,),
    "steps_override": (list, tuple),
}


#: The trigger fields the run operator also takes as parameters of their own.
TYPED_OVERRIDES = (
    "git_branch",
    "git_sha",
    "threads_override",
    "target_name_override",
    "dbt_version_override",
    "generate_docs_override",
    "timeout_seconds_override",
)


class DbtCloudResourceLookupError(DbtCloudError):
    """A project, environment or job could not be identified by name (none or several match)."""


_GIT_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
#: Smallest accepted value of the integer overrides (0 seconds means no run timeout).
_MINIMUM = {"threads_override": 1, "timeout_seconds_override": 0}


def _check_field(name: str, value: Any) -> None:
    expected = TRIGGER_FIELDS[name]
    # bool is an int to Python, but not to dbt Cloud.
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        names = " or ".join(t.__name__ for t in expected)
        raise DbtCloudConfigError(f"{name} must be {names}, got {value!r}")
    checked: Any = value
    if name == "steps_override":
        bad = [step for step in checked if not isinstance(step, str) or not step.strip().startswith("dbt ")]
        if not checked or bad:
            raise DbtCloudConfigError(
                "steps_override must be a non-empty list of dbt commands starting with 'dbt ', "
                f"got {bad or value}"
            )
    elif name in _MINIMUM and checked < _MINIMUM[name]:
        raise DbtCloudConfigError(f"{name} must be an integer >= {_MINIMUM[name]}, got {value}")
    elif name == "git_sha" and not _GIT_SHA.match(checked):
        raise DbtCloudConfigError(f"git_sha must be 7 to 40 hexadecimal characters, got {value!r}")
    elif isinstance(checked, str) and not checked.strip():
        raise DbtCloudConfigError(f"{name} must not be empty")


def trigger_fields(
    steps_override: Sequence[str] | None = None,
    schema_override: str | None = None,
    additional_run_config: Mapping[str, Any] | None = None,
) -> dict[str, JSON]:
    """
    Validate the optional fields of a trigger-run body (everything but ``cause``).

    Fields this client does not know are passed on with a warning, so a field dbt Cloud adds later
    still reaches it.

    :param steps_override: dbt commands to run instead of the job's own.
    :param schema_override: Schema to build into instead of the target's.
    :param additional_run_config: Further trigger fields (``git_branch``, ``threads_override``, ...).
    :return: The fields that are set.
    :raises DbtCloudConfigError: When a known field has the wrong type or value.
    """
    fields: dict[str, Any] = {"steps_override": steps_override, "schema_override": schema_override}
    if additional_run_config is not None and not isinstance(additional_run_config, Mapping):
        raise DbtCloudConfigError(
            "additional_run_config must be a mapping of run fields, such as {'threads_override': 8}, "
            f"got {type(additional_run_config).__name__}: {additional_run_config!r}"
        )
    extra = dict(additional_run_config or {})
    clash = sorted(name for name in ("steps_override", "schema_override", "cause") if name in extra)
    if clash and any(fields.get(name) is not None or name == "cause" for name in clash):
        raise DbtCloudConfigError(f"additional_run_config repeats {clash}; set each field in one place only")
    fields.update(extra)
    body: dict[str, JSON] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name in TRIGGER_FIELDS:
            _check_field(name, value)
        else:
            warnings.warn(
                f"Trigger field {name!r} is not one this client knows ({', '.join(sorted(TRIGGER_FIELDS))}); "
                "sending it as given.",
                UserWarning,
                stacklevel=3,
            )
        body[name] = [step.strip() for step in value] if name == "steps_override" else value
    return body


def merge_overrides(additional_run_config: dict[str, Any], typed: Mapping[str, Any]) -> dict[str, Any]:
    """
    Merge the trigger fields given as parameters of their own into ``additional_run_config``.

    :param additional_run_config: The fields given as a dict.
    :param typed: The :data:`TYPED_OVERRIDES` given as parameters; None means unset.
    :return: ``additional_run_config`` itself when no typed field is set, else a merged copy.
    :raises DbtCloudConfigError: When a field is set in both places.
    """
    chosen = {name: value for name, value in typed.items() if value is not None}
    if not chosen:
        return additional_run_config
    clash = sorted(set(chosen) & set(additional_run_config))
    if clash:
        raise DbtCloudConfigError(f"additional_run_config repeats {clash}; set each field in one place only.")
    return {**additional_run_config, **chosen}


def trigger_body(
    cause: str,
    steps_override: Sequence[str] | None = None,
    schema_override: str | None = None,
    additional_run_config: Mapping[str, Any] | None = None,
) -> dict[str, JSON]:
    """
    Build and validate the body of a trigger-run request.

    :param cause: Why the run is started (1 to 255 characters).
    :param steps_override: dbt commands to run instead of the job's own.
    :param schema_override: Schema to build into instead of the target's.
    :param additional_run_config: Further documented trigger fields (``git_branch``,
        ``threads_override``, ...).
    :return: The JSON body, with unset fields left out.
    :raises DbtCloudConfigError: When a field has the wrong type or value.
    """
    if not isinstance(cause, str) or not cause.strip():
        raise DbtCloudConfigError("cause must be a non-empty string")
    if len(cause) > CAUSE_MAX_LENGTH:
        raise DbtCloudConfigError(f"cause is {len(cause)} characters long; dbt Cloud accepts at most 255")
    return {"cause": cause, **trigger_fields(steps_override, schema_override, additional_run_config)}


def list_jobs(
    account_id: int,
    order_by: str | None = None,
    project_id: int | None = None,
    environment_id: int | None = None,
    name_contains: str | None = None,
) -> Flow[list[ApiResponse]]:
    """
    List the account's jobs, every page.

    :param account_id: The account.
    :param order_by: Field to order by; prefix ``-`` for descending.
    :param project_id: Only jobs of this project.
    :param environment_id: Only jobs of this environment.
    :param name_contains: Case-insensitive substring of the job name.
    :raises DbtCloudConfigError: When an id is not a positive integer (before any request, as in every
        flow of this module).
    """
    params = encode_params(
        {
            "order_by": order_by,
            "project_id": optional_id("project_id", project_id),
            "environment_id": optional_id("environment_id", environment_id),
            "name__icontains": name_contains,
        }
    )
    request = ApiRequest("GET", v2(account_id, "jobs"), params, resource=f"jobs of account {account_id}")
    return (yield from paginate(request))


def get_job(account_id: int, job_id: int) -> Flow[ApiResponse]:
    """
    Get one job definition.

    :param account_id: The account.
    :param job_id: The job.
    """
    job_id = require_id("job_id", job_id)
    request = ApiRequest(
        "GET", v2(account_id, "jobs", job_id), resource=f"job {job_id} in account {account_id}"
    )
    return (yield from single(request))


def trigger_run(account_id: int, job_id: int, body: Mapping[str, JSON]) -> Flow[ApiResponse]:
    """
    Start a run of a job (never repeated unless provably not received).

    :param account_id: The account.
    :param job_id: The job.
    :param body: The trigger body from :func:`trigger_body`.
    """
    job_id = require_id("job_id", job_id)
    request = ApiRequest(
        "POST",
        v2(account_id, "jobs", job_id, "run"),
        json=dict(body),
        starts_run=True,
        resource=f"job {job_id} in account {account_id}",
    )
    return (yield from single(request))


def rerun_job(account_id: int, job_id: int) -> Flow[ApiResponse]:
    """
    Rerun the job's most recent run from its point of failure (a fresh run if it did not fail).

    :param account_id: The account.
    :param job_id: The job.
    """
    job_id = require_id("job_id", job_id)
    request = ApiRequest(
        "POST",
        v2(account_id, "jobs", job_id, "rerun"),
        starts_run=True,
        resource=f"job {job_id} in account {account_id}",
    )
    return (yield from single(request))


def exactly_one(pages: Iterable[Any], name: str | None, message: str) -> dict[str, Any]:
    """
    Pick the one item of some list pages whose ``name`` is exactly ``name``.

    :param pages: The ``data`` lists of each page.
    :param name: The exact name to match.
    :param message: The error message, with ``{count}`` for the number of matches, e.g.
        ``"Found {count} projects with name `jaffle`."``.
    :return: The item.
    :raises DbtCloudResourceLookupError: When no item, or more than one, has that name.
    """
    matches = [item for page in pages for item in (page or []) if item.get("name") == name]
    if len(matches) != 1:
        raise DbtCloudResourceLookupError(message.replace("{count}", str(len(matches))))
    return dict(matches[0])
