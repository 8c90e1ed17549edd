"""OpenLineage for dbt Cloud runs: the job run's events, node events under it, the cause, and the no-ops.

Events go through the OpenLineage provider's own client, configured the way a deployment configures it
(``AIRFLOW__OPENLINEAGE__TRANSPORT``), with a transport whose ``type`` names :class:`CapturingTransport`:
the client builds it like any custom transport, and it keeps the events in memory instead of sending
them. dbt Cloud is reached only through the hook's public methods, which the tests stand in for (or, in
the secrecy test, the HTTP under them), with the small artifacts in ``tests/data/openlineage``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import jsonschema
import pytest
import responses
from aioresponses import aioresponses
from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.plugins import macros
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
from airflow.sdk import DAG
from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Config, Transport
from unit_payloads import BASE, TOKEN, envelope

from airflow_dbtcloud.api.lifecycle import build_cause
from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.hooks.dbt import DBT_CAUSE_MAX_LENGTH, DbtCloudHook, DbtCloudNotFoundError
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
from airflow_dbtcloud.utils import openlineage as lineage
from airflow_dbtcloud.utils.openlineage_facets import (
    DBT_CLOUD_RUN_FACET,
    DBT_CLOUD_RUN_FACET_SCHEMA,
    DBT_CLOUD_RUN_FACET_SCHEMA_URL,
)

DATA = Path(__file__).parents[1] / "data" / "openlineage"
NAMESPACE = "analytics-airflow"
ACCOUNT, PROJECT, JOB, RUN = 70403, 311, 4242, 912345
MARKER = "[airflow:3f2a9c0d41b7e65a]"
LOGICAL_DATE = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
SNOWFLAKE = {
    "type": "snowflake",
    "name": "Snowflake",
    "details": {"account": "xy12345.eu-central-1", "database": "ANALYTICS", "warehouse": "TRANSFORMING"},
}
# dbt Cloud names the Postgres host "hostname", unlike a dbt profile.
POSTGRES = {
    "type": "postgres",
    "name": "Postgres",
    "details": {"hostname": "db.internal.example", "port": 5432, "dbname": "analytics"},
}
ADAPTERS = {
    "snowflake": {
        "connection": SNOWFLAKE,
        "manifest": "snowflake_manifest.json",
        "run_results": "snowflake_run_results_success.json",
        "catalog": "snowflake_catalog.json",
        "namespace": "snowflake://xy12345.eu-central-1.aws",
        "outputs": {"ANALYTICS.DBT_PROD.stg_orders", "ANALYTICS.DBT_PROD.orders"},
        "inputs": {"RAW.JAFFLE_SHOP.orders", "ANALYTICS.DBT_PROD.stg_orders"},
        "jobs": {"ANALYTICS.DBT_PROD.jaffle_shop.orders.build.run"},
    },
    "postgres": {
        "connection": POSTGRES,
        "manifest": "postgres_manifest.json",
        "run_results": "postgres_run_results.json",
        "catalog": None,
        "namespace": "postgres://db.internal.example:5432",
        "outputs": {"analytics.dbt_prod.dim_customers"},
        "inputs": {"analytics.app.customers"},
        "jobs": {"analytics.dbt_prod.shop.dim_customers"},
    },
}


# -- capturing events ------------------------------------------------------------------------------


class CapturingTransport(Transport):
    """An OpenLineage transport that keeps what it is given."""

    kind = "capturing"
    config_class = Config

    def __init__(self, config: Config) -> None:
        self.events: list[Any] = []

    def emit(self, event: Any) -> None:
        self.events.append(event)


def _reset_openlineage() -> None:
    """Forget what the provider read from the configuration, and its listener (with its client)."""
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
    from airflow.providers.openlineage.utils import emission_policy

    for module in (conf, emission_policy):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    get_openlineage_listener.cache_clear()


@pytest.fixture
def openlineage_off(monkeypatch):
    """OpenLineage installed but not configured, so the provider considers it disabled."""
    for name in ("AIRFLOW__OPENLINEAGE__TRANSPORT", "OPENLINEAGE_URL", "AIRFLOW__OPENLINEAGE__CONFIG_PATH"):
        monkeypatch.delenv(name, raising=False)
    _reset_openlineage()
    yield
    _reset_openlineage()


@pytest.fixture
def captured(monkeypatch) -> Iterator[Callable[[], list[Any]]]:
    """Configure the provider with the capturing transport; return a function giving the events so far."""
    transport = {"type": f"{CapturingTransport.__module__}.{CapturingTransport.__qualname__}"}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", NAMESPACE)
    monkeypatch.delenv("AIRFLOW__OPENLINEAGE__DISABLED", raising=False)
    _reset_openlineage()

    def events() -> list[Any]:
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

        client = get_openlineage_listener().adapter.get_or_create_openlineage_client()
        assert isinstance(client.transport, CapturingTransport)
        return client.transport.events

    yield events
    _reset_openlineage()


# -- an Airflow task instance and dbt Cloud behind the hook ----------------------------------------


@dataclass
class FakeDagRun:
    logical_date: datetime = LOGICAL_DATE
    run_after: datetime = LOGICAL_DATE
    clear_number: int = 0
    conf: dict[str, Any] = field(default_factory=dict)


class FakeTaskInstance:
    """What the OpenLineage provider's macros read of a task instance."""

    def __init__(self, task: Any, try_number: int = 1) -> None:
        self.task = task
        self.dag_id = task.dag_id
        self.task_id = task.task_id
        self.try_number = try_number
        self.map_index = -1
        self.dag_run = FakeDagRun()

    def get_template_context(self) -> dict[str, Any]:
        return {"dag_run": self.dag_run}


@pytest.fixture
def operator() -> DbtCloudRunJobOperator:
    with DAG("nightly_transform", schedule=None, start_date=LOGICAL_DATE):
        return DbtCloudRunJobOperator(task_id="build_marts", job_id=JOB, account_id=ACCOUNT)


@pytest.fixture
def ti(operator) -> FakeTaskInstance:
    return FakeTaskInstance(operator)


def read(name: str | None) -> Any:
    return None if name is None else json.loads((DATA / name).read_text())


def run_payload(status: int, **extra: Any) -> dict[str, Any]:
    """A run as ``get_job_run(include_related=["run_steps", "job"])`` answers it."""
    humanized = {10: "Success", 20: "Error", 30: "Cancelled", 3: "Running", 1: "Queued"}[status]
    return {
        "id": RUN,
        "account_id": ACCOUNT,
        "project_id": PROJECT,
        "job_definition_id": JOB,
        "environment_id": 55,
        "status": status,
        "status_humanized": humanized,
        "status_message": "Database Error in model orders" if status == 20 else None,
        "href": f"https://cloud.getdbt.com/deploy/{ACCOUNT}/projects/{PROJECT}/runs/{RUN}/",
        "git_branch": "main",
        "git_sha": "2f8e9c1",
        "created_at": "2026-03-02 06:03:58.412345+00:00",
        "started_at": "2026-03-02 06:04:01.000000+00:00",
        "finished_at": "2026-03-02 06:05:12.500000+00:00" if status >= 10 else None,
        "artifacts_saved": status >= 10,
        "job": {
            "id": JOB,
            "account_id": ACCOUNT,
            "project_id": PROJECT,
            "name": "Nightly marts",
            "execute_steps": ["dbt build"],
        },
        "run_steps": [
            {"index": 1, "name": "Clone git repository"},
            {"index": 2, "name": "Create profile from connection Snowflake"},
            {"index": 3, "name": "Invoke dbt with `dbt deps`"},
            {"index": 4, "name": "Invoke dbt with `dbt build`"},
        ],
        **extra,
    }


class Answer:
    """A stand-in for ``requests.Response``: what the hook's reference methods return."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def json(self) -> Any:
        return self.body


@dataclass
class FakeDbtCloud:
    """dbt Cloud as seen through the hook's public methods, patched on ``DbtCloudHook``."""

    run: dict[str, Any]
    connection: dict[str, Any] = field(default_factory=lambda: SNOWFLAKE)
    artifacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    catalog: Any = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeDbtCloud:
        fake = self

        def get_job_run(self, run_id, account_id=None, include_related=None):
            fake.calls.append(("get_job_run", {"run_id": run_id, "include_related": include_related}))
            return Answer({"data": fake.run})

        def get_project(self, project_id, account_id=None):
            fake.calls.append(("get_project", {"project_id": project_id, "account_id": account_id}))
            return Answer({"data": {"id": project_id, "name": "Marts", "connection": fake.connection}})

        def get_job_run_artifact(self, run_id, path, account_id=None, step=None):
            fake.calls.append(("get_job_run_artifact", {"path": path, "step": step}))
            if fake.catalog is None:
                raise DbtCloudNotFoundError(404, "GET", f"runs/{run_id}/artifacts/{path}")
            return Answer(fake.catalog)

        async def get_job_run_artifacts_concurrently(self, run_id, artifacts, account_id=None, step=None):
            fake.calls.append(("get_job_run_artifacts_concurrently", {"artifacts": artifacts, "step": step}))
            if step not in fake.artifacts:
                raise DbtCloudNotFoundError(404, "GET", f"runs/{run_id}/artifacts/manifest.json")
            return {path: fake.artifacts[step][path] for path in artifacts}

        for name, function in locals().items():
            if name.startswith("get_"):
                monkeypatch.setattr(DbtCloudHook, name, function)
        return self

    def called(self, method: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == method]


def dbt_cloud(monkeypatch, status: int, adapter: str = "snowflake", run_results: str | None = None, **run):
    spec = ADAPTERS[adapter]
    artifacts = {
        "manifest.json": read(spec["manifest"]),
        "run_results.json": read(run_results or spec["run_results"]),
    }
    return FakeDbtCloud(
        run=run_payload(status, **run),
        connection=spec["connection"],
        artifacts={4: artifacts},
        catalog=read(spec["catalog"]),
    ).install(monkeypatch)


def trigger_answer() -> RunState:
    """The run as the trigger answer gives it: queued, no steps, no job."""
    return RunState.from_payload(
        {"id": RUN, "account_id": ACCOUNT, "project_id": PROJECT, "job_definition_id": JOB, "status": 1,
         "created_at": "2026-03-02 06:03:58.412345+00:00"}
    )  # fmt: skip


def job_events(events: list[Any]) -> list[Any]:
    return [e for e in events if e.job.name.startswith("dbt_cloud.")]


def node_events(events: list[Any]) -> list[Any]:
    return [e for e in events if not e.job.name.startswith("dbt_cloud.")]


def expected_job_run_id(account: int = ACCOUNT, run: int = RUN) -> str:
    return str(uuid.uuid5(lineage.DBT_CLOUD_RUN_ID_NAMESPACE, f"{NAMESPACE}/{account}/{run}"))


JOB_NAME = f"dbt_cloud.{ACCOUNT}.{PROJECT}.job_{JOB}"


# -- the job run and its nodes, in order -------------------------------------------------------------


def test_successful_run_sends_start_then_nodes_then_complete(captured, monkeypatch, ti):
    fake = dbt_cloud(monkeypatch, 10)

    assert lineage.emit_dbt_cloud_run_start(ti, trigger_answer()) == expected_job_run_id()
    assert lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook()) == (
        expected_job_run_id()
    )

    events = captured()
    kinds = [(e.eventType.value, e.job.name) for e in events]
    assert kinds[0] == ("START", JOB_NAME)
    assert kinds[-1] == ("COMPLETE", JOB_NAME)
    nodes = events[1:-1]
    assert nodes
    assert job_events(nodes) == []
    # Two models and the test of `orders`, each with a START and a COMPLETE.
    assert sorted(e.eventType.value for e in nodes) == ["COMPLETE"] * 3 + ["START"] * 3
    assert {e.job.name for e in nodes} == {
        "ANALYTICS.DBT_PROD.jaffle_shop.stg_orders.build.run",
        "ANALYTICS.DBT_PROD.jaffle_shop.orders.build.run",
        "ANALYTICS.DBT_PROD.jaffle_shop.orders.build.test",
    }
    assert {e.job.namespace for e in events} == {NAMESPACE}
    # Only the dbt step with lineage was fetched; the catalog came from the last step.
    assert [c["step"] for c in fake.called("get_job_run_artifacts_concurrently")] == [4]
    assert fake.called("get_job_run_artifact") == [{"path": "catalog.json", "step": None}]
    assert fake.called("get_job_run")[0]["include_related"] == ["run_steps", "job"]


def test_failed_run_sends_start_then_nodes_then_fail_with_error_message(captured, monkeypatch, ti):
    dbt_cloud(monkeypatch, 20, run_results="snowflake_run_results_error.json")

    lineage.emit_dbt_cloud_run_start(ti, trigger_answer())
    lineage.emit_dbt_cloud_run_end(
        ti, RunState(id=RUN), False, hook=DbtCloudHook(), error_message="Job run 912345 has failed."
    )

    events = captured()
    assert (events[0].eventType.value, events[0].job.name) == ("START", JOB_NAME)
    assert (events[-1].eventType.value, events[-1].job.name) == ("FAIL", JOB_NAME)
    error = events[-1].run.facets["errorMessage"]
    assert error.message == "Job run 912345 has failed."
    assert error.programmingLanguage == "sql"
    ends = {(e.job.name, e.eventType.value) for e in node_events(events) if e.eventType.value != "START"}
    assert ends == {
        ("ANALYTICS.DBT_PROD.jaffle_shop.stg_orders.build.run", "COMPLETE"),
        ("ANALYTICS.DBT_PROD.jaffle_shop.orders.build.run", "FAIL"),
        ("ANALYTICS.DBT_PROD.jaffle_shop.orders.build.test", "FAIL"),
    }
    assert events[-1].run.facets[DBT_CLOUD_RUN_FACET].status == "Error"


def test_fail_without_a_message_uses_dbt_clouds_status_message(captured, monkeypatch, ti):
    dbt_cloud(monkeypatch, 20, run_results="snowflake_run_results_error.json")

    lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), False, hook=DbtCloudHook())

    assert captured()[-1].run.facets["errorMessage"].message == "Database Error in model orders"


def test_end_without_a_hook_sends_only_the_job_run_event(captured, ti):
    run = RunState.from_payload(run_payload(30))

    lineage.emit_dbt_cloud_run_end(ti, run, False)

    (event,) = captured()
    assert (event.eventType.value, event.job.name) == ("FAIL", JOB_NAME)
    assert event.run.facets["errorMessage"].message == f"dbt Cloud run {RUN} ended Cancelled."


# -- who is whose parent -----------------------------------------------------------------------------


def test_nodes_hang_off_the_job_run_which_hangs_off_the_task(captured, monkeypatch, ti):
    dbt_cloud(monkeypatch, 10)

    lineage.emit_dbt_cloud_run_start(ti, trigger_answer())
    lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook())

    events = captured()
    task_run_id = macros.lineage_run_id(ti)
    dag_run_id = macros.lineage_root_run_id(ti)
    # The root is the DAG run the listener reports for this DAG run.
    assert dag_run_id == OpenLineageAdapter.build_dag_run_id(
        dag_id="nightly_transform", logical_date=LOGICAL_DATE, clear_number=0
    )
    for event in job_events(events):
        assert event.run.runId == expected_job_run_id()
        parent = event.run.facets["parent"]
        assert (parent.run.runId, parent.job.namespace, parent.job.name) == (
            task_run_id,
            NAMESPACE,
            "nightly_transform.build_marts",
        )
        assert (parent.root.run.runId, parent.root.job.namespace, parent.root.job.name) == (
            dag_run_id,
            NAMESPACE,
            "nightly_transform",
        )
    for event in node_events(events):
        parent = event.run.facets["parent"]
        assert (parent.run.runId, parent.job.namespace, parent.job.name) == (
            expected_job_run_id(),
            NAMESPACE,
            JOB_NAME,
        )
        assert (parent.root.run.runId, parent.root.job.name) == (dag_run_id, "nightly_transform")
        assert event.run.runId != expected_job_run_id()


def test_job_run_id_depends_only_on_account_and_run(captured, monkeypatch, operator):
    """START and the end agree across processes and tries; another run gets another id."""
    dbt_cloud(monkeypatch, 10)
    first_try, second_try = FakeTaskInstance(operator, 1), FakeTaskInstance(operator, 2)

    started = lineage.emit_dbt_cloud_run_start(first_try, trigger_answer())
    ended = lineage.emit_dbt_cloud_run_end(second_try, RunState(id=RUN), True, hook=DbtCloudHook())
    other = lineage.emit_dbt_cloud_run_start(
        first_try, RunState.from_payload({**run_payload(3), "id": RUN + 1})
    )

    assert started == ended == expected_job_run_id()
    assert other == expected_job_run_id(run=RUN + 1) != started
    assert uuid.UUID(started).version == 5
    start, *_, complete = job_events(captured())[:-1]
    # Each event names the try that sent it as the parent.
    assert start.run.facets["parent"].run.runId == macros.lineage_run_id(first_try)
    assert complete.run.facets["parent"].run.runId == macros.lineage_run_id(second_try)


def test_start_and_end_carry_the_run_facet_and_times(captured, monkeypatch, ti):
    dbt_cloud(monkeypatch, 10)

    lineage.emit_dbt_cloud_run_start(ti, RunState.from_payload(run_payload(3)))
    lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook())

    start, end = job_events(captured())
    assert start.eventTime == "2026-03-02T06:04:01+00:00"
    assert end.eventTime == "2026-03-02T06:05:12.500000+00:00"
    facet = end.run.facets[DBT_CLOUD_RUN_FACET]
    assert facet._schemaURL == DBT_CLOUD_RUN_FACET_SCHEMA_URL
    serialized = json.loads(Serde.to_json(facet))
    assert serialized == {
        "_producer": serialized["_producer"],
        "_schemaURL": DBT_CLOUD_RUN_FACET_SCHEMA_URL,
        "runId": RUN,
        "accountId": ACCOUNT,
        "projectId": PROJECT,
        "environmentId": 55,
        "jobId": JOB,
        "jobName": "Nightly marts",
        "runUrl": f"https://cloud.getdbt.com/deploy/{ACCOUNT}/projects/{PROJECT}/runs/{RUN}/",
        "status": "Success",
        "statusCode": 10,
        "gitBranch": "main",
        "gitSha": "2f8e9c1",
    }
    own_fields = DBT_CLOUD_RUN_FACET_SCHEMA["$defs"]["DbtCloudRunRunFacet"]["allOf"][1]
    jsonschema.validate({k: v for k, v in serialized.items() if not k.startswith("_")}, own_fields)
    assert start.run.facets[DBT_CLOUD_RUN_FACET].status == "Running"
    job_type = end.job.facets["jobType"]
    assert (job_type.jobType, job_type.integration, job_type.processingType) == ("JOB", "DBT", "BATCH")


# -- datasets, for two warehouses ----------------------------------------------------------------------


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_node_datasets_are_named_for_the_warehouse(captured, monkeypatch, ti, adapter):
    spec = ADAPTERS[adapter]
    run_steps = [{"index": 4, "name": f"Invoke dbt with `dbt {read(spec['run_results'])['args']['which']}`"}]
    dbt_cloud(monkeypatch, 10, adapter=adapter, run_steps=run_steps)

    lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook())

    nodes = [e for e in node_events(captured()) if e.job.facets["jobType"].jobType == "MODEL"]
    outputs = {d.name for e in nodes for d in e.outputs}
    inputs = {d.name for e in nodes for d in e.inputs}
    assert outputs == spec["outputs"]
    assert inputs == spec["inputs"]
    assert spec["jobs"] <= {e.job.name for e in nodes}
    datasets = [d for e in nodes for d in (*e.inputs, *e.outputs)]
    assert {d.namespace for d in datasets} == {spec["namespace"]}
    assert {d.facets["dataSource"].uri for d in datasets} == {spec["namespace"]}


def test_catalog_types_win_over_manifest_types(captured, monkeypatch, ti):
    dbt_cloud(monkeypatch, 10)

    lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook())

    (orders,) = [
        e
        for e in captured()
        if e.job.name == "ANALYTICS.DBT_PROD.jaffle_shop.orders.build.run" and e.eventType.value == "COMPLETE"
    ]
    fields = {f.name: f.type for f in orders.outputs[0].facets["schema"].fields}
    assert fields == {"ID": "NUMBER", "STATUS": "TEXT"}  # the manifest says VARCHAR


def test_lineage_steps_are_read_from_the_step_names(captured, monkeypatch, ti):
    """Overridden steps count (the official provider only reads the job's own), other commands do not."""
    steps = [
        {"index": 3, "name": "Invoke dbt with `dbt deps`"},
        {"index": 4, "name": "Invoke dbt with `dbt --warn-error build --select tag:nightly.marts`"},
        {"index": 5, "name": "Invoke dbt with `dbt source freshness`"},
        {"index": 6, "name": "Invoke dbt with `dbt seed`"},
        {"index": 7, "name": "Invoke dbt with `dbt docs generate`"},
    ]
    fake = dbt_cloud(monkeypatch, 10, run_steps=steps)

    lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook())

    assert sorted(c["step"] for c in fake.called("get_job_run_artifacts_concurrently")) == [4, 6]
    # Step 6 saved nothing here: its absence is logged, step 4's lineage still goes out.
    assert len(node_events(captured())) == 6


def test_generate_sends_node_events_under_the_job_run(captured, monkeypatch, ti):
    """The official entry point: its node events now have the dbt Cloud job run as parent."""
    fake = dbt_cloud(monkeypatch, 10)
    operator = MagicMock(spec=DbtCloudRunJobOperator, run_id=RUN, account_id=None, hook=DbtCloudHook())

    result = lineage.generate_openlineage_events_from_dbt_cloud_run(operator, task_instance=ti)

    assert result == OperatorLineage()
    events = captured()
    assert len(events) == 6
    assert job_events(events) == []
    assert {e.run.facets["parent"].run.runId for e in events} == {expected_job_run_id()}
    assert fake.called("get_project") == [{"project_id": PROJECT, "account_id": ACCOUNT}]


def test_generate_hangs_nodes_off_the_task_when_the_run_does_not_name_its_job(captured, monkeypatch, ti):
    """A stand-in run without project and job: the node events keep the official parent, the task."""
    run = {key: value for key, value in run_payload(10).items() if key not in ("project_id", "job")}
    dbt_cloud(monkeypatch, 10).run = {**run, "job_definition_id": None}
    operator = MagicMock(spec=DbtCloudRunJobOperator, run_id=RUN, account_id=ACCOUNT, hook=DbtCloudHook())

    lineage.generate_openlineage_events_from_dbt_cloud_run(operator, task_instance=ti)

    parents = {(e.run.facets["parent"].run.runId, e.run.facets["parent"].job.name) for e in captured()}
    assert parents == {(macros.lineage_run_id(ti), "nightly_transform.build_marts")}


# -- the cause -----------------------------------------------------------------------------------------

ROOM = DBT_CAUSE_MAX_LENGTH - len(MARKER) - 1


def fake_metadata(job_name: str = "dag.task", root_job_name: str = "dag") -> SimpleNamespace:
    return SimpleNamespace(
        run_id="01941f29-7c00-7087-8906-40e512c257bd",
        job_namespace="default",
        job_name=job_name,
        root_parent_run_id="01941f29-7c00-743e-b109-28b18d0a19c5",
        root_parent_job_namespace="default",
        root_parent_job_name=root_job_name,
    )


def metadata_of_length(monkeypatch, length: int, *, parent_only: bool) -> SimpleNamespace:
    """Metadata whose JSON (parent and root, or parent alone) is exactly ``length`` characters long."""
    current = fake_metadata()
    monkeypatch.setattr(lineage, "_get_parent_run_metadata", lambda ti: current)
    full = lineage.inject_parent_job_information_into_dbt_cloud_cause("x", None, max_length=10_000)
    assert full is not None
    parent_length = len(json.dumps({"parent": json.loads(full)["parent"]}, separators=(",", ":")))
    padding = length - (parent_length if parent_only else len(full))
    current = fake_metadata(job_name="dag.task" + "t" * padding)
    monkeypatch.setattr(lineage, "_get_parent_run_metadata", lambda ti: current)
    return current


def inject(cause: str = "nightly marts") -> str | None:
    return lineage.inject_parent_job_information_into_dbt_cloud_cause(cause, None, max_length=ROOM)


def test_cause_exactly_at_the_limit_keeps_the_root_and_the_marker(monkeypatch):
    metadata_of_length(monkeypatch, ROOM, parent_only=False)

    payload = inject()

    assert payload is not None
    assert len(payload) == ROOM
    assert set(json.loads(payload)) == {"parent", "root"}
    cause = build_cause(payload, MARKER)
    assert cause == f"{payload} {MARKER}"
    assert len(cause) == DBT_CAUSE_MAX_LENGTH


def test_cause_one_over_the_limit_drops_the_root(monkeypatch):
    metadata_of_length(monkeypatch, ROOM + 1, parent_only=False)

    payload = inject()

    assert payload is not None
    assert len(payload) < ROOM
    assert set(json.loads(payload)) == {"parent"}
    assert build_cause(payload, MARKER).endswith(f"}} {MARKER}")


def test_cause_with_the_parent_alone_at_the_limit_keeps_it(monkeypatch):
    metadata_of_length(monkeypatch, ROOM, parent_only=True)

    payload = inject()

    assert payload is not None
    assert len(payload) == ROOM
    assert set(json.loads(payload)) == {"parent"}
    assert len(build_cause(payload, MARKER)) == DBT_CAUSE_MAX_LENGTH


def test_cause_with_the_parent_alone_over_the_limit_drops_the_payload_not_the_marker(monkeypatch, caplog):
    metadata_of_length(monkeypatch, ROOM + 1, parent_only=True)

    with caplog.at_level(logging.WARNING, logger=lineage.log.name):
        payload = inject("nightly marts")

    assert payload == "nightly marts"
    assert "does not fit in 228 characters" in caplog.text
    assert build_cause(payload, MARKER) == f"nightly marts {MARKER}"


def test_cause_default_limit_is_dbt_clouds(monkeypatch):
    metadata_of_length(monkeypatch, DBT_CAUSE_MAX_LENGTH, parent_only=False)

    payload = lineage.inject_parent_job_information_into_dbt_cloud_cause("reason", None)

    assert payload is not None
    assert len(payload) == DBT_CAUSE_MAX_LENGTH
    assert set(json.loads(payload)) == {"parent", "root"}


def test_cause_of_a_real_task_keeps_its_parent_and_the_marker(captured, ti):
    """With a realistic namespace and ids, parent and root together leave no room for the marker."""
    both = lineage.inject_parent_job_information_into_dbt_cloud_cause("reason", ti, max_length=10_000)
    payload = lineage.inject_parent_job_information_into_dbt_cloud_cause("reason", ti, max_length=ROOM)

    assert both is not None
    assert len(both) > ROOM
    assert json.loads(both)["root"]["run"]["runId"] == macros.lineage_root_run_id(ti)
    assert payload is not None
    assert json.loads(payload) == {
        "parent": {
            "run": {"runId": macros.lineage_run_id(ti)},
            "job": {"namespace": NAMESPACE, "name": "nightly_transform.build_marts"},
        }
    }
    cause = build_cause(payload, MARKER)
    assert cause.endswith(f"}} {MARKER}")
    assert len(cause) <= DBT_CAUSE_MAX_LENGTH


def hide_openlineage(monkeypatch) -> None:
    """Make OpenLineage (the provider and the client) impossible to import, as when it is not installed."""
    names = [
        n
        for n in sys.modules
        if n.split(".")[0] == "openlineage" or n.startswith("airflow.providers.openlineage")
    ]
    for name in {*names, "openlineage", "airflow.providers.openlineage"}:
        monkeypatch.setitem(sys.modules, name, None)


def test_cause_without_the_openlineage_provider_is_unchanged(monkeypatch, caplog):
    hide_openlineage(monkeypatch)

    with caplog.at_level(logging.WARNING, logger=lineage.log.name):
        assert inject("nightly marts") == "nightly marts"

    assert "apache-airflow-providers-openlineage is not installed" in caplog.text


# -- no-ops and best effort ----------------------------------------------------------------------------


def test_disabled_openlineage_sends_nothing_and_asks_dbt_cloud_nothing(
    openlineage_off, monkeypatch, ti, caplog
):
    fake = dbt_cloud(monkeypatch, 10)

    with caplog.at_level(logging.DEBUG, logger=lineage.log.name):
        assert lineage.emit_dbt_cloud_run_start(ti, trigger_answer()) is None
        assert lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook()) is None

    assert fake.calls == []
    assert f"OpenLineage is disabled: no OpenLineage events for dbt Cloud run {RUN}." in caplog.text


def test_explicitly_disabled_openlineage_sends_nothing(captured, monkeypatch, ti, caplog):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "true")
    _reset_openlineage()

    with caplog.at_level(logging.DEBUG, logger=lineage.log.name):
        assert lineage.emit_dbt_cloud_run_end(ti, RunState.from_payload(run_payload(10)), True) is None

    assert "OpenLineage is disabled" in caplog.text


def test_openlineage_disabled_for_the_task_sends_nothing(captured, monkeypatch, operator, caplog):
    from airflow.providers.openlineage.api.emission_policy import extend_global_openlineage_emission_policy

    fake = dbt_cloud(monkeypatch, 10)
    extend_global_openlineage_emission_policy(operator, emit=False)

    with caplog.at_level(logging.INFO, logger=lineage.log.name):
        ti = FakeTaskInstance(operator)
        assert lineage.emit_dbt_cloud_run_start(ti, trigger_answer()) is None
        assert lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook()) is None

    assert captured() == []
    assert fake.calls == []
    assert "OpenLineage is disabled for task build_marts" in caplog.text


def test_without_the_openlineage_provider_nothing_is_sent(monkeypatch, ti, caplog):
    hide_openlineage(monkeypatch)

    with caplog.at_level(logging.DEBUG, logger=lineage.log.name):
        assert lineage.emit_dbt_cloud_run_start(ti, trigger_answer()) is None
        assert lineage.emit_dbt_cloud_run_end(ti, trigger_answer(), False) is None

    assert "apache-airflow-providers-openlineage is not installed" in caplog.text


def test_module_imports_and_degrades_without_openlineage_installed():
    code = (
        "import sys\n"
        "import airflow.configuration\n"  # Airflow reads every installed provider's metadata first
        "names = [n for n in sys.modules if n.split('.')[0] == 'openlineage'"
        " or n.startswith('airflow.providers.openlineage')]\n"
        "for name in {*names, 'openlineage', 'airflow.providers.openlineage'}:\n"
        "    sys.modules[name] = None\n"
        "from airflow_dbtcloud.utils import openlineage as lineage\n"
        "from airflow_dbtcloud.api.run_state import RunState\n"
        "print('RESULT', lineage.emit_dbt_cloud_run_start(object(), RunState(id=5)))\n"
        "print('RESULT', lineage.inject_parent_job_information_into_dbt_cloud_cause('why', object()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert results == [["None"], ["why"]]
    assert "apache-airflow-providers-openlineage is not installed" in done.stdout + done.stderr


def test_a_run_that_does_not_name_its_job_sends_nothing(captured, ti, caplog):
    with caplog.at_level(logging.WARNING, logger=lineage.log.name):
        assert lineage.emit_dbt_cloud_run_start(ti, RunState(id=RUN, account_id=ACCOUNT)) is None

    assert captured() == []
    assert "does not say its account, project and job" in caplog.text


def test_broken_lineage_never_reaches_the_task(captured, monkeypatch, ti, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("listener exploded")

    monkeypatch.setattr("airflow.providers.openlineage.api.is_openlineage_active", broken)

    with caplog.at_level(logging.WARNING, logger=lineage.log.name):
        assert lineage.emit_dbt_cloud_run_start(ti, trigger_answer()) is None
        assert lineage.emit_dbt_cloud_run_end(ti, trigger_answer(), True) is None

    assert "Could not send the OpenLineage START event of dbt Cloud run" in caplog.text
    assert "Could not send the OpenLineage COMPLETE event of dbt Cloud run" in caplog.text


def test_node_lineage_failing_still_ends_the_job_run(captured, monkeypatch, ti, caplog):
    fake = dbt_cloud(monkeypatch, 10)

    def no_project(self, project_id, account_id=None):
        raise DbtCloudNotFoundError(404, "GET", f"projects/{project_id}/")

    monkeypatch.setattr(DbtCloudHook, "get_project", no_project)

    with caplog.at_level(logging.WARNING, logger=lineage.log.name):
        lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=DbtCloudHook())

    (event,) = captured()
    assert (event.eventType.value, event.job.name) == ("COMPLETE", JOB_NAME)
    assert "Could not send the node lineage of dbt Cloud run" in caplog.text
    assert fake.called("get_job_run")


def test_unreadable_run_ends_the_job_run_from_what_the_caller_knows(captured, monkeypatch, ti, caplog):
    def unreadable(self, run_id, account_id=None, include_related=None):
        raise DbtCloudNotFoundError(404, "GET", f"runs/{run_id}/")

    monkeypatch.setattr(DbtCloudHook, "get_job_run", unreadable)

    lineage.emit_dbt_cloud_run_end(ti, RunState.from_payload(run_payload(20)), False, hook=DbtCloudHook())

    (event,) = captured()
    assert (event.eventType.value, event.run.runId) == ("FAIL", expected_job_run_id())


# -- secrecy, through the real hook over mocked HTTP ---------------------------------------------------


@responses.activate
def test_the_api_token_is_in_no_event(captured, monkeypatch, ti):
    conn = {"conn_type": "dbt_cloud", "login": str(ACCOUNT), "password": TOKEN, "host": "ab123.us1.dbt.com"}
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
    v2 = f"{BASE}/api/v2/accounts/{ACCOUNT}"
    run = run_payload(10, href=f"{BASE}/deploy/{ACCOUNT}/projects/{PROJECT}/runs/{RUN}/")
    responses.get(f"{v2}/runs/{RUN}/", json=envelope(run))
    project = {"id": PROJECT, "name": "Marts", "connection": SNOWFLAKE}
    responses.get(f"{BASE}/api/v3/accounts/{ACCOUNT}/projects/{PROJECT}/", json=envelope(project))
    responses.get(f"{v2}/runs/{RUN}/artifacts/catalog.json", json=read("snowflake_catalog.json"))
    hook = DbtCloudHook(retry_delay=0)

    with aioresponses() as mocked:
        for name, fixture in (
            ("manifest.json", "snowflake_manifest.json"),
            ("run_results.json", "snowflake_run_results_success.json"),
        ):
            mocked.get(f"{v2}/runs/{RUN}/artifacts/{name}?step=4", payload=read(fixture))
        lineage.emit_dbt_cloud_run_start(ti, RunState.from_payload(run))
        lineage.emit_dbt_cloud_run_end(ti, RunState(id=RUN), True, hook=hook)

    events = captured()
    # START, three nodes' START and COMPLETE, COMPLETE: all built from the real hook's answers.
    assert len(events) == 8
    assert all(call.request.headers["Authorization"] == f"Token {TOKEN}" for call in responses.calls)
    for event in events:
        assert TOKEN not in Serde.to_json(event)
