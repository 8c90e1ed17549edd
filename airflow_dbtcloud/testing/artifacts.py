"""dbt artifacts of an emulated step: run_results.json (v6), manifest.json (v12), catalog.json (v1), logs.

Manifests and run results are produced by generators, so a large project's files are streamed in chunks
of about 64 KiB and never held whole in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_dbtcloud.testing import manifest_nodes
from airflow_dbtcloud.testing.adapters import ADAPTERS, DEFAULT_ADAPTER, Adapter
from airflow_dbtcloud.testing.project import PROJECT, Node, Project, project_for

DBT_VERSION = "1.11.6"
_SCHEMAS = "https://schemas.getdbt.com/dbt/"
_CHUNK = 64 * 1024
_FAILURES = 3


def iso(ts: float) -> str:
    """Format an epoch as dbt artifacts do (``2026-11-25T10:00:00.123456Z``).

    :param ts: Seconds since the epoch.
    :return: The ISO 8601 string.
    """
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class NodeResult:
    """Outcome of one node in a step.

    :param unique_id: Node id.
    :param status: run_results status (``success``, ``error``, ``skipped``, ``pass``, ``fail``, ``warn``).
    :param started_at: Epoch the node started.
    :param completed_at: Epoch the node finished.
    :param message: Adapter or error message.
    :param node: The project node.
    :param relation_name: The node's relation as the adapter quotes it (None for tests).
    :param response: The ``adapter_response`` of a node that succeeded.
    """

    unique_id: str
    status: str
    started_at: float
    completed_at: float
    message: str | None
    node: Node
    relation_name: str | None = None
    response: dict[str, Any] = field(default_factory=dict)


def _defaults(project: Project | None, adapter: Adapter | None) -> tuple[Project, Adapter]:
    return project or project_for(0), adapter or ADAPTERS[DEFAULT_ADAPTER]


def execute(
    selected: list[str],
    failing: set[str],
    start: float,
    end: float,
    *,
    warning: set[str] | frozenset[str] = frozenset(),
    build: bool = False,
    project: Project | None = None,
    adapter: Adapter | None = None,
) -> list[NodeResult]:
    """Decide each selected node's outcome: ``failing`` nodes error (tests fail), their descendants skip.

    :param selected: Node ids in execution order.
    :param failing: Node ids that fail.
    :param start: Epoch the step started.
    :param end: Epoch the step finished.
    :param warning: Test ids that warn (a warning fails nothing).
    :param build: The step is a ``dbt build``: a failed test also skips what is downstream of the node
        it tests.
    :param project: The project the nodes belong to (default: the base project).
    :param adapter: The warehouse adapter (default: postgres).
    :return: One result per selected node.
    """
    project, adapter = _defaults(project, adapter)
    failed = failing & set(selected)
    skipped = project.descendants(failed)
    if build:
        skipped |= project.blocked_by_tests({u for u in failed if project.by_id[u].resource_type == "test"})
    slot = (end - start) / max(len(selected), 1)
    out: list[NodeResult] = []
    for i, uid in enumerate(selected):
        node = project.by_id[uid]
        t0, t1 = start + i * slot, start + (i + 1) * slot
        relation = manifest_nodes.relation_name(node, adapter)
        if uid in skipped:
            out.append(NodeResult(uid, "skipped", t0, t0, None, node, relation))
        elif node.resource_type == "test":
            status = "fail" if uid in failed else "warn" if uid in warning else "pass"
            message = f"Got {_FAILURES} results, configured to {status} if != 0" if status != "pass" else None
            out.append(NodeResult(uid, status, t0, t1, message, node, relation))
        elif uid in failed:
            database, schema = adapter.location(node.resource_type)
            msg = (
                f"Database Error in {node.resource_type} {node.name} ({node.original_file_path})\n"
                f'  relation "{database}.{schema}.{node.identifier}__dbt_tmp" could not be created: '
                "permission denied for schema"
            )
            out.append(NodeResult(uid, "error", t0, t1, msg, node, relation))
        else:
            message, response = adapter.response(uid, node.materialized)
            out.append(NodeResult(uid, "success", t0, t1, message, node, relation, response))
    return out


def _metadata(kind: str, version: str, invocation_id: str, generated: float) -> dict[str, Any]:
    return {
        "dbt_schema_version": f"{_SCHEMAS}{kind}/{version}.json",
        "dbt_version": DBT_VERSION,
        "generated_at": iso(generated),
        "invocation_id": invocation_id,
        "env": {},
    }


class _Buffer:
    """Collects JSON text and hands it out in chunks of about :data:`_CHUNK` characters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = 0
        self.emitted = 0

    def add(self, text: str) -> Iterator[bytes]:
        self.parts.append(text)
        self.pending += len(text)
        if self.pending >= _CHUNK:
            yield self.flush()

    def flush(self) -> bytes:
        data = "".join(self.parts).encode()
        self.parts, self.emitted, self.pending = [], self.emitted + self.pending, 0
        return data


def run_results_chunks(
    results: list[NodeResult], command: str, invocation_id: str, generated: float, elapsed: float
) -> Iterator[bytes]:
    """Yield run_results.json (schema v6) in pieces.

    :param results: Node outcomes of the step.
    :param command: The dbt command of the step.
    :param invocation_id: The step's invocation id.
    :param generated: Epoch the file was written.
    :param elapsed: Step duration in seconds.
    :return: An iterator of byte chunks that together form one JSON document.
    """
    buf = _Buffer()
    meta = json.dumps(_metadata("run-results", "v6", invocation_id, generated))
    yield from buf.add(f'{{"metadata": {meta}, "results": [')
    for i, r in enumerate(results):
        yield from buf.add((", " if i else "") + json.dumps(run_result(r)))
    words = command.split()
    args = {"which": words[1] if len(words) > 1 else "", "invocation_command": command}
    yield from buf.add(f'], "elapsed_time": {json.dumps(round(elapsed, 6))}, "args": {json.dumps(args)}}}')
    yield buf.flush()


def run_results(
    results: list[NodeResult], command: str, invocation_id: str, generated: float, elapsed: float
) -> bytes:
    """Build run_results.json (schema v6) whole; see :func:`run_results_chunks` for the parameters.

    :param results: Node outcomes of the step.
    :param command: The dbt command of the step.
    :param invocation_id: The step's invocation id.
    :param generated: Epoch the file was written.
    :param elapsed: Step duration in seconds.
    :return: The JSON document.
    """
    return b"".join(run_results_chunks(results, command, invocation_id, generated, elapsed))


def run_result(r: NodeResult) -> dict[str, Any]:
    """Return the entry of run_results.json's ``results`` that describes one node, as it is served.

    :param r: The node's outcome.
    :return: The entry (``status``, ``timing``, ``execution_time``, ``message``, ``unique_id``...).
    """
    ran = r.status != "skipped"
    is_test = r.node.resource_type == "test"
    return {
        "status": r.status,
        "timing": [
            {"name": "compile", "started_at": iso(r.started_at), "completed_at": iso(r.started_at)},
            {"name": "execute", "started_at": iso(r.started_at), "completed_at": iso(r.completed_at)},
        ]
        if ran
        else [],
        "thread_id": "Thread-1 (worker)" if ran else "main",
        "execution_time": round(r.completed_at - r.started_at, 6),
        "adapter_response": dict(r.response) if r.status == "success" else {},
        "message": r.message,
        "failures": (_FAILURES if r.status in ("fail", "warn") else 0) if is_test and ran else None,
        "unique_id": r.unique_id,
        "compiled": ran,
        "compiled_code": r.node.raw_code if ran else None,
        "relation_name": r.relation_name,
        "batch_results": None,
    }


def manifest_chunks(
    invocation_id: str,
    generated: float,
    size_mb: float = 0.0,
    *,
    project: Project | None = None,
    adapter: Adapter | None = None,
) -> Iterator[bytes]:
    """Yield manifest.json (schema v12) in pieces, padded with generated models up to ``size_mb``.

    :param invocation_id: Invocation id written in the metadata.
    :param generated: Epoch written as ``generated_at``.
    :param size_mb: Target size in MiB; 0 means the natural size.
    :param project: The project to describe (default: the base project).
    :param adapter: The warehouse adapter (default: postgres).
    :return: An iterator of byte chunks that together form one JSON document.
    """
    project, adapter = _defaults(project, adapter)
    target = int(size_mb * 1024 * 1024)
    meta = _metadata("manifest", "v12", invocation_id, generated)
    meta.update({"project_name": PROJECT, "adapter_type": adapter.name, "send_anonymous_usage_stats": False})
    buf = _Buffer()
    yield from buf.add('{"metadata": ' + json.dumps(meta) + ', "nodes": {')
    for i, node in enumerate(project.nodes):
        doc = json.dumps(manifest_nodes.manifest_node(node, adapter))
        yield from buf.add(("" if i == 0 else ", ") + json.dumps(node.unique_id) + ": " + doc)
    padding = 0
    while buf.emitted + buf.pending < target - 200:
        node_doc = manifest_nodes.padding_node(padding, adapter)
        yield from buf.add(", " + json.dumps(node_doc["unique_id"]) + ": " + json.dumps(node_doc))
        padding += 1
    yield from buf.add(
        '}, "sources": {}, "macros": {}, "docs": {}, "exposures": {}, "metrics": {}, "groups": {}, '
        '"selectors": {}, "disabled": {}, "saved_queries": {}, "semantic_models": {}, "unit_tests": {}, '
        '"group_map": {}'
    )
    for key in ("parent_map", "child_map"):
        yield from buf.add(f', "{key}": {{')
        for i, node in enumerate(project.nodes):
            links = node.parents if key == "parent_map" else project.children[node.unique_id]
            yield from buf.add(
                ("" if i == 0 else ", ") + json.dumps(node.unique_id) + ": " + json.dumps(list(links))
            )
        for i in range(padding):
            yield from buf.add(f', "model.{PROJECT}.generated_model_{i:07d}": []')
        yield from buf.add("}")
    yield from buf.add("}")
    yield buf.flush()


def catalog(
    invocation_id: str, generated: float, *, project: Project | None = None, adapter: Adapter | None = None
) -> bytes:
    """Build catalog.json (schema v1) for the project's models, seeds and snapshots.

    :param invocation_id: Invocation id written in the metadata.
    :param generated: Epoch written as ``generated_at``.
    :param project: The project to describe (default: the base project).
    :param adapter: The warehouse adapter (default: postgres).
    :return: The JSON document.
    """
    project, adapter = _defaults(project, adapter)
    nodes = {
        n.unique_id: manifest_nodes.catalog_table(n, adapter)
        for n in project.nodes
        if n.resource_type != "test"
    }
    doc = {"metadata": _metadata("catalog", "v1", invocation_id, generated), "nodes": nodes, "sources": {}}
    return json.dumps(doc).encode()


def compiled_sql(unique_id: str, project: Project | None = None, adapter: Adapter | None = None) -> bytes:
    """Return the compiled SQL of a node, as stored under ``compiled/<project>/...``.

    :param unique_id: Node id.
    :param project: The project the node belongs to (default: the base project).
    :param adapter: The warehouse adapter (default: postgres).
    :return: SQL text.
    """
    project, adapter = _defaults(project, adapter)
    return manifest_nodes.compiled_sql(project.by_id[unique_id], project, adapter).encode()


def compiled_path(unique_id: str, project: Project | None = None) -> str:
    """Artifact path of a node's compiled SQL.

    :param unique_id: Node id.
    :param project: The project the node belongs to (default: the base project).
    :return: e.g. ``compiled/jaffle_shop/models/orders.sql``.
    """
    node = (project or project_for(0)).by_id[unique_id]
    return f"compiled/{PROJECT}/{node.original_file_path}"
