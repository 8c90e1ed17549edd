"""DbtCloudJobRunEventTrigger: one event per new finished run, a mark that survives restarts, one shared poll.

The polls go to the dbt Cloud emulator over HTTP; the asset state store is a dict (the real one needs
a triggerer process, which tests/integration's watcher scenario runs).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_dbtcloud.api.run_watch import JobMark, WatchState
from airflow_dbtcloud.hooks.dbt import DbtCloudAuthError, DbtCloudError, DbtCloudHook
from airflow_dbtcloud.triggers.dbt import DbtCloudJobRunEventTrigger

FAST = {"poll_interval": 0.05}


class Accessor:
    """One asset's state, kept in a dict shared with the test."""

    def __init__(self, store: dict[str, Any], name: str) -> None:
        self.store, self.name = store, name

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.store.get((self.name, key), default)

    async def aset(self, key: str, value: Any) -> None:
        self.store[(self.name, key)] = value


class Store:
    """Stands in for Airflow's AssetStateStoreAccessors of a watcher's assets."""

    def __init__(self, store: dict[str, Any], *names: str) -> None:
        self._by_name = {name: Accessor(store, name) for name in names}
        self._by_uri: dict[str, Accessor] = {}


def watcher(store: dict[str, Any] | None = None, *assets: str, **kwargs: Any) -> DbtCloudJobRunEventTrigger:
    trigger = DbtCloudJobRunEventTrigger(**{"job_id": 300, **FAST, **kwargs})
    if store is not None:
        trigger.asset_state_store = Store(store, *(assets or ("a",)))  # type: ignore[assignment]
    return trigger


async def finish(run_id: int, hook: DbtCloudHook) -> None:
    while (await hook.get_job_status(run_id)) not in (10, 20, 30):
        await asyncio.sleep(0.05)


async def start_runs(count: int, job_id: int = 300, cause: str = "from the test") -> list[int]:
    """Start runs through the API, as anyone could, and wait for them to end."""
    async with DbtCloudHook() as hook:
        ids = [(await hook.atrigger_job_run(job_id, cause))["data"]["id"] for _ in range(count)]
        for run_id in ids:
            await finish(run_id, hook)
    return ids


async def take(events: Any, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    got = []
    for _ in range(count):
        got.append((await asyncio.wait_for(anext(events), timeout)).payload)
    return got


async def nothing_more(events: Any, wait: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(events), wait)


async def test_fires_once_per_new_finished_run_not_for_runs_that_ended_before(emu):
    await start_runs(1)
    events = watcher().run()
    first = asyncio.ensure_future(take(events, 1))
    await asyncio.sleep(0.3)
    assert not first.done(), "the run that ended before the watcher started must not fire"
    (new,) = await start_runs(1, cause="Kicked off from UI")
    (event,) = await first
    assert (event["run_id"], event["job_id"], event["status_name"]) == (new, 300, "SUCCESS")
    assert event["cause"] == "Kicked off from UI"
    await nothing_more(events)
    await events.aclose()


async def test_the_mark_survives_a_restart_without_losing_or_repeating(emu):
    store: dict[str, Any] = {}
    events = watcher(store).run()
    pending = asyncio.ensure_future(take(events, 1))
    await asyncio.sleep(0.2)
    (first,) = await start_runs(1)
    assert (await pending)[0]["run_id"] == first
    # The triggerer pulls the next event at once; the next poll commits the mark of the event's snapshot.
    puller = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.3)
    puller.cancel()  # the triggerer stops
    with pytest.raises(asyncio.CancelledError):
        await puller

    during = await start_runs(1)  # ends while nobody watches
    restarted = watcher(store).run()
    got = await take(restarted, 1)
    assert [e["run_id"] for e in got] == during, "the run that ended while down fires; the first not again"
    later = await start_runs(2)
    assert [e["run_id"] for e in await take(restarted, 2)] == later
    await nothing_more(restarted)
    await restarted.aclose()
    assert WatchState.from_json(store[("a", WatchState.KEY)]).marks[300].after >= later[-1] - 1


async def test_the_mark_of_an_events_snapshot_is_saved_only_at_the_next_poll(emu):
    store: dict[str, Any] = {}
    trigger = watcher(store)

    async def snapshots():
        yield {"jobs": {"300": [{"id": 5, "status": 10, "job_definition_id": 300}]}}
        yield {"jobs": {"300": [{"id": 6, "status": 10, "job_definition_id": 300}, {"id": 5, "status": 10}]}}
        yield {"jobs": {"300": [{"id": 6, "status": 10}, {"id": 5, "status": 10}]}}

    events = trigger.filter_shared_stream(snapshots())
    assert (await anext(events)).payload["run_id"] == 6
    assert WatchState.from_json(store[("a", WatchState.KEY)]).marks[300] == JobMark(5), (
        "the start, saved at once"
    )
    with pytest.raises(StopAsyncIteration):
        await anext(events)
    assert WatchState.from_json(store[("a", WatchState.KEY)]).marks[300] == JobMark(6), (
        "committed one poll later"
    )


async def test_assets_sharing_one_trigger_share_one_mark(emu):
    store: dict[str, Any] = {("a", WatchState.KEY): WatchState({300: JobMark(10)}).to_json()}
    trigger = watcher(store, "a", "b")

    async def snapshots():
        yield {"jobs": {"300": [{"id": 11, "status": 10}, {"id": 10, "status": 10}]}}
        yield {"jobs": {"300": [{"id": 11, "status": 10}]}}

    assert [e.payload["run_id"] async for e in trigger.filter_shared_stream(snapshots())] == [11]
    assert store[("a", WatchState.KEY)] == store[("b", WatchState.KEY)], "the new asset adopts the mark"


async def test_filters_choose_which_runs_fire(emu):
    trigger = watcher(
        statuses=[20], cause_contains="nightly", exclude_airflow_runs=True, start_after_run_id=0
    )

    async def snapshots():
        yield {
            "jobs": {
                "300": [
                    {"id": 4, "status": 20, "trigger": {"cause": "Nightly [airflow:0123456789abcdef]"}},
                    {"id": 3, "status": 10, "trigger": {"cause": "nightly"}},
                    {"id": 2, "status": 20, "trigger": {"cause": "ad hoc"}},
                    {"id": 1, "status": 20, "trigger": {"cause": "Nightly batch"}},
                ]
            }
        }

    assert [e.payload["run_id"] async for e in trigger.filter_shared_stream(snapshots())] == [1]


async def test_watchers_of_one_job_share_one_poll_whatever_their_filters(emu):
    a, b, c = watcher(), watcher(statuses=[20]), watcher(exclude_airflow_runs=True, start_after_run_id=1)
    assert a.shared_stream_key() == b.shared_stream_key() == c.shared_stream_key()
    assert a.shared_stream_key() != watcher(job_id=301).shared_stream_key()
    assert a.shared_stream_key() != watcher(poll_interval=1).shared_stream_key()

    before = len(emu.journal)
    stream = DbtCloudJobRunEventTrigger.open_shared_stream(a.serialize()[1])
    for _ in range(3):
        await anext(stream)
    await stream.aclose()
    routes = [entry.get("route") for entry in emu.journal[before:]]
    assert routes.count("list_runs") == 3, "one list request per poll"
    assert routes.count("get_job") == 1, "the job is checked when the poll starts, not on every poll"


async def test_transient_errors_are_waited_out(emu):
    emu.add_fault(route="list_runs", status=503, times=2)
    stream = DbtCloudJobRunEventTrigger.open_shared_stream(watcher().serialize()[1])
    snapshot = await asyncio.wait_for(anext(stream), 30)
    await stream.aclose()
    assert "300" in snapshot["jobs"]


def errors_logged(out: str) -> list[str]:
    """The ERROR lines of what the trigger printed (Airflow's structlog writes to stdout)."""
    return [line.split("[error    ]", 1)[1].strip() for line in out.splitlines() if "[error    ]" in line]


async def test_a_rejected_token_stops_the_polls_with_the_reason_and_no_request_storm(
    emu, monkeypatch, capsys
):
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", emu.connection_json().replace(emu.token, "wrong"))
    before = len(emu.journal)
    stream = DbtCloudJobRunEventTrigger.open_shared_stream(watcher().serialize()[1])
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), 1.0)
    assert [entry["status"] for entry in emu.journal[before:]] == [401], "one request, then quiet"
    stopped = errors_logged(capsys.readouterr().out)
    assert len(stopped) == 1, stopped
    assert stopped[0].startswith("Stopped watching dbt Cloud job(s) 300: dbt Cloud API error 401"), stopped
    assert "No more polls for 30 minutes" in stopped[0]
    assert "wrong" not in stopped[0]


async def test_a_stopped_watch_checks_again_later_and_resumes_once_the_connection_is_fixed(emu, monkeypatch):
    monkeypatch.setattr("airflow_dbtcloud.api.run_watch.STOPPED_RECHECK_SECONDS", 0.3)
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", emu.connection_json().replace(emu.token, "wrong"))
    stream = DbtCloudJobRunEventTrigger.open_shared_stream(watcher().serialize()[1])
    polled = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.1)
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", emu.connection_json())  # someone fixed it
    snapshot = await asyncio.wait_for(polled, 10)
    await stream.aclose()
    assert "300" in snapshot["jobs"]


async def test_a_missing_job_stops_the_polls(emu, capsys):
    stream = DbtCloudJobRunEventTrigger.open_shared_stream(watcher(job_id=99999).serialize()[1])
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), 0.5)
    await stream.aclose()
    assert [line.split(":")[0] for line in errors_logged(capsys.readouterr().out)] == [
        "Stopped watching dbt Cloud job(s) 99999"
    ]


async def test_a_deferred_sensors_wait_fails_on_an_error_polling_cannot_fix(emu, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", emu.connection_json().replace(emu.token, "wrong"))
    stream = DbtCloudJobRunEventTrigger.open_shared_stream(watcher(fire_once=True).serialize()[1])
    with pytest.raises(DbtCloudAuthError):
        await anext(stream)


async def test_a_deferred_sensors_wait_fails_once_transient_errors_spend_the_budget(emu):
    emu.add_fault(route="get_job", status=503, times=3)
    stream = DbtCloudJobRunEventTrigger.open_shared_stream(
        watcher(
            fire_once=True, error_budget=1, poll_interval=0.01, hook_params={"retry_limit": 1}
        ).serialize()[1]
    )
    with pytest.raises(DbtCloudError, match="503"):
        await asyncio.wait_for(anext(stream), 30)


async def test_a_deleted_job_stops_the_watch():
    class Hook:
        async def aget_job(self, job_id: int, account_id: Any = None) -> Any:
            return {"data": {"id": job_id, "state": 2}}

    with pytest.raises(DbtCloudError, match="dbt Cloud job 300 was deleted"):
        await watcher()._check_jobs(Hook())  # type: ignore[arg-type]


def test_it_serializes_to_plain_json_without_secrets(emu):
    import json

    classpath, kwargs = watcher(job_id=[301, 300], hook_params={"retry_limit": 2}).serialize()
    assert classpath == "airflow_dbtcloud.triggers.dbt.DbtCloudJobRunEventTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["job_id"] == [300, 301]
    assert emu.token not in json.dumps(kwargs)
    rebuilt = DbtCloudJobRunEventTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"job_id": []}, "job_id must name at least one"),
        ({"job_id": "abc"}, "job_id must be a positive integer"),
        ({"statuses": [1]}, "statuses must be end statuses"),
        ({"poll_interval": 0}, "poll_interval must be a positive number"),
        ({"window": 500}, "window must be between 1 and 100"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DbtCloudJobRunEventTrigger(**{"job_id": 300, **kwargs})


async def test_a_store_it_cannot_read_leaves_the_mark_in_memory_with_a_warning(emu, capsys):
    trigger = watcher()
    trigger.asset_state_store = object()  # type: ignore[assignment]
    events = trigger.run()
    first = asyncio.ensure_future(take(events, 1))
    await asyncio.sleep(0.3)
    (later,) = await start_runs(1)
    (event,) = await first
    await events.aclose()
    assert event["run_id"] == later
    assert capsys.readouterr().out.count("its mark is kept in memory only") == 1


async def test_an_event_links_to_the_tenant_never_to_a_foreign_or_script_href(emu):
    trigger = watcher(start_after_run_id=0)
    tenant = "https://ab123.us1.dbt.com"

    async def snapshots():
        ids = {"account_id": 1, "project_id": 100, "job_definition_id": 300, "status": 10}
        yield {
            "jobs": {
                "300": [
                    {"id": 3, **ids, "href": "javascript:alert(1)"},
                    {"id": 2, **ids, "href": "https://evil.example/runs/2/"},
                    {"id": 1, **ids, "href": f"{tenant}/deploy/1/projects/100/runs/1/"},
                ]
            },
            "ui_base_url": tenant,
        }

    urls = {e.payload["run_id"]: e.payload["url"] async for e in trigger.filter_shared_stream(snapshots())}
    assert urls[1] == f"{tenant}/deploy/1/projects/100/runs/1/", "dbt Cloud's own link on the tenant"
    for run_id in (2, 3):
        assert urls[run_id] == f"{tenant}/deploy/1/projects/100/runs/{run_id}/", "built from the ids"


async def test_the_shared_poll_tells_watchers_the_tenants_address(emu):
    kwargs = watcher().serialize()[1]
    stream = DbtCloudJobRunEventTrigger.open_shared_stream(kwargs)
    snapshot = await asyncio.wait_for(anext(stream), 30)
    await stream.aclose()
    assert snapshot["ui_base_url"] == emu.base_url
