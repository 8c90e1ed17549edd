"""The one retry policy, as tenacity arguments used by both the sync and the async client.

Decisions are pure functions of our own exceptions, so the policy never looks at either HTTP library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tenacity import (
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from airflow_dbtcloud._transport.config import RetryConfig
from airflow_dbtcloud._transport.errors import (
    DbtCloudApiError,
    DbtCloudPayloadError,
    DbtCloudRateLimitError,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
    DbtCloudTransportError,
)
from airflow_dbtcloud._transport.request import ApiRequest

__all__ = ["error_kind", "final_error", "is_transient_error", "retry_arguments", "should_retry"]

log = logging.getLogger(__name__)


def is_transient_error(exc: BaseException) -> bool:
    """
    Tell whether an error may go away on its own (connection trouble, timeouts, 429, 5xx).

    A failed TLS handshake (for example an untrusted certificate) will not, so it is not transient.

    :param exc: The error.
    """
    if isinstance(exc, DbtCloudTransportError):
        return exc.kind != "tls"
    return isinstance(exc, DbtCloudRateLimitError | DbtCloudServerError)


def should_retry(request: ApiRequest, exc: BaseException) -> bool:
    """
    Decide whether a failed request may be sent again.

    Safe requests (reads, cancel) are retried on any transient error. A request that starts a run is
    retried only when it provably never reached dbt Cloud (the connection was never made) or was
    turned away with 429: anything else might have started the run already.

    :param request: The failed request.
    :param exc: Why it failed.
    """
    if not is_transient_error(exc):
        return False
    if request.is_safe:
        return True
    if isinstance(exc, DbtCloudTransportError):
        return not exc.sent
    return isinstance(exc, DbtCloudRateLimitError)


def final_error(request: ApiRequest, exc: BaseException) -> BaseException:
    """
    Return the error to raise once retrying is over.

    A run-starting request whose outcome is unknown becomes :class:`DbtCloudRunMayExistError`: it
    may have been received (timeout, reset, 5xx), or it was accepted with an answer that cannot be
    read (too big, not JSON), so the run may exist without its id being known.

    :param request: The failed request.
    :param exc: The last error.
    """
    answered = isinstance(exc, DbtCloudServerError | DbtCloudPayloadError)
    ambiguous = answered or (isinstance(exc, DbtCloudTransportError) and exc.sent)
    if request.starts_run and ambiguous:
        return DbtCloudRunMayExistError(request.method, request.path, str(exc), answered=answered)
    return exc


class wait_retry_after(wait_base):
    """
    Wait as long as the server asked (``Retry-After``), else fall back to another wait strategy.

    :param fallback: The strategy used when the server gave no hint.
    :param cap: The longest wait in seconds, however long the server asked for.
    """

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hint = exc.retry_after if isinstance(exc, DbtCloudApiError) else None
        if hint is not None:
            return min(float(hint), self.cap)
        return float(self.fallback(retry_state))


def error_kind(exc: BaseException | None) -> str:
    """
    Name what went wrong in a few words that never quote the server or the HTTP library.

    :param exc: The error.
    :return: ``"HTTP 503"`` for an error status, the transport kind (``"timeout"``, ``"reset"``, ...)
        for no usable answer, else the exception's class name.
    """
    if isinstance(exc, DbtCloudApiError):
        return f"HTTP {exc.status}"
    if isinstance(exc, DbtCloudTransportError):
        return exc.kind
    return type(exc).__name__


def _log_retry(request: ApiRequest, attempts: int) -> Any:
    def before_sleep(state: RetryCallState) -> None:
        # The error's text may quote what a server or proxy sent; its kind is enough to follow retries.
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "dbt Cloud %s %s failed (attempt %d of %d): %s. Retrying in %.1f s.",
            request.method,
            request.path,
            state.attempt_number,
            attempts,
            error_kind(exc),
            wait,
        )

    return before_sleep


def retry_arguments(
    config: RetryConfig, request: ApiRequest, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """
    Build the keyword arguments of ``tenacity.Retrying`` / ``AsyncRetrying`` for one request.

    :param config: The retry settings.
    :param request: The request being sent (its kind decides what may be retried).
    :param overrides: ``stop`` / ``wait`` from a user's ``retry_args``; the predicate stays ours so
        a run-starting request is never retried unsafely.
    """
    arguments: dict[str, Any] = {
        "stop": stop_after_attempt(config.attempts) | stop_after_delay(config.max_seconds),
        "wait": wait_retry_after(
            wait_random_exponential(multiplier=config.backoff, max=config.max_backoff),
            cap=config.max_seconds,
        ),
        "retry": retry_if_exception(lambda exc: should_retry(request, exc)),
        "before_sleep": _log_retry(request, config.attempts),
        "reraise": True,
    }
    for key in ("stop", "wait", "sleep"):
        if overrides and key in overrides:
            arguments[key] = overrides[key]
    return arguments
