"""Event-driven DAGs on dbt Cloud job runs, with a real scheduler, DAG processor, triggerer and API server.

Three DAGs are each scheduled on an asset watched by a ``DbtCloudJobRunEventTrigger`` of the same job,
with different filters: any successful run; successful runs not started by this provider's operator;
successful or failed runs in the job's environment. They run under ``airflow scheduler``,
``airflow dag-processor``, ``airflow triggerer`` and ``airflow api-server``, started separately on a
throw-away SQLite DB against the bundled emulator, polling every second. The runs are started in the
emulator itself, as dbt Cloud's scheduler, a person, a pull request or another client would, never by
Airflow:

1. Three watchers, one poll. While nothing happens, the emulator's journal must show one list request of
   the job's runs per poll interval, not three: the watchers share one stream.
2. A scheduled run queues each DAG exactly once, and a few polls later still once.
3. The triggerer is killed with SIGKILL; a run is started and ends while it is down; a new triggerer
   starts, and another run follows. Each DAG gets exactly two more runs: the run that ended during the
   outage is caught up on, and nothing fires twice.
4. Filters: a run whose cause carries this provider's marker does not reach the "not Airflow" DAG, and a
   failed run reaches only the DAG that asks for failures.

A fourth watcher, of a job that does not exist, runs all along: it must say why it stopped in the
triggerer's log and make one request per triggerer start, not one per triggerer loop (Airflow restarts a
watcher that ends at once, so a watcher that raised would hammer dbt Cloud).

Each asset event's payload names the dbt Cloud run it came from; every run appears once per asset. The
first DAG's task reads the run id from ``triggering_asset_events`` in a templated field and downloads
that run's ``run_results.json`` (an API server runs too, for the task's Execution API); the others run an
empty task. Every DAG run must succeed.

Run it with ``make e2e``; ``tests/integration/test_watchers_real_processes.py`` runs it too.
"""

from __future__ import annotations

import json
import secrets
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_processes import (
    TRIGGERER_FAILOVER,
    airflow,
    airflow_env,
    dag_runs,
    emulator_data,
    free_port,
    start,
    stop,
    task_logs,
    wait,
)

JOB_ID = 300
POLL_SECONDS = 1
#: DAG id -> the watcher's filter arguments (the environment id is filled in from the emulator).
WATCHERS: dict[str, dict[str, Any]] = {
    "watch_any_success": {},
    "watch_not_airflow": {"exclude_airflow_runs": True},
    "watch_env_success_or_error": {"statuses": [10, 20], "environment_id": None},
}
DAG_FILE = """
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, AssetWatcher

from airflow_dbtcloud.operators.dbt import DbtCloudGetJobRunArtifactOperator
from airflow_dbtcloud.triggers.dbt import DbtCloudJobRunEventTrigger

for dag_id, options in {watchers!r}.items():
    watched = Asset(
        f"dbt_cloud_job_{job}_" + dag_id,
        watchers=[
            AssetWatcher(
                name=dag_id,
                trigger=DbtCloudJobRunEventTrigger(job_id={job}, poll_interval={poll}, **options),
            )
        ],
    )
    with DAG(dag_id=dag_id, start_date=datetime(2025, 1, 1), schedule=[watched], catchup=False):
        if dag_id == "watch_any_success":
            # The run that queued this DAG run, read from the asset event in a templated field.
            newest_event = "(triggering_asset_events.values() | first | last)"
            DbtCloudGetJobRunArtifactOperator(
                task_id="fetch_run_results",
                run_id="{{{{ " + newest_event + ".extra['payload']['run_id'] }}}}",
                path="run_results.json",
                output_dir={artifacts!r},
            )
        else:
            EmptyOperator(task_id="after_the_dbt_cloud_run")

missing = Asset(
    "dbt_cloud_job_{missing}",
    watchers=[
        AssetWatcher(
            name="missing", trigger=DbtCloudJobRunEventTrigger(job_id={missing}, poll_interval={poll})
        )
    ],
)
with DAG(dag_id="watch_missing_job", start_date=datetime(2025, 1, 1), schedule=[missing], catchup=False):
    EmptyOperator(task_id="never")
"""
#: A job that does not exist: its watcher must log why it stopped and then leave dbt Cloud alone.
MISSING_JOB_ID = 99999
#: Which of the script's dbt Cloud runs each DAG must see, by the runs' names below.
EXPECTED = {
    "watch_any_success": ["scheduled", "during outage", "after restart", "airflow marker"],
    "watch_not_airflow": ["scheduled", "during outage", "after restart"],
    "watch_env_success_or_error": ["scheduled", "during outage", "after restart", "airflow marker", "failed"],
}
#: Seconds the script watches a settled state to be sure nothing more fires.
SETTLE = 6 * POLL_SECONDS
MARKED_CAUSE = "Triggered via Apache Airflow by task 'run' in the nightly DAG. [airflow:0123456789abcdef]"


def _query(home: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the metadata DB (SQLite, read-only) the way a person checking on Airflow would."""
    with sqlite3.connect(f"file:{home / 'airflow.db'}?mode=ro", uri=True, timeout=30) as db:
        return list(db.execute(sql).fetchall())


def _watching(home: Path) -> bool:
    """True once every watcher runs in the triggerer and has stored where it starts from."""
    try:
        stored = _query(home, "SELECT count(*) FROM asset_state_store WHERE key = 'dbt_cloud_run_watermark'")[
            0
        ][0]
        assigned = _query(home, "SELECT count(*) FROM trigger WHERE triggerer_id IS NOT NULL")[0][0]
    except sqlite3.Error:
        return False
    return stored == len(WATCHERS) and assigned >= 1


def _counts(env: dict[str, str]) -> dict[str, int]:
    return {dag_id: len(dag_runs(env, dag_id)) for dag_id in WATCHERS}


def _finished(env: dict[str, str]) -> set[str] | None:
    """The states of every DAG run once none is queued or running any more."""
    states = {str(run["state"]) for dag_id in WATCHERS for run in dag_runs(env, dag_id)}
    return None if states & {"queued", "running"} else states


def _fired(home: Path) -> dict[str, list[int]]:
    """The dbt Cloud run ids in each watched asset's events, in the order Airflow recorded them."""
    rows = _query(
        home,
        "SELECT asset.name, asset_event.extra FROM asset_event JOIN asset ON asset.id = asset_event.asset_id"
        " ORDER BY asset_event.id",
    )
    fired: dict[str, list[int]] = {dag_id: [] for dag_id in WATCHERS}
    for name, extra in rows:
        dag_id = name.removeprefix(f"dbt_cloud_job_{JOB_ID}_")
        fired[dag_id].append(int(json.loads(extra)["payload"]["run_id"]))
    return fired


def _list_polls(emu: Any, since: float) -> list[float]:
    """When the job's runs were listed since ``since`` (epoch seconds), by anyone."""
    return [
        entry["ts"]
        for entry in emu.journal
        if entry.get("route") == "list_runs"
        and entry["ts"] >= since
        and entry["query"].get("job_definition_id") == [str(JOB_ID)]
    ]


def _run_to_end(emu: Any, name: str, started: dict[str, int], **how: Any) -> int:
    run_id = int(emu.start_run(JOB_ID, **how))
    started[name] = run_id
    wait(f"dbt Cloud run {run_id} ({name}) to end", lambda: emu.get_run(run_id)["is_complete"], 60, every=0.2)
    print(f"dbt Cloud run {run_id} ({name}) ended", flush=True)
    return run_id


def _reach(env: dict[str, str], started: dict[str, int], names: list[str]) -> dict[str, int]:
    """Wait until each DAG has as many runs as it should after the runs in ``names``, then settle."""
    expected = {dag_id: sum(1 for n in EXPECTED[dag_id] if n in names) for dag_id in WATCHERS}
    wait(f"DAG runs {expected}", lambda: all(c >= expected[d] for d, c in _counts(env).items()), 120)
    time.sleep(SETTLE)
    counts = _counts(env)
    print(f"after {', '.join(names)}: DAG runs {counts} (expected {expected})", flush=True)
    return counts


def main() -> int:
    """Run the four steps; return 0 when each behaved as described in the module docstring."""
    from airflow_dbtcloud.testing import run_emulator

    home = Path(tempfile.mkdtemp(prefix="airflow-dbtcloud-watchers-"))
    (home / "dags").mkdir()
    started: dict[str, int] = {}
    checks: dict[str, bool] = {}
    api_port = free_port()
    with run_emulator() as emu:
        emu.set_job_script(JOB_ID, outcome="success", queued_seconds=0.2, running_seconds=1)
        WATCHERS["watch_env_success_or_error"]["environment_id"] = int(
            emulator_data(emu, f"/jobs/{JOB_ID}/")["environment_id"]
        )
        (home / "dags" / "watchers.py").write_text(
            DAG_FILE.format(
                watchers=WATCHERS,
                job=JOB_ID,
                poll=POLL_SECONDS,
                missing=MISSING_JOB_ID,
                artifacts=str(home / "artifacts"),
            )
        )
        env = airflow_env(
            home,
            emu.env(),
            # A killed triggerer's watchers move to a new one within seconds.
            **TRIGGERER_FAILOVER,
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
            # The task that fetches an artifact runs through the Execution API of an API server.
            AIRFLOW__API__PORT=str(api_port),
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://localhost:{api_port}/execution/",
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
        )
        print(f"Airflow in {home}; emulator at {emu.base_url}", flush=True)
        migrated = airflow(env, "db", "migrate")
        if migrated.returncode != 0:
            print(migrated.stdout[-3000:], migrated.stderr[-3000:])
            return 1
        logs = home / "process-logs"
        logs.mkdir()
        processes = {
            "dag-processor": start(env, logs / "dag-processor.log", "dag-processor"),
            "scheduler": start(env, logs / "scheduler.log", "scheduler"),
            "triggerer": start(env, logs / "triggerer.log", "triggerer"),
            "api-server": start(env, logs / "api-server.log", "api-server"),
        }
        try:
            wait("the watchers to start in the triggerer", lambda: _watching(home), 240)
            print("== 1. three watchers of one job, one list request per poll", flush=True)
            quiet_from = time.time()
            time.sleep(10 * POLL_SECONDS)
            polls = _list_polls(emu, quiet_from)
            per_interval = len(polls) / ((time.time() - quiet_from) / POLL_SECONDS)
            print(f"{len(polls)} list requests in {10 * POLL_SECONDS}s: {per_interval:.2f} per poll interval")
            checks["one list request per poll interval"] = 0.5 <= per_interval <= 1.3

            print("== 2. a run started by dbt Cloud's scheduler", flush=True)
            _run_to_end(emu, "scheduled", started, source="scheduler")
            after_first = _reach(env, started, ["scheduled"])
            checks["each DAG queued once"] = after_first == {d: 1 for d in WATCHERS}

            print("== 3. the triggerer is killed; a run ends while it is down; a new triggerer", flush=True)
            stop(processes["triggerer"], signal.SIGKILL)
            _run_to_end(emu, "during outage", started, source="person")
            processes["triggerer"] = start(env, logs / "triggerer.log", "triggerer")
            _reach(env, started, ["scheduled", "during outage"])
            _run_to_end(emu, "after restart", started, source="ci")
            after_restart = _reach(env, started, ["scheduled", "during outage", "after restart"])
            checks["two more DAG runs each across the restart"] = after_restart == {d: 3 for d in WATCHERS}

            print("== 4. filters: a run Airflow started, then a failed run", flush=True)
            _run_to_end(emu, "airflow marker", started, source="api", cause=MARKED_CAUSE)
            _reach(env, started, ["scheduled", "during outage", "after restart", "airflow marker"])
            emu.set_job_script(JOB_ID, outcome="error", queued_seconds=0.2, running_seconds=1)
            _run_to_end(emu, "failed", started, source="scheduler")
            final = _reach(env, started, list(started))
            states = wait("every DAG run to finish", lambda: _finished(env), 180)
        finally:
            for process in processes.values():
                stop(process)
        fired = _fired(home)
        missing_requests = sum(1 for e in emu.journal if f"/jobs/{MISSING_JOB_ID}/" in e["path"])
        stop_lines = (
            (logs / "triggerer.log")
            .read_text(errors="replace")
            .count(f"Stopped watching dbt Cloud job(s) {MISSING_JOB_ID}: dbt Cloud API error 404")
        )
        everything = json.dumps(fired) + task_logs(home)
        everything += "".join(p.read_text(errors="replace") for p in logs.iterdir())
        leaked = emu.token in everything or any(
            emu.token in str(row) for row in _query(home, "SELECT kwargs FROM trigger")
        )
    expected_runs = {dag_id: [started[n] for n in names] for dag_id, names in EXPECTED.items()}
    checks["asset events name each expected run once"] = fired == expected_runs
    checks["final DAG runs as expected"] = final == {d: len(n) for d, n in EXPECTED.items()}
    checks["every DAG run succeeded"] = states == {"success"}
    fetched = sorted(int(p.name.split("_", 1)[0]) for p in (home / "artifacts").glob("*_run_results.json"))
    checks["the triggered DAG fetched each run's artifact"] = fetched == expected_runs["watch_any_success"]
    checks["API token nowhere"] = not leaked
    # One triggerer start each: the first triggerer and the one started after the kill.
    checks["the missing job's watcher stopped once per triggerer start"] = missing_requests == stop_lines == 2
    print(f"dbt Cloud runs started in the emulator: {started}")
    print(f"run ids in each asset's events: {fired}")
    print(f"final DAG runs: {final}; their states: {states}")
    print(f"run_results.json fetched by watch_any_success for runs: {fetched}")
    print(f"requests for missing job {MISSING_JOB_ID}: {missing_requests}; stop lines logged: {stop_lines}")
    for check, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {check}")
    ok = all(checks.values())
    print("watcher e2e " + ("passed" if ok else f"FAILED (see {home})"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
