from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest

from airflow_dbtcloud.hooks.dbt import DBT_CAUSE_MAX_LENGTH
from airflow_dbtcloud.utils.run_tracking import (
    STATE_KEY,
    build_cause,
    find_marked_run,
    load_stored_run_id,
    marker_for,
    marker_from_context,
    run_matches_request,
    store_run_id,
)


class FakeStore:
    def __init__(self) -> None:
        self.data: dict = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, retention=None):
        self.data[key] = value


def test_marker_is_stable_and_distinguishes_task_instances():
    base = marker_for("dag", "run", "task", -1, 0)
    assert base == marker_for("dag", "run", "task", -1, 0)
    others = {
        marker_for("dag2", "run", "task", -1, 0),
        marker_for("dag", "run2", "task", -1, 0),
        marker_for("dag", "run", "task2", -1, 0),
        marker_for("dag", "run", "task", 3, 0),
        marker_for("dag", "run", "task", -1, 2),
    }
    assert base not in others
    assert len(others) == 5


def test_marker_from_context_uses_ti_fields():
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=None, max_tries=1)
    assert marker_from_context({"ti": ti}) == marker_for("d", "r", "t", -1, 1)


@pytest.mark.parametrize("reason", ["short", "x" * 400, "  spaced\n  out  "])
def test_build_cause_fits_and_ends_with_marker(reason):
    marker = marker_for("d", "r", "t")
    cause = build_cause(reason, marker)
    assert len(cause) <= DBT_CAUSE_MAX_LENGTH
    assert cause.endswith(marker)
    assert "\n" not in cause


def test_find_marked_run_picks_run_with_marker():
    marker = marker_for("d", "r", "t")
    hook = mock.Mock()
    hook.list_runs_data.return_value = [
        {"id": 9, "trigger": {"cause": "someone else"}},
        {"id": 8, "trigger": None},
        {"id": 7, "trigger": {"cause": f"mine {marker}"}},
    ]
    assert find_marked_run(hook, 300, marker, 1)["id"] == 7
    kwargs = hook.list_runs_data.call_args.kwargs
    assert kwargs["job_definition_id"] == 300
    assert "trigger" in kwargs["include_related"]
    assert kwargs["order_by"] == "-id"


def test_find_marked_run_returns_none_without_match():
    hook = mock.Mock()
    hook.list_runs_data.return_value = [{"id": 1, "trigger": {"cause": "x"}}]
    assert find_marked_run(hook, 300, "[airflow:abc]") is None


@pytest.mark.parametrize(
    ("trigger", "request_body", "expected"),
    [
        ({"cause": "c", "steps_override": None}, {}, True),
        ({"cause": "c", "steps_override": ["dbt run"]}, {}, False),
        ({"cause": "c", "steps_override": ["dbt run"]}, {"steps_override": ["dbt run"]}, True),
        ({"cause": "c", "schema_override": "a"}, {"schema_override": "b"}, False),
        ({"cause": "c"}, {"threads_override": 4}, False),
        ({"cause": "c", "git_branch": "main"}, {}, False),
    ],
)
def test_run_matches_request(trigger, request_body, expected):
    run = {"id": 1, "job_definition_id": 300, "trigger": trigger}
    assert run_matches_request(run, 300, request_body) is expected


def test_run_matches_request_rejects_other_job():
    assert not run_matches_request({"job_definition_id": 301, "trigger": {}}, 300, {})


def test_store_and_load_round_trip():
    store = FakeStore()
    context = {"task_state_store": store}
    assert store_run_id(context, "[m]", 42)
    assert store.data[STATE_KEY] == {"run_id": 42, "marker": "[m]"}
    assert load_stored_run_id(context, "[m]") == 42


def test_load_ignores_value_from_other_generation():
    store = FakeStore()
    store.data[STATE_KEY] = {"run_id": 42, "marker": "[old]"}
    assert load_stored_run_id({"task_state_store": store}, "[new]") is None


def test_store_without_task_state_store_is_tolerated():
    assert store_run_id({}, "[m]", 1) is False
    assert load_stored_run_id({}, "[m]") is None
