"""Downloading an artifact holds a chunk at a time, on both paths: peak memory does not grow with size.

Each download runs in a fresh interpreter (its peak RSS is its own, reset with ``/proc/self/clear_refs``
just before) against the session emulator, which generates a 64 MiB ``manifest.json`` as it streams.
Reading the whole body into memory anywhere on the way would raise the peak by at least that much.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SIZE_MB = 64

CODE = textwrap.dedent(
    """
    import asyncio, json, os, sys

    def kib(field):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])

    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

    mode, run_id, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    hook = DbtCloudHook()
    # Warm up imports, the connection and the pools with a small file of the same run.
    hook.download_job_run_artifact(run_id, "run_results.json", dest + ".warm")
    asyncio.run(hook.adownload_job_run_artifact(run_id, "run_results.json", dest + ".warm"))
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = kib("VmRSS")
    if mode == "sync":
        hook.download_job_run_artifact(run_id, "manifest.json", dest)
    else:
        asyncio.run(hook.adownload_job_run_artifact(run_id, "manifest.json", dest))
    print("RESULT " + json.dumps({"growth_kib": kib("VmHWM") - before, "bytes": os.path.getsize(dest)}))
    """
)


@pytest.fixture
def finished_run(dbt_cloud_emulator, monkeypatch):
    emu = dbt_cloud_emulator
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    emu.set_manifest_size_mb(SIZE_MB)
    run_id = emu.start_run(300, source="api")
    emu.complete_run(run_id)
    return run_id


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc peak-RSS reset")
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_large_artifact_streams_with_bounded_memory(finished_run, tmp_path, mode):
    dest = tmp_path / "manifest.json"
    done = subprocess.run(
        [sys.executable, "-c", CODE, mode, str(finished_run), str(dest)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["bytes"] >= SIZE_MB * 1024 * 1024, "the whole manifest was written"
    # A chunk (1 MiB) plus buffers; a body read whole would add the file's size.
    assert result["growth_kib"] < 16 * 1024, result


def _failing_download_leaves_nothing(emu, monkeypatch, download) -> None:
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    run_id = emu.start_run(300, source="api")
    emu.complete_run(run_id)
    # Every answer for the artifact is cut short; one attempt, so the download fails.
    emu.add_fault(route="get_artifact", kind="truncate")
    from airflow_dbtcloud.hooks.dbt import DbtCloudError, DbtCloudHook

    with pytest.raises(DbtCloudError):
        download(DbtCloudHook(retry_limit=1), run_id)


def test_a_failed_async_download_leaves_no_partial_file(dbt_cloud_emulator, monkeypatch, tmp_path):
    import asyncio

    target = tmp_path / "manifest.json"
    _failing_download_leaves_nothing(
        dbt_cloud_emulator,
        monkeypatch,
        lambda hook, run_id: asyncio.run(hook.adownload_job_run_artifact(run_id, "manifest.json", target)),
    )
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_to_object_storage_leaves_no_partial_object(
    dbt_cloud_emulator, monkeypatch, tmp_path
):
    from airflow.sdk import ObjectStoragePath

    store = tmp_path / "store"
    store.mkdir()
    target = ObjectStoragePath(f"file://{store}/manifest.json")
    _failing_download_leaves_nothing(
        dbt_cloud_emulator,
        monkeypatch,
        lambda hook, run_id: hook.download_job_run_artifact(run_id, "manifest.json", target),
    )
    assert list(store.iterdir()) == []
