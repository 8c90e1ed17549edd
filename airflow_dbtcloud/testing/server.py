"""The :class:`Emulator`: the HTTP server on its own thread and event loop, plus the control API."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from airflow_dbtcloud.testing import payloads
from airflow_dbtcloud.testing.access import check_bind_host
from airflow_dbtcloud.testing.app import build_app
from airflow_dbtcloud.testing.config import EmulatorConfig
from airflow_dbtcloud.testing.faults import Fault, FaultSet
from airflow_dbtcloud.testing.hub import Hub
from airflow_dbtcloud.testing.origins import DEFAULT_PERSON
from airflow_dbtcloud.testing.project import Node, Project
from airflow_dbtcloud.testing.routes import CREATING_ROUTES, FAULT_ROUTES
from airflow_dbtcloud.testing.state import State

ConfigLike = EmulatorConfig | dict[str, Any] | str | Path | None


class Emulator:
    """A running (once started) dbt Cloud Admin API emulator and its thread-safe control API.

    :param config: An :class:`EmulatorConfig`, a mapping, a JSON/YAML file path, or None for the default.
    :param tls: Serve HTTPS with a freshly generated self-signed certificate.
    :param host: Interface to bind: a loopback address or ``localhost`` unless ``allow_remote``.
    :param port: Port to bind (0 = any free port).
    :param adapter: Warehouse adapter, overriding the config's ``adapter`` (``postgres``, ``redshift``,
        ``snowflake``, ``bigquery`` or ``databricks``).
    :param synthetic_models: Generated models added to the project, overriding the config's.
    :param allow_remote: Accept a non-loopback ``host``; anyone who can reach it and knows a token can then
        drive the emulator.
    :raises ValueError: For a non-loopback ``host`` without ``allow_remote``, or an invalid config.
    """

    def __init__(
        self,
        config: ConfigLike = None,
        *,
        tls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        adapter: str | None = None,
        synthetic_models: int | None = None,
        allow_remote: bool = False,
    ):
        check_bind_host(host, allow_remote)
        self.config = EmulatorConfig.coerce(config).override(
            adapter=adapter, synthetic_models=synthetic_models
        )
        self.tls = tls
        self._bind_host = host
        self._port = port
        self._state = State(self.config)
        faults = FaultSet(FAULT_ROUTES, CREATING_ROUTES, self.config.seed)
        self._hub = Hub(self._state, faults, self.config.journal_limit, bind_host=host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._tmpdir: str | None = None
        self.ca_file: str | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> Emulator:
        """Start serving on a background thread; returns once the port is bound.

        :return: self.
        """
        self._thread = threading.Thread(target=self._main, name="dbt-cloud-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"the dbt Cloud emulator failed to start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        ssl_ctx = None
        if self.tls:
            from airflow_dbtcloud.testing.tls import make_self_signed, server_context

            self._tmpdir = tempfile.mkdtemp(prefix="dbtcloud-emulator-")
            cert, key = make_self_signed(Path(self._tmpdir))
            ssl_ctx = server_context(cert, key)
            self.ca_file = str(cert)
        runner = web.AppRunner(build_app(self._hub), access_log=None, handle_signals=False)
        await runner.setup()
        handler = runner.server
        assert handler is not None
        hub = self._hub

        def factory() -> Any:
            hub.connections += 1
            return handler()

        server = await asyncio.get_running_loop().create_server(
            factory, self._bind_host, self._port, ssl=ssl_ctx, backlog=512
        )
        self._port = server.sockets[0].getsockname()[1]
        self._state.base_url = self.base_url
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            await handler.shutdown(1.0)
            await runner.cleanup()

    # ---- connection details ----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port."""
        return self._port

    @property
    def host(self) -> str:
        """``host:port`` of the emulator (brackets around an IPv6 address)."""
        bind = f"[{self._bind_host}]" if ":" in self._bind_host else self._bind_host
        return f"{bind}:{self._port}"

    @property
    def base_url(self) -> str:
        """``http(s)://host:port`` of the emulator."""
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def token(self) -> str:
        """An API token configured for :attr:`account_id`."""
        return self.config.default_token

    @property
    def account_id(self) -> int:
        """The first configured account id."""
        return self.config.default_account_id

    def connection_json(self, conn_id: str = "dbt_cloud_default") -> str:
        """JSON form of an Airflow connection pointing at the emulator.

        :param conn_id: Connection id (not part of the JSON; kept for symmetry with :meth:`env`).
        :return: ``{"conn_type": "dbt_cloud", "login": "1", "password": TOKEN, "host": base_url}``.
        """
        del conn_id
        return json.dumps(
            {
                "conn_type": "dbt_cloud",
                "login": str(self.account_id),
                "password": self.token,
                "host": self.base_url,
            }
        )

    def env(self, conn_id: str = "dbt_cloud_default") -> dict[str, str]:
        """Environment variables defining the connection for Airflow.

        :param conn_id: Connection id.
        :return: ``{"AIRFLOW_CONN_<CONN_ID>": connection_json}``.
        """
        return {f"AIRFLOW_CONN_{conn_id.upper()}": self.connection_json(conn_id)}

    @property
    def conn_uri(self) -> str:
        """URI form of the connection; its host is the URL-encoded base URL."""
        return f"dbt-cloud://{self.account_id}:{quote(self.token, safe='')}@{quote(self.base_url, safe='')}"

    # ---- control ---------------------------------------------------------------------------------------
    def complete_run(self, run_id: int, status: int | str = 10) -> None:
        """End a run now.

        :param run_id: Run id.
        :param status: 10/20/30 or ``"success"``/``"error"``/``"cancelled"``.
        """
        self._state.complete(self._state.runs[run_id], status)

    def start_run(
        self,
        job_id: int,
        source: str = "scheduler",
        cause: str | None = None,
        git_branch: str | None = None,
        git_sha: str | None = None,
        pull_request_id: int | None = None,
        person: str = DEFAULT_PERSON,
    ) -> int:
        """Start a run the way dbt Cloud's scheduler, a pull request, a person or another client does.

        The run follows the job's script like any other; its ``trigger`` carries the ``cause`` and
        ``cause_category`` its source writes (see ``docs/emulator.md``). It does not count in
        :meth:`runs_created`, which counts the runs API clients created.

        :param job_id: The job to run.
        :param source: ``scheduler`` (cause_category ``scheduled``), ``ci`` (``ci``, from a GitHub pull
            request), ``person`` (``ui``) or ``api``.
        :param cause: The cause text, replacing the source's default.
        :param git_branch: Branch checked out (a CI run's default: ``pr-<pull request id>``).
        :param git_sha: Commit checked out (a CI run's default: derived from the pull request).
        :param pull_request_id: The pull request of a ``ci`` run (default 1).
        :param person: Email of the person who clicked "Run now" (``person`` only).
        :return: The new run's id.
        :raises KeyError: For an unknown job.
        :raises ValueError: For a deleted job, an unknown source or a bad value.
        """
        run = self._state.start_run(
            job_id,
            source,
            cause=cause,
            git_branch=git_branch,
            git_sha=git_sha,
            pull_request_id=pull_request_id,
            person=person,
        )
        return run.id

    def fail_next_run(
        self, job_id: int, failing_nodes: list[str] | None = None, warning_nodes: list[str] | None = None
    ) -> None:
        """Make the next run of a job end in ERROR with ``failing_nodes`` failed and their children skipped.

        A failing model errors; a failing test ends ``fail``, and in ``dbt build`` what is downstream of
        the model it tests is skipped too.

        :param job_id: Job id.
        :param failing_nodes: Unique ids or node names (default: ``model.jaffle_shop.orders``).
        :param warning_nodes: Tests (unique ids or names) that end ``warn`` in that run.
        """
        self._state.script_next_run(job_id, failing_nodes or ["model.jaffle_shop.orders"], warning_nodes)

    def warn_next_run(self, job_id: int, warning_nodes: list[str]) -> None:
        """Make tests of the next run of a job end ``warn``; the run itself still succeeds.

        :param job_id: Job id.
        :param warning_nodes: Test unique ids or names, e.g. ``unique_orders_order_id``.
        """
        self._state.script_next_run(job_id, None, warning_nodes)

    def set_job_script(
        self,
        job_id: int,
        outcome: str | None = None,
        queued_seconds: float | None = None,
        running_seconds: float | None = None,
        failing_nodes: list[str] | None = None,
        starting_seconds: float | None = None,
        warning_nodes: list[str] | None = None,
    ) -> None:
        """Change how future runs of a job behave.

        :param job_id: Job id.
        :param outcome: ``success``, ``error``, ``cancelled`` or ``hang``.
        :param queued_seconds: Emulator seconds queued.
        :param running_seconds: Emulator seconds running.
        :param failing_nodes: Nodes (unique ids or names) that fail on ``error``.
        :param starting_seconds: Emulator seconds starting.
        :param warning_nodes: Tests (unique ids or names) that end ``warn`` in every run.
        """
        self._state.set_job_script(
            job_id,
            outcome=outcome,
            queued_seconds=queued_seconds,
            running_seconds=running_seconds,
            failing_nodes=failing_nodes,
            starting_seconds=starting_seconds,
            warning_nodes=warning_nodes,
        )

    def add_jobs(
        self, count: int, environment_id: int | None = None, name_prefix: str = "Generated job"
    ) -> list[int]:
        """Add ``count`` jobs at once, e.g. to page through a large account.

        Each new job is a :class:`JobConfig` with only its id, name and environment set, so the API
        renders it exactly as a configured job (account, project and environment nested alike); its
        runs follow the default script (``dbt build``, success) and :meth:`set_job_script` applies.
        :meth:`reset` removes the added jobs, as it drops every other runtime change; their ids are not
        handed out again.

        :param count: How many jobs (0 to 1,000,000).
        :param environment_id: Their environment; None for the first environment of the default
            account's first project (200, "Production", in the default config).
        :param name_prefix: Each job is named ``"<name_prefix> <id>"``.
        :return: The new job ids, ascending, above every existing job id.
        :raises ValueError: For a count out of range or an unknown environment.
        """
        return self._state.add_jobs(count, environment_id=environment_id, name_prefix=name_prefix)

    def add_fault(
        self,
        route: str | None = None,
        kind: str = "status",
        status: int | None = 503,
        retry_after: float | None = None,
        latency: float = 0.0,
        rate: float | None = None,
        times: int | None = None,
        sequence: list[int | None] | None = None,
        html: bool = False,
    ) -> Fault:
        """Inject a fault; see ``docs/emulator.md`` for kinds and route names.

        :param route: Route name or None for every API route.
        :param kind: ``status``, ``reset``, ``latency``, ``truncate`` or ``accept_then_fail``.
        :param status: Status to answer (``accept_then_fail`` with None drops the connection).
        :param retry_after: Seconds for a ``Retry-After`` header.
        :param latency: Seconds to wait before answering.
        :param rate: Probability of hitting a matching request (seeded).
        :param times: Hit only the next N matching requests.
        :param sequence: Per matching request: a status (or truthy) to apply, None to pass.
        :param html: Send an HTML error page instead of JSON.
        :return: The fault handle (``.hits``, ``.remove()``).
        """
        return self._hub.faults.add(
            route=route,
            kind=kind,
            status=status,
            retry_after=retry_after,
            latency=latency,
            rate=rate,
            times=times,
            sequence=sequence,
            html=html,
        )

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._hub.faults.clear()

    def set_manifest_size_mb(self, size_mb: float) -> None:
        """Pad manifests to about ``size_mb`` MiB, generated while streaming (0 = natural size).

        :param size_mb: Target size.
        """
        self._state.manifest_size_mb = float(size_mb)

    def set_adapter(self, name: str) -> None:
        """Switch the warehouse adapter: later runs' artifacts, and the project's connection and the
        environments' credentials in API payloads. ``reset()`` restores the configured adapter.

        :param name: ``postgres``, ``redshift``, ``snowflake``, ``bigquery`` or ``databricks``.
        """
        self._state.set_adapter(name)

    def set_project_size(self, models: int) -> None:
        """Add ``models`` generated models (and tests on every fifth) to the project of later runs.

        :param models: How many (0 = the base project only); ``reset()`` restores the configured size.
        """
        self._state.set_project_size(models)

    def set_project_nodes(self, nodes: Iterable[Node] | None) -> None:
        """Build later runs from these nodes instead of the configured project.

        A hook for tests that need nodes the emulated project lacks, such as a model whose name holds
        markup. ``reset()``, :meth:`set_project_size` and ``None`` go back to a generated project.

        :param nodes: Every node of the project, each after its parents; start from
            ``project.BASE_NODES`` to keep jaffle_shop. None restores the configured size's project.
        :raises ValueError: For a repeated unique id, or a parent that is not an earlier node.
        """
        if nodes is None:
            self._state.set_project_size(self.config.synthetic_models)
            return
        given, seen = tuple(nodes), set[str]()
        for node in given:
            missing = [p for p in node.parents if p not in seen]
            if node.unique_id in seen or missing:
                raise ValueError(f"node {node.unique_id!r} is repeated or comes before its parents {missing}")
            seen.add(node.unique_id)
        project = Project(given)
        with self._state.lock:
            self._state.project = project

    @property
    def adapter(self) -> str:
        """The current warehouse adapter's name."""
        return self._state.adapter.name

    @property
    def journal(self) -> list[dict[str, Any]]:
        """API requests so far: method, path, query, body, status, latency_ms, ts (plus route, fault).

        A body longer than 4 KiB shows as ``{"truncated": True, "size": n, "head": first 4 KiB}``; the body
        of a request refused for its token is never read and shows as None.
        """
        return self._hub.journal.entries()

    def runs_created(self, job_id: int | None = None) -> int:
        """Runs API clients created so far (by trigger, rerun or retry; not :meth:`start_run`'s).

        :param job_id: Only this job's runs; None for all.
        :return: The count.
        """
        with self._state.lock:
            counts = self._state.runs_created_by_job
            return sum(counts.values()) if job_id is None else counts.get(job_id, 0)

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far."""
        return self._hub.connections

    @property
    def requests(self) -> int:
        """API requests received so far."""
        return self._hub.requests

    def get_run(self, run_id: int) -> dict[str, Any]:
        """The run as the API returns it with trigger, job, environment and run_steps.

        :param run_id: Run id.
        :return: The payload.
        """
        return payloads.run(
            self._state, self._state.runs[run_id], {"trigger", "job", "environment", "run_steps"}
        )

    def reset(self) -> None:
        """Back to the initial config: no runs, no faults, no added jobs, empty journal, counters zero,
        speed restored. Run ids and added job ids keep growing: an id is never handed out twice."""
        self._hub.reset()

    @property
    def speed(self) -> float:
        """Multiplier of the emulator clock."""
        return self._state.clock.speed

    @speed.setter
    def speed(self, value: float) -> None:
        self._state.clock.speed = value


@contextmanager
def run_emulator(
    config: ConfigLike = None,
    *,
    tls: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    adapter: str | None = None,
    synthetic_models: int | None = None,
    allow_remote: bool = False,
) -> Iterator[Emulator]:
    """Run an emulator on its own thread and event loop for the duration of the ``with`` block.

    :param config: An :class:`EmulatorConfig`, a mapping, a JSON/YAML file path, or None for the default.
    :param tls: Serve HTTPS with a self-signed certificate (see :attr:`Emulator.ca_file`).
    :param host: Interface to bind: a loopback address or ``localhost`` unless ``allow_remote``.
    :param port: Port (0 = any free port).
    :param adapter: Warehouse adapter, overriding the config's.
    :param synthetic_models: Generated models added to the project, overriding the config's.
    :param allow_remote: Accept a non-loopback ``host`` (see :class:`Emulator`).
    :return: A context manager yielding the started :class:`Emulator`.
    :raises ValueError: For a non-loopback ``host`` without ``allow_remote``.
    """
    emu = Emulator(
        config,
        tls=tls,
        host=host,
        port=port,
        adapter=adapter,
        synthetic_models=synthetic_models,
        allow_remote=allow_remote,
    ).start()
    try:
        yield emu
    finally:
        emu.stop()
