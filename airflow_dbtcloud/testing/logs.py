"""Console logs of an emulated dbt step, as dbt prints them (with ERROR and SKIP lines)."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_dbtcloud.testing.adapters import Adapter
from airflow_dbtcloud.testing.artifacts import DBT_VERSION, NodeResult
from airflow_dbtcloud.testing.lifecycle import Run, StepView
from airflow_dbtcloud.testing.project import Project


def console_log(run: Run, step: StepView) -> str:
    """Return a step's console log as it reads now: only dbt's banner while the step runs.

    :param run: The run the step belongs to.
    :param step: The step, as the run's view shows it at this instant.
    :return: The log text.
    """
    if step.end is None:
        return f"Running with dbt={DBT_VERSION}\n{_registered(run.adapter)}\n"
    lines = _banner(step.start, run)
    results = run.results(step)
    for i, r in enumerate(results, 1):
        lines.extend(_node_lines(i, len(results), r, run.adapter))
    lines.extend(_summary(results, step.start, step.end))
    return "\n".join(lines) + "\n"


def _registered(adapter: Adapter) -> str:
    return f"Registered adapter: {adapter.name}={adapter.plugin_version}"


def _hms(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def _found(project: Project) -> str:
    counts = [(project.count(kind), label) for kind, label in _KINDS]
    shown = [f"{n} {label}{'' if n == 1 else 's'}" for n, label in counts if n]
    return ", ".join([*shown, "0 sources", "475 macros"])


_KINDS = (("model", "model"), ("snapshot", "snapshot"), ("seed", "seed"), ("test", "data test"))


def _banner(start: float, run: Run) -> list[str]:
    at = _hms(start)
    return [
        f"{at}  Running with dbt={DBT_VERSION}",
        f"{at}  {_registered(run.adapter)}",
        f"{at}  Found {_found(run.project)}",
        f"{at}  ",
        f"{at}  Concurrency: {run.threads} threads (target='default')",
        f"{at}  ",
    ]


def _node_lines(i: int, total: int, r: NodeResult, adapter: Adapter) -> list[str]:
    node = r.node
    begun, done = _hms(r.started_at), _hms(r.completed_at)
    relation = f"{adapter.location(node.resource_type)[1]}.{node.identifier}"
    if r.status == "skipped":
        return [f"{begun}  {i} of {total} SKIP relation {relation} {'.' * 12} [SKIP]"]
    what = f"{node.resource_type} {relation}"
    took = f"{r.completed_at - r.started_at:.2f}s"
    if r.status in ("error", "fail", "warn"):
        label = {"fail": "FAIL 3", "warn": "WARN 3"}.get(r.status, "ERROR")
        outcome = f"{label} {what} {'.' * 12} [{label} in {took}]"
    else:
        outcome = f"OK {what} {'.' * 12} [{r.message or 'PASS'} in {took}]"
    return [f"{begun}  {i} of {total} START {what} {'.' * 20} [RUN]", f"{done}  {i} of {total} {outcome}"]


def _summary(results: list[NodeResult], start: float, end: float) -> list[str]:
    at, total = _hms(end), len(results)
    failed = [r for r in results if r.status in ("error", "fail")]
    warned = sum(1 for r in results if r.status == "warn")
    skipped = sum(1 for r in results if r.status == "skipped")
    lines = [
        f"{at}  ",
        f"{at}  Finished running {total} nodes in 0 hours 0 minutes and {end - start:.2f} seconds.",
    ]
    if failed:
        lines.append(
            f"{at}  Completed with {len(failed)} error(s), 0 partial successes, and {warned} warnings:"
        )
        for r in failed:
            lines.append(
                f"{at}  Failure in {r.node.resource_type} {r.node.name} ({r.node.original_file_path})"
            )
            lines.append(f"{at}    {r.message}")
    elif warned:
        lines.append(f"{at}  Completed with {warned} warning(s):")
    else:
        lines.append(f"{at}  Completed successfully")
    passed = total - len(failed) - skipped - warned
    counts = f"PASS={passed} WARN={warned} ERROR={len(failed)} SKIP={skipped} NO-OP=0 TOTAL={total}"
    lines.append(f"{at}  Done. {counts}")
    return lines
