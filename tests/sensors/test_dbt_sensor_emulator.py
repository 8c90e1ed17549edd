"""DbtCloudJobRunSensor against the emulator over HTTP: what a person following a run sees in the log."""

from __future__ import annotations

import pytest

from airflow_dbtcloud.hooks.dbt import DbtCloudHook
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor


@pytest.fixture
def emu(dbt_cloud_emulator, monkeypatch):
    for name, value in dbt_cloud_emulator.env().items():
        monkeypatch.setenv(name, value)
    return dbt_cloud_emulator


def start_run(cause: str) -> int:
    hook = DbtCloudHook()
    try:
        return int(hook.trigger_job_run(300, cause).json()["data"]["id"])
    finally:
        hook.close()


def test_poking_logs_the_runs_progress_and_warns_once_when_it_runs_long(emu, capsys):
    emu.set_job_script(300, running_seconds=2.0)
    run_id = start_run("sensor progress")
    sensor = DbtCloudJobRunSensor(
        task_id="wait", run_id=run_id, poke_interval=0.2, timeout=60, expected_duration=0.5
    )

    sensor.execute({})

    logged = capsys.readouterr().out
    assert f"Job run {run_id}, step 1/1: Invoke dbt with `dbt build`" in logged
    nodes = [line for line in logged.splitlines() if f"Job run {run_id}, step 1: " in line and "/18 " in line]
    assert len(nodes) == 18, "each node once"
    assert logged.count("longer than the expected 0s") + logged.count("longer than the expected 1s") == 1
    assert emu.token not in logged


def test_poking_without_progress_asks_only_for_the_status(emu):
    emu.set_job_script(300, running_seconds=0.5)
    run_id = start_run("sensor quiet")
    seen = len(emu.journal)
    sensor = DbtCloudJobRunSensor(
        task_id="wait", run_id=run_id, poke_interval=0.1, timeout=60, hook_params={"log_progress": False}
    )

    sensor.execute({})

    assert {entry.get("route") for entry in emu.journal[seen:]} == {"get_run"}
    assert all("include_related" not in entry["query"] for entry in emu.journal[seen:])


def test_rescheduled_pokes_do_not_repeat_the_progress_so_far(emu, capsys):
    emu.set_job_script(300, running_seconds=0.5)
    run_id = start_run("sensor rescheduled")
    seen = len(emu.journal)
    sensor = DbtCloudJobRunSensor(task_id="wait", run_id=run_id, mode="reschedule", poke_interval=60)

    sensor.poke({})  # each rescheduled poke runs in a new process, with a new sensor object

    assert f"Job run {run_id}, step" not in capsys.readouterr().out
    assert [entry.get("route") for entry in emu.journal[seen:]] == ["get_run"]
