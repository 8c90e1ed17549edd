"""The typed DbtCloudHook methods send the documented requests and return plain dicts."""

from __future__ import annotations

import pytest
import responses
from responses import matchers
from unit_payloads import BASE, envelope, list_envelope, query

from airflow_dbtcloud.hooks.dbt import DbtCloudConfigError

V2 = f"{BASE}/api/v2/accounts/7"

pytestmark = pytest.mark.usefixtures("dbt_conn")


@responses.activate
def test_start_job_run_posts_the_validated_body(hook):
    responses.post(
        f"{V2}/jobs/300/run/",
        json=envelope({"id": 9, "status": 1}),
        match=[
            matchers.json_params_matcher({"cause": "c", "steps_override": ["dbt run"], "git_branch": "dev"})
        ],
    )
    run = hook.start_job_run(
        300, "c", steps_override=["dbt run"], additional_run_config={"git_branch": "dev"}
    )
    assert run == {"id": 9, "status": 1}


def test_start_job_run_rejects_long_cause_before_sending(hook):
    with pytest.raises(DbtCloudConfigError, match="at most 255"):
        hook.start_job_run(300, "x" * 256)


@responses.activate
def test_retry_job_run_posts_to_the_run(hook):
    responses.post(f"{V2}/runs/5/retry/", json=envelope({"id": 6}))
    assert hook.retry_job_run(5) == {"id": 6}


@responses.activate
def test_list_runs_data_query_and_dedup(hook):
    responses.get(
        f"{V2}/runs/",
        json=list_envelope([{"id": 3}, {"id": 2}], total=3),
        match=[
            query(
                job_definition_id="300",
                order_by="-id",
                status__in="[1, 2, 3]",
                include_related='["trigger"]',
                limit="100",
                offset="0",
            )
        ],
    )
    responses.get(
        f"{V2}/runs/",
        # A run started while paging pushed run 2 onto the next page too.
        json=list_envelope([{"id": 2}, {"id": 1}], total=4),
        match=[
            query(
                job_definition_id="300",
                order_by="-id",
                status__in="[1, 2, 3]",
                include_related='["trigger"]',
                limit="100",
                offset="2",
            )
        ],
    )
    # The server caps pages at 2 here; the client follows the page size it is given.
    runs = hook.list_runs_data(job_definition_id=300, statuses=[1, 2, 3], include_related=["trigger"])
    assert [run["id"] for run in runs] == [3, 2, 1]


@responses.activate
def test_get_run_data_and_cancel_run(hook):
    responses.get(
        f"{V2}/runs/5/", json=envelope({"id": 5, "status": 3}), match=[query(include_related='["job"]')]
    )
    responses.post(f"{V2}/runs/5/cancel/", json=envelope({"id": 5, "status": 30}))
    assert hook.get_run_data(5, include_related=["job"])["status"] == 3
    assert hook.cancel_run(5)["status"] == 30


@responses.activate
def test_job_data_methods(hook):
    responses.get(f"{V2}/jobs/300/", json=envelope({"id": 300}))
    responses.get(
        f"{V2}/jobs/",
        json=list_envelope([{"id": 300}]),
        match=[
            query(project_id="100", environment_id="200", name__icontains="Daily", limit="100", offset="0")
        ],
    )
    assert hook.get_job_data(300) == {"id": 300}
    assert hook.list_jobs_data(project_id=100, environment_id=200, name_contains="Daily") == [{"id": 300}]


@responses.activate
def test_get_artifact_json_and_download(hook, tmp_path):
    responses.get(f"{V2}/runs/5/artifacts/run_results.json", json={"results": []}, match=[query(step="1")])
    responses.get(f"{V2}/runs/5/artifacts/missing.json", status=404, json={"status": {"code": 404}})
    responses.get(f"{V2}/runs/5/artifacts/manifest.json", body=b'{"nodes": {}}')
    assert hook.get_artifact_json(5, "run_results.json", step=1) == {"results": []}
    assert hook.get_artifact_json(5, "missing.json") is None
    target = hook.download_job_run_artifact(5, "manifest.json", tmp_path / "m.json")
    assert target.read_bytes() == b'{"nodes": {}}'


def test_default_account_and_ui_base_url(hook):
    assert hook.default_account_id() == 7
    assert hook.ui_base_url == BASE
