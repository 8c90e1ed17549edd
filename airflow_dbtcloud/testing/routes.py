"""The Admin API route table: what ``app.build_app`` registers and what a fault may name.

Every route the emulator answers under ``/api/`` is one row of :data:`API_ROUTES`; the fault route
names (:data:`FAULT_ROUTES`) and the routes that create runs (:data:`CREATING_ROUTES`) are read from
it, so a new row is served, journaled and open to faults at once. :data:`PAGE_ROUTES` are the browser
pages at the dbt Cloud UI addresses the provider links to; they are served, never journaled nor faulted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from airflow_dbtcloud.testing import artifact_handlers as a
from airflow_dbtcloud.testing import handlers as h
from airflow_dbtcloud.testing import pages
from airflow_dbtcloud.testing import run_handlers as r

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One Admin API route.

    :param name: The route's name: recorded in the journal and given as a fault's ``route``.
    :param method: The HTTP method it answers.
    :param path: Its aiohttp path pattern.
    :param handler: The coroutine that answers it.
    :param faultable: Whether a fault may name it; a fault with no route still hits every route.
    :param creates_run: Whether a successful request creates a run (where ``accept_then_fail`` applies).
    """

    name: str
    method: str
    path: str
    handler: Handler
    faultable: bool = True
    creates_run: bool = False


_V2 = "/api/v2/accounts/{account_id}"
_V3 = "/api/v3/accounts/{account_id}"
_ENVS = _V3 + "/projects/{project_id}/environments/"

# The order of the rows is the order of FAULT_ROUTES, which error messages print.
API_ROUTES: tuple[Route, ...] = (
    Route("list_accounts", "GET", "/api/v2/accounts/", h.list_accounts),
    Route("list_accounts_v3", "GET", "/api/v3/accounts/", h.list_accounts, faultable=False),
    Route("get_account", "GET", _V2 + "/", h.get_account),
    Route("list_projects", "GET", _V3 + "/projects/", h.list_projects),
    Route("get_project", "GET", _V3 + "/projects/{project_id}/", h.get_project),
    Route("list_environments", "GET", _ENVS, h.list_environments),
    Route("get_environment", "GET", _ENVS + "{environment_id}/", h.get_environment),
    Route("list_jobs", "GET", _V2 + "/jobs/", h.list_jobs),
    Route("get_job", "GET", _V2 + "/jobs/{job_id}/", h.get_job),
    Route("trigger_run", "POST", _V2 + "/jobs/{job_id}/run/", h.trigger_run, creates_run=True),
    Route("rerun", "POST", _V2 + "/jobs/{job_id}/rerun/", h.rerun, creates_run=True),
    Route("retry_run", "POST", _V2 + "/runs/{run_id}/retry/", h.retry_run, creates_run=True),
    Route("get_retry_details", "GET", _V2 + "/runs/{run_id}/retry/", h.get_retry_details),
    Route("list_runs", "GET", _V2 + "/runs/", r.list_runs),
    Route("get_run", "GET", _V2 + "/runs/{run_id}/", h.get_run),
    Route("cancel_run", "POST", _V2 + "/runs/{run_id}/cancel/", h.cancel_run),
    Route("list_artifacts", "GET", _V2 + "/runs/{run_id}/artifacts/", a.list_artifacts),
    Route("get_artifact", "GET", _V2 + "/runs/{run_id}/artifacts/{path:.+}", a.get_artifact),
    Route("get_job_artifact", "GET", _V2 + "/jobs/{job_id}/artifacts/{path:.+}", a.get_job_artifact),
    Route("get_connection", "GET", _V3 + "/connections/{connection_id}/", h.get_connection),
    Route("get_step", "GET", _V2 + "/steps/{step_id}/", r.get_step),
)
FAULT_ROUTES: tuple[str, ...] = tuple(r.name for r in API_ROUTES if r.faultable)
CREATING_ROUTES: tuple[str, ...] = tuple(r.name for r in API_ROUTES if r.creates_run)
_PAGE = pages.PAGE_PREFIX + "{account_id}"
# Browser pages at the UI addresses the provider links to (``api.urls``): HTML, no token, never journaled
# or faulted (``app.middleware`` answers everything under ``/deploy/`` that way).
_PAGE_PROJECT = _PAGE + "/projects/{project_id}"
PAGE_ROUTES: tuple[Route, ...] = (
    Route(
        "page_run", "GET", _PAGE + "/projects/{project_id}/runs/{run_id}/", pages.run_page, faultable=False
    ),
    Route("page_account_run", "GET", _PAGE + "/runs/{run_id}/", pages.run_page, faultable=False),
    Route(
        "page_job", "GET", _PAGE + "/projects/{project_id}/jobs/{job_id}/", pages.job_page, faultable=False
    ),
)
