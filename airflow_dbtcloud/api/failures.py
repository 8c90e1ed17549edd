"""What went wrong in a run, as the task log shows it: failed steps and a table of failed nodes.

Pure functions of a :class:`~airflow_dbtcloud.api.run_state.RunState` (with its steps) and a parsed
``run_results.json``; the hook fetches them and every waiter (hook, operator, sensor) logs the same
report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.status import status_name

__all__ = [
    "FAILED_NODE_STATUSES",
    "FailedNode",
    "FailedStep",
    "FailureReport",
    "failed_nodes",
    "failed_steps",
]

#: Node statuses in ``run_results.json`` that count as failures.
FAILED_NODE_STATUSES = frozenset({"error", "fail", "runtime error"})
_MESSAGE_WIDTH = 100
_LOG_TAIL_LINES = 8


@dataclass(frozen=True)
class FailedStep:
    """One run step that did not succeed.

    :param index: The step's index, starting at 1.
    :param name: The step's name, e.g. "Invoke dbt with `dbt build`".
    :param status: The step's humanized status.
    :param duration: The step's humanized duration, if known.
    :param log_tail: The last lines of the step's log.
    """

    index: int
    name: str
    status: str
    duration: str | None = None
    log_tail: tuple[str, ...] = ()


@dataclass(frozen=True)
class FailedNode:
    """One node that failed in ``run_results.json``.

    :param node: The node's unique id, e.g. ``model.jaffle_shop.orders``.
    :param status: The node's status (``error``, ``fail``).
    :param message: dbt's message for the node, on one line.
    :param seconds: The node's execution time, in seconds.
    """

    node: str
    status: str
    message: str
    seconds: float | None


@dataclass(frozen=True)
class FailureReport:
    """Everything the task log says about a failed or cancelled run.

    :param run_id: The dbt Cloud run id.
    :param status: The run's humanized status.
    :param url: The run's page in dbt Cloud, if known.
    :param status_message: dbt Cloud's message for the run, if any.
    :param steps: The steps that did not succeed.
    :param nodes: The nodes that failed.
    :param notes: What could not be gathered, and why.
    """

    run_id: int
    status: str
    url: str | None = None
    status_message: str | None = None
    steps: tuple[FailedStep, ...] = ()
    nodes: tuple[FailedNode, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def render(self) -> str:
        """Return the report as text for the task log and the exception.

        :return: Several lines: a headline, the failed steps, the failed-node table and the run URL.
        """
        lines = [f"dbt Cloud run {self.run_id} ended with status {self.status}."]
        if self.status_message:
            lines.append(f"dbt Cloud says: {self.status_message}")
        for step in self.steps:
            took = f" after {step.duration}" if step.duration else ""
            lines.append(f"Step {step.index} {step.status}{took}: {step.name}")
            lines.extend(f"    | {line}" for line in step.log_tail)
        if self.nodes:
            lines.append(f"Failed nodes ({len(self.nodes)}):")
            lines.extend(_table(self.nodes))
        lines.extend(self.notes)
        if self.url:
            lines.append(f"Run: {self.url}")
        return "\n".join(lines)


def _table(nodes: Sequence[FailedNode]) -> list[str]:
    rows = [("node", "status", "message", "time")]
    for node in nodes:
        seconds = "" if node.seconds is None else f"{node.seconds:.1f}s"
        rows.append((node.node, node.status, node.message, seconds))
    widths = [max(len(row[col]) for row in rows) for col in range(4)]
    out = []
    for number, row in enumerate(rows):
        out.append("  " + "  ".join(cell.ljust(widths[col]) for col, cell in enumerate(row)).rstrip())
        if number == 0:
            out.append("  " + "  ".join("-" * width for width in widths))
    return out


def _one_line(text: Any) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= _MESSAGE_WIDTH else flat[: _MESSAGE_WIDTH - 1] + "…"


def failed_steps(run: RunState) -> list[FailedStep]:
    """Pick the steps that errored or were cancelled.

    :param run: The run, fetched with ``include_related=["run_steps"]``.
    :return: The failed steps in order.
    """
    return [
        FailedStep(
            index=step.index,
            name=step.name,
            status=step.status_humanized or status_name(step.status),
            duration=step.duration,
            log_tail=tuple(step.logs.strip().splitlines()[-_LOG_TAIL_LINES:]),
        )
        for step in run.steps
        if step.failed
    ]


def failed_nodes(run_results: Any) -> list[FailedNode]:
    """Pick the failed nodes from a parsed ``run_results.json``.

    :param run_results: The parsed file; anything malformed yields no nodes.
    :return: The failed nodes in file order.
    """
    if not isinstance(run_results, Mapping):
        return []
    nodes = []
    for result in run_results.get("results") or []:
        if not isinstance(result, Mapping) or str(result.get("status")).lower() not in FAILED_NODE_STATUSES:
            continue
        seconds = result.get("execution_time")
        nodes.append(
            FailedNode(
                node=str(result.get("unique_id") or "?"),
                status=str(result.get("status")),
                message=_one_line(result.get("message")),
                seconds=float(seconds) if isinstance(seconds, int | float) else None,
            )
        )
    return nodes
