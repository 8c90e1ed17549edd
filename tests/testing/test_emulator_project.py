"""The emulated project: its snapshot, an alias, data test outcomes and the synthetic benchmark project."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from emulator_client import Client, control, stream_stats

from airflow_dbtcloud.testing.adapters import ADAPTERS
from airflow_dbtcloud.testing.artifacts import execute, manifest_chunks, run_results_chunks
from airflow_dbtcloud.testing.project import project_for

Check = Callable[[dict[str, Any], str], None]
_SNAP = "snapshot.jaffle_shop.orders_snapshot"
_ORDERS = "model.jaffle_shop.orders"


def test_build_and_snapshot_commands_build_the_snapshot(client: Client, artifact_check: Check) -> None:
    build = client.finished_run()
    manifest = client.artifact(build, "manifest.json")
    artifact_check(manifest, "manifest")
    snap = manifest["nodes"][_SNAP]
    assert (snap["resource_type"], snap["config"]["materialized"], snap["schema"]) == (
        "snapshot",
        "snapshot",
        "snapshots",
    )
    assert snap["relation_name"] == '"analytics"."snapshots"."orders_snapshot"'
    assert snap["depends_on"]["nodes"] == manifest["parent_map"][_SNAP] == ["seed.jaffle_shop.raw_orders"]
    assert _SNAP in manifest["child_map"]["seed.jaffle_shop.raw_orders"]
    results = client.artifact(build, "run_results.json")["results"]
    [snap_result] = [r for r in results if r["unique_id"] == _SNAP]
    assert snap_result["status"] == "success"
    assert snap_result["relation_name"] == snap["relation_name"]
    assert (
        "compiled/jaffle_shop/snapshots/orders_snapshot.sql"
        in client.session.get(f"{build}artifacts/").json()["data"]
    )
    only = client.finished_run(steps_override=["dbt snapshot"])
    doc = client.artifact(only, "run_results.json")
    artifact_check(doc, "run_results")
    assert [r["unique_id"] for r in doc["results"]] == [_SNAP]
    assert doc["args"]["which"] == "snapshot"
    assert _SNAP not in client.statuses(client.finished_run(steps_override=["dbt run"]))
    logs = client.session.get(build, params={"include_related": '["run_steps"]'}).json()["data"]["run_steps"][
        0
    ]
    assert "Found 8 models, 1 snapshot, 3 seeds, 6 data tests" in logs["logs"]
    assert "snapshot snapshots.orders_snapshot" in logs["logs"]


def test_an_alias_names_the_relation(client: Client) -> None:
    url = client.finished_run()
    node = client.artifact(url, "manifest.json")["nodes"]["model.jaffle_shop.daily_revenue"]
    assert (node["name"], node["alias"], node["config"]["alias"]) == (
        "daily_revenue",
        "revenue_by_day",
        "revenue_by_day",
    )
    assert node["relation_name"].endswith('"revenue_by_day"')
    catalog = client.artifact(url, "catalog.json")["nodes"]["model.jaffle_shop.daily_revenue"]
    assert catalog["metadata"]["name"] == "revenue_by_day"
    sql = client.session.get(f"{url}artifacts/compiled/jaffle_shop/models/daily_revenue.sql")
    assert sql.status_code == 200
    assert '"analytics"."dbt_prod"."orders"' in sql.text


def test_data_tests_pass_by_default_and_point_at_their_model(client: Client) -> None:
    url = client.finished_run()
    manifest = client.artifact(url, "manifest.json")
    tests = {u: n for u, n in manifest["nodes"].items() if n["resource_type"] == "test"}
    assert len(tests) == 6
    for node in tests.values():
        assert node["attached_node"] == node["depends_on"]["nodes"][0]
        assert manifest["nodes"][node["attached_node"]]["resource_type"] == "model"
        assert node["config"]["severity"] == "ERROR"
    results = client.artifact(url, "run_results.json")["results"]
    assert {(r["status"], r["failures"]) for r in results if r["unique_id"] in tests} == {("pass", 0)}


def test_a_failing_test_fails_and_skips_what_is_downstream_in_build(client: Client) -> None:
    emu = client.emu
    emu.fail_next_run(300, ["unique_orders_order_id"])  # a node name is enough
    url = client.finished_run(status=20)
    manifest = client.artifact(url, "manifest.json")
    [failing] = [u for u, n in manifest["nodes"].items() if n["name"] == "unique_orders_order_id"]
    assert manifest["nodes"][failing]["attached_node"] == _ORDERS
    results = {r["unique_id"]: r for r in client.artifact(url, "run_results.json")["results"]}
    assert (results[failing]["status"], results[failing]["failures"]) == ("fail", 3)
    assert "configured to fail" in results[failing]["message"]
    by_name = {u.split(".")[2]: r["status"] for u, r in results.items()}
    assert by_name["orders"] == "success"
    assert by_name["not_null_orders_order_id"] == "pass"  # another test of the same model still runs
    for downstream in ("customer_lifetime_value", "daily_revenue", "not_null_daily_revenue_order_date"):
        assert by_name[downstream] == "skipped"
    assert by_name["customers"] == "success"
    run = client.session.get(url).json()["data"]
    assert run["status"] == 20
    assert "configured to fail" in run["status_message"]
    rerun = client.session.post(f"{url}retry/").json()["data"]
    emu.complete_run(rerun["id"], 10)
    redo = client.statuses(f"{emu.base_url}/api/v2/accounts/1/runs/{rerun['id']}/")
    assert failing in redo
    assert "model.jaffle_shop.daily_revenue" in redo
    assert _ORDERS not in redo


def test_a_failing_test_in_dbt_test_skips_nothing(client: Client) -> None:
    emu = client.emu
    emu.fail_next_run(300, ["unique_orders_order_id"])
    found = client.statuses(client.finished_run(status=20, steps_override=["dbt test"]))
    assert sorted(found.values()) == ["fail", *["pass"] * 5]


def test_tests_can_warn_without_failing_the_run(client: Client) -> None:
    emu, s = client.emu, client.session
    emu.warn_next_run(300, ["not_null_customers_customer_id"])
    url = client.finished_run()
    results = client.artifact(url, "run_results.json")["results"]
    warned = [r for r in results if r["status"] == "warn"]
    assert [r["unique_id"].split(".")[2] for r in warned] == ["not_null_customers_customer_id"]
    assert warned[0]["failures"] == 3
    assert "configured to warn" in warned[0]["message"]
    assert not [r for r in results if r["status"] in ("fail", "error", "skipped")]
    run = s.get(url, params={"include_related": '["run_steps"]'}).json()["data"]
    assert run["status"] == 10
    assert "WARN=1" in run["run_steps"][0]["logs"]
    assert "warn" not in client.statuses(client.finished_run()).values()  # only the next run
    emu.set_job_script(300, warning_nodes=["unique_customers_customer_id"])
    resp = control().post(
        f"{emu.base_url}/_emulator/jobs/302/script",
        json={"warning_nodes": ["not_null_stg_payments_payment_id"]},
    )
    assert resp.status_code == 200
    for _ in range(2):
        assert list(client.statuses(client.finished_run()).values()).count("warn") == 1
    assert list(client.statuses(client.finished_run(302)).values()).count("warn") == 1
    emu.fail_next_run(302, ["model.jaffle_shop.stg_payments"], warning_nodes=["unique_customers_customer_id"])
    both = client.statuses(client.finished_run(302, status=20))
    assert both["model.jaffle_shop.stg_payments"] == "error"
    assert "warn" not in both.values()  # the tested models were skipped, so their tests never ran


def test_synthetic_project_size(client: Client, artifact_check: Check) -> None:
    emu, s = client.emu, client.session
    emu.set_project_size(models=40)
    url = client.finished_run()
    emu.set_project_size(models=0)  # a run keeps the project it started with
    resp = s.get(f"{url}artifacts/manifest.json", stream=True)
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    manifest = json.loads(b"".join(resp.iter_content(1 << 16)))
    artifact_check(manifest, "manifest")
    kinds = [n["resource_type"] for n in manifest["nodes"].values()]
    assert (kinds.count("model"), kinds.count("test")) == (48, 6 + 16)
    assert len(manifest["parent_map"]) == len(manifest["child_map"]) == len(manifest["nodes"])
    assert manifest["parent_map"]["model.jaffle_shop.synth_model_000002"] == [
        "model.jaffle_shop.synth_model_000000"
    ]
    resp = s.get(f"{url}artifacts/run_results.json", stream=True)
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    doc = json.loads(b"".join(resp.iter_content(1 << 16)))
    artifact_check(doc, "run_results")
    assert sum(r["unique_id"].startswith("model.") for r in doc["results"]) == 48
    emu.set_project_size(models=40)
    tagged = client.statuses(client.finished_run(steps_override=["dbt run --select tag:synthetic"]))
    assert len(tagged) == 40
    with pytest.raises(ValueError, match="between 0 and"):
        emu.set_project_size(models=-1)
    emu.reset()
    small = client.artifact(client.finished_run(), "manifest.json")
    assert sum(n["resource_type"] == "model" for n in small["nodes"].values()) == 8


def test_a_5000_model_run_is_served_in_seconds(client: Client) -> None:
    emu, s = client.emu, client.session
    emu.set_project_size(models=5000)
    url = client.finished_run()
    for name, floor in (("run_results.json", 3 * 2**20), ("manifest.json", 7 * 2**20)):
        started = time.perf_counter()
        body = b"".join(s.get(f"{url}artifacts/{name}", stream=True).iter_content(1 << 20))
        took = time.perf_counter() - started
        assert len(body) > floor
        assert took < 10, f"{name} took {took:.1f}s"
        doc = json.loads(body)
        items = doc["results"] if name == "run_results.json" else list(doc["nodes"].values())
        ids = [i["unique_id"] for i in items]
        assert sum(u.startswith("model.") for u in ids) == 5008


@pytest.mark.parametrize("adapter", ["postgres", "bigquery"])
def test_5000_model_generators_stay_small(adapter: str) -> None:
    project = project_for(5000)
    results = execute([n.unique_id for n in project.nodes], set(), 0.0, 60.0, project=project)
    for make in (
        lambda: manifest_chunks("inv", 0.0, project=project, adapter=ADAPTERS[adapter]),
        lambda: run_results_chunks(results, "dbt build", "inv", 60.0, 60.0),
    ):
        total, biggest, peak = stream_stats(make)
        assert total > 3 * 2**20
        assert biggest < 256 * 1024
        assert peak < 4 * 2**20
