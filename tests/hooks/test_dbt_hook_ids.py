"""Ids and artifact paths given to the hook are checked before any request, on the sync and async paths.

Against the emulator over loopback: its journal shows that nothing reached it.
"""

from __future__ import annotations

import pytest

from airflow_dbtcloud.hooks.dbt import DbtCloudConfigError, DbtCloudHook

TRAVERSAL = "../../../../v3/accounts/1/users"


@pytest.fixture
def hook(emu_hook):
    return emu_hook


SYNC_CALLS = [
    ("get_job_run", {"run_id": "abc"}, "run_id must be a positive integer, got 'abc'"),
    ("get_job_run_status", {"run_id": "5x"}, "run_id must be a positive integer, got '5x'"),
    ("cancel_job_run", {"run_id": 0}, "run_id must be a positive integer, got 0"),
    ("retry_run", {"run_id": 2.5}, "run_id must be a positive integer, got 2.5"),
    ("get_job", {"job_id": -1}, "job_id must be a positive integer, got -1"),
    ("trigger_job_run", {"job_id": -1, "cause": "c"}, "job_id must be a positive integer, got -1"),
    (
        "trigger_job_run",
        {"job_id": "x", "cause": "c", "retry_from_failure": True},
        "job_id must be a positive integer, got 'x'",
    ),
    ("retry_failed_job_run", {"job_id": True}, "job_id must be a positive integer, got True"),
    ("get_account", {"account_id": "1/../2"}, "account_id must be a positive integer, got '1/../2'"),
    ("list_jobs", {"account_id": -1}, "account_id must be a positive integer, got -1"),
    ("list_jobs", {"project_id": "p"}, "project_id must be a positive integer, got 'p'"),
    ("list_projects", {"account_id": 0}, "account_id must be a positive integer, got 0"),
    ("get_project", {"project_id": ".."}, "project_id must be a positive integer, got '..'"),
    ("list_environments", {"project_id": "x"}, "project_id must be a positive integer"),
    ("get_environment", {"project_id": 100, "environment_id": "e"}, "environment_id must be"),
    ("list_job_runs", {"job_definition_id": "j"}, "job_definition_id must be a positive integer"),
    ("get_job_runs", {"account_id": "a"}, "account_id must be a positive integer, got 'a'"),
    ("get_run_step", {"step_id": -2}, "step_id must be a positive integer, got -2"),
    ("list_job_run_artifacts", {"run_id": 1, "step": 0}, "step must be a positive integer, got 0"),
    ("get_job_run_artifact", {"run_id": 1, "path": TRAVERSAL}, "Artifact path"),
    ("get_job_run_artifact", {"run_id": 1, "path": "/manifest.json"}, "Artifact path"),
    ("get_job_run_artifact", {"run_id": 1, "path": "a\\..\\b"}, "Artifact path"),
    ("get_job_latest_artifact", {"job_id": 300, "path": TRAVERSAL}, "Artifact path"),
    ("get_warehouse_connection", {"connection_id": "c"}, "connection_id must be a positive integer"),
    ("wait_for_job_run_status", {"run_id": "r", "check_interval": 0}, "run_id must be a positive integer"),
]


@pytest.mark.parametrize(("method", "kwargs", "message"), SYNC_CALLS, ids=[c[0] for c in SYNC_CALLS])
def test_sync_methods_refuse_bad_ids_before_any_request(emu, hook, method, kwargs, message):
    with pytest.raises(DbtCloudConfigError, match="^" + message.replace("(", r"\(")) as raised:
        getattr(hook, method)(**kwargs)
    assert isinstance(raised.value, ValueError)
    assert emu.journal == []


def test_downloads_refuse_a_traversing_path_and_write_nothing(emu, hook, tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(DbtCloudConfigError, match="Artifact path"):
        hook.download_job_run_artifact(1, TRAVERSAL, target)
    with pytest.raises(DbtCloudConfigError, match="Artifact path"):
        hook.download_job_latest_artifact(300, TRAVERSAL, target)
    assert emu.journal == []
    assert list(tmp_path.iterdir()) == []


ASYNC_CALLS = [
    ("get_job_details", {"run_id": "abc"}, "run_id must be a positive integer, got 'abc'"),
    ("get_job_status", {"run_id": -5}, "run_id must be a positive integer, got -5"),
    ("get_job_status", {"run_id": 5, "account_id": "x"}, "account_id must be a positive integer"),
    ("aget_job", {"job_id": "j"}, "job_id must be a positive integer, got 'j'"),
    ("aget_run_step", {"step_id": 0}, "step_id must be a positive integer, got 0"),
    ("atrigger_job_run", {"job_id": -1, "cause": "c"}, "job_id must be a positive integer, got -1"),
    ("aretry_run", {"run_id": False}, "run_id must be a positive integer, got False"),
    ("aget_job_runs", {"account_id": -7}, "account_id must be a positive integer, got -7"),
    (
        "get_job_run_artifacts_concurrently",
        {"run_id": 1, "artifacts": ["manifest.json", TRAVERSAL]},
        "Artifact path",
    ),
    ("get_job_run_artifacts_concurrently", {"run_id": 1, "artifacts": [], "step": -1}, "step must be"),
    ("adownload_job_run_artifact", {"run_id": 1, "path": TRAVERSAL, "destination": "x"}, "Artifact path"),
]


@pytest.mark.parametrize(("method", "kwargs", "message"), ASYNC_CALLS, ids=[c[0] for c in ASYNC_CALLS])
async def test_async_methods_refuse_bad_ids_with_the_same_error(emu, method, kwargs, message):
    async with DbtCloudHook(retry_delay=0.01) as hook:
        with pytest.raises(DbtCloudConfigError, match="^" + message):
            await getattr(hook, method)(**kwargs)
    assert emu.journal == []


def test_templated_ids_are_sent_as_integers(emu, hook):
    # A rendered template is text, and a multi-line one may keep a newline.
    account = f"{emu.account_id}\n"
    run = hook.trigger_job_run(" 300", "templated", account_id=account).json()["data"]
    assert hook.get_job_run(str(run["id"]), account_id=account).json()["data"]["id"] == run["id"]
    assert [entry["path"] for entry in emu.journal] == [
        f"/api/v2/accounts/{emu.account_id}/jobs/300/run/",
        f"/api/v2/accounts/{emu.account_id}/runs/{run['id']}/",
    ]


async def test_templated_ids_are_sent_as_integers_on_the_async_path(emu, hook):
    run = hook.trigger_job_run(300, "templated").json()["data"]
    async with DbtCloudHook(retry_delay=0.01) as async_hook:
        assert await async_hook.get_job_status(f" {run['id']} ", account_id=str(emu.account_id)) in (1, 2, 3)
    assert emu.journal[-1]["path"] == f"/api/v2/accounts/{emu.account_id}/runs/{run['id']}/"
