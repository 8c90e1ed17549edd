"""Many triggers in one event loop, as the triggerer runs them: one connection pool, one request budget.

Against the emulator over HTTP; the emulator counts TCP connections and journals each request's time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from airflow_dbtcloud._transport import budget as budget_module
from airflow_dbtcloud._transport.budget import RateBudgets
from airflow_dbtcloud.hooks.dbt import DbtCloudHook
from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger


def with_extra(emu: Any, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    connection = json.loads(emu.connection_json())
    connection["extra"] = {**connection.get("extra", {}), **extra}
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(connection))


async def start_runs(count: int) -> list[int]:
    async with DbtCloudHook() as hook:
        return [(await hook.atrigger_job_run(300, "scale"))["data"]["id"] for _ in range(count)]


def run_trigger(run_id: int) -> DbtCloudRunJobTrigger:
    return DbtCloudRunJobTrigger(
        conn_id="dbt_cloud_default", run_id=run_id, end_time=1e12, poll_interval=0.05, account_id=None
    )


async def until_event(trigger: DbtCloudRunJobTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


async def test_two_triggers_in_one_loop_share_one_connection(emu, monkeypatch):
    with_extra(emu, monkeypatch, pool_size=1)
    runs = await start_runs(2)
    before = emu.connections_accepted
    events = await asyncio.gather(*(until_event(run_trigger(r)) for r in runs))
    assert [e["status"] for e in events] == ["success", "success"]
    assert emu.connections_accepted - before == 1


async def test_the_budget_holds_under_a_thousand_concurrent_polls(emu, monkeypatch):
    # A one-second window stands in for dbt Cloud's minute: 250 requests per second at most, counted
    # over 1.1 s for the time a request takes to land (1 s guard in a real minute).
    monkeypatch.setattr(budget_module, "shared_budgets", RateBudgets(window_seconds=1.0, guard_seconds=0.1))
    with_extra(emu, monkeypatch, requests_per_minute=250)
    (run_id,) = await start_runs(1)
    seen = len(emu.journal)
    hooks = [DbtCloudHook() for _ in range(1000)]
    statuses = await asyncio.gather(*(hook.get_job_status(run_id) for hook in hooks))
    for hook in hooks:
        await hook.aclose()
    assert len(statuses) == 1000
    # When each request reached the emulator (its journal time is when the answer was done).
    stamps = sorted(
        e["ts"] - e["latency_ms"] / 1000 for e in emu.journal[seen:] if e.get("route") == "get_run"
    )
    assert len(stamps) == 1000
    busiest = max(sum(1 for t in stamps[i:] if t < start + 1.0) for i, start in enumerate(stamps))
    # Counted where dbt Cloud counts them, when they land. The emulator shares this process (and its
    # GIL), so a request can land well after it was counted; at most the pool's 10 connections carry
    # such late requests at once, which bounds the overshoot at the server's end.
    assert busiest <= 250 + 10, f"{busiest} requests reached dbt Cloud within one window"
    assert stamps[-1] - stamps[0] >= 3.0, "1,000 requests at 250 a window need at least three windows"


async def test_a_429_with_retry_after_pauses_every_trigger_of_the_account(emu, monkeypatch):
    runs = await start_runs(2)
    emu.add_fault(route="get_run", status=429, retry_after=1, times=1)
    seen = len(emu.journal)
    async with DbtCloudHook() as first, DbtCloudHook() as second:
        await first.get_job_status(runs[0])  # answered 429, then retried after Retry-After
        started = asyncio.get_running_loop().time()
        await second.get_job_status(runs[1])  # another hook, same account: waits out the pause too
        waited = asyncio.get_running_loop().time() - started
    answers = [(e["status"], e["ts"]) for e in emu.journal[seen:] if e.get("route") == "get_run"]
    assert [status for status, _ in answers] == [429, 200, 200]
    assert answers[1][1] - answers[0][1] >= 0.95
    assert waited < 0.5, "the second hook's request went once the account's pause was over"


def test_the_shared_session_closes_with_its_last_trigger(emu, caplog):
    caplog.set_level(logging.ERROR, logger="asyncio")

    async def two_triggers() -> list[dict[str, Any]]:
        runs = await start_runs(2)
        return await asyncio.gather(*(until_event(run_trigger(r)) for r in runs))

    events = asyncio.run(two_triggers())
    import gc

    gc.collect()
    assert [e["status"] for e in events] == ["success", "success"]
    assert "Unclosed" not in caplog.text
