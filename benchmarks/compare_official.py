"""Side-by-side benchmark of this provider's ``DbtCloudHook`` and the official provider's (4.11.1).

Both hooks run the same workloads against the same local dbt Cloud emulator in one run. It needs a
Python environment where *both* providers are installed (``benchmarks/run.py`` builds one in
``benchmarks/.venv-official``); never install the official provider into the project's ``.venv``.

Layout of a run:

* This (parent) process runs the emulator (``run_emulator(tls=True)``) on a thread and reads its
  counters (TCP connections accepted, runs created, fault hits) around every measured command.
* Each provider's hook runs in its own worker child process (this same file with ``--worker``). A
  child gets ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE`` and its ``AIRFLOW_CONN_*`` variable before it
  imports anything, because aiohttp builds its default SSL context at import time and the official
  hook has no other way to trust the emulator's self-signed certificate. It also keeps the emulator's
  CPU work out of the measured process.
* Scenarios 1, 2 and 4 use one long-lived worker per provider, driven alternately by JSON commands on
  its stdin; results come back on a dedicated pipe (the workers' stdout is Airflow's log output).
* Scenario 3 (artifact download) uses a fresh worker per measurement so peak RSS is per download.

Usage (normally through ``benchmarks/run.py``)::

    benchmarks/.venv-official/bin/python benchmarks/compare_official.py [--polls 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime
import http.client
import json
import os
import platform
import select
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results.md"
#: Written with the default output (unless ``--no-docs``): the docs page and one PNG per scenario.
DOCS_PAGE = REPO_ROOT / "docs" / "benchmarks.md"
CHART_DIR = REPO_ROOT / "docs" / "benchmarks"
DOCS_TEMPLATE = REPO_ROOT / "benchmarks" / "docs_page.md"
DOCS_PLACEHOLDER = "<!-- latest results -->"

PROVIDERS = ("official", "ours")
CONN_IDS = {"official": "dbt_cloud_official", "ours": "dbt_cloud_ours"}
LABELS = {"official": "official 4.11.1", "ours": "airflow-dbtcloud"}

#: Upper bounds, so a stuck worker or emulator can never hang the benchmark.
WORKER_START_TIMEOUT = 180.0
COMMAND_TIMEOUT = 300.0

POLL_JOB = 301  # scripted to hang in RUNNING: the run a deferred task would be polling
FLAKY_JOB = 300
TRIGGER_JOB = 300  # scenario 4 counts emu.runs_created(300)
ARTIFACT_JOB = 302


# ================================================================================================
# Worker side: runs inside a child process that has exactly one provider's hook imported.
# ================================================================================================


def _proc_status_kb(field: str) -> int:
    """Return a ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in KiB, or -1 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def _shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS; False when the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class _BenchTaskInstance:
    """The task instance scenario 9's operators see: an identity and a place for their XComs."""

    def __init__(self) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index = "bench", "bench_run", "calls_per_run", -1
        self.try_number, self.max_tries = 1, 0
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        """Keep an XCom.

        :param key: Its key.
        :param value: Its value.
        """
        self.xcom[key] = value


class _BenchStore:
    """The ``task_state_store`` scenario 9's operators see, kept in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """Read a value.

        :param key: Its key.
        :param default: What to return when it is not there.
        """
        return self.data.get(key, default)

    def set(self, key: str, value: Any, retention: Any = None) -> None:
        """Store a value.

        :param key: Its key.
        :param value: The value.
        :param retention: Ignored here.
        """
        self.data[key] = value


class _Worker:
    """The commands a worker process serves, for one provider's hook.

    :param provider: ``official`` or ``ours``.
    """

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.conn_id = CONN_IDS[provider]
        if provider == "official":
            from airflow.providers.dbt.cloud.hooks.dbt import DbtCloudHook
        else:
            from airflow_dbtcloud.hooks.dbt import DbtCloudHook
        self.hook_class: Any = DbtCloudHook

    def _hook(self, **kwargs: Any) -> Any:
        return self.hook_class(self.conn_id, **kwargs)

    def cmd_info(self) -> dict[str, Any]:
        """Describe the worker (pid, hook class, RSS after imports)."""
        return {
            "pid": os.getpid(),
            "hook": f"{self.hook_class.__module__}.{self.hook_class.__qualname__}",
            "rss_kb": _proc_status_kb("VmRSS"),
        }

    async def _polls(self, run_id: int, polls: int) -> tuple[list[float], list[int]]:
        hook = self._hook()
        durations: list[float] = []
        statuses: list[int] = []

        async def loop() -> None:
            for _ in range(polls):
                started = time.perf_counter()
                statuses.append(await hook.get_job_status(run_id))
                durations.append(time.perf_counter() - started)

        if self.provider == "ours":
            async with hook:  # one aiohttp session for the whole wait, as our trigger does
                await loop()
        else:
            await loop()  # the official hook opens a new aiohttp session per call
        return durations, statuses

    def cmd_poll(self, run_id: int, polls: int) -> dict[str, Any]:
        """Scenario 1: ``polls`` sequential ``await hook.get_job_status(run_id)`` on one fresh hook.

        :param run_id: A run that stays non-terminal.
        :param polls: Number of polls.
        """
        started = time.perf_counter()
        durations, statuses = asyncio.run(self._polls(run_id, polls))
        return {
            "wall_s": time.perf_counter() - started,
            "durations_s": durations,
            "statuses": sorted(set(statuses)),
        }

    def cmd_flaky(self, run_id: int, calls: int, retry_limit: int | None = None) -> dict[str, Any]:
        """Scenario 2: ``calls`` sync ``get_job_run_status`` calls, counting those that raise.

        :param run_id: A finished run.
        :param calls: Number of calls.
        :param retry_limit: ``retry_limit`` for the hook; None for its default.
        """
        hook = self._hook(**({} if retry_limit is None else {"retry_limit": retry_limit}))
        failures: collections.Counter[str] = collections.Counter()
        started = time.perf_counter()
        for _ in range(calls):
            try:
                hook.get_job_run_status(run_id)
            except Exception as exc:
                failures[type(exc).__name__] += 1
        wall = time.perf_counter() - started
        if hasattr(hook, "close"):
            hook.close()
        return {"failed": sum(failures.values()), "errors": dict(failures), "wall_s": wall}

    def cmd_trigger(self, job_id: int, retry_limit: int | None) -> dict[str, Any]:
        """Scenario 4: one ``trigger_job_run`` call; report the run id or the error raised.

        :param job_id: The job to run.
        :param retry_limit: ``retry_limit`` for the hook; None for its default.
        """
        hook = self._hook(**({} if retry_limit is None else {"retry_limit": retry_limit}))
        started = time.perf_counter()
        try:
            response = hook.trigger_job_run(job_id=job_id, cause="benchmark: duplicate runs")
        except Exception as exc:
            return {
                "raised": type(exc).__name__,
                "message": _shorten(str(exc).splitlines()[0] if str(exc) else "", 140),
                "wall_s": time.perf_counter() - started,
            }
        return {
            "raised": None,
            "run_id": response.json()["data"]["id"],
            "wall_s": time.perf_counter() - started,
        }

    def cmd_download(self, run_id: int, path: str, destination: str, mode: str) -> dict[str, Any]:
        """Scenario 3: fetch one artifact to a file and report wall time and peak RSS growth.

        :param run_id: A finished run.
        :param path: Artifact path, e.g. ``manifest.json``.
        :param destination: File to write.
        :param mode: ``official-json`` (what the official artifact operator does for ``*.json``),
            ``official-text`` (its branch for other files) or ``ours``.
        """
        hook = self._hook()
        hwm_reset = _reset_peak_rss()
        rss_before = _proc_status_kb("VmRSS")
        baseline = rss_before if hwm_reset else _proc_status_kb("VmHWM")
        started = time.perf_counter()
        if mode == "ours":
            hook.download_job_run_artifact(run_id, path, destination)
        else:
            response = hook.get_job_run_artifact(run_id=run_id, path=path)
            with open(destination, "w", encoding="utf-8") as file:
                if mode == "official-json":
                    json.dump(response.json(), file)
                else:
                    file.write(response.text)
            del response
        wall = time.perf_counter() - started
        peak = _proc_status_kb("VmHWM")
        return {
            "wall_s": wall,
            "rss_before_kb": rss_before,
            "peak_kb": peak,
            "peak_delta_kb": peak - baseline,
            "hwm_reset": hwm_reset,
            "bytes": os.path.getsize(destination),
        }

    def cmd_built(self, run_id: int, mode: str) -> dict[str, Any]:
        """Scenario 5: find what a large run built; report wall time, peak RSS growth and the count.

        :param run_id: A finished run.
        :param mode: ``official`` reads ``manifest.json`` and ``run_results.json`` as its OpenLineage
            code does (``response.json()``) and picks the built nodes; ``ours`` runs ``get_run_build``
            and adds the asset events to an alias, as ``emit_assets`` does.
        """
        hook = self._hook()
        hwm_reset = _reset_peak_rss()
        rss_before = _proc_status_kb("VmRSS")
        baseline = rss_before if hwm_reset else _proc_status_kb("VmHWM")
        started = time.perf_counter()
        if mode == "ours":
            from airflow.sdk import AssetAlias
            from airflow.sdk.execution_time.context import OutletEventAccessors

            from airflow_dbtcloud.assets.dbt import publish_run_assets

            events = OutletEventAccessors()
            alias = AssetAlias("benchmark")
            count = len(publish_run_assets(events, alias, hook.get_run_build(run_id)))
        else:
            results = hook.get_job_run_artifact(run_id=run_id, path="run_results.json").json()["results"]
            nodes = hook.get_job_run_artifact(run_id=run_id, path="manifest.json").json()["nodes"]
            built = [r["unique_id"] for r in results if r["status"] == "success"]
            count = sum(1 for uid in built if nodes[uid]["resource_type"] in ("model", "seed", "snapshot"))
        wall = time.perf_counter() - started
        peak = _proc_status_kb("VmHWM")
        return {"wall_s": wall, "peak_delta_kb": peak - baseline, "hwm_reset": hwm_reset, "count": count}

    def cmd_triggers(
        self, run_ids: list[int], poll_interval: float, hook_params: dict[str, Any], floor: bool = False
    ) -> Any:
        """Scenario 6: one trigger per run in one event loop, as the triggerer runs them.

        :param run_ids: The runs.
        :param poll_interval: Seconds between a trigger's polls.
        :param hook_params: Our triggers' ``hook_params``.
        :param floor: Run ``triggerer_load.FloorTrigger`` (one bare GET per poll) instead.
        """
        from triggerer_load import run_triggers

        provider = "floor" if floor else self.provider
        result = run_triggers(provider, self.conn_id, run_ids, poll_interval, hook_params)
        return {**result, "peak_rss_kb": _proc_status_kb("VmHWM")}

    def cmd_deferred(self, job_id: int, poll_interval: float, hook_params: dict[str, Any]) -> dict[str, Any]:
        """Scenario 9: one deferrable ``DbtCloudRunJobOperator`` task, as Airflow runs it.

        ``execute`` starts the run and defers; the trigger it handed over runs to its event in this
        process's event loop; the method the task resumes in handles the event. The emulator counts the
        requests (the parent reads its journal around the command).

        :param job_id: The job to run.
        :param poll_interval: The operator's ``check_interval``.
        :param hook_params: Our operator's ``hook_params`` (the official one gets none here).
        """
        if self.provider == "official":
            from airflow.providers.dbt.cloud.operators.dbt import DbtCloudRunJobOperator
        else:
            from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
        from airflow.sdk import DAG
        from airflow.sdk.exceptions import TaskDeferred
        from triggerer_load import first_event

        with DAG(dag_id="bench", schedule=None):  # the official operator needs its DAG when it runs
            operator = DbtCloudRunJobOperator(
                task_id="calls_per_run",
                dbt_cloud_conn_id=self.conn_id,
                job_id=job_id,
                deferrable=True,
                check_interval=poll_interval,
                timeout=3600,
                **({"hook_params": hook_params} if hook_params else {}),
            )
        context: dict[str, Any] = {"ti": _BenchTaskInstance(), "task_state_store": _BenchStore()}
        started = time.perf_counter()
        try:
            operator.execute(context)
        except TaskDeferred as deferred:
            event = asyncio.run(first_event(deferred.trigger))
            result = getattr(operator, deferred.method_name)(context, event)
        else:
            raise RuntimeError("the operator did not defer")
        return {"run_id": int(result), "wall_s": time.perf_counter() - started}

    def cmd_list_jobs(self, account_id: int) -> dict[str, Any]:
        """Scenario 7: one sync ``list_jobs(account_id)`` on a fresh hook; its wall time and what came back.

        Only the call is timed; decoding the pages and fingerprinting the jobs happen afterwards.

        :param account_id: The account whose jobs are listed.
        """
        import hashlib

        hook = self._hook()
        cpu, started = time.process_time(), time.perf_counter()
        pages = hook.list_jobs(account_id)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        # The official hook asks for one page after the other; ours sends the pages after the first
        # on up to max_concurrency threads.
        concurrency = hook.client_config.max_concurrency if self.provider == "ours" else 1
        if hasattr(hook, "close"):
            hook.close()
        fingerprint = hashlib.sha256()
        ids: list[int] = []
        sizes: list[int] = []
        for page in pages:
            data = page.json()["data"]
            sizes.append(len(data))
            for job in data:
                ids.append(int(job["id"]))
                fingerprint.update(json.dumps(job, sort_keys=True).encode())
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "concurrency": concurrency,
            "page_sizes": sizes,
            "page_types": sorted({f"{type(p).__module__}.{type(p).__qualname__}" for p in pages}),
            "ids": ids,
            "sha256": fingerprint.hexdigest(),
        }


def worker_main(provider: str, result_fd: int) -> int:
    """Serve JSON commands from stdin, one per line, answering each on ``result_fd``.

    :param provider: ``official`` or ``ours``.
    :param result_fd: File descriptor of the result pipe inherited from the parent.
    :return: Exit status.
    """
    with os.fdopen(result_fd, "w", buffering=1, encoding="utf-8") as out:
        try:
            worker = _Worker(provider)
        except Exception as exc:
            out.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
            return 1
        out.write(json.dumps({"ok": True, "result": "ready"}) + "\n")
        for line in sys.stdin:
            request = json.loads(line)
            name = request.pop("cmd")
            if name == "quit":
                break
            try:
                reply = {"ok": True, "result": getattr(worker, f"cmd_{name}")(**request)}
            except Exception as exc:
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(reply) + "\n")
    return 0


# ================================================================================================
# Parent side: emulator, workers, scenarios, report.
# ================================================================================================


class WorkerError(RuntimeError):
    """A worker failed, timed out or answered a command with an error."""


class WorkerProcess:
    """A worker child process for one provider, driven by JSON commands.

    :param provider: ``official`` or ``ours``.
    :param env: The child's environment (connections, CA bundle).
    :param log_path: File collecting the child's stdout and stderr (Airflow's logs).
    """

    def __init__(self, provider: str, env: dict[str, str], log_path: Path) -> None:
        self.provider = provider
        self.log_path = log_path
        read_fd, write_fd = os.pipe()
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                provider,
                "--result-fd",
                str(write_fd),
            ],
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            env=env,
            cwd=str(REPO_ROOT),
        )
        os.close(write_fd)
        self._fd = read_fd
        self._buffer = b""
        try:
            self._reply(WORKER_START_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _reply(self, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerError(
                    f"{self.provider} worker timed out after {timeout:.0f}s\n{self._log_tail()}"
                )
            ready, _, _ = select.select([self._fd], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    raise WorkerError(f"{self.provider} worker exited\n{self._log_tail()}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        reply = json.loads(line)
        if not reply["ok"]:
            raise WorkerError(f"{self.provider} worker: {reply['error']}")
        return reply["result"]

    def call(self, cmd: str, timeout: float = COMMAND_TIMEOUT, **kwargs: Any) -> Any:
        """Run one command in the worker and return its result.

        :param cmd: Command name (``poll``, ``flaky``, ``trigger``, ``download``, ``info``).
        :param timeout: Seconds to wait for the answer.
        :param kwargs: The command's arguments.
        """
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **kwargs}) + "\n").encode())
        self.proc.stdin.flush()
        return self._reply(timeout)

    def close(self) -> None:
        """Ask the worker to quit, kill it if it does not, and release the pipes."""
        try:
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                self.proc.stdin.close()
            self.proc.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(15)
        finally:
            os.close(self._fd)
            self._log.close()


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _ratio(official: float, ours: float) -> str:
    if ours == 0:
        return "n/a (ours 0)" if official else "n/a"
    ratio = official / ours
    if ratio >= 100:
        return f"{ratio:.0f}x"
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _mib(kib: float) -> str:
    mib = kib / 1024
    return f"{mib:.0f} MiB" if mib >= 10 else f"{mib:.1f} MiB"


def _alternating(items: Sequence[Any], rep: int) -> list[Any]:
    """Rotate ``items`` by ``rep`` so no variant always goes first (spreads drift and warm-up effects)."""
    shift = rep % len(items)
    return list(items[shift:]) + list(items[:shift])


def create_run(emu: Any, job_id: int) -> int:
    """Start a run of ``job_id`` on the emulator through its public API (setup, not measured).

    :param emu: The running emulator.
    :param job_id: The job.
    :return: The new run's id.
    """
    context = ssl.create_default_context(cafile=emu.ca_file)
    connection = http.client.HTTPSConnection(emu.host, timeout=30, context=context)
    try:
        connection.request(
            "POST",
            f"/api/v2/accounts/{emu.account_id}/jobs/{job_id}/run/",
            body=json.dumps({"cause": "benchmark setup"}),
            headers={"Authorization": f"Token {emu.token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"setup: starting a run of job {job_id} answered {response.status}")
        return int(json.load(response)["data"]["id"])
    finally:
        connection.close()


@dataclass
class Row:
    """One line of the summary table.

    ``values`` holds the two figures as numbers (official, ours) in ``unit`` when the row can be
    charted; rows of counts told in words ("1 run, error reported") leave it None.
    """

    scenario: str
    metric: str
    official: str
    ours: str
    ratio: str
    values: tuple[float, float] | None = None
    unit: str = ""

    @classmethod
    def of(
        cls,
        scenario: str,
        metric: str,
        figures: tuple[float, float] | None,
        show: Callable[[float], str] | tuple[str, str],
        unit: str = "",
        *,
        scale: float = 1,
        ratio: bool = True,
    ) -> Row:
        """Build a row from the two providers' figures.

        :param scenario: The scenario's name.
        :param metric: What the row measures.
        :param figures: ``(official, ours)`` as numbers, for the ratio and the chart; None for a row
            told in words.
        :param show: Formats one figure for the table, or the two texts as they are.
        :param unit: The chart's unit.
        :param scale: Turns a figure into ``unit`` for the chart (1000 for seconds charted in ms).
        :param ratio: Whether the table shows official / ours; off for a count where fewer is not better.
        """
        if isinstance(show, tuple):
            official, ours = show
        else:
            assert figures is not None, "a row told in words needs its two texts"
            official, ours = show(figures[0]), show(figures[1])
        if figures is None:
            return cls(scenario, metric, official, ours, "")
        values = (figures[0] * scale, figures[1] * scale)
        return cls(scenario, metric, official, ours, _ratio(*figures) if ratio else "", values, unit)


@dataclass
class Section:
    """Results of one scenario: summary rows plus a detailed markdown block."""

    rows: list[Row]
    detail: str


def scenario_polling(emu: Any, workers: dict[str, WorkerProcess], polls: int, repeats: int) -> Section:
    """Scenario 1: the deferrable trigger's status poll, per-poll time and TCP connections.

    :param emu: The emulator.
    :param workers: One worker per provider.
    :param polls: Sequential polls per measurement.
    :param repeats: Measurements per provider.
    """
    emu.reset()
    emu.set_job_script(POLL_JOB, outcome="hang")
    run_id = create_run(emu, POLL_JOB)
    for worker in workers.values():  # warm-up (imports, provider discovery, connection lookup)
        worker.call("poll", run_id=run_id, polls=20)
    per_poll: dict[str, list[float]] = {p: [] for p in PROVIDERS}
    totals: dict[str, list[float]] = {p: [] for p in PROVIDERS}
    conns: dict[str, list[int]] = {p: [] for p in PROVIDERS}
    p90: dict[str, list[float]] = {p: [] for p in PROVIDERS}
    for rep in range(repeats):
        for provider in _alternating(PROVIDERS, rep):
            before = emu.connections_accepted
            result = workers[provider].call("poll", run_id=run_id, polls=polls)
            conns[provider].append(emu.connections_accepted - before)
            if not set(result["statuses"]) <= {1, 2, 3}:
                raise RuntimeError(f"scenario 1: run {run_id} left the running states: {result['statuses']}")
            durations = sorted(result["durations_s"])
            per_poll[provider].append(statistics.median(durations))
            p90[provider].append(durations[int(0.9 * (len(durations) - 1))])
            totals[provider].append(sum(durations))
    med = {p: _median(per_poll[p]) for p in PROVIDERS}
    tot = {p: _median(totals[p]) for p in PROVIDERS}
    con = {p: _median(conns[p]) for p in PROVIDERS}
    name = f"1. Deferred-wait polling ({polls} sequential `get_job_status`)"
    rows = [
        Row.of(name, "wall per poll (median)", (med["official"], med["ours"]), _ms, "ms", scale=1000),
        Row.of(
            name, f"wall for {polls} polls (median)", (tot["official"], tot["ours"]), "{:.2f} s".format, "s"
        ),
        Row.of(
            name,
            f"TCP connections per {polls} polls",
            (con["official"], con["ours"]),
            "{:.0f}".format,
            "connections",
        ),
    ]
    lines = [
        f"### {name}",
        "",
        f"Run {run_id} of job {POLL_JOB} is scripted to stay RUNNING. Each measurement is a fresh hook "
        f"doing {polls} sequential polls (ours inside one `async with hook:`); {repeats} measurements per "
        "provider, alternating which provider goes first, after 20 warm-up polls each. Connections are the "
        "emulator's accepted-TCP counter.",
        "",
        "| provider | per-poll median of each repeat (ms) | p90 per poll (median, ms) "
        "| connections per repeat |",
        "|---|---|---|---|",
    ]
    for p in PROVIDERS:
        lines.append(
            f"| {LABELS[p]} | {', '.join(f'{v * 1000:.2f}' for v in per_poll[p])} "
            f"| {_median(p90[p]) * 1000:.2f} | {', '.join(str(c) for c in conns[p])} |"
        )
    return Section(rows, "\n".join(lines))


def scenario_flaky(emu: Any, workers: dict[str, WorkerProcess], calls: int, rate: float) -> Section:
    """Scenario 2: seeded 503s on ``get_run``; count sync ``get_job_run_status`` calls that raise.

    The headline compares both hooks at their defaults; the official hook at ``retry_limit=3`` is
    measured too, to show whether turning its retries on helps.

    :param emu: The emulator.
    :param workers: One worker per provider.
    :param calls: Calls per variant.
    :param rate: Probability that one ``get_run`` request gets a 503.
    """
    emu.reset()
    run_id = create_run(emu, FLAKY_JOB)
    emu.complete_run(run_id, "success")
    variants = [
        ("official", None, "official, default `retry_limit=1`"),
        ("official", 3, "official, `retry_limit=3`"),
        ("ours", None, "ours, defaults"),
    ]
    results: dict[str, dict[str, Any]] = {}
    for provider, limit, label in variants:
        emu.clear_faults()  # also reseeds the fault generator: every variant faces the same draws
        fault = emu.add_fault(route="get_run", kind="status", status=503, rate=rate)
        requests_before = emu.requests
        result = workers[provider].call("flaky", run_id=run_id, calls=calls, retry_limit=limit)
        result["requests"] = emu.requests - requests_before
        result["faults"] = fault.hits
        results[label] = result
    emu.clear_faults()
    off, ours = results[variants[0][2]], results[variants[2][2]]
    name = f"2. Flaky API ({rate:.0%} seeded 503 on `get_run`, {calls} sync `get_job_run_status`)"
    rows = [
        Row.of(name, f"failed calls (of {calls}), defaults", (off["failed"], ours["failed"]), str, "calls"),
        Row.of(
            name,
            f"wall for {calls} calls, defaults (ours: incl. retry sleeps)",
            (off["wall_s"], ours["wall_s"]),
            "{:.2f} s".format,
            "s",
        ),
    ]
    lines = [
        f"### {name}",
        "",
        "The fault generator is reseeded before each variant, so the first requests meet the same 503s. One "
        "measurement per variant: with the seed fixed the counts are deterministic. Wall time includes our "
        "backoff sleeps (exponential with jitter, from up to 1 s). The official hook's `retry_limit` does "
        "not help here: its sync calls turn an HTTP error status into an `AirflowException`, which its retry "
        "predicate does not retry (see scenario 4).",
        "",
        "| variant | failed calls | exceptions | HTTP requests sent | 503s served | wall |",
        "|---|---|---|---|---|---|",
    ]
    for *_, label in variants:
        r = results[label]
        errors = ", ".join(f"{k} x{v}" for k, v in r["errors"].items()) or "none"
        lines.append(
            f"| {label} | {r['failed']} | {errors} | {r['requests']} | {r['faults']} | {r['wall_s']:.2f} s |"
        )
    return Section(rows, "\n".join(lines))


def scenario_download(
    emu: Any, env: dict[str, str], log_dir: Path, work_dir: Path, size_mb: int, repeats: int
) -> Section:
    """Scenario 3: a large ``manifest.json``; wall time and peak RSS growth of a fresh process each.

    :param emu: The emulator.
    :param env: Worker environment.
    :param log_dir: Where worker logs go.
    :param work_dir: Scratch directory for the downloaded files.
    :param size_mb: Manifest size in MiB.
    :param repeats: Measurements per variant.
    """
    emu.reset()
    emu.set_manifest_size_mb(size_mb)
    run_id = create_run(emu, ARTIFACT_JOB)
    emu.complete_run(run_id, "success")
    variants = [
        ("official", "official-json", "official: `json.dump(response.json(), f)` (its operator, *.json)"),
        ("official", "official-text", "official: `f.write(response.text)` (its operator, other files)"),
        ("ours", "ours", "ours: `download_job_run_artifact(run_id, path, dest)`"),
    ]
    results: dict[str, list[dict[str, Any]]] = {mode: [] for _, mode, _ in variants}
    for rep in range(repeats):
        for provider, mode, _label in _alternating(variants, rep):
            destination = work_dir / f"manifest-{mode}-{rep}.json"
            worker = WorkerProcess(provider, env, log_dir / f"download-{mode}-{rep}.log")
            try:
                result = worker.call(
                    "download", run_id=run_id, path="manifest.json", destination=str(destination), mode=mode
                )
            finally:
                worker.close()
                destination.unlink(missing_ok=True)
            if result["bytes"] < 0.9 * size_mb * 1024 * 1024:
                raise RuntimeError(f"scenario 3: {mode} wrote only {result['bytes']} bytes")
            results[mode].append(result)
    emu.set_manifest_size_mb(0)
    wall = {mode: _median(r["wall_s"] for r in rs) for mode, rs in results.items()}
    rss = {mode: _median(r["peak_delta_kb"] for r in rs) for mode, rs in results.items()}
    name = f"3. Artifact download ({size_mb} MiB `manifest.json`)"
    rows = []
    for mode, short in (
        ("official-json", "json.dump(response.json())"),
        ("official-text", "write(response.text)"),
    ):
        rows.append(
            Row.of(
                name,
                f"peak RSS growth, official {short}",
                (rss[mode], rss["ours"]),
                _mib,
                "MiB",
                scale=1 / 1024,
            )
        )
        rows.append(
            Row.of(name, f"wall, official {short}", (wall[mode], wall["ours"]), "{:.2f} s".format, "s")
        )
    hwm_reset = all(r["hwm_reset"] for rs in results.values() for r in rs)
    lines = [
        f"### {name}",
        "",
        f"Each measurement is a fresh worker process; {repeats} per variant, rotating the order. Peak RSS "
        "growth is `VmHWM` after the download minus "
        + (
            "`VmRSS` just before it (the peak was reset through `/proc/self/clear_refs`)."
            if hwm_reset
            else "`VmHWM` before it."
        )
        + " The emulator (in the parent process) generates the manifest while streaming it.",
        "",
        "| variant | wall per repeat (s) | peak RSS growth per repeat (MiB) | RSS before (MiB) "
        "| peak RSS (MiB, median) | file written |",
        "|---|---|---|---|---|---|",
    ]
    for _provider, mode, label in variants:
        rs = results[mode]
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in rs)
        peaks = ", ".join(f"{r['peak_delta_kb'] / 1024:.1f}" for r in rs)
        before = _median(r["rss_before_kb"] for r in rs) / 1024
        peak = _median(r["peak_kb"] for r in rs) / 1024
        size = rs[0]["bytes"] / 1048576
        lines.append(f"| {label} | {walls} | {peaks} | {before:.0f} | {peak:.0f} | {size:.1f} MiB |")
    lines += [
        "",
        f"`set_manifest_size_mb({size_mb})` pads the nodes to {size_mb} MiB; the parent and child maps "
        "of the padding models come on top. Our growth is close to the measuring floor (a few pages), so "
        "its ratio is only an order of magnitude.",
    ]
    return Section(rows, "\n".join(lines))


def scenario_built(
    emu: Any, env: dict[str, str], log_dir: Path, models: int, padding_mb: int, repeats: int
) -> Section:
    """Scenario 5: what a run of a ``models``-model project built, each measurement in a fresh process.

    :param emu: The emulator.
    :param env: Worker environment.
    :param log_dir: Where worker logs go.
    :param models: Synthetic models added to the emulator's project.
    :param padding_mb: MiB of extra manifest content, as compiled SQL and docs add in real projects.
    :param repeats: Measurements per variant.
    """
    emu.reset()
    emu.set_project_size(models=models)
    emu.set_manifest_size_mb(padding_mb)
    run_id = create_run(emu, ARTIFACT_JOB)
    emu.complete_run(run_id, "success")
    modes = ("official", "ours")
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for rep in range(repeats):
        for mode in _alternating(modes, rep):
            worker = WorkerProcess(mode, env, log_dir / f"built-{mode}-{rep}.log")
            try:
                results[mode].append(worker.call("built", run_id=run_id, mode=mode))
            finally:
                worker.close()
    emu.set_project_size(models=0)
    emu.set_manifest_size_mb(0)
    counts = {mode: {r["count"] for r in rs} for mode, rs in results.items()}
    if counts["ours"] != counts["official"] or len(counts["ours"]) != 1:
        raise RuntimeError(f"scenario 5: the two ways disagree on what was built: {counts}")
    built = counts["ours"].pop()
    wall = {mode: _median(r["wall_s"] for r in rs) for mode, rs in results.items()}
    rss = {mode: _median(r["peak_delta_kb"] for r in rs) for mode, rs in results.items()}
    name = f"5. What a {models:,}-model run built ({built:,} nodes, manifest padded to {padding_mb} MiB)"
    rows = [
        Row.of(name, "wall (ours: events added)", (wall["official"], wall["ours"]), "{:.2f} s".format, "s"),
        Row.of(name, "peak RSS growth", (rss["official"], rss["ours"]), _mib, "MiB", scale=1 / 1024),
    ]
    lines = [
        f"### {name}",
        "",
        f"`set_project_size(models={models})` and `set_manifest_size_mb({padding_mb})` (real manifests "
        f"carry compiled SQL and docs), one `dbt build` run; {repeats} fresh worker processes per "
        "variant. The official provider has no asset events: its variant reads `run_results.json` and "
        "`manifest.json` the way its OpenLineage code does (`get_job_run_artifact(...).json()`) and picks "
        "the built nodes. Ours runs `DbtCloudHook.get_run_build` (artifacts streamed to disk and parsed "
        "as streams) and adds one asset event per node to an `AssetAlias`, as `emit_assets=True` does. "
        "Targets: under 5 s and 100 MiB for ours.",
        "",
        "| variant | wall per repeat (s) | peak RSS growth per repeat (MiB) |",
        "|---|---|---|",
    ]
    for mode in modes:
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in results[mode])
        peaks = ", ".join(f"{r['peak_delta_kb'] / 1024:.1f}" for r in results[mode])
        lines.append(f"| {mode} | {walls} | {peaks} |")
    return Section(rows, "\n".join(lines))


def scenario_duplicates(emu: Any, workers: dict[str, WorkerProcess], repeats: int) -> Section:
    """Scenario 4: the run POST creates the run, then fails once; count the runs one call makes.

    Two ways of failing after the run exists: a 502 answer (the brief's case) and a dropped
    connection (no answer at all), each with the official hook at ``retry_limit=3`` and at its default,
    and ours at its defaults.

    :param emu: The emulator.
    :param workers: One worker per provider.
    :param repeats: Calls per variant.
    """
    emu.reset()
    faults = [("502", 502, "run created, then 502"), ("drop", None, "run created, then connection dropped")]
    variants = [
        ("official", 3, "official, `retry_limit=3`"),
        ("official", None, "official, default `retry_limit=1`"),
        ("ours", None, "ours, defaults"),
    ]
    results: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for fault_key, status, _fault_label in faults:
        for rep in range(repeats):
            for provider, limit, label in _alternating(variants, rep):
                emu.clear_faults()
                emu.add_fault(route="trigger_run", kind="accept_then_fail", status=status, times=1)
                before = emu.runs_created(TRIGGER_JOB)
                result = workers[provider].call("trigger", job_id=TRIGGER_JOB, retry_limit=limit)
                results.setdefault((fault_key, label), []).append(
                    (emu.runs_created(TRIGGER_JOB) - before, result)
                )
    emu.clear_faults()

    def summary(fault_key: str, label: str) -> str:
        rs = results[(fault_key, label)]
        runs = "/".join(str(n) for n in sorted({n for n, _ in rs}))
        plural = "" if runs == "1" else "s"
        raised = {r["raised"] for _, r in rs}
        if raised == {None}:
            return f"{runs} run{plural}, no error"
        if None in raised:
            return f"{runs} run{plural}, error only sometimes"
        return f"{runs} run{plural}, error reported"

    name = "4. Duplicate runs (one `trigger_job_run`, run POST fails once after creating the run)"
    off3, ours = variants[0][2], variants[2][2]
    rows = [
        Row.of(
            name,
            f"{fault_label}: runs per call (official at `retry_limit=3`)",
            None,
            (summary(key, off3), summary(key, ours)),
        )
        for key, _status, fault_label in faults
    ]
    lines = [
        f"### {name}",
        "",
        "Fault `accept_then_fail` with `times=1` on `trigger_run`: the emulator creates the run, then "
        "answers 502 (`status=502`) or closes the connection without an answer (`status=None`). Runs "
        f"counted with `emu.runs_created({TRIGGER_JOB})` around one `trigger_job_run` call; {repeats} "
        "calls per variant.",
        "",
        "| failure | variant | runs created per call | outcome of the call | wall (median) |",
        "|---|---|---|---|---|",
    ]
    for key, _status, fault_label in faults:
        for *_, label in variants:
            rs = results[(key, label)]
            outcomes = sorted(
                {
                    "returned a run id, no error" if r["raised"] is None else f"raised `{r['raised']}`"
                    for _, r in rs
                }
            )
            lines.append(
                f"| {fault_label} | {label} | {', '.join(str(n) for n, _ in rs)} | {'; '.join(outcomes)} "
                f"| {_median(r['wall_s'] for _, r in rs):.2f} s |"
            )
    messages = sorted(
        {
            f"{label}: `{r['raised']}: {r['message']}`"
            for (_, label), rs in results.items()
            for _, r in rs
            if r["raised"]
        }
    )
    lines += [
        "",
        "Why the official hook does not retry the 502: its sync calls go through `HttpHook.check_response`, "
        "which turns the `HTTPError` into an `AirflowException`, and its `_retryable_error` only retries "
        "`requests` exceptions (connection errors, timeouts, 5xx/429 responses) and aiohttp errors. So "
        "`retry_limit` only ever resends after a connection error or a timeout, and that is exactly when "
        "the run may already exist.",
    ]
    if messages:
        lines += ["", "Errors raised:", ""] + [f"- {m}" for m in messages]
    return Section(rows, "\n".join(lines))


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + (" (with uncommitted changes)" if dirty else "")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


LOAD_JOB = 302
LOAD_BUDGET = 2500
LOAD_VARIANTS = (
    ("official", "official", {}),
    ("ours", "ours", {}),
    ("ours, log_progress off", "ours", {"log_progress": False}),
)
#: Scenario 6 also runs the floor: one bare aiohttp GET per poll, what a poll costs by itself.
FLOOR_LABEL = "floor: one bare aiohttp GET per poll"


def _epoch(timestamp: str) -> float:
    return datetime.datetime.fromisoformat(timestamp).timestamp()


def _busiest_minute(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamps[first] <= stamp - 60:
            first += 1
        best = max(best, last - first + 1)
    return best


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def scenario_triggerer(
    emu: Any,
    env: dict[str, str],
    log_dir: Path,
    count: int,
    poll_interval: float,
    running_seconds: float,
    latency: float,
) -> Section:
    """Scenario 6: ``count`` run triggers in one event loop over TLS with added latency, per provider.

    :param emu: The emulator.
    :param env: The workers' environment.
    :param log_dir: Where the workers' logs go.
    :param count: Triggers (and runs) per variant.
    :param poll_interval: The triggers' poll interval, in seconds.
    :param running_seconds: How long each run stays RUNNING.
    :param latency: Seconds the emulator waits before answering any API request.
    """
    emu.reset()
    emu.add_fault(kind="latency", latency=latency, status=None)
    emu.set_job_script(LOAD_JOB, outcome="success", queued_seconds=1, running_seconds=running_seconds)
    figures: dict[str, dict[str, float]] = {}
    for label, provider, hook_params in (*LOAD_VARIANTS, (FLOOR_LABEL, "ours", {})):
        worker = WorkerProcess(
            provider, env, log_dir / f"worker-load-{label.split(',')[0].split(':')[0]}-{len(figures)}.log"
        )
        try:
            worker.call("info")
            run_ids = [emu.start_run(LOAD_JOB, source="api") for _ in range(count)]
            connections, since = emu.connections_accepted, time.time()
            result = worker.call(
                "triggers",
                timeout=running_seconds + 20 * poll_interval + 600,
                run_ids=run_ids,
                poll_interval=poll_interval,
                hook_params=hook_params,
                floor=label == FLOOR_LABEL,
            )
            connections = emu.connections_accepted - connections
        finally:
            worker.close()
        entries = [e for e in emu.journal if e["ts"] >= since and e.get("route") in ("get_run", "get_step")]
        events = result["events"]
        if sorted(int(r) for r in events) != sorted(run_ids) or {s for s, _ in events.values()} != {
            "success"
        }:
            raise RuntimeError(f"scenario 6 ({label}): not every trigger fired success")
        delays = [events[str(r)][1] - _epoch(emu.get_run(r)["finished_at"]) for r in run_ids]
        polls = len(entries)
        figures[label] = {
            "cpu_per_1000": result["cpu_s"] / polls * 1000,
            "cpu_s": result["cpu_s"],
            "polls": polls,
            "polls_per_run": polls / count,
            "rss_mib": result["peak_rss_kb"] / 1024,
            "connections": connections,
            "busiest_minute": _busiest_minute([e["ts"] for e in entries]),
            "delay_p50": _percentile(delays, 0.5),
            "delay_p99": _percentile(delays, 0.99),
            "wall_s": result["wall_s"],
        }
        print(f"  {label}: {figures[label]}", file=sys.stderr, flush=True)
    official, ours = figures["official"], figures["ours"]
    name = f"6. Triggerer load ({count} run triggers in one loop, TLS, {latency * 1000:.0f} ms latency)"

    def pair(key: str) -> tuple[float, float]:
        return official[key], ours[key]

    rows = [
        Row.of(name, "CPU seconds per 1,000 polls", pair("cpu_per_1000"), "{:.2f}".format, "CPU s"),
        Row.of(name, "TCP connections", pair("connections"), "{:.0f}".format, "connections"),
        Row.of(name, "peak RSS", pair("rss_mib"), "{:.0f} MiB".format, "MiB"),
        Row.of(
            name,
            f"requests in the busiest minute (ours: budget {LOAD_BUDGET})",
            pair("busiest_minute"),
            "{:.0f}".format,
            "requests",
            ratio=False,
        ),
        *(
            Row.of(name, f"run end to event, {label}", pair(key), "{:.1f} s".format, "s")
            for label, key in (("p50", "delay_p50"), ("p99", "delay_p99"))
        ),
    ]
    lines = [
        f"### {name}",
        "",
        f"Each variant runs in a fresh worker process: {count} `DbtCloudRunJobTrigger`s (the provider's own "
        f"class) as tasks of one asyncio loop, as a triggerer runs them, each waiting for its own run of job "
        f"{LOAD_JOB} (queued 1 s, then RUNNING {running_seconds:.0f} s), polling every "
        f"{poll_interval:.0f} s. "
        f"Every API answer of the emulator is delayed {latency * 1000:.0f} ms. A poll is one request that "
        "reached the emulator (`get_run`, or `get_step` when our trigger follows a step for its live "
        "progress). CPU is the worker process's `time.process_time()` for the whole wait; RSS is its peak "
        "(`VmHWM`, imports included). Delay is the time from the run's `finished_at` to the trigger's event.",
        "",
        f"The last variant, `triggerer_load.FloorTrigger`, is the least a trigger can do with aiohttp: one "
        "bare GET per poll on one shared kept-alive session (pool of 10), the status read from the JSON, no "
        "retries, budget, hook or logging. It costs "
        f"{figures[FLOOR_LABEL]['cpu_per_1000']:.2f} CPU s per 1,000 polls, "
        f"{figures[FLOOR_LABEL]['cpu_per_1000'] / official['cpu_per_1000']:.2f}x the official trigger's: "
        "no trigger that polls through aiohttp can cost less per poll in this harness.",
        "",
        "| variant | CPU s | polls (per run) | CPU s / 1,000 polls | TCP connections | peak RSS "
        "| busiest minute | delay p50 / p99 | wall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, f in figures.items():
        lines.append(
            f"| {label} | {f['cpu_s']:.1f} | {f['polls']:.0f} ({f['polls_per_run']:.1f}) "
            f"| {f['cpu_per_1000']:.2f} | {f['connections']:.0f} | {f['rss_mib']:.0f} MiB "
            f"| {f['busiest_minute']:.0f} | {f['delay_p50']:.1f} s / {f['delay_p99']:.1f} s "
            f"| {f['wall_s']:.0f} s |"
        )
    return Section(rows, "\n".join(lines))


CALLS_JOB = 302


def scenario_calls(
    emu: Any, env: dict[str, str], log_dir: Path, polls: int, poll_interval: float, repeats: int
) -> Section:
    """Scenario 9: requests one deferrable task sends for a run its trigger polls about ``polls`` times.

    :param emu: The emulator.
    :param env: The workers' environment.
    :param log_dir: Where the workers' logs go.
    :param polls: How many polls the run should take the official trigger (it polls at once, then
        every ``poll_interval``; the run ends half an interval before poll number ``polls``).
    :param poll_interval: The operators' ``check_interval``, in seconds.
    :param repeats: Tasks per provider.
    """
    emu.reset()
    emu.set_job_script(
        CALLS_JOB, outcome="success", queued_seconds=0, running_seconds=(polls - 1.5) * poll_interval
    )
    labels = [label for label, _, _ in LOAD_VARIANTS]
    counts: dict[str, list[int]] = {label: [] for label in labels}
    routes: dict[str, collections.Counter[str]] = {label: collections.Counter() for label in labels}
    workers = {p: WorkerProcess(p, env, log_dir / f"worker-calls-{p}.log") for p in PROVIDERS}
    try:
        for rep in range(repeats):
            for label, provider, hook_params in _alternating(LOAD_VARIANTS, rep):
                since = time.time()
                result = workers[provider].call(
                    "deferred",
                    timeout=polls * poll_interval * 3 + 120,
                    job_id=CALLS_JOB,
                    poll_interval=poll_interval,
                    hook_params=hook_params,
                )
                status = emu.get_run(result["run_id"])["status"]
                if status != 10:
                    raise RuntimeError(f"scenario 9 ({label}): run {result['run_id']} ended {status}")
                entries = [e for e in emu.journal if e["ts"] >= since and e.get("route")]
                counts[label].append(len(entries))
                routes[label].update(str(e["route"]) for e in entries)
    finally:
        for worker in workers.values():
            worker.close()
    official, ours, quiet = (_median(counts[label]) for label in labels)
    name = f"9. API calls per deferrable run (trigger polls about {polls} times)"
    rows = [
        Row.of(name, "requests per task (median)", (official, ours), "{:.0f}".format, "requests"),
        Row.of(
            name,
            "requests per task (median), ours with `log_progress` off",
            (official, quiet),
            "{:.0f}".format,
            "requests",
        ),
    ]

    def per_route(label: str) -> str:
        return ", ".join(f"`{route}` {count / repeats:.1f}" for route, count in sorted(routes[label].items()))

    lines = [
        f"### {name}",
        "",
        f"Each task is one `DbtCloudRunJobOperator(deferrable=True, check_interval={poll_interval:g})` "
        "of the provider, run the way Airflow runs a deferred task, in a long-lived worker process per "
        "provider: `execute` starts the run and defers, the trigger it hands over runs to its event, and "
        "the method named in the deferral handles the event. The context holds a task instance that "
        "keeps XComs and a `task_state_store`. The run is scripted to end "
        f"{(polls - 1.5) * poll_interval:g} s after it is created, so the official trigger, which polls "
        f"at once and then every {poll_interval:g} s, sees it end on about its poll {polls}. Ours waits "
        "a random 0.5 to 1.5 intervals after its first poll, so its count can differ by one from task to "
        f"task. {repeats} tasks per variant, alternating. Every API request the emulator answered during "
        "a task is counted. With live progress on (our default), our trigger follows the running step "
        "with `get_step` instead of `get_run`, one request a poll either way; when the step it follows "
        "ends, that poll also reads the run, for its final status or its next step.",
        "",
        "| variant | requests per task | median | requests per task by route (mean) |",
        "|---|---|---|---|",
    ]
    for label in labels:
        lines.append(
            f"| {label} | {', '.join(str(c) for c in counts[label])} "
            f"| {_median(counts[label]):.0f} | {per_route(label)} |"
        )
    return Section(rows, "\n".join(lines))


PARSE_MODULES = {
    "official": "airflow.providers.dbt.cloud.operators.dbt",
    "ours": "airflow_dbtcloud.operators.dbt",
}


def _import_ms(env: dict[str, str], module: str) -> float:
    """Import ``module`` in a fresh interpreter after ``airflow.sdk``; return the milliseconds it took.

    :param env: The interpreter's environment.
    :param module: The module to import.
    """
    code = (
        "import time, airflow.sdk\n"
        "started = time.perf_counter()\n"
        f"import {module}\n"
        "print(repr((time.perf_counter() - started) * 1000))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {_shorten(done.stderr.strip(), 400)}")
    return float(done.stdout.strip().splitlines()[-1])


def scenario_parse(env: dict[str, str], repeats: int) -> Section:
    """Scenario 8: what importing each provider's operators module adds to a DAG file's parse.

    :param env: The interpreters' environment.
    :param repeats: Fresh interpreters per provider.
    """
    times: dict[str, list[float]] = {provider: [] for provider in PROVIDERS}
    for rep in range(repeats):
        for provider in _alternating(PROVIDERS, rep):
            times[provider].append(_import_ms(env, PARSE_MODULES[provider]))
    official, ours = _median(times["official"]), _median(times["ours"])
    name = "8. DAG parse cost (import the operators module after `airflow.sdk`)"
    rows = [Row.of(name, "import time (median)", (official, ours), "{:.0f} ms".format, "ms")]
    lines = [
        f"### {name}",
        "",
        "A DAG file that uses dbt Cloud imports the provider's operators module. Each measurement is a "
        "fresh interpreter of the benchmark venv that imports `airflow.sdk` (every DAG file does), then "
        "times `import <operators module>` with `time.perf_counter()`. "
        f"{repeats} interpreters per provider, alternating; bytecode caches are warm.",
        "",
        "| provider | module | median | min-max | each (ms) |",
        "|---|---|---|---|---|",
    ]
    for provider in PROVIDERS:
        each = times[provider]
        lines.append(
            f"| {LABELS[provider]} | `{PARSE_MODULES[provider]}` | {_median(each):.0f} ms "
            f"| {min(each):.0f}-{max(each):.0f} ms | {', '.join(f'{t:.0f}' for t in each)} |"
        )
    return Section(rows, "\n".join(lines))


def _listing_fingerprint(results: dict[str, list[dict[str, Any]]], expected: list[int]) -> str:
    """Check that every listing of scenario 7 returned the same jobs; return their SHA-256.

    :param results: Per provider, the ``list_jobs`` worker results.
    :param expected: Every job id of the account, in the API's default order (ascending id).
    :raises RuntimeError: When a listing missed, repeated or reordered a job, or when job payloads differ.
    """
    for provider, measured in results.items():
        for result in measured:
            ids = result["ids"]
            if ids != expected:
                first = next((i for i, (a, b) in enumerate(zip(ids, expected, strict=False)) if a != b), None)
                raise RuntimeError(
                    f"scenario 7: {provider} listed {len(ids)} jobs ({len(set(ids))} distinct) where "
                    f"{len(expected)} were expected in ascending id order; first difference at index {first}"
                )
    fingerprints = {result["sha256"] for measured in results.values() for result in measured}
    if len(fingerprints) != 1:
        raise RuntimeError(f"scenario 7: the same job ids came back with different payloads: {fingerprints}")
    return str(fingerprints.pop())


def scenario_listing(
    emu: Any, env: dict[str, str], log_dir: Path, jobs: int, repeats: int, latency: float
) -> Section:
    """Scenario 7: list every job of an account of ``jobs`` jobs with the sync ``list_jobs``.

    :param emu: The emulator.
    :param env: The workers' environment.
    :param log_dir: Where the workers' logs go.
    :param jobs: Jobs in the account (the configured ones plus jobs added with ``add_jobs``).
    :param repeats: Measurements per provider.
    :param latency: Seconds the emulator waits before answering any API request.
    """
    emu.reset()
    added = emu.add_jobs(max(0, jobs - len(emu.config.jobs)))
    expected = sorted([job.id for job in emu.config.jobs] + added)
    pages = -(-len(expected) // 100)
    timeout = COMMAND_TIMEOUT + pages * (latency + 1.0)
    results: dict[str, list[dict[str, Any]]] = {p: [] for p in PROVIDERS}
    workers: dict[str, WorkerProcess] = {}
    try:
        for provider in PROVIDERS:
            workers[provider] = WorkerProcess(provider, env, log_dir / f"worker-list-{provider}.log")
            # Warm-up without latency: imports, provider discovery, connection lookup.
            workers[provider].call("list_jobs", timeout=timeout, account_id=emu.account_id)
        emu.add_fault(kind="latency", latency=latency, status=None)
        for rep in range(repeats):
            for provider in _alternating(PROVIDERS, rep):
                requests, connections, since = emu.requests, emu.connections_accepted, time.time()
                cpu = time.process_time()  # this process is the emulator while the worker lists
                result = workers[provider].call("list_jobs", timeout=timeout, account_id=emu.account_id)
                result["emulator_cpu_s"] = time.process_time() - cpu
                result["requests"] = emu.requests - requests
                result["connections"] = emu.connections_accepted - connections
                entries = [e for e in emu.journal if e["ts"] >= since and e.get("route") == "list_jobs"]
                offsets = [int(e["query"].get("offset", ["0"])[0]) for e in entries]
                result["repeated_pages"] = len(offsets) - len(set(offsets))
                result["emulator_ms"] = _median(e["latency_ms"] for e in entries) if entries else 0.0
                results[provider].append(result)
                print(
                    f"  {provider}: {result['wall_s']:.2f} s, {result['requests']} requests",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        for worker in workers.values():
            worker.close()
        emu.clear_faults()
    sha = _listing_fingerprint(results, expected)
    types = {p: sorted({t for r in rs for t in r["page_types"]}) for p, rs in results.items()}
    if types["official"] != types["ours"]:
        raise RuntimeError(f"scenario 7: the providers return different page types: {types}")
    emu.reset()  # drop the added jobs
    return _listing_section(results, len(expected), sha, latency)


def _pages(count: int) -> str:
    return f"{count} page" if count == 1 else f"{count} pages"


def _listing_section(
    results: dict[str, list[dict[str, Any]]], count: int, sha: str, latency: float
) -> Section:
    """Summary rows and detail of scenario 7.

    :param results: Per provider, the checked ``list_jobs`` worker results.
    :param count: Jobs listed.
    :param sha: SHA-256 of the listed jobs' JSON (keys sorted), the same for every listing.
    :param latency: The added latency, in seconds.
    """
    walls = {p: [r["wall_s"] for r in rs] for p, rs in results.items()}
    wall = {p: _median(ws) for p, ws in walls.items()}
    requests = {p: _median(r["requests"] for r in rs) for p, rs in results.items()}
    connections = {p: _median(r["connections"] for r in rs) for p, rs in results.items()}
    pages = len(results["ours"][0]["page_sizes"])
    concurrency = results["ours"][0]["concurrency"]
    waves = 1 + -(-(pages - 1) // concurrency)
    repeats = len(walls["ours"])
    name = f"7. Listing ({count:,} jobs, sync `list_jobs`, TLS, {latency * 1000:.0f} ms latency)"

    def spread(p: str) -> str:
        return f"{wall[p]:.2f} s ({min(walls[p]):.2f}-{max(walls[p]):.2f})"

    rows = [
        Row.of(
            name,
            f"wall, median (min-max of {repeats})",
            (wall["official"], wall["ours"]),
            (spread("official"), spread("ours")),
            "s",
        ),
        Row.of(
            name,
            "requests that reached the emulator",
            (requests["official"], requests["ours"]),
            "{:.0f}".format,
            "requests",
        ),
        Row.of(
            name,
            "TCP connections",
            (connections["official"], connections["ours"]),
            "{:.0f}".format,
            "connections",
        ),
        Row.of(
            name,
            "jobs returned (ids, order, payloads)",
            None,
            (
                f"{count:,} in {_pages(len(results['official'][0]['page_sizes']))}",
                f"identical, in {_pages(pages)}",
            ),
        ),
    ]
    lines = [
        f"### {name}",
        "",
        f"The account holds {count:,} jobs: the configured ones plus jobs made with `emu.add_jobs` (same "
        "payload as a configured job, same project and environment). Each provider has its own worker "
        "process; each measurement is one `DbtCloudHook(conn_id).list_jobs(account_id)` on a fresh hook, "
        "timed around the call alone. After one warm-up listing per provider (no latency), every API "
        f"answer of the emulator is delayed {latency * 1000:.0f} ms; {repeats} "
        f"measurement{'s' if repeats != 1 else ''} per provider, alternating which goes first. Requests "
        "and connections are the emulator's counters around each call; time in the emulator is the "
        "median journal `latency_ms` of the pages (the added latency included). CPU is "
        "`time.process_time()` around the call, in the worker and in the benchmark's own process (which "
        "runs the emulator and only waits otherwise). Target: ours at least 5x faster.",
        "",
        "| provider | wall per repeat (s) | requests (pages fetched twice) | TCP connections "
        "| CPU s per listing, worker / emulator (median) | time in the emulator per page (median, ms) "
        "| concurrent requests |",
        "|---|---|---|---|---|---|---|",
    ]
    for p, rs in results.items():
        lines.append(
            f"| {LABELS[p]} | {', '.join(f'{w:.2f}' for w in walls[p])} "
            f"| {', '.join(str(r['requests']) for r in rs)} ({max(r['repeated_pages'] for r in rs)}) "
            f"| {', '.join(str(r['connections']) for r in rs)} "
            f"| {_median(r['cpu_s'] for r in rs):.2f} / {_median(r['emulator_cpu_s'] for r in rs):.2f} "
            f"| {_median(r['emulator_ms'] for r in rs):.1f} | {rs[0]['concurrency']} |"
        )
    lines += [
        "",
        f"Every listing, by both providers, returned the same {count:,} job ids in ascending id order (the "
        f"API's default) and the same job payloads (SHA-256 of each job's JSON with sorted keys, "
        f"`{sha[:16]}...`); the benchmark stops if they differ. Both return one `requests.Response` per "
        "page. The official hook asks for one page after the other. Ours asks for the first page, which "
        f"tells the total, then sends the other {pages - 1} in bounded batches on {concurrency} threads "
        f"(`max_concurrency`, default {concurrency}): {waves} requests in a row where the official hook "
        f"makes {pages}, so at equal cost per request the ratio cannot pass {pages / waves:.1f}x. The "
        "emulator answers on one thread that shares the machine with the worker: its CPU per listing (in "
        "the table) is spent one page after the other whatever the concurrency, and concurrent pages wait "
        "for it (time in the emulator per page). Our hook has no async listing, so only the sync path is "
        "measured.",
    ]
    return Section(rows, "\n".join(lines))


def _scenario_name(section: Section) -> str:
    return section.rows[0].scenario if section.rows else "scenario"


def _image(section: Section, link: str) -> str:
    return f"![{_scenario_name(section).replace('`', '')}: official 4.11.1 vs airflow-dbtcloud]({link})"


def _render_summary(sections: list[Section], meta: dict[str, str]) -> list[str]:
    """The report's opening: meta data, how to read the numbers, and the summary table.

    :param sections: Scenario results in order.
    :param meta: Date, machine, versions, command and timings.
    """
    lines = [
        f"- Date: {meta['date']}",
        f"- Machine: {meta['machine']}",
        f"- Versions: {meta['versions']}",
        f"- Revision: {meta['revision']}",
        f"- Command: `{meta['command']}`",
        f"- Load average (1/5/15 min) at start: {meta['load_start']}; at end: {meta['load_end']}",
        f"- Total time: {meta['elapsed']}",
        "",
        "All numbers come from one run: both hooks against the same local emulator (HTTPS on 127.0.0.1), "
        "each hook in its own worker process. Times are medians over repeats; ratios are official / ours "
        "(above 1x means ours is faster, smaller or fewer). The machine is small and shared, so times can "
        "move by tens of percent between runs; the counts (connections, failed calls, runs created) do not "
        "depend on noise. Loopback has no network round trip, so it understates what a new TLS connection "
        "per poll costs against the real dbt Cloud.",
        "",
        "| scenario | metric | official 4.11.1 | airflow-dbtcloud | official / ours |",
        "|---|---|---|---|---|",
    ]
    for section in sections:
        for row in section.rows:
            lines.append(
                f"| {row.scenario} | {row.metric} | {row.official} | {row.ours} | {row.ratio or '-'} |"
            )
    return lines


def render(sections: list[Section], meta: dict[str, str], charts: dict[int, str] | None = None) -> str:
    """Build the markdown report: meta data, summary table, then each scenario's detail and chart.

    :param sections: Scenario results in order.
    :param meta: Date, machine, versions, command and timings.
    :param charts: Relative link to each section's chart, by the section's index; sections without
        one (no numeric rows, or charts not drawn) get no image.
    """
    charts = charts or {}
    lines = [
        "# airflow-dbtcloud vs apache-airflow-providers-dbt-cloud: benchmark results",
        "",
        *_render_summary(sections, meta),
        "",
    ]
    for index, section in enumerate(sections):
        lines += [section.detail, ""]
        if index in charts:
            lines += [_image(section, charts[index]), ""]
    return "\n".join(lines)


def render_docs_page(
    template: str, sections: list[Section], meta: dict[str, str], charts: dict[int, str], report: str
) -> str:
    """Build ``docs/benchmarks.md``: the hand-written intro, then the latest summary table and charts.

    :param template: Text of ``benchmarks/docs_page.md``; its ``DOCS_PLACEHOLDER`` line is replaced.
    :param sections: Scenario results in order.
    :param meta: Date, machine, versions, command and timings.
    :param charts: Relative link (from the docs page) to each section's chart, by the section's index.
    :param report: Relative link from the docs page to the full report.
    """
    lines = [
        "## Latest results",
        "",
        *_render_summary(sections, meta),
        "",
        f"Each scenario's setup, per-repeat figures and notes: [the full report]({report}).",
        "",
    ]
    for index, section in enumerate(sections):
        if index in charts:
            lines += [f"### {_scenario_name(section)}", "", _image(section, charts[index]), ""]
    generated = (
        "<!-- Generated by benchmarks/compare_official.py from benchmarks/docs_page.md: edit that file, "
        "not this one. -->\n"
    )
    return generated + template.replace(DOCS_PLACEHOLDER, "\n".join(lines).rstrip("\n"), 1)


def _worker_env(emu: Any, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(key, None)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            # The official hook builds https://{host}/ and trusts only the default stores.
            "SSL_CERT_FILE": emu.ca_file,
            "REQUESTS_CA_BUNDLE": emu.ca_file,
            "PYTHONUNBUFFERED": "1",
            f"AIRFLOW_CONN_{CONN_IDS['official'].upper()}": json.dumps(
                {
                    "conn_type": "dbt_cloud",
                    "login": str(emu.account_id),
                    "password": emu.token,
                    "host": emu.host,
                }
            ),
            f"AIRFLOW_CONN_{CONN_IDS['ours'].upper()}": json.dumps(
                {
                    "conn_type": "dbt_cloud",
                    "login": str(emu.account_id),
                    "password": emu.token,
                    "host": emu.base_url,
                    # Scenario 6 asks for more than the default budget (1,000 a minute): 1,000 triggers
                    # polling every 30 s need 2,000. Half of dbt Cloud's 5,000 stays for everyone else.
                    "extra": {"ca_bundle": emu.ca_file, "requests_per_minute": LOAD_BUDGET},
                }
            ),
        }
    )
    return env


def run(args: argparse.Namespace) -> tuple[list[Section], dict[str, str]]:
    """Run the selected scenarios and return their results with the run's meta data (see ``render``).

    :param args: Parsed command line.
    """
    from airflow_dbtcloud.testing import run_emulator

    started = time.monotonic()
    load_start = _load()
    scenarios = {int(s) for s in args.scenarios.split(",")}
    sections: list[Section] = []
    scratch = Path(tempfile.mkdtemp(prefix="dbtcloud-bench-"))
    log_dir = scratch / "logs"
    log_dir.mkdir()
    try:
        with run_emulator(tls=True) as emu:
            env = _worker_env(emu, scratch / "airflow-home")
            workers: dict[str, WorkerProcess] = {}
            try:
                if scenarios & {1, 2, 4}:
                    for provider in PROVIDERS:
                        workers[provider] = WorkerProcess(provider, env, log_dir / f"worker-{provider}.log")
                steps: list[tuple[int, str, Callable[[], Section]]] = [
                    (1, "polling", lambda: scenario_polling(emu, workers, args.polls, args.repeats)),
                    (2, "flaky API", lambda: scenario_flaky(emu, workers, args.flaky_calls, args.flaky_rate)),
                    (
                        3,
                        "artifact download",
                        lambda: scenario_download(
                            emu, env, log_dir, scratch, args.manifest_mb, args.download_repeats
                        ),
                    ),
                    (4, "duplicate runs", lambda: scenario_duplicates(emu, workers, args.trigger_repeats)),
                    (
                        6,
                        "triggerer load",
                        lambda: scenario_triggerer(
                            emu,
                            env,
                            log_dir,
                            args.triggers,
                            args.trigger_poll,
                            args.trigger_running,
                            args.latency_ms / 1000,
                        ),
                    ),
                    (
                        5,
                        "what a large run built",
                        lambda: scenario_built(
                            emu, env, log_dir, args.models, args.manifest_mb // 2, args.built_repeats
                        ),
                    ),
                    (
                        7,
                        "listing",
                        lambda: scenario_listing(
                            emu, env, log_dir, args.jobs, args.list_repeats, args.latency_ms / 1000
                        ),
                    ),
                    (8, "DAG parse cost", lambda: scenario_parse(env, args.parse_repeats)),
                    (
                        9,
                        "API calls per deferrable run",
                        lambda: scenario_calls(
                            emu, env, log_dir, args.calls_polls, args.calls_poll, args.calls_repeats
                        ),
                    ),
                ]
                for number, title, step in steps:
                    if number in scenarios:
                        t0 = time.monotonic()
                        print(f"scenario {number} ({title})...", file=sys.stderr, flush=True)
                        sections.append(step())
                        print(f"  done in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
            finally:
                for worker in workers.values():
                    worker.close()
    except Exception:
        print(f"worker logs kept in {log_dir}", file=sys.stderr)
        raise
    shutil.rmtree(scratch, ignore_errors=True)

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{affinity} CPUs usable (nproc), {_cpu_model()}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        "versions": ", ".join(
            f"{dist} {_version(dist)}"
            for dist in (
                "apache-airflow",
                "apache-airflow-providers-dbt-cloud",
                "airflow-dbtcloud",
                "aiohttp",
                "requests",
                "tenacity",
            )
        ),
        "revision": _git_revision(),
        "command": args.invoked_as or " ".join([os.path.relpath(sys.executable, REPO_ROOT), *sys.argv]),
        "load_start": load_start,
        "load_end": _load(),
        "elapsed": f"{time.monotonic() - started:.0f} s (excluding building the official provider's venv)",
    }
    return sections, meta


def _docs_problem() -> str:
    """Why the charts and docs page cannot be written here, or "" when they can."""
    try:
        import charts  # noqa: F401  (beside this file; needs matplotlib, the ``bench`` extra)
    except ImportError as error:
        return f"the charts need matplotlib ({error}): pip install -c constraints.txt -e '.[emulator,bench]'"
    if DOCS_PLACEHOLDER not in DOCS_TEMPLATE.read_text(encoding="utf-8"):
        return f"{os.path.relpath(DOCS_TEMPLATE, REPO_ROOT)} has no {DOCS_PLACEHOLDER!r} line"
    return ""


def _stage(final: Path) -> Path:
    """Temporary file beside ``final`` (same file system, so replacing it is atomic).

    :param final: Where the content will end up.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f".{final.name}.tmp")


def _link(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def publish(
    sections: list[Section], meta: dict[str, str], output: Path, template: str | None
) -> tuple[str, list[Path]]:
    """Write the report and, given the docs template, the charts and ``docs/benchmarks.md``.

    Everything is written to temporary files first and moved into place only once all of it is ready,
    so a failure leaves the previous files as they were. Charts of scenarios this run did not produce
    are removed, so ``docs/benchmarks/`` holds exactly what the page shows.

    :param sections: Scenario results in order.
    :param meta: Date, machine, versions, command and timings.
    :param output: The report's path.
    :param template: Text of ``benchmarks/docs_page.md``, or None to write the report alone, without charts.
    :return: The report's text and the files written.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        report_links: dict[int, str] = {}
        page_links: dict[int, str] = {}
        if template is not None:
            import charts

            for index, section in enumerate(sections):
                final = CHART_DIR / charts.file_name(_scenario_name(section))
                staged.append((_stage(final), final))
                if not charts.draw_section(section.rows, _stage(final)):
                    staged.pop()  # no numeric row: nothing was written
                    continue
                report_links[index] = _link(final, output.parent)
                page_links[index] = _link(final, DOCS_PAGE.parent)
        report = render(sections, meta, report_links)
        staged.append((_stage(output), output))
        _stage(output).write_text(report + "\n", encoding="utf-8")
        if template is not None:
            page = render_docs_page(template, sections, meta, page_links, _link(output, DOCS_PAGE.parent))
            staged.append((_stage(DOCS_PAGE), DOCS_PAGE))
            _stage(DOCS_PAGE).write_text(page, encoding="utf-8")
    except BaseException:
        for temporary, _final in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, final in staged:
        temporary.replace(final)
    written = [final for _temporary, final in staged]
    if template is not None:
        for old in sorted(CHART_DIR.glob("scenario-*.png")):
            if old not in written:
                old.unlink()
    return report, written


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run either the benchmark or a worker.

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :return: Exit status.
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenarios", default="1,2,3,4,5,6,7,8,9", help="comma-separated scenario numbers")
    parser.add_argument("--polls", type=int, default=200, help="scenario 1: polls per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="scenario 1: measurements per provider")
    parser.add_argument("--flaky-calls", type=int, default=200, help="scenario 2: calls per provider")
    parser.add_argument("--flaky-rate", type=float, default=0.1, help="scenario 2: 503 probability")
    parser.add_argument("--manifest-mb", type=int, default=256, help="scenario 3: manifest size in MiB")
    parser.add_argument("--download-repeats", type=int, default=3, help="scenario 3: runs per variant")
    parser.add_argument("--trigger-repeats", type=int, default=3, help="scenario 4: calls per variant")
    parser.add_argument("--models", type=int, default=5000, help="scenario 5: models in the project")
    parser.add_argument("--built-repeats", type=int, default=3, help="scenario 5: runs per variant")
    parser.add_argument("--triggers", type=int, default=1000, help="scenario 6: triggers in one loop")
    parser.add_argument("--trigger-poll", type=float, default=30.0, help="scenario 6: poll interval (s)")
    parser.add_argument("--trigger-running", type=float, default=75.0, help="scenario 6: run length (s)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="scenarios 6, 7: added API latency")
    parser.add_argument("--jobs", type=int, default=10_000, help="scenario 7: jobs in the account")
    parser.add_argument("--list-repeats", type=int, default=3, help="scenario 7: listings per provider")
    parser.add_argument("--parse-repeats", type=int, default=11, help="scenario 8: imports per provider")
    parser.add_argument("--calls-polls", type=int, default=10, help="scenario 9: polls the run takes")
    parser.add_argument("--calls-poll", type=float, default=1.0, help="scenario 9: check_interval (s)")
    parser.add_argument("--calls-repeats", type=int, default=5, help="scenario 9: tasks per provider")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="markdown report to write")
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help="write only the report: no charts, no docs/benchmarks.md (implied by a non-default --output)",
    )
    parser.add_argument("--invoked-as", default="", help="command line to record in the report")
    parser.add_argument("--worker", choices=PROVIDERS, help=argparse.SUPPRESS)
    parser.add_argument("--result-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.result_fd)
    for name in (
        "polls",
        "repeats",
        "flaky_calls",
        "manifest_mb",
        "download_repeats",
        "trigger_repeats",
        "models",
        "built_repeats",
        "list_repeats",
        "parse_repeats",
        "calls_polls",
        "calls_repeats",
    ):
        if not 1 <= getattr(args, name) <= 10_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 10000")
    if not 1 <= args.jobs <= 100_000:
        parser.error("--jobs must be between 1 and 100000")
    template = None
    if not args.no_docs and args.output.resolve() == DEFAULT_OUTPUT:
        problem = _docs_problem()  # before the run, not after minutes of measuring
        if problem:
            parser.error(f"{problem}; or pass --no-docs")
        template = DOCS_TEMPLATE.read_text(encoding="utf-8")
    sections, meta = run(args)
    report, written = publish(sections, meta, args.output, template)
    print(report)
    shown = (
        os.path.relpath(path, REPO_ROOT) if path.is_relative_to(REPO_ROOT) else str(path) for path in written
    )
    print(f"written: {', '.join(shown)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
