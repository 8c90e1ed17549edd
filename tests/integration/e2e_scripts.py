"""Running the end-to-end scripts of ``scripts/`` from the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def run_script(name: str) -> tuple[str, int]:
    """Run one of ``scripts/`` as a person would (no Airflow settings inherited); return its output and code.

    :param name: The script's file name, e.g. ``e2e_airflow.py``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / name)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return result.stdout + result.stderr, result.returncode
