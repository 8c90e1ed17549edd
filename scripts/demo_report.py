"""The demo's summary, read from where each fact lives.

- Airflow's side (DAG run, task instances and their tries, XCom, asset events) comes in a
  :class:`DagRunRecord`, read from the metadata DB by ``demo_run.py`` or through the REST API by
  ``demo_ui.py``.
- dbt Cloud's side (each run's status, duration, URL, ``run_results.json``) is read from the emulator's
  public API, as any client would; who asked for what (run and retry POSTs) from its journal, and the
  runs it created from its counters.
- The artifacts are the files on disk that the download tasks say they wrote.

:func:`summarize` returns the text and a list of :class:`Check`: what the demo expected and whether it
happened. Nothing in the summary is written in advance.
"""

from __future__ import annotations

import json
import textwrap
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_processes import emulator_data
from demo_setup import FAILING_NODE, RUN_OPERATOR, SCENARIOS, Scenario

#: The width prose is wrapped to (tables and URLs are not wrapped).
WIDTH = 110
#: dbt node statuses that make a run fail.
FAILED = ("error", "fail", "runtime error")
#: The operator that downloads artifacts; its XCom return value says where it wrote them.
ARTIFACT_OPERATOR = "DbtCloudGetJobRunArtifactOperator"


@dataclass
class DagRunRecord:
    """What Airflow recorded about one DAG run."""

    dag_id: str
    run_id: str
    state: str
    start_date: str | None
    end_date: str | None
    #: One dict per task instance: task_id, operator, state, try_number, duration, job_id.
    tasks: list[dict[str, Any]]
    #: XCom values by task id, then key.
    xcom: dict[str, dict[str, Any]]
    #: One dict per asset event the DAG run emitted: uri, source_task_id, extra.
    asset_events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DagRunRecord:
        """Build a record from ``demo_run.py``'s JSON (unknown keys are ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def seconds(self) -> float | None:
        """How long the DAG run took, or None when it has not ended."""
        if not (self.start_date and self.end_date):
            return None
        return (
            datetime.fromisoformat(self.end_date) - datetime.fromisoformat(self.start_date)
        ).total_seconds()

    def dbt_runs(self) -> dict[int, list[str]]:
        """The dbt Cloud runs the tasks name in XCom (``job_run_id``), each with the tasks naming it."""
        runs: dict[int, list[str]] = {}
        for task in self.tasks:
            run_id = self.xcom.get(task["task_id"], {}).get("job_run_id")
            if run_id is not None:
                runs.setdefault(int(run_id), []).append(task["task_id"])
        return runs


@dataclass(frozen=True)
class Check:
    """One thing the demo expected, and whether it happened."""

    what: str
    ok: bool


def _table(headers: list[str], rows: list[list[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    return [
        indent + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def emulator_json(emu: Any, path: str) -> Any:
    """GET a path of the emulator's account API that answers plain JSON (an artifact), as a client would.

    :param emu: The running emulator.
    :param path: The path under ``/api/v2/accounts/<id>``.
    """
    url = f"{emu.base_url}/api/v2/accounts/{emu.account_id}{path}"
    request = urllib.request.Request(url, headers={"Authorization": f"Token {emu.token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the loopback emulator
        return json.load(response)


class _Summary:
    """Builds the summary's lines and checks, reading the emulator and the disk as it goes."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu
        self.lines: list[str] = []
        self.checks: list[Check] = []
        self._runs: dict[int, dict[str, Any]] = {}

    def check(self, what: str, ok: bool) -> bool:
        self.checks.append(Check(what, ok))
        return ok

    def run(self, run_id: int) -> dict[str, Any]:
        """The run as the dbt Cloud API describes it, with its job, trigger and steps."""
        if run_id not in self._runs:
            self._runs[run_id] = emulator_data(
                self.emu, f"/runs/{run_id}/", include_related='["job","trigger","run_steps"]'
            )
        return self._runs[run_id]

    def retried_runs(self, run_id: int) -> list[int]:
        """The runs that ``run_id`` retried from their point of failure, oldest first.

        Each of them names the run that retried it in the API's ``retrying_run_id``.
        """
        job = self.run(run_id)["job_definition_id"]
        runs = emulator_data(self.emu, "/runs/", job_definition_id=job, order_by="id", limit=100)
        retried_by = {run["retrying_run_id"]: int(run["id"]) for run in runs if run.get("retrying_run_id")}
        chain: list[int] = []
        while run_id in retried_by:
            run_id = retried_by[run_id]
            chain.insert(0, run_id)
        return chain

    def retry_posts(self, run_id: int) -> list[str]:
        """The journal's POSTs that asked dbt Cloud to retry ``run_id``, as ``POST <path> -> <status>``."""
        return [
            f"POST {entry['path']} -> {entry['status']}"
            for entry in self.emu.journal
            if entry.get("route") == "retry_run" and f"/runs/{run_id}/retry/" in entry["path"]
        ]

    # ---- one scenario -----------------------------------------------------------------------------------
    def scenario(self, number: int, scenario: Scenario, record: DagRunRecord | None) -> None:
        self.lines += ["", f"== {number}/{len(SCENARIOS)} {scenario.title}: {scenario.dag_id}"]
        self.lines += textwrap.wrap(scenario.story, WIDTH, initial_indent="   ", subsequent_indent="   ")
        if record is None:
            self.lines.append("   This DAG did not run (see the log).")
            self.check(f"{scenario.dag_id}: ran", False)
            return
        self.lines.append(f"   DAG run {record.run_id}: {record.state} in {_secs(record.seconds)}")
        self.check(f"{scenario.dag_id}: DAG run success", record.state == "success")
        named = record.dbt_runs()
        rows = [
            [
                t["task_id"],
                t["operator"] or "",
                t["state"] or "",
                str(t["try_number"]),
                _secs(t["duration"]),
                ", ".join(str(r) for r, tasks in named.items() if t["task_id"] in tasks) or "-",
            ]
            for t in record.tasks
        ]
        self.lines += _table(["task", "operator", "state", "tries", "time", "dbt Cloud run"], rows)
        runs: list[int] = []
        for run_id in named:
            runs += [*self.retried_runs(run_id), run_id]
        downloaded: dict[int, Path] = {}
        if scenario.dag_id == "example_dbt_cloud_artifacts":
            files = self.artifacts(record)
            # The download tasks read run_job's run (run_job.output), the scenario's only run.
            if len(runs) == 1 and len(files) == 1:
                downloaded[runs[0]] = files[0]
        self.lines.append("   dbt Cloud runs (the dbt Cloud API):")
        for run_id in runs:
            run = self.run(run_id)
            job = run.get("job") or {}
            self.lines += [
                f"    run {run_id} of job {run['job_definition_id']} ({job.get('name', '?')}): "
                f"{run['status_humanized']} in {run['duration_humanized']}",
                f"      url:   {run['href']}",
                f"      cause: {run['trigger']['cause']}",
                *(f"      step:  {step['name']}: {step['status_humanized']}" for step in run["run_steps"]),
            ]
        self.models(runs, downloaded)
        if scenario.dag_id == "example_dbt_cloud_assets_producer":
            self.asset_events(record, runs)
        if scenario.dag_id == "example_dbt_cloud_retry_from_failure":
            self.retry_from_failure(record, runs)

    def models(self, runs: list[int], downloaded: dict[int, Path]) -> None:
        """A table of the models each run built: one column per run."""
        results: dict[int, dict[str, Any]] = {}
        for run_id in runs:
            served = emulator_json(self.emu, f"/runs/{run_id}/artifacts/run_results.json")
            results[run_id] = served
            if run_id in downloaded:
                results[run_id] = json.loads(downloaded[run_id].read_text())
                same = results[run_id] == served
                self.check(f"{downloaded[run_id].name} on disk = what the API serves for run {run_id}", same)
        source = ", ".join(
            f"run {r}: {downloaded[r]}" if r in downloaded else f"run {r}: the API" for r in runs
        )
        self.lines.append(f"   models built (run_results.json; {source}):")
        names: dict[str, dict[int, str]] = {}
        for run_id, result in results.items():
            for node in result["results"]:
                if node["unique_id"].startswith("model."):
                    cell = f"{node['status']} {node['execution_time']:.2f}s"
                    names.setdefault(node["unique_id"].split(".")[-1], {})[run_id] = cell
        shown = [r for r in runs if any(r in cells for cells in names.values())]
        rows = [[name, *(cells.get(r, "- (not run)") for r in shown)] for name, cells in names.items()]
        if shown:
            self.lines += _table(["model", *(f"run {r}" for r in shown)], rows)
        for run_id in runs:
            if not results[run_id]["results"]:
                self.lines.append(f"    run {run_id} ran no dbt nodes (see its step above)")
        for run_id, result in results.items():
            others: dict[str, int] = {}
            for node in result["results"]:
                kind = node["unique_id"].split(".")[0]
                if kind != "model":
                    key = f"{kind} {node['status']}"
                    others[key] = others.get(key, 0) + 1
            if others:
                self.lines.append(
                    f"    run {run_id} also ran: " + ", ".join(f"{n} {k}" for k, n in others.items())
                )

    def artifacts(self, record: DagRunRecord) -> list[Path]:
        """List the files the download tasks wrote (their XCom), checked on disk.

        :return: The ``run_results.json`` files among them.
        """
        self.lines.append("   artifacts written (each download task's XCom return value, checked on disk):")
        found: list[Path] = []
        rows = []
        for task in record.tasks:
            if task["operator"] != ARTIFACT_OPERATOR:
                continue
            written = record.xcom.get(task["task_id"], {}).get("return_value") or []
            for location in [written] if isinstance(written, str) else written:
                path = Path(location.removeprefix("file://"))
                size = f"{path.stat().st_size / 1024:.1f} KiB" if path.is_file() else "MISSING"
                self.check(f"artifact on disk: {location}", path.is_file())
                rows.append([task["task_id"], location, size])
                if path.is_file() and path.name.endswith("run_results.json"):
                    found.append(path)
        self.lines += _table(["task", "written to", "size"], rows)
        self.check("example_dbt_cloud_artifacts: files written", bool(rows))
        return found

    def asset_events(self, record: DagRunRecord, runs: list[int]) -> None:
        events = record.asset_events
        self.lines.append(f"   asset events emitted ({len(events)}, from Airflow's metadata):")
        rows = [
            [e["uri"], e["extra"].get("unique_id", "?"), str(e["extra"].get("dbt_cloud_run_id", "?"))]
            for e in events
        ]
        self.lines += _table(["asset URI", "dbt node", "run"], rows)
        self.check(
            "example_dbt_cloud_assets_producer: asset events for the run",
            bool(events) and all(e["extra"].get("dbt_cloud_run_id") in runs for e in events),
        )

    def retry_from_failure(self, record: DagRunRecord, runs: list[int]) -> None:
        task = next(t for t in record.tasks if t["operator"] == RUN_OPERATOR)
        failed = [r for r in runs if self.run(r)["status_humanized"] == "Error"]
        if not failed:
            self.check("retry from failure: the first run failed", False)
            return
        first = failed[0]
        results = emulator_json(self.emu, f"/runs/{first}/artifacts/run_results.json")["results"]
        bad = [n for n in results if n["status"] in FAILED]
        skipped = sum(1 for n in results if n["status"] == "skipped")
        self.lines.append(f"   failed nodes of run {first} (its run_results.json):")
        rows = [[n["unique_id"], n["status"], f"{n['execution_time']:.2f}s"] for n in bad]
        self.lines += _table(["node", "status", "time"], rows)
        for node in bad:
            message = f"{node['unique_id'].split('.')[-1]}: {' '.join((node.get('message') or '').split())}"
            self.lines += textwrap.wrap(message, WIDTH, initial_indent="      ", subsequent_indent="        ")
        if skipped:
            self.lines.append(f"    {skipped} nodes downstream of them skipped")
        self.check(f"failed-node table names {FAILING_NODE}", FAILING_NODE in [n["unique_id"] for n in bad])
        final = runs[-1]
        posts = self.retry_posts(first)
        final_run = self.run(final)
        line = (
            f"Retry from failure: try 1 of {task['task_id']} failed with run {first}; "
            f"try {task['try_number']} "
            f"sent {'; '.join(posts) or 'no retry request'}, and dbt Cloud ran {final} "
            f"({final_run['trigger']['cause']!r}): {final_run['status_humanized']}."
        )
        self.lines += textwrap.wrap(line, WIDTH, initial_indent="   ", subsequent_indent="     ")
        self.check(
            "retry from failure: try 2 retried the failed run and it succeeded",
            task["try_number"] == 2
            and len(posts) == 1
            and final_run["status_humanized"] == "Success"
            and record.state == "success",
        )

    # ---- across scenarios -------------------------------------------------------------------------------
    def duplicates(self, records: list[DagRunRecord]) -> None:
        """Runs the emulator created per job against the tries of the tasks that start runs."""
        tries: dict[int, list[str]] = {}
        for record in records:
            for task in record.tasks:
                if task["operator"] == RUN_OPERATOR and task["job_id"] is not None and task["try_number"]:
                    tries.setdefault(int(task["job_id"]), []).append(
                        f"{task['task_id']} {task['try_number']}"
                    )
        posts: dict[int, dict[str, int]] = {}
        for entry in self.emu.journal:
            route = entry.get("route")
            if entry["method"] != "POST" or route not in ("trigger_run", "retry_run", "rerun"):
                continue
            if route == "retry_run":
                job = int(self.run(int(entry["path"].split("/runs/")[1].split("/")[0]))["job_definition_id"])
            else:
                job = int(entry["path"].split("/jobs/")[1].split("/")[0])
            posts.setdefault(job, {}).setdefault(route, 0)
            posts[job][route] += 1
        self.lines += ["", "== No duplicate runs: the emulator's counts against Airflow's task tries"]
        rows = []
        every_try_one_run = True
        for job in sorted(set(tries) | set(posts)):
            created = self.emu.runs_created(job)
            task_tries = sum(int(t.rsplit(" ", 1)[1]) for t in tries.get(job, []))
            every_try_one_run &= created == task_tries
            counts = posts.get(job, {})
            rows.append(
                [
                    str(job),
                    str(created),
                    str(counts.get("trigger_run", 0)),
                    str(counts.get("retry_run", 0) + counts.get("rerun", 0)),
                    f"{task_tries} ({', '.join(tries.get(job, []))})",
                ]
            )
        self.lines += _table(
            [
                "job",
                "runs created",
                "run POSTs",
                "retry POSTs",
                f"tries of its {RUN_OPERATOR} tasks (Airflow)",
            ],
            rows,
        )
        verdict = "yes: one run per try, none twice" if every_try_one_run else "NO"
        self.lines.append(f"    runs created = task tries for every job: {verdict}")
        self.check("no duplicate runs: runs created per job = task tries", every_try_one_run and bool(rows))


def summarize(emu: Any, records: dict[str, DagRunRecord]) -> tuple[list[str], list[Check]]:
    """Build the summary of the scenarios that ran.

    :param emu: The emulator the DAGs ran against, still running.
    :param records: What Airflow recorded, by DAG id; a scenario missing here did not run.
    :return: The summary's lines and the checks.
    """
    summary = _Summary(emu)
    for number, scenario in enumerate(SCENARIOS, 1):
        summary.scenario(number, scenario, records.get(scenario.dag_id))
    summary.duplicates(list(records.values()))
    summary.lines.append(
        f"    (emulator: {emu.requests} API requests, {emu.connections_accepted} TCP connections)"
    )
    return summary.lines, summary.checks


#: How to run the same DAGs against a real account; printed at the end of both demos.
REAL_ACCOUNT = """\
== The same DAGs against your dbt Cloud account
    Put the DAG files of example_dags/ in your Airflow's DAGs folder and set one connection variable
    (host: your tenant, e.g. cloud.getdbt.com or emea.dbt.com; login: the account id; password: an API
    token; see docs/connection.md):
      export AIRFLOW_CONN_DBT_CLOUD_DEFAULT='{"conn_type": "dbt_cloud", "host": "cloud.getdbt.com", \
"login": "<account id>", "password": "<token>"}'
      export DBT_CLOUD_JOB_ID=<your job id>    # the examples run job 300 (301 for retry from failure)
      airflow dags test example_dbt_cloud_run_job
    Without the demo's cluster policy they poll dbt Cloud every 10 to 60 s, as written."""


def footer(checks: list[Check]) -> list[str]:
    """The checks, one line each, and the verdict."""
    lines = ["", "== Checks"]
    lines += [f"    {'ok  ' if c.ok else 'FAIL'}  {c.what}" for c in checks]
    ok = all(c.ok for c in checks)
    lines.append(f"Demo {'finished as expected' if ok else 'did NOT behave as expected'}.")
    return lines
