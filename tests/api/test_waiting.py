"""The wait policy every waiter shares, and the trigger event contract."""

from __future__ import annotations

import pytest

from airflow_dbtcloud._transport.errors import DbtCloudAuthError, DbtCloudRateLimitError, DbtCloudServerError
from airflow_dbtcloud.api.waiting import (
    DbtCloudTriggerEventException,
    Waiter,
    WaitOutcome,
    deadlines,
    spread_pause,
    validate_execute_complete_event,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def waiter(clock, **kwargs):
    return Waiter(5, poll_interval=10, end_time=clock.now + 100, clock=clock, **kwargs)


def test_success_ends_the_wait_as_reached():
    step = waiter(Clock()).after_status(10)
    assert step.outcome == WaitOutcome("reached", 5, 10)


@pytest.mark.parametrize(("status", "event"), [(20, "error"), (30, "cancelled")])
def test_another_terminal_status_ends_the_wait(status, event):
    outcome = waiter(Clock()).after_status(status).outcome
    assert outcome.end == "ended"
    assert outcome.event_status == event


def test_pending_pauses_and_notes_only_changes():
    clock = Clock()
    wait = waiter(clock)
    first = wait.after_status(1)
    second = wait.after_status(1)
    third = wait.after_status(3)
    assert (first.outcome, first.pause) == (None, 10)
    assert first.note == "Job run 5 is QUEUED after 0s."
    assert second.note is None
    assert third.note == "Job run 5 is RUNNING after 0s."


def test_a_heartbeat_note_comes_even_without_change():
    clock = Clock()
    wait = waiter(clock, heartbeat=60)
    wait.after_status(3)
    clock.now += 61
    assert wait.after_status(3).note == "Job run 5 is RUNNING after 61s."


def test_the_pause_is_cut_to_the_deadline():
    clock = Clock()
    wait = waiter(clock)
    clock.now += 95
    assert wait.after_status(3).pause == 5


def test_the_waiters_deadline_ends_as_timeout_and_the_tasks_as_execution_timeout():
    clock = Clock()
    wait = Waiter(5, 10, clock.now + 100, clock.now + 50, clock=clock)
    clock.now += 50
    assert wait.after_status(3).outcome.end == "execution_timeout"
    clock.now += 50
    wait = Waiter(5, 10, clock.now, None, clock=clock)
    assert wait.after_status(3).outcome.end == "timeout"


def test_transient_errors_back_off_until_the_budget_runs_out():
    wait = waiter(Clock(), error_budget=2)
    error = DbtCloudServerError(503, "GET", "/x")
    first, second, third = (wait.after_error(error) for _ in range(3))
    assert (first.pause, second.pause) == (10, 20)
    assert "Transient error polling job run 5 (1/2)" in first.warning
    assert third.outcome.end == "gave_up"
    assert third.outcome.event_status == "api_error"
    assert "after 3 transient API errors in a row" in third.outcome.detail


def test_a_success_refills_the_budget():
    wait = waiter(Clock(), error_budget=1)
    error = DbtCloudServerError(503, "GET", "/x")
    wait.after_error(error)
    wait.after_status(3)
    assert wait.after_error(error).outcome is None


def test_retry_after_wins_when_longer():
    step = waiter(Clock()).after_error(DbtCloudRateLimitError(429, "GET", "/x", retry_after=45))
    assert step.pause == 45


def test_a_non_transient_error_ends_the_wait_at_once_as_the_official_error():
    error = DbtCloudAuthError(401, "GET", "/x")
    outcome = waiter(Clock()).after_error(error).outcome
    assert outcome.end == "api_failed"
    assert outcome.to_event() == {"status": "error", "message": str(error), "run_id": 5}


@pytest.mark.parametrize(
    ("outcome", "event"),
    [
        (
            WaitOutcome("reached", 5, 10),
            {"status": "success", "message": "Job run 5 has completed successfully."},
        ),
        (WaitOutcome("ended", 5, 20), {"status": "error", "message": "Job run 5 has failed."}),
        (WaitOutcome("ended", 5, 30), {"status": "cancelled", "message": "Job run 5 has been cancelled."}),
        (WaitOutcome("execution_timeout", 5), {"status": "timeout", "message": "Job run 5 has timed out."}),
        (
            WaitOutcome("timeout", 5),
            {
                "status": "error",
                "message": "Job run 5 has not reached a terminal status within the configured timeout.",
            },
        ),
        (WaitOutcome("gave_up", 5, detail="gave up"), {"status": "api_error", "message": "gave up"}),
        (
            WaitOutcome("api_failed", 5, detail="Test exception"),
            {"status": "error", "message": "Test exception"},
        ),
    ],
)
def test_events_have_the_official_shape_and_read_back(outcome, event):
    assert outcome.to_event() == {**event, "run_id": 5}
    back = WaitOutcome.from_event(outcome.to_event())
    assert (back.end, back.event_status, back.message) == (outcome.end, outcome.event_status, outcome.message)


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (None, "event is None"),
        ({"status": "ended"}, "Unexpected trigger event status 'ended'"),
        ("x", "None"),
    ],
)
def test_malformed_events_fail_loudly(event, match):
    with pytest.raises(DbtCloudTriggerEventException, match=match):
        validate_execute_complete_event(event)


def test_a_valid_event_comes_back_unchanged():
    event = {"status": "success", "run_id": 1, "message": "ok"}
    assert validate_execute_complete_event(event) is event


def test_deadlines_are_absolute():
    assert deadlines(10, None, 100.0) == (110.0, None)
    assert deadlines(10, 5, 100.0) == (110.0, 105.0)


def test_a_run_longer_than_expected_is_warned_about_once_and_still_waited_for():
    clock = Clock()
    wait = waiter(clock, expected_duration=30)
    assert wait.after_status(3).warning is None
    clock.now += 31
    step = wait.after_status(3)
    assert step.warning == "Job run 5 has taken 31s, longer than the expected 30s; still waiting."
    assert step.outcome is None
    clock.now += 10
    assert wait.after_status(3).warning is None, "once"


def test_a_spread_pause_lies_around_the_usual_one():
    assert spread_pause(60, draw=lambda: 0.0) == 30.0
    assert spread_pause(60, draw=lambda: 0.5) == 60.0
    assert spread_pause(-5, draw=lambda: 0.5) == 0.0
    delays = [spread_pause(10) for _ in range(2000)]
    assert all(5 <= d < 15 for d in delays)
    assert len(set(delays)) > 1900, "spread out, not all at once"
    # Centred on the usual pause: a spread trigger polls as often as an unspread one, on average.
    assert 9.7 < sum(delays) / len(delays) < 10.3
