"""Pure failure analysis of run payloads and run_results.json."""

from __future__ import annotations

from api_failure_payloads import RUN, RUN_RESULTS

from airflow_dbtcloud.api.failures import failed_nodes, failed_steps
from airflow_dbtcloud.api.run_state import RunState


def test_failed_nodes_keep_errors_and_fails_only():
    nodes = failed_nodes(RUN_RESULTS)
    assert [n.node for n in nodes] == ["model.jaffle_shop.customers", "test.jaffle_shop.not_null"]
    assert nodes[0].message == "Database Error relation does not exist"
    assert nodes[1].seconds is None


def test_failed_nodes_tolerates_garbage():
    assert failed_nodes(None) == []
    assert failed_nodes({"results": ["x", {"status": "error"}]})[0].node == "?"


def test_failed_steps_picks_failed_with_log_tail():
    steps = failed_steps(RunState.from_payload(RUN))
    assert len(steps) == 1
    assert steps[0].index == 2
    assert steps[0].log_tail[-1] == "ERROR boom"


def test_failed_steps_include_cancelled_steps():
    run = {
        "id": 1,
        "run_steps": [
            {"index": 1, "status": 10},
            {"index": 2, "status": 30, "status_humanized": "Cancelled"},
        ],
    }
    assert [(step.index, step.status) for step in failed_steps(RunState.from_payload(run))] == [
        (2, "Cancelled")
    ]
