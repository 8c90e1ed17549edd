"""The demo in Airflow's UI: the same DAGs under Airflow's scheduler, triggerer and API server.

It starts the dbt Cloud emulator, migrates a throw-away SQLite metadata DB and starts the four
components ``airflow standalone`` runs (API server, scheduler with LocalExecutor, DAG processor,
triggerer), each as its own process: ``airflow standalone`` cannot tell its scheduler and triggerer not
to start their log servers, which listen on every network interface, while here everything stays on
127.0.0.1 (``--skip-serve-logs``; the API server reads the task logs from disk). The auth manager is
Airflow's SimpleAuthManager with one user, ``admin``, whose password the demo writes to the passwords
file and prints. Once the API server answers, it triggers the demo's DAGs through the REST API, waits
for their runs, prints the same summary as ``make demo`` (Airflow's side read through the REST API) and
where to click, and runs until Ctrl-C (or SIGTERM), then stops every process it started.

``make demo-ui`` runs it; ``make demo-ui ARGS="--port 8080 --emulator-port 8787"`` picks the ports
(default: free ones). ``--check`` stops after the summary instead of waiting: exit status 0 when
everything behaved as expected, 1 when a check failed, 2 when something the demo needs is missing or busy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from demo_preflight import PreflightError, preflight, require_free_port

#: What ``airflow standalone`` starts, by name: the arguments of each ``airflow`` command.
COMPONENTS = {
    "api-server": ("api-server",),
    "scheduler": ("scheduler", "--skip-serve-logs"),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer", "--skip-serve-logs"),
}
#: The task whose "dbt Cloud" tab the demo points at: it failed once, then retried from the failure.
SHOWN_DAG, SHOWN_TASK = "example_dbt_cloud_retry_from_failure", "run_with_retry"
#: The DAGs of ``example_dbt_cloud_assets.py`` scheduled on the producer's asset events.
CONSUMERS = ("example_dbt_cloud_assets_consumer", "example_dbt_cloud_assets_any_model")
#: How long each dbt Cloud run stays RUNNING here, in seconds. Long enough to watch the dbt Cloud tab
#: refresh, and to keep clear of an Airflow 3.3 race (apache/airflow#72716): a deferred task whose
#: trigger fires before the scheduler has read the executor's report of its defer-exit is failed.
RUNNING_SECONDS = 3.0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--port", type=int, default=0, help="the API server's port on 127.0.0.1 (default: free)"
    )
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=0,
        help="the dbt Cloud emulator's port on 127.0.0.1 (default: free)",
    )
    parser.add_argument("--check", action="store_true", help="stop after the summary, don't wait for Ctrl-C")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for the API server and the runs (300)"
    )
    return parser.parse_args(argv)


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError as error:
        return f"({path} unreadable: {error})"


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class Airflow:
    """The demo's Airflow processes, read through the REST API as the ``admin`` user."""

    def __init__(self, home: Path, env: dict[str, str], port: int) -> None:
        from e2e_airflow import RestApi

        self.home = home
        self.env = env
        self.base_url = f"http://127.0.0.1:{port}"
        self.api = RestApi(self.base_url, home / "passwords.json")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        """Start every component, each in a session of its own, with its output in ``<name>.log``."""
        from airflow_processes import start

        for name, args in COMPONENTS.items():
            self.processes[name] = start(self.env, self.home / f"{name}.log", *args)

    def stop(self) -> list[str]:
        """SIGTERM every component's session at once, then wait for each (SIGKILL after 30 s).

        :return: The processes of those sessions still alive afterwards, one line each (none, normally).
        """
        import psutil
        from airflow_processes import stop

        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            stop(process)
        sessions = {process.pid for process in self.processes.values()}
        left = []
        for process in psutil.process_iter(["pid", "cmdline"]):
            with contextlib.suppress(OSError):
                if os.getsid(process.pid) in sessions:
                    left.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])}")
        return left

    def exited(self) -> str | None:
        """The first component that has ended, with its exit status and the end of its log; else None."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return f"airflow {name} exited with {process.returncode}:\n{_tail(self.home / f'{name}.log')}"
        return None

    def wait_until(self, what: str, check: Callable[[], Any], deadline: float) -> Any:
        """Call ``check`` every half second until it returns something true, while every component runs.

        :raises RuntimeError: When a component ends.
        :raises TimeoutError: At ``deadline`` (``time.monotonic()``).
        """
        while time.monotonic() < deadline:
            ended = self.exited()
            if ended:
                raise RuntimeError(ended)
            try:
                result = check()
            except (OSError, ValueError):  # not answering yet (URLError and HTTPError are OSErrors)
                result = None
            if result:
                return result
            time.sleep(0.5)
        raise TimeoutError(f"timed out waiting for {what}")

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{_quote(run_id)}"))

    def trigger(self, dag_id: str, deadline: float) -> str:
        """Wait until the DAG is parsed, then start a run of it; return the run's id."""
        self.wait_until(
            f"DAG {dag_id} to be parsed", partial(self.api, "GET", f"/api/v2/dags/{dag_id}"), deadline
        )
        return str(self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"])

    def finished_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs that have ended."""
        runs = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns")["dag_runs"]
        return [run for run in runs if run["state"] in ("success", "failed")]

    def finished(self, dag_id: str, run_id: str) -> str | None:
        """The DAG run's state once it has ended, else None."""
        state = self.dag_run(dag_id, run_id)["state"]
        return str(state) if state in ("success", "failed") else None

    def record(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """What Airflow recorded about one DAG run, through the REST API, shaped as ``demo_run.record``."""
        run = self.dag_run(dag_id, run_id)
        path = f"/api/v2/dags/{dag_id}/dagRuns/{_quote(run_id)}/taskInstances"
        instances = sorted(self.api("GET", path)["task_instances"], key=lambda ti: ti["start_date"] or "~")
        tasks, xcom = [], {}
        for ti in instances:
            job_id = (ti.get("rendered_fields") or {}).get("job_id")
            tasks.append(
                {
                    "task_id": ti["task_id"],
                    "operator": ti["operator"],
                    "state": ti["state"],
                    "try_number": ti["try_number"],
                    "duration": ti["duration"],
                    "job_id": None if job_id is None else int(job_id),
                }
            )
            entries = f"{path}/{ti['task_id']}/xcomEntries"
            keys = [e["key"] for e in self.api("GET", entries)["xcom_entries"]]
            xcom[ti["task_id"]] = {
                key: self.api("GET", f"{entries}/{_quote(key)}?deserialize=true")["value"]
                for key in keys
                if key in ("job_run_id", "return_value")
            }
        query = urllib.parse.urlencode({"source_dag_id": dag_id, "source_run_id": run_id, "limit": 100})
        events = self.api("GET", f"/api/v2/assets/events?{query}")["asset_events"]
        return {
            "dag_id": dag_id,
            "run_id": run_id,
            "state": run["state"],
            "start_date": run["start_date"],
            "end_date": run["end_date"],
            "tasks": tasks,
            "xcom": xcom,
            "asset_events": [
                {"uri": e["uri"], "source_task_id": e["source_task_id"], "extra": e["extra"] or {}}
                for e in events
            ],
        }


def _ui_env(home: Path, emu: Any, port: int) -> dict[str, str]:
    from airflow_processes import free_port
    from demo_setup import airflow_env

    base_url = f"http://127.0.0.1:{port}"
    return airflow_env(
        home,
        emu,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="False",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{base_url}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=base_url,
        AIRFLOW__API__WORKERS="1",
        # Shared by every component (the scheduler signs the tokens the API server checks); throw-away.
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
        AIRFLOW__API__SECRET_KEY=secrets.token_hex(32),
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        # A task supervisor notices its task process's exit within a second rather than five, so the
        # scheduler hears of a deferral sooner (the race RUNNING_SECONDS keeps clear of).
        AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL="1",
        # No log server is started; these only keep the defaults (8793, 8794) free for another Airflow.
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
    )


def _where_to_click(base_url: str, password: str, shown_run: str) -> list[str]:
    tab = f"{base_url}/dags/{SHOWN_DAG}/runs/{_quote(shown_run)}/tasks/{SHOWN_TASK}/plugin/dbt-cloud-run"
    return [
        "",
        "== Airflow's UI",
        f"    {base_url}    user: admin    password: {password}",
        f"    The task that failed, then retried from the failure: Dags > {SHOWN_DAG} > its run >",
        f'    task {SHOWN_TASK} > the "dbt Cloud" tab (status, steps, every dbt node, failed ones first):',
        f"      {tab}",
        '    The "dbt Cloud" entry in the navigation bar: the jobs the DAGs run, success rate, latest runs:',
        f"      {base_url}/plugin/dbt-cloud",
        '    Every task of the demo\'s DAGs has the "dbt Cloud" tab (it says so when a task has no run).',
    ]


def _run(args: argparse.Namespace, say: Any, home: Path, password: str, started: float) -> list[Any]:
    """Start the emulator and Airflow, run the demo, and stop everything, whatever happens.

    :return: The checks.
    """
    from airflow_processes import airflow as airflow_cli
    from airflow_processes import free_port
    from demo_report import Check
    from demo_setup import emulator, script_emulator, token_check

    with emulator(args.emulator_port) as emu:
        script_emulator(emu, running_seconds=RUNNING_SECONDS)
        port = args.port or free_port()
        airflow = Airflow(home, _ui_env(home, emu, port), port)
        say(
            f"dbt Cloud emulator: {emu.base_url}; Airflow home (SQLite metadata DB, logs): {home}",
            f"The examples' waits are shortened by {home}/config/airflow_local_settings.py; "
            f"each dbt Cloud run stays RUNNING {RUNNING_SECONDS:.0f} s.",
        )
        migrated = airflow_cli(airflow.env, "db", "migrate")
        if migrated.returncode:
            raise RuntimeError(
                f"airflow db migrate failed:\n{migrated.stdout[-2000:]}{migrated.stderr[-2000:]}"
            )
        say(f"Starting airflow {', '.join(COMPONENTS)} (their output: {home}/<name>.log) ...")
        airflow.start()
        checks: list[Check] = []
        try:
            checks = _demo(args, airflow, emu, say, password, started)
            if not args.check:
                say("", "Airflow and the emulator run until you press Ctrl-C.")
                while not (ended := airflow.exited()):
                    time.sleep(1)
                say(ended)
        except KeyboardInterrupt:
            say("", "Stopping ...")
            if not checks:  # before the summary
                raise
        finally:
            left = airflow.stop()
            checks.append(Check("every Airflow process stopped", not left))
            say(f"Stopped the Airflow processes{'; left running: ' + '; '.join(left) if left else ''}.")
        checks.append(Check(*token_check(emu.token, say.text, home)))
    return checks


def _demo(
    args: argparse.Namespace, airflow: Airflow, emu: Any, say: Any, password: str, started: float
) -> Any:
    """Wait for the API server, run the DAGs through the REST API and print the summary; return the checks."""
    from demo_report import REAL_ACCOUNT, DagRunRecord, summarize
    from demo_setup import SCENARIOS, save_journal

    deadline = started + args.timeout
    health = partial(airflow.api, "GET", "/api/v2/monitor/health")
    try:
        airflow.wait_until("the API server", health, deadline)
    except RuntimeError as error:
        if args.port and "address already in use" in str(error).lower():
            require_free_port(args.port, "--port", "Airflow's API server")
        raise
    say(f"  the API server answers at {airflow.base_url} ({time.monotonic() - started:.0f}s)")
    airflow.wait_until("a sign-in token", airflow.api.sign_in, deadline)
    runs = {s.dag_id: airflow.trigger(s.dag_id, deadline) for s in SCENARIOS}
    say(f"  triggered {', '.join(runs)} ({time.monotonic() - started:.0f}s)")
    for dag_id, run_id in runs.items():
        state = airflow.wait_until(f"{dag_id} to finish", partial(airflow.finished, dag_id, run_id), deadline)
        say(f"  {dag_id}: {state} ({time.monotonic() - started:.0f}s)")
    records = {
        dag_id: DagRunRecord.from_dict(airflow.record(dag_id, run_id)) for dag_id, run_id in runs.items()
    }
    lines, checks = summarize(emu, records)
    more_lines, more_checks = _ui_facts(airflow, records, runs[SHOWN_DAG], deadline)
    journal = save_journal(emu, airflow.home)
    where = [
        "",
        "== Where things are",
        f"    The Airflow components' output: {airflow.home}/<name>.log; task logs: {airflow.home}/logs",
        f"    The emulator's journal (every API request it answered): {journal}",
        f"    Downloaded artifacts: {airflow.home / 'artifacts'} and {airflow.home / 'object-store'}",
        f"    (The Airflow home is kept for you to look at; remove it when done: rm -rf {airflow.home})",
    ]
    say(
        *lines,
        *more_lines,
        *where,
        "",
        REAL_ACCOUNT,
        *_where_to_click(airflow.base_url, password, runs[SHOWN_DAG]),
    )
    return [*checks, *more_checks]


def _ui_facts(
    airflow: Airflow, records: dict[str, Any], shown_run: str, deadline: float
) -> tuple[list[str], list[Any]]:
    """What only this demo shows: the asset consumers' runs, the dbt Cloud tab's data, listening sockets."""
    from demo_report import Check
    from demo_setup import listening

    lines = ["", "== DAGs scheduled on the producer's asset events (their runs)"]
    consumed: list[Any] = []
    for dag_id in CONSUMERS:
        found = airflow.wait_until(
            f"a finished run of {dag_id}",
            partial(airflow.finished_runs, dag_id),
            min(deadline, time.monotonic() + 60),
        )
        lines.append(f"    {dag_id}: " + ", ".join(f"{run['dag_run_id']} {run['state']}" for run in found))
        consumed.append(
            Check(
                f"{dag_id} ran on the producer's asset events and succeeded",
                bool(found) and all(run["state"] == "success" for run in found),
            )
        )
    shown = records[SHOWN_DAG].xcom.get(SHOWN_TASK, {}).get("job_run_id")
    view = airflow.api("GET", f"/dbt-cloud/api/ti/{SHOWN_DAG}/{_quote(shown_run)}/{SHOWN_TASK}?map_index=-1")
    lines += [
        "",
        f'== The "dbt Cloud" tab of {SHOWN_TASK}, read as the UI reads it (GET /dbt-cloud/api/ti/...)',
        f"    run {view['run']['id']}: {view['run']['status_name']}, {len(view['nodes'])} dbt node(s)",
    ]
    processes = {f"airflow {name}": process.pid for name, process in airflow.processes.items()}
    sockets = listening(processes)
    sockets += listening({"the demo's process: the dbt Cloud emulator": os.getpid()}, children=False)
    lines += ["", "== Listening sockets (every process of the demo)", *(f"    {s}" for s in sockets)]
    checks = [
        *consumed,
        Check(f'the "dbt Cloud" tab of {SHOWN_TASK} shows run {shown}', view["run"]["id"] == shown),
        Check(
            "everything listens on 127.0.0.1 only",
            bool(sockets) and all(s.startswith("127.0.0.1:") for s in sockets),
        ),
    ]
    return lines, checks


def main(argv: list[str] | None = None) -> int:
    """Run the UI demo; return the exit status (see the module docstring)."""
    args = _parse(argv)
    try:
        preflight(
            (args.port, "--port", "Airflow's API server"),
            (args.emulator_port, "--emulator-port", "the dbt Cloud emulator"),
        )
    except PreflightError as error:
        print(f"demo-ui: {error}", file=sys.stderr)
        return 2
    from demo import Output
    from demo_report import footer
    from demo_setup import keep_requests_on_loopback, make_home

    # Ctrl-C and SIGTERM end the demo through the finally blocks that stop every process; SIGINT is set
    # too, since a shell starting the demo in the background (`&`) makes it ignore SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    say = Output()
    keep_requests_on_loopback()
    home = make_home()
    password = secrets.token_urlsafe(12)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": password}))
    passwords.chmod(0o600)
    started = time.monotonic()
    try:
        checks = _run(args, say, home, password, started)
    except PreflightError as error:
        print(f"demo-ui: {error}", file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as error:
        say(f"demo-ui: {error}")
        return 1
    except KeyboardInterrupt:
        say("demo-ui: interrupted before the summary; everything it started is stopped.")
        return 130
    say(*footer(checks), f"(demo-ui took {time.monotonic() - started:.0f}s)")
    return 0 if checks and all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
