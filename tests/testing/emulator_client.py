"""Helpers shared by the emulator tests: an API client, a CLI server and its output, memory use of a
generator."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from airflow_dbtcloud.testing import DEFAULT_TOKEN, Emulator


class Client:
    """A token-authenticated session on an emulator, with the calls the tests repeat.

    :param emu: The emulator.
    """

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {emu.token}"
        self.v2 = f"{emu.base_url}/api/v2/accounts/1"

    def finished_run(self, job_id: int = 300, status: int = 10, **body: Any) -> str:
        """Trigger a run of ``job_id``, end it with ``status`` and return its URL (ending in ``/``).

        :param job_id: The job to run.
        :param status: The status the run is completed with.
        :param body: Extra trigger fields (``steps_override``...).
        """
        resp = self.session.post(f"{self.v2}/jobs/{job_id}/run/", json={"cause": "a", **body})
        run_id = int(resp.json()["data"]["id"])
        self.emu.complete_run(run_id, status)
        return f"{self.v2}/runs/{run_id}/"

    def artifact(self, run_url: str, name: str) -> Any:
        """Fetch and parse one artifact of a run.

        :param run_url: The run's URL, as :meth:`finished_run` returns it.
        :param name: The artifact path, e.g. ``manifest.json``.
        """
        resp = self.session.get(f"{run_url}artifacts/{name}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def statuses(self, run_url: str) -> dict[str, str]:
        """Return unique id -> status from a run's run_results.json.

        :param run_url: The run's URL, as :meth:`finished_run` returns it.
        """
        return {r["unique_id"]: r["status"] for r in self.artifact(run_url, "run_results.json")["results"]}


def control(token: str = DEFAULT_TOKEN) -> requests.Session:
    """A session sending the emulator's token, as its ``/_emulator/`` control routes require.

    :param token: The token (default: the one of the default configuration).
    """
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


@contextmanager
def serve_cli(*args: str) -> Iterator[subprocess.Popen[str]]:
    """Run ``python -m airflow_dbtcloud.testing serve --port 0 ARGS``; stopping it must exit 0.

    :param args: More command-line options.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_dbtcloud.testing", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def read_lines(proc: subprocess.Popen[str], count: int, timeout: float = 30.0) -> list[str]:
    """Read the first ``count`` lines a child writes to its stdout pipe, waiting at most ``timeout`` seconds.

    Reads the pipe itself rather than ``proc.stdout``, whose buffer would hide lines from the wait; do
    not read ``proc.stdout`` as well.

    :param proc: The child, started with ``stdout=subprocess.PIPE``.
    :param count: How many lines.
    :param timeout: Seconds for all of them, so a hung child fails the test instead of blocking it.
    :return: The lines, without their line ends.
    :raises TimeoutError: When the lines do not come in time (the message shows what came).
    :raises EOFError: When the child closes its stdout first.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    got = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while got.count(b"\n") < count:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TimeoutError(f"{count} lines did not come within {timeout} s; read so far: {got!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(f"the child closed its stdout (exit code {proc.poll()}); read so far: {got!r}")
            got += chunk
    return got.decode(errors="replace").splitlines()[:count]


def stream_stats(make: Callable[[], Iterable[bytes]]) -> tuple[int, int, int]:
    """Consume the chunks ``make()`` yields; return ``(total bytes, biggest chunk, peak traced memory)``.

    :param make: Creates the generator (called once memory tracing has started).
    """
    tracemalloc.start()
    try:
        total = biggest = 0
        for chunk in make():
            total += len(chunk)
            biggest = max(biggest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return total, biggest, peak
