"""dbt models as Airflow assets: one asset event per model, seed and snapshot a run built.

A task that ran (or waited for) a dbt Cloud run adds its events through an :class:`AssetAlias` outlet,
so DAGs downstream can be scheduled on one table, or on the alias for "anything this job built".
Each asset's URI names the warehouse table in the form Airflow's own providers use
(``postgres://``, ``bigquery://``, ``snowflake://``, ...) when the warehouse is known, so an asset this
job produces is the same asset another provider's task reads; otherwise a stable ``dbt://`` URI.
The rule and examples are in ``docs/assets.md``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow.sdk import Asset, AssetAlias

from airflow_dbtcloud.api.asset_uris import Warehouse, dbt_node_uri, table_uri
from airflow_dbtcloud.api.run_artifacts import BUILT_TYPES, BuiltNode, NodeResult, RunBuild, read_manifest

__all__ = [
    "ALIAS_TEMPLATE",
    "asset_alias_for",
    "asset_outlet",
    "assets_from_manifest",
    "default_alias",
    "event_extra",
    "node_asset",
    "publish_assets",
    "publish_run_assets",
]

#: The alias a run operator adds its events to unless given one: ``dbt_cloud__job_<job id>``.
ALIAS_TEMPLATE = "dbt_cloud__job_{job_id}"


def default_alias(job_id: int) -> AssetAlias:
    """Return the alias a job's runs add their asset events to by default.

    :param job_id: The dbt Cloud job id.
    """
    return AssetAlias(ALIAS_TEMPLATE.format(job_id=job_id))


def asset_alias_for(outlets: Sequence[Any], job_id: Any, *, parameter: str = "job_id") -> AssetAlias:
    """Pick the alias for a task's asset events: the first ``AssetAlias`` in its outlets, else the job's.

    :param outlets: The task's outlets.
    :param job_id: The task's job id, as given (the default alias needs it at parse time).
    :param parameter: The parameter to name in the error, or the kind of task when there is none.
    :raises ValueError: When no alias is given and the job id is not a literal number.
    """
    alias = next((outlet for outlet in outlets if isinstance(outlet, AssetAlias)), None)
    if alias is not None:
        return alias
    if isinstance(job_id, int) and not isinstance(job_id, bool) and job_id > 0:
        return default_alias(job_id)
    if job_id is None and parameter != "job_id":
        raise ValueError(f"emit_assets needs an AssetAlias in outlets: the {parameter} knows no job id.")
    raise ValueError(
        f"emit_assets needs an AssetAlias in outlets, or {parameter} as a number so the default alias "
        f"{ALIAS_TEMPLATE!r} can be named when the DAG is parsed; got {parameter}={job_id!r}."
    )


def node_asset(build: RunBuild, node: BuiltNode, warehouse: Warehouse | None = None) -> Asset:
    """Return the asset of one built node.

    :param build: The run that built it.
    :param node: The node.
    :param warehouse: The warehouse, when already parsed from ``build.connection``.
    """
    warehouse = warehouse or Warehouse.from_connection(build.adapter_type, build.connection)
    relation = node.relation
    uri = table_uri(warehouse, relation.database, relation.schema, relation.identifier)
    return Asset(uri=uri or dbt_node_uri(build.account_id, build.project_id, node.unique_id))


def event_extra(build: RunBuild, node: BuiltNode) -> dict[str, Any]:
    """Return what an asset event says about the run and the node (never a secret).

    :param build: The run that built the node.
    :param node: The node.
    """
    extra: dict[str, Any] = {
        "dbt_cloud_run_id": build.run_id,
        "dbt_cloud_run_url": build.run_url,
        "dbt_cloud_job_id": build.job_id,
        "unique_id": node.unique_id,
        "resource_type": node.relation.resource_type,
        "status": "success",
        "execution_time": node.result.execution_time,
    }
    if node.result.rows_affected is not None:
        extra["rows_affected"] = node.result.rows_affected
    if node.tests:
        extra["tests"] = dict(node.tests)
    return extra


def publish_run_assets(outlet_events: Any, alias: AssetAlias, build: RunBuild) -> list[Asset]:
    """Add one asset event per built node to the alias.

    :param outlet_events: The task context's ``outlet_events``.
    :param alias: The alias in the task's outlets.
    :param build: What the run built.
    :return: The assets, in the order the run built them.
    """
    warehouse = Warehouse.from_connection(build.adapter_type, build.connection)
    accessor = outlet_events[alias]
    assets = []
    for node in build.nodes:
        asset = node_asset(build, node, warehouse)
        accessor.add(asset, extra=event_extra(build, node))
        assets.append(asset)
    return assets


def asset_outlet(
    task: Any, emit_assets: bool, job_id: Any, *, parameter: str = "job_id"
) -> tuple[bool, AssetAlias | None]:
    """Decide, when a task is built, whether it emits asset events and through which alias.

    An ``AssetAlias`` in the task's outlets turns emitting on by itself. The default alias is added to
    the outlets, because Airflow records only events of aliases a task declares when the DAG is parsed.

    :param task: The operator or sensor, after ``BaseOperator.__init__``.
    :param emit_assets: The task's ``emit_assets`` argument.
    :param job_id: The task's job id as given (None for a sensor, which then needs an alias).
    :param parameter: What to name in the error: the job id parameter, or the kind of task.
    :return: Whether to emit, and the alias (None when not emitting).
    :raises ValueError: When emitting is asked for but no alias can be named at parse time.
    """
    outlets = list(task.outlets or [])
    if not (emit_assets or any(isinstance(outlet, AssetAlias) for outlet in outlets)):
        return False, None
    alias = asset_alias_for(outlets, job_id, parameter=parameter)
    if alias not in outlets:
        task.outlets = [*outlets, alias]
    return True, alias


def publish_assets(
    context: Mapping[str, Any], hook: Any, run_id: int, account_id: int | None, alias: Any, log: Any
) -> list[Asset]:
    """Find what a run built (through the hook) and add its asset events to the task's alias.

    :param context: The task context (its ``outlet_events``).
    :param hook: The task's hook.
    :param run_id: The run that succeeded.
    :param account_id: The account; None uses the connection's login.
    :param alias: The task's alias.
    :param log: The task's logger.
    :return: The assets.
    """
    build = hook.get_run_build(run_id, account_id)
    assets = publish_run_assets(context["outlet_events"], alias, build)
    log.info(
        "Added %s asset events (%s) from dbt Cloud run %s to alias %r.",
        len(assets),
        build.adapter_type or "unknown adapter",
        run_id,
        alias.name,
    )
    return assets


def assets_from_manifest(
    manifest: str | os.PathLike[str],
    *,
    account_id: int,
    project_id: int,
    connection: Mapping[str, Any] | None = None,
    select: Iterable[str] | None = None,
) -> list[Asset]:
    """Name, when a DAG is parsed, the assets a job's runs will emit: from a ``manifest.json`` you ship.

    Use it to schedule a DAG on tables statically, or to declare them. The URIs are exact only as far
    as the manifest is: build it with the same target (database and schema) as the job, because a
    schema the job overrides at run time (``schema_override``, an environment's target) is not in it.
    What a given run will actually build (selection, failures, reuse) is known only after it ran.

    :param manifest: Path of the ``manifest.json``.
    :param account_id: The dbt Cloud account (for ``dbt://`` URIs).
    :param project_id: The dbt Cloud project (for ``dbt://`` URIs).
    :param connection: The project's connection object (see ``docs/assets.md``); without it every
        asset gets a ``dbt://`` URI, as a run would when the warehouse cannot be named.
    :param select: Node names or unique ids to keep; None keeps every model, seed and snapshot.
    :return: The assets, in manifest order.
    """
    chosen = set(select) if select is not None else None

    def wanted(unique_id: str, node: Mapping[str, Any]) -> bool:
        if unique_id.split(".", 1)[0] not in BUILT_TYPES:
            return False
        return chosen is None or unique_id in chosen or node.get("name") in chosen

    with open(manifest, "rb") as stream:
        facts = read_manifest(stream, wanted)
    build = RunBuild(account_id, project_id, None, 0, None, facts.adapter_type, connection or {}, [])
    warehouse = Warehouse.from_connection(facts.adapter_type, build.connection)
    return [
        node_asset(build, BuiltNode(unique_id, relation, NodeResult(unique_id)), warehouse)
        for unique_id, relation in facts.relations.items()
    ]
