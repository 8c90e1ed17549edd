from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from airflow.sdk import ObjectStoragePath
from glue_doubles import answer, hook_double

from airflow_dbtcloud.operators.dbt import (
    DbtCloudGetJobRunArtifactOperator,
    DbtCloudListJobRunsOperator,
    DbtCloudListJobsOperator,
)

MODULE = "airflow_dbtcloud.operators"


@pytest.fixture
def hook():
    instance = hook_double()
    with (
        mock.patch(f"{MODULE}.artifacts.DbtCloudHook", return_value=instance),
        mock.patch(f"{MODULE}.listing.DbtCloudHook", return_value=instance),
    ):
        yield instance


def test_artifact_default_name_in_working_dir(hook, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    op = DbtCloudGetJobRunArtifactOperator(task_id="a", run_id=7, path="compiled/x/y.sql")
    assert op.execute({}) == "7_compiled-x-y.sql"
    args = hook.download_job_run_artifact.call_args
    assert args.args[:2] == (7, "compiled/x/y.sql")
    assert isinstance(args.args[2], Path)


def test_artifacts_list_to_output_dir(hook, tmp_path):
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a",
        run_id=7,
        path=["manifest.json", "run_results.json"],
        output_dir=str(tmp_path / "out"),
        step=2,
    )
    written = op.execute({})
    assert written == [
        str(tmp_path / "out" / "7_manifest.json"),
        str(tmp_path / "out" / "7_run_results.json"),
    ]
    assert hook.download_job_run_artifact.call_count == 2
    assert hook.download_job_run_artifact.call_args.kwargs["step"] == 2
    assert (tmp_path / "out").is_dir()


def test_artifact_to_object_storage_uri(hook, tmp_path):
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a", run_id=7, path="manifest.json", output_dir=f"file://{tmp_path}/store"
    )
    written = op.execute({})
    target = hook.download_job_run_artifact.call_args.args[2]
    assert isinstance(target, ObjectStoragePath)
    assert written.endswith("/store/7_manifest.json")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"path": "../secrets"}, "must be a relative path"),
        ({"path": "/etc/passwd"}, "must be a relative path"),
        ({"path": ["manifest.json", "compiled\\..\\x"]}, "must be a relative path"),
        ({"path": "manifest.json", "output_file_name": "../../escape.json", "output_dir": "OUT"}, "outside"),
        ({"path": ["a.json", "b.json"], "output_file_name": "x.json"}, "output_dir"),
        ({"path": []}, "at least one"),
    ],
)
def test_artifact_refuses_escaping_paths(hook, tmp_path, kwargs, fragment):
    if kwargs.get("output_dir") == "OUT":
        kwargs["output_dir"] = str(tmp_path)
    op = DbtCloudGetJobRunArtifactOperator(task_id="a", run_id=7, **kwargs)
    with pytest.raises(ValueError, match=fragment):
        op.execute({})
    hook.download_job_run_artifact.assert_not_called()


@pytest.fixture
def outside(tmp_path):
    """A folder beside the output directory, which a symlink inside the output directory points to."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (tmp_path / "out").mkdir()
    return folder


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_an_output_dir_symlink_leading_outside_is_refused(hook, tmp_path, outside, scheme):
    (tmp_path / "out" / "link").symlink_to(outside, target_is_directory=True)
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a",
        run_id=7,
        path="manifest.json",
        output_dir=f"{scheme}{tmp_path / 'out'}",
        output_file_name="link/manifest.json",
    )
    with pytest.raises(ValueError, match="outside the output directory"):
        op.execute({})
    hook.download_job_run_artifact.assert_not_called()


def test_an_output_file_that_is_a_symlink_leading_outside_is_refused(hook, tmp_path, outside):
    (tmp_path / "out" / "7_manifest.json").symlink_to(outside / "victim.json")
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a", run_id=7, path="manifest.json", output_dir=str(tmp_path / "out")
    )
    with pytest.raises(ValueError, match="outside the output directory"):
        op.execute({})
    hook.download_job_run_artifact.assert_not_called()
    assert list(outside.iterdir()) == []


def test_a_symlink_that_stays_inside_the_output_dir_is_followed(hook, tmp_path, outside):
    (tmp_path / "out" / "real").mkdir()
    (tmp_path / "out" / "alias").symlink_to(tmp_path / "out" / "real", target_is_directory=True)
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a",
        run_id=7,
        path="manifest.json",
        output_dir=str(tmp_path / "out"),
        output_file_name="alias/m.json",
    )
    assert op.execute({}) == str(tmp_path / "out" / "real" / "m.json")


def test_a_bad_path_later_in_a_list_stops_the_task_before_any_download(hook, tmp_path):
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a", run_id=7, path=["manifest.json", "../run_results.json"], output_dir=str(tmp_path)
    )
    with pytest.raises(ValueError, match="must be a relative path"):
        op.execute({})
    hook.download_job_run_artifact.assert_not_called()
    assert list(tmp_path.iterdir()) == []


def test_artifact_uri_output_dir_refuses_escape(hook, tmp_path):
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a", run_id=7, path="m.json", output_dir=f"file://{tmp_path}", output_file_name="../x.json"
    )
    with pytest.raises(ValueError, match="outside"):
        op.execute({})


def test_artifact_of_a_jobs_latest_run(hook, tmp_path):
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a", job_id="300", path="manifest.json", output_dir=str(tmp_path / "out")
    )
    assert op.execute({}) == str(tmp_path / "out" / "job_300_latest_manifest.json")
    args = hook.download_job_latest_artifact.call_args
    assert args.args[0:2] == (300, "manifest.json")
    hook.download_job_run_artifact.assert_not_called()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "one of run_id"),
        ({"run_id": 7, "job_id": 300}, "one of run_id"),
        ({"job_id": 300, "step": 2}, "step applies to run_id only"),
    ],
)
def test_artifact_needs_a_run_or_a_job(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DbtCloudGetJobRunArtifactOperator(task_id="a", path="manifest.json", **kwargs)


def test_artifact_refuses_a_bad_run_id(hook):
    op = DbtCloudGetJobRunArtifactOperator(task_id="a", run_id="latest", path="manifest.json")
    with pytest.raises(ValueError, match="run_id must be a positive integer, got 'latest'"):
        op.execute({})
    hook.download_job_run_artifact.assert_not_called()


def test_list_jobs_returns_ids_through_list_jobs(hook):
    hook.list_jobs.return_value = [answer([{"id": 300}, {"id": 301}]), answer([{"id": 302}])]
    op = DbtCloudListJobsOperator(task_id="l", project_id=100, order_by="-id")
    assert op.execute({}) == [300, 301, 302]
    hook.list_jobs.assert_called_once_with(account_id=None, order_by="-id", project_id=100)


def test_list_runs_filters_and_returns_the_latest(hook):
    hook.list_job_runs.return_value = [answer([{"id": 9, "status": 20}, {"id": 8, "status": 10}])]
    op = DbtCloudListJobRunsOperator(task_id="l", job_id=300, latest_only=True, status_filter=10)
    assert op.execute({}) == {"id": 8, "status": 10}
    hook.list_job_runs.assert_called_once_with(
        account_id=None, include_related=None, job_definition_id=300, order_by="-created_at"
    )


def test_list_runs_returns_every_page_each_run_once(hook):
    hook.list_job_runs.return_value = [answer([{"id": 1}, {"id": 2}]), answer([{"id": 2}, {"id": 3}])]
    op = DbtCloudListJobRunsOperator(task_id="l", include_related=["job"])
    assert op.execute({}) == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert hook.list_job_runs.call_args.kwargs["include_related"] == ["job"]
    hook.list_job_runs.return_value = []
    assert DbtCloudListJobRunsOperator(task_id="m", latest_only=True).execute({}) is None


def test_a_download_that_fails_leaves_nothing_in_the_output_dir(dbt_cloud_emulator, monkeypatch, tmp_path):
    """Against the emulator over loopback: a body cut short on every attempt writes no file, not a part."""
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook, DbtCloudTransportError

    for name, value in dbt_cloud_emulator.env().items():
        monkeypatch.setenv(name, value)
    hook = DbtCloudHook(retry_delay=0)
    run_id = hook.trigger_job_run(300, "artifacts").json()["data"]["id"]
    hook.wait_for_job_run_status(run_id, check_interval=0.05, timeout=30)
    dbt_cloud_emulator.add_fault(route="get_artifact", kind="truncate")
    op = DbtCloudGetJobRunArtifactOperator(
        task_id="a",
        run_id=str(run_id),
        path=["manifest.json", "run_results.json"],
        output_dir=str(tmp_path / "out"),
        hook_params={"retry_limit": 2, "retry_delay": 0},
    )
    with pytest.raises(DbtCloudTransportError):
        op.execute({})
    assert [p.name for p in (tmp_path / "out").iterdir()] == []
