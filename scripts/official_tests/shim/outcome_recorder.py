"""Pytest plugin for scripts/official_tests.py: record outcomes as JSON and keep the run off the network.

Loaded with ``-p outcome_recorder``. It writes ``{"items": {nodeid: {"outcome", "message"}},
"collect_errors": {path: message}}`` to the file named by ``OFFICIAL_TESTS_RESULTS`` when the session
ends, where ``message`` is the first line of the error. While the tests run, sockets may only reach the
loopback interface or Unix sockets, so a test that silently needs the internet fails instead.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
from typing import Any

import pytest

_items: dict[str, dict[str, str]] = {}
_collect_errors: dict[str, str] = {}
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b")


class NetworkBlockedError(RuntimeError):
    """Raised when a test tries to reach a host other than this machine."""


def _is_local(host: Any) -> bool:
    if host in (None, "", "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False


def _guard_sockets() -> None:
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_local(address[0]):
            raise NetworkBlockedError(f"network access is blocked while the official tests run: {address}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check((host,))
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo


def _first_error_line(report: pytest.BaseReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return crash.message.strip().splitlines()[0]
    text = str(report.longrepr)
    error_lines = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    named = [line for line in error_lines if _EXCEPTION_LINE.match(line)]
    return (named or error_lines or text.strip().splitlines() or ["(no error text)"])[0]


def pytest_configure(config: pytest.Config) -> None:
    """Block non-local network access for the rest of the process."""
    _guard_sockets()


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Remember why a test file (or class) could not be collected."""
    if report.failed:
        _collect_errors[report.nodeid] = _first_error_line(report)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Fold the setup, call and teardown reports of one item into its outcome."""
    entry = _items.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
    if report.failed and entry["outcome"] not in ("failed", "error"):
        entry["outcome"] = "failed" if report.when == "call" else "error"
        entry["message"] = _first_error_line(report)
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the collected outcomes where scripts/official_tests.py expects them."""
    target = os.environ.get("OFFICIAL_TESTS_RESULTS")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump({"items": _items, "collect_errors": _collect_errors}, out, indent=1)
