from __future__ import annotations

from unittest import mock

import pytest
from glue_doubles import OFFICIAL_TRIGGER_KEYS

from airflow_dbtcloud.hooks.dbt import (
    DbtCloudAuthError,
    DbtCloudHook,
    DbtCloudServerError,
    DbtCloudTransportError,
)
from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger, wait_arguments

MODULE = "airflow_dbtcloud.triggers.dbt"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_trigger(statuses, clock=None, **kwargs):
    """A trigger whose hook returns (or raises) the given items in order."""
    clock = clock or FakeClock()
    params = {
        "conn_id": "dbt_cloud_default",
        "run_id": 5,
        "end_time": clock.now + 3600,
        "poll_interval": 10,
        "account_id": 1,
    }
    params.update(kwargs)
    trigger = DbtCloudRunJobTrigger(**params)
    trigger._clock = clock
    trigger._sleep = clock.sleep
    trigger._spread = lambda pause: pause  # the pause after the first poll, unspread
    hook = mock.create_autospec(DbtCloudHook, instance=True, spec_set=True)
    hook.__aenter__.return_value = hook
    hook.__aexit__.return_value = False
    hook.get_job_status.side_effect = list(statuses)
    return trigger, hook, clock


async def run_once(trigger, hook):
    with mock.patch(f"{MODULE}.DbtCloudHook", return_value=hook) as factory:
        events = [event async for event in trigger.run()]
    assert len(events) == 1
    factory.assert_called_once()
    return events[0].payload


def server_error():
    return DbtCloudServerError(503, "GET", "/api/v2/accounts/1/runs/5/")


def test_serialize_round_trips_without_secrets():
    trigger = DbtCloudRunJobTrigger(
        conn_id="dbt_cloud_default",
        run_id=5,
        end_time=123.0,
        poll_interval=2,
        account_id=1,
        hook_params={"retry_limit": 3, "bad": object()},
        execution_deadline=99.0,
        error_budget=4,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_dbtcloud.triggers.dbt.DbtCloudRunJobTrigger"
    assert kwargs["hook_params"] == {"retry_limit": 3}
    rebuilt = DbtCloudRunJobTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_serialize_survives_airflow_serde():
    from airflow.sdk.serde import deserialize, serialize

    trigger = DbtCloudRunJobTrigger("c", 5, 1.0, 2.0, None)
    _, kwargs = trigger.serialize()
    assert DbtCloudRunJobTrigger(**deserialize(serialize(kwargs))).serialize()[1] == kwargs


def test_official_constructor_signature_still_works():
    trigger = DbtCloudRunJobTrigger(conn_id="c", run_id=1, end_time=2.0, poll_interval=3.0, account_id=None)
    assert trigger.execution_deadline is None
    assert trigger.hook_params == {}


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (10, {"status": "success", "message": "Job run 5 has completed successfully."}),
        (20, {"status": "error", "message": "Job run 5 has failed."}),
        (30, {"status": "cancelled", "message": "Job run 5 has been cancelled."}),
    ],
)
async def test_terminal_status_yields_the_official_event(status, event):
    trigger, hook, clock = make_trigger([1, 3, status])
    assert await run_once(trigger, hook) == {**event, "run_id": 5}
    assert clock.sleeps == [10, 10]
    hook.get_job_status.assert_awaited_with(5, 1)
    hook.__aexit__.assert_awaited_once()


async def test_trigger_keeps_polling_after_transient_errors():
    errors = [server_error(), DbtCloudTransportError("GET", "/p", "reset", True), server_error()]
    trigger, hook, clock = make_trigger([3, *errors, 10])
    event = await run_once(trigger, hook)
    assert event["status"] == "success"
    assert hook.get_job_status.await_count == 5
    assert clock.sleeps[1:4] == [10, 20, 40]


async def test_exhausted_error_budget_yields_api_error():
    trigger, hook, _ = make_trigger([server_error()] * 4, error_budget=3)
    event = await run_once(trigger, hook)
    assert event["status"] == "api_error"
    assert "after 4 transient API errors in a row" in event["message"]


async def test_non_transient_error_ends_the_wait_at_once_as_the_official_error_event():
    auth = DbtCloudAuthError(401, "GET", "/p", user_message="Invalid token.")
    trigger, hook, _ = make_trigger([auth, 10])
    event = await run_once(trigger, hook)
    assert event == {"status": "error", "message": str(auth), "run_id": 5}
    assert "Invalid token." in event["message"]
    assert hook.get_job_status.await_count == 1


async def test_an_unexpected_error_still_ends_with_an_event():
    trigger, hook, _ = make_trigger([RuntimeError("bug")])
    assert await run_once(trigger, hook) == {"status": "error", "message": "bug", "run_id": 5}


async def test_end_time_yields_the_official_timeout_event():
    clock = FakeClock()
    trigger, hook, _ = make_trigger([3] * 10, clock=clock, end_time=clock.now + 25)
    event = await run_once(trigger, hook)
    assert event == {
        "status": "error",
        "message": "Job run 5 has not reached a terminal status within the configured timeout.",
        "run_id": 5,
    }
    assert clock.sleeps == [10, 10, 5]


async def test_execution_deadline_wins_when_earlier():
    clock = FakeClock()
    trigger, hook, _ = make_trigger([3] * 10, clock=clock, execution_deadline=clock.now + 15)
    event = await run_once(trigger, hook)
    assert event == {"status": "timeout", "message": "Job run 5 has timed out.", "run_id": 5}


async def test_deadline_passes_during_error_backoff():
    clock = FakeClock()
    trigger, hook, _ = make_trigger([server_error()] * 10, clock=clock, end_time=clock.now + 15)
    event = await run_once(trigger, hook)
    assert event["status"] == "error"
    assert "within the configured timeout" in event["message"]


async def test_is_still_running():
    trigger, hook, _ = make_trigger([3, 10])
    assert await trigger.is_still_running(hook)
    assert not await trigger.is_still_running(hook)


def test_serialize_keeps_the_official_keys_when_the_budget_is_the_default():
    _, kwargs = DbtCloudRunJobTrigger("c", 5, 1.0, 2.0, None).serialize()
    assert set(kwargs) == OFFICIAL_TRIGGER_KEYS


def test_wait_arguments_make_the_deadlines_absolute():
    with mock.patch(f"{MODULE}.time.time", return_value=100.0):
        arguments = wait_arguments(
            conn_id="c",
            run_id=5,
            account_id=None,
            poll_interval=3,
            timeout=60,
            execution_timeout=30,
            hook_params={},
        )
    assert arguments == {
        "conn_id": "c",
        "run_id": 5,
        "end_time": 160.0,
        "execution_deadline": 130.0,
        "account_id": None,
        "poll_interval": 3,
        "hook_params": {},
    }


async def test_the_trigger_logs_live_progress_from_the_emulator(dbt_cloud_emulator, monkeypatch, capsys):
    import time

    for name, value in dbt_cloud_emulator.env().items():
        monkeypatch.setenv(name, value)
    dbt_cloud_emulator.set_job_script(300, running_seconds=2.0)
    async with DbtCloudHook() as hook:
        run_id = (await hook.atrigger_job_run(300, "progress in the triggerer"))["data"]["id"]
    deadline = time.time() + 60
    trigger = DbtCloudRunJobTrigger("dbt_cloud_default", run_id, deadline, poll_interval=0.2, account_id=None)
    events = [event async for event in trigger.run()]
    assert events[0].payload["status"] == "success"
    logged = capsys.readouterr().out
    prefix = f"Job run {run_id}, step 1: "
    counters = [line.split(prefix, 1)[1].split(" ", 1)[0] for line in logged.splitlines() if prefix in line]
    assert [c for c in counters if "/" in c] == [f"{i}/18" for i in range(1, 19)]


async def test_it_polls_at_once_then_spreads_the_pause_after_its_first_poll():
    trigger, hook, clock = make_trigger([3, 3, 10])
    trigger._spread = lambda pause: pause * 0.25
    await run_once(trigger, hook)
    assert clock.sleeps == [2.5, 10], "only the first pause is a share of the interval"
