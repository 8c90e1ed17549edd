"""What ``make demo`` and ``make demo-ui`` share: scenarios, Airflow home and environment, emulator.

Both run the same example DAGs from ``example_dags/`` against the bundled dbt Cloud emulator on a
throw-away SQLite metadata DB: ``demo.py`` with ``dag.test()``, ``demo_ui.py`` under Airflow's scheduler,
triggerer and API server. Nothing listens beyond 127.0.0.1, and the only service the DAGs call is the
emulator there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo_preflight import PreflightError, require_free_port

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "example_dags"
#: The cluster policy that shortens the examples' waits (see that file).
POLICY = Path(__file__).with_name("demo_airflow_local_settings.py")
#: The job the failure scenario runs (``example_dbt_cloud_retry_from_failure``'s default), and the model
#: that fails in its first run. Job 301 runs ``dbt run --select tag:hourly``, which builds this model.
FAILING_JOB = 301
FAILING_NODE = "model.jaffle_shop.daily_revenue"
#: The operator whose tries start dbt Cloud runs.
RUN_OPERATOR = "DbtCloudRunJobOperator"
#: The connection every example DAG uses.
CONN_ID = "dbt_cloud_default"


@dataclass(frozen=True)
class Scenario:
    """One example DAG of the demo and what it shows."""

    dag_id: str
    file: str
    title: str
    story: str


SCENARIOS = (
    Scenario(
        "example_dbt_cloud_run_job",
        "example_dbt_cloud_run_job.py",
        "Run a job and wait for it",
        "trigger_and_wait starts a run of job 300 and waits in the triggerer; trigger_only starts "
        "another and returns at once, and the deferrable sensor wait_for_run waits for that one.",
    ),
    Scenario(
        "example_dbt_cloud_artifacts",
        "example_dbt_cloud_artifacts.py",
        "Download a run's artifacts",
        "run_job runs job 300; two tasks stream its run_results.json and manifest.json to a local "
        "directory and to object storage (a file:// URI here).",
    ),
    Scenario(
        "example_dbt_cloud_assets_producer",
        "example_dbt_cloud_assets.py",
        "dbt models as Airflow assets",
        "build runs job 300 and adds one asset event per model, seed and snapshot it built, named by "
        "the warehouse table; DAGs scheduled on those tables run after it.",
    ),
    Scenario(
        "example_dbt_cloud_retry_from_failure",
        "example_dbt_cloud_retry_from_failure.py",
        "A failing model, then a retry from the point of failure",
        f"The emulator fails {FAILING_NODE} in the next run of job {FAILING_JOB}: the first try of "
        "run_with_retry fails with the failed nodes; its retry asks dbt Cloud to rerun that run from "
        "the failure instead of starting the job afresh.",
    ),
)


def script_emulator(emu: Any, running_seconds: float | None = None) -> None:
    """Make the next run of :data:`FAILING_JOB` fail on :data:`FAILING_NODE`; the runs after it succeed.

    :param emu: The running emulator.
    :param running_seconds: How long every run of the demo's jobs stays RUNNING; None keeps the
        emulator's 0.6 s.
    """
    emu.fail_next_run(FAILING_JOB, failing_nodes=[FAILING_NODE])
    if running_seconds is not None:
        for job_id in sorted({300, FAILING_JOB}):
            emu.set_job_script(job_id, running_seconds=running_seconds)


def make_home() -> Path:
    """Create the throw-away Airflow home: the demo's DAG files and the cluster policy that speeds them up."""
    home = Path(tempfile.mkdtemp(prefix="airflow-dbtcloud-demo-"))
    (home / "dags").mkdir()
    (home / "config").mkdir()
    for file in sorted({scenario.file for scenario in SCENARIOS}):
        shutil.copy(EXAMPLES / file, home / "dags" / file)
    shutil.copy(POLICY, home / "config" / "airflow_local_settings.py")
    return home


def keep_requests_on_loopback() -> None:
    """Send requests to 127.0.0.1 and localhost directly, even where a proxy is configured."""
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in os.environ.get(name, "").split(",") if h]
        os.environ[name] = ",".join(dict.fromkeys([*hosts, "127.0.0.1", "localhost"]))


def airflow_env(home: Path, emu: Any, **options: str) -> dict[str, str]:
    """The environment of every Airflow process of the demo: this home, its DAGs, the emulator's connection.

    Airflow settings of the calling shell (``AIRFLOW__...``) are left out: the demo's Airflow is
    throw-away and must not pick up an executor or a database meant for another.

    :param home: ``AIRFLOW_HOME``, from :func:`make_home`.
    :param emu: The running emulator.
    :param options: More variables, which win over the ones here.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return {
        **inherited,
        **emu.env(CONN_ID),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow_local_settings.hostname",
        # Where example_dbt_cloud_artifacts writes (its defaults are relative to the working directory).
        "DBT_CLOUD_ARTIFACT_DIR": str(home / "artifacts"),
        "DBT_CLOUD_ARTIFACT_URI": f"file://{home / 'object-store'}",
        **options,
    }


@contextlib.contextmanager
def emulator(port: int) -> Iterator[Any]:
    """Run the dbt Cloud emulator on 127.0.0.1 for the ``with`` block.

    :param port: The port; 0 takes a free one.
    :raises PreflightError: When the port is busy.
    """
    from airflow_dbtcloud.testing import Emulator

    what = "the dbt Cloud emulator"
    if port:
        require_free_port(port, "--emulator-port", what)
    emu = Emulator(host="127.0.0.1", port=port)
    try:
        emu.start()
    except RuntimeError as error:
        if port:  # taken between the check and the start
            require_free_port(port, "--emulator-port", what)
        raise PreflightError(f"{what} did not start: {error}") from error
    try:
        yield emu
    finally:
        emu.stop()


def save_journal(emu: Any, home: Path) -> Path:
    """Write the emulator's journal (one entry per API request it answered) next to the demo's log."""
    path = home / "emulator-journal.json"
    path.write_text(json.dumps(emu.journal, indent=1, default=str))
    return path


def token_check(token: str, output: str, home: Path) -> tuple[str, bool]:
    """Search the demo's output and its files (logs, task logs, the journal, the metadata DB) for the token.

    :param token: The API token.
    :param output: What the demo printed.
    :param home: The Airflow home.
    :return: What was searched, as a phrase, and whether the token was found nowhere.
    """
    files = sorted({*home.rglob("*.log"), *home.glob("*.json"), *home.glob("airflow.db*")})
    found = [str(p) for p in files if token.encode() in p.read_bytes()]
    if token in output:
        found.append("this output")
    searched = f"this output and {len(files)} files under {home} (logs, task logs, journal, metadata DB)"
    verdict = f"; FOUND in {', '.join(found)}" if found else ""
    return f"the API token appears nowhere in {searched}{verdict}", not found


def listening(processes: dict[str, int], children: bool = True) -> list[str]:
    """Every TCP address the processes (and their children) listen on, as ``host:port (name)``.

    :param processes: Process ids by the name to show.
    :param children: Include each process's children, and theirs.
    """
    import psutil

    found = set()
    for name, pid in processes.items():
        try:
            root = psutil.Process(pid)
            tree = [root, *(root.children(recursive=True) if children else [])]
        except psutil.NoSuchProcess:
            continue
        for member in tree:
            try:
                sockets = member.net_connections(kind="inet")
            except psutil.Error:  # it ended while we looked
                continue
            found |= {
                f"{s.laddr.ip}:{s.laddr.port} ({name})" for s in sockets if s.status == psutil.CONN_LISTEN
            }
    return sorted(found)
