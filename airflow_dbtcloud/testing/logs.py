"""Console logs of an emulated dbt step, as dbt prints them, growing while the step runs."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_dbtcloud.testing.adapters import Adapter
from airflow_dbtcloud.testing.artifacts import DBT_VERSION, NodeResult
from airflow_dbtcloud.testing.lifecycle import ERROR, SUCCESS, Run, StepView
from airflow_dbtcloud.testing.project import Node, Project


def console_log(run: Run, step: StepView, now: float) -> str:
    """Return a step's console log as it reads at ``now``, growing as dbt prints it.

    The banner comes first. Then, for each node whose time has come, its ``N of M START`` line and, once it
    completed, its result line (a skipped node has only its ``SKIP`` line). The summary follows only when
    the step ended with success or error; a cancelled step's log stops where the cancel cut it.

    :param run: The run the step belongs to.
    :param step: The step, as the run's view shows it at ``now``.
    :param now: The emulator epoch to render the log at.
    :return: The log text.
    """
    lines = _banner(step.start, run)
    results = run.results(step)
    total = len(results)
    if step.status in (SUCCESS, ERROR):
        for i, r in enumerate(results, 1):
            lines.extend(_node_lines(i, total, r, run.adapter, completed=True))
        assert step.end is not None
        lines.extend(_summary(results, step.start, step.end))
    else:
        cutoff = now if step.end is None else min(now, step.end)
        for i, r in enumerate(results, 1):
            if r.started_at > cutoff:
                break
            lines.extend(_node_lines(i, total, r, run.adapter, completed=r.completed_at <= cutoff))
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


_WIDTH = 80  # dbt pads each progress line with dots to its printer width


def _progress(index: int, total: int, message: str, status: str, took: float | None = None) -> str:
    # dbt's progress line: "N of M <message> ....... [<status> in 0.12s]"
    timing = "" if took is None else f" in {took:0.2f}s"
    return f"{f'{index} of {total} {message} '.ljust(_WIDTH, '.')} [{status}{timing}]"


def _relation(node: Node, adapter: Adapter) -> str:
    """Return the relation dbt prints for a node: ``schema.alias``, without the database."""
    return f"{adapter.location(node.resource_type)[1]}.{node.identifier}"


def _describe(node: Node, adapter: Adapter) -> str:
    """Return how dbt names a node in its ``START`` line."""
    if node.resource_type == "model":
        return f"sql {node.materialized} model {_relation(node, adapter)}"
    if node.resource_type == "seed":
        return f"seed file {_relation(node, adapter)}"
    if node.resource_type == "snapshot":
        return f"snapshot {_relation(node, adapter)}"
    return f"test {node.name}"


# (success, error) wording of dbt's result line, per resource type; a snapshot's names only the relation
_VERBS = {
    "model": ("OK created", "ERROR creating"),
    "seed": ("OK loaded", "ERROR loading"),
    "snapshot": ("OK snapshotted", "ERROR snapshotting"),
}


def _result_line(i: int, total: int, r: NodeResult, adapter: Adapter) -> str:
    node, took = r.node, r.completed_at - r.started_at
    if node.resource_type == "test":
        label = {"pass": "PASS", "warn": "WARN 3", "fail": "FAIL 3"}.get(r.status, "ERROR")
        return _progress(i, total, f"{label} {node.name}", label, took)
    ok, failed = _VERBS[node.resource_type]
    what = _relation(node, adapter) if node.resource_type == "snapshot" else _describe(node, adapter)
    if r.status == "error":
        return _progress(i, total, f"{failed} {what}", "ERROR", took)
    return _progress(i, total, f"{ok} {what}", r.message or "OK", took)


def _node_lines(i: int, total: int, r: NodeResult, adapter: Adapter, *, completed: bool) -> list[str]:
    node = r.node
    if r.status == "skipped":
        schema = adapter.location(node.resource_type)[1]
        what = f"test {node.name}" if node.resource_type == "test" else f"relation {schema}.{node.name}"
        return [f"{_hms(r.started_at)}  {_progress(i, total, f'SKIP {what}', 'SKIP')}"]
    start = f"{_hms(r.started_at)}  {_progress(i, total, f'START {_describe(node, adapter)}', 'RUN')}"
    if not completed:
        return [start]
    return [start, f"{_hms(r.completed_at)}  {_result_line(i, total, r, adapter)}"]


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
