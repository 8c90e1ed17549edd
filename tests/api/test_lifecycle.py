"""The run lifecycle, stepped call by call: which public hook methods it calls, with what, and why."""

from __future__ import annotations

import logging

import pytest

from airflow_dbtcloud._transport.errors import (
    DbtCloudBadRequestError,
    DbtCloudNotFoundError,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
)
from airflow_dbtcloud._transport.flow import drive
from airflow_dbtcloud.api.calls import Pause
from airflow_dbtcloud.api.lifecycle import (
    MARKER_GRACE_PAUSES,
    MARKER_SEARCH_DEPTH,
    START_ATTEMPTS,
    RunRequest,
    build_cause,
    marker_for,
    obtain_run,
)
from airflow_dbtcloud.api.run_state import RunState

MARKER = marker_for("d", "r", "t", -1, 2)
REQUEST = RunRequest(
    job_id=300,
    cause=build_cause("why", MARKER),
    marker=MARKER,
    account_id=None,
    steps_override=["dbt build"],
    additional_run_config={"threads_override": 4},
)
TRIGGER = {
    "account_id": None,
    "job_id": 300,
    "cause": f"why {MARKER}",
    "steps_override": ["dbt build"],
    "schema_override": None,
    "retry_from_failure": False,
    "additional_run_config": {"threads_override": 4},
}
SEARCH = {
    "account_id": None,
    "payload": {
        "job_definition_id": 300,
        "order_by": "-id",
        "limit": MARKER_SEARCH_DEPTH,
        "include_related": '["trigger"]',
    },
}
#: dbt Cloud answered 502: it was done with the request, so one search for the marker settles it.
MAY_EXIST = DbtCloudRunMayExistError("POST", "/api/v2/accounts/1/jobs/300/run/", "HTTP 502", answered=True)
#: No answer came (a read timeout): dbt Cloud may still be creating the run.
NO_ANSWER = DbtCloudRunMayExistError("POST", "/api/v2/accounts/1/jobs/300/run/", "read timeout")


def run(run_id, status=1, **extra):
    return RunState.from_payload({"id": run_id, "status": status, **extra})


class Script:
    """Answers each call from a list of (method, answer) in order; records the calls it got."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, call):
        if isinstance(call, Pause):
            self.calls.append(("pause", call.seconds))
            return None
        self.calls.append((call.method, dict(call.kwargs)))
        method, answer = self.answers.pop(0)
        assert call.method == method, f"expected {method}, the flow called {call.method}"
        if isinstance(answer, Exception):
            raise answer
        return answer

    def methods(self):
        return [method for method, _ in self.calls]


def obtain(script, **kwargs):
    result = drive(obtain_run(REQUEST, log=logging.getLogger("test"), **kwargs), script)
    assert script.answers == [], "the flow stopped before using every scripted answer"
    return result


def test_first_try_starts_with_the_official_trigger_arguments():
    script = Script(("trigger_job_run", run(11)))
    obtained = obtain(script)
    assert (obtained.run.id, obtained.decision) == (11, "fresh_submit")
    assert script.calls == [("trigger_job_run", TRIGGER)]


@pytest.mark.parametrize(("status", "decision"), [(3, "reconnect"), (10, "already_succeeded")])
def test_a_stored_run_still_going_or_succeeded_is_reattached(status, decision):
    script = Script(("get_job_run", run(11, status)))
    obtained = obtain(script, stored_run_id=11, search_earlier=True)
    assert (obtained.run.id, obtained.decision, obtained.earlier_run_id) == (11, decision, 11)
    assert script.calls == [("get_job_run", {"run_id": 11, "account_id": None, "include_related": None})]


def test_a_retry_without_stored_id_finds_its_run_by_the_marker():
    found = [run(13, 3, trigger={"cause": "other"}), run(12, 3, trigger={"cause": f"why {MARKER}"})]
    script = Script(("get_job_runs", found))
    obtained = obtain(script, search_earlier=True)
    assert (obtained.run.id, obtained.decision) == (12, "reconnect")
    assert script.calls == [("get_job_runs", SEARCH)]


def test_a_stored_run_that_no_longer_exists_falls_back_to_the_marker_then_starts():
    script = Script(
        ("get_job_run", DbtCloudNotFoundError(404, "GET", "/runs/11/")),
        ("get_job_runs", []),
        ("trigger_job_run", run(14)),
    )
    obtained = obtain(script, stored_run_id=11, search_earlier=True)
    assert (obtained.run.id, obtained.decision) == (14, "fresh_submit")


@pytest.mark.parametrize("status", [20, 30])
def test_an_earlier_run_that_ended_badly_is_replaced_by_a_new_run(status):
    script = Script(("get_job_run", run(11, status)), ("trigger_job_run", run(15)))
    obtained = obtain(script, stored_run_id=11)
    assert (obtained.run.id, obtained.decision, obtained.earlier_run_id) == (15, "terminal_resubmit", 11)


def test_retry_from_failure_retries_this_tasks_own_failed_run():
    script = Script(("get_job_run", run(11, 20)), ("retry_run", run(16)))
    obtained = obtain(script, stored_run_id=11, retry_from_failure=True)
    assert (obtained.run.id, obtained.decision) == (16, "retried")
    assert script.calls[1] == ("retry_run", {"run_id": 11, "account_id": None})


def test_a_failed_run_already_retried_is_followed_not_retried_again():
    script = Script(("get_job_run", run(11, 20, retrying_run_id=16)), ("get_job_run", run(16, 3)))
    obtained = obtain(script, stored_run_id=11, retry_from_failure=True)
    assert (obtained.run.id, obtained.decision) == (16, "reconnect")


def test_a_run_dbt_cloud_cannot_retry_is_replaced():
    script = Script(("get_job_run", run(11, 20, can_retry=False)), ("trigger_job_run", run(17)))
    assert obtain(script, stored_run_id=11, retry_from_failure=True).decision == "terminal_resubmit"


def test_a_refused_retry_starts_a_new_run():
    refused = DbtCloudBadRequestError(409, "POST", "/runs/11/retry/")
    script = Script(("get_job_run", run(11, 20)), ("retry_run", refused), ("trigger_job_run", run(18)))
    assert obtain(script, stored_run_id=11, retry_from_failure=True).run.id == 18


def test_a_lost_retry_answer_is_resolved_from_the_failed_run():
    script = Script(
        ("get_job_run", run(11, 20)),
        ("retry_run", MAY_EXIST),
        ("get_job_run", run(11, 20, retrying_run_id=19)),
        ("get_job_run", run(19, 1)),
    )
    assert obtain(script, stored_run_id=11, retry_from_failure=True).run.id == 19


def test_a_lost_start_answer_is_resolved_by_the_marker_without_a_second_start():
    mine = run(21, 1, trigger={"cause": f"why {MARKER}"})
    script = Script(("trigger_job_run", MAY_EXIST), ("get_job_runs", [mine]))
    obtained = obtain(script)
    assert (obtained.run.id, obtained.decision) == (21, "fresh_submit")
    assert script.methods().count("trigger_job_run") == 1


def test_without_an_answer_the_marker_is_searched_again_while_dbt_cloud_may_still_create_the_run():
    mine = run(24, 1, trigger={"cause": f"why {MARKER}"})
    script = Script(
        ("trigger_job_run", NO_ANSWER),
        ("get_job_runs", []),
        ("get_job_runs", []),
        ("get_job_runs", [mine]),
    )
    assert obtain(script).run.id == 24
    assert script.methods() == [
        "trigger_job_run",
        "get_job_runs",
        "pause",
        "get_job_runs",
        "pause",
        "get_job_runs",
    ]
    assert [c[1] for c in script.calls if c[0] == "pause"] == list(MARKER_GRACE_PAUSES[:2])


def test_without_an_answer_the_start_is_sent_again_only_after_the_grace_searches():
    searches = [("get_job_runs", [])] * (1 + len(MARKER_GRACE_PAUSES))
    script = Script(("trigger_job_run", NO_ANSWER), *searches, ("trigger_job_run", run(25)))
    assert obtain(script).run.id == 25
    assert script.methods().count("pause") == len(MARKER_GRACE_PAUSES)


def test_a_start_that_did_not_happen_is_sent_again():
    script = Script(("trigger_job_run", MAY_EXIST), ("get_job_runs", []), ("trigger_job_run", run(22)))
    assert obtain(script).run.id == 22


def test_an_earlier_tries_run_does_not_count_as_the_lost_start():
    earlier = run(11, 20, trigger={"cause": f"why {MARKER}"})
    script = Script(
        ("get_job_run", earlier),
        ("trigger_job_run", MAY_EXIST),
        ("get_job_runs", [earlier]),
        ("trigger_job_run", run(23)),
    )
    assert obtain(script, stored_run_id=11).run.id == 23


def test_unknown_outcomes_on_every_attempt_raise():
    answers = [
        item for _ in range(START_ATTEMPTS) for item in (("trigger_job_run", MAY_EXIST), ("get_job_runs", []))
    ]
    with pytest.raises(DbtCloudRunMayExistError):
        obtain(Script(*answers))


def test_without_a_marker_a_lost_answer_cannot_be_resolved():
    request = RunRequest(job_id=300, cause="why", marker=None)
    script = Script(("trigger_job_run", MAY_EXIST))
    with pytest.raises(DbtCloudRunMayExistError):
        drive(obtain_run(request, search_earlier=True), script)


def test_reuse_adopts_the_newest_run_that_has_not_ended_with_the_official_query():
    script = Script(("get_job_runs", [run(30, 3), run(29, 1)]))
    obtained = obtain(script, reuse_existing_run=True)
    assert (obtained.run.id, obtained.decision) == (30, "reused")
    assert script.calls == [
        (
            "get_job_runs",
            {
                "account_id": None,
                "payload": {"job_definition_id": 300, "status__in": "[1, 2, 3]", "order_by": "-created_at"},
            },
        )
    ]


def test_reuse_starts_a_run_when_none_is_going():
    script = Script(("get_job_runs", []), ("trigger_job_run", run(31)))
    assert obtain(script, reuse_existing_run=True).decision == "fresh_submit"


def test_rerun_latest_passes_the_official_retry_from_failure_on():
    script = Script(("trigger_job_run", run(32)))
    obtain(script, rerun_latest=True)
    assert script.calls[0][1]["retry_from_failure"] is True


def test_other_api_errors_are_not_swallowed():
    script = Script(("trigger_job_run", DbtCloudServerError(500, "POST", "/run/")))
    with pytest.raises(DbtCloudServerError):
        obtain(script)


def test_markers_differ_by_clear_generation_and_by_try_when_not_durable():
    assert marker_for("d", "r", "t", -1, 2) != marker_for("d", "r", "t", -1, 3)
    assert marker_for("d", "r", "t", -1, 2, 1) != marker_for("d", "r", "t", -1, 2, 2)
    assert marker_for("d", "r", "t", -1, 2) == MARKER


def test_the_cause_keeps_the_marker_within_255_characters():
    cause = build_cause("x" * 400, MARKER)
    assert len(cause) == 255
    assert cause.endswith(f"… {MARKER}")
    assert build_cause("  spaced\nreason ", None) == "  spaced\nreason "
