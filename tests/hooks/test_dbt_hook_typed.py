"""The hook methods without a reference twin send the documented requests, through the public seam."""

from __future__ import annotations

from unittest import mock

import pytest
import responses
from aioresponses import aioresponses
from responses import matchers
from unit_payloads import BASE, envelope
from yarl import URL

from airflow_dbtcloud.hooks.dbt import DbtCloudConfigError, DbtCloudHook

V2 = f"{BASE}/api/v2/accounts/7"

pytestmark = pytest.mark.usefixtures("dbt_conn")


@responses.activate
def test_retry_run_posts_to_that_run(hook):
    responses.post(f"{V2}/runs/5/retry/", json=envelope({"id": 6, "status": 1}))
    assert hook.retry_run(5).json()["data"] == {"id": 6, "status": 1}


@responses.activate
def test_get_run_state_goes_through_get_job_run(hook):
    responses.get(
        f"{V2}/runs/5/",
        json=envelope({"id": 5, "status": 3, "run_steps": []}),
        match=[matchers.query_param_matcher({"include_related": '["run_steps"]'})],
    )
    with mock.patch.object(DbtCloudHook, "get_job_run", wraps=hook.get_job_run) as seam:
        run = hook.get_run_state(5, include_related=["run_steps"])
    assert (run.id, run.status) == (5, 3)
    seam.assert_called_once_with(run_id=5, account_id=None, include_related=["run_steps"])


async def test_async_twins_send_what_the_sync_methods_send(hook):
    with aioresponses() as mocked:
        mocked.get(f"{V2}/runs/?job_definition_id=300&limit=1", payload=envelope([{"id": 4}]))
        mocked.post(f"{V2}/jobs/300/run/", payload=envelope({"id": 9}))
        mocked.post(f"{V2}/runs/5/retry/", payload=envelope({"id": 6}))
        assert (await hook.aget_job_runs(payload={"job_definition_id": 300, "limit": 1}))["data"] == [
            {"id": 4}
        ]
        assert (await hook.atrigger_job_run(300, "why", steps_override=["dbt build"]))["data"] == {"id": 9}
        assert (await hook.aretry_run(5))["data"] == {"id": 6}
        await hook.aclose()
        posted = mocked.requests[("POST", URL(f"{V2}/jobs/300/run/"))][0]
    assert posted.kwargs["json"] == {"cause": "why", "steps_override": ["dbt build"]}


async def test_the_async_start_refuses_the_rerun_shortcut(hook):
    with pytest.raises(DbtCloudConfigError, match="aretry_run"):
        await hook.atrigger_job_run(300, "why", retry_from_failure=True)


def test_download_writes_a_stand_in_answer_as_the_reference_operator_did(hook, tmp_path):
    answer = mock.Mock()
    answer.json.return_value = {"nodes": {}}
    answer.text = "select 1"
    with mock.patch.object(DbtCloudHook, "get_job_run_artifact", return_value=answer) as seam:
        hook.download_job_run_artifact(5, "manifest.json", tmp_path / "m.json", account_id=8)
        hook.download_job_run_artifact(5, "compiled/a.sql", tmp_path / "a.sql")
    assert (tmp_path / "m.json").read_text() == '{"nodes": {}}'
    assert (tmp_path / "a.sql").read_text() == "select 1"
    assert seam.call_args_list == [
        mock.call(run_id=5, path="manifest.json", account_id=8, step=None),
        mock.call(run_id=5, path="compiled/a.sql", account_id=None, step=None),
    ]
