"""The few fixtures and markers of Airflow's ``tests_common`` plugin that the official dbt Cloud tests use.

It exists only so scripts/official_tests.py can run the official provider's unit tests. Nothing here
touches a metadata database: connections come from ``AIRFLOW_CONN_*`` variables and the one test that
asks for a task instance gets a light stand-in.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
import structlog


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers the official tests put on some items, so pytest accepts them."""
    for marker in ("db_test", "backend(name): needs this database", "need_serialized_dag"):
        config.addinivalue_line("markers", marker)


@pytest.fixture(autouse=True, scope="session")
def _structlog_to_stdlib_logging() -> None:
    """Send Airflow's structlog loggers (``self.log``) through :mod:`logging` so ``caplog`` sees them."""
    structlog.configure(
        processors=[
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


@pytest.fixture
def create_connection_without_db(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], None]:
    """Return a function that makes a connection visible to hooks through its ``AIRFLOW_CONN_*`` variable."""

    def create(connection: Any) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{connection.conn_id.upper()}", connection.as_json())

    return create


@pytest.fixture
def mock_supervisor_comms(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Replace the task runner's channel to the supervisor (used for XCom reads) with an autospec mock."""
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import CommsDecoder

    comms = mock.create_autospec(CommsDecoder)
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms, raising=False)
    return comms


@pytest.fixture
def dag_maker() -> SimpleNamespace:
    """Hold the DAG that ``create_task_instance_of_operator`` built last (read as ``dag_maker.dag``)."""
    return SimpleNamespace(dag=None)


@pytest.fixture
def create_task_instance_of_operator(dag_maker: SimpleNamespace) -> Callable[..., SimpleNamespace]:
    """Return a factory building one operator in a fresh DAG and a task-instance-like view of it."""
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import DAG

    def create(operator_class: type, *, dag_id: str, task_id: str, **kwargs: Any) -> SimpleNamespace:
        with DAG(dag_id, schedule=None) as dag:
            task = operator_class(task_id=task_id, **kwargs)
        dag_maker.dag = dag
        key = TaskInstanceKey(dag_id, task_id, run_id="manual__1", try_number=1, map_index=-1)
        return SimpleNamespace(task=task, task_id=task_id, key=key, xcom_push=lambda **_: None)

    return create
