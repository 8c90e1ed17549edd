"""The aiohttp executor: requests through the session its event loop shares for these settings."""

from __future__ import annotations

import asyncio

import aiohttp

from airflow_dbtcloud._transport.body import READ_CHUNK_BYTES, BodyReader
from airflow_dbtcloud._transport.config import ClientConfig
from airflow_dbtcloud._transport.errors import DbtCloudTransportError
from airflow_dbtcloud._transport.pool import Lease, SessionPool, shared_sessions
from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, default_headers
from airflow_dbtcloud._transport.sinks import open_sink

__all__ = ["AiohttpExecutor"]


def _transport_error(request: ApiRequest, exc: BaseException) -> DbtCloudTransportError:
    # Order matters: the connect errors are subclasses of the more general ones below them.
    if isinstance(exc, aiohttp.ClientSSLError):
        kind, sent = "tls", False
    elif isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        kind, sent = "connect", False
    elif isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        kind, sent = "timeout", True
    elif isinstance(exc, aiohttp.ClientPayloadError):
        kind, sent = "truncated", True
    else:
        kind, sent = "reset", True
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return DbtCloudTransportError(request.method, request.path, kind, sent, reason)


class AiohttpExecutor:
    """
    Send requests through the process's shared session for this configuration (see ``pool.py``).

    The session is borrowed at the first request on a loop and given back by :meth:`close`.

    :param config: The client configuration.
    :param pool: Where sessions are borrowed from (the process's pool unless a test gives its own).
    """

    def __init__(self, config: ClientConfig, pool: SessionPool = shared_sessions) -> None:
        self.config = config
        self.pool = pool
        self._lease: Lease | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._headers = default_headers(config)

    def lease(self) -> Lease:
        """Return what this executor borrowed for the running loop, borrowing on first use."""
        loop = asyncio.get_running_loop()
        if self._lease is None or self._lease.session.closed or self._loop is not loop:
            # A session cannot move between event loops; one borrowed on a finished loop is dropped.
            self._lease = self.pool.borrow(self.config)
            self._loop = loop
        return self._lease

    def session(self) -> aiohttp.ClientSession:
        """Return the session borrowed for the running loop."""
        return self.lease().session

    def slot(self) -> asyncio.Semaphore:
        """The gate to hold while a request is on the wire (one place per pooled connection)."""
        return self.lease().gate

    def _proxy(self) -> str | None:
        scheme = "https" if self.config.base_url.startswith("https") else "http"
        return self.config.proxies.get(scheme)

    async def exchange(self, request: ApiRequest) -> ApiResponse:
        """
        Send one request and read its answer (or stream it to ``request.destination``).

        An answer read into memory is held to ``config.max_response_bytes``; the reader, not aiohttp,
        inflates it, so a compressed body cannot grow past that.

        :param request: The request.
        :return: The answer, whatever its status.
        :raises DbtCloudTransportError: When no complete answer arrived.
        :raises DbtCloudPayloadError: When a success answer is too big or not JSON where JSON is due.
        """
        streamed = request.destination is not None
        try:
            async with self.session().request(
                request.method,
                self.config.url(request.path),
                params=list(request.params),
                json=request.json,
                headers=self._headers,
                proxy=self._proxy(),
                # A file is written decompressed by aiohttp; a body read into memory is inflated below.
                auto_decompress=streamed,
            ) as response:
                if streamed and response.status < 400:
                    with open_sink(request.destination) as sink:
                        async for chunk in response.content.iter_chunked(self.config.chunk_size):
                            sink.write(chunk)
                    return ApiResponse(response.status, dict(response.headers))
                reader = BodyReader(
                    request,
                    response.status,
                    self.config.max_response_bytes,
                    encoding=None if streamed else response.headers.get("Content-Encoding"),
                    length=response.headers.get("Content-Length"),
                )
                async for chunk in response.content.iter_chunked(READ_CHUNK_BYTES):
                    if not reader.feed(chunk):
                        break
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _transport_error(request, exc) from exc
        return reader.answer(response.headers, self.config.token)

    async def close(self) -> None:
        """Give the session back (the pool closes it when no other client uses it)."""
        lease, loop = self._lease, self._loop
        self._lease = self._loop = None
        if lease is not None and loop is asyncio.get_running_loop():
            await self.pool.give_back(self.config, lease)
