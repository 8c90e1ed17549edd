"""Run lifecycle, triggers, reruns, retries and cancels against the emulator over real HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_client import control

from airflow_dbtcloud.testing import Emulator

FIELDS = json.loads((Path(__file__).parents[1] / "data" / "emulator" / "api_fields.json").read_text())
_TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
_TYPES["null"] = type(None)


def check_fields(obj: dict[str, Any], kind: str) -> None:
    """Assert ``obj`` has every key listed for ``kind`` with an allowed JSON type."""
    for key, types in FIELDS[kind].items():
        assert key in obj, f"{kind} lacks {key!r}"
        assert any(isinstance(obj[key], _TYPES[t]) for t in types), (
            f"{kind}.{key}={obj[key]!r} not in {types}"
        )


def session(emu: Emulator) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Token {emu.token}"
    return s


FINAL = (10, 20, 30)


def trigger(emu: Emulator, job_id: int = 300, **body: Any) -> dict[str, Any]:
    body.setdefault("cause", "pytest")
    resp = session(emu).post(f"{emu.base_url}/api/v2/accounts/1/jobs/{job_id}/run/", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def get_run(emu: Emulator, run_id: int, related: str = '["trigger","job","run_steps"]') -> dict[str, Any]:
    resp = session(emu).get(
        f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/", params={"include_related": related}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def wait_done(emu: Emulator, run_id: int, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = get_run(emu, run_id)
        if run["status"] in FINAL:
            return run
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish")


def test_trigger_returns_queued_run_with_trigger_and_job(dbt_cloud_emulator: Emulator) -> None:
    run = trigger(dbt_cloud_emulator, 300, git_branch="feature/x", threads_override=8)
    check_fields(run, "run")
    check_fields(run["trigger"], "trigger")
    check_fields(run["job"], "run_job")
    assert "id" not in run["job"]
    assert isinstance(run["job"]["schedule"]["date"], str)
    assert run["status"] == 1
    assert run["status_humanized"] == "Queued"
    assert run["in_progress"] is True
    assert run["finished_at"] is None
    assert run["git_sha"] is None
    assert run["trigger"]["cause"] == "pytest"
    assert run["trigger"]["cause_category"] == "api"
    assert run["trigger"]["git_branch"] == "feature/x"
    assert run["job_definition_id"] == run["job_id"] == 300
    assert run["href"] == f"{dbt_cloud_emulator.base_url}/deploy/1/projects/100/runs/{run['id']}/"
    assert len(run["created_at"]) == len("2026-11-25 10:00:00.123456+00:00")
    assert run["created_at"].endswith("+00:00")
    assert dbt_cloud_emulator.runs_created(300) == 1


def test_lifecycle_goes_queued_starting_running_success(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.set_job_script(300, queued_seconds=0.1, starting_seconds=0.1, running_seconds=0.3)
    emu.speed = 2.0
    run_id = trigger(emu)["id"]
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = get_run(emu, run_id, "[]")["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in FINAL:
            break
        time.sleep(0.005)
    assert seen[0] == 1
    assert seen[-1] == 10
    assert seen == sorted(seen)
    assert 3 in seen
    run = get_run(emu, run_id)
    assert run["is_success"] is run["is_complete"] is True
    assert run["in_progress"] is False
    assert None not in (run["finished_at"], run["started_at"], run["dequeued_at"])
    assert run["finished_at"] >= run["started_at"] >= run["dequeued_at"] >= run["created_at"]
    assert run["artifacts_saved"] is True
    assert run["git_sha"]
    assert run["can_retry"] is False
    assert run["retry_not_supported_reason"] == "RETRY_NOT_FAILED_RUN"
    [step] = run["run_steps"]
    check_fields(step, "run_step")
    assert step["name"] == "Invoke dbt with `dbt build`"
    assert step["index"] == 1
    assert step["status"] == 10
    assert "Done. PASS=" in step["logs"]


def test_complete_run_controls_outcome(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.set_job_script(301, outcome="hang")
    run_id = trigger(emu, 301)["id"]
    emu.complete_run(run_id, "error")
    run = get_run(emu, run_id)
    assert run["status"] == 20
    assert run["is_error"] is True
    assert run["finished_at"] is not None
    assert run["can_retry"] is True
    emu.complete_run(run_id, 10)  # already finished: left as it was
    assert get_run(emu, run_id)["status"] == 20
    other = trigger(emu, 301)["id"]
    emu.complete_run(other, 10)
    assert emu.get_run(other)["status"] == 10
    assert emu.get_run(other)["trigger"]["cause"] == "pytest"


def test_fail_next_run_fails_nodes_and_skips_children(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.speed = 20
    emu.fail_next_run(300, failing_nodes=["model.jaffle_shop.orders"])
    failed = wait_done(emu, trigger(emu)["id"])
    assert failed["status"] == 20
    assert failed["status_humanized"] == "Error"
    assert "orders" in failed["status_message"]
    logs = failed["run_steps"][0]["logs"]
    assert "ERROR" in logs
    assert "SKIP relation dbt_prod.customer_lifetime_value" in logs
    second = wait_done(emu, trigger(emu)["id"])
    assert second["status"] == 10  # only the next run fails


def test_rerun_from_failure_reexecutes_only_failed_and_skipped(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.speed = 20
    s = session(emu)
    emu.fail_next_run(300, failing_nodes=["model.jaffle_shop.orders"])
    failed_id = wait_done(emu, trigger(emu)["id"])["id"]
    resp = s.post(f"{emu.base_url}/api/v2/accounts/1/jobs/300/rerun/")
    assert resp.status_code == 200
    rerun = resp.json()["data"]
    assert rerun["trigger"]["cause_category"] == "rerun"
    assert get_run(emu, failed_id, "[]")["retrying_run_id"] == rerun["id"]
    done = wait_done(emu, rerun["id"])
    assert done["status"] == 10
    results = s.get(f"{emu.base_url}/api/v2/accounts/1/runs/{rerun['id']}/artifacts/run_results.json").json()
    ids = {r["unique_id"] for r in results["results"]}
    assert "model.jaffle_shop.orders" in ids
    assert "model.jaffle_shop.customer_lifetime_value" in ids
    assert "seed.jaffle_shop.raw_orders" not in ids
    assert "model.jaffle_shop.stg_orders" not in ids
    # the latest run succeeded, so a new rerun is a normal full run
    normal = s.post(f"{emu.base_url}/api/v2/accounts/1/jobs/300/rerun/").json()["data"]
    assert normal["trigger"]["cause_category"] == "api"
    assert emu.runs_created(300) == 3


def test_retry_specific_run(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.speed = 20
    s = session(emu)
    ok = wait_done(emu, trigger(emu, 302)["id"])
    url = f"{emu.base_url}/api/v2/accounts/1/runs/{ok['id']}/retry/"
    refused = s.post(url)
    assert refused.status_code == 400
    assert refused.json()["data"] is None
    emu.set_job_script(302, outcome="error", failing_nodes=["model.jaffle_shop.stg_payments"])
    failed = wait_done(emu, trigger(emu, 302, steps_override=["dbt seed", "dbt run", "dbt test"])["id"])
    assert [st["status"] for st in failed["run_steps"]] == [10, 20]
    details = s.get(f"{emu.base_url}/api/v2/accounts/1/runs/{failed['id']}/retry/").json()["data"]
    assert details == {
        "failed_step": "Invoke dbt with `dbt run`",
        "skipped_steps": ["Invoke dbt with `dbt test`"],
    }
    emu.set_job_script(302, outcome="success")
    retried = s.post(f"{emu.base_url}/api/v2/accounts/1/runs/{failed['id']}/retry/").json()["data"]
    done = wait_done(emu, retried["id"])
    assert [st["name"] for st in done["run_steps"]] == [
        "Invoke dbt with `dbt run`",
        "Invoke dbt with `dbt test`",
    ]
    assert done["status"] == 10
    again = s.post(f"{emu.base_url}/api/v2/accounts/1/runs/{failed['id']}/retry/")
    assert again.status_code == 400
    assert "already retried" in again.json()["status"]["user_message"]
    superseded = get_run(emu, failed["id"], "[]")
    assert superseded["retrying_run_id"] == retried["id"]
    assert (superseded["can_retry"], superseded["retry_not_supported_reason"]) == (
        False,
        "RETRY_NOT_LATEST_RUN",
    )


def test_cancel_run_and_cancel_finished_run(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    s = session(emu)
    emu.set_job_script(300, outcome="hang")
    run_id = trigger(emu)["id"]
    resp = s.post(f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/cancel/")
    assert resp.status_code == 200
    assert resp.json()["data"]["status"] == 30
    assert resp.json()["data"]["is_cancelled"] is True
    again = s.post(f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/cancel/").json()["data"]
    assert again["status"] == 30
    assert again["finished_at"] == resp.json()["data"]["finished_at"]
    emu.set_job_script(300, outcome="success", queued_seconds=0, starting_seconds=0, running_seconds=0)
    done_id = trigger(emu)["id"]
    assert s.post(f"{emu.base_url}/api/v2/accounts/1/runs/{done_id}/cancel/").json()["data"]["status"] == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "cause"),
        ({"cause": ""}, "cause"),
        ({"cause": "x" * 256}, "cause"),
        ({"cause": "ok", "steps_override": ["rm -rf /"]}, "steps_override"),
        ({"cause": "ok", "threads_override": "many"}, "threads_override"),
        ({"cause": "ok", "generate_docs_override": "yes"}, "generate_docs_override"),
        ({"cause": "ok", "surprise": 1}, "surprise"),
    ],
)
def test_trigger_body_validation(dbt_cloud_emulator: Emulator, body: dict[str, Any], field: str) -> None:
    resp = session(dbt_cloud_emulator).post(
        f"{dbt_cloud_emulator.base_url}/api/v2/accounts/1/jobs/300/run/", json=body
    )
    assert resp.status_code == 400
    assert field in resp.json()["status"]["user_message"]
    assert dbt_cloud_emulator.runs_created() == 0


def test_trigger_overrides_are_recorded(dbt_cloud_emulator: Emulator) -> None:
    run = trigger(
        dbt_cloud_emulator,
        300,
        cause="c" * 255,
        git_sha="abc123",
        schema_override="dbt_pr_1",
        steps_override=["dbt run --select orders"],
        generate_docs_override=True,
        timeout_seconds_override=600,
        github_pull_request_id=7,
        non_native_pull_request_id=8,
    )
    assert run["trigger"]["steps_override"] == ["dbt run --select orders"]
    assert run["trigger"]["github_pull_request_id"] == 7
    dbt_cloud_emulator.complete_run(run["id"], "success")
    done = get_run(dbt_cloud_emulator, run["id"])
    assert done["git_sha"] == "abc123"
    assert [st["name"] for st in done["run_steps"]] == [
        "Invoke dbt with `dbt run --select orders`",
        "Invoke dbt with `dbt docs generate`",
    ]
    assert done["has_docs_generated"] is True


def test_list_runs_filters_status_and_order(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.set_job_script(301, outcome="hang")
    a, b, c = (trigger(emu, 301)["id"] for _ in range(3))
    emu.complete_run(a, 10)
    emu.complete_run(b, 20)
    s, url = session(emu), f"{emu.base_url}/api/v2/accounts/1/runs/"

    def ids(params: Any) -> list[int]:
        resp = s.get(url, params=params)
        assert resp.status_code == 200, resp.text
        return [r["id"] for r in resp.json()["data"]]

    assert ids({"job_definition_id": 301}) == [a, b, c]
    assert ids({"order_by": "-id"}) == [c, b, a]
    assert ids({"status": 20}) == [b]
    assert ids({"status__in": "[10,20]"}) == [a, b]
    assert ids([("status__in", "10"), ("status__in", "20")]) == [a, b]
    assert ids({"status__in": "[1,2,3]"}) == [c]
    assert ids({"order_by": "-finished_at"}) == [c, b, a]
    listed = s.get(url, params={"include_related": '["trigger","job"]'}).json()["data"][0]
    assert listed["trigger"]["cause"] == "pytest"
    assert listed["run_steps"] == []


def test_get_run_include_related_forms(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    run_id = trigger(emu)["id"]
    emu.complete_run(run_id, 10)
    bare = get_run(emu, run_id, "")
    assert bare["trigger"] is None
    assert bare["run_steps"] == []
    repeated = session(emu).get(
        f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/",
        params=[
            ("include_related", "run_steps"),
            ("include_related", "environment"),
            ("include_related", "debug_logs"),
        ],
    )
    data = repeated.json()["data"]
    assert data["environment"]["id"] == 200
    assert data["run_steps"][0]["debug_logs"]
    literal = get_run(emu, run_id, '["repository", "trigger"]')
    assert literal["repository"]["remote_url"].endswith("jaffle_shop.git")


def test_speed_and_reset(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.speed = 50
    assert emu.speed == 50
    run_id = trigger(emu)["id"]
    assert wait_done(emu, run_id, timeout=1.0)["status"] == 10
    emu.reset()
    assert emu.speed == 1.0
    assert emu.runs_created() == 0
    assert emu.journal == []
    assert control().get(f"{emu.base_url}/_emulator/counters").json()["requests"] == 0
    assert session(emu).get(f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/").status_code == 404
