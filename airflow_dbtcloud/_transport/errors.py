"""The exception tree, and the only place where an HTTP status becomes an exception.

::

    DbtCloudError (AirflowException)
     +-- DbtCloudConfigError          bad connection or bad input, raised before any request
     +-- DbtCloudApiError             dbt Cloud answered with an error status
     |    +-- DbtCloudBadRequestError   400 and other 4xx
     |    +-- DbtCloudAuthError         401, 403: the token was rejected
     |    +-- DbtCloudNotFoundError     404
     |    +-- DbtCloudRateLimitError    429
     |    +-- DbtCloudServerError       5xx
     +-- DbtCloudTransportError       no usable answer: refused, reset, timed out, truncated
     +-- DbtCloudRunMayExistError     a run-starting POST failed after it may have reached dbt Cloud
     +-- DbtCloudPayloadError         dbt Cloud answered 2xx with a body that is not what the API documents
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from airflow_dbtcloud._transport.request import ApiRequest

__all__ = [
    "DbtCloudApiError",
    "DbtCloudAuthError",
    "DbtCloudBadRequestError",
    "DbtCloudConfigError",
    "DbtCloudError",
    "DbtCloudNotFoundError",
    "DbtCloudPayloadError",
    "DbtCloudRateLimitError",
    "DbtCloudRunMayExistError",
    "DbtCloudServerError",
    "DbtCloudTransportError",
    "error_for_status",
    "parse_retry_after",
]

#: Longest piece of a response body quoted in an exception message.
BODY_EXCERPT_CHARS = 300


class DbtCloudError(AirflowException):
    """Base class of every error raised by this provider's dbt Cloud client."""


class DbtCloudConfigError(DbtCloudError, ValueError):
    """The connection or the arguments are invalid; raised before any request is sent."""


class DbtCloudApiError(DbtCloudError):
    """
    dbt Cloud answered a request with an error status.

    :param status: The HTTP status code.
    :param method: The HTTP method of the failed request.
    :param path: The URL path of the failed request (never contains the token).
    :param user_message: dbt Cloud's ``status.user_message``, when the body carried one.
    :param developer_message: dbt Cloud's ``status.developer_message``, when the body carried one.
    :param detail: A short explanation added by this client (what the status means here).
    :param retry_after: Seconds the server asked the client to wait, from ``Retry-After``.
    """

    def __init__(
        self,
        status: int,
        method: str,
        path: str,
        user_message: str | None = None,
        developer_message: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.user_message = user_message
        self.developer_message = developer_message
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = [f"dbt Cloud API error {self.status} on {self.method} {self.path}"]
        if self.detail:
            parts.append(self.detail)
        if self.user_message:
            parts.append(f"dbt Cloud says: {self.user_message}")
        if self.developer_message:
            parts.append(f"developer message: {self.developer_message}")
        return ". ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (
                self.status,
                self.method,
                self.path,
                self.user_message,
                self.developer_message,
                self.detail,
                self.retry_after,
            ),
        )


class DbtCloudBadRequestError(DbtCloudApiError):
    """dbt Cloud rejected the request as invalid (400 or another 4xx)."""


class DbtCloudAuthError(DbtCloudApiError):
    """dbt Cloud rejected the API token (401) or refused it access to the account (403)."""


class DbtCloudNotFoundError(DbtCloudApiError):
    """The account, project, environment, job, run or artifact does not exist (404)."""


class DbtCloudRateLimitError(DbtCloudApiError):
    """dbt Cloud asked the client to slow down (429)."""


class DbtCloudServerError(DbtCloudApiError):
    """dbt Cloud, or a proxy in front of it, failed (5xx)."""


class DbtCloudTransportError(DbtCloudError):
    """
    No usable answer came back: the connection was refused or reset, or the request timed out.

    :param method: The HTTP method of the request.
    :param path: The URL path of the request.
    :param kind: A short name of what went wrong, e.g. ``"connect"``, ``"timeout"``, ``"reset"``.
    :param sent: False only when the request provably never reached the server (the connection
        was never established); True when it may have been received.
    :param reason: The underlying library's message, without headers or tokens.
    """

    def __init__(self, method: str, path: str, kind: str, sent: bool, reason: str = "") -> None:
        self.method = method
        self.path = path
        self.kind = kind
        self.sent = sent
        self.reason = reason
        where = "before the request was sent" if not sent else "after the request may have been received"
        text = f"dbt Cloud request {method} {path} failed ({kind}, {where})"
        super().__init__(f"{text}: {reason}" if reason else text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.path, self.kind, self.sent, self.reason))


class DbtCloudRunMayExistError(DbtCloudError):
    """
    A request that starts a run failed after it may have reached dbt Cloud.

    The run may or may not exist. Retrying blindly could start a second run, so the caller must look
    for the run (for example by the marker in its ``cause``) before trying again.

    :param method: The HTTP method of the request.
    :param path: The URL path of the request.
    :param reason: What went wrong (the text of the underlying error).
    """

    def __init__(self, method: str, path: str, reason: str) -> None:
        self.method = method
        self.path = path
        self.reason = reason
        super().__init__(
            f"The outcome of {method} {path} is unknown, so a dbt Cloud run may have been started: {reason}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.path, self.reason))


class DbtCloudPayloadError(DbtCloudError):
    """dbt Cloud answered with success but the body is not shaped as the API documents it.

    :param problem: What was wrong with the body, e.g. "the run's id must be an integer, got None".
    """

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"Unexpected answer from dbt Cloud: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problem,))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """
    Read a ``Retry-After`` header value (seconds or an HTTP date) as seconds to wait.

    :param value: The header value, or None when absent.
    :param now: The current UNIX time, for tests; defaults to ``time.time()``.
    :return: Seconds to wait (never negative), or None when absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _status_messages(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, Mapping):
        status = body.get("status")
        if isinstance(status, Mapping):
            user, dev = status.get("user_message"), status.get("developer_message")
            return (str(user) if user else None, str(dev) if dev else None)
    return None, None


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_EXCERPT_CHARS else text[:BODY_EXCERPT_CHARS] + "..."


def error_for_status(
    request: ApiRequest, status: int, headers: Mapping[str, str], body: Any, text: str = ""
) -> DbtCloudApiError | None:
    """
    Map an HTTP answer to the matching exception, or None for a success.

    :param request: The request that was answered.
    :param status: The HTTP status code.
    :param headers: The response headers (read for ``Retry-After``).
    :param body: The parsed JSON body, or None when it was not JSON.
    :param text: The raw body text, quoted (shortened) when the body carried no dbt Cloud message.
    :return: The exception to raise, or None when ``status`` is a success.
    """
    if status < 400:
        return None
    user, dev = _status_messages(body)
    if user is None and dev is None and text:
        dev = _excerpt(text)
    retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    args: dict[str, Any] = {
        "status": status,
        "method": request.method,
        "path": request.path,
        "user_message": user,
        "developer_message": dev,
        "retry_after": retry_after,
    }
    if status in (401, 403):
        detail = (
            "The API token was rejected: check the connection's password (API token)"
            if status == 401
            else "The API token is not allowed to access this account or resource"
        )
        return DbtCloudAuthError(detail=detail, **args)
    if status == 404:
        return DbtCloudNotFoundError(detail=f"Not found: {request.describe()}", **args)
    if status == 429:
        return DbtCloudRateLimitError(detail="Rate limited by dbt Cloud", **args)
    if status >= 500:
        return DbtCloudServerError(detail="dbt Cloud or a proxy in front of it failed", **args)
    return DbtCloudBadRequestError(detail="dbt Cloud rejected the request", **args)
