"""``make demo`` and ``make demo-ui --check``, run as a person runs them, and their preflight messages.

The demos start the emulator themselves, in their own process; what they printed is checked against
the emulator's journal, which they save to a file and name in their output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_dbtcloud.testing import DEFAULT_TOKEN

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
FAILING_NODE = "model.jaffle_shop.daily_revenue"


def _run(script: str, *args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one of ``scripts/`` as ``make`` does: the venv's Python, no Airflow settings inherited."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _flat(text: str) -> str:
    """The text with every run of whitespace made one space (the demo wraps its prose)."""
    return " ".join(text.split())


def _journal(output: str) -> list[dict[str, Any]]:
    found = re.search(r"The emulator's journal \(every API request it answered\): (\S+)", output)
    assert found, output[-3000:]
    return list(json.loads(Path(found[1]).read_text()))


def _check_story(output: str) -> None:
    """What both demos must tell, checked against the emulator's journal."""
    journal = _journal(output)
    runs = {int(run) for run in re.findall(r"^ +run (\d+) of job \d+ ", output, re.MULTILINE)}
    assert len(runs) == 6, output[-3000:]  # 4 runs of job 300, a failed run of job 301 and its retry
    for run in runs:
        assert any(f"/runs/{run}/" in entry["path"] for entry in journal), f"run {run} is not in the journal"
    table = output.split("failed nodes of run ", 1)[1].splitlines()[:3]
    assert re.match(rf" +{re.escape(FAILING_NODE)} +error +", table[2]), table
    retry = re.search(
        r"Retry from failure: try 1 of run_with_retry failed with run (\d+); try 2 sent "
        r"POST (/api/v2/accounts/1/runs/(\d+)/retry/) -> 200, and dbt Cloud ran (\d+) \(.*?\): Success\.",
        _flat(output),
    )
    assert retry, output[-3000:]
    assert retry[1] == retry[3], "the POST retried another run than the one that failed"
    posts = [e for e in journal if e["method"] == "POST" and e["path"] == retry[2]]
    assert [e["status"] for e in posts] == [200]
    assert f"/runs/{retry[4]}/" in " ".join(e["path"] for e in journal)
    assert re.search(r"^ +300 +4 +4 +0 +4 \(", output, re.MULTILINE), output[-3000:]
    assert re.search(r"^ +301 +2 +1 +1 +2 \(run_with_retry 2\)$", output, re.MULTILINE), output[-3000:]
    assert "runs created = task tries for every job: yes" in output
    assert "AIRFLOW_CONN_DBT_CLOUD_DEFAULT=" in output
    assert "FAIL " not in output
    assert DEFAULT_TOKEN not in output
    assert DEFAULT_TOKEN not in json.dumps(journal)


@pytest.mark.timeout(300)  # the demo takes about 25 s; _run stops it at 240 s
def test_demo_summarizes_each_scenario_from_real_sources(tmp_path):
    result = _run("demo.py", TMPDIR=str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Demo finished as expected." in result.stdout
    _check_story(result.stdout)
    assert "make demo-ui" in result.stdout
    # The models table of the retry scenario: the retry rebuilt only the failed model.
    assert re.search(r"^ +daily_revenue +error [\d.]+s +success [\d.]+s$", result.stdout, re.MULTILINE)


@pytest.mark.timeout(300)  # about 35 s: the API server's start, then the DAG runs; _run stops it at 240 s
def test_demo_ui_check_serves_the_runs_on_loopback_then_stops(tmp_path):
    result = _run("demo_ui.py", "--check", TMPDIR=str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    _check_story(result.stdout)
    assert re.search(r"http://127\.0\.0\.1:\d+ +user: admin +password: \S+", result.stdout)
    assert "/plugin/dbt-cloud-run" in result.stdout
    assert "ok    everything listens on 127.0.0.1 only" in result.stdout
    assert "ok    every Airflow process stopped" in result.stdout


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("script", "option", "what"),
    [
        ("demo.py", "--emulator-port", "the dbt Cloud emulator"),
        ("demo_ui.py", "--emulator-port", "the dbt Cloud emulator"),
        ("demo_ui.py", "--port", "Airflow's API server"),
    ],
)
def test_a_busy_port_the_user_asked_for_is_named(busy_port, script, option, what):
    result = _run(script, option, str(busy_port), timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"Port {busy_port} on 127.0.0.1 is in use, so {what} cannot listen on it" in result.stderr
    assert f"leave {option} out" in result.stderr


@pytest.mark.parametrize("script", ["demo.py", "demo_ui.py", "demo_preflight.py"])
def test_an_unwritable_temporary_directory_is_named(tmp_path, script):
    missing = tmp_path / "no-such-dir"
    result = _run(script, timeout=60, TMPDIR=str(missing))
    assert result.returncode != 0
    assert f"cannot write to the temporary directory {missing} (TMPDIR)" in result.stderr


def _preflight() -> Any:
    spec = importlib.util.spec_from_file_location("demo_preflight", SCRIPTS / "demo_preflight.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_old_python_is_named_with_its_version():
    preflight = _preflight()
    with pytest.raises(preflight.PreflightError) as raised:
        preflight.require_python((3, 10, 4), "/usr/bin/python3.10")
    assert "needs Python 3.11 or newer; found Python 3.10.4 (/usr/bin/python3.10)" in str(raised.value)
    preflight.require_python((3, 11, 0))
