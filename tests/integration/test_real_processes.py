"""Real Airflow processes (scheduler, triggerer, API server, LocalExecutor) against the emulator.

The scenarios live in ``scripts/e2e_airflow.py`` so people can run them by hand (``make e2e``); here they
run as a subprocess: one dbt Cloud run after the task process was SIGKILLed, a deferred wait in the
real triggerer that outlasts a burst of 503s (both waits logging the run's progress node by node), and
a task that starts a new run each time it is cleared (the whole DAG run through the REST API, then the
task alone with the CLI), a deferred wait that moves to a new triggerer after the first was SIGKILLed,
the run task's extra links as the REST API gives them, a task killed while its run POST was held (the
retry finds the run by its marker), a supervisor sent SIGTERM (``on_kill`` cancels the one run), and
the same with ``cancel_on_kill=False`` followed by SIGKILL (the retry reattaches).
"""

from __future__ import annotations

import re

import pytest
from e2e_scripts import run_script


@pytest.mark.timeout(1200)  # the script's own limit is 900 s (e2e_scripts.run_script)
def test_real_scheduler_and_triggerer_scenarios():
    output, returncode = run_script("e2e_airflow.py")
    assert "killing task process" in output, output[-3000:]
    assert "DAG run: success; dbt Cloud runs of job 302: 1; reattached: True" in output, output[-3000:]
    assert (
        "Deferred DAG run: success; runs of job 301: 1; 503 answers: 8; trigger kept polling: True" in output
    )
    assert (
        "Clear path: first run -> success, whole-DAG-run clear (REST API) -> success, "
        "task clear (CLI) -> success; runs of job 300: 3; markers distinct: True" in output
    ), output[-3000:]
    assert re.search(
        r"Progress lines about dbt nodes: [1-9]\d* in the polled task's log, [1-9]\d* in the triggerer's",
        output,
    ), output[-3000:]
    assert "killing triggerer" in output, output[-3000:]
    assert (
        "Triggerer killed mid-wait: DAG run success; runs of job 303: 1; run in progress at the kill: True; "
        "new triggerer polled the run: True" in output
    ), output[-3000:]
    assert (
        "Extra links through the REST API: e2e_crash: run page True, job page True; "
        "e2e_triggerer_killed: run page True, job page True" in output
    ), output[-3000:]
    assert (
        "Task killed while its run POST was held: DAG run success; runs of job 304: 1; no run yet at the "
        "kill: True; the retry found the run by its marker: True" in output
    ), output[-3000:]
    assert (
        "Supervisor sent SIGTERM: DAG run failed; runs of job 305: 1 (Cancelled); cancelled and confirmed "
        "by on_kill: True" in output
    ), output[-3000:]
    assert (
        "Pod stopped (cancel_on_kill=False): DAG run success; runs of job 306: 1; run at the SIGKILL: "
        "Running; left running by on_kill: True; the retry reattached: True" in output
    ), output[-3000:]
    assert "API token in any log: no" in output
    assert returncode == 0, output[-3000:]
