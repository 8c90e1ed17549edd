"""Fault soak: whole DAG runs through about 20% injected faults of every kind the emulator offers.

Each DAG run (``it_soak``) has a deferrable run, a polled run, a run started without waiting plus a
deferrable sensor on it, and an artifact download. The suite runs ``SOAK_DAG_RUNS`` of them (30); the
long mode is ``make soak`` (300). What must hold: no task fails, every task succeeds on its first try,
and dbt Cloud saw exactly one run per run-starting task try, whatever the faults. The table printed at
the end is the one in ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

import pytest
from metadata_scan import metadata_rows_containing

DAG_RUNS = int(os.environ.get("SOAK_DAG_RUNS", "30"))
#: Tasks of ``it_soak`` that start a dbt Cloud run.
STARTING_TASKS = ("deferred", "polled", "started")
SHARE = 0.2 / 7  # seven kinds on every route: about 20% of requests meet one
FAULTS: dict[str, dict[str, Any]] = {
    "503": {"kind": "status", "status": 503, "rate": SHARE},
    "429 with Retry-After": {"kind": "status", "status": 429, "retry_after": 0.2, "rate": SHARE},
    "429 without Retry-After": {"kind": "status", "status": 429, "rate": SHARE},
    "connection reset": {"kind": "reset", "rate": SHARE},
    "read timeout": {"kind": "latency", "latency": 1.5, "status": None, "rate": SHARE},
    "HTML error page (502)": {"kind": "status", "status": 502, "html": True, "rate": SHARE},
    "truncated JSON": {"kind": "truncate", "rate": SHARE},
    # Run POSTs only: dbt Cloud creates the run, then the answer is lost.
    "run POST accepted, answer lost": {
        "route": "trigger_run", "kind": "accept_then_fail", "status": None, "rate": 0.2,
    },
}  # fmt: skip


@pytest.fixture
def soak_connection(emu, monkeypatch):
    """The emulator's connection with a 1 s read timeout (for the read-timeout fault) and quick retries.

    At 20% faults on every request, the default 5 attempts would give up on about one request in
    3,000; a soak of 300 DAG runs sends more than 10,000. Eight attempts make that one in 400,000.
    """
    conn = json.loads(emu.connection_json())
    conn["extra"] = {
        **(conn.get("extra") or {}),
        "read_timeout": 1.0,
        "retry_limit": 8,
        "retry_delay": 0.05,
        "retry_max_delay": 0.5,
    }
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
    return conn


@pytest.mark.timeout(max(300, DAG_RUNS * 30))
def test_dag_runs_succeed_through_faults_with_one_dbt_cloud_run_per_task_try(
    emu, soak_connection, run_dag, capfd, caplog
):
    faults = {name: emu.add_fault(**spec) for name, spec in FAULTS.items()}
    started, requests_before = time.monotonic(), emu.requests
    states: Counter[str] = Counter()
    tries: Counter[int] = Counter()
    dag_states: Counter[str] = Counter()
    for _ in range(DAG_RUNS):
        result = run_dag("it_soak")
        dag_states[result.state] += 1
        for task_id, (state, try_number) in result.tis.items():
            states[f"{task_id}: {state}"] += 1
            tries[try_number] += 1
    elapsed = time.monotonic() - started
    captured = capfd.readouterr()
    logged = captured.out + captured.err + caplog.text
    # Read from the log records, not the text: with -s the same line is also on stderr.
    retries = sum(1 for record in caplog.records if "Retrying in" in record.getMessage())
    requests = emu.requests - requests_before
    hits = {name: fault.hits for name, fault in faults.items()}
    runs = emu.runs_created(300)
    table = [
        f"| DAG runs | {DAG_RUNS} ({', '.join(f'{n} {s}' for s, n in sorted(dag_states.items()))}) |",
        f"| task instances | {sum(states.values())}: "
        + ", ".join(f"{name} {n}" for name, n in sorted(states.items()))
        + " |",
        f"| task tries | {', '.join(f'{n} on try {t}' for t, n in sorted(tries.items()))} |",
        f"| API requests | {requests} |",
        f"| faults served | {sum(hits.values())} ({sum(hits.values()) / requests:.1%} of requests) |",
        *(f"| - {name} | {count} |" for name, count in hits.items()),
        f"| retries the hook logged | {retries} |",
        f"| run POSTs whose answer was lost, then found by the task's marker | "
        f"{logged.count('Looking for it by this task' + chr(39) + 's marker')} |",
        f"| dbt Cloud runs started | {runs} for {DAG_RUNS * len(STARTING_TASKS)} run-starting task tries |",
        f"| wall time | {elapsed:.0f} s |",
    ]
    with capfd.disabled():
        print("\n| fault soak | |\n|---|---|\n" + "\n".join(table))
    assert dag_states == {"success": DAG_RUNS}, table
    assert all(state.endswith(": success") for state in states), table
    assert set(tries) == {1}, "no task needed a second try"
    assert runs == DAG_RUNS * len(STARTING_TASKS), "exactly one dbt Cloud run per run-starting task try"
    assert all(count > 0 for count in hits.values()) or DAG_RUNS < 10, hits
    # After all of it, the token is nowhere: not in a log line, a metadata DB row (XCom, rendered
    # fields, trigger rows, task instances, events) or what the emulator journaled.
    assert emu.token not in logged
    assert metadata_rows_containing("job_run_url"), "the scan sees the XComs the tasks pushed"
    assert metadata_rows_containing(emu.token) == []
    assert emu.token not in json.dumps(emu.journal, default=str)
