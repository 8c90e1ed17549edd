"""What a run built, read from its ``run_results.json`` and ``manifest.json`` as streams.

Manifests of large projects reach hundreds of megabytes, so neither file is loaded whole: both are
read item by item with ``ijson`` (a C-backed streaming JSON parser), and only what the caller needs is
kept: the nodes the run built successfully, their relations, and the test results per node.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import ijson

from airflow_dbtcloud.api.failures import FAILED_NODE_STATUSES

__all__ = [
    "BUILT_TYPES",
    "DBT_STEP_PREFIX",
    "BuiltNode",
    "ManifestFacts",
    "NodeResult",
    "NodeRow",
    "Relation",
    "RunBuild",
    "RunResults",
    "built_nodes",
    "node_rows",
    "read_manifest",
    "read_run_results",
]

#: How dbt Cloud names a step that invokes dbt (and so has its own ``run_results.json``).
DBT_STEP_PREFIX = "Invoke dbt with `"
#: Node types that leave a relation behind when they run (tests do not).
BUILT_TYPES = frozenset({"model", "seed", "snapshot"})
#: How dbt calls a test outcome in ``run_results.json``, and the summary key it counts under.
_TEST_OUTCOMES = {"pass": "passed", "fail": "failed", "warn": "warned", "error": "errored"}


@dataclass(frozen=True)
class NodeResult:
    """One model, seed or snapshot that a run built successfully.

    :param unique_id: e.g. ``model.jaffle_shop.orders``.
    :param execution_time: Seconds the node took, as dbt reports it.
    :param rows_affected: Rows the adapter reports, when it does.
    """

    unique_id: str
    execution_time: float | None = None
    rows_affected: int | None = None


@dataclass(frozen=True)
class RunResults:
    """What one or several ``run_results.json`` files say about the nodes that matter here.

    :param built: The models, seeds and snapshots that succeeded, by unique id.
    :param tests: The data tests' statuses, by test unique id.
    """

    built: dict[str, NodeResult] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Relation:
    """Where a node lives in the warehouse.

    :param resource_type: ``model``, ``seed`` or ``snapshot``.
    :param database: The database (BigQuery: the project; Databricks: the catalog).
    :param schema: The schema (BigQuery: the dataset).
    :param identifier: The relation's name: the node's ``alias``, else its ``name``.
    :param relation_name: The quoted name dbt renders, when there is one.
    """

    resource_type: str
    database: str | None
    schema: str | None
    identifier: str
    relation_name: str | None = None


@dataclass(frozen=True)
class ManifestFacts:
    """What the manifest tells about the built nodes.

    :param adapter_type: The warehouse adapter, e.g. ``postgres`` or ``snowflake``.
    :param project_name: The dbt project's name.
    :param relations: The relations of the wanted nodes, by unique id.
    :param tested: For each wanted test, the node it tests.
    """

    adapter_type: str | None
    project_name: str | None
    relations: dict[str, Relation] = field(default_factory=dict)
    tested: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltNode:
    """A node the run built, with everything an asset event says about it.

    :param unique_id: The node's unique id.
    :param relation: Where it lives.
    :param result: How it ran.
    :param tests: Counts of its tests' outcomes (``passed``, ``failed``, ``warned``, ``errored``).
    """

    unique_id: str
    relation: Relation
    result: NodeResult
    tests: Mapping[str, int] = field(default_factory=dict)


def _rows(result: Mapping[str, Any]) -> int | None:
    response = result.get("adapter_response")
    rows = response.get("rows_affected") if isinstance(response, Mapping) else None
    return rows if isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0 else None


def read_run_results(stream: IO[bytes], into: RunResults | None = None) -> RunResults:
    """Read the successful builds and the test outcomes of one ``run_results.json``.

    :param stream: The file, opened in binary mode.
    :param into: Results of earlier steps to add to (a later step's entry for a node wins).
    :return: The results.
    """
    results = into or RunResults()
    for item in ijson.items(stream, "results.item", use_float=True):
        unique_id = item.get("unique_id") if isinstance(item, Mapping) else None
        if not isinstance(unique_id, str):
            continue
        kind, status = unique_id.split(".", 1)[0], str(item.get("status") or "").lower()
        if kind == "test":
            results.tests[unique_id] = status
        elif kind in BUILT_TYPES and status == "success":
            seconds = item.get("execution_time")
            results.built[unique_id] = NodeResult(
                unique_id, float(seconds) if isinstance(seconds, int | float) else None, _rows(item)
            )
        elif kind in BUILT_TYPES:
            # A later step that did not rebuild the node (error, skipped, reused) takes it back.
            results.built.pop(unique_id, None)
    return results


@dataclass(frozen=True)
class NodeRow:
    """One node of a ``run_results.json``, whatever its outcome, for a table a person reads.

    :param unique_id: e.g. ``model.jaffle_shop.orders``.
    :param name: The last part of the unique id, e.g. ``orders``.
    :param resource_type: The first part, e.g. ``model`` or ``test``.
    :param status: dbt's status for the node, lower case (``success``, ``error``, ``pass``...).
    :param execution_time: Seconds the node took, when dbt says.
    :param message: dbt's message for the node (an error's text), when there is one.
    """

    unique_id: str
    name: str
    resource_type: str
    status: str
    execution_time: float | None
    message: str | None

    @property
    def failed(self) -> bool:
        """Whether dbt reports the node as failed (``error``, ``fail`` or ``runtime error``)."""
        return self.status in FAILED_NODE_STATUSES


def node_rows(stream: IO[bytes]) -> list[NodeRow]:
    """Read every node of one ``run_results.json``, failed nodes first, then in file order.

    :param stream: The file, opened in binary mode; read item by item.
    :return: One row per result whose ``unique_id`` is text; other entries are skipped.
    """
    rows = []
    for item in ijson.items(stream, "results.item", use_float=True):
        unique_id = item.get("unique_id") if isinstance(item, Mapping) else None
        if not isinstance(unique_id, str):
            continue
        seconds = item.get("execution_time")
        message = item.get("message")
        rows.append(
            NodeRow(
                unique_id=unique_id,
                name=unique_id.rsplit(".", 1)[-1],
                resource_type=unique_id.split(".", 1)[0],
                status=str(item.get("status") or "").lower(),
                execution_time=float(seconds) if isinstance(seconds, int | float) else None,
                message=None if message is None else str(message),
            )
        )
    return sorted(rows, key=lambda row: not row.failed)


def _tested_node(node: Mapping[str, Any]) -> str | None:
    attached = node.get("attached_node")
    if isinstance(attached, str):
        return attached
    depends = node.get("depends_on")
    parents = depends.get("nodes") if isinstance(depends, Mapping) else None
    return next((p for p in parents or () if isinstance(p, str) and p.split(".", 1)[0] in BUILT_TYPES), None)


def _relation(unique_id: str, node: Mapping[str, Any]) -> Relation:
    return Relation(
        resource_type=str(node.get("resource_type") or unique_id.split(".", 1)[0]),
        database=node.get("database"),
        schema=node.get("schema"),
        identifier=str(node.get("alias") or node.get("name") or unique_id.rsplit(".", 1)[-1]),
        relation_name=node.get("relation_name"),
    )


def read_manifest(
    stream: IO[bytes],
    wanted: Iterable[str] | Callable[[str, Mapping[str, Any]], bool],
    tests: Iterable[str] = (),
) -> ManifestFacts:
    """Read the adapter, and the relations of the wanted nodes, from a ``manifest.json``.

    The manifest's ``metadata`` comes first in dbt's files; ``nodes`` is read one node at a time.

    :param stream: The file, opened in binary mode and seekable (it is read twice).
    :param wanted: The unique ids whose relations are needed, or a test ``(unique_id, node) -> bool``.
    :param tests: The unique ids of tests whose tested node is needed.
    :return: The facts.
    """
    metadata = next(ijson.items(stream, "metadata"), None)
    metadata = metadata if isinstance(metadata, Mapping) else {}
    stream.seek(0)
    if callable(wanted):
        is_wanted = wanted
    else:
        wanted_ids = set(wanted)
        is_wanted = lambda unique_id, node: unique_id in wanted_ids  # noqa: E731 - one-line predicate
    test_ids = set(tests)
    relations: dict[str, Relation] = {}
    tested: dict[str, str] = {}
    for unique_id, node in ijson.kvitems(stream, "nodes", use_float=True):
        if not isinstance(node, Mapping):
            continue
        if is_wanted(unique_id, node):
            relations[unique_id] = _relation(unique_id, node)
        elif unique_id in test_ids and (target := _tested_node(node)):
            tested[unique_id] = target
    adapter, project = metadata.get("adapter_type"), metadata.get("project_name")
    return ManifestFacts(
        adapter_type=str(adapter) if adapter else None,
        project_name=str(project) if project else None,
        relations=relations,
        tested=tested,
    )


def built_nodes(results: RunResults, facts: ManifestFacts) -> list[BuiltNode]:
    """Join what ran with where it lives, and count each node's test outcomes.

    :param results: From :func:`read_run_results`.
    :param facts: From :func:`read_manifest`, read for ``results``.
    :return: The built nodes in run-results order; a node missing from the manifest is left out.
    """
    counts: dict[str, Counter[str]] = {}
    for test_id, status in results.tests.items():
        target = facts.tested.get(test_id)
        if target is not None and status in _TEST_OUTCOMES:
            counts.setdefault(target, Counter())[_TEST_OUTCOMES[status]] += 1
    return [
        BuiltNode(unique_id, facts.relations[unique_id], result, dict(counts.get(unique_id, {})))
        for unique_id, result in results.built.items()
        if unique_id in facts.relations
    ]


@dataclass(frozen=True)
class RunBuild:
    """What one dbt Cloud run built, and where.

    :param account_id: The run's account.
    :param project_id: The run's dbt Cloud project.
    :param job_id: The run's job.
    :param run_id: The run.
    :param run_url: The run's page in dbt Cloud.
    :param adapter_type: The warehouse adapter from the manifest, when known.
    :param connection: The dbt Cloud project's connection object (the warehouse's identity).
    :param nodes: The models, seeds and snapshots the run built successfully.
    """

    account_id: int | None
    project_id: int | None
    job_id: int | None
    run_id: int
    run_url: str | None
    adapter_type: str | None
    connection: Mapping[str, Any]
    nodes: list[BuiltNode]
