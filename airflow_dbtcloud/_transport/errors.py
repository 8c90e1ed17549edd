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
import json
import re
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
    "excerpt",
    "parse_retry_after",
    "scrub",
]

#: Longest piece of a response body quoted in an exception message.
BODY_EXCERPT_CHARS = 300

# What a credential looks like when a server or proxy echoes one back: dbt Cloud service and personal
# tokens, an Authorization value, and the user info of a URL (a proxy's ``http://user:pass@host``).
_CREDENTIALS = (
    (re.compile(r"\bdbt[cu]_[A-Za-z0-9_-]+"), "***"),
    # A word after "token" is a credential only when long and with a digit, so prose stays readable.
    (re.compile(r"(?i)\b(token|bearer|basic)(\s+)(?=[^\s\d]*\d)[A-Za-z0-9._~+/=-]{16,}"), r"\1\2***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@"), r"\1***@"),
)


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
        # A library's message may quote a proxy URL with its user info.
        self.reason = reason = scrub(reason)
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
    :param answered: True when dbt Cloud answered (a 5xx, or a success whose body could not be read):
        it had finished with the request, so a run it started exists already. False when no answer
        came (a timeout, a dropped connection): dbt Cloud may still be creating the run.
    """

    def __init__(self, method: str, path: str, reason: str, answered: bool = False) -> None:
        self.method = method
        self.path = path
        self.reason = reason
        self.answered = answered
        super().__init__(
            f"The outcome of {method} {path} is unknown, so a dbt Cloud run may have been started: {reason}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.path, self.reason, self.answered))


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


def scrub(text: str, secret: str = "") -> str:
    """
    Hide credentials in text that came from a server: the given token and anything shaped like one.

    :param text: The text, e.g. part of a response body or an HTTP library's error message.
    :param secret: The request's own API token, always hidden; empty for none.
    :return: The text with each credential replaced by ``***``.
    """
    if secret:
        text = text.replace(secret, "***")
    for pattern, replacement in _CREDENTIALS:
        text = pattern.sub(replacement, text)
    return text


def excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """
    Shorten server-sent text for an exception message: whitespace folded, credentials hidden.

    :param text: The text.
    :param limit: The most characters kept before ``...``.
    """
    # Cut before scrubbing (bounded work), then again: scrubbing may only shorten the text.
    text = scrub(" ".join(text[: limit * 4].split()))
    return text if len(text) <= limit else text[:limit] + "..."


def _status_messages(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, Mapping):
        status = body.get("status")
        if isinstance(status, Mapping):
            user, dev = status.get("user_message"), status.get("developer_message")
            return (excerpt(str(user)) if user else None, excerpt(str(dev)) if dev else None)
    return None, None


def _body_excerpt(body: Any, text: str) -> str | None:
    """Quote a body that carried no dbt Cloud message: the text, or the JSON as sent."""
    if text:
        return excerpt(text)
    if body is None:
        return None
    try:
        return excerpt(json.dumps(body, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return None


def error_for_status(
    request: ApiRequest, status: int, headers: Mapping[str, str], body: Any, text: str = ""
) -> DbtCloudApiError | None:
    """
    Map an HTTP answer to the matching exception, or None for a success.

    :param request: The request that was answered.
    :param status: The HTTP status code.
    :param headers: The response headers (read for ``Retry-After``).
    :param body: The parsed JSON body, or None when it was not JSON.
    :param text: The raw body text. Without a dbt Cloud message in the body, the text (or the JSON)
        is quoted instead; whatever is quoted is shortened and scrubbed of anything shaped like a
        credential.
    :return: The exception to raise, or None when ``status`` is a success.
    """
    if status < 400:
        return None
    user, dev = _status_messages(body)
    if user is None and dev is None:
        dev = _body_excerpt(body, text)
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
