"""dbt artifacts of an emulated step: run_results.json (v6), manifest.json (v12), catalog.json (v1), logs.

Large manifests are produced by a generator so they are streamed and never held whole in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_dbtcloud.testing.project import (
    BY_ID,
    CHILDREN,
    DATABASE,
    NODES,
    PROJECT,
    SCHEMA,
    Node,
    descendants,
)

DBT_VERSION = "1.11.6"
_SCHEMAS = "https://schemas.getdbt.com/dbt/"
_CHUNK = 64 * 1024


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
    :param status: run_results status (``success``, ``error``, ``skipped``, ``pass``, ``fail``).
    :param started_at: Epoch the node started.
    :param completed_at: Epoch the node finished.
    :param message: Adapter or error message.
    """

    unique_id: str
    status: str
    started_at: float
    completed_at: float
    message: str | None

    @property
    def node(self) -> Node:
        """The project node."""
        return BY_ID[self.unique_id]


def execute(selected: list[str], failing: set[str], start: float, end: float) -> list[NodeResult]:
    """Decide each selected node's outcome: ``failing`` nodes error (tests fail), their descendants skip.

    :param selected: Node ids in execution order.
    :param failing: Node ids that fail.
    :param start: Epoch the step started.
    :param end: Epoch the step finished.
    :return: One result per selected node.
    """
    skipped = descendants(failing & set(selected))
    slot = (end - start) / max(len(selected), 1)
    out: list[NodeResult] = []
    for i, uid in enumerate(selected):
        node = BY_ID[uid]
        t0, t1 = start + i * slot, start + (i + 1) * slot
        if uid in skipped:
            out.append(NodeResult(uid, "skipped", t0, t0, None))
        elif uid in failing:
            if node.resource_type == "test":
                out.append(NodeResult(uid, "fail", t0, t1, "Got 3 results, configured to fail if != 0"))
            else:
                msg = (
                    f"Database Error in {node.resource_type} {node.name} ({node.original_file_path})\n"
                    f'  relation "{DATABASE}.{SCHEMA}.{node.name}__dbt_tmp" could not be created: '
                    "permission denied for schema"
                )
                out.append(NodeResult(uid, "error", t0, t1, msg))
        elif node.resource_type == "test":
            out.append(NodeResult(uid, "pass", t0, t1, None))
        else:
            msg = {"seed": "INSERT 100", "view": "CREATE VIEW"}.get(node.materialized, "SELECT 100")
            out.append(NodeResult(uid, "success", t0, t1, msg))
    return out


def _metadata(kind: str, version: str, invocation_id: str, generated: float) -> dict[str, Any]:
    return {
        "dbt_schema_version": f"{_SCHEMAS}{kind}/{version}.json",
        "dbt_version": DBT_VERSION,
        "generated_at": iso(generated),
        "invocation_id": invocation_id,
        "env": {},
    }


def run_results(
    results: list[NodeResult], command: str, invocation_id: str, generated: float, elapsed: float
) -> bytes:
    """Build run_results.json (schema v6).

    :param results: Node outcomes of the step.
    :param command: The dbt command of the step.
    :param invocation_id: The step's invocation id.
    :param generated: Epoch the file was written.
    :param elapsed: Step duration in seconds.
    :return: The JSON document.
    """
    doc = {
        "metadata": _metadata("run-results", "v6", invocation_id, generated),
        "results": [_run_result(r) for r in results],
        "elapsed_time": round(elapsed, 6),
        "args": {
            "which": command.split()[1] if len(command.split()) > 1 else "",
            "invocation_command": command,
        },
    }
    return json.dumps(doc).encode()


def _run_result(r: NodeResult) -> dict[str, Any]:
    ran = r.status != "skipped"
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
        "adapter_response": {
            "_message": r.message,
            "code": r.message.split()[0],
            "rows_affected": 100,
        }
        if r.status == "success" and r.message
        else {},
        "message": r.message,
        "failures": (3 if r.status == "fail" else 0) if r.node.resource_type == "test" and ran else None,
        "unique_id": r.unique_id,
        "compiled": ran,
        "compiled_code": r.node.raw_code if ran else None,
        "relation_name": r.node.relation_name,
        "batch_results": None,
    }


def _manifest_node(node: Node) -> dict[str, Any]:
    fqn = [PROJECT, *node.path.removesuffix(".sql").removesuffix(".csv").split("/")]
    out: dict[str, Any] = {
        "database": DATABASE,
        "schema": SCHEMA,
        "name": node.name,
        "resource_type": node.resource_type,
        "package_name": PROJECT,
        "path": node.path,
        "original_file_path": node.original_file_path,
        "unique_id": node.unique_id,
        "fqn": fqn,
        "alias": node.name,
        "checksum": {"name": "sha256", "checksum": node.checksum},
        "config": {"enabled": True, "materialized": node.materialized, "tags": list(node.tags)},
        "tags": list(node.tags),
        "description": "",
        "columns": {c: {"name": c, "description": "", "data_type": t} for c, t in node.columns},
        "relation_name": node.relation_name,
    }
    if node.resource_type != "seed":
        out["raw_code"] = node.raw_code
        out["language"] = "sql"
        out["depends_on"] = {"macros": [], "nodes": list(node.parents)}
    if node.test is not None:
        kind, column, model = node.test
        out["test_metadata"] = {
            "name": kind,
            "kwargs": {"column_name": column, "model": f"{{{{ get_where_subquery(ref('{model}')) }}}}"},
            "namespace": None,
        }
        out["column_name"] = column
        out["attached_node"] = f"model.{PROJECT}.{model}"
    return out


def _padding_node(i: int) -> dict[str, Any]:
    name = f"generated_model_{i:07d}"
    return {
        "database": DATABASE,
        "schema": SCHEMA,
        "name": name,
        "resource_type": "model",
        "package_name": PROJECT,
        "path": f"generated/{name}.sql",
        "original_file_path": f"models/generated/{name}.sql",
        "unique_id": f"model.{PROJECT}.{name}",
        "fqn": [PROJECT, "generated", name],
        "alias": name,
        "checksum": {"name": "sha256", "checksum": f"{i:064x}"},
        "config": {"enabled": True, "materialized": "view", "tags": []},
        "raw_code": "select 1 as id -- " + "x" * 1500,
        "language": "sql",
        "depends_on": {"macros": [], "nodes": []},
    }


def manifest_chunks(invocation_id: str, generated: float, size_mb: float = 0.0) -> Iterator[bytes]:
    """Yield manifest.json (schema v12) in pieces, padded with generated models up to ``size_mb``.

    :param invocation_id: Invocation id written in the metadata.
    :param generated: Epoch written as ``generated_at``.
    :param size_mb: Target size in MiB; 0 means the natural (small) size.
    :return: An iterator of byte chunks that together form one JSON document.
    """
    target = int(size_mb * 1024 * 1024)
    meta = _metadata("manifest", "v12", invocation_id, generated)
    meta.update({"project_name": PROJECT, "adapter_type": "postgres", "send_anonymous_usage_stats": False})
    buf = ['{"metadata": ', json.dumps(meta), ', "nodes": {']
    size = 0
    first = True
    for node in NODES:
        piece = ("" if first else ", ") + json.dumps(node.unique_id) + ": " + json.dumps(_manifest_node(node))
        first = False
        buf.append(piece)
    padding = 0
    pending = "".join(buf)
    while True:
        if len(pending) >= _CHUNK:
            size += len(pending)
            yield pending.encode()
            pending = ""
        if size + len(pending) >= target - 200:
            break
        node_doc = _padding_node(padding)
        pending += ", " + json.dumps(node_doc["unique_id"]) + ": " + json.dumps(node_doc)
        padding += 1
    pending += '}, "sources": {}, "macros": {}, "docs": {}, "exposures": {}, "metrics": {}, "groups": {}, '
    pending += (
        '"selectors": {}, "disabled": {}, "saved_queries": {}, "semantic_models": {}, "unit_tests": {}, '
    )
    pending += '"group_map": {}'
    children = {n.unique_id: list(CHILDREN[n.unique_id]) for n in NODES}
    for key, mapping in (
        ("parent_map", {n.unique_id: list(n.parents) for n in NODES}),
        ("child_map", children),
    ):
        pending += f', "{key}": {{' + json.dumps(mapping)[1:-1]
        for i in range(padding):
            pending += f', "model.{PROJECT}.generated_model_{i:07d}": []'
            if len(pending) >= _CHUNK:
                yield pending.encode()
                pending = ""
        pending += "}"
    yield (pending + "}").encode()


def catalog(invocation_id: str, generated: float) -> bytes:
    """Build catalog.json (schema v1) for the project's models and seeds.

    :param invocation_id: Invocation id written in the metadata.
    :param generated: Epoch written as ``generated_at``.
    :return: The JSON document.
    """
    nodes: dict[str, Any] = {}
    for node in NODES:
        if node.resource_type == "test":
            continue
        nodes[node.unique_id] = {
            "metadata": {
                "type": "BASE TABLE" if node.materialized in ("table", "seed") else "VIEW",
                "schema": SCHEMA,
                "name": node.name,
                "database": DATABASE,
                "comment": None,
                "owner": "dbt_cloud",
            },
            "columns": {
                c: {"type": t, "index": i + 1, "name": c, "comment": None}
                for i, (c, t) in enumerate(node.columns)
            },
            "stats": {
                "has_stats": {
                    "id": "has_stats",
                    "label": "Has Stats?",
                    "value": False,
                    "include": False,
                    "description": "Indicates whether there are statistics for this table",
                }
            },
            "unique_id": node.unique_id,
        }
    doc = {"metadata": _metadata("catalog", "v1", invocation_id, generated), "nodes": nodes, "sources": {}}
    return json.dumps(doc).encode()


def compiled_sql(unique_id: str) -> bytes:
    """Return the compiled SQL of a node, as stored under ``compiled/<project>/...``.

    :param unique_id: Node id.
    :return: SQL text.
    """
    node = BY_ID[unique_id]
    return (
        node.raw_code.replace("{{ ref('", f'"{DATABASE}"."{SCHEMA}"."').replace("') }}", '"') + "\n"
    ).encode()


def compiled_path(unique_id: str) -> str:
    """Artifact path of a node's compiled SQL.

    :param unique_id: Node id.
    :return: e.g. ``compiled/jaffle_shop/models/orders.sql``.
    """
    node = BY_ID[unique_id]
    return f"compiled/{PROJECT}/{node.original_file_path}"
