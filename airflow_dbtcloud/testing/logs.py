"""Console logs of an emulated dbt step, as dbt prints them (with ERROR and SKIP lines)."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_dbtcloud.testing.artifacts import DBT_VERSION, NodeResult
from airflow_dbtcloud.testing.lifecycle import Run, StepView
from airflow_dbtcloud.testing.project import NODES, SCHEMA


def console_log(run: Run, step: StepView) -> str:
    """Return a step's console log as it reads now: only dbt's banner while the step runs.

    :param run: The run the step belongs to.
    :param step: The step, as the run's view shows it at this instant.
    :return: The log text.
    """
    if step.end is None:
        return f"Running with dbt={DBT_VERSION}\nRegistered adapter: postgres=1.9.0\n"
    return step_logs(step.command, run.results(step), step.start, step.end, run.threads)


def step_logs(command: str, results: list[NodeResult], start: float, end: float, threads: int) -> str:
    """Render the console log dbt writes for a step, with ERROR lines for failed nodes.

    :param command: The dbt command.
    :param results: Node outcomes.
    :param start: Epoch the step started.
    :param end: Epoch the step finished.
    :param threads: Thread count.
    :return: The log text.
    """
    lines = _banner(start, threads)
    for i, r in enumerate(results, 1):
        lines.extend(_node_lines(i, len(results), r))
    lines.extend(_summary(results, start, end))
    return "\n".join(lines) + "\n"


def _hms(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def _banner(start: float, threads: int) -> list[str]:
    at = _hms(start)
    models = sum(1 for n in NODES if n.resource_type == "model")
    seeds = sum(1 for n in NODES if n.resource_type == "seed")
    tests = len(NODES) - models - seeds
    return [
        f"{at}  Running with dbt={DBT_VERSION}",
        f"{at}  Registered adapter: postgres=1.9.0",
        f"{at}  Found {models} models, {seeds} seeds, {tests} data tests, 0 sources, 475 macros",
        f"{at}  ",
        f"{at}  Concurrency: {threads} threads (target='default')",
        f"{at}  ",
    ]


def _node_lines(i: int, total: int, r: NodeResult) -> list[str]:
    node = r.node
    begun, done = _hms(r.started_at), _hms(r.completed_at)
    if r.status == "skipped":
        return [f"{begun}  {i} of {total} SKIP relation {SCHEMA}.{node.name} {'.' * 12} [SKIP]"]
    what = f"{node.resource_type} {SCHEMA}.{node.name}"
    took = f"{r.completed_at - r.started_at:.2f}s"
    if r.status in ("error", "fail"):
        label = "FAIL 3" if r.status == "fail" else "ERROR"
        outcome = f"{label} {what} {'.' * 12} [{label} in {took}]"
    else:
        outcome = f"OK {what} {'.' * 12} [{r.message or 'PASS'} in {took}]"
    return [f"{begun}  {i} of {total} START {what} {'.' * 20} [RUN]", f"{done}  {i} of {total} {outcome}"]


def _summary(results: list[NodeResult], start: float, end: float) -> list[str]:
    at, total = _hms(end), len(results)
    failed = [r for r in results if r.status in ("error", "fail")]
    skipped = sum(1 for r in results if r.status == "skipped")
    lines = [
        f"{at}  ",
        f"{at}  Finished running {total} nodes in 0 hours 0 minutes and {end - start:.2f} seconds.",
    ]
    if failed:
        lines.append(f"{at}  Completed with {len(failed)} error(s), 0 partial successes, and 0 warnings:")
        for r in failed:
            lines.append(
                f"{at}  Failure in {r.node.resource_type} {r.node.name} ({r.node.original_file_path})"
            )
            lines.append(f"{at}    {r.message}")
    else:
        lines.append(f"{at}  Completed successfully")
    passed = total - len(failed) - skipped
    lines.append(f"{at}  Done. PASS={passed} WARN=0 ERROR={len(failed)} SKIP={skipped} NO-OP=0 TOTAL={total}")
    return lines
