"""End to end with real Airflow processes against the emulator.

One ``airflow standalone`` (scheduler, DAG processor, triggerer, API server, LocalExecutor workers) runs on
a throw-away SQLite metadata DB against the bundled emulator and goes through eight scenarios in turn:

1. A task killed mid-run reattaches to its dbt Cloud run. A DAG starts a 40-second run and polls it on
   the worker; once the run is RUNNING the task process is killed with SIGKILL, as a crashed worker
   would be. The scheduler retries the task, which must find the run through ``task_state_store``:
   the emulator must see exactly one run and the DAG run must succeed. The task log must show the run's
   progress, dbt node by dbt node.
2. A deferred wait survives a flaky API. A deferrable task waits in the real triggerer while every
   status request fails with 503 for a while; the trigger must keep polling and the task succeed, and
   the triggerer's part of the task log must show the run's progress too.
3. A cleared task runs the job again. A short job runs to success; then the whole DAG run is cleared
   through Airflow's public REST API (signed in as the admin user whose password standalone generated),
   and after that only the task instance is cleared with ``airflow tasks clear``. Each clear gives the
   task instance a new ``max_tries``, so each rerun must start a new dbt Cloud run with a marker of its
   own rather than hand back the earlier successful run: three runs, three distinct markers, three
   fresh submits in the task logs and no reattachment.
4. A deferred wait survives its triggerer. While a deferrable task's trigger waits on a 30-second run,
   the triggerer and its children are killed with SIGKILL and a new triggerer is started; the trigger
   must move to it and poll the same run, and the DAG run (no retries) must succeed with one run.
5. Extra links through the REST API. For the finished task instances of scenarios 1 and 4, the API
   server's ``.../taskInstances/run/links`` must give the run's page (the URL in XCom ``job_run_url``,
   the emulator run's ``href``) and the job's page.
6. A task killed while its run POST waits for an answer. The emulator holds the POST for a few seconds
   before creating the run; the task process is SIGKILLed while the request is held, so no try ever
   hears the run id. The run appears after the kill; the retry must find it by the task's marker and
   follow it: one run in the journal, the DAG run succeeds.
7. A task supervisor sent SIGTERM (a worker shutting down, or a person marking the task failed). Airflow
   3.3's supervisor forwards the signal to the task process, which calls ``on_kill``: the run is
   cancelled and the cancellation confirmed, the task fails without a retry starting another run: one
   run in the journal, cancelled. A retry cannot reattach here, because ``on_kill`` ended the run, as
   the official operator's does (docs/reliability.md says why we keep that).
8. The same SIGTERM to a task with ``cancel_on_kill=False``, then SIGKILL a few seconds later, as a
   Kubernetes pod is stopped: the run goes on, the retry reattaches to it, the DAG run succeeds with
   one run in the journal.

Run it with ``make e2e``; ``tests/integration/test_real_processes.py`` runs it too.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import psutil
from airflow_processes import (
    TRIGGERER_FAILOVER,
    airflow,
    airflow_env,
    dag_run_state,
    dag_runs,
    descendant,
    emulator_data,
    free_port,
    kill_tree,
    rest_call,
    start,
    stop,
    task_logs,
    wait,
)

JOB_ID = 302
DEFERRED_JOB_ID = 301
CLEAR_JOB_ID = 300
TRIGGERER_JOB_ID = 303
DAG_ID = "e2e_crash"
DEFERRED_DAG_ID = "e2e_flaky_deferred"
CLEAR_DAG_ID = "e2e_clear"
TRIGGERER_DAG_ID = "e2e_triggerer_killed"
#: Jobs the emulator adds at start (``Emulator.add_jobs``), after the four configured ones.
POST_KILLED_JOB_ID = 304
SIGTERM_JOB_ID = 305
EVICTED_JOB_ID = 306
EVICTED_DAG_ID = "e2e_worker_evicted"
#: Seconds between the SIGTERM and the SIGKILL, as a pod's grace period.
GRACE_SECONDS = 3
POST_KILLED_DAG_ID = "e2e_post_answer_killed"
SIGTERM_DAG_ID = "e2e_supervisor_sigterm"
#: How long the emulator holds the run POST before it creates the run; the retry comes later than that.
POST_HELD_SECONDS = 6
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

with DAG(dag_id="{CLEAR_DAG_ID}", start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
    DbtCloudRunJobOperator(
        task_id="run", job_id={CLEAR_JOB_ID}, check_interval=1, retries=1, retry_delay=timedelta(seconds=1)
    )

with DAG(dag_id="{TRIGGERER_DAG_ID}", start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
    DbtCloudRunJobOperator(task_id="run", job_id={TRIGGERER_JOB_ID}, check_interval=1, deferrable=True)

with DAG(dag_id="{POST_KILLED_DAG_ID}", start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
    DbtCloudRunJobOperator(
        task_id="run", job_id={POST_KILLED_JOB_ID}, check_interval=1, retries=1,
        retry_delay=timedelta(seconds={POST_HELD_SECONDS * 2}),
    )

with DAG(dag_id="{SIGTERM_DAG_ID}", start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
    DbtCloudRunJobOperator(
        task_id="run", job_id={SIGTERM_JOB_ID}, check_interval=1, retries=1, retry_delay=timedelta(seconds=1)
    )

with DAG(dag_id="{EVICTED_DAG_ID}", start_date=datetime(2025, 1, 1), schedule=None, catchup=False):
    DbtCloudRunJobOperator(
        task_id="run", job_id={EVICTED_JOB_ID}, check_interval=1, retries=1, retry_delay=timedelta(seconds=1),
        cancel_on_kill=False,
    )
'''
#: Status requests answered 503 in a row during the deferred wait: more than one poll's retries.
FLAKY_POLLS = 8
#: What the operator appends to a run's ``cause`` to say which task instance started it.
MARKER = re.compile(r"\[airflow:[0-9a-f]{16}\]")
#: A progress line about one dbt node done, as the hook's wait and the trigger log it.
NODE_PROGRESS = re.compile(r"Job run \d+, step \d+: \d+/\d+ (?:OK|PASS|WARN|FAIL|ERROR|SKIP)\b")
CLEAR_STEPS = ("first run", "whole-DAG-run clear (REST API)", "task clear (CLI)")
#: The names of the run operator's extra links (``airflow_dbtcloud/links/dbt.py``).
RUN_LINK = "dbt Cloud Job Run"
JOB_LINK = "dbt Cloud Job"


def _runs(emu: Any, job_id: int, *related: str) -> list[dict[str, Any]]:
    """The job's runs, oldest first, read through the emulator's public API."""
    query = {"job_definition_id": job_id, "order_by": "id"}
    if related:
        query["include_related"] = json.dumps(list(related))
    return list(emulator_data(emu, "/runs/", **query))


def _task_process(standalone: int) -> psutil.Process | None:
    """The process running the task: a child of a LocalExecutor worker that is not itself a worker."""
    return descendant(
        standalone, lambda title: title.startswith("airflow worker -- ") and "LocalExecutor" not in title
    )


def _finished(env: dict[str, str], dag_id: str) -> str:
    """Wait for the DAG's latest run to end (at most 240 s); return its state."""
    return str(
        wait(
            f"the {dag_id} DAG run to finish",
            lambda: (s := dag_run_state(env, dag_id)) in ("success", "failed") and s,
            240,
        )
    )


def _polls(emu: Any, run_id: int, since: float) -> int:
    """How many times the run's status was asked for since ``since`` (epoch seconds), by anyone."""
    return sum(
        1
        for entry in emu.journal
        if entry.get("route") == "get_run" and entry["ts"] >= since and f"/runs/{run_id}/" in entry["path"]
    )


class RestApi:
    """Airflow's public REST API on the standalone API server, used as the ``admin`` user."""

    def __init__(self, base_url: str, password_file: Path) -> None:
        self.base_url = base_url
        self.password_file = password_file
        self.token: str | None = None

    def sign_in(self) -> bool:
        """Trade the admin password standalone generated for a JWT; False while either is not ready yet."""
        try:
            password = json.loads(self.password_file.read_text())["admin"]
            answer = self("POST", "/auth/token", {"username": "admin", "password": password})
        except (OSError, ValueError, KeyError):
            return False
        self.token = str(answer["access_token"])
        return True

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request and return the decoded JSON answer; an error status raises ``HTTPError``."""
        status, answer = rest_call(self.base_url, self.token, method, path, body)
        if status >= 400:
            raise urllib.error.HTTPError(self.base_url + path, status, str(answer)[:500], Message(), None)
        return answer


def _ti_path(dag_id: str, dag_run_id: str) -> str:
    """The REST API path of the ``run`` task's instance in one DAG run."""
    return f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(dag_run_id, safe='')}/taskInstances/run"


def _ti_state(api: RestApi, dag_id: str, dag_run_id: str) -> str | None:
    """The state of the ``run`` task's instance, or None before the scheduler created it."""
    try:
        state = api("GET", _ti_path(dag_id, dag_run_id))["state"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise
    return None if state is None else str(state)


@dataclass
class Failover:
    """What the triggerer scenario saw."""

    run_in_progress_at_kill: bool = False
    polls_after_restart: int = 0
    state: str | None = None
    error: str | None = None


def _triggerer_killed(
    api: RestApi,
    env: dict[str, str],
    emu: Any,
    standalone: int,
    spawned: list[subprocess.Popen[bytes]],
    seen: Failover,
) -> None:
    """SIGKILL the triggerer while a deferred task's trigger waits, start another, and wait for the DAG run.

    :param standalone: The pid of ``airflow standalone``, whose triggerer is killed.
    :param spawned: Where the new triggerer's process goes, for the caller to stop.
    :param seen: Filled in as the scenario goes.
    """
    dag_run_id = api("POST", f"/api/v2/dags/{TRIGGERER_DAG_ID}/dagRuns", {"logical_date": None})["dag_run_id"]
    wait("the task to defer", lambda: _ti_state(api, TRIGGERER_DAG_ID, dag_run_id) == "deferred", 120)
    deferred_at = time.time()
    run_id = int(_runs(emu, TRIGGERER_JOB_ID)[-1]["id"])
    # Once the task has deferred, its process is gone: a status request now comes from the trigger.
    wait("the trigger to poll the run", lambda: _polls(emu, run_id, deferred_at), 60, every=0.2)
    # The triggerer's main process; its child running the triggers has the same command line.
    triggerer = descendant(standalone, lambda title: title.endswith(" triggerer"), recursive=False)
    if triggerer is None:
        raise RuntimeError("found no triggerer under airflow standalone")
    seen.run_in_progress_at_kill = not emu.get_run(run_id)["is_complete"]
    print(
        f"killing triggerer {triggerer.pid} and its children with SIGKILL while the trigger waits", flush=True
    )
    kill_tree(triggerer)
    restarted_at = time.time()
    spawned.append(start(env, Path(env["AIRFLOW_HOME"]) / "triggerer.log", "triggerer"))
    dag_run = f"/api/v2/dags/{TRIGGERER_DAG_ID}/dagRuns/{urllib.parse.quote(dag_run_id, safe='')}"
    seen.state = wait(
        f"the {TRIGGERER_DAG_ID} DAG run to finish",
        lambda: (s := api("GET", dag_run)["state"]) in ("success", "failed") and s,
        180,
    )
    seen.polls_after_restart = _polls(emu, run_id, restarted_at)


def _links(api: RestApi, emu: Any, dag_id: str, dag_run_id: str, job_id: int) -> tuple[bool, bool]:
    """Read the ``run`` task's extra links through the REST API: do they give the run's and the job's page?"""
    ti = _ti_path(dag_id, dag_run_id)
    links = api("GET", f"{ti}/links")["extra_links"]
    pushed = api("GET", f"{ti}/xcomEntries/job_run_url?deserialize=true")["value"]
    run = _runs(emu, job_id)[-1]
    job_page = f"{emu.base_url}/deploy/{emu.account_id}/projects/{run['project_id']}/jobs/{job_id}/"
    print(f"{dag_id}: extra links {links}; XCom job_run_url {pushed!r}", flush=True)
    return links.get(RUN_LINK) == pushed == run["href"], links.get(JOB_LINK) == job_page


def _finished_links(api: RestApi, env: dict[str, str], emu: Any) -> dict[str, tuple[bool, bool]]:
    """Check the links of the run tasks of the SIGKILL and triggerer scenarios, as ``_links`` does.

    :return: The two checks by DAG id; a DAG whose links could not be read is left out.
    """
    checked = {}
    for dag_id, job_id in ((DAG_ID, JOB_ID), (TRIGGERER_DAG_ID, TRIGGERER_JOB_ID)):
        try:
            dag_run_id = str(dag_runs(env, dag_id)[0]["run_id"])  # each DAG has run once
            checked[dag_id] = _links(api, emu, dag_id, dag_run_id, job_id)
        except Exception as error:  # recorded, so the summary lines still come
            print(f"{dag_id}: links not read: {type(error).__name__}: {error}", flush=True)
    return checked


@dataclass
class ClearPath:
    """What the clear scenario saw after each of its steps, in the order of ``CLEAR_STEPS``."""

    states: list[str] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    max_tries: list[int] = field(default_factory=list)
    error: str | None = None


def _clear_path(api: RestApi, env: dict[str, str], emu: Any, seen: ClearPath) -> None:
    """Run the clear DAG once, clear the whole DAG run, then clear the task alone, recording each result."""
    dag_run_id = api("POST", f"/api/v2/dags/{CLEAR_DAG_ID}/dagRuns", {"logical_date": None})["dag_run_id"]
    dag_run = f"/api/v2/dags/{CLEAR_DAG_ID}/dagRuns/{urllib.parse.quote(dag_run_id, safe='')}"

    def settle(step: str, earlier_try: int) -> int:
        def finished() -> tuple[str, dict[str, Any]] | None:
            try:
                ti = api("GET", f"{dag_run}/taskInstances/run")
            except urllib.error.HTTPError as error:
                if error.code == 404:  # the scheduler has not created the task instance yet
                    return None
                raise
            if ti["try_number"] <= earlier_try:
                return None
            state = api("GET", dag_run)["state"]
            return (state, ti) if state in ("success", "failed") else None

        state, ti = wait(f"the {CLEAR_DAG_ID} DAG run to finish after the {step}", finished, 180)
        seen.states.append(state)
        seen.runs.append(emu.runs_created(CLEAR_JOB_ID))
        seen.max_tries.append(int(ti["max_tries"]))
        print(f"{CLEAR_DAG_ID}: {step} -> {state}; runs of job {CLEAR_JOB_ID}: {seen.runs[-1]}", flush=True)
        return int(ti["try_number"])

    def cleared(step: str, queued_before: str) -> None:
        # A clear re-queues the DAG run; an unchanged queued_at means it matched no task instance.
        if api("GET", dag_run)["queued_at"] == queued_before:
            raise RuntimeError(f"the {step} cleared nothing")

    tries = settle(CLEAR_STEPS[0], 0)
    queued_at = api("GET", dag_run)["queued_at"]
    api("POST", f"{dag_run}/clear", {"dry_run": False})
    cleared(CLEAR_STEPS[1], queued_at)
    tries = settle(CLEAR_STEPS[1], tries)
    queued_at = api("GET", dag_run)["queued_at"]
    # Airflow 3.3.2 matches --task-regex as a plain substring (apache/airflow#72941), so "^run$" would
    # match nothing; "run" selects the one task under either reading.
    result = airflow(env, "tasks", "clear", CLEAR_DAG_ID, "--task-regex", "run", "--yes")
    if result.returncode != 0:
        raise RuntimeError(f"airflow tasks clear failed: {result.stderr[-2000:]}")
    cleared(CLEAR_STEPS[2], queued_at)
    settle(CLEAR_STEPS[2], tries)


@dataclass
class PostKilled:
    """What the scenario of a task killed while its run POST was held saw."""

    no_run_at_kill: bool = False
    state: str | None = None
    error: str | None = None


def _post_answer_killed(env: dict[str, str], emu: Any, standalone: int, seen: PostKilled) -> None:
    """SIGKILL the task process while the emulator holds its run POST, then wait for the DAG run.

    :param standalone: The pid of ``airflow standalone``, under which the task process runs.
    :param seen: Filled in as the scenario goes.
    """
    held = emu.add_fault(route="trigger_run", kind="latency", latency=POST_HELD_SECONDS, status=None, times=1)
    airflow(env, "dags", "trigger", POST_KILLED_DAG_ID)
    wait("the run POST to reach the emulator", lambda: held.hits >= 1, 120, every=0.1)
    victim = wait("the task process", lambda: _task_process(standalone), 30, every=0.1)
    seen.no_run_at_kill = emu.runs_created(POST_KILLED_JOB_ID) == 0
    print(f"killing task process {victim.pid} with SIGKILL while its run POST is held", flush=True)
    victim.send_signal(signal.SIGKILL)
    seen.state = _finished(env, POST_KILLED_DAG_ID)


@dataclass
class Sigterm:
    """What the scenario of a task supervisor sent SIGTERM saw."""

    supervisor: str = ""
    state: str | None = None
    run_status: str | None = None
    run_status_at_kill: str | None = None
    error: str | None = None


def _supervisor_sigterm(
    env: dict[str, str],
    emu: Any,
    standalone: int,
    seen: Sigterm,
    dag_id: str,
    job_id: int,
    kill_after: float | None,
) -> None:
    """Send SIGTERM to the supervisor of a task polling a RUNNING run, then wait for the DAG run.

    :param standalone: The pid of ``airflow standalone``, under which the supervisor runs.
    :param seen: Filled in as the scenario goes.
    :param dag_id: The DAG to trigger.
    :param job_id: Its job.
    :param kill_after: Seconds after which the task process is SIGKILLed too (a pod's grace period), or
        None to leave it.
    """
    from airflow_dbtcloud.testing import RUNNING

    airflow(env, "dags", "trigger", dag_id)
    wait(
        "the dbt Cloud run to be RUNNING",
        lambda: RUNNING in [int(run["status"]) for run in _runs(emu, job_id)],
        120,
    )
    task = wait("the task process", lambda: _task_process(standalone), 60)
    supervisor = task.parent()
    if supervisor is None:
        raise RuntimeError(f"task process {task.pid} has no parent")
    seen.supervisor = " ".join(supervisor.cmdline())
    print(f"sending SIGTERM to the task supervisor {supervisor.pid} ({seen.supervisor})", flush=True)
    supervisor.send_signal(signal.SIGTERM)
    if kill_after is not None:
        time.sleep(kill_after)
        seen.run_status_at_kill = str(_runs(emu, job_id)[-1]["status_humanized"])
        print(
            f"killing task process {task.pid} with SIGKILL {kill_after:.0f} s after the SIGTERM", flush=True
        )
        task.send_signal(signal.SIGKILL)
    seen.state = _finished(env, dag_id)
    seen.run_status = str(_runs(emu, job_id)[-1]["status_humanized"])


def main() -> int:
    """Run the eight scenarios; return 0 when each behaved as described in the module docstring."""
    from airflow_dbtcloud.testing import RUNNING, run_emulator

    home = Path(tempfile.mkdtemp(prefix="airflow-dbtcloud-e2e-"))
    (home / "dags").mkdir()
    (home / "dags" / "e2e_dags.py").write_text(DAG_FILE)
    api_port = free_port()
    password_file = home / "simple_auth_manager_passwords.json.generated"
    api = RestApi(f"http://127.0.0.1:{api_port}", password_file)
    clear = ClearPath()
    failover = Failover()
    post_killed = PostKilled()
    sigterm = Sigterm()
    evicted = Sigterm()
    links: dict[str, tuple[bool, bool]] = {}
    spawned: list[subprocess.Popen[bytes]] = []
    with run_emulator() as emu:
        emu.set_job_script(JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=40)
        emu.set_job_script(DEFERRED_JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=20)
        emu.set_job_script(CLEAR_JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=2)
        emu.set_job_script(TRIGGERER_JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=30)
        added = emu.add_jobs(3)
        if added != [POST_KILLED_JOB_ID, SIGTERM_JOB_ID, EVICTED_JOB_ID]:
            raise RuntimeError(f"the emulator added jobs {added}, not the ids the DAG file uses")
        emu.set_job_script(POST_KILLED_JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=3)
        emu.set_job_script(SIGTERM_JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=40)
        emu.set_job_script(EVICTED_JOB_ID, outcome="success", queued_seconds=0.5, running_seconds=25)
        env = airflow_env(
            home,
            emu.env(),
            # The REST API is used as a real user would: the generated admin password, not all-admins.
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="False",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(password_file),
            AIRFLOW__API__PORT=str(api_port),
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://localhost:{api_port}/execution/",
            # The killed triggerer's trigger moves to the new one within seconds.
            **TRIGGERER_FAILOVER,
        )
        print(f"airflow standalone in {home}; emulator at {emu.base_url}", flush=True)
        process = start(env, home / "standalone.log", "standalone")
        try:
            wait("the DAG to be parsed", lambda: airflow(env, "dags", "trigger", DAG_ID).returncode == 0, 240)
            print("DAG run triggered", flush=True)
            wait(
                "the dbt Cloud run to be RUNNING",
                lambda: RUNNING in [int(run["status"]) for run in _runs(emu, JOB_ID)],
                120,
            )
            victim = wait("the task process", lambda: _task_process(process.pid), 60)
            print(f"killing task process {victim.pid} with SIGKILL while the run is RUNNING", flush=True)
            victim.send_signal(signal.SIGKILL)
            state = _finished(env, DAG_ID)
            print(f"== {DEFERRED_DAG_ID}: {FLAKY_POLLS} status requests in a row answered 503", flush=True)
            emu.add_fault(route="get_run", kind="status", status=503, sequence=[None] + [503] * FLAKY_POLLS)
            airflow(env, "dags", "trigger", DEFERRED_DAG_ID)
            deferred_state = _finished(env, DEFERRED_DAG_ID)
            print(f"== {CLEAR_DAG_ID}: run, clear the DAG run (REST API), clear the task (CLI)", flush=True)
            emu.clear_faults()
            try:
                wait("a JWT from the API server", api.sign_in, 60)
                _clear_path(api, env, emu, clear)
            except Exception as error:
                # Recorded rather than raised, so the other scenarios still get their summary lines.
                clear.error = f"{type(error).__name__}: {error}"
                print(f"{CLEAR_DAG_ID}: stopped early: {clear.error}", flush=True)
            print(f"== {TRIGGERER_DAG_ID}: the triggerer is killed while the trigger waits", flush=True)
            try:
                _triggerer_killed(api, env, emu, process.pid, spawned, failover)
            except Exception as error:
                failover.error = f"{type(error).__name__}: {error}"
                print(f"{TRIGGERER_DAG_ID}: stopped early: {failover.error}", flush=True)
            print("== extra links of the finished run tasks through the REST API", flush=True)
            links = _finished_links(api, env, emu)
            print(f"== {POST_KILLED_DAG_ID}: the task is killed while its run POST is held", flush=True)
            try:
                _post_answer_killed(env, emu, process.pid, post_killed)
            except Exception as error:
                post_killed.error = f"{type(error).__name__}: {error}"
                print(f"{POST_KILLED_DAG_ID}: stopped early: {post_killed.error}", flush=True)
            print(f"== {SIGTERM_DAG_ID}: the task supervisor is sent SIGTERM", flush=True)
            try:
                _supervisor_sigterm(env, emu, process.pid, sigterm, SIGTERM_DAG_ID, SIGTERM_JOB_ID, None)
            except Exception as error:
                sigterm.error = f"{type(error).__name__}: {error}"
                print(f"{SIGTERM_DAG_ID}: stopped early: {sigterm.error}", flush=True)
            print(
                f"== {EVICTED_DAG_ID}: cancel_on_kill=False, SIGTERM then SIGKILL (a pod stopped)", flush=True
            )
            try:
                _supervisor_sigterm(
                    env, emu, process.pid, evicted, EVICTED_DAG_ID, EVICTED_JOB_ID, GRACE_SECONDS
                )
            except Exception as error:
                evicted.error = f"{type(error).__name__}: {error}"
                print(f"{EVICTED_DAG_ID}: stopped early: {evicted.error}", flush=True)
        finally:
            for started in (*spawned, process):
                stop(started)
        runs = emu.runs_created(JOB_ID)
        reattached = "Reattaching to dbt Cloud run" in task_logs(home, DAG_ID)
        deferred_runs = emu.runs_created(DEFERRED_JOB_ID)
        answered_503 = sum(1 for e in emu.journal if e.get("route") == "get_run" and e["status"] == 503)
        kept_polling = "Transient error polling job run" in task_logs(home, DEFERRED_DAG_ID)
        polled_progress = len(NODE_PROGRESS.findall(task_logs(home, DAG_ID)))
        triggerer_progress = len(NODE_PROGRESS.findall(task_logs(home, DEFERRED_DAG_ID, "*.trigger.*")))
        clear_runs = _runs(emu, CLEAR_JOB_ID, "trigger")
        markers = [
            m.group() if (m := MARKER.search(run["trigger"]["cause"] or "")) else None for run in clear_runs
        ]
        clear_logs = task_logs(home, CLEAR_DAG_ID)
        logs = task_logs(home)
        failover_runs = emu.runs_created(TRIGGERER_JOB_ID)
        post_killed_runs = emu.runs_created(POST_KILLED_JOB_ID)
        found_by_marker = "carrying this task's marker" in task_logs(home, POST_KILLED_DAG_ID)
        sigterm_runs = emu.runs_created(SIGTERM_JOB_ID)
        sigterm_logs = task_logs(home, SIGTERM_DAG_ID)
        kill_lines = ("because the task was killed", "has been cancelled successfully")
        cancelled_by_kill = all(line in sigterm_logs for line in kill_lines)
        evicted_runs = emu.runs_created(EVICTED_JOB_ID)
        evicted_logs = task_logs(home, EVICTED_DAG_ID)
        left_running = "leaving dbt Cloud run" in evicted_logs
        evicted_reattached = "An earlier try of this task stored dbt Cloud run" in evicted_logs
        process_logs = "".join(p.read_text(errors="replace") for p in home.glob("*.log"))
        leaked = emu.token in logs or emu.token in process_logs
    fresh_submits = clear_logs.count("(fresh submit)")
    reattach_lines = clear_logs.count("Reattaching to dbt Cloud run")
    markers_distinct = (
        len(markers) == len(CLEAR_STEPS) and None not in markers and len(set(markers)) == len(markers)
    )
    outcomes = [
        f"{step} -> {clear.states[i]}" if i < len(clear.states) else f"{step} -> not reached"
        for i, step in enumerate(CLEAR_STEPS)
    ]
    print(f"DAG run: {state}; dbt Cloud runs of job {JOB_ID}: {runs}; reattached: {reattached}")
    print(
        f"Deferred DAG run: {deferred_state}; runs of job {DEFERRED_JOB_ID}: {deferred_runs}; "
        f"503 answers: {answered_503}; trigger kept polling: {kept_polling}"
    )
    print(
        f"Progress lines about dbt nodes: {polled_progress} in the polled task's log, "
        f"{triggerer_progress} in the triggerer's log of the deferred task"
    )
    print(
        f"Clear path: {', '.join(outcomes)}; runs of job {CLEAR_JOB_ID}: {len(clear_runs)}; "
        f"markers distinct: {markers_distinct}"
    )
    print(
        f"Clear path detail: runs after each step: {clear.runs}; max_tries after each step: "
        f"{clear.max_tries}; run ids: {[run['id'] for run in clear_runs]}; markers: {markers}; "
        f"fresh submits logged: {fresh_submits}; reattach lines: {reattach_lines}"
    )
    print(
        f"Triggerer killed mid-wait: DAG run {failover.state}; "
        f"runs of job {TRIGGERER_JOB_ID}: {failover_runs}; "
        f"run in progress at the kill: {failover.run_in_progress_at_kill}; "
        f"new triggerer polled the run: {failover.polls_after_restart > 0}"
    )
    link_checks = [f"{d}: run page {run}, job page {job}" for d, (run, job) in links.items()]
    print(f"Extra links through the REST API: {'; '.join(link_checks) or 'not read'}")
    print(
        f"Task killed while its run POST was held: DAG run {post_killed.state}; "
        f"runs of job {POST_KILLED_JOB_ID}: {post_killed_runs}; no run yet at the kill: "
        f"{post_killed.no_run_at_kill}; the retry found the run by its marker: {found_by_marker}"
    )
    print(
        f"Supervisor sent SIGTERM: DAG run {sigterm.state}; runs of job {SIGTERM_JOB_ID}: {sigterm_runs} "
        f"({sigterm.run_status}); cancelled and confirmed by on_kill: {cancelled_by_kill}"
    )
    print(
        f"Pod stopped (cancel_on_kill=False): DAG run {evicted.state}; runs of job {EVICTED_JOB_ID}: "
        f"{evicted_runs}; run at the SIGKILL: {evicted.run_status_at_kill}; left running by on_kill: "
        f"{left_running}; the retry reattached: {evicted_reattached}"
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
        and polled_progress > 0
        and triggerer_progress > 0
        and clear.error is None
        and clear.states == ["success"] * len(CLEAR_STEPS)
        and clear.runs == [1, 2, 3]
        and markers_distinct
        and fresh_submits == len(CLEAR_STEPS)
        and reattach_lines == 0
        and failover.error is None
        and failover.state == "success"
        and failover_runs == 1
        and failover.run_in_progress_at_kill
        and failover.polls_after_restart > 0
        and set(links) == {DAG_ID, TRIGGERER_DAG_ID}
        and all(run and job for run, job in links.values())
        and post_killed.error is None
        and post_killed.state == "success"
        and post_killed.no_run_at_kill
        and post_killed_runs == 1
        and found_by_marker
        and sigterm.error is None
        and sigterm.state == "failed"
        and sigterm_runs == 1
        and sigterm.run_status == "Cancelled"
        and cancelled_by_kill
        and evicted.error is None
        and evicted.state == "success"
        and evicted_runs == 1
        and evicted.run_status_at_kill == "Running"
        and left_running
        and evicted_reattached
        and not leaked
    )
    print("e2e tests " + ("passed" if ok else f"FAILED (see {home})"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
