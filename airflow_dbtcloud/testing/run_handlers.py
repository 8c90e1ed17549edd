"""Handlers that read runs while they go: the filtered runs list, one run step, and the browser pages of a
run and of a job."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from airflow_dbtcloud.testing import payloads, run_filters
from airflow_dbtcloud.testing.errors import NotFound
from airflow_dbtcloud.testing.lifecycle import STEP_IDS_PER_RUN
from airflow_dbtcloud.testing.request_helpers import path_id, state_of
from airflow_dbtcloud.testing.responses import envelope, paginate, related_names

LIST_RUN_RELATED = {"trigger", "job", "audit", "debug_logs"}
STEP_RELATED = {"trigger", "job", "debug_logs"}


async def list_runs(request: web.Request) -> web.StreamResponse:
    """GET /api/v2/accounts/{account_id}/runs/ with the spec's filters, ordering and pagination.

    :param request: The request; the query may hold the filters :func:`run_filters.select` reads,
        ``order_by`` (``id``, ``created_at``, ``finished_at``, ``-`` to reverse), ``limit``, ``offset``
        and ``include_related`` (``trigger``, ``job``, ``audit``, ``debug_logs``).
    """
    state, account_id, query = state_of(request), path_id(request, "account_id"), request.query
    related = related_names(query, LIST_RUN_RELATED)
    filters: dict[str, Any] = {"account_id": account_id}
    with state.lock:
        now = state.clock.now()
        rows = [(r, r.view(now)) for r in state.runs.values() if r.account_id == account_id]
        rows, order_by = run_filters.select(rows, query, filters)
        return paginate(rows, query, filters, order_by, lambda row: payloads.run(state, row[0], related))


async def get_step(request: web.Request) -> web.StreamResponse:
    """GET /api/v2/accounts/{account_id}/steps/{step_id}/: one step of a run, its log as it reads now.

    :param request: The request; the path names the account and the step (a ``run_steps[].id``), the
        query's ``include_related`` may ask for ``debug_logs`` (``trigger`` and ``job`` are accepted and
        add nothing: the spec's step has no such fields).
    :raises NotFound: For an unknown step, or one that has not started yet.
    """
    state, account_id = state_of(request), path_id(request, "account_id")
    related = related_names(request.query, STEP_RELATED)
    run_id, index = divmod(path_id(request, "step_id"), STEP_IDS_PER_RUN)
    with state.lock:
        run = state.run(account_id, run_id)
        now = state.clock.now()
        step = next((s for s in run.view(now)[4] if s.index == index), None)
        if step is None:
            raise NotFound
        return envelope(payloads.run_step(run, step, now, debug="debug_logs" in related))
