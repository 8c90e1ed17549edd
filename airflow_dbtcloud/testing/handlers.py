"""Handlers of the Admin API routes for accounts, projects, environments, jobs and runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from airflow_dbtcloud.testing import accounts, payloads
from airflow_dbtcloud.testing.config import JobConfig
from airflow_dbtcloud.testing.errors import Invalid, NotFound
from airflow_dbtcloud.testing.lifecycle import ERROR, Run
from airflow_dbtcloud.testing.request_helpers import job_of, path_id, run_of, state_of
from airflow_dbtcloud.testing.responses import (
    ALLOWED_ACCOUNTS,
    BODY,
    as_int,
    as_list,
    envelope,
    ordered,
    paginate,
    related_names,
)
from airflow_dbtcloud.testing.state import TRIGGER_FIELDS, State

_RECENT_RUNS = {"most_recent_run", "most_recent_completed_run"}
RUN_RELATED = {"trigger", "job", "environment", "repository", "run_steps", "debug_logs", "audit"}
_INT_FIELDS = (
    "azure_pull_request_id",
    "github_pull_request_id",
    "gitlab_merge_request_id",
    "non_native_pull_request_id",
    "threads_override",
    "timeout_seconds_override",
)
_STR_FIELDS = ("git_sha", "git_branch", "schema_override", "dbt_version_override", "target_name_override")


async def list_accounts(request: web.Request) -> web.StreamResponse:
    """GET /api/v2/accounts/: the accounts the token may use.

    :param request: The request; its token decides which accounts are listed (``limit``/``offset`` page them).
    """
    state = state_of(request)
    allowed = request[ALLOWED_ACCOUNTS]
    items = [state.accounts[a] for a in sorted(allowed) if a in state.accounts]
    return paginate(items, request.query, {}, "id", accounts.account)


async def get_account(request: web.Request) -> web.StreamResponse:
    """GET /api/v2/accounts/{account_id}/.

    :param request: The request; the path names the account.
    """
    return envelope(accounts.account(state_of(request).accounts[path_id(request, "account_id")]))


def _projects(state: State, account_id: int) -> list[dict[str, Any]]:
    return [p for p in state.projects.values() if int(p["account_id"]) == account_id]


def _icontains(
    items: list[dict[str, Any]], request: web.Request, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    needle = request.query.get("name__icontains")
    if needle:
        filters["name__icontains"] = needle
        return [i for i in items if needle.lower() in str(i["name"]).lower()]
    return items


async def list_projects(request: web.Request) -> web.StreamResponse:
    """GET /api/v3/accounts/{account_id}/projects/.

    :param request: The request; the query may filter with ``name__icontains`` and page with
        ``limit``/``offset``.
    """
    state, account_id = state_of(request), path_id(request, "account_id")
    filters: dict[str, Any] = {"account_id": account_id}
    items = sorted(_icontains(_projects(state, account_id), request, filters), key=lambda p: int(p["id"]))
    return paginate(
        items, request.query, filters, "id", lambda p: accounts.project(p, _envs(state, p), state.adapter)
    )


def _envs(state: State, project: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(
        (e for e in state.environments.values() if int(e["project_id"]) == int(project["id"])),
        key=lambda e: int(e["id"]),
    )


def _project(request: web.Request) -> dict[str, Any]:
    state, account_id = state_of(request), path_id(request, "account_id")
    project = state.projects.get(path_id(request, "project_id"))
    if project is None or int(project["account_id"]) != account_id:
        raise NotFound
    return project


async def get_project(request: web.Request) -> web.StreamResponse:
    """GET /api/v3/accounts/{account_id}/projects/{project_id}/.

    :param request: The request; the path names the account and the project.
    """
    state, project = state_of(request), _project(request)
    return envelope(accounts.project(project, _envs(state, project), state.adapter))


async def get_connection(request: web.Request) -> web.StreamResponse:
    """GET /api/v3/accounts/{account_id}/connections/{connection_id}/: ``AccountConnectionDetail``.

    :param request: The request; the path names the account and the connection (a project's
        ``connection_id``).
    """
    state, account_id = state_of(request), path_id(request, "account_id")
    wanted = path_id(request, "connection_id")
    for project in _projects(state, account_id):
        if accounts.connection_id(project) == wanted:
            return envelope(accounts.account_connection(project, state.adapter, accounts.EPOCH))
    raise NotFound


async def list_environments(request: web.Request) -> web.StreamResponse:
    """GET /api/v3/accounts/{account_id}/projects/{project_id}/environments/.

    :param request: The request; the path names the project, the query may filter with ``name__icontains``.
    """
    state, project = state_of(request), _project(request)
    filters: dict[str, Any] = {"account_id": project["account_id"], "project_id": project["id"]}
    items = _icontains(_envs(state, project), request, filters)
    return paginate(
        items,
        request.query,
        filters,
        "id",
        lambda e: accounts.environment(e, e_acc(project), project, state.adapter),
    )


def e_acc(project: dict[str, Any]) -> int:
    """Account id of a project.

    :param project: Configured project.
    :return: Its account id.
    """
    return int(project["account_id"])


async def get_environment(request: web.Request) -> web.StreamResponse:
    """GET /api/v3/accounts/{account_id}/projects/{project_id}/environments/{environment_id}/.

    :param request: The request; the path names the account, the project and the environment.
    """
    state, project = state_of(request), _project(request)
    env = state.environments.get(path_id(request, "environment_id"))
    if env is None or int(env["project_id"]) != int(project["id"]):
        raise NotFound
    return envelope(accounts.environment(env, e_acc(project), project, state.adapter))


def _render_job(state: State, job: Any, related: set[str]) -> dict[str, Any]:
    proj, env = state.project_of_job(job), state.environments[job.environment_id]
    out = payloads.job(job, state.accounts[int(proj["account_id"])], proj, env)
    if related & _RECENT_RUNS:
        runs = sorted(
            (r for r in state.runs.values() if r.job_id == job.id), key=lambda r: r.id, reverse=True
        )
        now = state.clock.now()
        recent = runs[0] if runs else None
        done = next((r for r in runs if r.view(now)[3] is not None), None)
        if "most_recent_run" in related:
            out["most_recent_run"] = payloads.run(state, recent, set()) if recent else None
        if "most_recent_completed_run" in related:
            out["most_recent_completed_run"] = payloads.run(state, done, set()) if done else None
    return out


_JOB_ORDERS: dict[str, Callable[[JobConfig], Any]] = {"id": lambda j: j.id, "name": lambda j: j.name.lower()}


async def list_jobs(request: web.Request) -> web.StreamResponse:
    """GET /api/v2/accounts/{account_id}/jobs/ with project, environment, name and state filters.

    The account's jobs in the state asked for come from :meth:`State.listed_jobs`, already in id
    order when that is the order asked for, so a page without other filters costs its own jobs only.

    :param request: The request; the query may hold ``project_id``, ``environment_id``, ``state``,
        ``name__icontains``, ``order_by`` and ``include_related``.
    """
    state, account_id, q = state_of(request), path_id(request, "account_id"), request.query
    filters: dict[str, Any] = {"account_id": account_id}
    with state.lock:
        # Parameters are read, and refused, in the same order as the filters apply.
        project_id = as_int(q.get("project_id"), "project_id")
        if project_id is not None:
            filters["project_id"] = project_id
        environment_id = as_int(q.get("environment_id"), "environment_id")
        if environment_id is not None:
            filters["environment_id"] = environment_id
        state_filter = q.get("state", "1")
        wanted: int | None = None  # every state
        if state_filter != "all":
            wanted = filters["state"] = as_int(state_filter, "state")
        order_by = q.get("order_by", "id")
        by_id = order_by in ("id", "-id")
        # An empty ``state=`` matches no job (the filter compares with None).
        jobs: Sequence[JobConfig] = (
            ()
            if "state" in filters and wanted is None
            else state.listed_jobs(account_id, wanted, order_by if by_id else "")
        )
        if project_id is not None:
            jobs = [j for j in jobs if int(state.project_of_job(j)["id"]) == project_id]
        if environment_id is not None:
            jobs = [j for j in jobs if j.environment_id == environment_id]
        needle = q.get("name__icontains")
        if needle:
            filters["name__icontains"] = needle
            jobs = [j for j in jobs if needle.lower() in j.name.lower()]
        if not by_id:
            # Sorting is stable: jobs of equal names keep the order they were configured in.
            jobs = ordered(list(jobs), order_by, _JOB_ORDERS)
        related = set(as_list(q, "include_related"))
        if related & _RECENT_RUNS:
            return paginate(jobs, q, filters, order_by, lambda j: _render_job(state, j, related))
        # Without recent runs a job's payload changes only with the jobs: State keeps its JSON.
        return paginate(
            jobs,
            q,
            filters,
            order_by,
            lambda j: _render_job(state, j, related),
            render_json=lambda j: state.job_json(j, lambda job: json.dumps(_render_job(state, job, set()))),
        )


async def get_job(request: web.Request) -> web.StreamResponse:
    """GET /api/v2/accounts/{account_id}/jobs/{job_id}/.

    :param request: The request; the path names the job, ``include_related`` may add its most recent runs.
    """
    state = state_of(request)
    with state.lock:
        job = job_of(request)
        return envelope(_render_job(state, job, set(as_list(request.query, "include_related"))))


def validate_trigger(body: Any) -> dict[str, Any]:
    """Validate a trigger-run body as the API does.

    :param body: Parsed request body.
    :return: The accepted fields.
    :raises Invalid: Naming the offending field.
    """
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.")
    unknown = sorted(set(body) - set(TRIGGER_FIELDS))
    if unknown:
        raise Invalid(f"{unknown[0]}: Unknown field.")
    cause = body.get("cause")
    if cause is None or cause == "":
        raise Invalid(
            "cause: This field is required." if cause is None else "cause: This field may not be blank."
        )
    if not isinstance(cause, str):
        raise Invalid("cause: Not a valid string.")
    if len(cause) > 255:
        raise Invalid("cause: Ensure this field has no more than 255 characters.")
    for key in _INT_FIELDS:
        value = body.get(key)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            body[key] = value = int(value)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise Invalid(f"{key}: A valid integer is required.")
    for key in _STR_FIELDS:
        if body.get(key) is not None and not isinstance(body[key], str):
            raise Invalid(f"{key}: Not a valid string.")
    docs = body.get("generate_docs_override")
    if docs is not None and not isinstance(docs, bool):
        raise Invalid("generate_docs_override: Must be a valid boolean.")
    steps = body.get("steps_override")
    if steps is not None:
        if not isinstance(steps, list) or not steps:
            raise Invalid("steps_override: Expected a non-empty list of dbt commands.")
        for step in steps:
            if not isinstance(step, str) or not step.startswith("dbt "):
                raise Invalid(f"steps_override: Invalid step {step!r}: every step must start with 'dbt '.")
    return dict(body)


def _created(state: State, run: Run) -> web.Response:
    return envelope(payloads.run(state, run, {"trigger", "job"}))


async def trigger_run(request: web.Request) -> web.StreamResponse:
    """POST /api/v2/accounts/{account_id}/jobs/{job_id}/run/ (answers 200 with the new run).

    :param request: The request; its JSON or form body holds ``cause`` and the optional overrides.
    """
    state = state_of(request)
    job = job_of(request)
    body = validate_trigger(request[BODY])
    if job.state != 1:
        raise Invalid("This job has been deleted and cannot be run.")
    return _created(state, state.create_run(job, {**body, "cause_category": "api"}))


async def rerun(request: web.Request) -> web.StreamResponse:
    """POST .../jobs/{job_id}/rerun/: retry the job's latest run from failure if it failed, else run it.

    :param request: The request; the path names the job.
    """
    state = state_of(request)
    with state.lock:
        job = job_of(request)
        runs = [r for r in state.runs.values() if r.job_id == job.id]
        latest = max(runs, key=lambda r: r.id) if runs else None
        if latest is not None and latest.view(state.clock.now())[0] == ERROR:
            return _created(state, state.retry(latest, "rerun"))
        return _created(
            state, state.create_run(job, {"cause": "Rerun triggered via API", "cause_category": "api"})
        )


async def retry_run(request: web.Request) -> web.StreamResponse:
    """POST .../runs/{run_id}/retry/: retry this failed run from its point of failure (400 if not failed).

    :param request: The request; the path names the failed run.
    """
    state = state_of(request)
    return _created(state, state.retry(run_of(request)))


async def get_retry_details(request: web.Request) -> web.StreamResponse:
    """GET .../runs/{run_id}/retry/: ``{failed_step, skipped_steps}``.

    :param request: The request; the path names the run.
    """
    state, run = state_of(request), run_of(request)
    status, _, _, _, steps = run.view(state.clock.now())
    if status != ERROR or not steps:
        return envelope({"failed_step": None, "skipped_steps": []})
    failed = steps[-1]
    skipped = [f"Invoke dbt with `{c}`" for c in run.commands[failed.index :]]
    return envelope({"failed_step": f"Invoke dbt with `{failed.command}`", "skipped_steps": skipped})


async def get_run(request: web.Request) -> web.StreamResponse:
    """GET /api/v2/accounts/{account_id}/runs/{run_id}/.

    :param request: The request; the query's ``include_related`` picks the nested objects.
    """
    related = related_names(request.query, RUN_RELATED)
    return envelope(payloads.run(state_of(request), run_of(request), related))


async def cancel_run(request: web.Request) -> web.StreamResponse:
    """POST .../runs/{run_id}/cancel/: cancel and return the run; a finished run is left as it was.

    :param request: The request; the path names the run.
    """
    state, run = state_of(request), run_of(request)
    state.cancel(run)
    return _created(state, run)
