from __future__ import annotations

import logging

import pytest
from tenacity import Retrying, stop_after_attempt

from airflow_dbtcloud._transport.config import RetryConfig
from airflow_dbtcloud._transport.errors import (
    DbtCloudAuthError,
    DbtCloudBadRequestError,
    DbtCloudNotFoundError,
    DbtCloudRateLimitError,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
    DbtCloudTransportError,
)
from airflow_dbtcloud._transport.request import ApiRequest
from airflow_dbtcloud._transport.retry import final_error, is_transient_error, retry_arguments, should_retry

GET = ApiRequest("GET", "/api/v2/accounts/1/runs/5/")
CANCEL = ApiRequest("POST", "/api/v2/accounts/1/runs/5/cancel/")
RUN = ApiRequest("POST", "/api/v2/accounts/1/jobs/3/run/", starts_run=True)


def api(kind, status, retry_after=None):
    return kind(status, "GET", "/p/", retry_after=retry_after)


REFUSED = DbtCloudTransportError("POST", "/p/", "connect", sent=False)
TIMEOUT = DbtCloudTransportError("POST", "/p/", "timeout", sent=True)
RESET = DbtCloudTransportError("POST", "/p/", "reset", sent=True)


@pytest.mark.parametrize(
    ("request_", "error", "expected"),
    [
        (GET, REFUSED, True),
        (GET, TIMEOUT, True),
        (GET, RESET, True),
        (GET, api(DbtCloudRateLimitError, 429), True),
        (GET, api(DbtCloudServerError, 500), True),
        (GET, api(DbtCloudServerError, 503), True),
        (GET, api(DbtCloudAuthError, 401), False),
        (GET, api(DbtCloudNotFoundError, 404), False),
        (GET, api(DbtCloudBadRequestError, 400), False),
        (GET, ValueError("bug"), False),
        (CANCEL, TIMEOUT, True),
        (CANCEL, api(DbtCloudServerError, 502), True),
        (RUN, REFUSED, True),
        (RUN, api(DbtCloudRateLimitError, 429), True),
        (RUN, TIMEOUT, False),
        (RUN, RESET, False),
        (RUN, api(DbtCloudServerError, 500), False),
        (RUN, api(DbtCloudServerError, 502), False),
        (RUN, api(DbtCloudBadRequestError, 400), False),
    ],
)
def test_should_retry(request_, error, expected):
    assert should_retry(request_, error) is expected


@pytest.mark.parametrize(
    ("error", "becomes_may_exist"),
    [
        (TIMEOUT, True),
        (RESET, True),
        (api(DbtCloudServerError, 502), True),
        (REFUSED, False),
        (api(DbtCloudRateLimitError, 429), False),
        (api(DbtCloudBadRequestError, 400), False),
    ],
)
def test_final_error_marks_unknown_run_outcome(error, becomes_may_exist):
    result = final_error(RUN, error)
    assert isinstance(result, DbtCloudRunMayExistError) is becomes_may_exist
    assert final_error(GET, error) is error


def test_tls_failures_are_not_retried():
    tls = DbtCloudTransportError("GET", "/p/", "tls", sent=False, reason="certificate verify failed")
    assert not is_transient_error(tls)
    assert not should_retry(GET, tls)


def test_transient_errors():
    assert is_transient_error(TIMEOUT)
    assert is_transient_error(api(DbtCloudServerError, 504))
    assert not is_transient_error(api(DbtCloudAuthError, 403))


FAST = RetryConfig(attempts=4, backoff=0.01, max_backoff=0.02)


def _run_policy(request, errors, config=FAST):
    """Run the policy over a scripted sequence of failures; return the waits tenacity chose."""
    waits = []
    arguments = retry_arguments(config, request, {"sleep": waits.append})
    calls = iter(errors)

    def attempt():
        error = next(calls)
        if error is not None:
            raise error
        return "ok"

    result = Retrying(**arguments)(attempt)
    return result, waits


def test_retry_after_is_honoured():
    result, waits = _run_policy(GET, [api(DbtCloudRateLimitError, 429, retry_after=3), None])
    assert result == "ok"
    assert waits == [3.0]


def test_retry_after_is_capped_by_the_time_budget():
    config = RetryConfig(attempts=3, max_seconds=5, backoff=0.01, max_backoff=0.01)
    _, waits = _run_policy(GET, [api(DbtCloudServerError, 503, retry_after=600), None], config)
    assert waits == [5.0]


def test_backoff_without_hint_is_bounded_and_jittered():
    errors = [api(DbtCloudServerError, 500)] * 3 + [None]
    result, waits = _run_policy(GET, errors)
    assert result == "ok"
    assert len(waits) == 3
    assert all(0 <= wait <= 0.02 for wait in waits)


def test_attempts_are_bounded():
    errors = [api(DbtCloudServerError, 500)] * 10
    with pytest.raises(DbtCloudServerError):
        _run_policy(GET, errors)


def test_run_start_is_not_retried_after_a_timeout():
    with pytest.raises(DbtCloudTransportError):
        _run_policy(RUN, [TIMEOUT, None])


def test_user_stop_override_is_used_but_predicate_is_kept():
    arguments = retry_arguments(RetryConfig(attempts=9), RUN, {"stop": stop_after_attempt(1), "retry": None})
    assert arguments["retry"] is not None
    calls = []

    def attempt():
        calls.append(1)
        raise api(DbtCloudServerError, 500)

    with pytest.raises(DbtCloudServerError):
        Retrying(**arguments)(attempt)
    assert len(calls) == 1


def test_each_retry_is_logged_with_attempt_numbers(caplog):
    caplog.set_level(logging.WARNING)
    _run_policy(GET, [api(DbtCloudServerError, 503), None])
    assert "GET /api/v2/accounts/1/runs/5/ failed (attempt 1 of 4)" in caplog.text


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            DbtCloudServerError(
                503, "GET", "/p/", "proxy echoed Token dbtc_leak_77", "<html>secret page</html>"
            ),
            "HTTP 503",
        ),
        (DbtCloudTransportError("GET", "/p/", "timeout", True, "read from 10.0.0.9 timed out"), "timeout"),
    ],
)
def test_retries_log_the_error_kind_not_its_text(caplog, error, kind):
    caplog.set_level(logging.WARNING)
    _run_policy(GET, [error, None])
    (record,) = [r for r in caplog.records if "failed (attempt" in r.getMessage()]
    assert f"failed (attempt 1 of 4): {kind}." in record.getMessage()
    for leaked in ("dbtc_leak_77", "secret page", "10.0.0.9"):
        assert leaked not in caplog.text
