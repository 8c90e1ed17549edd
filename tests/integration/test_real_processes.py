"""Real Airflow processes (scheduler, triggerer, API server, LocalExecutor) against the emulator.

The scenarios live in ``scripts/e2e_airflow.py`` so people can run them by hand (``make e2e``); here they
run as a subprocess: one dbt Cloud run after the task process was SIGKILLed, a deferred wait in the
real triggerer that outlasts a burst of 503s, and a task that starts a new run each time it is cleared
(the whole DAG run through the REST API, then the task alone with the CLI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "e2e_airflow.py"


def test_real_scheduler_and_triggerer_scenarios():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "killing task process" in output, output[-3000:]
    assert "DAG run: success; dbt Cloud runs of job 302: 1; reattached: True" in output, output[-3000:]
    assert (
        "Deferred DAG run: success; runs of job 303: 1; 503 answers: 8; trigger kept polling: True" in output
    )
    assert (
        "Clear path: first run -> success, whole-DAG-run clear (REST API) -> success, "
        "task clear (CLI) -> success; runs of job 300: 3; markers distinct: True" in output
    ), output[-3000:]
    assert "API token in any log: no" in output
    assert result.returncode == 0, output[-3000:]
