"""The emulator against hostile input: unread bodies, bounded journal, guarded control routes, Host, bind."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from typing import Any

import pytest
import requests
from aiohttp import web
from emulator_client import control

from airflow_dbtcloud.testing import Emulator, EmulatorConfig, run_emulator
from airflow_dbtcloud.testing import control as control_routes
from airflow_dbtcloud.testing.access import host_header_allowed
from airflow_dbtcloud.testing.journal import BODY_BYTES, Entry, Journal

BIG = 15 * 1024 * 1024
NO_TOKEN: list[dict[str, str]] = [{}, {"Authorization": "Token nope"}, {"Authorization": "Basic eDp5"}]
CONTROL_ROUTES = [
    ("GET", "journal", None),
    ("GET", "counters", None),
    ("POST", "reset", None),
    ("POST", "faults", {"status": 500}),
    ("DELETE", "faults", None),
    ("POST", "runs/{run_id}/complete", {"status": 20}),
    ("POST", "jobs/300/script", {"outcome": "error"}),
    ("POST", "jobs/300/runs", {"source": "ci"}),
    ("GET", "settings", None),
    ("POST", "settings", {"adapter": "snowflake"}),
]


def _trigger_url(emu: Emulator) -> str:
    return f"{emu.base_url}/api/v2/accounts/{emu.account_id}/jobs/300/run/"


@pytest.mark.parametrize("headers", NO_TOKEN, ids=["no-header", "wrong-token", "other-scheme"])
def test_the_body_of_a_request_without_a_valid_token_is_neither_read_nor_kept(
    dbt_cloud_emulator: Emulator, headers: dict[str, str]
) -> None:
    emu = dbt_cloud_emulator
    resp = requests.post(_trigger_url(emu), data=b"x" * BIG, headers=headers, timeout=60)
    assert resp.status_code == 401
    [entry] = emu.journal
    assert (entry["route"], entry["status"], entry["body"]) == ("trigger_run", 401, None)
    assert len(json.dumps(entry)) < 1024, "the journal keeps the request line, not its 15 MB body"
    assert emu.runs_created() == 0


def test_a_large_body_is_journaled_in_part(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    body = json.dumps({"cause": "big", "steps_override": ["dbt run --select " + "m " * 100_000]})
    resp = control(emu.token).post(_trigger_url(emu), data=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    [entry] = emu.journal
    assert entry["body"] == {"truncated": True, "size": len(body), "head": body[:BODY_BYTES]}
    control(emu.token).post(_trigger_url(emu), json={"cause": "small"})
    assert emu.journal[-1]["body"] == {"cause": "small"}, "a small body is kept whole, as parsed JSON"


def _entry(path: str = "/api/v2/accounts/1/", query: str = "", body: bytes = b"") -> Entry:
    return Entry("GET", path, query, body, len(body), "application/json", 200, 1.0, 0.0, "get_account", None)


def test_the_journal_is_bounded_in_entries_and_bytes() -> None:
    by_count = Journal(limit=3)
    for n in range(5):
        by_count.append(_entry(query=f"n={n}"))
    assert [e["query"] for e in by_count.entries()] == [{"n": ["2"]}, {"n": ["3"]}, {"n": ["4"]}]
    assert by_count.stored_bytes == sum(_entry(query=f"n={n}").cost for n in (2, 3, 4))
    long = _entry(query="q=" + "a" * 6000)
    by_bytes = Journal(limit=1000, max_bytes=3 * long.cost)
    for _ in range(10):
        by_bytes.append(long)
    assert len(by_bytes) == 3
    assert by_bytes.stored_bytes <= 3 * long.cost
    by_bytes.clear()
    assert (len(by_bytes), by_bytes.stored_bytes) == (0, 0)
    nothing = Journal(limit=0)
    nothing.append(long)
    assert (len(nothing), nothing.stored_bytes) == (0, 0)


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_ROUTES)
@pytest.mark.parametrize("headers", NO_TOKEN, ids=["no-header", "wrong-token", "other-scheme"])
def test_control_routes_need_the_emulators_token(
    dbt_cloud_emulator: Emulator, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    emu = dbt_cloud_emulator
    run_id = emu.start_run(300)
    requests.get(f"{emu.base_url}/api/v2/accounts/1/", headers={"Authorization": f"Token {emu.token}"})
    before = (emu.journal, emu.get_run(run_id)["status"], emu.adapter)
    url = f"{emu.base_url}/_emulator/{path.format(run_id=run_id)}"
    refused = requests.request(method, url, json=body, headers=headers, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"] in ("Authentication credentials were not provided.", "Invalid token.")
    assert "nope" not in refused.text
    assert (emu.journal, emu.get_run(run_id)["status"], emu.adapter) == before
    assert len(emu.journal) == 1
    allowed = control(emu.token).request(method, url, json=body, timeout=10)
    assert allowed.status_code == 200, allowed.text


def test_every_control_route_is_covered() -> None:
    app = web.Application()
    control_routes.add_routes(app)
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    covered = {(m, "/_emulator/" + p.replace("300", "{job_id}")) for m, p, _ in CONTROL_ROUTES}
    assert covered == routes - {("HEAD", p) for _, p in routes}


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}", "localhost@evil.example:{port}", ""],
)
@pytest.mark.parametrize("path", ["/api/v2/accounts/1/", "/_emulator/counters", "/nowhere"])
def test_a_foreign_host_is_refused(dbt_cloud_emulator: Emulator, host: str, path: str) -> None:
    emu = dbt_cloud_emulator
    headers = {"Host": host.format(port=emu.port), "Authorization": f"Token {emu.token}"}
    resp = requests.get(f"{emu.base_url}{path}", headers=headers, timeout=10)
    assert resp.status_code == 421
    assert "loopback" in resp.text
    assert emu.journal == []
    assert emu.requests == 0


def test_a_request_without_host_is_refused(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    # HTTP/1.1 requires Host (aiohttp answers 400 itself); HTTP/1.0 does not
    request = f"GET /api/v2/accounts/1/ HTTP/1.0\r\nAuthorization: Token {emu.token}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = b""
        for _ in range(100):  # the server closes after answering
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 421 "), answer[:100]


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}", "127.0.0.5"]
)
def test_loopback_hosts_are_answered(dbt_cloud_emulator: Emulator, host: str) -> None:
    emu = dbt_cloud_emulator
    headers = {"Host": host.format(port=emu.port), "Authorization": f"Token {emu.token}"}
    assert requests.get(f"{emu.base_url}/api/v2/accounts/1/", headers=headers, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("header", "bind", "allowed"),
    [
        ("127.0.0.1:8787", "127.0.0.1", True),
        ("[::1]:8787", "::1", True),
        ("localhost", "127.0.0.1", True),
        ("dev-box:8787", "dev-box", True),
        ("dev-box:8787", "127.0.0.1", False),
        ("10.1.2.3:8787", "10.1.2.3", True),
        ("10.1.2.3:8787", "0.0.0.0", True),  # an IP literal cannot be rebound  # noqa: S104
        ("[fd00::1]:8787", "::", True),
        ("10.1.2.4:8787", "10.1.2.3", False),
        ("attacker.example:8787", "0.0.0.0", False),  # noqa: S104
        ("127.0.0.1:notaport", "127.0.0.1", False),
        ("127.0.0.1:8787/x", "127.0.0.1", False),
        ("::1", "127.0.0.1", False),  # an IPv6 Host must be bracketed
        (None, "127.0.0.1", False),
    ],
)
def test_host_header_rule(header: str | None, bind: str, allowed: bool) -> None:
    assert host_header_allowed(header, bind) is allowed


MESSAGE = re.escape("refusing to bind non-loopback host '0.0.0.0' without --allow-remote")


def test_a_non_loopback_bind_needs_allow_remote_everywhere() -> None:
    with pytest.raises(ValueError, match=MESSAGE) as raised:
        Emulator(host="0.0.0.0")  # noqa: S104
    with pytest.raises(ValueError, match=MESSAGE), run_emulator(host="0.0.0.0"):  # noqa: S104
        pass
    with pytest.raises(ValueError, match=re.escape("'10.0.0.1'")):
        Emulator(host="10.0.0.1")
    Emulator(host="10.0.0.1", allow_remote=True)  # accepted, not started
    for loopback in ("127.0.0.1", "localhost", "::1"):
        Emulator(host=loopback)
    cli = subprocess.run(
        [sys.executable, "-m", "airflow_dbtcloud.testing", "serve", "--host", "0.0.0.0", "--port", "0"],  # noqa: S104
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert cli.returncode == 2
    assert str(raised.value) in cli.stderr, "the CLI and the Python API say the same"


def _start_run_cli(base_url: str, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DBT_CLOUD_EMULATOR_TOKEN"}
    if token is not None:
        env["DBT_CLOUD_EMULATOR_TOKEN"] = token
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_dbtcloud.testing",
            "start-run",
            "--base-url",
            base_url,
            "--job",
            "300",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_the_cli_sends_the_token_of_its_environment() -> None:
    config = EmulatorConfig.from_dict({"tokens": {"ci_secret_token": [1]}})
    with run_emulator(config) as emu:
        refused = _start_run_cli(emu.base_url, None)  # the default token is not configured here
        assert refused.returncode == 1
        assert "Invalid token." in refused.stderr
        wrong = _start_run_cli(emu.base_url, "leaked_if_printed")
        assert "leaked_if_printed" not in wrong.stderr + wrong.stdout
        started = _start_run_cli(emu.base_url, "ci_secret_token")
        assert started.returncode == 0, started.stderr
        assert emu.get_run(int(started.stdout))["trigger"]["cause"] == "scheduled"
        assert "ci_secret_token" not in started.stderr + started.stdout
