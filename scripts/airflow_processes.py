"""What the end-to-end scripts need to drive real Airflow processes on a throw-away home.

``e2e_airflow.py`` and ``e2e_watchers.py`` each start real Airflow processes (``airflow standalone``, or
a scheduler, DAG processor and triggerer of their own) on a temporary SQLite metadata DB pointed at the
bundled emulator; this module holds the pieces they share: the environment those processes run in, the
CLI calls that read their results, finding and killing the processes Airflow started, and a bounded wait.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psutil

#: Triggerer settings under which the triggers of a killed triggerer move to a new one about 10 s after
#: its last heartbeat (30 s by default).
TRIGGERER_FAILOVER = {
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(what: str, check: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    """Call ``check`` until it returns something true and return that; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def airflow_env(home: Path, emulator_env: Mapping[str, str], **options: str) -> dict[str, str]:
    """The environment of Airflow processes on a SQLite DB in ``home``, connected to the emulator.

    :param home: ``AIRFLOW_HOME``; its ``dags`` folder is the DAGs folder.
    :param emulator_env: The emulator's ``env()``: the dbt Cloud connection as an environment variable.
    :param options: More ``AIRFLOW__SECTION__KEY`` settings, which win over the defaults here.
    """
    return {
        **os.environ,
        **emulator_env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        **options,
    }


def airflow(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run one ``airflow`` CLI command and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def start(env: Mapping[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``airflow <args>`` in a session of its own, writing its output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Send ``sig`` to the process's whole session and wait for it; SIGKILL it if it outstays ``timeout``."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def descendant(root: int, matches: Callable[[str], bool], recursive: bool = True) -> psutil.Process | None:
    """The first process under ``root`` (a pid) whose command line ``matches``, or None.

    :param root: The process whose children, and their children, are searched.
    :param matches: Told each process's command line, joined with spaces (its title, once Airflow set one).
    :param recursive: Search the children's children too; False looks at ``root``'s own children only.
    """
    for child in psutil.Process(root).children(recursive=recursive):
        try:
            title = " ".join(child.cmdline())
        except psutil.Error:  # it ended while we looked
            continue
        if matches(title):
            return child
    return None


def kill_tree(process: psutil.Process) -> None:
    """SIGKILL a process and every process under it, as a crashed machine would; wait until they are gone."""
    try:
        victims = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for victim in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.kill()

    def ended(victim: psutil.Process) -> bool:
        # A killed process whose parent (not this script) has not reaped it yet is a zombie: ended.
        try:
            return bool(victim.status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True

    wait(f"process {process.pid} and its children to end", lambda: all(map(ended, victims)), 30, every=0.1)


def dag_runs(env: Mapping[str, str], dag_id: str) -> list[dict[str, Any]]:
    """The DAG's runs as ``airflow dags list-runs`` prints them, newest first."""
    result = airflow(env, "dags", "list-runs", dag_id, "-o", "json")
    # Warnings share stdout with the JSON; the JSON is the line that starts with a bracket and brace.
    lines = [line for line in result.stdout.splitlines() if line.startswith(("[{", "[]"))]
    return list(json.loads(lines[-1])) if lines else []


def dag_run_state(env: Mapping[str, str], dag_id: str) -> str | None:
    """The state of the DAG's newest run, or ``None`` before its first."""
    runs = dag_runs(env, dag_id)
    return str(runs[0]["state"]) if runs else None


def task_logs(home: Path, dag_id: str | None = None, files: str = "*") -> str:
    """The text of every task log file, or of one DAG's, or only the files matching ``files``.

    The triggerer writes its part of a deferred task's log to files of its own beside the worker's,
    named ``*.trigger.*``; the default reads both.
    """
    root = home / "logs" / (f"dag_id={dag_id}" if dag_id else "")
    return "\n".join(p.read_text(errors="replace") for p in sorted(root.rglob(files)) if p.is_file())


def emulator_data(emu: Any, path: str, **query: Any) -> Any:
    """GET one path of the emulator's account through its public API, as any client would; its ``data``.

    :param emu: The running emulator.
    :param path: The path under ``/api/v2/accounts/<id>``, e.g. ``/jobs/300/``.
    :param query: Query parameters.
    """
    url = f"{emu.base_url}/api/v2/accounts/{emu.account_id}{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(url, headers={"Authorization": f"Token {emu.token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the loopback emulator
        return json.load(response)["data"]


def rest_call(base_url: str, token: str | None, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Send one request to Airflow's REST API; return its status and decoded JSON body (else its text).

    An error status is returned, not raised, so a caller can tell a 403 or a 404 from a failure.

    :param base_url: The API server, ``http://127.0.0.1:<port>``.
    :param token: A JWT from ``/auth/token``; None sends no ``Authorization`` header.
    :param method: The HTTP method.
    :param path: The path, with its query, e.g. ``/api/v2/dags/example``.
    :param body: A JSON body, or None for none.
    """
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - the loopback API server
        base_url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")
