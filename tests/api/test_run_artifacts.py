"""Reading what a run built from its artifacts, as streams."""

from __future__ import annotations

import io
import json

from airflow_dbtcloud.api.run_artifacts import (
    RunResults,
    built_nodes,
    read_manifest,
    read_run_results,
)


def stream(document):
    return io.BytesIO(json.dumps(document).encode())


def result(unique_id, status, seconds=1.5, rows=None):
    item = {"unique_id": unique_id, "status": status, "execution_time": seconds, "adapter_response": {}}
    if rows is not None:
        item["adapter_response"]["rows_affected"] = rows
    return item


RUN_RESULTS = {
    "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
    "results": [
        result("seed.shop.raw_orders", "success", rows=3),
        result("model.shop.orders", "success", rows=10),
        result("model.shop.broken", "error"),
        result("model.shop.after_broken", "skipped"),
        result("snapshot.shop.orders_history", "success"),
        result("model.shop.unchanged", "no-op"),
        result("test.shop.unique_orders_id.1", "pass"),
        result("test.shop.not_null_orders_id.2", "fail"),
        result("test.shop.accepted_values.3", "warn"),
    ],
}


def node(resource_type, name, alias=None, **extra):
    return {
        "resource_type": resource_type,
        "name": name,
        "alias": alias,
        "database": "analytics",
        "schema": "prod",
        "relation_name": f'"analytics"."prod"."{alias or name}"',
        **extra,
    }


MANIFEST = {
    "metadata": {"adapter_type": "postgres", "project_name": "shop"},
    "nodes": {
        "seed.shop.raw_orders": node("seed", "raw_orders"),
        "model.shop.orders": node("model", "orders", alias="fct_orders"),
        "model.shop.broken": node("model", "broken"),
        "snapshot.shop.orders_history": node("snapshot", "orders_history"),
        "test.shop.unique_orders_id.1": {"resource_type": "test", "attached_node": "model.shop.orders"},
        "test.shop.not_null_orders_id.2": {
            "resource_type": "test",
            "depends_on": {"nodes": ["model.shop.orders"]},
        },
        "test.shop.accepted_values.3": {"resource_type": "test", "attached_node": "model.shop.orders"},
        "model.shop.not_run": node("model", "not_run"),
    },
}


def test_only_successful_models_seeds_and_snapshots_count_as_built():
    results = read_run_results(stream(RUN_RESULTS))
    assert list(results.built) == [
        "seed.shop.raw_orders",
        "model.shop.orders",
        "snapshot.shop.orders_history",
    ]
    assert results.built["model.shop.orders"].rows_affected == 10
    assert results.built["model.shop.orders"].execution_time == 1.5
    assert results.tests["test.shop.not_null_orders_id.2"] == "fail"


def test_a_later_step_that_did_not_rebuild_a_node_takes_it_back():
    results = read_run_results(stream(RUN_RESULTS))
    later = {"results": [result("model.shop.orders", "skipped"), result("model.shop.new", "success")]}
    read_run_results(stream(later), results)
    assert "model.shop.orders" not in results.built
    assert "model.shop.new" in results.built


def test_the_manifest_gives_relations_aliases_and_tested_nodes():
    results = read_run_results(stream(RUN_RESULTS))
    facts = read_manifest(stream(MANIFEST), results.built, results.tests)
    assert (facts.adapter_type, facts.project_name) == ("postgres", "shop")
    assert set(facts.relations) == set(results.built)
    assert facts.relations["model.shop.orders"].identifier == "fct_orders"
    assert facts.relations["seed.shop.raw_orders"].identifier == "raw_orders"
    assert set(facts.tested.values()) == {"model.shop.orders"}


def test_built_nodes_carry_their_test_summary():
    results = read_run_results(stream(RUN_RESULTS))
    nodes = built_nodes(results, read_manifest(stream(MANIFEST), results.built, results.tests))
    by_id = {built.unique_id: built for built in nodes}
    assert by_id["model.shop.orders"].tests == {"passed": 1, "failed": 1, "warned": 1}
    assert by_id["seed.shop.raw_orders"].tests == {}
    assert [built.relation.resource_type for built in nodes] == ["seed", "model", "snapshot"]


def test_malformed_items_are_skipped_not_fatal():
    odd = {"results": ["x", {"status": "success"}, result("model.shop.orders", "success", rows=True)]}
    results = read_run_results(stream(odd))
    assert list(results.built) == ["model.shop.orders"]
    assert results.built["model.shop.orders"].rows_affected is None


def test_a_node_missing_from_the_manifest_is_left_out():
    results = RunResults()
    read_run_results(stream({"results": [result("model.shop.ghost", "success")]}), results)
    assert built_nodes(results, read_manifest(stream(MANIFEST), results.built)) == []
