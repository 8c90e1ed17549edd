"""End to end with real Airflow processes against the emulator.

``airflow standalone`` (scheduler, DAG processor, triggerer, API server, LocalExecutor workers) runs on
a throw-away SQLite metadata DB against the bundled emulator, through two scenarios:

1. A task killed mid-run reattaches to its dbt Cloud run. A DAG starts a 40-second run and polls it on
   the worker; once the run is RUNNING the task process is killed with SIGKILL, as a crashed worker
   would be. The scheduler retries the task, which must find the run through ``task_state_store``:
   the emulator must see exactly one run and the DAG run must succeed.
2. A deferred wait survives a flaky API. A deferrable task waits in the real triggerer while every
   status request fails with 503 for a while; the trigger must keep polling and the task succeed.

Run it with ``make e2e``; ``tests/integration/test_real_processes.py`` runs it too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

JOB_ID = 302
DEFERRED_JOB_ID = 303
DAG_ID = "e2e_crash"
DEFERRED_DAG_ID = "e2e_flaky_deferred"
DAG_FILE = f'''
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator

with DAG(dag_id="{DAG_ID}", start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
    DbtCloudRunJobOperator(
        task_id="run", job_id={JOB_ID}, check_interval=1, retries=2, retry_delay=timedelta(seconds=1)
    )

with DAG(dag_id="{DEFERRED_DAG_ID}", start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
    DbtCloudRunJobOperator(
        task_id="run", job_id={DEFERRED_JOB_ID}, check_interval=1, deferrable=True,
        hook_params={{"retry_limit": 2, "retry_delay": 0.1}},
    )
'''
#: Status requests answered 503 in a row during the deferred wait: more than one poll's retries.
FLAKY_POLLS = 8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(1)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def _airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _dag_run_state(env: dict[str, str], dag_id: str) -> str | None:
    result = _airflow(env, "dags", "list-runs", dag_id, "-o", "json")
    # Warnings share stdout with the JSON; the JSON is the line that starts with a bracket and brace.
    lines = [line for line in result.stdout.splitlines() if line.startswith(("[{", "[]"))]
    runs = json.loads(lines[-1]) if lines else []
    return str(runs[0]["state"]) if runs else None


def _run_statuses(emu: Any) -> list[int]:
    """Statuses of the job's runs, read through the emulator's public API."""
    request = urllib.request.Request(  # noqa: S310 - the loopback emulator
        f"{emu.base_url}/api/v2/accounts/{emu.account_id}/runs/?job_definition_id={JOB_ID}",
        headers={"Authorization": f"Token {emu.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return [int(run["status"]) for run in json.load(response)["data"]]


def _task_process(standalone: psutil.Process) -> psutil.Process | None:
    """The process running the task: a child of a LocalExecutor worker that is not itself a worker."""
    for child in standalone.children(recursive=True):
        try:
            title = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if title.startswith("airflow worker -- ") and "LocalExecutor" not in title:
            return child
    return None


def main() -> int:
    """Run both scenarios; return 0 when each behaved as described in the module docstring."""
    from airflow_dbtcloud.testing import RUNNING, run_emulator

    home = Path(tempfile.mkdtemp(prefix="airflow-dbtcloud-e2e-"))
    (home / "dags").mkdir()
    (home / "dags" / "e2e_dags.py").write_text(DAG_FILE)
    api_port = _free_port()
    with run_emulator() as emu:
        emu.set_job_script(JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=40)
        emu.set_job_script(DEFERRED_JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=20)
        env = {
            **os.environ,
            **emu.env(),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{api_port}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        }
        print(f"airflow standalone in {home}; emulator at {emu.base_url}", flush=True)
        with (home / "standalone.log").open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", "standalone"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait(
                "the DAG to be parsed", lambda: _airflow(env, "dags", "trigger", DAG_ID).returncode == 0, 240
            )
            print("DAG run triggered", flush=True)
            _wait("the dbt Cloud run to be RUNNING", lambda: RUNNING in _run_statuses(emu), 120)
            victim = _wait("the task process", lambda: _task_process(psutil.Process(process.pid)), 60)
            print(f"killing task process {victim.pid} with SIGKILL while the run is RUNNING", flush=True)
            victim.send_signal(signal.SIGKILL)
            state = _wait(
                "the DAG run to finish",
                lambda: (s := _dag_run_state(env, DAG_ID)) in ("success", "failed") and s,
                240,
            )
            print(f"== {DEFERRED_DAG_ID}: {FLAKY_POLLS} status requests in a row answered 503", flush=True)
            emu.add_fault(route="get_run", kind="status", status=503, sequence=[None] + [503] * FLAKY_POLLS)
            _airflow(env, "dags", "trigger", DEFERRED_DAG_ID)
            deferred_state = _wait(
                "the deferred DAG run to finish",
                lambda: (s := _dag_run_state(env, DEFERRED_DAG_ID)) in ("success", "failed") and s,
                240,
            )
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        runs = emu.runs_created(JOB_ID)
        logs = "\n".join(p.read_text(errors="replace") for p in (home / "logs").rglob("*") if p.is_file())
        reattached = "Reattaching to dbt Cloud run" in logs
        deferred_runs = emu.runs_created(DEFERRED_JOB_ID)
        answered_503 = sum(1 for e in emu.journal if e.get("route") == "get_run" and e["status"] == 503)
        kept_polling = "Transient error polling job run" in logs
        leaked = emu.token in logs or emu.token in (home / "standalone.log").read_text(errors="replace")
    print(f"DAG run: {state}; dbt Cloud runs of job {JOB_ID}: {runs}; reattached: {reattached}")
    print(
        f"Deferred DAG run: {deferred_state}; runs of job {DEFERRED_JOB_ID}: {deferred_runs}; "
        f"503 answers: {answered_503}; trigger kept polling: {kept_polling}"
    )
    print(f"API token in any log: {'YES (bug)' if leaked else 'no'}")
    ok = (
        state == "success"
        and runs == 1
        and reattached
        and deferred_state == "success"
        and deferred_runs == 1
        and answered_503 == FLAKY_POLLS
        and kept_polling
        and not leaked
    )
    print("e2e tests " + ("passed" if ok else f"FAILED (see {home})"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
