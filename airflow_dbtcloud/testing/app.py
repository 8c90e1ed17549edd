"""The aiohttp application: the middleware (Host and token checks, journal, faults) around the routes."""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from airflow_dbtcloud.testing import control
from airflow_dbtcloud.testing.access import host_header_allowed, token_of
from airflow_dbtcloud.testing.errors import Invalid, NotFound
from airflow_dbtcloud.testing.hub import HUB, Hub, hub_of
from airflow_dbtcloud.testing.journal import BODY_BYTES, Entry, parse_body
from airflow_dbtcloud.testing.pages import PAGE_PREFIX, page_error
from airflow_dbtcloud.testing.responses import ALLOWED_ACCOUNTS, BODY, FAULT, TRUNCATE, error
from airflow_dbtcloud.testing.routes import API_ROUTES, PAGE_ROUTES, Handler

MISDIRECTED = (
    "This emulator only answers requests addressed to a loopback name (127.0.0.1, localhost, [::1]) or to "
    "the address it is bound to."
)


def _token_problem(request: web.Request, hub: Hub) -> str | None:
    """None when the request carries a configured token (its accounts are then noted), else why not."""
    header = request.headers.get("Authorization")
    if not header:
        return "Authentication credentials were not provided."
    token = token_of(header)
    allowed = hub.state.config.tokens.get(token) if token is not None else None
    if allowed is None:
        return "Invalid token."
    request[ALLOWED_ACCOUNTS] = allowed
    return None


def _auth(request: web.Request, hub: Hub) -> web.Response | None:
    problem = _token_problem(request, hub)
    if problem is not None:
        return error(401, problem)
    allowed = request[ALLOWED_ACCOUNTS]
    account = request.match_info.get("account_id")
    if account is not None:
        if not account.isdigit() or int(account) not in allowed:
            return error(403)
        if int(account) not in hub.state.accounts:
            return error(404)
    return None


def _control_error(status: int, message: str) -> web.Response:
    return web.Response(
        body=json.dumps({"error": message}).encode(), status=status, content_type="application/json"
    )


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


async def _page(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a browser page: no token (a browser has none), no journal, no counter, no fault; errors as
    HTML."""
    try:
        return await handler(request)
    except NotFound:
        return page_error(404)
    except web.HTTPException as exc:  # no such page (404), or not a GET (405)
        return page_error(exc.status) if exc.status >= 400 else exc


class _Dropped(Exception):
    """The connection was dropped on purpose; nothing is sent."""


def _drop(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check ``Host`` and the token, journal every API request, apply faults, map errors to the API's shapes.

    A request whose ``Host`` names another machine is refused (421) before anything else, unjournaled. The
    body of an API request is read only when its token is valid: a refused request costs its headers.
    Browser pages (under ``/deploy/``) pass the ``Host`` check only: see :func:`_page`.

    :param request: The request.
    :param handler: The route handler.
    :return: The response.
    """
    hub = hub_of(request)
    route = request.match_info.route.name
    is_control = route is not None and route.startswith("_emulator")
    is_page = request.path.startswith(PAGE_PREFIX)
    if not host_header_allowed(request.headers.get("Host"), hub.bind_host):
        if is_page:
            refused = page_error(421, MISDIRECTED)
        else:
            refused = _control_error(421, MISDIRECTED) if is_control else error(421, MISDIRECTED)
        refused.force_close()  # whoever sent it gets nothing more on this connection
        return refused
    if is_page:
        return await _page(request, handler)
    if is_control:
        problem = _token_problem(request, hub)
        return await handler(request) if problem is None else _control_error(401, problem)
    started = time.perf_counter()
    authenticated = _token_problem(request, hub) is None
    raw = await request.read() if authenticated and request.body_exists else b""
    body = parse_body(raw, request.content_type)
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
        hub.journal.append(_journal_entry(request, route, raw, status, started))


def _journal_entry(
    request: web.Request, route: str | None, raw: bytes, status: int | None, started: float
) -> Entry:
    return Entry(
        method=request.method,
        path=request.path,
        query_string=request.rel_url.raw_query_string,
        body=raw[:BODY_BYTES],
        body_size=len(raw),
        content_type=request.content_type,
        status=status,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        ts=time.time(),
        route=route,
        fault=request.get(FAULT),
    )


def build_app(hub: Hub) -> web.Application:
    """Create the application with every Admin API route and the ``/_emulator/`` control routes.

    :param hub: Shared state.
    :return: The application.
    """
    app = web.Application(middlewares=[middleware], client_max_size=16 * 1024 * 1024)
    app[HUB] = hub
    for route in (*API_ROUTES, *PAGE_ROUTES):
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    control.add_routes(app)
    return app
