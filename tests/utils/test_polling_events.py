from __future__ import annotations

import pytest

from airflow_dbtcloud.utils.events import DbtCloudEventError, make_event, validate_event
from airflow_dbtcloud.utils.polling import Deadlines, ErrorBudget, describe_progress


def test_deadlines_say_which_passed():
    deadlines = Deadlines(end_time=100.0, execution_deadline=50.0)
    assert deadlines.passed(10) is None
    assert deadlines.passed(60) == "execution_timeout"
    assert Deadlines(end_time=100.0).passed(100) == "timeout"
    assert deadlines.remaining(40) == 10
    assert deadlines.remaining(500) == 0


def test_error_budget_exhausts_and_refills():
    budget = ErrorBudget(limit=2, poll_interval=1)
    assert budget.record_error()
    assert budget.record_error()
    assert not budget.record_error()
    budget.record_success()
    assert budget.record_error()


def test_backoff_grows_caps_and_honours_retry_after():
    budget = ErrorBudget(limit=10, poll_interval=2, max_backoff=10)
    budget.record_error()
    assert budget.backoff() == 2
    budget.record_error()
    assert budget.backoff() == 4
    for _ in range(5):
        budget.record_error()
    assert budget.backoff() == 10
    assert budget.backoff(retry_after=30) == 30


def test_describe_progress_names_current_step():
    run = {
        "status_humanized": "Running",
        "run_steps": [
            {"index": 1, "status": 10, "name": "Clone"},
            {"index": 2, "status": 3, "name": "Invoke dbt with `dbt build`"},
            {"index": 3, "status": 1, "name": "Docs"},
        ],
    }
    text = describe_progress(run, started=100.0, clock=lambda: 142.0)
    assert text == "Running after 42s, step 2/3: Invoke dbt with `dbt build`"


def test_validate_event_accepts_official_shape():
    event = validate_event({"status": "success", "message": "ok", "run_id": "5"})
    assert event["run_id"] == 5
    assert event["reason"] is None


def test_validate_event_round_trips_our_shape():
    event = make_event("timeout", 5, "late", run_status=3, reason="timeout", elapsed_seconds=1.23456)
    assert validate_event(dict(event)) == event


@pytest.mark.parametrize(
    "event",
    [None, "x", {"status": "success"}, {"status": "weird", "run_id": 1}, {"status": "error", "run_id": "x"}],
)
def test_validate_event_rejects_malformed(event):
    with pytest.raises(DbtCloudEventError):
        validate_event(event)
