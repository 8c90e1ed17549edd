"""Error branches of both executors, through the clients' shared retry policy."""

from __future__ import annotations

import logging
import socket

import aiohttp
import pytest
import requests
import responses
from aioresponses import aioresponses
from fake_time import FakeTime
from unit_payloads import envelope, error_envelope

from airflow_dbtcloud._transport.aio import AiohttpExecutor
from airflow_dbtcloud._transport.budget import RateBudgets
from airflow_dbtcloud._transport.client import AsyncClient, SyncClient
from airflow_dbtcloud._transport.config import ClientConfig, RetryConfig
from airflow_dbtcloud._transport.errors import (
    DbtCloudAuthError,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
    DbtCloudTransportError,
)
from airflow_dbtcloud._transport.request import ApiRequest, Batch
from airflow_dbtcloud._transport.sync import RequestsExecutor, new_session

BASE = "https://emea.dbt.com"
GET = ApiRequest("GET", "/api/v2/accounts/1/runs/5/")
RUN = ApiRequest("POST", "/api/v2/accounts/1/jobs/3/run/", json={"cause": "c"}, starts_run=True)
CONFIG = ClientConfig(
    base_url=BASE, token="tok-exec-SECRET", retry=RetryConfig(attempts=3, backoff=0, max_backoff=0)
)
NO_SLEEP = {"sleep": lambda seconds: None}


async def _no_sleep(seconds):
    return None


def sync_client(config=CONFIG):
    return SyncClient(RequestsExecutor(config, new_session(config)), NO_SLEEP)


def fake_budgets() -> RateBudgets:
    time = FakeTime()
    return RateBudgets(clock=time.clock, sleep=time.sleep)


def async_client(config=CONFIG):
    # Budgets of their own, on a clock of their own: these tests are about retries and sessions.
    return AsyncClient(AiohttpExecutor(config), {"sleep": _no_sleep}, fake_budgets())


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- sync ---------------------------------------------------------------------------------------


@responses.activate
def test_sync_get_retries_5xx_then_succeeds():
    responses.get(BASE + GET.path, status=503, json=error_envelope(503, "Busy"))
    responses.get(BASE + GET.path, status=502, body="<html>bad gateway</html>")
    responses.get(BASE + GET.path, json=envelope({"id": 5}))
    assert sync_client().request(GET).data == {"id": 5}
    assert len(responses.calls) == 3


@responses.activate
def test_sync_get_retries_timeouts():
    responses.get(BASE + GET.path, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(BASE + GET.path, json=envelope({"id": 5}))
    assert sync_client().request(GET).data == {"id": 5}


@responses.activate
def test_sync_gives_up_after_the_attempt_budget():
    responses.get(BASE + GET.path, status=500, json=error_envelope(500, "Internal error"))
    with pytest.raises(DbtCloudServerError, match="Internal error"):
        sync_client().request(GET)
    assert len(responses.calls) == 3


@responses.activate
def test_sync_does_not_retry_auth_errors():
    responses.get(BASE + GET.path, status=401, json=error_envelope(401, "Invalid token."))
    with pytest.raises(DbtCloudAuthError) as caught:
        sync_client().request(GET)
    assert len(responses.calls) == 1
    assert "tok-exec-SECRET" not in str(caught.value)


@responses.activate
def test_sync_run_start_after_500_may_exist_and_is_not_repeated():
    responses.post(BASE + RUN.path, status=500, json=error_envelope(500, "oops"))
    with pytest.raises(DbtCloudRunMayExistError, match="may have been started"):
        sync_client().request(RUN)
    assert len(responses.calls) == 1


@responses.activate
def test_sync_run_start_after_read_timeout_may_exist():
    responses.post(BASE + RUN.path, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(DbtCloudRunMayExistError):
        sync_client().request(RUN)
    assert len(responses.calls) == 1


@responses.activate
def test_sync_run_start_retried_on_429():
    responses.post(BASE + RUN.path, status=429, headers={"Retry-After": "0"})
    responses.post(BASE + RUN.path, json=envelope({"id": 9}))
    assert sync_client().request(RUN).data == {"id": 9}


def test_sync_run_start_retried_when_connection_refused():
    config = ClientConfig(
        base_url=f"http://127.0.0.1:{free_port()}", token="t", retry=RetryConfig(attempts=2, backoff=0)
    )
    with pytest.raises(DbtCloudTransportError) as caught:
        sync_client(config).request(RUN)
    assert caught.value.sent is False
    assert caught.value.kind == "connect"


@responses.activate
def test_sync_truncated_body_is_a_transport_error():
    responses.get(BASE + GET.path, body=requests.exceptions.ChunkedEncodingError("incomplete"))
    responses.get(BASE + GET.path, json=envelope({"id": 5}))
    assert sync_client().request(GET).data == {"id": 5}


@responses.activate
def test_sync_stream_writes_atomically(tmp_path):
    responses.get(BASE + "/api/v2/accounts/1/runs/5/artifacts/manifest.json", body=b"{" + b"x" * 5000 + b"}")
    target = tmp_path / "out" / "manifest.json"
    request = ApiRequest("GET", "/api/v2/accounts/1/runs/5/artifacts/manifest.json", destination=target)
    sync_client().request(request)
    assert target.read_bytes() == b"{" + b"x" * 5000 + b"}"
    assert list(target.parent.iterdir()) == [target]


@responses.activate
def test_sync_stream_error_writes_nothing(tmp_path):
    path = "/api/v2/accounts/1/runs/5/artifacts/manifest.json"
    responses.get(BASE + path, status=404, json=error_envelope(404, "Not found"))
    target = tmp_path / "manifest.json"
    with pytest.raises(Exception, match="Not found"):
        sync_client().request(ApiRequest("GET", path, destination=target))
    assert list(tmp_path.iterdir()) == []


# ---- async --------------------------------------------------------------------------------------


async def test_async_get_retries_5xx_then_succeeds():
    client = async_client()
    with aioresponses() as mocked:
        mocked.get(BASE + GET.path, status=503, payload=error_envelope(503, "Busy"))
        mocked.get(BASE + GET.path, payload=envelope({"id": 5}))
        assert (await client.request(GET)).data == {"id": 5}
    await client.close()


async def test_async_get_retries_connection_reset():
    client = async_client()
    with aioresponses() as mocked:
        mocked.get(BASE + GET.path, exception=aiohttp.ServerDisconnectedError())
        mocked.get(BASE + GET.path, payload=envelope({"id": 5}))
        assert (await client.request(GET)).data == {"id": 5}
    await client.close()


async def test_async_timeout_is_retried_for_reads():
    client = async_client()
    with aioresponses() as mocked:
        mocked.get(BASE + GET.path, exception=TimeoutError())
        mocked.get(BASE + GET.path, payload=envelope({"id": 5}))
        assert (await client.request(GET)).data == {"id": 5}
    await client.close()


async def test_async_run_start_after_disconnect_may_exist():
    client = async_client()
    with aioresponses() as mocked:
        mocked.post(BASE + RUN.path, exception=aiohttp.ServerDisconnectedError())
        mocked.post(BASE + RUN.path, payload=envelope({"id": 9}))
        with pytest.raises(DbtCloudRunMayExistError):
            await client.request(RUN)
    await client.close()


async def test_async_run_start_retried_on_429_with_retry_after():
    waits = []

    async def sleep(seconds):
        waits.append(seconds)

    client = AsyncClient(AiohttpExecutor(CONFIG), {"sleep": sleep}, fake_budgets())
    with aioresponses() as mocked:
        mocked.post(BASE + RUN.path, status=429, headers={"Retry-After": "2"})
        mocked.post(BASE + RUN.path, payload=envelope({"id": 9}))
        assert (await client.request(RUN)).data == {"id": 9}
    assert waits == [2.0]
    await client.close()


async def test_async_connection_refused_is_not_sent():
    config = ClientConfig(
        base_url=f"http://127.0.0.1:{free_port()}", token="t", retry=RetryConfig(attempts=2, backoff=0)
    )
    client = async_client(config)
    with pytest.raises(DbtCloudTransportError) as caught:
        await client.request(RUN)
    assert caught.value.sent is False
    await client.close()


async def test_async_session_is_reused_and_closed():
    client = async_client()
    with aioresponses() as mocked:
        mocked.get(BASE + GET.path, payload=envelope({"id": 5}), repeat=True)
        await client.request(GET)
        first = client.executor.session()
        await client.request(GET)
        assert client.executor.session() is first
    await client.close()
    assert first.closed


async def test_async_session_has_finite_timeouts_and_headers():
    client = async_client()
    session = client.executor.session()
    assert session.timeout.connect == CONFIG.connect_timeout
    assert session.timeout.sock_read == CONFIG.read_timeout
    assert "Authorization" not in session.headers, "the session is shared; the token goes per request"
    assert client.executor._headers["Authorization"] == "Token tok-exec-SECRET"
    await client.close()


async def test_async_stream_to_file(tmp_path):
    path = "/api/v2/accounts/1/runs/5/artifacts/catalog.json"
    client = async_client()
    target = tmp_path / "catalog.json"
    with aioresponses() as mocked:
        mocked.get(BASE + path, body=b'{"nodes": {}}')
        await client.request(ApiRequest("GET", path, destination=target))
    assert target.read_bytes() == b'{"nodes": {}}'
    await client.close()


def test_sync_session_uses_proxies_and_verification():
    config = ClientConfig(
        base_url=BASE, token="t", proxies={"https": "http://proxy.local:3128"}, ca_bundle="/x.pem"
    )
    session = new_session(config)
    assert session.proxies == {"https": "http://proxy.local:3128"}
    assert session.verify == "/x.pem"


@pytest.mark.parametrize(("concurrency", "kept"), [(1, 10), (8, 10), (16, 16), (32, 32)])
def test_sync_session_keeps_a_connection_for_each_batch_thread(concurrency, kept):
    session = new_session(ClientConfig(base_url=BASE, token="t", max_concurrency=concurrency))
    for url in (BASE, "http://127.0.0.1:8787"):
        assert session.get_adapter(url)._pool_maxsize == kept


def test_sync_batch_threads_keep_their_connections(dbt_cloud_emulator, caplog):
    emu = dbt_cloud_emulator
    # Answers take long enough that all 16 threads have a request out at once.
    emu.add_fault(kind="latency", latency=0.02, status=None)
    client = sync_client(ClientConfig(base_url=emu.base_url, token=emu.token, max_concurrency=16))
    before = emu.connections_accepted
    path = f"/api/v2/accounts/{emu.account_id}/jobs/300/"
    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        answers = client.send(Batch.of(ApiRequest("GET", path) for _ in range(96)))
    client.close()
    assert [answer.data["id"] for answer in answers] == [300] * 96
    assert emu.connections_accepted - before <= 16
    # A pool smaller than the threads closes the connections it has no room for when they come back.
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


async def test_async_requests_go_through_the_proxy():
    config = ClientConfig(
        base_url=BASE, token="t", proxies={"https": "http://proxy.local:3128"}, retry=RetryConfig(attempts=1)
    )
    client = async_client(config)
    with aioresponses() as mocked:
        mocked.get(BASE + GET.path, payload=envelope({"id": 5}))
        await client.request(GET)
        (call,) = next(iter(mocked.requests.values()))
    assert call.kwargs["proxy"] == "http://proxy.local:3128"
    await client.close()
