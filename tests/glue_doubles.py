"""Test doubles for the Airflow glue: a task instance, a task state store and a hook with real signatures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from airflow_dbtcloud.api.failures import FailureReport
from airflow_dbtcloud.hooks.dbt import DbtCloudHook

#: The keyword arguments the official trigger serializes; ours adds ``error_budget`` only when it is set.
OFFICIAL_TRIGGER_KEYS = {
    "run_id",
    "account_id",
    "conn_id",
    "end_time",
    "execution_deadline",
    "poll_interval",
    "hook_params",
}


class FakeStore:
    """A ``task_state_store`` kept in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any, retention: Any = None) -> None:
        self.data[key] = value


class FakeTI:
    """A running task instance: its identity, its XCom pushes, its stats tags."""

    def __init__(self, try_number: int = 1, max_tries: int = 2) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index = "d", "r", "t", -1
        self.try_number, self.max_tries = try_number, max_tries
        self.stats_tags = {"dag_id": "d", "task_id": "t"}
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str | None = None) -> Any:
        return self.xcom.get(key)


def answer(data: Any) -> mock.Mock:
    """A stand-in ``requests.Response`` whose JSON body carries ``data``."""
    response = mock.Mock()
    response.json.return_value = {"data": data}
    return response


def run_payload(run_id: int = 11, status: int = 1, **extra: Any) -> dict[str, Any]:
    """A run as dbt Cloud returns it."""
    return {
        "id": run_id,
        "status": status,
        "account_id": 1,
        "project_id": 100,
        "job_definition_id": 300,
        "href": f"https://emea.dbt.com/deploy/1/projects/100/runs/{run_id}/",
        **extra,
    }


def hook_double() -> Any:
    """A hook whose methods have the real signatures: a misspelt keyword fails the test."""
    hook = mock.create_autospec(DbtCloudHook, instance=True, spec_set=True)
    hook.log_job_run_failure_details.return_value = FailureReport(11, "Error", notes=("REPORT",))
    return hook


def run_build(run_id: int = 11, job_id: int = 300) -> Any:
    """What ``DbtCloudHook.get_run_build`` answers for a run that built one Postgres model."""
    from airflow_dbtcloud.api.run_artifacts import BuiltNode, NodeResult, Relation, RunBuild

    relation = Relation("model", "analytics", "prod", "orders")
    node = BuiltNode("model.shop.orders", relation, NodeResult("model.shop.orders", 1.0, 3))
    connection = {"type": "postgres", "details": {"hostname": "db.example", "port": 5432}}
    url = f"https://cloud.example/runs/{run_id}/"
    return RunBuild(1, 100, job_id, run_id, url, "postgres", connection, [node])


#: The asset ``run_build`` names.
ORDERS_URI = "postgres://db.example:5432/analytics/prod/orders"


@contextmanager
def lineage_calls(glue_module: str) -> Iterator[tuple[mock.Mock, mock.Mock, mock.Mock]]:
    """Replace the lineage functions a task calls with mocks: START, success end, and the end on failure.

    :param glue_module: The task's module, e.g. ``airflow_dbtcloud.operators.dbt``.
    """
    with (
        mock.patch(f"{glue_module}.emit_dbt_cloud_run_start") as start,
        mock.patch(f"{glue_module}.emit_dbt_cloud_run_end") as end,
        # failed_run_lineage sends the failure end from its own module.
        mock.patch("airflow_dbtcloud.utils.openlineage.emit_dbt_cloud_run_end") as failed_end,
    ):
        yield start, end, failed_end
