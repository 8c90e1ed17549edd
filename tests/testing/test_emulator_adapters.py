"""The warehouse adapter setting: artifacts, the project's connection and the credentials, per adapter."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from emulator_client import Client, control, read_lines, serve_cli

from airflow_dbtcloud.testing import Emulator, EmulatorConfig, run_emulator
from airflow_dbtcloud.testing.__main__ import main

Check = Callable[..., None]
_SNAP = "snapshot.jaffle_shop.orders_snapshot"
_REVENUE = "model.jaffle_shop.daily_revenue"

# adapter -> (database, schema, relation of daily_revenue (alias revenue_by_day), relation of the
#             snapshot, connection type, adapter_version, spec component of the connection settings, spec
#             component of the credentials, a few connection settings)
EXPECTED: dict[str, tuple[Any, ...]] = {
    "postgres": (
        "analytics",
        "dbt_prod",
        '"analytics"."dbt_prod"."revenue_by_day"',
        '"analytics"."snapshots"."orders_snapshot"',
        "postgres",
        "postgres_v0",
        "PostgresConnection",
        "PostgresCredentials",
        {"hostname": "db.internal.example", "port": 5432, "dbname": "analytics"},
    ),
    "redshift": (
        "analytics",
        "dbt_prod",
        '"analytics"."dbt_prod"."revenue_by_day"',
        '"analytics"."snapshots"."orders_snapshot"',
        "redshift",
        "redshift_v0",
        "RedshiftConnection",
        "RedshiftCredentials",
        {"hostname": "acme.abc123.eu-west-1.redshift.amazonaws.com", "port": 5439, "dbname": "analytics"},
    ),
    "snowflake": (
        "ANALYTICS",
        "DBT_PROD",
        "ANALYTICS.DBT_PROD.revenue_by_day",
        "ANALYTICS.SNAPSHOTS.orders_snapshot",
        "snowflake",
        "snowflake_v0",
        "SnowflakeConnection",
        "SnowflakeCredentials",
        {"account": "xy12345.eu-central-1", "database": "ANALYTICS", "warehouse": "TRANSFORMING"},
    ),
    "bigquery": (
        "acme-analytics",
        "dbt_prod",
        "`acme-analytics`.`dbt_prod`.`revenue_by_day`",
        "`acme-analytics`.`snapshots`.`orders_snapshot`",
        "bigquery",
        "bigquery_v1",
        "BigqueryConnectionV1",
        "BigqueryCredentials",
        {"project_id": "acme-analytics", "location": "EU"},
    ),
    "databricks": (
        "main",
        "dbt_prod",
        "`main`.`dbt_prod`.`revenue_by_day`",
        "`main`.`snapshots`.`orders_snapshot`",
        "adapter",
        "databricks_v0",
        "DatabricksConnection",
        "DbtAdapterCredentials",
        {"host": "dbc-1234.cloud.databricks.com", "catalog": "main"},
    ),
}
_SECRET_KEY = re.compile(r"password|secret|private_key$|token$|passphrase", re.IGNORECASE)


def secret_keys(obj: Any) -> list[str]:
    """Keys anywhere in ``obj`` that name a secret."""
    if isinstance(obj, dict):
        found = [k for k in obj if _SECRET_KEY.search(k)]
        return found + [k for v in obj.values() for k in secret_keys(v)]
    if isinstance(obj, list):
        return [k for v in obj for k in secret_keys(v)]
    return []


@pytest.mark.parametrize("adapter", sorted(EXPECTED))
def test_artifacts_follow_the_adapter(client: Client, artifact_check: Check, adapter: str) -> None:
    emu, s = client.emu, client.session
    database, schema, revenue, snap = EXPECTED[adapter][:4]
    emu.set_adapter(adapter)
    assert emu.adapter == adapter
    run_url = client.finished_run()
    docs = {
        kind: s.get(f"{run_url}artifacts/{kind}.json").json()
        for kind in ("manifest", "run_results", "catalog")
    }
    for kind, doc in docs.items():
        artifact_check(doc, kind)
    manifest = docs["manifest"]
    assert manifest["metadata"]["adapter_type"] == adapter
    node = manifest["nodes"][_REVENUE]
    assert (node["database"], node["schema"], node["alias"], node["relation_name"]) == (
        database,
        schema,
        "revenue_by_day",
        revenue,
    )
    assert manifest["nodes"][_SNAP]["relation_name"] == snap
    assert manifest["nodes"][_SNAP]["database"] == database
    results = {r["unique_id"]: r for r in docs["run_results"]["results"]}
    assert results[_REVENUE]["relation_name"] == revenue
    assert results[_SNAP]["relation_name"] == snap
    assert {r["adapter_response"]["rows_affected"] for r in results.values() if r["status"] == "success"} == {
        100
    }
    table = docs["catalog"]["nodes"][_REVENUE]["metadata"]
    assert (table["database"], table["schema"], table["name"]) == (database, schema, "revenue_by_day")
    sql = s.get(f"{run_url}artifacts/compiled/jaffle_shop/models/customer_lifetime_value.sql").text
    assert manifest["nodes"]["model.jaffle_shop.orders"]["relation_name"] in sql
    logs = s.get(run_url, params={"include_related": '["run_steps"]'}).json()["data"]["run_steps"][0]["logs"]
    assert f"Registered adapter: {adapter}=" in logs


@pytest.mark.parametrize("adapter", sorted(EXPECTED))
def test_connection_and_credentials_follow_the_adapter(
    client: Client, component_check: Check, adapter: str
) -> None:
    emu, s = client.emu, client.session
    *_, conn_type, version, config_schema, credentials_schema, settings = EXPECTED[adapter]
    emu.set_adapter(adapter)
    v3 = f"{emu.base_url}/api/v3/accounts/1"
    project = s.get(f"{v3}/projects/100/").json()["data"]
    connection = project["connection"]
    assert (connection["type"], connection["adapter_version"], connection["project_id"]) == (
        conn_type,
        version,
        100,
    )
    assert connection["details"].items() >= settings.items()
    component_check(connection["details"], config_schema)
    detail = s.get(f"{v3}/connections/{connection['id']}/").json()["data"]
    assert detail["config"] == connection["details"]
    assert (detail["id"], detail["adapter_version"], detail["name"]) == (
        connection["id"],
        version,
        connection["name"],
    )
    env = s.get(f"{v3}/projects/100/environments/200/").json()["data"]
    assert env["connection_id"] == connection["id"]
    credentials = env["credentials"]
    assert (credentials["type"], credentials["adapter_version"]) == (conn_type, version)
    assert credentials["schema"] == EXPECTED[adapter][1]
    component_check(credentials, credentials_schema, frozenset({"id", "schema"}))
    assert project["environments"][0]["credentials"] == credentials
    for payload in (project, detail, env):
        assert secret_keys(payload) == []
        assert emu.token not in str(payload)


def test_connection_route_answers_only_for_the_accounts_projects(client: Client) -> None:
    s, base = client.session, client.emu.base_url
    assert s.get(f"{base}/api/v3/accounts/1/connections/4100/").status_code == 200
    missing = s.get(f"{base}/api/v3/accounts/1/connections/4999/")
    assert missing.status_code == 404
    assert missing.json()["data"] is None
    assert s.get(f"{base}/api/v3/accounts/2/connections/4100/").status_code == 403
    client.emu.add_fault(route="get_connection", status=503, times=1)
    assert s.get(f"{base}/api/v3/accounts/1/connections/4100/").status_code == 503


def test_adapter_setting_is_validated_and_reset(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    with pytest.raises(ValueError, match="unknown adapter 'oracle'"):
        emu.set_adapter("oracle")
    with pytest.raises(ValueError, match="unknown adapter"):
        EmulatorConfig.from_dict({"adapter": "duckdb"})
    assert EmulatorConfig.from_dict({"adapter": "bigquery"}).adapter == "bigquery"
    assert EmulatorConfig.default().adapter == "postgres"
    emu.set_adapter("snowflake")
    emu.reset()
    assert emu.adapter == "postgres"
    with run_emulator({"adapter": "databricks"}, adapter="redshift") as other:
        assert other.adapter == "redshift"
        other.set_adapter("bigquery")
        other.reset()
        assert other.adapter == "redshift"


def test_settings_control_route(dbt_cloud_emulator: Emulator) -> None:
    url, s = f"{dbt_cloud_emulator.base_url}/_emulator/settings", control()
    assert s.get(url).json() == {"adapter": "postgres", "synthetic_models": 0, "manifest_size_mb": 0.0}
    changed = s.post(url, json={"adapter": "databricks", "synthetic_models": 3})
    assert changed.json() == {"adapter": "databricks", "synthetic_models": 3, "manifest_size_mb": 0.0}
    assert dbt_cloud_emulator.adapter == "databricks"
    for bad in ({"adapter": "bigquery", "synthetic_models": -1}, {"adapter": "x"}, {"colour": "red"}):
        resp = s.post(url, json=bad)
        assert resp.status_code == 400
        assert "error" in resp.json()
    assert s.get(url).json()["adapter"] == "databricks"  # a refused change applies nothing
    assert s.post(url, json={"manifest_size_mb": 2}).json()["manifest_size_mb"] == 2.0


def test_cli_adapter_and_synthetic_models() -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--port", "0", "--adapter", "oracle"])
    with pytest.raises(SystemExit):
        main(["serve", "--port", "0", "--synthetic-models", "-5"])
    with serve_cli("--adapter", "snowflake", "--synthetic-models", "12") as proc:
        base_url = read_lines(proc, 1)[0].rsplit(" ", 1)[1].strip()
        settings = control().get(f"{base_url}/_emulator/settings").json()
        assert (settings["adapter"], settings["synthetic_models"]) == ("snowflake", 12)
