"""The API token never shows in logs, exception text or reprs, and Airflow masks it."""

from __future__ import annotations

import logging
import uuid

import pytest
import requests
import responses
from unit_payloads import BASE, TOKEN, error_envelope

from airflow_dbtcloud.hooks.dbt import DbtCloudError, DbtCloudHook

V2 = f"{BASE}/api/v2/accounts/7"

pytestmark = pytest.mark.usefixtures("dbt_conn")


def _failures():
    responses.get(f"{V2}/runs/1/", status=401, json=error_envelope(401, "Invalid token."))
    responses.get(f"{V2}/runs/2/", status=404, json=error_envelope(404, "Not found."))
    responses.get(f"{V2}/runs/3/", status=503, body=f"<html>echo Authorization: Token {TOKEN}</html>")
    responses.get(f"{V2}/runs/4/", body=requests.exceptions.ConnectionError("connection reset"))
    responses.post(f"{V2}/jobs/5/run/", status=500, json=error_envelope(500, "boom"))


@responses.activate
def test_token_absent_from_errors_and_logs(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    _failures()
    hook = DbtCloudHook(retry_limit=2, retry_delay=0)
    messages = []
    for run_id in (1, 2, 3, 4):
        with pytest.raises(DbtCloudError) as caught:
            hook.get_job_run(run_id)
        messages.append(str(caught.value))
        messages.append(repr(caught.value))
    with pytest.raises(DbtCloudError) as caught:
        hook.trigger_job_run(5, "cause")
    messages.append(str(caught.value))
    logged = caplog.text + capsys.readouterr().out
    assert "dbt Cloud says: Invalid token." in messages[0]
    for text in [*messages, logged, repr(hook), repr(hook.client_config)]:
        assert TOKEN not in text
    assert "echo Authorization: Token ***" in messages[4]


@responses.activate
def test_proxy_echo_of_token_in_html_is_not_in_exception_if_masked():
    """A 5xx page may echo request headers; the masker must redact the token before it is logged."""
    from airflow.sdk._shared.secrets_masker import redact

    hook = DbtCloudHook()
    _ = hook.client_config  # building the config registers the token with the masker
    assert TOKEN not in str(redact(f"Authorization: Token {TOKEN}"))


def test_reprs_hide_token():
    hook = DbtCloudHook()
    assert TOKEN not in repr(hook.client_config)
    assert TOKEN not in repr(hook.get_conn().auth)


def _direct_connection(token: str):
    """A connection the hook did not get through Airflow's lookup, which masks passwords itself."""
    from airflow.sdk import Connection

    return Connection(
        conn_id="direct", conn_type="dbt_cloud", login="7", password=token, host="ab123.us1.dbt.com"
    )


def test_the_hook_masks_a_token_airflows_lookup_did_not_mask(monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact

    token = f"dbtc_sync_{uuid.uuid4().hex}"
    monkeypatch.setattr(DbtCloudHook, "get_connection", classmethod(lambda cls, _: _direct_connection(token)))
    assert token in str(redact(f"Token {token}")), "not masked before the hook reads it"
    _ = DbtCloudHook("direct").client_config
    assert token not in str(redact(f"Token {token}"))


async def test_the_async_path_masks_a_token_airflows_lookup_did_not_mask(monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact

    import airflow_dbtcloud.hooks.dbt as hook_module

    token = f"dbtc_async_{uuid.uuid4().hex}"

    async def lookup(conn_id, hook=None):
        return _direct_connection(token)

    monkeypatch.setattr(hook_module, "get_async_connection", lookup)
    assert token in str(redact(f"Token {token}")), "not masked before the hook reads it"
    await DbtCloudHook("direct").aclient_config()
    assert token not in str(redact(f"Token {token}"))
