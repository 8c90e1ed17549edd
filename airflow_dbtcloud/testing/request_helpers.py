"""What the Admin API handlers read from a request: the state, the ids in the path, the job or run named."""

from __future__ import annotations

from aiohttp import web

from airflow_dbtcloud.testing.config import JobConfig
from airflow_dbtcloud.testing.errors import NotFound
from airflow_dbtcloud.testing.hub import hub_of
from airflow_dbtcloud.testing.lifecycle import Run
from airflow_dbtcloud.testing.state import State


def state_of(request: web.Request) -> State:
    """Return the emulator state behind ``request``.

    :param request: A request to the emulator.
    """
    return hub_of(request).state


def path_id(request: web.Request, name: str) -> int:
    """Read a numeric id from the request path.

    :param request: A request to the emulator.
    :param name: The path variable, such as ``account_id``.
    :raises NotFound: When the value is not a number, as the API answers 404 for such a path.
    """
    raw = request.match_info[name]
    if not raw.isdigit():
        raise NotFound
    return int(raw)


def job_of(request: web.Request) -> JobConfig:
    """Return the job named by ``{account_id}`` and ``{job_id}`` in the path.

    :param request: A request to a job route.
    :raises NotFound: When the account has no such job.
    """
    return state_of(request).job(path_id(request, "account_id"), path_id(request, "job_id"))


def run_of(request: web.Request) -> Run:
    """Return the run named by ``{account_id}`` and ``{run_id}`` in the path.

    :param request: A request to a run route.
    :raises NotFound: When the account has no such run.
    """
    return state_of(request).run(path_id(request, "account_id"), path_id(request, "run_id"))
