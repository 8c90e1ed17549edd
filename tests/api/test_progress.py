"""Live progress: dbt's node lines become progress lines, each once, from one request per poll."""

from __future__ import annotations

import pytest

from airflow_dbtcloud.api.progress import RunProgress, node_line
from airflow_dbtcloud.api.run_state import RunState, StepState


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "10:00:01  1 of 9 OK created sql view model dbt_prod.stg_customers ...... [CREATE VIEW in 0.12s]",
            "1/9 OK created sql view model dbt_prod.stg_customers [CREATE VIEW in 0.12s]",
        ),
        (
            "10:00:01  2 of 9 OK loaded seed file dbt_prod.raw_orders ............... [INSERT 99 in 0.30s]",
            "2/9 OK loaded seed file dbt_prod.raw_orders [INSERT 99 in 0.30s]",
        ),
        (
            "10:00:02  3 of 9 ERROR creating sql table model dbt_prod.orders ......... [ERROR in 0.30s]",
            "3/9 ERROR creating sql table model dbt_prod.orders [ERROR in 0.30s]",
        ),
        (
            "10:00:02  4 of 9 SKIP relation dbt_prod.customers ....................... [SKIP]",
            "4/9 SKIP relation dbt_prod.customers [SKIP]",
        ),
        (
            "10:00:02  5 of 9 PASS not_null_orders_id .............. [PASS in 0.05s]",
            "5/9 PASS not_null_orders_id [PASS in 0.05s]",
        ),
        (
            "10:00:02  6 of 9 WARN 3 unique_orders_id .............. [WARN 3 in 0.05s]",
            "6/9 WARN 3 unique_orders_id [WARN 3 in 0.05s]",
        ),
        (
            "10:00:02  7 of 9 FAIL 2 accepted_values_status ........ [FAIL 2 in 0.05s]",
            "7/9 FAIL 2 accepted_values_status [FAIL 2 in 0.05s]",
        ),
        (
            "\x1b[0m10:00:03  8 of 9 OK snapshotted snapshots.orders_snapshot .. [\x1b[32mOK\x1b[0m in 0.2s]",
            "8/9 OK snapshotted snapshots.orders_snapshot [OK in 0.2s]",
        ),
        ("10:00:01  1 of 9 START sql view model dbt_prod.stg_customers ........ [RUN]", None),
        ("10:00:00  Running with dbt=1.9.4", None),
        ("10:00:00  Found 8 models, 6 data tests", None),
    ],
)
def test_node_lines(line, expected):
    assert node_line(line) == expected


def running_run(step1_status=3, step1_logs="", step2_status=None, step2_logs=""):
    steps = [
        {
            "id": 501,
            "index": 1,
            "name": "Invoke dbt with `dbt build`",
            "status": step1_status,
            "logs": step1_logs,
        }
    ]
    if step2_status is not None:
        steps.append(
            {
                "id": 502,
                "index": 2,
                "name": "Invoke dbt with `dbt docs generate`",
                "status": step2_status,
                "logs": step2_logs,
            }
        )
    else:
        steps.append({"id": 502, "index": 2, "name": "Invoke dbt with `dbt docs generate`", "status": 1})
    return RunState.from_payload({"id": 7, "status": 3, "run_steps": steps})


def step(index, status, logs, step_id=501):
    return StepState(index=index, name="Invoke dbt with `dbt build`", status=status, logs=logs, id=step_id)


LOG = [
    "10:00:00  Running with dbt=1.9.4",
    "10:00:01  1 of 3 START sql view model x.a ....... [RUN]",
    "10:00:01  1 of 3 OK created sql view model x.a ...... [CREATE VIEW in 0.10s]",
    "10:00:01  2 of 3 START sql table model x.b ....... [RUN]",
    "10:00:02  2 of 3 OK created sql table model x.b ..... [SELECT 4 in 0.20s]",
    "10:00:02  3 of 3 PASS not_null_b_id ........... [PASS in 0.05s]",
    "10:00:02  Done. PASS=3 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=3",
]


def test_each_node_is_reported_once_as_the_log_grows_one_request_per_poll():
    progress = RunProgress(7, account_id=None)
    first = progress.next_call()
    assert (first.method, first.kwargs["include_related"]) == ("get_job_run", ["run_steps"])

    lines = progress.read(running_run(step1_logs="\n".join(LOG[:3]) + "\n"))
    assert lines == [
        "Job run 7, step 1/2: Invoke dbt with `dbt build`",
        "Job run 7, step 1: 1/3 OK created sql view model x.a [CREATE VIEW in 0.10s]",
    ]
    second = progress.next_call()
    assert (second.method, second.kwargs) == ("get_run_step", {"step_id": 501, "account_id": None})

    # The last line has no newline yet: it is being written and waits for the next poll.
    assert progress.read(step(1, 3, "\n".join(LOG[:5]))) == []
    assert progress.read(step(1, 3, "\n".join(LOG[:6]) + "\n")) == [
        "Job run 7, step 1: 2/3 OK created sql table model x.b [SELECT 4 in 0.20s]",
        "Job run 7, step 1: 3/3 PASS not_null_b_id [PASS in 0.05s]",
    ]
    assert progress.read(step(1, 10, "\n".join(LOG))) == [
        "Job run 7, step 1: Done. PASS=3 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=3"
    ]
    assert progress.next_call().method == "get_job_run", "the next step is found by reading the run"
    assert progress.read(running_run(step1_status=10, step1_logs="\n".join(LOG))) == [], "step 1 is done"
    assert progress.read(running_run(step1_status=10, step1_logs="\n".join(LOG), step2_status=3)) == [
        "Job run 7, step 2/2: Invoke dbt with `dbt docs generate`"
    ]
    assert progress.next_call().kwargs == {"step_id": 502, "account_id": None}


def test_a_log_that_starts_over_is_read_again():
    progress = RunProgress(7, account_id=None)
    progress.read(running_run(step1_logs="\n".join(LOG[:5]) + "\n"))
    assert progress.read(step(1, 3, LOG[2] + "\n")) == [
        "Job run 7, step 1: 1/3 OK created sql view model x.a [CREATE VIEW in 0.10s]"
    ]


def test_a_run_whose_steps_have_not_started_says_nothing_yet():
    progress = RunProgress(7, account_id=None)
    queued = RunState.from_payload(
        {"id": 7, "status": 1, "run_steps": [{"id": 501, "index": 1, "name": "x", "status": 1}]}
    )
    assert progress.read(queued) == []
    assert progress.next_call().method == "get_job_run"


def test_the_answer_that_reads_the_progress_tells_the_runs_status():
    assert RunProgress.run_status(RunState(id=7, status=3)) == 3
    assert RunProgress.run_status(RunState(id=7, status=10)) == 10
    assert RunProgress.run_status(step(1, 3, LOG[0])) == 3, "a step still going: so is the run"
    assert RunProgress.run_status(step(1, 10, "\n".join(LOG))) is None, "only the run knows what follows"
    assert RunProgress.run_status(step(1, 20, LOG[0])) is None
