"""The requests executor: sends one request, reads or streams the answer, maps requests' errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from airflow_dbtcloud._transport.body import READ_CHUNK_BYTES, BodyReader
from airflow_dbtcloud._transport.config import ClientConfig
from airflow_dbtcloud._transport.errors import DbtCloudTransportError
from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, default_headers
from airflow_dbtcloud._transport.sinks import open_sink

__all__ = ["RequestsExecutor", "copy_body", "new_session", "read_answer"]


def new_session(config: ClientConfig) -> requests.Session:
    """
    Return a requests session set up for dbt Cloud: headers, proxies, TLS verification and pool size.

    A batch sends up to ``max_concurrency`` requests at once from as many threads, so the session keeps
    that many connections per host (never fewer than requests' default of 10): each thread gets a
    kept-alive connection back instead of opening one that the pool would then drop.

    :param config: The client configuration.
    """
    session = requests.Session()
    pool = max(DEFAULT_POOLSIZE, config.max_concurrency)
    for prefix in ("https://", "http://"):
        session.mount(prefix, HTTPAdapter(pool_maxsize=pool))
    session.headers.update(default_headers(config))
    session.proxies.update(config.proxies)
    # Verification stays on; a CA bundle only changes which authorities are trusted.
    session.verify = config.ca_bundle or True
    return session


def _causes(exc: BaseException) -> list[BaseException]:
    """The chain of wrapped errors, outermost first (requests wraps urllib3 wraps the socket error)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain and len(chain) < 8:
        chain.append(seen)
        reason = getattr(seen, "reason", None)
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else inner or seen.__cause__ or seen.__context__
    return chain


def _never_connected(chain: list[BaseException]) -> bool:
    """A failed connect means the request never left this machine."""
    return any(
        isinstance(err, NewConnectionError | ConnectTimeoutError | requests.exceptions.ConnectTimeout)
        for err in chain
    )


def _transport_error(request: ApiRequest, exc: requests.RequestException) -> DbtCloudTransportError:
    chain = _causes(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        kind, sent = "tls", False
    elif _never_connected(chain):
        kind, sent = "connect", False
    elif isinstance(exc, requests.exceptions.Timeout):
        kind, sent = "timeout", True
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError):
        kind, sent = "truncated", True
    else:
        kind, sent = "reset", True
    # The innermost error says what happened ("Connection refused") without urllib3's pool wording.
    root = chain[-1]
    return DbtCloudTransportError(request.method, request.path, kind, sent, f"{type(root).__name__}: {root}")


def _wire_chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it came off the wire (still compressed); urllib3 errors mapped as requests maps them."""
    try:
        yield from response.raw.stream(READ_CHUNK_BYTES, decode_content=False)
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc


def read_answer(request: ApiRequest, response: requests.Response, config: ClientConfig) -> ApiResponse:
    """
    Read an unread (``stream=True``) response into memory within ``config.max_response_bytes``.

    The body is inflated by :class:`BodyReader`, not by urllib3, so a compressed body cannot grow past
    the limit. The decoded body is then put back into the response, whose ``content``, ``text`` and
    ``json()`` work as if requests had read it.

    :param request: The request that was answered.
    :param response: Its response, body unread.
    :param config: The client configuration (limit and token).
    :raises DbtCloudPayloadError: When a success answer is too big or not JSON where JSON is due.
    """
    reader = BodyReader(
        request,
        response.status_code,
        config.max_response_bytes,
        encoding=response.headers.get("Content-Encoding"),
        length=response.headers.get("Content-Length"),
    )
    for chunk in _wire_chunks(response):
        if not reader.feed(chunk):
            # The rest is not wanted: close, so the connection is not reused with it still unread.
            response.raw.close()
            break
    response._content = reader.content
    response._content_consumed = True  # type: ignore[attr-defined]
    return reader.answer(response.headers, config.token, raw=response)


class RequestsExecutor:
    """
    Send requests with a ``requests.Session``.

    :param config: The client configuration (URLs, timeouts, chunk size).
    :param session: The session to send with (the hook's ``get_conn()``).
    """

    def __init__(self, config: ClientConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session

    def exchange(self, request: ApiRequest) -> ApiResponse:
        """
        Send one request and read its answer (or stream it to ``request.destination``).

        :param request: The request.
        :return: The answer, whatever its status.
        :raises DbtCloudTransportError: When no complete answer arrived.
        """
        try:
            response = self.session.request(
                request.method,
                self.config.url(request.path),
                params=request.params,
                json=request.json,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
                # Always: the body is read here, within the size limit (see read_answer).
                stream=True,
                # Explicit, or requests lets REQUESTS_CA_BUNDLE from the environment win over the session.
                verify=self.config.ca_bundle or True,
            )
            if request.stream and response.status_code < 400:
                # The caller reads the body (see copy_body); reading it releases the connection.
                return ApiResponse(response.status_code, dict(response.headers), raw=response)
            with response:
                if request.destination is not None and response.status_code < 400:
                    copy_body(request, response, request.destination, self.config.chunk_size)
                    return ApiResponse(response.status_code, dict(response.headers), raw=response)
                return read_answer(request, response, self.config)
        except requests.RequestException as exc:
            raise _transport_error(request, exc) from exc

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()


def copy_body(request: ApiRequest, response: requests.Response, destination: Any, chunk_size: int) -> None:
    """
    Copy an unread response body to a file or object storage path, chunk by chunk.

    The destination appears whole or not at all; memory stays bounded by ``chunk_size``.

    :param request: The request that was answered (named in errors).
    :param response: A response sent with ``stream=True`` whose body has not been read.
    :param destination: A local path or an ``ObjectStoragePath``.
    :param chunk_size: Bytes per chunk.
    :raises DbtCloudTransportError: When the body is cut short (kind ``truncated``: worth retrying).
    """
    try:
        with response, open_sink(destination) as sink:
            for chunk in response.iter_content(chunk_size=chunk_size):
                sink.write(chunk)
    except requests.RequestException as exc:
        root = _causes(exc)[-1]
        raise DbtCloudTransportError(
            request.method, request.path, "truncated", True, f"{type(root).__name__}: {root}"
        ) from exc
