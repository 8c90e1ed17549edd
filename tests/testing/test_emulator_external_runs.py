"""Runs started outside the Admin API: by dbt Cloud's scheduler, a pull request (CI) or a person."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import requests
from emulator_client import control

from airflow_dbtcloud.testing import Emulator, EmulatorConfig, run_emulator


def _run(emu: Emulator, run_id: int) -> dict[str, Any]:
    resp = requests.get(
        f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/",
        params={"include_related": '["trigger","job"]'},
        headers={"Authorization": f"Token {emu.token}"},
    )
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


def _all_runs(emu: Emulator) -> list[dict[str, Any]]:
    resp = requests.get(
        f"{emu.base_url}/api/v2/accounts/1/runs/", headers={"Authorization": f"Token {emu.token}"}
    )
    runs: list[dict[str, Any]] = resp.json()["data"]
    return runs


def test_a_scheduled_run_carries_the_schedulers_cause(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    run_id = emu.start_run(300, "scheduler")
    trigger = _run(emu, run_id)["trigger"]
    assert (trigger["cause"], trigger["cause_category"]) == ("scheduled", "scheduled")
    assert trigger["job_definition_id"] == 300
    assert trigger["github_pull_request_id"] is None
    assert trigger["git_branch"] is None
    assert emu.runs_created() == 0  # only what API clients create is counted


def test_a_ci_run_carries_its_pull_request(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    run_id = emu.start_run(302, "ci", pull_request_id=42, git_sha="0123abcd")
    emu.complete_run(run_id, "success")
    run = _run(emu, run_id)
    trigger = run["trigger"]
    assert trigger["cause_category"] == "ci"
    assert trigger["cause"] == "Kicked off by GitHub pull request #42"
    assert trigger["github_pull_request_id"] == 42
    assert trigger["git_branch"] == "pr-42"
    assert trigger["schema_override"] == "dbt_cloud_pr_302_42"
    assert (run["git_branch"], run["git_sha"]) == ("pr-42", "0123abcd")


def test_a_person_clicking_run_now(dbt_cloud_emulator: Emulator) -> None:
    run_id = dbt_cloud_emulator.start_run(301, "person", person="ana@example.com")
    trigger = _run(dbt_cloud_emulator, run_id)["trigger"]
    assert (trigger["cause"], trigger["cause_category"]) == (
        "Kicked off from the UI by ana@example.com",
        "ui",
    )


def test_another_api_client_and_a_custom_cause(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    run_id = emu.start_run(300, "api", cause="Kicked off by another orchestrator", git_branch="release")
    run = _run(emu, run_id)
    assert run["trigger"]["cause_category"] == "api"
    assert run["trigger"]["cause"] == "Kicked off by another orchestrator"
    emu.complete_run(run_id, "success")
    assert _run(emu, run_id)["git_branch"] == "release"


def test_an_external_run_follows_the_jobs_script(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.fail_next_run(300, ["orders"])
    run_id = emu.start_run(300, "scheduler")
    emu.complete_run(run_id, "error")
    run = emu.get_run(run_id)
    assert run["status"] == 20
    assert run["job"]["name"] == "Daily build"


@pytest.mark.parametrize(
    ("job_id", "kwargs", "error"),
    [
        (300, {"source": "cron"}, ValueError),
        (300, {"source": "scheduler", "pull_request_id": 3}, ValueError),
        (300, {"source": "ci", "pull_request_id": "3"}, ValueError),
        (300, {"source": "api", "cause": ""}, ValueError),
        (999, {"source": "scheduler"}, KeyError),
    ],
)
def test_start_run_refuses_bad_arguments(
    dbt_cloud_emulator: Emulator, job_id: int, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        dbt_cloud_emulator.start_run(job_id, **kwargs)
    assert _all_runs(dbt_cloud_emulator) == []


def test_a_deleted_job_is_not_run() -> None:
    config = EmulatorConfig.default()
    config.jobs[0].state = 2
    with run_emulator(config) as emu, pytest.raises(ValueError, match="deleted"):
        emu.start_run(300)


def test_the_control_route_starts_a_run(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    url = f"{emu.base_url}/_emulator/jobs/300/runs"
    resp = control().post(url, json={"source": "ci", "pull_request_id": 7})
    assert resp.status_code == 200, resp.text
    run = resp.json()
    assert run["trigger"]["github_pull_request_id"] == 7
    assert run["job"]["name"] == "Daily build"
    assert _run(emu, run["id"])["trigger"]["cause_category"] == "ci"
    assert control().post(url).json()["trigger"]["cause_category"] == "scheduled"  # the default source
    assert emu.journal[-1]["route"] == "get_run"  # control requests are not journaled


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("jobs/300/runs", {"source": "cron"}, 400, "cron"),
        ("jobs/300/runs", {"source": "scheduler", "surprise": 1}, 400, "surprise"),
        ("jobs/300/runs", {"source": "api", "pull_request_id": 1}, 400, "pull_request_id"),
        ("jobs/300/runs", [1, 2], 400, "JSON object"),
        ("jobs/999/runs", {"source": "scheduler"}, 404, "999"),
        ("jobs/x/runs", {}, 404, "x"),
    ],
)
def test_the_control_route_refuses_bad_requests(
    dbt_cloud_emulator: Emulator, path: str, body: Any, status: int, says: str
) -> None:
    resp = control().post(f"{dbt_cloud_emulator.base_url}/_emulator/{path}", json=body)
    assert resp.status_code == status
    assert says in resp.json()["error"]
    assert _all_runs(dbt_cloud_emulator) == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow_dbtcloud.testing", "start-run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_starts_a_run_and_prints_its_id(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    out = _cli("--base-url", emu.base_url, "--job", "301", "--source", "person", "--person", "bo@example.com")
    assert out.returncode == 0, out.stderr
    run_id = int(out.stdout.strip())
    trigger = _run(emu, run_id)["trigger"]
    assert trigger["cause"] == "Kicked off from the UI by bo@example.com"
    out = _cli("--base-url", emu.base_url + "/", "--job", "300", "--source", "ci", "--pull-request-id", "9")
    assert _run(emu, int(out.stdout))["trigger"]["schema_override"] == "dbt_cloud_pr_300_9"
    assert (
        _run(emu, int(_cli("--base-url", emu.base_url, "--job", "300").stdout))["trigger"]["cause"]
        == "scheduled"
    )


def test_the_cli_reports_a_refusal(dbt_cloud_emulator: Emulator) -> None:
    out = _cli("--base-url", dbt_cloud_emulator.base_url, "--job", "999")
    assert out.returncode == 1
    assert "unknown job 999" in out.stderr
    assert out.stdout == ""


def test_the_cli_refuses_a_remote_host_without_allow_remote() -> None:
    out = _cli("--base-url", "https://cloud.getdbt.com", "--job", "300")
    assert out.returncode == 2
    assert "allow-remote" in out.stderr
    unreachable = _cli("--base-url", "http://127.0.0.1:9", "--job", "300")
    assert unreachable.returncode == 1
    assert "cannot reach" in unreachable.stderr
