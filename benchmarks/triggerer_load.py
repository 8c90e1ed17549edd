"""Scenario 6, the worker's side: many run triggers in one event loop, the way a triggerer runs them.

A triggerer process runs every trigger assigned to it as a task of one asyncio loop. This module does
the same with N ``DbtCloudRunJobTrigger`` objects (this provider's or the official one, whichever the
worker imported) and reports what the process spent: CPU seconds, peak RSS, and when each trigger's
event came. The parent (``compare_official.py``) counts what reached the emulator: requests, TCP
connections, the busiest minute, and the delay from each run's end to its event.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import ssl
import time
from typing import Any

#: Run statuses after which a floor trigger stops: success, error, cancelled.
_ENDED = (10, 20, 30)


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


class _FloorEvent:
    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload


class FloorTrigger:
    """The least a run trigger can do with aiohttp: one GET per poll on a shared kept-alive session.

    No retries, no rate budget, no progress, no hook: the status is read from the JSON answer and
    nothing else. Scenario 6 runs it beside the real triggers to show what a poll costs by itself.
    Made like a run trigger (same keyword arguments), so :func:`_run_all` drives it unchanged.

    :param conn_id: The connection (its ``AIRFLOW_CONN_*`` JSON: host URL, login, password, CA bundle).
    :param run_id: The run to wait for.
    :param end_time: Unused (the scenario's runs always end).
    :param poll_interval: Seconds between polls.
    :param account_id: Unused: the connection's login is the account.
    """

    sessions: dict[int, Any] = {}

    def __init__(
        self, conn_id: str, run_id: int, end_time: float, poll_interval: float, account_id: Any
    ) -> None:
        conn = json.loads(os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"])
        self.url = f"{conn['host'].rstrip('/')}/api/v2/accounts/{conn['login']}/runs/{run_id}/"
        self.headers = {"Authorization": f"Token {conn['password']}", "Accept": "application/json"}
        self.ca_file = conn["extra"]["ca_bundle"]
        self.poll_interval = poll_interval

    def _session(self) -> Any:
        import aiohttp

        loop = id(asyncio.get_running_loop())
        if loop not in self.sessions:
            context = ssl.create_default_context(cafile=self.ca_file)
            self.sessions[loop] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=10, ssl=context))
        return self.sessions[loop]

    async def run(self) -> Any:
        """Poll until the run has ended, then yield one event with its status name."""
        first = True
        while True:
            async with self._session().get(self.url, headers=self.headers) as response:
                status = json.loads(await response.read())["data"]["status"]
            if status in _ENDED:
                yield _FloorEvent({"status": {10: "success", 20: "error", 30: "cancelled"}[status]})
                return
            # Spread like ours: triggers that started together do not keep polling together.
            await asyncio.sleep(self.poll_interval * ((0.5 + random.random()) if first else 1.0))
            first = False


async def _close_floor_sessions() -> None:
    for session in FloorTrigger.sessions.values():
        await session.close()
    FloorTrigger.sessions.clear()


def run_triggers(
    provider: str, conn_id: str, run_ids: list[int], poll_interval: float, hook_params: dict[str, Any]
) -> dict[str, Any]:
    """Run one trigger per run id in one event loop until each has fired; report the process's cost.

    :param provider: ``official`` or ``ours``: whose ``DbtCloudRunJobTrigger`` to run; ``floor`` for
        :class:`FloorTrigger` (in a worker of ours, over our connection).
    :param conn_id: The connection the triggers use.
    :param run_ids: The runs to wait for.
    :param poll_interval: Seconds between a trigger's polls.
    :param hook_params: ``hook_params`` for our triggers (the official ones take none here).
    :return: CPU seconds, wall seconds and each run's event (status, epoch seconds).
    """
    trigger_class: Any
    if provider == "official":
        from airflow.providers.dbt.cloud.triggers.dbt import DbtCloudRunJobTrigger as trigger_class
    elif provider == "floor":
        trigger_class = FloorTrigger
    else:
        from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger as trigger_class

    async def run_all() -> dict[int, tuple[str, float]]:
        try:
            return await _run_all(
                trigger_class, conn_id, run_ids, poll_interval, hook_params if provider == "ours" else {}
            )
        finally:
            await _close_floor_sessions()

    cpu, wall = time.process_time(), time.perf_counter()
    events = asyncio.run(run_all())
    return {
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "events": {str(run_id): event for run_id, event in events.items()},
    }
