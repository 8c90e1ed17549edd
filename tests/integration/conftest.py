"""Integration set-up: a migrated SQLite metadata DB, the test DAGs in the DAGs folder, and helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate the metadata DB once and put the integration DAGs into the DAGs folder."""
    artifacts = tmp_path_factory.mktemp("artifacts")
    os.environ["IT_ARTIFACT_DIR"] = str(artifacts)
    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "it_dags.py", dags / "it_dags.py")
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        env=os.environ.copy(),
        capture_output=True,
    )
    return dags


@pytest.fixture(scope="session")
def it_dags(airflow_db: Path) -> dict[str, Any]:
    """The integration DAGs, parsed once."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(airflow_db / "it_dags.py"))
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture
def emu(dbt_cloud_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The emulator, reset, with ``AIRFLOW_CONN_DBT_CLOUD_DEFAULT`` pointing at it."""
    for key, value in dbt_cloud_emulator.env().items():
        monkeypatch.setenv(key, value)
    return dbt_cloud_emulator


class DagResult:
    """What a ``dag.test()`` run left behind, read from the metadata DB after the run."""

    def __init__(self, dag_run: Any) -> None:
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        self.state = str(dag_run.state)
        with create_session() as session:
            tis = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
            self.tis = {ti.task_id: (str(ti.state), ti.try_number) for ti in tis}
            rows = session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
            self.xcom = {(row.task_id, row.key): row.value for row in rows}

    def ti_state(self, task_id: str) -> str:
        return self.tis[task_id][0]

    def try_number(self, task_id: str) -> int:
        return self.tis[task_id][1]


@pytest.fixture
def run_dag(it_dags: dict[str, Any]) -> Any:
    """Run one integration DAG with ``dag.test()`` and return a :class:`DagResult`."""

    def _run(dag_id: str) -> DagResult:
        return DagResult(it_dags[dag_id].test())

    return _run


@pytest.fixture
def run_parsed_dag(airflow_db: Path) -> Any:
    """Run a DAG parsed elsewhere (an example) with ``dag.test()`` and return a :class:`DagResult`."""

    def _run(dag: Any) -> DagResult:
        return DagResult(dag.test())

    return _run
