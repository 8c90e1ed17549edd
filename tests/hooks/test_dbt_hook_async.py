"""The async half of DbtCloudHook: same flows, aiohttp executor, one session per hook."""

from __future__ import annotations

from unittest import mock

import pytest
from aioresponses import aioresponses
from unit_payloads import BASE, TOKEN, envelope, error_envelope

from airflow_dbtcloud.hooks.dbt import DbtCloudConfigError, DbtCloudHook, DbtCloudNotFoundError

V2 = f"{BASE}/api/v2/accounts/7"


@pytest.fixture
async def hook(dbt_conn):
    hook = DbtCloudHook(retry_delay=0)
    yield hook
    await hook.aclose()


async def test_get_job_details_returns_the_body(hook):
    with aioresponses() as mocked:
        mocked.get(f"{V2}/runs/5/?include_related=%5B%22job%22%5D", payload=envelope({"id": 5, "status": 3}))
        body = await hook.get_job_details(5, include_related=["job"])
    assert body["data"] == {"id": 5, "status": 3}


async def test_get_job_status(hook):
    with aioresponses() as mocked:
        mocked.get(f"{V2}/runs/5/", payload=envelope({"id": 5, "status": 10}))
        assert await hook.get_job_status(5) == 10


async def test_explicit_account_id(hook):
    with aioresponses() as mocked:
        mocked.get(f"{BASE}/api/v2/accounts/99/runs/5/", payload=envelope({"id": 5, "status": 1}))
        assert await hook.get_job_status(5, account_id=99) == 1


async def test_many_polls_share_one_session(hook):
    with aioresponses() as mocked:
        mocked.get(f"{V2}/runs/5/", payload=envelope({"id": 5, "status": 3}), repeat=True)
        await hook.get_job_status(5)
        session = hook._async.executor.session()
        for _ in range(20):
            await hook.get_job_status(5)
        assert hook._async.executor.session() is session
    await hook.aclose()
    assert session.closed


async def test_async_context_manager_closes_the_session(dbt_conn):
    async with DbtCloudHook() as hook:
        with aioresponses() as mocked:
            mocked.get(f"{V2}/runs/5/", payload=envelope({"id": 5, "status": 3}))
            await hook.get_job_status(5)
        session = hook._async.executor.session()
    assert session.closed


async def test_get_job_run_artifacts_concurrently(hook):
    with aioresponses() as mocked:
        mocked.get(f"{V2}/runs/5/artifacts/manifest.json?step=2", payload={"nodes": {}})
        mocked.get(f"{V2}/runs/5/artifacts/run_results.json?step=2", payload={"results": []})
        result = await hook.get_job_run_artifacts_concurrently(
            5, ["manifest.json", "run_results.json"], step=2
        )
    assert result == {"manifest.json": {"nodes": {}}, "run_results.json": {"results": []}}


async def test_get_job_run_artifacts_concurrently_fetches_through_a_patched_reference_method(hook):
    def artifact(run_id, path, account_id=None, step=None):
        answer = mock.Mock()
        answer.json.return_value = {"path": path, "step": step}
        return answer

    with mock.patch.object(DbtCloudHook, "get_job_run_artifact", side_effect=artifact) as patched:
        result = await hook.get_job_run_artifacts_concurrently(5, ["manifest.json", "catalog.json"], step=3)
    assert result == {
        "manifest.json": {"path": "manifest.json", "step": 3},
        "catalog.json": {"path": "catalog.json", "step": 3},
    }
    assert sorted(call.kwargs["path"] for call in patched.call_args_list) == ["catalog.json", "manifest.json"]


async def test_get_headers_tenants_from_connection(hook):
    headers, tenant = await hook.get_headers_tenants_from_connection()
    assert tenant == "ab123.us1.dbt.com"
    assert headers["Authorization"] == f"Token {TOKEN}"
    assert headers["User-Agent"].startswith("airflow-dbtcloud/")
    assert headers["Content-Type"] == "application/json"


async def test_adownload_job_run_artifact(hook, tmp_path):
    with aioresponses() as mocked:
        mocked.get(f"{V2}/runs/5/artifacts/manifest.json", body=b'{"nodes": {}}')
        written = await hook.adownload_job_run_artifact(5, "manifest.json", tmp_path / "m.json")
    assert written.read_bytes() == b'{"nodes": {}}'


async def test_not_found_names_the_run_and_account(hook):
    with aioresponses() as mocked:
        mocked.get(f"{V2}/runs/5/", status=404, payload=error_envelope(404, "Requested resource not found"))
        with pytest.raises(DbtCloudNotFoundError, match="Not found: run 5 in account 7"):
            await hook.get_job_status(5)


async def test_missing_account_is_a_clear_error(no_account_conn):
    hook = DbtCloudHook()
    with pytest.raises(DbtCloudConfigError, match="'dbt_cloud_default'"):
        await hook.get_job_status(5)
    await hook.aclose()
