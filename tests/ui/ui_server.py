"""A real Airflow API server on a throw-away home, and finished DAG runs for it to show.

:func:`run_airflow_ui` builds an ``AIRFLOW_HOME`` with a SQLite metadata DB, runs the DAGs of
``ui_dags.py`` to completion with ``airflow dags test`` against the dbt Cloud emulator, then starts
``airflow api-server`` on a free loopback port and yields an :class:`AirflowUi`. Sign-in goes through
:class:`RestrictedAuthManager <restricted_auth_manager.RestrictedAuthManager>` (SimpleAuthManager with
the fixed :data:`USERS`, one of whom may not see :data:`RESTRICTED_DAG`). Every step is bounded: each
CLI call by :data:`CLI_TIMEOUT`, the server's start by :data:`SERVER_START_TIMEOUT`.

The browser side is in ``ui_browser.py``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_processes import free_port, rest_call, start, stop
from restricted_auth_manager import RESTRICTED_DAGS_ENV, RESTRICTED_USER
from ui_dags import DAG_JOBS, LIVE_JOB, TASK_ID

if TYPE_CHECKING:
    from airflow_dbtcloud.testing import Emulator

__all__ = [
    "FAILURE_DAG",
    "HOSTILE_NAME",
    "HOSTILE_NODE",
    "RESTRICTED_DAG",
    "SUCCESS_DAG",
    "USERS",
    "AirflowUi",
    "FinishedRun",
    "RestClient",
    "User",
    "run_airflow_ui",
]

HERE = Path(__file__).resolve().parent
#: Seconds an ``airflow`` CLI call may take (measured: migrate 3 s, a dbt Cloud DAG's test run 9 s).
CLI_TIMEOUT = 90
#: Seconds the API server may take to answer its health check (measured: 4-5 s).
SERVER_START_TIMEOUT = 60

SUCCESS_DAG = "ui_success"
FAILURE_DAG = "ui_failure"
#: The DAG :data:`RESTRICTED_USER <restricted_auth_manager.RESTRICTED_USER>` may not see; its run succeeds.
RESTRICTED_DAG = "ui_restricted"
#: How long the live DAG's dbt Cloud run takes (it is run during a test, not before).
LIVE_RUN_SECONDS = 25.0
#: The emulator's outcome for each DAG's job, and the state the DAG run must end in.
DAG_OUTCOMES = {
    SUCCESS_DAG: ("success", "success"),
    FAILURE_DAG: ("error", "failed"),
    RESTRICTED_DAG: ("success", "success"),
}


@dataclass(frozen=True)
class User:
    """A SimpleAuthManager user with a fixed password.

    :param name: The username.
    :param role: ``admin``, ``op``, ``user`` or ``viewer``.
    :param password: The password the API server reads from the passwords file.
    """

    name: str
    role: str
    password: str = field(repr=False)


#: The users the API server knows, by name: an admin, a viewer, and a viewer without the restricted DAG.
USERS = {
    user.name: user
    for user in (
        User("admin", "admin", "admin-password"),
        User("viewer", "viewer", "viewer-password"),
        User(RESTRICTED_USER, "viewer", "outsider-password"),
    )
}


@dataclass(frozen=True)
class FinishedRun:
    """One finished DAG run of ``ui_dags.py`` and the paths of its task instance.

    :param dag_id: The DAG.
    :param run_id: The DAG run's id, as Airflow made it (``manual__<timestamp>``).
    :param state: The DAG run's final state, ``success`` or ``failed``.
    :param task_id: The DAG's one task.
    """

    dag_id: str
    run_id: str
    state: str
    task_id: str = TASK_ID

    @property
    def ui_path(self) -> str:
        """The UI's page of the task instance (its Logs tab; ``/details`` after it is the Details tab)."""
        return f"/dags/{self.dag_id}/runs/{_quote(self.run_id)}/tasks/{self.task_id}"

    @property
    def api_path(self) -> str:
        """The REST API's path of the task instance."""
        return f"/api/v2/dags/{self.dag_id}/dagRuns/{_quote(self.run_id)}/taskInstances/{self.task_id}"


class RestClient:
    """Airflow's public REST API as one signed-in user (or anonymously, without a token).

    :param base_url: The API server, ``http://127.0.0.1:<port>``.
    :param token: A JWT from ``/auth/token``; None sends no ``Authorization`` header.
    """

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token

    @classmethod
    def sign_in(cls, base_url: str, user: User) -> RestClient:
        """Trade the user's password for a JWT and return a client that sends it.

        :param base_url: The API server.
        :param user: The user.
        :raises AssertionError: When the API server refuses the password.
        """
        status, body = cls(base_url).call(
            "POST", "/auth/token", {"username": user.name, "password": user.password}
        )
        assert status == 201, f"signing in as {user.name} through /auth/token gave {status}: {body}"
        return cls(base_url, str(body["access_token"]))

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request; return its status and decoded JSON body (the text if it is not JSON).

        An error status is returned, not raised, so a test can assert a 403.

        :param method: The HTTP method.
        :param path: The path, with its query, e.g. ``/api/v2/dags/ui_success``.
        :param body: A JSON body, or None for none.
        """
        return rest_call(self.base_url, self.token, method, path, body)

    def get(self, path: str) -> Any:
        """GET one path and return its JSON body.

        :param path: The path, with its query.
        :raises AssertionError: When the answer is not 200.
        """
        status, body = self.call("GET", path)
        assert status == 200, f"GET {path} gave {status}: {body}"
        return body


@dataclass
class AirflowUi:
    """A running ``airflow api-server`` and what it shows.

    :param base_url: Where it listens, ``http://127.0.0.1:<port>``; the browser context's base URL.
    :param home: Its ``AIRFLOW_HOME`` (``api-server.log`` and each ``dags-test-<dag>.log`` are there).
    :param env: The environment it and the CLI calls ran in.
    :param runs: The finished run of each DAG of ``ui_dags.py``, by DAG id.
    :param timings: Seconds each set-up step took, by step, in order.
    """

    base_url: str
    home: Path
    env: dict[str, str] = field(repr=False)
    runs: dict[str, FinishedRun] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def rest(self, user: str | None = None) -> RestClient:
        """Return a REST client signed in as one of :data:`USERS`, or an anonymous one.

        :param user: The username; None for no sign-in.
        """
        if user is None:
            return RestClient(self.base_url)
        return RestClient.sign_in(self.base_url, USERS[user])


def _quote(value: str) -> str:
    """Quote one path segment (a run id holds ``:`` and ``+``)."""
    return urllib.parse.quote(value, safe="")


#: A model whose name is markup: the views must show it as text and never run it.
HOSTILE_NAME = "evil_<img src=x onerror=document.title='pwned'>"
HOSTILE_NODE = f"model.jaffle_shop.{HOSTILE_NAME}"
#: Models added to jaffle_shop, so that each run has more than 2,000 nodes.
BULK_MODELS = 2000


def script_emulator(emu: Emulator) -> None:
    """Make each DAG's job end as :data:`DAG_OUTCOMES` says, after a short run (about a second).

    Every run builds jaffle_shop plus :data:`BULK_MODELS` models and the hostile one; the failing job
    fails on the hostile model, so its name and message (which quotes the name) reach the views.

    :param emu: The emulator the DAGs' connection points at.
    """
    from airflow_dbtcloud.testing.project import BASE_NODES, Node

    parent = "model.jaffle_shop.stg_orders"
    bulk = [
        Node(f"model.jaffle_shop.bulk_{i:04d}", "model", f"bulk_{i:04d}", parents=(parent,))
        for i in range(BULK_MODELS)
    ]
    emu.set_project_nodes([*BASE_NODES, Node(HOSTILE_NODE, "model", HOSTILE_NAME, parents=(parent,)), *bulk])
    for dag_id, job_id in DAG_JOBS.items():
        outcome, _state = DAG_OUTCOMES[dag_id]
        failing = [HOSTILE_NODE] if outcome == "error" else None
        emu.set_job_script(
            job_id, outcome=outcome, queued_seconds=0.2, running_seconds=1.0, failing_nodes=failing
        )
    emu.set_job_script(LIVE_JOB, outcome="success", queued_seconds=0.2, running_seconds=LIVE_RUN_SECONDS)


def airflow_env(home: Path, emulator_env: Mapping[str, str], **options: str) -> dict[str, str]:
    """Return the environment of the CLI calls and the API server: nothing of the test process's Airflow.

    The API server's port (``AIRFLOW__API__PORT``) is added when it starts.

    :param home: ``AIRFLOW_HOME``.
    :param emulator_env: The emulator's ``env()``: the dbt Cloud connection.
    :param options: More variables, which win over the ones here (a plugin's settings, say).
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return {
        **inherited,
        **emulator_env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        # The API server imports the test auth manager by module name.
        "PYTHONPATH": os.pathsep.join(filter(None, (str(HERE), os.environ.get("PYTHONPATH")))),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__AUTH_MANAGER": "restricted_auth_manager.RestrictedAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u.name}:{u.role}" for u in USERS.values()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        RESTRICTED_DAGS_ENV: RESTRICTED_DAG,
        # Set here rather than on the command line: SimpleAuthManager warns of a production-shaped
        # deployment when [api] host is not a loopback address, and the CLI's --host does not set it.
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__WORKERS": "1",
        # 64 bytes each, the length PyJWT asks of an HS512 key (the UI's tokens; the log server's);
        # a throw-away home needs no stable secret.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        **options,
    }


def airflow(env: Mapping[str, str], log: Path, *args: str) -> int:
    """Run one ``airflow`` CLI command, writing its output to ``log``; return its exit code.

    :param env: The environment, from :func:`airflow_env`.
    :param log: The file that gets the command's output.
    :param args: The command, e.g. ``("dags", "test", "ui_success")``.
    :raises subprocess.TimeoutExpired: After :data:`CLI_TIMEOUT` seconds.
    """
    with log.open("wb") as out:
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=CLI_TIMEOUT,
            check=False,
        ).returncode


def _tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file, for an error message."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError as error:
        return f"({path} unreadable: {error})"


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the API server answers its health check; raise if it exits or takes too long."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"airflow api-server exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{base_url}/api/v2/monitor/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:  # not listening yet (URLError and HTTPError are OSErrors)
            pass
        time.sleep(0.2)
    raise TimeoutError(f"airflow api-server not healthy after {SERVER_START_TIMEOUT}s:\n{_tail(log)}")


def _finished_runs(ui: AirflowUi) -> dict[str, FinishedRun]:
    """Read each DAG's one run through the REST API; check it ended as :data:`DAG_OUTCOMES` says."""
    admin = ui.rest("admin")
    runs = {}
    for dag_id in DAG_JOBS:
        found = admin.get(f"/api/v2/dags/{dag_id}/dagRuns")["dag_runs"]
        expected = DAG_OUTCOMES[dag_id][1]
        log = ui.home / f"dags-test-{dag_id}.log"
        if len(found) != 1 or found[0]["state"] != expected:
            states = [run["state"] for run in found]
            raise RuntimeError(f"{dag_id}: runs {states}, expected one {expected}:\n{_tail(log)}")
        runs[dag_id] = FinishedRun(dag_id, str(found[0]["dag_run_id"]), str(found[0]["state"]))
    return runs


@contextmanager
def run_airflow_ui(home: Path, emu: Emulator, **options: str) -> Iterator[AirflowUi]:
    """Run the DAGs of ``ui_dags.py`` to completion, then serve them with ``airflow api-server``.

    The steps, each a real Airflow command on ``home``: ``airflow db migrate``; ``airflow dags
    reserialize`` (every DAG of the folder into the DB, run or not); ``airflow dags test <dag>`` for
    each DAG (one finished DAG run with its task instance, XCom and extra links, no scheduler needed;
    a failed run exits 1, so states are checked through the REST API instead); then the API server,
    stopped (SIGTERM, then SIGKILL) when the block ends.

    :param home: An empty directory to become ``AIRFLOW_HOME``.
    :param emu: The emulator; its jobs are scripted with :func:`script_emulator`.
    :param options: More environment variables for every step (see :func:`airflow_env`).
    :raises RuntimeError: When a step fails; the message ends with that step's log.
    """
    script_emulator(emu)
    (home / "dags").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "ui_dags.py", home / "dags" / "ui_dags.py")
    (home / "passwords.json").write_text(json.dumps({u.name: u.password for u in USERS.values()}))
    env = airflow_env(home, emu.env(), **options)
    steps: list[tuple[str, tuple[str, ...], bool]] = [
        ("db migrate", ("db", "migrate"), True),
        ("dags reserialize", ("dags", "reserialize"), True),
        *((f"dags test {dag_id}", ("dags", "test", dag_id), False) for dag_id in DAG_JOBS),
    ]
    timings: dict[str, float] = {}
    for name, args, must_succeed in steps:
        log = home / f"{name.replace(' ', '-')}.log"
        started = time.monotonic()
        code = airflow(env, log, *args)
        timings[name] = time.monotonic() - started
        if must_succeed and code != 0:
            raise RuntimeError(f"airflow {' '.join(args)} exited with {code}:\n{_tail(log)}")
    # Picked only now, so that nothing else has long to take it.
    port = free_port()
    ui = AirflowUi(
        f"http://127.0.0.1:{port}", home, {**env, "AIRFLOW__API__PORT": str(port)}, timings=timings
    )
    log = home / "api-server.log"
    started = time.monotonic()
    # In a session of its own, so stopping it reaches any worker it forks.
    process = start(ui.env, log, "api-server")
    try:
        _wait_healthy(ui.base_url, process, log)
        ui.timings["api-server start"] = time.monotonic() - started
        ui.runs = _finished_runs(ui)
        yield ui
    finally:
        stop(process, timeout=20)
