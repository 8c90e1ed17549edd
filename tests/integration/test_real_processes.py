"""Real Airflow processes (scheduler, triggerer, API server, LocalExecutor) against the emulator.

The scenario lives in ``scripts/e2e_crash.py`` so people can run it by hand (``make e2e``); here it
runs as a subprocess and must report one dbt Cloud run after its task process was SIGKILLed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "e2e_crash.py"


def test_killed_task_reattaches_to_its_run_under_the_real_scheduler():
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
    assert "API token in any log: no" in output
    assert result.returncode == 0, output[-3000:]
