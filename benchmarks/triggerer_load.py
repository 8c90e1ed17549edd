"""Scenario 6, the worker's side: many run triggers in one event loop, the way a triggerer runs them.

A triggerer process runs every trigger assigned to it as a task of one asyncio loop. This module does
the same with N ``DbtCloudRunJobTrigger`` objects (this provider's or the official one, whichever the
worker imported) and reports what the process spent: CPU seconds, peak RSS, and when each trigger's
event came. The parent (``compare_official.py``) counts what reached the emulator: requests, TCP
connections, the busiest minute, and the delay from each run's end to its event.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any


async def _run_all(
    trigger_class: Any, conn_id: str, run_ids: list[int], poll_interval: float, hook_params: dict[str, Any]
) -> dict[int, tuple[str, float]]:
    end_time = time.time() + 3600
    events: dict[int, tuple[str, float]] = {}

    async def one(run_id: int) -> None:
        kwargs: dict[str, Any] = {
            "conn_id": conn_id,
            "run_id": run_id,
            "end_time": end_time,
            "poll_interval": poll_interval,
            "account_id": None,
        }
        if hook_params:
            kwargs["hook_params"] = hook_params
        payload = await first_event(trigger_class(**kwargs))
        events[run_id] = (str(payload["status"]), time.time())

    await asyncio.gather(*(one(run_id) for run_id in run_ids))
    return events


async def first_event(trigger: Any) -> dict[str, Any]:
    """Run one trigger until its first event, as the triggerer does, and return the event's payload.

    :param trigger: The trigger.
    """
    async for event in trigger.run():
        return dict(event.payload)
    raise RuntimeError(f"{type(trigger).__name__} ended without an event")


def run_triggers(
    provider: str, conn_id: str, run_ids: list[int], poll_interval: float, hook_params: dict[str, Any]
) -> dict[str, Any]:
    """Run one trigger per run id in one event loop until each has fired; report the process's cost.

    :param provider: ``official`` or ``ours``: whose ``DbtCloudRunJobTrigger`` to run.
    :param conn_id: The connection the triggers use.
    :param run_ids: The runs to wait for.
    :param poll_interval: Seconds between a trigger's polls.
    :param hook_params: ``hook_params`` for our triggers (the official ones take none here).
    :return: CPU seconds, wall seconds and each run's event (status, epoch seconds).
    """
    if provider == "official":
        from airflow.providers.dbt.cloud.triggers.dbt import DbtCloudRunJobTrigger
    else:
        from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger
    cpu, wall = time.process_time(), time.perf_counter()
    events = asyncio.run(
        _run_all(
            DbtCloudRunJobTrigger, conn_id, run_ids, poll_interval, hook_params if provider == "ours" else {}
        )
    )
    return {
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "events": {str(run_id): event for run_id, event in events.items()},
    }
