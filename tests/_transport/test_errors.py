from __future__ import annotations

import pickle

import pytest

from airflow_dbtcloud._transport.errors import (
    BODY_EXCERPT_CHARS,
    DbtCloudApiError,
    DbtCloudAuthError,
    DbtCloudBadRequestError,
    DbtCloudNotFoundError,
    DbtCloudRateLimitError,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
    DbtCloudTransportError,
    error_for_status,
    parse_retry_after,
    scrub,
)
from airflow_dbtcloud._transport.request import ApiRequest

RUN = ApiRequest("GET", "/api/v2/accounts/7/runs/5/", resource="run 5 in account 7")


def _envelope(code, user, dev=None):
    return {"status": {"code": code, "is_success": False, "user_message": user, "developer_message": dev}}


@pytest.mark.parametrize(
    ("status", "kind", "phrase"),
    [
        (400, DbtCloudBadRequestError, "rejected the request"),
        (401, DbtCloudAuthError, "API token was rejected"),
        (403, DbtCloudAuthError, "not allowed to access"),
        (404, DbtCloudNotFoundError, "Not found: run 5 in account 7"),
        (409, DbtCloudBadRequestError, "rejected the request"),
        (429, DbtCloudRateLimitError, "Rate limited"),
        (500, DbtCloudServerError, "failed"),
        (503, DbtCloudServerError, "failed"),
    ],
)
def test_status_maps_to_one_exception_type(status, kind, phrase):
    error = error_for_status(RUN, status, {}, _envelope(status, "Something happened."))
    assert type(error) is kind
    assert isinstance(error, DbtCloudApiError)
    assert (error.status, error.method, error.path) == (status, "GET", "/api/v2/accounts/7/runs/5/")
    assert phrase in str(error)
    assert "dbt Cloud says: Something happened." in str(error)


@pytest.mark.parametrize("status", [200, 201, 204, 302])
def test_success_maps_to_nothing(status):
    assert error_for_status(RUN, status, {}, None) is None


def test_messages_come_from_the_envelope():
    error = error_for_status(RUN, 401, {}, _envelope(401, "Invalid token.", "token expired"))
    assert error.user_message == "Invalid token."
    assert error.developer_message == "token expired"
    assert "developer message: token expired" in str(error)


def test_html_error_page_is_quoted_short():
    html = "<html><body>" + "Bad gateway " * 200 + "</body></html>"
    error = error_for_status(RUN, 502, {}, None, html)
    assert error.user_message is None
    assert error.developer_message.startswith("<html><body>Bad gateway")
    assert len(error.developer_message) < 320


def test_retry_after_is_read_from_headers():
    error = error_for_status(RUN, 429, {"Retry-After": "7"}, None)
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("not a date", None),
    ],
)
def test_parse_retry_after(value, expected):
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert parse_retry_after(value, now=now) == expected


@pytest.mark.parametrize(
    "error",
    [
        DbtCloudServerError(503, "GET", "/p/", "down", None, "detail", 2.0),
        DbtCloudTransportError("POST", "/p/", "timeout", True, "read timed out"),
        DbtCloudRunMayExistError("POST", "/p/", "502"),
    ],
)
def test_errors_survive_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)


def test_transport_error_says_whether_it_was_sent():
    assert "before the request was sent" in str(DbtCloudTransportError("GET", "/p/", "connect", False))
    assert "may have been received" in str(DbtCloudTransportError("GET", "/p/", "reset", True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("header was Token dbtc_abcDEF123_xyz", "header was Token ***"),
        ("Authorization: Bearer abcdef0123456789abcdef", "Authorization: Bearer ***"),
        ("personal token dbtu_0123456789 leaked", "personal token *** leaked"),
        ("via http://bob:hunter2@proxy.local:3128 then", "via http://***@proxy.local:3128 then"),
        ("Invalid token provided for this account", "Invalid token provided for this account"),
        ("see https://cloud.getdbt.com/settings/tokens", "see https://cloud.getdbt.com/settings/tokens"),
    ],
)
def test_scrub_hides_what_looks_like_a_credential_and_keeps_prose(text, expected):
    assert scrub(text) == expected


def test_scrub_hides_the_given_token_whatever_its_shape():
    assert scrub("echo: plainsecret42!", secret="plainsecret42!") == "echo: ***"


def test_json_error_messages_are_shortened_and_scrubbed():
    body = _envelope(400, "Token dbtc_leaked_42 " + "y" * 5000, "proxy http://u:p4ss@proxy:3128")
    error = error_for_status(RUN, 400, {}, body)
    assert "dbtc_leaked_42" not in str(error)
    assert "p4ss" not in str(error)
    assert len(error.user_message) <= BODY_EXCERPT_CHARS + 3
    assert len(str(error)) < 800


def test_json_error_without_dbt_cloud_messages_is_quoted_short():
    error = error_for_status(RUN, 404, {}, {"detail": "Not found.", "padding": "z" * 5000})
    assert error.developer_message.startswith('{"detail": "Not found."')
    assert len(error.developer_message) <= BODY_EXCERPT_CHARS + 3


def test_transport_reason_hides_proxy_credentials():
    error = DbtCloudTransportError(
        "GET", "/p/", "connect", False, "Cannot reach http://bob:hunter2@proxy:3128"
    )
    assert "hunter2" not in str(error)
    assert "hunter2" not in str(pickle.loads(pickle.dumps(error)))
