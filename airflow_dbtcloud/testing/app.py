"""The aiohttp application: the middleware (journal, faults, auth) around the routes of :mod:`routes`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from airflow_dbtcloud.testing import control
from airflow_dbtcloud.testing.errors import Invalid, NotFound
from airflow_dbtcloud.testing.hub import HUB, Hub, hub_of
from airflow_dbtcloud.testing.responses import ALLOWED_ACCOUNTS, BODY, FAULT, TRUNCATE, error
from airflow_dbtcloud.testing.routes import API_ROUTES, Handler


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
    hub = hub_of(request)
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
        hub.journal.append(_journal_entry(request, route, body, status, started))


def _journal_entry(
    request: web.Request, route: str | None, body: Any, status: int | None, started: float
) -> dict[str, Any]:
    return {
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


def build_app(hub: Hub) -> web.Application:
    """Create the application with every Admin API route and the ``/_emulator/`` control routes.

    :param hub: Shared state.
    :return: The application.
    """
    app = web.Application(middlewares=[middleware], client_max_size=16 * 1024 * 1024)
    app[HUB] = hub
    for route in API_ROUTES:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    control.add_routes(app)
    return app
