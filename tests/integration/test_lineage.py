"""OpenLineage end to end: ``airflow dags test`` with the OpenLineage provider writing to a file.

The provider's own listener emits the task's events; this package emits the dbt Cloud job run's and
its nodes' events from inside the task. The test checks they form one tree (DAG run -> task run ->
dbt Cloud job run -> node runs) and that the task's parent information reached the run's cause.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

JOB = "dbt_cloud.1.100.job_300"


@pytest.fixture
def lineage(airflow_db: Path, emu: Any, tmp_path: Path) -> Any:
    """Run ``it_lineage`` in a fresh process with a file transport; return its events, in order."""
    events_file = tmp_path / "openlineage.jsonl"

    def run() -> list[dict[str, Any]]:
        env = {
            **os.environ,
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "it",
        }
        subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "test", "it_lineage"],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        text = events_file.read_text()
        assert emu.token not in text, "the API token must never reach a lineage event"
        return [json.loads(line) for line in text.splitlines()]

    return run


def _one(events: list[dict[str, Any]], event_type: str, job: str) -> dict[str, Any]:
    found = [e for e in events if e["eventType"] == event_type and e["job"]["name"] == job]
    assert len(found) == 1, f"expected one {event_type} of {job}, got {len(found)}"
    return found[0]


def _parent_run(event: dict[str, Any]) -> str | None:
    parent = event["run"]["facets"].get("parent")  # the DAG run has none
    return parent["run"]["runId"] if parent else None


def _root_run(event: dict[str, Any]) -> str:
    return event["run"]["facets"]["parent"]["root"]["run"]["runId"]


def test_a_successful_run_is_one_lineage_tree_under_the_task(emu, lineage):
    events = lineage()

    task = _one(events, "START", "it_lineage.run")["run"]["runId"]
    dag_run = _parent_run(_one(events, "START", "it_lineage.run"))
    start, complete = _one(events, "START", JOB), _one(events, "COMPLETE", JOB)
    job_run = start["run"]["runId"]
    assert complete["run"]["runId"] == job_run, "START and COMPLETE name the same dbt Cloud job run"
    assert _parent_run(start) == task, "the dbt Cloud job run is a child of the task's own run"
    assert start["run"]["facets"]["dbt_cloud_run"]["jobId"] == 300

    nodes = [e for e in events if _parent_run(e) == job_run and e["job"]["name"] != JOB]
    assert nodes, "the run's nodes have events"
    assert {_root_run(e) for e in nodes} == {dag_run}
    outputs = {f"{o['namespace']}/{o['name']}" for e in nodes for o in e.get("outputs", [])}
    assert "postgres://db.internal.example:5432/analytics.dbt_prod.orders" in outputs
    assert "postgres://db.internal.example:5432/analytics.dbt_prod.revenue_by_day" in outputs, "aliases win"
    order = [e["job"]["name"] for e in events]
    assert order.index(JOB) < min(order.index(e["job"]["name"]) for e in nodes), "START comes first"
    assert max(i for i, e in enumerate(events) if e in nodes) < events.index(complete), "COMPLETE last"

    assert emu.runs_created(300) == 1
    cause = emu.get_run(start["run"]["facets"]["dbt_cloud_run"]["runId"])["trigger"]["cause"]
    parent_info, marker = cause.rsplit(" ", 1)
    assert json.loads(parent_info)["parent"]["run"]["runId"] == task
    assert marker.startswith("[airflow:"), "the marker still ends the cause, so the run stays exactly-once"


def test_a_failed_run_ends_failed_with_the_error(emu, lineage):
    emu.fail_next_run(300, ["model.jaffle_shop.orders"])
    events = lineage()

    fail = _one(events, "FAIL", JOB)
    assert "reached terminal status ERROR" in fail["run"]["facets"]["errorMessage"]["message"]
    assert "model.jaffle_shop.orders" in fail["run"]["facets"]["errorMessage"]["message"]
    failed_nodes = [e["job"]["name"] for e in events if e["eventType"] == "FAIL" and e["job"]["name"] != JOB]
    assert any(name.endswith("jaffle_shop.orders.build.run") for name in failed_nodes)
    assert _one(events, "FAIL", "it_lineage.run")
