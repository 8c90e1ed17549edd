"""Run endpoints: list, get, cancel and retry one failed run."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_dbtcloud._transport.pagination import paginate
from airflow_dbtcloud._transport.request import (
    ApiRequest,
    ApiResponse,
    Flow,
    ParamValue,
    encode_params,
    single,
)
from airflow_dbtcloud.api.ids import optional_id, require_id
from airflow_dbtcloud.api.paths import v2

__all__ = ["cancel_run", "get_run", "get_runs", "get_step", "list_runs", "related", "retry_run"]


def related(include_related: Iterable[str] | None) -> dict[str, ParamValue]:
    """
    Return the ``include_related`` query parameter (a list literal, the form dbt Cloud documents).

    :param include_related: Related objects to include, e.g. ``["trigger", "run_steps"]``.
    """
    names = list(include_related or ())
    return {"include_related": json.dumps(names)} if names else {}


def _run_resource(account_id: int, run_id: int) -> str:
    return f"run {run_id} in account {account_id}"


def list_runs(
    account_id: int,
    include_related: Iterable[str] | None = None,
    job_definition_id: int | None = None,
    order_by: str | None = None,
    status: int | None = None,
    statuses: Sequence[int] | None = None,
    max_results: int | None = None,
) -> Flow[list[ApiResponse]]:
    """
    List runs of the account, every page (or the first ``max_results``).

    :param account_id: The account.
    :param include_related: Related objects: ``trigger``, ``job``, ``audit``, ``debug_logs``.
    :param job_definition_id: Only runs of this job.
    :param order_by: ``id``, ``created_at`` or ``finished_at``; prefix ``-`` for descending.
    :param status: Only runs in this status.
    :param statuses: Only runs in one of these statuses.
    :param max_results: Stop after this many runs.
    :raises DbtCloudConfigError: When an id is not a positive integer (before any request, as in every
        flow of this module).
    """
    params: dict[str, ParamValue] = {
        "job_definition_id": optional_id("job_definition_id", job_definition_id),
        "order_by": order_by,
        "status": status,
        "status__in": json.dumps(list(statuses)) if statuses else None,
        **related(include_related),
    }
    request = ApiRequest(
        "GET", v2(account_id, "runs"), encode_params(params), resource=f"runs of account {account_id}"
    )
    return (yield from paginate(request, max_items=max_results))


def get_runs(account_id: int, payload: Mapping[str, Any] | None = None) -> Flow[ApiResponse]:
    """
    Get one page of runs with raw query parameters.

    :param account_id: The account.
    :param payload: Query parameters as given.
    """
    request = ApiRequest(
        "GET", v2(account_id, "runs"), encode_params(payload), resource=f"runs of account {account_id}"
    )
    return (yield from single(request))


def get_run(account_id: int, run_id: int, include_related: Iterable[str] | None = None) -> Flow[ApiResponse]:
    """
    Get one run.

    :param account_id: The account.
    :param run_id: The run.
    :param include_related: Related objects, e.g. ``trigger``, ``job``, ``run_steps``.
    """
    run_id = require_id("run_id", run_id)
    request = ApiRequest(
        "GET",
        v2(account_id, "runs", run_id),
        encode_params(related(include_related)),
        resource=_run_resource(account_id, run_id),
    )
    return (yield from single(request))


def cancel_run(account_id: int, run_id: int) -> Flow[ApiResponse]:
    """
    Cancel a run (idempotent: a finished run stays as it was).

    :param account_id: The account.
    :param run_id: The run.
    """
    run_id = require_id("run_id", run_id)
    path = v2(account_id, "runs", run_id, "cancel")
    return (yield from single(ApiRequest("POST", path, resource=_run_resource(account_id, run_id))))


def retry_run(account_id: int, run_id: int) -> Flow[ApiResponse]:
    """
    Retry this failed run from its point of failure.

    :param account_id: The account.
    :param run_id: The failed run.
    """
    run_id = require_id("run_id", run_id)
    path = v2(account_id, "runs", run_id, "retry")
    return (
        yield from single(
            ApiRequest("POST", path, starts_run=True, resource=_run_resource(account_id, run_id))
        )
    )


def get_step(account_id: int, step_id: int) -> Flow[ApiResponse]:
    """
    Get one step of a run, with its log as it stands (``/steps/{id}/``): the source of live progress.

    :param account_id: The account.
    :param step_id: The step's id (from a run's ``run_steps``).
    """
    step_id = require_id("step_id", step_id)
    request = ApiRequest(
        "GET", v2(account_id, "steps", step_id), resource=f"step {step_id} in account {account_id}"
    )
    return (yield from single(request))
