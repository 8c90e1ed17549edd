"""The JSON of one node as dbt writes it: a manifest node (v12), a padding node and a catalog table (v1).

Where a node lives (database, schema, quoted ``relation_name``) depends on the warehouse adapter.
"""

from __future__ import annotations

from typing import Any

from airflow_dbtcloud.testing.adapters import Adapter
from airflow_dbtcloud.testing.project import PROJECT, Node, Project

_TEST_CONFIG = {"severity": "ERROR", "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0"}


def relation_name(node: Node, adapter: Adapter) -> str | None:
    """Return the node's quoted relation as ``adapter`` renders it, or None for a test.

    :param node: A project node.
    :param adapter: The warehouse adapter.
    """
    if node.resource_type == "test":
        return None
    return adapter.relation_name(*adapter.location(node.resource_type), node.identifier)


def manifest_node(node: Node, adapter: Adapter) -> dict[str, Any]:
    """Render one entry of the manifest's ``nodes``.

    :param node: A project node.
    :param adapter: The warehouse adapter (decides database, schema and ``relation_name``).
    :return: The node object, valid against manifest v12.
    """
    database, schema = adapter.location(node.resource_type)
    config: dict[str, Any] = {"enabled": True, "materialized": node.materialized, "tags": list(node.tags)}
    if node.alias is not None:
        config["alias"] = node.alias
    out: dict[str, Any] = {
        "database": database,
        "schema": schema,
        "name": node.name,
        "resource_type": node.resource_type,
        "package_name": PROJECT,
        "path": node.path,
        "original_file_path": node.original_file_path,
        "unique_id": node.unique_id,
        "fqn": node.fqn,
        "alias": node.identifier,
        "checksum": {"name": "sha256", "checksum": node.checksum},
        "config": config,
        "tags": list(node.tags),
        "description": "",
        "columns": {c: {"name": c, "description": "", "data_type": t} for c, t in node.columns},
        "relation_name": relation_name(node, adapter),
    }
    if node.resource_type != "seed":
        out["raw_code"] = node.raw_code
        out["language"] = "sql"
        out["depends_on"] = {"macros": [], "nodes": list(node.parents)}
    if node.snapshot is not None:
        strategy, unique_key, check_cols = node.snapshot
        config.update(
            strategy=strategy, unique_key=unique_key, check_cols=list(check_cols), target_schema=schema
        )
    if node.test is not None:
        kind, column, model = node.test
        config.update(_TEST_CONFIG)
        out["test_metadata"] = {
            "name": kind,
            "kwargs": {"column_name": column, "model": f"{{{{ get_where_subquery(ref('{model}')) }}}}"},
            "namespace": None,
        }
        out["column_name"] = column
        out["attached_node"] = node.attached_node
    return out


def padding_node(i: int, adapter: Adapter) -> dict[str, Any]:
    """Render a generated model that only pads the manifest (it is never executed).

    :param i: Its index (part of its name).
    :param adapter: The warehouse adapter.
    """
    name = f"generated_model_{i:07d}"
    database, schema = adapter.location("model")
    return {
        "database": database,
        "schema": schema,
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


def catalog_table(node: Node, adapter: Adapter) -> dict[str, Any]:
    """Render one table of catalog.json (v1) for a model, seed or snapshot.

    :param node: A project node that is not a test.
    :param adapter: The warehouse adapter.
    """
    database, schema = adapter.location(node.resource_type)
    return {
        "metadata": {
            "type": "VIEW" if node.materialized == "view" else "BASE TABLE",
            "schema": schema,
            "name": node.identifier,
            "database": database,
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


def compiled_sql(node: Node, project: Project, adapter: Adapter) -> str:
    """Return a node's SQL with each ``ref`` replaced by the relation it names.

    :param node: The node.
    :param project: Its project (to find what each ref names).
    :param adapter: The warehouse adapter (to render the relations).
    """
    sql = node.raw_code
    for text, ref in project.relation_refs(node.raw_code):
        sql = sql.replace(text, relation_name(ref, adapter) or ref.identifier)
    return sql + "\n"
