"""Console logs of an emulated dbt step, as dbt prints them (with ERROR and SKIP lines)."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_dbtcloud.testing.artifacts import DBT_VERSION, NodeResult
from airflow_dbtcloud.testing.project import NODES, SCHEMA


def step_logs(command: str, results: list[NodeResult], start: float, end: float, threads: int) -> str:
    """Render the console log dbt writes for a step, with ERROR lines for failed nodes.

    :param command: The dbt command.
    :param results: Node outcomes.
    :param start: Epoch the step started.
    :param end: Epoch the step finished.
    :param threads: Thread count.
    :return: The log text.
    """

    def ts(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")

    models = sum(1 for n in NODES if n.resource_type == "model")
    seeds = sum(1 for n in NODES if n.resource_type == "seed")
    tests = len(NODES) - models - seeds
    lines = [
        f"{ts(start)}  Running with dbt={DBT_VERSION}",
        f"{ts(start)}  Registered adapter: postgres=1.9.0",
        f"{ts(start)}  Found {models} models, {seeds} seeds, {tests} data tests, 0 sources, 475 macros",
        f"{ts(start)}  ",
        f"{ts(start)}  Concurrency: {threads} threads (target='default')",
        f"{ts(start)}  ",
    ]
    total = len(results)
    counts = {"PASS": 0, "ERROR": 0, "SKIP": 0}
    for i, r in enumerate(results, 1):
        node = r.node
        what = f"{node.resource_type} {SCHEMA}.{node.name}"
        if r.status != "skipped":
            lines.append(f"{ts(r.started_at)}  {i} of {total} START {what} {'.' * 20} [RUN]")
        took = f"{r.completed_at - r.started_at:.2f}s"
        if r.status == "skipped":
            counts["SKIP"] += 1
            lines.append(
                f"{ts(r.started_at)}  {i} of {total} SKIP relation {SCHEMA}.{node.name} {'.' * 12} [SKIP]"
            )
        elif r.status in ("error", "fail"):
            counts["ERROR"] += 1
            label = "FAIL 3" if r.status == "fail" else "ERROR"
            lines.append(
                f"{ts(r.completed_at)}  {i} of {total} {label} {what} {'.' * 12} [{label} in {took}]"
            )
        else:
            counts["PASS"] += 1
            lines.append(
                f"{ts(r.completed_at)}  {i} of {total} OK {what} {'.' * 12} [{r.message or 'PASS'} in {took}]"
            )
    lines.append(f"{ts(end)}  ")
    lines.append(
        f"{ts(end)}  Finished running {total} nodes in 0 hours 0 minutes and {end - start:.2f} seconds."
    )
    failed = [r for r in results if r.status in ("error", "fail")]
    if failed:
        lines.append(
            f"{ts(end)}  Completed with {len(failed)} error(s), 0 partial successes, and 0 warnings:"
        )
        for r in failed:
            lines.append(
                f"{ts(end)}  Failure in {r.node.resource_type} {r.node.name} ({r.node.original_file_path})"
            )
            lines.append(f"{ts(end)}    {r.message}")
    else:
        lines.append(f"{ts(end)}  Completed successfully")
    lines.append(
        f"{ts(end)}  Done. PASS={counts['PASS']} WARN=0 ERROR={counts['ERROR']} SKIP={counts['SKIP']} "
        f"NO-OP=0 TOTAL={total}"
    )
    return "\n".join(lines) + "\n"
