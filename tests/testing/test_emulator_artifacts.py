"""Artifacts of emulated runs: listing, contents against the artifact schemas, failures, streaming."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from emulator_client import stream_stats

from airflow_dbtcloud.testing import Emulator
from airflow_dbtcloud.testing.artifacts import manifest_chunks

Check = Callable[[dict[str, Any], str], None]


def session(emu: Emulator) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Token {emu.token}"
    return s


def finished_run(emu: Emulator, job_id: int = 300, status: int = 10, **body: Any) -> int:
    resp = session(emu).post(
        f"{emu.base_url}/api/v2/accounts/1/jobs/{job_id}/run/", json={"cause": "a", **body}
    )
    run_id = int(resp.json()["data"]["id"])
    emu.complete_run(run_id, status)
    return run_id


def test_list_and_fetch_artifacts_validate(dbt_cloud_emulator: Emulator, artifact_check: Check) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    run_id = finished_run(emu)
    base = f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/artifacts/"
    listing = s.get(base).json()
    assert listing["status"]["code"] == 200
    paths = listing["data"]
    assert paths[:3] == ["manifest.json", "run_results.json", "catalog.json"]
    assert "compiled/jaffle_shop/models/orders.sql" in paths
    assert not any(p.startswith("target/") for p in paths)
    for name, schema in (
        ("manifest.json", "manifest"),
        ("run_results.json", "run_results"),
        ("catalog.json", "catalog"),
    ):
        resp = s.get(base + name)
        assert resp.status_code == 200
        doc = resp.json()
        assert "status" not in doc  # raw file, not enveloped
        artifact_check(doc, schema)
    results = s.get(base + "run_results.json", params={"step": 1}).json()["results"]
    assert len(results) >= 15
    assert {r["status"] for r in results} == {"success", "pass"}
    manifest = s.get(base + "manifest.json").json()
    assert len([n for n in manifest["nodes"].values() if n["resource_type"] == "model"]) == 8
    assert manifest["parent_map"]["model.jaffle_shop.orders"] == [
        "model.jaffle_shop.stg_orders",
        "model.jaffle_shop.stg_payments",
    ]
    sql = s.get(base + "compiled/jaffle_shop/models/orders.sql")
    assert sql.status_code == 200
    assert sql.text.startswith("select")


def test_missing_artifacts_are_enveloped_404(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    run_id = finished_run(emu)
    base = f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/artifacts/"
    missing = s.get(base + "nope.json")
    assert missing.status_code == 404
    assert missing.json()["status"]["is_success"] is False
    assert s.get(base + "manifest.json", params={"step": 7}).status_code == 404
    emu.set_job_script(301, outcome="hang")
    running = session(emu).post(f"{emu.base_url}/api/v2/accounts/1/jobs/301/run/", json={"cause": "x"})
    running_id = running.json()["data"]["id"]
    assert (
        s.get(f"{emu.base_url}/api/v2/accounts/1/runs/{running_id}/artifacts/run_results.json").status_code
        == 404
    )


def test_failed_run_results_mark_errors_and_skips(
    dbt_cloud_emulator: Emulator, artifact_check: Check
) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    emu.fail_next_run(300, failing_nodes=["model.jaffle_shop.stg_orders"])
    run_id = finished_run(emu, status=20)
    doc = s.get(f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/artifacts/run_results.json").json()
    artifact_check(doc, "run_results")
    by_id = {r["unique_id"]: r for r in doc["results"]}
    assert by_id["model.jaffle_shop.stg_orders"]["status"] == "error"
    assert "Database Error" in by_id["model.jaffle_shop.stg_orders"]["message"]
    for child in (
        "model.jaffle_shop.orders",
        "model.jaffle_shop.customers",
        "model.jaffle_shop.order_status_counts",
    ):
        assert by_id[child]["status"] == "skipped"
    assert by_id["model.jaffle_shop.stg_payments"]["status"] == "success"
    assert by_id["seed.jaffle_shop.raw_orders"]["status"] == "success"


def test_tag_selection_and_job_artifact(dbt_cloud_emulator: Emulator) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    job_url = f"{emu.base_url}/api/v2/accounts/1/jobs/301/artifacts/run_results.json"
    assert s.get(job_url).status_code == 404  # no successful run yet
    run_id = finished_run(emu, 301)
    finished_run(emu, 301, status=20)  # a later failed run is not "the latest successful"
    doc = s.get(job_url).json()
    assert {r["unique_id"] for r in doc["results"]} == {
        "model.jaffle_shop.daily_revenue",
        "model.jaffle_shop.order_status_counts",
    }
    assert doc["metadata"]["invocation_id"].startswith(f"{run_id:08d}")


def test_large_manifest_is_streamed_and_valid(dbt_cloud_emulator: Emulator, artifact_check: Check) -> None:
    emu, s = dbt_cloud_emulator, session(dbt_cloud_emulator)
    run_id = finished_run(emu)
    emu.set_manifest_size_mb(8)
    resp = s.get(f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/artifacts/manifest.json", stream=True)
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in resp.headers
    body = b"".join(resp.iter_content(1 << 20))
    assert 7.5 * 2**20 < len(body) < 8.5 * 2**20
    doc = json.loads(body)
    artifact_check({**doc, "nodes": dict(list(doc["nodes"].items())[:40])}, "manifest")
    assert len(doc["parent_map"]) == len(doc["nodes"]) == len(doc["child_map"])


def test_manifest_generator_never_holds_the_whole_document() -> None:
    total, biggest, peak = stream_stats(lambda: manifest_chunks("inv", 0.0, 20))
    assert total > 19 * 2**20
    assert biggest < 256 * 1024
    assert peak < 4 * 2**20
