"""RunState: the one place a run payload is read and its status checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from api_failure_payloads import RUN

from airflow_dbtcloud._transport.errors import DbtCloudPayloadError
from airflow_dbtcloud.api.run_state import RunState, parse_time


def test_reads_the_fields_the_provider_uses():
    run = RunState.from_payload(
        {**RUN, "account_id": 1, "project_id": 100, "job_definition_id": 300, "trigger": {"cause": "x [m]"}}
    )
    assert (run.id, run.status, run.outcome, run.is_terminal) == (7, 20, "error", True)
    assert (run.account_id, run.project_id, run.job_id, run.cause) == (1, 100, 300, "x [m]")
    assert [step.index for step in run.steps if step.failed] == [2]


def test_an_answer_without_status_is_neither_pending_nor_ended():
    run = RunState.from_payload({"id": 5, "href": "https://h/r/5/"})
    assert run.status is None
    assert run.outcome is None
    assert not run.is_terminal


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (None, "expected a run object"),
        ([], "expected a run object"),
        ({"status": 1}, "id must be an integer, got None"),
        ({"id": "x"}, "id must be an integer"),
        ({"id": True}, "id must be an integer"),
        ({"id": 1, "status": 4}, "status 4 is not a dbt Cloud run status"),
        ({"id": 1, "run_steps": [{"index": 1, "status": "bad"}]}, "step status must be an integer"),
    ],
)
def test_malformed_payloads_are_refused_with_a_clear_error(payload, problem):
    with pytest.raises(DbtCloudPayloadError, match=problem):
        RunState.from_payload(payload)


def test_digit_strings_are_tolerated_for_ids():
    assert RunState.from_payload({"id": "12", "status": "3"}).status == 3


def test_progress_names_the_current_step():
    run = RunState.from_payload(
        {
            "id": 1,
            "status": 3,
            "status_humanized": "Running",
            "run_steps": [
                {"index": 1, "status": 10, "name": "Clone"},
                {"index": 2, "status": 3, "name": "Build"},
            ],
        }
    )
    assert run.progress(42.4) == "Running after 42s, step 2/2: Build"


def test_parse_time_reads_dbt_cloud_timestamps():
    assert parse_time("2026-11-29 10:00:05.123456+00:00") == datetime(2026, 11, 29, 10, 0, 5, 123456, UTC)
    assert parse_time("2026-11-29T10:00:05") == datetime(2026, 11, 29, 10, 0, 5, tzinfo=UTC)
    assert parse_time(None) is None
