"""The demo: real Airflow runs the example DAGs' dbt Cloud jobs against the bundled dbt Cloud emulator.

It starts the emulator on 127.0.0.1, points the ``dbt_cloud_default`` connection at it, migrates a
throw-away SQLite metadata DB and runs four example DAGs from ``example_dags/`` with ``dag.test()`` (what
``airflow dags test`` runs), all in one Airflow process (``demo_run.py``): a job waited on in the
triggerer and another watched by a deferrable sensor, a run's artifacts downloaded, a run's models as
Airflow assets, and a failing model followed by a retry from the point of failure. Then it prints, for
each scenario, what Airflow, the emulator's API and journal, and the disk say happened, and how to run
the same DAGs against a real account or in Airflow's UI (``make demo-ui``). The emulator listens on
127.0.0.1 only, and the DAGs call nothing else.

Run it with ``make demo`` (``make demo ARGS="--emulator-port 8787"`` to choose the emulator's port).
Exit status: 0 when everything behaved as expected, 1 when a check failed, 2 when something the demo
needs is missing or busy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from demo_preflight import PreflightError, preflight

#: The longest the DAG runs may take together, in seconds.
RUN_TIMEOUT = 600


class Output:
    """Print lines and keep them, so the demo can check its own output for the token."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, *lines: str) -> None:
        """Print each line and keep it."""
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)

    @property
    def text(self) -> str:
        """Everything printed so far."""
        return "\n".join(self.lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=0,
        help="the dbt Cloud emulator's port on 127.0.0.1 (default: a free one)",
    )
    return parser.parse_args(argv)


def run_dags(env: dict[str, str], dag_ids: list[str], log: Path, say: Output) -> dict[str, Any]:
    """Run the DAGs in one ``demo_run.py`` process; log Airflow's output, say how each DAG run ended.

    :param env: The demo's Airflow environment.
    :param dag_ids: The DAGs to run, in order.
    :param log: The file that gets Airflow's output.
    :param say: Where progress lines go.
    :return: What Airflow recorded, by DAG id (``demo_run.record``); a DAG that did not finish is missing.
    """
    from demo_run import MARK

    runner = Path(__file__).with_name("demo_run.py")
    records: dict[str, Any] = {}
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, str(runner), *dag_ids],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        watchdog = threading.Timer(RUN_TIMEOUT, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                out.write(line)
                if not line.startswith(MARK):
                    continue
                event = json.loads(line[len(MARK) :])
                if event["event"] == "start":
                    say(f"  {event['dag_id']} ({event['file']}) ...")
                elif event["event"] == "done":
                    records[event["dag_id"]] = event
                    say(f"    {event['state']} in {event['seconds']}s")
                else:
                    say(f"  {event['message']}")
            process.wait()
        finally:
            watchdog.cancel()
    if process.returncode:
        say(f"  the DAG runner exited with {process.returncode}; see {log}")
    return records


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status (see the module docstring)."""
    args = _parse(argv)
    try:
        preflight((args.emulator_port, "--emulator-port", "the dbt Cloud emulator"))
    except PreflightError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 2
    # Imported only now: these need the virtual environment's packages, and a Python the checks accepted.
    from airflow_processes import airflow
    from demo_report import REAL_ACCOUNT, Check, DagRunRecord, footer, summarize
    from demo_setup import (
        SCENARIOS,
        airflow_env,
        emulator,
        keep_requests_on_loopback,
        listening,
        make_home,
        save_journal,
        script_emulator,
        token_check,
    )

    from airflow_dbtcloud import __version__

    started = time.monotonic()
    say = Output()
    keep_requests_on_loopback()
    home = make_home()
    log = home / "demo.log"
    say(f"airflow-dbtcloud {__version__}: the example DAGs against a local dbt Cloud emulator")
    try:
        with emulator(args.emulator_port) as emu:
            script_emulator(emu)
            env = airflow_env(home, emu)
            say(
                f"dbt Cloud emulator: {emu.base_url} (account {emu.account_id}, project jaffle_shop)",
                f"Airflow home (SQLite metadata DB, logs, artifacts): {home}",
                f"The examples' waits are shortened by an Airflow cluster policy, {home}/config/"
                "airflow_local_settings.py (poll every 1 s, retry after 1 s); the DAG files are as written.",
                "",
                "Running the DAGs with dag.test() (what `airflow dags test` runs):",
            )
            migrated = airflow(env, "db", "migrate")
            log.write_text(migrated.stdout + migrated.stderr)
            if migrated.returncode:
                say(f"airflow db migrate failed (exit {migrated.returncode}); see {log}")
                return 1
            found = run_dags(env, [s.dag_id for s in SCENARIOS], log, say)
            records = {dag_id: DagRunRecord.from_dict(data) for dag_id, data in found.items()}
            lines, checks = summarize(emu, records)
            sockets = listening({"the demo's process: the dbt Cloud emulator": os.getpid()}, children=False)
            journal = save_journal(emu, home)
            token = emu.token
    except PreflightError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the DAG runner, in this terminal's process group, got the signal too
        say(f"demo: interrupted; what ran so far is in {home}")
        return 130
    checks.append(
        Check("the demo listens on 127.0.0.1 only", all(s.startswith("127.0.0.1:") for s in sockets))
    )
    say(
        *lines,
        "",
        "== Where things are",
        f"    Airflow's log of the DAG runs (task logs included): {log}",
        f"    The emulator's journal (every API request it answered): {journal}",
        f"    Downloaded artifacts: {home / 'artifacts'} and {home / 'object-store'}",
        f"    Listening while the DAGs ran: {', '.join(sockets)}",
        f"    (The Airflow home is kept for you to look at; remove it when done: rm -rf {home})",
        "",
        REAL_ACCOUNT,
        "",
        "== The same runs in Airflow's UI",
        '    make demo-ui    # scheduler, triggerer, API server on 127.0.0.1; the "dbt Cloud" tab of a task',
    )
    checks.append(Check(*token_check(token, say.text, home)))
    say(*footer(checks), f"(the demo took {time.monotonic() - started:.0f}s)")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
