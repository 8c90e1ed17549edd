"""DbtCloudHook against the dbt Cloud emulator over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from unittest import mock

import pytest

from airflow_dbtcloud.hooks.dbt import (
    DbtCloudAuthError,
    DbtCloudHook,
    DbtCloudJobRunException,
    DbtCloudNotFoundError,
    DbtCloudRunMayExistError,
    DbtCloudTransportError,
)


@pytest.fixture
def hook(emu_hook):
    return emu_hook


def api_calls(emu, route):
    return [entry for entry in emu.journal if entry.get("route") == route]


def start(hook, job_id, cause):
    """Start a run through the reference method and return it as dbt Cloud answered."""
    return hook.trigger_job_run(job_id, cause).json()["data"]


def test_trigger_and_wait_for_success(emu, hook):
    run = start(hook, 300, "integration test")
    assert run["status"] == 1
    assert hook.wait_for_job_run_status(run["id"], check_interval=0.05, timeout=30)
    assert emu.runs_created(300) == 1


def test_failed_run_raises_and_retry_reruns_that_run(emu, hook):
    emu.fail_next_run(300, ["model.jaffle_shop.orders"])
    run = start(hook, 300, "will fail")
    with pytest.raises(DbtCloudJobRunException, match="terminal status ERROR"):
        hook.wait_for_job_run_status(run["id"], check_interval=0.05, timeout=30)
    retried = hook.retry_run(run["id"]).json()["data"]
    assert retried["id"] != run["id"]
    assert hook.wait_for_job_run_status(retried["id"], check_interval=0.05, timeout=30)


def test_reference_methods_return_responses(emu, hook):
    run_id = hook.trigger_job_run(300, "compat").json()["data"]["id"]
    assert (
        hook.get_job_run(run_id, include_related=["trigger"]).json()["data"]["trigger"]["cause"] == "compat"
    )
    assert hook.get_account().json()["data"]["id"] == emu.account_id
    assert [job["id"] for page in hook.list_jobs(project_id=100) for job in page.json()["data"]] == [
        300,
        301,
        302,
        303,
    ]
    assert (
        hook.get_job_by_name(
            project_name="jaffle_shop", environment_name="Staging", job_name="Staging build"
        )["id"]
        == 302
    )
    assert hook.test_connection() == (True, "Successfully connected to dbt Cloud.")


def test_list_runs_pages_through_everything_the_rest_of_the_pages_side_by_side(emu, hook):
    for index in range(230):
        start(hook, 301, f"bulk {index}")
    before = emu.connections_accepted
    runs = [
        run
        for page in hook.list_job_runs(job_definition_id=301, order_by="id")
        for run in page.json()["data"]
    ]
    assert [run["id"] for run in runs] == sorted(run["id"] for run in runs)
    assert len(runs) == 230
    list_calls = api_calls(emu, "list_runs")
    assert sorted(call["query"]["offset"] for call in list_calls) == [["0"], ["100"], ["200"]]
    # The first page tells how many follow; those two go at once, one on the kept-alive connection.
    assert emu.connections_accepted - before <= 1


def test_get_is_retried_through_503s(emu, hook):
    run = start(hook, 300, "flaky reads")
    emu.add_fault(route="get_run", kind="status", status=503, sequence=[503, 503])
    assert hook.get_run_state(run["id"]).id == run["id"]
    assert [call["status"] for call in api_calls(emu, "get_run")] == [503, 503, 200]


def test_trigger_is_retried_after_429_with_one_run(emu, hook):
    emu.add_fault(route="trigger_run", kind="status", status=429, retry_after=0.05, times=1)
    start(hook, 300, "rate limited")
    assert emu.runs_created(300) == 1
    assert [call["status"] for call in api_calls(emu, "trigger_run")] == [429, 200]


@pytest.mark.parametrize("status", [502, None])
def test_accept_then_fail_is_not_retried_blindly(emu, hook, status):
    emu.add_fault(route="trigger_run", kind="accept_then_fail", status=status, times=1)
    with pytest.raises(DbtCloudRunMayExistError):
        hook.trigger_job_run(300, "accepted then failed")
    assert emu.runs_created(300) == 1
    assert len(api_calls(emu, "trigger_run")) == 1


def test_cancel_is_retried_and_idempotent(emu, hook):
    emu.set_job_script(300, outcome="hang")
    run = start(hook, 300, "to cancel")
    emu.add_fault(route="cancel_run", kind="reset", times=1)
    hook.cancel_job_run(run["id"])
    hook.cancel_job_run(run["id"])
    assert hook.get_job_run_status(run["id"]) == 30
    assert [call["status"] for call in api_calls(emu, "cancel_run")] == [None, 200, 200]


def test_bad_token_is_rejected_with_dbt_message(emu, monkeypatch):
    conn = json.loads(emu.connection_json())
    conn["password"] = "wrong-token-value"
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
    with pytest.raises(DbtCloudAuthError) as caught:
        DbtCloudHook().get_account()
    assert caught.value.status == 401
    assert caught.value.user_message
    assert "wrong-token-value" not in str(caught.value)


def test_stream_artifact_to_file(emu, hook, tmp_path):
    run = start(hook, 300, "artifacts")
    hook.wait_for_job_run_status(run["id"], check_interval=0.05, timeout=30)
    emu.set_manifest_size_mb(3)
    target = hook.download_job_run_artifact(run["id"], "manifest.json", tmp_path / "manifest.json")
    manifest = json.loads(target.read_text())
    assert manifest["metadata"]["dbt_schema_version"].endswith("manifest/v12.json")
    assert target.stat().st_size > 3 * 1024 * 1024 * 0.9
    results = hook.get_job_run_artifact(run["id"], "run_results.json").json()
    assert {r["status"] for r in results["results"]} <= {"success", "pass"}
    with pytest.raises(DbtCloudNotFoundError):
        hook.get_job_run_artifact(run["id"], "no_such_file.json")


async def test_async_polls_reuse_one_connection(emu):
    hook = DbtCloudHook()
    run = start(hook, 300, "async")
    hook.close()
    before = emu.connections_accepted
    async with DbtCloudHook() as async_hook:
        statuses = [await async_hook.get_job_status(run["id"]) for _ in range(25)]
    assert all(status in (1, 2, 3, 10) for status in statuses)
    assert emu.connections_accepted - before == 1


async def test_async_artifacts_concurrently(emu):
    hook = DbtCloudHook()
    run = start(hook, 300, "async artifacts")
    hook.wait_for_job_run_status(run["id"], check_interval=0.05, timeout=30)
    async with DbtCloudHook() as async_hook:
        files = await async_hook.get_job_run_artifacts_concurrently(
            run["id"], ["manifest.json", "run_results.json", "catalog.json"]
        )
    assert set(files) == {"manifest.json", "run_results.json", "catalog.json"}
    assert "nodes" in files["catalog.json"]


def test_tls_with_ca_bundle(monkeypatch):
    from airflow_dbtcloud.testing import run_emulator

    with run_emulator(tls=True) as emu:
        conn = json.loads(emu.connection_json())
        monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
        with pytest.raises(DbtCloudTransportError, match="tls") as caught:
            DbtCloudHook().get_account()
        assert caught.value.sent is False
        assert len(emu.journal) == 0, "an untrusted certificate is not retried and sends nothing"
        conn["extra"] = json.dumps({"ca_bundle": emu.ca_file})
        monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
        assert DbtCloudHook().get_account().json()["data"]["id"] == emu.account_id

        async def poll():
            async with DbtCloudHook() as hook:
                return await hook.get_job_details(1)

        with pytest.raises(DbtCloudNotFoundError):
            asyncio.run(poll())


def test_a_ca_bundle_replaces_the_default_trust_store_on_both_paths(monkeypatch):
    """A CA bundle is the whole trust: a server the default store trusts but the bundle does not fails."""
    import certifi

    from airflow_dbtcloud.testing import run_emulator

    with run_emulator(tls=True) as emu:
        # The default store (SSL_CERT_FILE, read by both requests and aiohttp) trusts the emulator...
        monkeypatch.setenv("SSL_CERT_FILE", emu.ca_file)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_file)
        conn = json.loads(emu.connection_json())
        # ...the connection's bundle, the public CAs, does not.
        conn["extra"] = json.dumps({"ca_bundle": certifi.where(), "retry_limit": 1})
        monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
        with pytest.raises(DbtCloudTransportError, match="tls"):
            DbtCloudHook().get_account()

        async def poll():
            async with DbtCloudHook() as hook:
                return await hook.get_job_details(1)

        with pytest.raises(DbtCloudTransportError, match="tls"):
            asyncio.run(poll())
        assert len(emu.journal) == 0


def test_stream_artifact_to_object_storage(emu, hook, tmp_path):
    from airflow.sdk import ObjectStoragePath

    run = start(hook, 300, "object storage")
    hook.wait_for_job_run_status(run["id"], check_interval=0.05, timeout=30)
    target = ObjectStoragePath(f"file://{tmp_path}/store/run_results.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    hook.download_job_run_artifact(run["id"], "run_results.json", target)
    assert json.loads(target.read_text())["metadata"]["dbt_schema_version"].endswith("run-results/v6.json")
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["run_results.json"]


def test_failed_download_leaves_nothing(emu, hook, tmp_path):
    run = start(hook, 300, "truncated download")
    hook.wait_for_job_run_status(run["id"], check_interval=0.05, timeout=30)
    emu.add_fault(route="get_artifact", kind="truncate")
    with pytest.raises(DbtCloudTransportError):
        DbtCloudHook(retry_limit=2, retry_delay=0).download_job_run_artifact(
            run["id"], "manifest.json", tmp_path / "manifest.json"
        )
    assert list(tmp_path.iterdir()) == []


def test_a_download_cut_short_is_fetched_again_through_the_reference_method(emu, hook, tmp_path):
    run = start(hook, 300, "retried download")
    hook.wait_for_job_run_status(run["id"], check_interval=0.05, timeout=30)
    emu.add_fault(route="get_artifact", kind="truncate", times=1)
    with mock.patch.object(DbtCloudHook, "get_job_run_artifact", wraps=hook.get_job_run_artifact) as seam:
        target = hook.download_job_run_artifact(run["id"], "manifest.json", tmp_path / "manifest.json")
    assert json.loads(target.read_text())["metadata"]["dbt_schema_version"].endswith("manifest/v12.json")
    assert seam.call_count == 2
    assert len(api_calls(emu, "get_artifact")) == 2


async def test_the_run_lifecycle_runs_on_the_event_loop_through_the_async_twins(emu):
    from airflow_dbtcloud.api.calls import adrive_calls
    from airflow_dbtcloud.api.lifecycle import RunRequest, build_cause, marker_for, obtain_run

    marker = marker_for("d", "r", "t", -1, 1)
    request = RunRequest(job_id=300, cause=build_cause("async lifecycle", marker), marker=marker)
    emu.add_fault(route="trigger_run", kind="accept_then_fail", status=502, times=1)
    async with DbtCloudHook(retry_delay=0.01) as hook:
        first = await adrive_calls(obtain_run(request), hook)
        again = await adrive_calls(obtain_run(request, search_earlier=True), hook)
    assert first.decision == "fresh_submit", "the lost answer was resolved by the marker"
    assert (again.decision, again.run.id) == ("reconnect", first.run.id)
    assert emu.runs_created(300) == 1
    assert len(api_calls(emu, "trigger_run")) == 1


def _raw_artifact(emu, run_id, path, step):
    """An artifact fetched with plain requests, so expectations do not come from the code under test."""
    import requests

    url = f"{emu.base_url}/api/v2/accounts/{emu.account_id}/runs/{run_id}/artifacts/{path}"
    response = requests.get(url, params={"step": step}, headers={"Authorization": f"Token {emu.token}"})
    response.raise_for_status()
    return response.json()


def test_run_build_gathers_what_every_dbt_step_built(emu, hook):
    steps = ["dbt seed", "dbt run", "dbt test"]
    run_id = hook.trigger_job_run(300, "assets", steps_override=steps).json()["data"]["id"]
    hook.wait_for_job_run_status(run_id, check_interval=0.05, timeout=30)
    expected = {
        result["unique_id"]
        for step in (1, 2, 3)
        for result in _raw_artifact(emu, run_id, "run_results.json", step)["results"]
        if result["status"] == "success" and not result["unique_id"].startswith("test.")
    }
    nodes = _raw_artifact(emu, run_id, "manifest.json", 3)["nodes"]
    seen = len(emu.journal)

    build = hook.get_run_build(run_id)
    calls = emu.journal[seen:]

    assert [node.unique_id for node in build.nodes] == sorted(expected, key=list(nodes).index)
    assert {uid.split(".")[0] for uid in expected} == {"seed", "model"}
    assert (build.run_id, build.job_id, build.project_id, build.account_id) == (run_id, 300, 100, 1)
    assert build.adapter_type == "postgres"
    assert build.connection["details"]["hostname"] == "db.internal.example"
    revenue = next(node for node in build.nodes if node.unique_id == "model.jaffle_shop.daily_revenue")
    assert (
        revenue.relation.identifier == nodes["model.jaffle_shop.daily_revenue"]["alias"] == "revenue_by_day"
    )
    orders = next(node for node in build.nodes if node.unique_id == "model.jaffle_shop.orders")
    assert orders.tests == {"passed": 2}, "the test step's results are counted on the model they test"
    artifact_calls = [
        (e["path"].rsplit("/", 1)[-1], e["query"]["step"]) for e in calls if "/artifacts/" in e["path"]
    ]
    assert artifact_calls == [
        ("run_results.json", ["1"]),
        ("run_results.json", ["2"]),
        ("run_results.json", ["3"]),
        ("manifest.json", ["3"]),
    ]
    routes = [entry.get("route") for entry in calls]
    assert routes.count("get_project") == 1
    assert "get_connection" not in routes, "the project's connection already names the warehouse"


def test_run_build_leaves_out_what_failed_or_was_skipped(emu, hook):
    emu.fail_next_run(300, ["model.jaffle_shop.stg_orders"])
    run_id = start(hook, 300, "fails")["id"]
    with pytest.raises(DbtCloudJobRunException):
        hook.wait_for_job_run_status(run_id, check_interval=0.05, timeout=30)
    results = {
        r["unique_id"]: r["status"] for r in _raw_artifact(emu, run_id, "run_results.json", 1)["results"]
    }

    built = {node.unique_id for node in hook.get_run_build(run_id).nodes}

    assert results["model.jaffle_shop.stg_orders"] == "error"
    assert results["model.jaffle_shop.orders"] == "skipped"
    assert built == {
        uid for uid, status in results.items() if status == "success" and not uid.startswith("test.")
    }
    assert built, "the nodes that did succeed are still reported"


@pytest.mark.parametrize("adapter", ["snowflake", "bigquery", "databricks", "redshift"])
def test_run_build_names_each_warehouse(emu, hook, adapter):
    from airflow_dbtcloud.api.asset_uris import Warehouse

    emu.set_adapter(adapter)
    run_id = start(hook, 300, adapter)["id"]
    hook.wait_for_job_run_status(run_id, check_interval=0.05, timeout=30)

    build = hook.get_run_build(run_id)

    assert build.adapter_type == adapter
    assert Warehouse.from_connection(build.adapter_type, build.connection).identified


def test_run_build_without_a_readable_project_still_lists_the_nodes(emu, hook, capsys):
    run_id = start(hook, 300, "no project")["id"]
    hook.wait_for_job_run_status(run_id, check_interval=0.05, timeout=30)
    emu.add_fault(route="get_project", status=403)

    build = hook.get_run_build(run_id)

    assert build.connection == {}
    assert build.nodes
    logged = capsys.readouterr().out
    assert "Could not read the warehouse of dbt Cloud project 100" in logged
    assert emu.token not in logged


def test_a_jobs_latest_artifact_is_the_newest_runs(emu, hook, tmp_path):
    older = start(hook, 300, "older")["id"]
    hook.wait_for_job_run_status(older, check_interval=0.05, timeout=30)
    newer = start(hook, 300, "newer")["id"]
    hook.wait_for_job_run_status(newer, check_interval=0.05, timeout=30)

    target = hook.download_job_latest_artifact(300, "run_results.json", tmp_path / "latest.json")

    expected = hook.get_job_run_artifact(newer, "run_results.json").json()
    assert json.loads(target.read_text()) == expected
    assert expected != hook.get_job_run_artifact(older, "run_results.json").json()


def test_a_wait_logs_each_node_once_as_dbt_reports_it_one_request_per_poll(emu, hook, capsys):
    emu.set_job_script(300, running_seconds=2.0)
    run_id = start(hook, 300, "progress")["id"]
    seen = len(emu.journal)

    started = time.monotonic()
    hook.wait_for_job_run_status(run_id, check_interval=0.2, timeout=30)
    polls = (time.monotonic() - started) / 0.2 + 1

    logged = capsys.readouterr().out
    prefix = f"Job run {run_id}, step 1: "
    counters = [line.split(prefix, 1)[1].split(" ", 1)[0] for line in logged.splitlines() if prefix in line]
    assert [c for c in counters if "/" in c] == [f"{i}/18" for i in range(1, 19)], "every node once, in order"
    assert f"Job run {run_id}, step 1/1: Invoke dbt with `dbt build`" in logged
    calls = emu.journal[seen:]
    runs = [e for e in calls if e.get("route") == "get_run"]
    assert all("run_steps" in e["query"]["include_related"][0] for e in runs), "no separate status poll"
    assert any(e.get("route") == "get_step" for e in calls), "the step is read through /steps/{id}/"
    first_step = next(i for i, e in enumerate(calls) if e.get("route") == "get_step")
    later = [e for e in calls[first_step:] if e.get("route") == "get_run"]
    assert len(later) <= 1, "once a step is followed, the run is read again only when the step ends"
    assert len(calls) <= polls + 1, "one request per poll (two when the step ends)"
    assert logged.count("Done. PASS=18") == 1
    assert {e.get("route") for e in calls} <= {"get_run", "get_step"}, "never an artifact"


def test_a_wait_without_progress_makes_one_request_per_poll(emu, monkeypatch):
    emu.set_job_script(300, running_seconds=1.0)
    quiet = DbtCloudHook(retry_delay=0.01, log_progress=False)
    run_id = start(quiet, 300, "quiet")["id"]
    seen = len(emu.journal)
    quiet.wait_for_job_run_status(run_id, check_interval=0.2, timeout=30)
    routes = {entry.get("route") for entry in emu.journal[seen:]}
    assert routes == {"get_run"}
    quiet.close()


def test_a_patched_status_method_turns_progress_off(emu, hook):
    with mock.patch.object(DbtCloudHook, "get_job_run_status", return_value=10):
        seen = len(emu.journal)
        assert hook.wait_for_job_run_status(1, check_interval=0.01, timeout=5)
    assert emu.journal[seen:] == [], "a test double controls the wait: nothing is sent past it"


def test_a_wait_whose_progress_request_is_refused_falls_back_to_the_status(emu, hook, capsys):
    emu.set_job_script(300, running_seconds=1.0)
    emu.add_fault(route="get_step", status=403)
    run_id = start(hook, 300, "no steps for this token")["id"]

    assert hook.wait_for_job_run_status(run_id, check_interval=0.1, timeout=30)

    logged = capsys.readouterr().out
    assert logged.count(f"No live progress for job run {run_id} from here on") == 1
    statuses = [e for e in emu.journal if e.get("route") == "get_run" and not e["query"]]
    assert statuses, "after that, the bare status poll"


@pytest.mark.parametrize("path", ["sync", "async"])
def test_the_read_timeout_bounds_a_slow_answer_on_both_paths(emu, monkeypatch, path):
    """An answer slower than the read timeout is given up on, not waited for (over real HTTP).

    Without the timeout the call would wait the 3 s out and get the emulator's 404 for run 1.
    """
    conn = json.loads(emu.connection_json())
    conn["extra"] = json.dumps({"read_timeout": 0.3, "retry_limit": 1})
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
    emu.add_fault(route="get_run", kind="latency", latency=3.0, status=None)

    async def poll():
        async with DbtCloudHook() as hook:
            return await hook.get_job_details(1)

    call = (lambda: DbtCloudHook().get_job_run(1)) if path == "sync" else (lambda: asyncio.run(poll()))
    with pytest.raises(DbtCloudTransportError, match="timeout"):
        call()
