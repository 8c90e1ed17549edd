"""The watcher's decisions: which finished runs are new, which count, and the mark that survives restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.run_watch import (
    STOPPED_RECHECK_SECONDS,
    JobMark,
    PollErrors,
    RunFilter,
    WatchState,
    run_event,
    snapshot_payload,
)
from airflow_dbtcloud.api.waiting import MAX_BACKOFF_SECONDS
from airflow_dbtcloud.hooks.dbt import DbtCloudAuthError, DbtCloudRateLimitError, DbtCloudServerError

MARKER = "[airflow:0123456789abcdef]"


def run(run_id, status=10, cause="Kicked off from UI by someone", environment_id=200, created="2026-11-01"):
    return RunState.from_payload(
        {
            "id": run_id,
            "status": status,
            "job_definition_id": 300,
            "environment_id": environment_id,
            "created_at": f"{created} 10:00:00.000000+00:00",
            "trigger": {"cause": cause},
        }
    )


def test_a_new_watcher_starts_from_now():
    snapshot = [run(7), run(5), run(4, status=3)]
    mark = JobMark.start(snapshot)
    assert mark == JobMark(after=3, seen=frozenset({5, 7})), "the running run 4 holds the mark below it"
    _, ended = mark.advance(snapshot)
    assert ended == [], "runs that had ended before the watcher started do not fire"


def test_a_run_going_at_the_start_fires_when_it_ends():
    mark = JobMark.start([run(5), run(4, status=3)])
    mark, ended = mark.advance([run(6, status=1), run(5), run(4)])
    assert [r.id for r in ended] == [4]
    assert mark == JobMark(after=5, seen=frozenset())


def test_each_finished_run_is_reported_once_whatever_the_order_runs_end_in():
    mark = JobMark(after=10)
    mark, ended = mark.advance([run(13), run(12, status=3), run(11)])
    assert [r.id for r in ended] == [11, 13]
    assert mark == JobMark(after=11, seen=frozenset({13}))
    mark, ended = mark.advance([run(14, status=2), run(13), run(12), run(11)])
    assert [r.id for r in ended] == [12], "13 was reported already; 12 ended since"
    assert mark == JobMark(after=13, seen=frozenset())
    mark, ended = mark.advance([run(14, status=2), run(13), run(12)])
    assert ended == []
    assert mark.after == 13


def test_a_replay_reports_every_finished_run_above_the_given_id():
    mark = JobMark.start([run(9), run(8), run(7)], start_after_run_id=7)
    _, ended = mark.advance([run(9), run(8), run(7)])
    assert [r.id for r in ended] == [8, 9]


def test_an_empty_job_starts_at_zero_and_reports_its_first_run():
    mark = JobMark.start([])
    _, ended = mark.advance([run(1)])
    assert [r.id for r in ended] == [1]


def test_the_mark_never_goes_back():
    mark, ended = JobMark(after=20).advance([run(3), run(2)])
    assert (mark, ended) == (JobMark(after=20), [])


def test_state_survives_json_and_merges_to_the_furthest_mark_per_job():
    state = WatchState({300: JobMark(11, frozenset({13})), 301: JobMark(4)})
    stored = json.loads(json.dumps(state.to_json()))
    assert WatchState.from_json(stored) == state
    older = WatchState({300: JobMark(9), 302: JobMark(1)})
    assert WatchState.merge([older, state]).marks == {
        300: JobMark(11, frozenset({13})),
        301: JobMark(4),
        302: JobMark(1),
    }


@pytest.mark.parametrize("stored", [None, "x", {"jobs": "x"}, {"jobs": {"300": {"seen": []}}}])
def test_unreadable_state_reads_as_none(stored):
    assert WatchState.from_json(stored).marks == {}


def test_the_default_filter_wants_successful_runs():
    wanted = RunFilter()
    assert wanted.wants(run(1, status=10))
    assert not wanted.wants(run(1, status=20))


def test_filters_on_environment_cause_and_runs_started_by_airflow():
    wanted = RunFilter(
        statuses=frozenset({10, 20}), environment_id=200, cause_contains="ui", exclude_airflow_runs=True
    )
    assert wanted.wants(run(1, status=20))
    assert not wanted.wants(run(1, environment_id=201))
    assert not wanted.wants(run(1, cause="Scheduled"))
    assert not wanted.wants(run(1, cause=f"Kicked off from UI {MARKER}")), "ours, by the marker"
    assert RunFilter().wants(run(1, cause=f"Triggered via Apache Airflow {MARKER}"))


def test_filter_on_when_the_run_was_created():
    wanted = RunFilter(started_after=datetime(2026, 11, 2, tzinfo=UTC))
    assert wanted.wants(run(1, created="2026-11-03"))
    assert not wanted.wants(run(1, created="2026-11-01"))


@pytest.mark.parametrize("statuses", [frozenset(), frozenset({3}), frozenset({10, 1})])
def test_a_filter_accepts_only_end_statuses(statuses):
    with pytest.raises(ValueError, match="statuses must be end statuses"):
        RunFilter(statuses=statuses)


def test_the_event_says_what_the_triggered_dag_needs_and_drops_the_marker():
    payload = {
        "id": 1001,
        "status": 10,
        "account_id": 1,
        "project_id": 100,
        "environment_id": 200,
        "job_definition_id": 300,
        "finished_at": "2026-11-29 10:00:05+00:00",
        "href": "https://cloud.example/runs/1001/",
        "artifacts_saved": True,
        "has_docs_generated": False,
        "trigger": {"cause": f"Nightly {MARKER}", "cause_category": "api"},
    }
    event = run_event(RunState.from_payload(payload))
    assert (event["run_id"], event["job_id"]) == (1001, 300)
    assert (event["status"], event["status_name"]) == (10, "SUCCESS")
    assert (event["cause"], event["started_by_airflow"], event["cause_category"]) == ("Nightly", True, "api")
    assert (event["artifacts_saved"], event["has_docs_generated"]) == (True, False)
    assert event["url"] == "https://cloud.example/runs/1001/"
    assert json.loads(json.dumps(event)) == event


def test_one_poll_is_one_request_for_the_newest_runs_with_their_cause():
    assert snapshot_payload(300, 50) == {
        "job_definition_id": 300,
        "order_by": "-id",
        "limit": 50,
        "include_related": '["trigger"]',
    }


def test_transient_errors_are_waited_out_within_the_budget_others_stop_the_watch():
    errors = PollErrors(poll_interval=5, budget=2)
    busy = DbtCloudServerError(503, "GET", "/runs/")
    assert errors.pause_after(busy) == 5
    assert errors.pause_after(busy) == 10
    assert errors.pause_after(busy) is None, "the third in a row is over the budget"
    errors.succeeded()
    assert errors.pause_after(busy) == 5
    assert PollErrors(5).pause_after(DbtCloudAuthError(401, "GET", "/runs/")) is None


def test_a_watcher_polls_through_a_long_outage_and_stops_only_for_errors_polling_cannot_fix():
    errors = PollErrors(poll_interval=5, budget=1)
    busy = DbtCloudServerError(503, "GET", "/runs/")
    assert errors.pause_for_watcher(busy) == (5, False)
    assert errors.pause_for_watcher(busy) == (MAX_BACKOFF_SECONDS, False), (
        "beyond the budget: the longest pause"
    )
    slow_down = DbtCloudRateLimitError(429, "GET", "/runs/", retry_after=900.0)
    assert errors.pause_for_watcher(slow_down) == (900.0, False), "Retry-After wins when longer"
    rejected = DbtCloudAuthError(401, "GET", "/runs/")
    assert PollErrors(5).pause_for_watcher(rejected) == (STOPPED_RECHECK_SECONDS, True)
