"""The aiohttp executor: one ClientSession per client, reused across calls, closed cleanly."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp

from airflow_dbtcloud._transport.config import ClientConfig
from airflow_dbtcloud._transport.errors import DbtCloudTransportError
from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, decode_body, default_headers
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
    Send requests with one ``aiohttp.ClientSession``, opened on first use in the running loop.

    :param config: The client configuration.
    """

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ssl(self) -> ssl.SSLContext | bool:
        if self.config.ca_bundle:
            return ssl.create_default_context(cafile=self.config.ca_bundle)
        return True

    def session(self) -> aiohttp.ClientSession:
        """Return the session, opening one if there is none for the running loop."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # A session cannot move between event loops; one from a finished loop is dropped.
            self._session = aiohttp.ClientSession(
                headers=default_headers(self.config),
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self.config.connect_timeout, sock_read=self.config.read_timeout
                ),
                connector=aiohttp.TCPConnector(ssl=self._ssl(), limit=max(4, self.config.max_concurrency)),
            )
            self._loop = loop
        return self._session

    def _proxy(self) -> str | None:
        scheme = "https" if self.config.base_url.startswith("https") else "http"
        return self.config.proxies.get(scheme)

    async def exchange(self, request: ApiRequest) -> ApiResponse:
        """
        Send one request and read its answer (or stream it to ``request.destination``).

        :param request: The request.
        :return: The answer, whatever its status.
        :raises DbtCloudTransportError: When no complete answer arrived.
        """
        try:
            async with self.session().request(
                request.method,
                self.config.url(request.path),
                params=list(request.params),
                json=request.json,
                proxy=self._proxy(),
            ) as response:
                headers = dict(response.headers)
                if request.destination is not None and response.status < 400:
                    with open_sink(request.destination) as sink:
                        async for chunk in response.content.iter_chunked(self.config.chunk_size):
                            sink.write(chunk)
                    return ApiResponse(response.status, headers)
                content = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _transport_error(request, exc) from exc
        body, text = decode_body(content, self.config.token)
        return ApiResponse(response.status, headers, body, text)

    async def close(self) -> None:
        """Close the session, if one is open."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
