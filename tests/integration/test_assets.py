"""dbt models as Airflow assets, end to end: ``dag.test()`` on SQLite against the emulator over HTTP.

The expected events are worked out here from the run's own artifacts, read independently with
``json`` (not with the code under test), and compared with what Airflow recorded in its metadata DB.
Then Airflow's own scheduling logic must find the DAG scheduled on one of those tables ready to run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import requests

CONSUMERS = ("it_assets_consumer", "it_assets_alias_consumer")


@pytest.fixture(scope="module")
def serialized(airflow_db):
    """Write the integration DAGs to the metadata DB, as the DAG processor would; unpause the consumers."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "reserialize"],
        check=True,
        env=os.environ.copy(),
        capture_output=True,
        timeout=300,
    )
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id.in_(CONSUMERS)).update(
            {DagModel.is_paused: False}, synchronize_session=False
        )


def _artifact(emu: Any, run_id: int, path: str) -> Any:
    url = f"{emu.base_url}/api/v2/accounts/{emu.account_id}/runs/{run_id}/artifacts/{path}"
    response = requests.get(url, headers={"Authorization": f"Token {emu.token}"}, timeout=30)
    response.raise_for_status()
    return response.json()


def _expected(emu: Any, run_id: int) -> dict[str, str]:
    """unique id -> URI of every model, seed and snapshot the run built, by the documented Postgres rule."""
    results = _artifact(emu, run_id, "run_results.json")["results"]
    nodes = _artifact(emu, run_id, "manifest.json")["nodes"]
    built = [
        r["unique_id"] for r in results if r["status"] == "success" and not r["unique_id"].startswith("test.")
    ]
    return {
        uid: "postgres://db.internal.example:5432/{database}/{schema}/{table}".format(
            database=nodes[uid]["database"],
            schema=nodes[uid]["schema"],
            table=nodes[uid]["alias"] or nodes[uid]["name"],
        )
        for uid in built
    }


def test_a_run_adds_one_event_per_built_node_and_queues_the_consumer(emu, run_dag, serialized):
    result = run_dag("it_assets")
    assert result.state == "success"
    run_id = int(result.xcom[("run", "job_run_id")])
    expected = _expected(emu, run_id)
    events = {uri: extra for _, uri, extra in _run_events(run_id)}
    assert set(events) == set(expected.values())
    assert len(_run_events(run_id)) == len(expected), "one event per built node"
    kinds = {uid.split(".")[0] for uid in expected}
    assert kinds == {"model", "seed", "snapshot"}
    assert "postgres://db.internal.example:5432/analytics/dbt_prod/revenue_by_day" in events, "aliases win"
    orders = events["postgres://db.internal.example:5432/analytics/dbt_prod/orders"]
    assert orders["dbt_cloud_run_id"] == run_id
    assert orders["dbt_cloud_job_id"] == 300
    assert orders["unique_id"] == "model.jaffle_shop.orders"
    assert orders["rows_affected"] >= 0
    assert orders["tests"] == {"passed": 2}
    assert f"/runs/{run_id}/" in orders["dbt_cloud_run_url"]
    assert all(emu.token not in str(extra) for extra in events.values())

    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        ready, _ = DagModel.dags_needing_dagruns(session)
        ready_ids = {dag.dag_id for dag in ready}
    assert "it_assets_consumer" in ready_ids, "the scheduler must see the consumer ready to run"
    assert "it_assets_alias_consumer" in ready_ids, "and the DAG scheduled on the job's alias"


def test_a_failed_run_adds_events_only_for_what_it_built_through_the_task_after_it(emu, run_dag, serialized):
    emu.fail_next_run(300, ["model.jaffle_shop.stg_orders"])
    result = run_dag("it_assets")
    assert result.ti_state("run") == "failed"
    assert result.ti_state("assets_after_failure") == "success"
    run_id = int(result.xcom[("run", "job_run_id")])

    events = _run_events(run_id)

    expected = _expected(emu, run_id)
    assert {uri for _, uri, _ in events} == set(expected.values())
    assert len(events) == len(expected), "one event per built node"
    assert {task for task, _, _ in events} == {"assets_after_failure"}, "the failed task itself records none"
    assert "postgres://db.internal.example:5432/analytics/dbt_prod/stg_orders" not in expected.values()
    assert "postgres://db.internal.example:5432/analytics/dbt_prod/orders" not in expected.values(), "skipped"
    assert "postgres://db.internal.example:5432/analytics/dbt_prod/stg_customers" in expected.values()


def test_after_a_successful_run_the_task_for_failures_is_skipped(emu, run_dag, serialized):
    result = run_dag("it_assets")
    assert (result.ti_state("run"), result.ti_state("assets_after_failure")) == ("success", "skipped")
    run_id = int(result.xcom[("run", "job_run_id")])
    assert {task for task, _, _ in _run_events(run_id)} == {"run"}


def _run_events(run_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(task id, asset URI, extra) of every asset event about one dbt Cloud run."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent.source_task_id, AssetModel.uri, AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .all()
        )
    about_run = [(task, uri, dict(extra or {})) for task, uri, extra in rows]
    return [event for event in about_run if event[2].get("dbt_cloud_run_id") == run_id]


def test_the_sensor_adds_events_for_the_run_it_waited_on(emu, run_dag, serialized):
    result = run_dag("it_assets_deferrable_sensor")
    assert result.ti_state("wait") == "success"
    run_id = int(result.xcom[("start", "job_run_id")])
    events = {uri: extra for _, uri, extra in _run_events(run_id)}
    assert set(events) == set(_expected(emu, run_id).values())
    assert {extra["dbt_cloud_job_id"] for extra in events.values()} == {301}
