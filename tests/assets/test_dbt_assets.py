"""The assets glue: which alias a task uses, which asset each built node is, what its event says."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_dbtcloud.api.run_artifacts import BuiltNode, NodeResult, Relation, RunBuild
from airflow_dbtcloud.assets.dbt import (
    asset_alias_for,
    asset_outlet,
    assets_from_manifest,
    default_alias,
    event_extra,
    node_asset,
    publish_assets,
    publish_run_assets,
)

POSTGRES = {"type": "postgres", "details": {"hostname": "db.example", "port": 5432, "dbname": "analytics"}}


def node(name, resource_type="model", alias=None, rows=None, tests=None):
    unique_id = f"{resource_type}.shop.{name}"
    relation = Relation(resource_type, "analytics", "prod", alias or name)
    return BuiltNode(unique_id, relation, NodeResult(unique_id, 0.5, rows), tests or {})


def build(*nodes, connection=None, adapter="postgres"):
    return RunBuild(
        account_id=1,
        project_id=100,
        job_id=300,
        run_id=77,
        run_url="https://cloud.example/deploy/1/projects/100/runs/77/",
        adapter_type=adapter,
        connection=POSTGRES if connection is None else connection,
        nodes=list(nodes),
    )


class Task:
    """The attribute of an operator ``asset_outlet`` reads and writes."""

    def __init__(self, outlets=None):
        self.outlets = outlets


def test_default_alias_names_the_job():
    assert default_alias(300) == AssetAlias("dbt_cloud__job_300")


def test_the_first_alias_in_the_outlets_wins():
    mine, other = AssetAlias("mine"), AssetAlias("other")
    assert asset_alias_for([Asset("s3://b/k"), mine, other], 300) is mine


@pytest.mark.parametrize("job_id", ["{{ params.job }}", None, True, 0, -3])
def test_without_an_alias_the_job_id_must_be_a_number_known_at_parse_time(job_id):
    with pytest.raises(ValueError, match="needs an AssetAlias in outlets, or job_id as a number"):
        asset_alias_for([], job_id)


def test_a_sensor_without_an_alias_is_told_to_give_one():
    with pytest.raises(ValueError, match="the sensor knows no job id"):
        asset_alias_for([], None, parameter="sensor")


def test_asset_outlet_is_off_unless_asked_or_given_an_alias():
    task = Task([Asset("s3://b/k")])
    assert asset_outlet(task, False, 300) == (False, None)
    assert task.outlets == [Asset("s3://b/k")], "outlets are left alone"


def test_asset_outlet_declares_the_default_alias_so_airflow_records_its_events():
    task = Task([Asset("s3://b/k")])
    assert asset_outlet(task, True, 300) == (True, AssetAlias("dbt_cloud__job_300"))
    assert task.outlets == [Asset("s3://b/k"), AssetAlias("dbt_cloud__job_300")]


def test_an_alias_in_the_outlets_turns_emitting_on_and_is_not_added_twice():
    alias = AssetAlias("orders_pipeline")
    task = Task([alias])
    assert asset_outlet(task, False, "{{ templated }}") == (True, alias)
    assert task.outlets == [alias]


def test_node_asset_names_the_table_as_the_warehouse_provider_does():
    asset = node_asset(build(), node("revenue", alias="revenue_by_day"))
    assert asset.uri == "postgres://db.example:5432/analytics/prod/revenue_by_day"


def test_node_asset_falls_back_to_a_dbt_uri_when_the_warehouse_is_unknown():
    asset = node_asset(build(connection={}, adapter=None), node("orders"))
    assert asset.uri == "dbt://1/100/model.shop.orders"


def test_event_extra_says_which_run_built_the_node():
    extra = event_extra(build(), node("orders", rows=12, tests={"passed": 2, "warned": 1}))
    assert extra == {
        "dbt_cloud_run_id": 77,
        "dbt_cloud_run_url": "https://cloud.example/deploy/1/projects/100/runs/77/",
        "dbt_cloud_job_id": 300,
        "unique_id": "model.shop.orders",
        "resource_type": "model",
        "status": "success",
        "execution_time": 0.5,
        "rows_affected": 12,
        "tests": {"passed": 2, "warned": 1},
    }
    assert json.loads(json.dumps(extra)) == extra, "an event's extra must be JSON"


def test_event_extra_leaves_out_what_dbt_did_not_report():
    extra = event_extra(build(), node("raw", resource_type="seed"))
    assert "rows_affected" not in extra
    assert "tests" not in extra


def test_publish_run_assets_adds_one_alias_event_per_node_in_build_order():
    alias = AssetAlias("dbt_cloud__job_300")
    events = OutletEventAccessors()
    built = build(node("raw", resource_type="seed"), node("orders"), node("snap", resource_type="snapshot"))

    assets = publish_run_assets(events, alias, built)

    recorded = events[alias].asset_alias_events
    assert [event.dest_asset_key.uri for event in recorded] == [asset.uri for asset in assets]
    assert [asset.uri.rsplit("/", 1)[-1] for asset in assets] == ["raw", "orders", "snap"]
    assert {event.source_alias_name for event in recorded} == {"dbt_cloud__job_300"}
    assert [event.extra["unique_id"] for event in recorded] == [n.unique_id for n in built.nodes]


def test_publish_run_assets_of_a_run_that_built_nothing_adds_nothing():
    events = OutletEventAccessors()
    assert publish_run_assets(events, AssetAlias("a"), build()) == []
    assert events[AssetAlias("a")].asset_alias_events == []


def test_publish_assets_reads_the_build_through_the_hook_and_logs_a_summary():
    hook, log = mock.Mock(), mock.Mock()
    hook.get_run_build.return_value = build(node("orders"))
    context = {"outlet_events": OutletEventAccessors()}

    assets = publish_assets(context, hook, 77, 1, AssetAlias("dbt_cloud__job_300"), log)

    hook.get_run_build.assert_called_once_with(77, 1)
    assert [asset.uri for asset in assets] == ["postgres://db.example:5432/analytics/prod/orders"]
    assert log.info.call_args.args[1:] == (1, "postgres", 77, "dbt_cloud__job_300")


def _manifest(tmp_path, adapter="postgres"):
    def model(name, resource_type="model", alias=None, schema="prod"):
        return {
            "resource_type": resource_type,
            "name": name,
            "alias": alias,
            "database": "analytics",
            "schema": schema,
        }

    manifest = {
        "metadata": {"adapter_type": adapter, "project_name": "shop"},
        "nodes": {
            "seed.shop.raw": model("raw", "seed"),
            "model.shop.orders": model("orders"),
            "model.shop.revenue": model("revenue", alias="revenue_by_day"),
            "test.shop.not_null_orders_id": model("not_null_orders_id", "test", schema="prod_dbt_test"),
            "snapshot.shop.orders_snapshot": model("orders_snapshot", "snapshot", schema="snapshots"),
        },
        "sources": {"source.shop.app.users": model("users", "source", schema="app")},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def test_assets_from_manifest_names_every_model_seed_and_snapshot(tmp_path):
    assets = assets_from_manifest(_manifest(tmp_path), account_id=1, project_id=100, connection=POSTGRES)
    assert [asset.uri for asset in assets] == [
        "postgres://db.example:5432/analytics/prod/raw",
        "postgres://db.example:5432/analytics/prod/orders",
        "postgres://db.example:5432/analytics/prod/revenue_by_day",
        "postgres://db.example:5432/analytics/snapshots/orders_snapshot",
    ]


def test_assets_from_manifest_selects_by_name_or_unique_id(tmp_path):
    assets = assets_from_manifest(
        _manifest(tmp_path),
        account_id=1,
        project_id=100,
        connection=POSTGRES,
        select=["revenue", "seed.shop.raw", "not_null_orders_id"],
    )
    assert [asset.uri.rsplit("/", 1)[-1] for asset in assets] == ["raw", "revenue_by_day"], "tests never are"


def test_assets_from_manifest_without_a_connection_uses_dbt_uris(tmp_path):
    assets = assets_from_manifest(_manifest(tmp_path), account_id=1, project_id=100, select=["orders"])
    assert [asset.uri for asset in assets] == ["dbt://1/100/model.shop.orders"]
