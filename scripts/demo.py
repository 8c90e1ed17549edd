"""The demo: real Airflow runs dbt Cloud jobs against the bundled dbt Cloud emulator.

It starts the emulator on 127.0.0.1, points a ``dbt_cloud`` connection at it, migrates a throw-away
SQLite metadata DB and runs the example DAGs with ``airflow dags test``: a job triggered and waited on in
the triggerer, a job triggered and watched by a deferrable sensor, a job whose models become Airflow
assets, and a job that fails with the failed nodes in the log. Nothing leaves this machine. Run it with
``make demo``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAG_IDS = ("example_dbt_cloud_run_job", "example_dbt_cloud_artifacts", "example_dbt_cloud_assets_producer")
#: Lines of the task logs worth showing: what a person on call would read.
HIGHLIGHTS = (
    "dbt Cloud run ",
    "Job run ",
    "Reattaching",
    "has completed successfully",
    "Writing artifact",
    "asset events",
    "dbt Cloud says",
    "Failed nodes",
    "  node ",
    "  model.",
    "  test.",
    "Run: ",
)


def _airflow(args: list[str], env: dict[str, str], log: Path) -> tuple[int, str]:
    started = time.monotonic()
    with log.open("a") as out:
        out.write(f"\n$ airflow {' '.join(args)}\n")
        out.flush()
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=600,
        )
        out.write(result.stdout)
    print(f"  airflow {' '.join(args[:3])}: exit {result.returncode} in {time.monotonic() - started:.1f}s")
    return result.returncode, result.stdout


def _highlights(output: str) -> None:
    shown: set[str] = set()
    for line in output.splitlines():
        text = line.strip()[:160]
        if any(marker in line for marker in HIGHLIGHTS) and text not in shown:
            shown.add(text)
            print("    " + text)


_LIST_ASSET_EVENTS = """
from airflow.models.asset import AssetEvent, AssetModel
from airflow.utils.session import create_session
with create_session() as session:
    rows = session.query(AssetModel.uri, AssetEvent.extra)
    rows = rows.join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
    for uri, extra in rows.order_by(AssetEvent.id):
        print(uri, "<-", extra.get("unique_id"), "run", extra.get("dbt_cloud_run_id"))
"""


def _asset_events(env: dict[str, str]) -> list[str]:
    """One line per asset event recorded so far, read from the demo's metadata DB."""
    result = subprocess.run(
        [sys.executable, "-c", _LIST_ASSET_EVENTS], env=env, capture_output=True, text=True, timeout=120
    )
    return [line for line in result.stdout.splitlines() if " <- " in line]


def main() -> int:
    """Run the demo and return a process exit code."""
    from airflow_dbtcloud import __version__, get_provider_info
    from airflow_dbtcloud.testing import run_emulator

    info = get_provider_info()
    print(f"{info['package-name']} {__version__}: {info['name']}")
    for kind in ("hooks", "operators", "sensors", "triggers"):
        print(f"  {kind}: {', '.join(info[kind][0]['python-modules'])}")

    home = Path(tempfile.mkdtemp(prefix="airflow-dbtcloud-demo-"))
    log = home / "demo.log"
    with run_emulator() as emu:
        print(f"\ndbt Cloud emulator at {emu.base_url} (account {emu.account_id}, project jaffle_shop)")
        env = {
            **os.environ,
            **emu.env("dbt_cloud_default"),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "DBT_CLOUD_ARTIFACT_DIR": str(home / "artifacts"),
            "DBT_CLOUD_ARTIFACT_URI": f"file://{home / 'object-store'}",
        }
        print(f"Airflow home (metadata DB, logs): {home}")
        code, _ = _airflow(["db", "migrate"], env, log)
        if code:
            print(f"airflow db migrate failed; see {log}")
            return code

        failures = 0
        for dag_id in DAG_IDS:
            print(f"\n== {dag_id}")
            code, output = _airflow(["dags", "test", dag_id], env, log)
            _highlights(output)
            failures += code != 0

        print("\n== Asset events in the metadata DB (what DAGs scheduled on these tables would see)")
        events = _asset_events(env)
        for line in events[:4]:
            print(f"    {line}")
        print(f"    ... {len(events)} events in all")
        failures += not events

        print("\n== example_dbt_cloud_run_job with a failing model (the task must fail and say why)")
        emu.fail_next_run(300, ["model.jaffle_shop.orders"])
        code, output = _airflow(["dags", "test", "example_dbt_cloud_run_job", "2026-01-02"], env, log)
        _highlights(output)
        failed_as_expected = code != 0 and "model.jaffle_shop.orders" in output

        print("\n== What the emulator saw")
        print(f"  runs created: {emu.runs_created()} (job 300: {emu.runs_created(300)})")
        print(f"  API requests: {emu.requests}, TCP connections: {emu.connections_accepted}")
        print(f"  full log: {log}")
        leaked = emu.token in log.read_text()
        print(f"  API token in any log line: {'YES (bug)' if leaked else 'no'}")

    ok = failures == 0 and failed_as_expected and not leaked
    print(f"\nDemo {'finished as expected' if ok else 'did NOT behave as expected'}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
