"""A small hostile server over real HTTP on loopback, for both clients: each test routes its own answers."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest
from aiohttp import web


class HostileServer:
    """An aiohttp server on its own thread and loop; ``on(path, handler)`` decides the answers."""

    def __init__(self) -> None:
        self.handlers: dict[str, object] = {}
        self.hits: Counter[str] = Counter()
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="hostile-server", daemon=True)

    def on(self, path, handler):
        self.handlers[path] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        handler = self.handlers.get(request.path)
        if handler is None:
            return web.json_response({"status": {"code": 404}}, status=404)
        return await handler(request)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@pytest.fixture
def hostile():
    server = HostileServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
