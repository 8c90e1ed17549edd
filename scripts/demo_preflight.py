"""What the demo checks before it starts anything, with a message that says what to do.

``make demo`` and ``make demo-ui`` run this file with the Python that will build the virtual environment,
before building it, so that an old Python is named before pip fails on it; ``demo.py`` and ``demo_ui.py``
call the same checks again. It uses the standard library only and parses on old Pythons, so that it can
say which version it found instead of failing on syntax: no ``from __future__ import annotations``
(Python 3.7+), so the annotations are strings.
"""

import errno
import os
import platform
import socket
import sys
import tempfile
from pathlib import Path

#: The oldest Python the provider supports (``requires-python`` in pyproject.toml).
MINIMUM_PYTHON = (3, 11)


class PreflightError(Exception):
    """Something the demo needs is missing or busy; the message says what and what to do."""


def require_python(version: "tuple[int, ...] | None" = None, executable: "str | None" = None) -> None:
    """Refuse a Python older than :data:`MINIMUM_PYTHON`, naming the version found.

    :param version: The version to check; ``None`` checks the running interpreter.
    :param executable: The interpreter's path, for the message; ``None`` uses the running one.
    :raises PreflightError: For an older Python.
    """
    found = tuple(sys.version_info[:3]) if version is None else tuple(version)
    if found >= MINIMUM_PYTHON:
        return
    wanted = ".".join(map(str, MINIMUM_PYTHON))
    shown = ".".join(map(str, found)) if version is not None else platform.python_version()
    raise PreflightError(
        f"The demo needs Python {wanted} or newer; found Python {shown} ({executable or sys.executable}). "
        f"Install Python {wanted}+ and run it with that one, e.g. `make demo PYTHON=python{wanted}` "
        "(delete .venv first if an older Python made it)."
    )


def require_writable_tmp() -> Path:
    """Check that the temporary directory (``TMPDIR``, else the system's) can be written; return it.

    :raises PreflightError: When it is missing or not writable.
    """
    named = os.environ.get("TMPDIR")
    # tempfile.gettempdir() quietly falls back to another directory when TMPDIR is unusable; the demo
    # reports the one the user named instead.
    where = Path(named) if named else Path(tempfile.gettempdir())
    source = "TMPDIR" if named else "the system's temporary directory"
    try:
        with tempfile.NamedTemporaryFile(dir=where, prefix="airflow-dbtcloud-demo-check-"):
            pass
    except OSError as error:
        raise PreflightError(
            f"The demo cannot write to the temporary directory {where} ({source}): "
            f"{error.strerror or error}. It keeps its throw-away Airflow home (metadata DB, logs, "
            "artifacts) there. Point TMPDIR at a writable directory, e.g. "
            "`mkdir -p ~/tmp && TMPDIR=~/tmp make demo`."
        ) from error
    return where


def require_free_port(port: int, option: str, what: str) -> None:
    """Check that nothing listens on ``port`` of 127.0.0.1 yet.

    :param port: The port the user asked for.
    :param option: The command-line option that named it, for the message.
    :param what: What was to listen there, for the message (``the dbt Cloud emulator``).
    :raises PreflightError: When the port is taken (or may not be used).
    """
    if not 0 < port < 65536:
        raise PreflightError(f"{option} {port}: a port is a number from 1 to 65535.")
    with socket.socket() as sock:
        # As a server binds: a port only in TIME_WAIT is free to it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as error:
            reason = "is in use" if error.errno == errno.EADDRINUSE else f"cannot be used ({error.strerror})"
            raise PreflightError(
                f"Port {port} on 127.0.0.1 {reason}, so {what} cannot listen on it ({option} {port}). "
                f"Stop what listens there (`ss -ltnp 'sport = :{port}'` shows it), pick another port, "
                f"or leave {option} out to use a free one."
            ) from error


def main() -> int:
    """Run the checks that need no virtual environment; print what is wrong and return 1, else 0."""
    try:
        preflight()
    except PreflightError as error:
        print(f"make: {error}", file=sys.stderr)
        return 1
    return 0


def preflight(*ports: "tuple[int, str, str]") -> None:
    """Check the Python, the temporary directory and each port the user chose, in that order.

    :param ports: ``(port, option, what)`` for each port option; a port of 0 (pick a free one) is skipped.
    :raises PreflightError: At the first thing missing or busy.
    """
    require_python()
    require_writable_tmp()
    for port, option, what in ports:
        if port:
            require_free_port(port, option, what)


if __name__ == "__main__":
    sys.exit(main())
