"""The aiohttp application: middleware (journal, faults, auth) and the Admin API handlers."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from airflow_dbtcloud.testing import artifact_handlers, control, handlers
from airflow_dbtcloud.testing.faults import FaultSet
from airflow_dbtcloud.testing.responses import ALLOWED_ACCOUNTS, BODY, FAULT, TRUNCATE, error
from airflow_dbtcloud.testing.state import Invalid, NotFound, State

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Hub:
    """Everything the handlers share: state, faults, journal and counters.

    :param state: The emulator state.
    :param faults: The fault set.
    :param journal_limit: Maximum journal entries kept.
    """

    def __init__(self, state: State, faults: FaultSet, journal_limit: int = 20000) -> None:
        self.state = state
        self.faults = faults
        self.journal: deque[dict[str, Any]] = deque(maxlen=journal_limit)
        self.requests = 0
        self.connections = 0

    def reset(self) -> None:
        """Clear runs, faults, journal and counters."""
        self.state.reset()
        self.faults.clear()
        self.journal.clear()
        self.requests = 0
        self.connections = 0


HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type == "application/x-www-form-urlencoded":
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode()).items()}
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _auth(request: web.Request, hub: Hub) -> web.Response | None:
    header = request.headers.get("Authorization")
    if not header:
        return error(401, "Authentication credentials were not provided.")
    scheme, _, token = header.partition(" ")
    allowed = hub.state.config.tokens.get(token.strip())
    if scheme.lower() not in ("token", "bearer") or allowed is None:
        return error(401, "Invalid token.")
    request[ALLOWED_ACCOUNTS] = allowed
    account = request.match_info.get("account_id")
    if account is not None:
        if not account.isdigit() or int(account) not in allowed:
            return error(403)
        if int(account) not in hub.state.accounts:
            return error(404)
    return None


async def _apply_fault(request: web.Request, handler: Handler, hub: Hub, route: str) -> web.StreamResponse:
    decision = hub.faults.decide(route)
    if decision is None:
        return await _call(request, handler, hub)
    request[FAULT] = decision.kind
    fault = decision.fault
    if decision.latency:
        await asyncio.sleep(decision.latency)
    if decision.kind == "status":
        assert decision.status is not None
        return error(decision.status, retry_after=fault.retry_after, html=fault.html)
    if decision.kind == "reset":
        _drop(request)
        raise _Dropped
    if decision.kind == "latency":
        return await _call(request, handler, hub)
    if decision.kind == "accept_then_fail":
        await _call(request, handler, hub)
        if decision.status is None:
            _drop(request)
            raise _Dropped
        return error(decision.status, retry_after=fault.retry_after, html=fault.html)
    # truncate: promise the full length, send half of it, then close
    request[TRUNCATE] = True
    resp = await _call(request, handler, hub)
    if not isinstance(resp, web.Response) or resp.body is None:
        return resp  # a streamed body truncates itself
    body = bytes(resp.body)  # type: ignore[arg-type]
    stream = web.StreamResponse(status=resp.status, headers=resp.headers)
    stream.content_length = len(body) + 1
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()
    return stream


async def _call(request: web.Request, handler: Handler, hub: Hub) -> web.StreamResponse:
    denied = _auth(request, hub)
    if denied is not None:
        return denied
    try:
        return await handler(request)
    except NotFound:
        return error(404)
    except Invalid as exc:
        return error(400, str(exc))


class _Dropped(Exception):
    """The connection was dropped on purpose; nothing is sent."""


def _drop(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Journal every API request, apply faults, check the token, map errors to the API's shapes.

    :param request: The request.
    :param handler: The route handler.
    :return: The response.
    """
    hub = request.app[HUB]
    route = request.match_info.route.name
    if route is not None and route.startswith("_emulator"):
        return await handler(request)
    started = time.perf_counter()
    raw = await request.read() if request.body_exists else b""
    body = _parse_body(raw, request.content_type)
    request[BODY] = body
    hub.requests += 1
    status: int | None = None
    try:
        if route is None:
            resp = error(404) if not request.path.startswith("/api/") else await _call(request, handler, hub)
        elif hub.faults:
            resp = await _apply_fault(request, handler, hub, route)
        else:
            resp = await _call(request, handler, hub)
        status = resp.status
        return resp
    except web.HTTPException as exc:
        status = exc.status
        if exc.status == 405:
            return error(405)
        return error(exc.status) if exc.status >= 400 else exc
    except _Dropped:
        # aiohttp answers a handler's exception with a 500 on an open transport; this one is closed.
        raise web.HTTPInternalServerError() from None
    finally:
        hub.journal.append(
            {
                "method": request.method,
                "path": request.path,
                "query": {k: request.query.getall(k) for k in request.query},
                "body": body,
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "ts": time.time(),
                "route": route,
                "fault": request.get(FAULT),
            }
        )


def build_app(hub: Hub) -> web.Application:
    """Create the application with every Admin API route and the ``/_emulator/`` control routes.

    :param hub: Shared state.
    :return: The application.
    """
    app = web.Application(middlewares=[middleware], client_max_size=16 * 1024 * 1024)
    app[HUB] = hub
    v2 = "/api/v2/accounts/{account_id}"
    v3 = "/api/v3/accounts/{account_id}"
    h, a = handlers, artifact_handlers
    routes = [
        ("GET", "/api/v2/accounts/", h.list_accounts, "list_accounts"),
        ("GET", "/api/v3/accounts/", h.list_accounts, "list_accounts_v3"),
        ("GET", v2 + "/", h.get_account, "get_account"),
        ("GET", v3 + "/projects/", h.list_projects, "list_projects"),
        ("GET", v3 + "/projects/{project_id}/", h.get_project, "get_project"),
        ("GET", v3 + "/projects/{project_id}/environments/", h.list_environments, "list_environments"),
        (
            "GET",
            v3 + "/projects/{project_id}/environments/{environment_id}/",
            h.get_environment,
            "get_environment",
        ),
        ("GET", v2 + "/jobs/", h.list_jobs, "list_jobs"),
        ("GET", v2 + "/jobs/{job_id}/", h.get_job, "get_job"),
        ("POST", v2 + "/jobs/{job_id}/run/", h.trigger_run, "trigger_run"),
        ("POST", v2 + "/jobs/{job_id}/rerun/", h.rerun, "rerun"),
        (
            "GET",
            v2 + "/jobs/{job_id}/artifacts/{path:.+}",
            a.get_job_artifact,
            "get_job_artifact",
        ),
        ("GET", v2 + "/runs/", h.list_runs, "list_runs"),
        ("GET", v2 + "/runs/{run_id}/", h.get_run, "get_run"),
        ("POST", v2 + "/runs/{run_id}/cancel/", h.cancel_run, "cancel_run"),
        ("POST", v2 + "/runs/{run_id}/retry/", h.retry_run, "retry_run"),
        ("GET", v2 + "/runs/{run_id}/retry/", h.get_retry_details, "get_retry_details"),
        ("GET", v2 + "/runs/{run_id}/artifacts/", a.list_artifacts, "list_artifacts"),
        ("GET", v2 + "/runs/{run_id}/artifacts/{path:.+}", a.get_artifact, "get_artifact"),
    ]
    for method, path, fn, name in routes:
        app.router.add_route(method, path, fn, name=name)
    control.add_routes(app)
    return app
