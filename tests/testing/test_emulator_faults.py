"""Fault injection, journal and counters of the emulator."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import pytest
import requests

from airflow_dbtcloud.testing import FAULT_ROUTES, Emulator, run_emulator


def session(emu: Emulator) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Token {emu.token}"
    return s


def test_status_fault_with_retry_after_and_times(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    fault = emu.add_fault(route="get_job", kind="status", status=429, retry_after=2, times=2)
    url = f"{emu.base_url}/api/v2/accounts/1/jobs/300/"
    first = s.get(url)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "2"
    assert first.json()["status"]["code"] == 429
    assert first.json()["status"]["is_success"] is False
    assert first.json()["data"] is None
    assert s.get(url).status_code == 429
    assert s.get(url).status_code == 200
    assert fault.hits == 2
    assert s.get(f"{emu.base_url}/api/v2/accounts/1/jobs/").status_code == 200  # other routes untouched


def test_global_fault_sequence_and_html(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    emu.add_fault(sequence=[503, None, 500])
    url = f"{emu.base_url}/api/v2/accounts/1/"
    assert [s.get(url).status_code for _ in range(4)] == [503, 200, 500, 200]
    emu.add_fault(route="list_runs", status=502, html=True, times=1)
    resp = s.get(f"{emu.base_url}/api/v2/accounts/1/runs/")
    assert resp.status_code == 502
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "<html>" in resp.text
    assert s.get(f"{emu.base_url}/_emulator/counters").status_code == 200  # control routes never fault


def test_rate_fault_is_seeded_and_partial(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    emu.add_fault(route="get_account", status=503, rate=0.5)
    codes = [s.get(f"{emu.base_url}/api/v2/accounts/1/").status_code for _ in range(40)]
    assert 5 < codes.count(503) < 35
    emu.reset()
    emu.add_fault(route="get_account", status=503, rate=0.5)
    again = [s.get(f"{emu.base_url}/api/v2/accounts/1/").status_code for _ in range(40)]
    assert again == codes


def test_reset_fault_drops_connection(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    emu.add_fault(route="get_run", kind="reset", times=1)
    with pytest.raises(requests.ConnectionError):
        s.get(f"{emu.base_url}/api/v2/accounts/1/runs/1/")
    entry = emu.journal[-1]
    assert entry["status"] is None
    assert entry["fault"] == "reset"


def test_latency_fault(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    emu.add_fault(route="list_jobs", kind="latency", latency=0.25, times=1)
    started = time.monotonic()
    assert s.get(f"{emu.base_url}/api/v2/accounts/1/jobs/").status_code == 200
    assert time.monotonic() - started >= 0.25
    assert emu.journal[-1]["latency_ms"] >= 250


def test_truncate_fault_sends_short_body(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.add_fault(route="get_job", kind="truncate", times=1)
    with socket.create_connection((emu.host.split(":")[0], emu.port)) as sock:
        auth = f"Authorization: Token {emu.token}"
        req = f"GET /api/v2/accounts/1/jobs/300/ HTTP/1.1\r\nHost: {emu.host}\r\n{auth}\r\n\r\n"
        sock.sendall(req.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
    )
    assert 0 < len(body) < length


def test_accept_then_fail_creates_the_run(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    url = f"{emu.base_url}/api/v2/accounts/1/jobs/300/run/"
    emu.add_fault(route="trigger_run", kind="accept_then_fail", status=502, times=1)
    assert s.post(url, json={"cause": "a"}).status_code == 502
    assert emu.runs_created(300) == 1
    emu.add_fault(route="trigger_run", kind="accept_then_fail", status=None, times=1)
    with pytest.raises(requests.ConnectionError):
        s.post(url, json={"cause": "b"})
    assert emu.runs_created(300) == 2
    assert s.post(url, json={"cause": "c"}).status_code == 200
    assert emu.runs_created(300) == 3
    with pytest.raises(ValueError, match="accept_then_fail"):
        emu.add_fault(route="get_run", kind="accept_then_fail")


def test_fault_validation_and_removal(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    assert "trigger_run" in FAULT_ROUTES
    with pytest.raises(ValueError, match="route"):
        emu.add_fault(route="nope")
    with pytest.raises(ValueError, match="kind"):
        emu.add_fault(kind="explode")
    fault = emu.add_fault(route="get_account", status=500)
    url = f"{emu.base_url}/api/v2/accounts/1/"
    assert session(emu).get(url).status_code == 500
    fault.remove()
    assert session(emu).get(url).status_code == 200
    emu.add_fault(status=500)
    emu.clear_faults()
    assert session(emu).get(url).status_code == 200


def test_journal_records_requests(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    s.get(f"{emu.base_url}/api/v2/accounts/1/runs/", params=[("status__in", "10"), ("status__in", "20")])
    s.post(f"{emu.base_url}/api/v2/accounts/1/jobs/300/run/", json={"cause": "journal"})
    get, post = emu.journal
    assert get["method"] == "GET"
    assert get["path"] == "/api/v2/accounts/1/runs/"
    assert get["query"] == {"status__in": ["10", "20"]}
    assert get["body"] is None
    assert get["status"] == 200
    assert post["body"] == {"cause": "journal"}
    assert post["latency_ms"] >= 0
    assert post["ts"] >= get["ts"]
    over_http = s.get(f"{emu.base_url}/_emulator/journal").json()
    assert [e["path"] for e in over_http] == [get["path"], post["path"]]
    counters = s.get(f"{emu.base_url}/_emulator/counters").json()
    assert counters["runs_created"] == {"300": 1}
    assert counters["requests"] == 2
    assert s.post(f"{emu.base_url}/_emulator/reset").json() == {"reset": True}
    assert emu.journal == []


async def test_connection_counting_with_keepalive_clients() -> None:
    with run_emulator() as emu:
        headers = {"Authorization": f"Token {emu.token}"}
        connector = aiohttp.TCPConnector(limit=3)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as client:

            async def one() -> int:
                async with client.get(f"{emu.base_url}/api/v2/accounts/1/") as resp:
                    await resp.read()
                    return resp.status

            codes = await asyncio.gather(*(one() for _ in range(30)))
        assert set(codes) == {200}
        assert 1 <= emu.connections_accepted <= 3
        assert emu.requests == 30
        requests.get(f"{emu.base_url}/_emulator/counters", headers=headers)
        assert emu.connections_accepted <= 4
