"""RunViews against the emulator over real HTTP: what a page view shows, and what it costs dbt Cloud."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_dbtcloud._transport.errors import DbtCloudNotFoundError
from airflow_dbtcloud.api.lifecycle import build_cause, marker_for
from airflow_dbtcloud.hooks.dbt import DbtCloudHook
from airflow_dbtcloud.ui.run_view import LIVE_TTL, RunViews
from airflow_dbtcloud.ui.task_runs import TaskRun


@pytest.fixture
def emu(dbt_cloud_emulator, monkeypatch):
    for name, value in dbt_cloud_emulator.env().items():
        monkeypatch.setenv(name, value)
    return dbt_cloud_emulator


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def task_run(dbt_run_id: int, **changes) -> TaskRun:
    fields = dict(
        dag_id="d",
        run_id="manual__1",
        task_id="run",
        map_index=-1,
        dbt_run_id=dbt_run_id,
        conn_id="dbt_cloud_default",
        account_id=None,
        job_id=300,
        job_name=None,
        state="success",
        try_number=1,
        max_tries=0,
        operator="DbtCloudRunJobOperator",
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        end_date=None,
        duration=None,
    )
    return TaskRun(**(fields | changes))


def finished_run(emu, job_id: int, cause: str = "from a test") -> int:
    hook = DbtCloudHook(retry_delay=0.01)
    run_id = hook.trigger_job_run(job_id, cause).json()["data"]["id"]
    ended = (10, 20, 30)
    assert hook.wait_for_job_run_status(run_id, expected_statuses=ended, check_interval=0.05, timeout=30)
    hook.close()
    return int(run_id)


def requests_since(emu, count_before: int) -> list[str]:
    return [entry["route"] for entry in emu.journal[count_before:]]


@pytest.fixture
def views():
    made = []

    def factory(conn_id: str) -> DbtCloudHook:
        hook = DbtCloudHook(conn_id, retry_delay=0.01)
        made.append(hook)
        return hook

    clock = Clock()
    yield RunViews(factory, clock), clock, made
    for hook in made:
        hook.close()


def test_a_failed_run_shows_its_failed_node_first_with_its_message(emu, views):
    run_views, _, _ = views
    emu.set_job_script(
        300,
        outcome="error",
        queued_seconds=0,
        running_seconds=0.2,
        failing_nodes=["model.jaffle_shop.orders"],
    )
    run_id = finished_run(emu, 300)
    before = len(emu.journal)

    view = run_views.view(task_run(run_id))

    assert requests_since(emu, before) == ["get_run", "get_artifact"]
    assert view["run"]["outcome"] == "error"
    assert view["run"]["ended"] is True
    assert view["run"]["job_name"] == "Daily build"
    first = view["nodes"][0]
    assert (first["unique_id"], first["status"], first["failed"]) == (
        "model.jaffle_shop.orders",
        "error",
        True,
    )
    assert "permission denied" in first["message"]
    assert not any(node["failed"] for node in view["nodes"][1:])
    assert [step["failed"] for step in view["steps"]] == [True]
    assert view["run"]["url"] == f"{emu.base_url}/deploy/1/projects/100/runs/{run_id}/"
    assert view["artifacts"][0] == "run_results.json"


def test_a_successful_run_lists_every_node_of_its_run_results(emu, views):
    run_views, _, _ = views
    emu.set_job_script(302, outcome="success", queued_seconds=0, running_seconds=0.2)
    run_id = finished_run(emu, 302)
    hook = DbtCloudHook()
    served = hook.get_job_run_artifact(run_id, "run_results.json").json()["results"]
    hook.close()

    view = run_views.view(task_run(run_id, job_id=302))

    assert view["run"]["status_name"] == "Success"
    assert [node["unique_id"] for node in view["nodes"]] == [result["unique_id"] for result in served]
    assert not any(node["failed"] for node in view["nodes"])
    assert view["notes"] == []


def test_an_ended_run_is_fetched_once_then_served_from_memory(emu, views):
    run_views, clock, _ = views
    emu.set_job_script(302, outcome="success", queued_seconds=0, running_seconds=0.2)
    run_id = finished_run(emu, 302)
    first = run_views.view(task_run(run_id))
    before = len(emu.journal)

    clock.now += 300  # five minutes later, well inside the ended run's keep time
    again = run_views.view(task_run(run_id, task_id="another_task_same_run"))

    assert requests_since(emu, before) == []
    assert again == first


def test_a_run_in_progress_is_read_again_only_after_the_live_interval(emu, views):
    run_views, clock, _ = views
    emu.set_job_script(302, outcome="success", queued_seconds=0, running_seconds=60)
    hook = DbtCloudHook(retry_delay=0.01)
    run_id = int(hook.trigger_job_run(302, "long").json()["data"]["id"])
    hook.close()
    before = len(emu.journal)

    view = run_views.view(task_run(run_id))
    run_views.view(task_run(run_id))
    assert requests_since(emu, before) == ["get_run"]  # no artifact while it runs; the repeat was kept
    assert (view["run"]["ended"], view["nodes"], view["artifacts"]) == (False, [], [])

    clock.now += LIVE_TTL + 0.1
    run_views.view(task_run(run_id))
    assert requests_since(emu, before) == ["get_run", "get_run"]


def test_one_hook_per_connection_serves_every_view(emu, views):
    run_views, clock, made = views
    emu.set_job_script(302, outcome="success", queued_seconds=0, running_seconds=0.1)
    first, second = finished_run(emu, 302), finished_run(emu, 302)
    run_views.view(task_run(first))
    run_views.view(task_run(second))
    assert len(made) == 1
    clock.now += 301  # past the hook's keep time: the connection is read again (a rotated token)
    run_views.hook("dbt_cloud_default")
    assert len(made) == 2


def test_a_run_dbt_cloud_does_not_know_raises_a_clear_error(emu, views):
    run_views, _, _ = views
    with pytest.raises(DbtCloudNotFoundError, match="404"):
        run_views.view(task_run(987654))


def test_the_marker_tells_whether_this_task_instance_started_the_run():
    mine = task_run(1, try_number=2, max_tries=3)
    own = marker_for("d", "manual__1", "run", -1, 3)
    per_try = marker_for("d", "manual__1", "run", -1, 3, 2)
    before_a_clear = marker_for("d", "manual__1", "run", -1, 2)
    assert mine.started_by_this_task(own)
    assert mine.started_by_this_task(per_try)
    assert not mine.started_by_this_task(before_a_clear)
    assert not mine.started_by_this_task(None)
    assert build_cause("why", own).endswith(own)


def test_views_keep_no_more_than_their_bound(emu, views, monkeypatch):
    import airflow_dbtcloud.ui.run_view as run_view

    monkeypatch.setattr(run_view, "MAX_VIEWS", 2)
    run_views, _, _ = views
    emu.set_job_script(302, outcome="success", queued_seconds=0, running_seconds=0.05)
    ids = [finished_run(emu, 302) for _ in range(3)]
    for run_id in ids:
        run_views.view(task_run(run_id))
    before = len(emu.journal)
    run_views.view(task_run(ids[0]))  # the oldest was dropped: fetched again
    run_views.view(task_run(ids[2]))  # the newest is kept
    assert requests_since(emu, before) == ["get_run", "get_artifact"]
