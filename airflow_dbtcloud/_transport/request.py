"""The request and response values that flows, drivers and executors exchange. No I/O here."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias, TypeVar

from airflow_dbtcloud._transport.config import ClientConfig
from airflow_dbtcloud._transport.errors import error_for_status

__all__ = [
    "ACCEPT_ENCODING",
    "JSON",
    "ApiRequest",
    "ApiResponse",
    "Batch",
    "Flow",
    "Step",
    "auth_value",
    "default_headers",
    "encode_params",
    "raise_for_status",
    "single",
]

#: A decoded JSON value; the only place ``Any`` stands for API data.
JSON: TypeAlias = Any

#: The content codings asked for: the ones :class:`~airflow_dbtcloud._transport.body.BodyReader` inflates.
ACCEPT_ENCODING = "gzip, deflate"

ParamValue: TypeAlias = str | int | float | bool | Sequence[str | int] | None


def encode_params(params: Mapping[str, ParamValue] | None) -> tuple[tuple[str, str], ...]:
    """
    Turn query parameters into ordered pairs: ``None`` is dropped and a list becomes repeated keys.

    :param params: Parameter names and values.
    :return: ``(name, value)`` pairs ready for either HTTP library.
    """
    pairs: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, str | int | float):
            pairs.append((name, str(value)))
        else:
            pairs.extend((name, str(item)) for item in value)
    return tuple(pairs)


@dataclass(frozen=True)
class ApiRequest:
    """
    One HTTP request to the dbt Cloud API, described without doing it.

    :param method: The HTTP method.
    :param path: The URL path, starting with ``/api/``.
    :param params: Query parameters as ordered pairs (repeated keys allowed).
    :param json: The JSON body, or None.
    :param starts_run: True for a POST that starts a run: it is retried only when it provably did
        not reach dbt Cloud, so that a retry never starts a second run.
    :param resource: What the path names, for error messages (e.g. ``"run 5 in account 1"``).
    :param destination: Where to stream the body (a path or an ``ObjectStoragePath``) instead of
        parsing it; None to parse it as JSON.
    :param stream: Leave a successful answer's body unread in ``ApiResponse.raw`` for the caller to
        stream (sync path only); error answers are still read, to report them.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: JSON = None
    starts_run: bool = False
    resource: str | None = None
    destination: Any = field(default=None, compare=False)
    stream: bool = False

    @property
    def is_safe(self) -> bool:
        """Whether repeating the request cannot start a second run."""
        return not self.starts_run

    @property
    def expects_json(self) -> bool:
        """
        Whether a success answer must be JSON: true of every endpoint but an artifact file's.

        Read from the path (``.../artifacts/<file>``) because dbt Cloud serves artifact files, SQL and
        logs as they are, while every other endpoint answers with a JSON envelope.
        """
        if self.destination is not None or self.stream:
            return False
        _, marker, file = self.path.partition("/artifacts/")
        return not (marker and file)

    def describe(self) -> str:
        """Return what the request is about, for messages."""
        return self.resource or self.path

    def with_params(self, **params: ParamValue) -> ApiRequest:
        """
        Return a copy with these query parameters set (replacing any of the same name).

        :param params: Parameter names and values; None removes nothing and adds nothing.
        """
        names = set(params)
        kept = tuple(pair for pair in self.params if pair[0] not in names)
        return replace(self, params=kept + encode_params(params))


@dataclass(frozen=True)
class Batch:
    """
    Requests that may run concurrently; the flow receives the responses in the same order.

    :param requests: The requests.
    """

    requests: tuple[ApiRequest, ...]

    @classmethod
    def of(cls, requests: Iterable[ApiRequest]) -> Batch:
        """
        Build a batch from any iterable of requests.

        :param requests: The requests.
        """
        return cls(tuple(requests))


@dataclass(frozen=True)
class ApiResponse:
    """
    One HTTP answer, already read.

    :param status: The HTTP status code.
    :param headers: The response headers.
    :param body: The decoded JSON body, or None (not JSON, or streamed to a file).
    :param text: The body as text when it was not JSON (used in error messages).
    :param raw: The HTTP library's own response object (a ``requests.Response`` on the sync path),
        kept only for reference-compatible return values.
    """

    status: int
    headers: Mapping[str, str]
    body: JSON = None
    text: str = ""
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def data(self) -> JSON:
        """The envelope's ``data``, or the whole body when it is not enveloped."""
        if isinstance(self.body, Mapping) and "data" in self.body:
            return self.body["data"]
        return self.body

    @property
    def pagination(self) -> tuple[int | None, int | None]:
        """``(count, total_count)`` from the envelope's ``extra.pagination``, None where absent."""
        extra = self.body.get("extra") if isinstance(self.body, Mapping) else None
        page = extra.get("pagination") if isinstance(extra, Mapping) else None
        if not isinstance(page, Mapping):
            return None, None
        count, total = page.get("count"), page.get("total_count")
        return (
            count if isinstance(count, int) and not isinstance(count, bool) else None,
            total if isinstance(total, int) and not isinstance(total, bool) else None,
        )


Step: TypeAlias = ApiRequest | Batch
T = TypeVar("T")
#: An API operation: yields requests or batches, receives their responses, returns a result.
Flow: TypeAlias = Generator[Step, Any, T]


def auth_value(token: str) -> str:
    """
    Return the ``Authorization`` header value for a token.

    :param token: The dbt Cloud API token.
    """
    return f"Token {token}"


def default_headers(config: ClientConfig) -> dict[str, str]:
    """
    Return the headers sent with every request.

    :param config: The client configuration (holds the token).
    """
    return {
        "Authorization": auth_value(config.token),
        "User-Agent": config.user_agent,
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
    }


def raise_for_status(request: ApiRequest, response: ApiResponse) -> ApiResponse:
    """
    Return the response, or raise the exception its status maps to.

    :param request: The request that was answered.
    :param response: Its answer.
    :raises DbtCloudApiError: When the status is an error.
    """
    error = error_for_status(request, response.status, response.headers, response.body, response.text)
    if error is not None:
        raise error
    return response


def single(request: ApiRequest) -> Flow[ApiResponse]:
    """
    Send a single request from a flow: ``response = yield from single(request)``.

    :param request: The request.
    :return: Its response, typed.
    """
    response: ApiResponse = yield request
    return response
