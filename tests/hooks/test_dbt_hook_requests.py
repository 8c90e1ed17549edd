"""Every public sync method of DbtCloudHook sends exactly the documented request."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from responses import matchers
from unit_payloads import BASE, TOKEN, envelope, error_envelope, list_envelope, query

from airflow_dbtcloud.hooks.dbt import (
    DbtCloudConfigError,
    DbtCloudJobRunException,
    DbtCloudResourceLookupError,
)

V2 = f"{BASE}/api/v2/accounts/7"
V3 = f"{BASE}/api/v3/accounts/7"

pytestmark = pytest.mark.usefixtures("dbt_conn")


@responses.activate
def test_list_accounts(hook):
    responses.get(f"{BASE}/api/v2/accounts/", json=list_envelope([{"id": 7}]), match=[query()])
    pages = hook.list_accounts()
    assert [p.json()["data"] for p in pages] == [[{"id": 7}]]
    assert isinstance(pages[0], requests.Response)


@responses.activate
def test_every_request_carries_token_and_user_agent(hook):
    responses.get(
        f"{V2}/",
        json=envelope({"id": 7}),
        match=[matchers.header_matcher({"Authorization": f"Token {TOKEN}", "Accept": "application/json"})],
    )
    response = hook.get_account()
    assert response.request.headers["User-Agent"].startswith("airflow-dbtcloud/")


@responses.activate
def test_get_account_explicit_account(hook):
    responses.get(f"{BASE}/api/v2/accounts/99/", json=envelope({"id": 99}))
    assert hook.get_account(account_id=99).json()["data"]["id"] == 99


@responses.activate
def test_list_projects_filters_and_pages(hook):
    responses.get(
        f"{V3}/projects/",
        json=list_envelope([{"id": 1}], total=2),
        match=[query(name__icontains="jaffle", limit="100", offset="0")],
    )
    responses.get(
        f"{V3}/projects/",
        json=list_envelope([{"id": 2}], total=2),
        match=[query(name__icontains="jaffle", limit="100", offset="1")],
    )
    pages = hook.list_projects(name_contains="jaffle")
    assert [p.json()["data"][0]["id"] for p in pages] == [1, 2]


@responses.activate
def test_get_project(hook):
    responses.get(f"{V3}/projects/100/", json=envelope({"id": 100}))
    assert hook.get_project(100).json()["data"]["id"] == 100


@responses.activate
def test_list_environments(hook):
    responses.get(
        f"{V3}/projects/100/environments/",
        json=list_envelope([{"id": 200}]),
        match=[query(name__icontains="Prod", limit="100", offset="0")],
    )
    assert hook.list_environments(100, name_contains="Prod")[0].json()["data"] == [{"id": 200}]


@responses.activate
def test_get_environment(hook):
    responses.get(f"{V3}/projects/100/environments/200/", json=envelope({"id": 200}))
    assert hook.get_environment(100, 200).json()["data"]["id"] == 200


@responses.activate
def test_list_jobs_with_every_filter(hook):
    responses.get(
        f"{V2}/jobs/",
        json=list_envelope([{"id": 300}]),
        match=[
            query(
                order_by="-id",
                project_id="100",
                environment_id="200",
                name__icontains="daily",
                limit="100",
                offset="0",
            )
        ],
    )
    pages = hook.list_jobs(order_by="-id", project_id=100, environment_id=200, name_contains="daily")
    assert pages[0].json()["data"] == [{"id": 300}]


@responses.activate
def test_get_job(hook):
    responses.get(f"{V2}/jobs/300/", json=envelope({"id": 300}))
    assert hook.get_job(300).json()["data"]["id"] == 300


@responses.activate
def test_trigger_job_run_body(hook):
    responses.post(
        f"{V2}/jobs/300/run/",
        json=envelope({"id": 9}),
        match=[
            matchers.json_params_matcher(
                {
                    "cause": "nightly",
                    "steps_override": ["dbt run"],
                    "schema_override": "tmp",
                    "threads_override": 8,
                }
            )
        ],
    )
    response = hook.trigger_job_run(
        300,
        "nightly",
        steps_override=["dbt run"],
        schema_override="tmp",
        additional_run_config={"threads_override": 8},
    )
    assert response.json()["data"]["id"] == 9


@responses.activate
def test_trigger_job_run_truncates_long_cause_with_warning(hook):
    responses.post(f"{V2}/jobs/300/run/", json=envelope({"id": 9}))
    with pytest.warns(UserWarning, match="truncated"):
        hook.trigger_job_run(300, "x" * 300)
    assert json.loads(responses.calls[0].request.body)["cause"] == "x" * 255


def test_trigger_job_run_rejects_bad_overrides_before_any_request(hook):
    with pytest.raises(DbtCloudConfigError, match="threads_override must be int"):
        hook.trigger_job_run(300, "c", additional_run_config={"threads_override": "8"})
    with pytest.raises(DbtCloudConfigError, match="starting with 'dbt '"):
        hook.trigger_job_run(300, "c", steps_override=["run"])


@responses.activate
def test_trigger_with_retry_from_failure_reruns_failed_latest(hook):
    responses.get(
        f"{V2}/runs/",
        json=list_envelope([{"id": 5, "status": 20}]),
        match=[query(job_definition_id="300", order_by="-created_at", limit="1")],
    )
    responses.post(f"{V2}/jobs/300/rerun/", json=envelope({"id": 6}))
    assert hook.trigger_job_run(300, "c", retry_from_failure=True).json()["data"]["id"] == 6


@responses.activate
def test_trigger_with_retry_from_failure_runs_normally_after_success(hook):
    responses.get(f"{V2}/runs/", json=list_envelope([{"id": 5, "status": 10}]))
    responses.post(f"{V2}/jobs/300/run/", json=envelope({"id": 6}))
    assert hook.trigger_job_run(300, "c", retry_from_failure=True).json()["data"]["id"] == 6


@responses.activate
def test_retry_failed_job_run(hook):
    responses.post(f"{V2}/jobs/300/rerun/", json=envelope({"id": 6}))
    assert hook.retry_failed_job_run(300).json()["data"]["id"] == 6


@responses.activate
def test_list_job_runs(hook):
    responses.get(
        f"{V2}/runs/",
        json=list_envelope([{"id": 1}]),
        match=[
            query(
                job_definition_id="300",
                order_by="-id",
                include_related='["trigger", "job"]',
                limit="100",
                offset="0",
            )
        ],
    )
    pages = hook.list_job_runs(include_related=["trigger", "job"], job_definition_id=300, order_by="-id")
    assert pages[0].json()["data"] == [{"id": 1}]


@responses.activate
def test_get_job_runs_passes_payload(hook):
    responses.get(f"{V2}/runs/", json=list_envelope([]), match=[query(job_definition_id="3", limit="1")])
    assert hook.get_job_runs(payload={"job_definition_id": 3, "limit": 1}).status_code == 200


@responses.activate
def test_get_job_run_with_related(hook):
    responses.get(f"{V2}/runs/5/", json=envelope({"id": 5}), match=[query(include_related='["run_steps"]')])
    assert hook.get_job_run(5, include_related=["run_steps"]).json()["data"]["id"] == 5


@responses.activate
def test_get_job_run_status(hook):
    responses.get(f"{V2}/runs/5/", json=envelope({"id": 5, "status": 3}))
    assert hook.get_job_run_status(5) == 3


@responses.activate
def test_cancel_job_run(hook):
    responses.post(f"{V2}/runs/5/cancel/", json=envelope({"id": 5, "status": 30}))
    assert hook.cancel_job_run(5) is None
    assert len(responses.calls) == 1


@responses.activate
def test_list_job_run_artifacts_with_step(hook):
    responses.get(f"{V2}/runs/5/artifacts/", json=envelope(["manifest.json"]), match=[query(step="2")])
    assert hook.list_job_run_artifacts(5, step=2)[0].json()["data"] == ["manifest.json"]


@responses.activate
def test_get_job_run_artifact_keeps_nested_path(hook):
    responses.get(f"{V2}/runs/5/artifacts/compiled/jaffle/orders.sql", body="select 1")
    assert hook.get_job_run_artifact(5, "compiled/jaffle/orders.sql").text == "select 1"


@responses.activate
def test_test_connection(hook):
    responses.get(f"{BASE}/api/v2/accounts/", json=list_envelope([]))
    assert hook.test_connection() == (True, "Successfully connected to dbt Cloud.")


@responses.activate
def test_test_connection_reports_rejected_token_without_leaking_it(hook):
    responses.get(
        f"{BASE}/api/v2/accounts/",
        status=401,
        json={"status": {"code": 401, "is_success": False, "user_message": "Invalid token."}, "data": None},
    )
    ok, message = hook.test_connection()
    assert not ok
    assert "Invalid token." in message
    assert "token was rejected" in message
    assert TOKEN not in message


def _lookup(project_pages, env_pages, job_pages):
    responses.get(f"{V3}/projects/", json=list_envelope(project_pages))
    responses.get(f"{V3}/projects/100/environments/", json=list_envelope(env_pages))
    responses.get(f"{V2}/jobs/", json=list_envelope(job_pages))


@responses.activate
def test_get_job_by_name_exact_match(hook):
    _lookup(
        [{"id": 100, "name": "jaffle"}, {"id": 101, "name": "jaffle_v2"}],
        [{"id": 200, "name": "Prod"}],
        [{"id": 300, "name": "daily"}, {"id": 301, "name": "daily full"}],
    )
    job = hook.get_job_by_name(project_name="jaffle", environment_name="Prod", job_name="daily")
    assert job["id"] == 300
    assert dict(responses.calls[2].request.params) == {
        "project_id": "100",
        "environment_id": "200",
        "name__icontains": "daily",
        "limit": "100",
        "offset": "0",
    }


@responses.activate
@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ([], "^Found 0 jobs with name `daily` in environment `Prod` in project `jaffle`.$"),
        ([{"id": 1, "name": "daily"}] * 2, "Found 2 jobs"),
    ],
)
def test_get_job_by_name_needs_exactly_one(hook, jobs, message):
    _lookup([{"id": 100, "name": "jaffle"}], [{"id": 200, "name": "Prod"}], jobs)
    with pytest.raises(DbtCloudResourceLookupError, match=message):
        hook.get_job_by_name(project_name="jaffle", environment_name="Prod", job_name="daily")


@responses.activate
def test_wait_for_job_run_status_success(hook):
    for status in (1, 3, 10):
        responses.get(f"{V2}/runs/5/", json=envelope({"id": 5, "status": status}))
    assert hook.wait_for_job_run_status(5, check_interval=0) is True


@responses.activate
def test_wait_for_job_run_status_logs_failed_steps_on_error(hook, caplog, capsys):
    responses.get(f"{V2}/runs/5/", json=envelope({"id": 5, "status": 20}))
    responses.get(
        f"{V2}/runs/5/",
        json=envelope(
            {
                "id": 5,
                "status": 20,
                "status_message": "Model failed",
                "href": "https://x/run/5",
                "artifacts_saved": True,
                "run_steps": [
                    {"index": 1, "name": "Clone", "status": 10, "logs": "ok"},
                    {
                        "index": 2,
                        "name": "Invoke dbt with `dbt build`",
                        "status": 20,
                        "logs": "a\nERROR orders",
                    },
                ],
            }
        ),
        match=[query(include_related='["run_steps"]')],
    )
    responses.get(f"{V2}/runs/5/artifacts/run_results.json", status=404, json={"status": {"code": 404}})
    responses.get(f"{V2}/runs/5/artifacts/run_results.json", status=404, json={"status": {"code": 404}})
    with pytest.raises(DbtCloudJobRunException, match="terminal status ERROR"):
        hook.wait_for_job_run_status(5, check_interval=0)
    logged = caplog.text + capsys.readouterr().out
    assert "Step 2 ERROR: Invoke dbt with `dbt build`" in logged
    assert "No run_results.json was saved for this run." in logged
    # dbt Cloud's href is on another host, so the report links to the run on the connection's host.
    assert f"Run: {BASE}/deploy/7/runs/5/" in logged
    assert "https://x/run/5" not in logged
    assert "ERROR orders" in logged
    assert "Model failed" in logged


@responses.activate
def test_wait_for_job_run_status_times_out(hook):
    responses.get(f"{V2}/runs/5/", json=envelope({"id": 5, "status": 3}))
    with pytest.raises(DbtCloudJobRunException, match="after 0 seconds"):
        hook.wait_for_job_run_status(5, check_interval=0, timeout=0)


def test_wait_for_job_run_status_validates_expected(hook):
    with pytest.raises(ValueError, match="99 is not a valid DbtCloudJobRunStatus"):
        hook.wait_for_job_run_status(5, expected_statuses=[10, 99])


@responses.activate
def test_get_warehouse_connection(hook):
    responses.get(f"{V3}/connections/41/", json=envelope({"id": 41, "config": {"account": "xy12345"}}))
    assert hook.get_warehouse_connection(41).json()["data"]["config"] == {"account": "xy12345"}


def _one_model_run(run_id=5, manifest_adapter="snowflake"):
    """A finished one-step run whose artifacts say it built one model."""
    responses.get(
        f"{V2}/runs/{run_id}/",
        json=envelope(
            {
                "id": run_id,
                "status": 10,
                "account_id": 7,
                "project_id": 70,
                "job_definition_id": 700,
                "href": "https://x/run/5",
                "run_steps": [{"index": 1, "name": "Invoke dbt with `dbt run`", "status": 10}],
            }
        ),
    )
    responses.get(
        f"{V2}/runs/{run_id}/artifacts/run_results.json",
        json={"results": [{"unique_id": "model.p.orders", "status": "success", "execution_time": 1.5}]},
        match=[query(step="1")],
    )
    responses.get(
        f"{V2}/runs/{run_id}/artifacts/manifest.json",
        json={
            "metadata": {"adapter_type": manifest_adapter, "project_name": "p"},
            "nodes": {
                "model.p.orders": {
                    "resource_type": "model",
                    "name": "orders",
                    "alias": "orders",
                    "database": "ANALYTICS",
                    "schema": "PROD",
                }
            },
        },
        match=[query(step="1")],
    )


@responses.activate
def test_run_build_asks_for_the_account_connection_when_the_project_does_not_name_the_warehouse(hook):
    _one_model_run()
    responses.get(
        f"{V3}/projects/70/",
        json=envelope({"id": 70, "connection_id": 41, "connection": {"id": 41, "type": "snowflake"}}),
    )
    responses.get(f"{V3}/connections/41/", json=envelope({"id": 41, "config": {"account": "xy12345"}}))

    build = hook.get_run_build(5)

    assert build.connection == {"id": 41, "config": {"account": "xy12345"}}
    assert [(node.unique_id, node.relation.identifier) for node in build.nodes] == [
        ("model.p.orders", "orders")
    ]
    assert (build.account_id, build.project_id, build.job_id, build.adapter_type) == (7, 70, 700, "snowflake")


@responses.activate
def test_run_build_keeps_the_project_connection_when_the_account_connection_cannot_be_read(hook, capsys):
    _one_model_run()
    responses.get(f"{V3}/projects/70/", json=envelope({"id": 70, "connection_id": 41}))
    responses.get(f"{V3}/connections/41/", status=404, json=error_envelope(404, "Not found"))

    build = hook.get_run_build(5)

    assert build.connection == {}
    assert build.nodes, "the run's nodes are still reported, with dbt:// URIs"
    assert "Could not read the warehouse of dbt Cloud project 70" in capsys.readouterr().out


@responses.activate
def test_run_build_without_artifacts_builds_nothing(hook):
    responses.get(
        f"{V2}/runs/5/",
        json=envelope({"id": 5, "status": 10, "account_id": 7, "project_id": 70, "run_steps": []}),
    )
    responses.get(f"{V2}/runs/5/artifacts/run_results.json", status=404, json=error_envelope(404, "No file"))

    build = hook.get_run_build(5)

    assert build.nodes == []
    assert [call.request.url.split("?")[0] for call in responses.calls] == [
        f"{V2}/runs/5/",
        f"{V2}/runs/5/artifacts/run_results.json",
    ], "no manifest and no project are read for a run that saved no results"
