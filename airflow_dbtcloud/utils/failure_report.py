"""The failure output: failed steps and a table of failed nodes from ``run_results.json``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_dbtcloud.hooks.dbt import DbtCloudError

if TYPE_CHECKING:
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

__all__ = [
    "FailedNode",
    "FailedStep",
    "FailureReport",
    "collect_failure_report",
    "failed_nodes",
    "failed_steps",
]

#: Node statuses in ``run_results.json`` that count as failures.
FAILED_NODE_STATUSES = frozenset({"error", "fail", "runtime error"})
_STEP_FAILED = frozenset({20, 30})
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


def failed_steps(run: Mapping[str, Any]) -> list[FailedStep]:
    """Pick the steps that errored or were cancelled from a run with ``run_steps``.

    :param run: The run, fetched with ``include_related=("run_steps",)``.
    :return: The failed steps in order.
    """
    steps = []
    for step in run.get("run_steps") or []:
        if step.get("status") not in _STEP_FAILED:
            continue
        logs = str(step.get("logs") or "").strip().splitlines()
        steps.append(
            FailedStep(
                index=int(step.get("index") or 0),
                name=str(step.get("name") or "?"),
                status=str(step.get("status_humanized") or step.get("status")),
                duration=step.get("duration_humanized") or step.get("duration"),
                log_tail=tuple(logs[-_LOG_TAIL_LINES:]),
            )
        )
    return steps


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


def collect_failure_report(
    hook: DbtCloudHook, run_id: int, account_id: int | None = None, url: str | None = None
) -> FailureReport:
    """Ask dbt Cloud for the run's steps and ``run_results.json`` and build the report.

    API errors while gathering are noted in the report rather than raised: the run's failure is what the
    task must report.

    :param hook: The hook to ask.
    :param run_id: The dbt Cloud run id.
    :param account_id: The account id; ``None`` uses the connection's.
    :param url: The run's URL, used when the run cannot be fetched.
    :return: The report.
    """
    notes: list[str] = []
    try:
        run = hook.get_run_data(run_id, account_id, include_related=("run_steps",))
    except DbtCloudError as exc:
        return FailureReport(run_id, "unknown", url, notes=(f"Could not fetch the run: {exc}",))
    steps = failed_steps(run)
    nodes: list[FailedNode] = []
    step_index = steps[-1].index if steps else None
    try:
        results = hook.get_artifact_json(run_id, "run_results.json", account_id, step=step_index)
        if results is None and step_index is not None:
            results = hook.get_artifact_json(run_id, "run_results.json", account_id)
        nodes = failed_nodes(results)
        if results is None:
            notes.append("No run_results.json was saved for this run.")
    except DbtCloudError as exc:
        notes.append(f"Could not fetch run_results.json: {exc}")
    return FailureReport(
        run_id=run_id,
        status=str(run.get("status_humanized") or run.get("status")),
        url=run.get("href") or url,
        status_message=run.get("status_message") or None,
        steps=tuple(steps),
        nodes=tuple(nodes),
        notes=tuple(notes),
    )
