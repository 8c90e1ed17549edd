"""Asset URIs of what a dbt Cloud run builds, checked against Airflow's own rules for each warehouse.

Every table URI built here must come out of Airflow unchanged twice: through ``Asset(uri)`` (the
SDK's generic sanitizer) and through the ``asset-uris`` handler of the provider that owns the scheme,
and that provider's OpenLineage converter must turn it into the dataset OpenLineage names the table.

The providers are not installed (they would register themselves and pull in their drivers): ``make
venv`` puts their wheels into ``<venv>/asset-uri-providers`` (see ``side_packages``), and these tests
fail, never skip, when that folder is missing.
"""

from __future__ import annotations

import importlib.metadata
import urllib.parse
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
import side_packages
from airflow.sdk import Asset
from airflow.sdk.definitions.asset import _sanitize_uri

from airflow_dbtcloud.api.asset_uris import Warehouse, dbt_node_uri, table_uri

PROVIDERS_DIR = side_packages.side_folder("asset-uri-providers")
MISSING_MESSAGE = (
    f"The Airflow providers whose asset URI handlers these tests check against are not in {PROVIDERS_DIR}; "
    "run `make venv` (it installs them there with `pip install --no-deps --target`)."
)

#: URI scheme -> the module below ``airflow.providers`` holding its handler and OpenLineage converter; the
#: first part names the provider (``apache-airflow-providers-<first part>``).
HANDLERS = {
    "postgres": "postgres.assets.postgres",
    "redshift": "amazon.aws.assets.redshift",
    "snowflake": "snowflake.assets.snowflake",
    "bigquery": "google.assets.bigquery",
    "databricks": "databricks.assets.databricks",
    "trino": "trino.assets.trino",
    "mysql": "mysql.assets.mysql",
    "teradata": "teradata.assets.teradata",
}


def handler_module(scheme: str) -> Any:
    """The provider module that owns ``scheme``, from the side folder; fails the test if it is missing."""
    return side_packages.import_provider_module(PROVIDERS_DIR, HANDLERS[scheme], MISSING_MESSAGE)


def scheme_of(uri: str) -> str:
    return urllib.parse.urlsplit(uri).scheme


# ---------------------------------------------------------------------------------------------------------
# One example per adapter: a dbt Cloud connection object, a manifest relation, the URI and the
# OpenLineage dataset Airflow's provider makes of it
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    id: str
    adapter_type: str
    connection: dict[str, Any]
    relation: tuple[str | None, str | None, str | None]
    uri: str
    namespace: str
    name: str


EXAMPLES = [
    Example(
        "postgres",
        "postgres",
        {
            "id": 4001,
            "account_id": 7,
            "name": "Postgres",
            "type": "postgres",
            "details": {"hostname": "db.internal.example", "port": 5432, "dbname": "analytics"},
        },
        ("analytics", "dbt_prod", "orders"),
        "postgres://db.internal.example:5432/analytics/dbt_prod/orders",
        "postgres://db.internal.example:5432",
        "analytics.dbt_prod.orders",
    ),
    Example(
        "redshift",
        "redshift",
        {
            "id": 4002,
            "account_id": 7,
            "adapter_version": "redshift_v0",
            "config": {
                "hostname": "examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com",
                "port": 5439,
                "dbname": "dev",
            },
        },
        ("dev", "public", "orders"),
        "redshift://examplecluster.us-west-2:5439/dev/public/orders",
        "redshift://examplecluster.us-west-2:5439",
        "dev.public.orders",
    ),
    Example(
        "snowflake",
        "snowflake",
        {
            "id": 4003,
            "account_id": 7,
            "type": "snowflake",
            "details": {
                "account": "myorg-myaccount",
                "database": "ANALYTICS",
                "warehouse": "TRANSFORMING",
                "role": "TRANSFORMER",
            },
        },
        ("analytics", "dbt_prod", "orders"),
        "snowflake://myorg-myaccount/ANALYTICS/DBT_PROD/ORDERS",
        "snowflake://myorg-myaccount",
        "ANALYTICS.DBT_PROD.ORDERS",
    ),
    Example(
        "snowflake-locator",
        "snowflake",
        {
            "account_id": 7,
            "type": "snowflake",
            "details": {"account": "xy12345.us-east-2", "database": "RAW"},
        },
        ("RAW", "JAFFLE", "customers"),
        "snowflake://xy12345.us-east-2.aws/RAW/JAFFLE/CUSTOMERS",
        "snowflake://xy12345.us-east-2.aws",
        "RAW.JAFFLE.CUSTOMERS",
    ),
    Example(
        "bigquery",
        "bigquery",
        {
            "account_id": 7,
            "adapter_version": "bigquery_v1",
            "config": {"project_id": "acme-analytics", "location": "EU"},
        },
        ("acme-analytics", "dbt_prod", "orders"),
        "bigquery://acme-analytics/dbt_prod/orders",
        "bigquery",
        "acme-analytics.dbt_prod.orders",
    ),
    Example(
        "databricks",
        "databricks",
        {
            "account_id": 7,
            "type": "adapter",
            "details": {
                "connection_details": {
                    "fields": {
                        "host": {"value": "adb-1234567890123456.7.azuredatabricks.net"},
                        "http_path": {"value": "/sql/1.0/warehouses/abc123"},
                        "catalog": {"value": "main"},
                    }
                }
            },
        },
        ("main", "dbt_prod", "orders"),
        "databricks://adb-1234567890123456.7.azuredatabricks.net/main/dbt_prod/orders",
        "databricks://adb-1234567890123456.7.azuredatabricks.net",
        "main.dbt_prod.orders",
    ),
    Example(
        "trino",
        "trino",
        {
            "account_id": 7,
            "adapter_version": "trino_v0",
            "config": {"host": "starburst.example.com", "port": 443, "method": "ldap"},
        },
        ("iceberg", "dbt_prod", "orders"),
        "trino://starburst.example.com:443/iceberg/dbt_prod/orders",
        "trino://starburst.example.com:443",
        "iceberg.dbt_prod.orders",
    ),
    Example(
        "teradata",
        "teradata",
        {
            "account_id": 7,
            "adapter_version": "teradata_v0",
            "config": {"host": "td.example.com", "tmode": "ANSI"},
        },
        ("dbt_prod", "dbt_prod", "orders"),
        "teradata://td.example.com:1025/dbt_prod/orders",
        "teradata://td.example.com:1025",
        "dbt_prod.orders",
    ),
    Example(
        "mysql",
        "mysql",
        {"hostname": "mysql.example.com"},
        (None, "shop", "orders"),
        "mysql://mysql.example.com:3306/shop/orders",
        "mysql://mysql.example.com:3306",
        "shop.orders",
    ),
]


# ---------------------------------------------------------------------------------------------------------
# Names: case, quotes and escaping, per warehouse
# ---------------------------------------------------------------------------------------------------------

WAREHOUSES = {
    "postgres": Warehouse("postgres", host="db.example.com"),
    "redshift": Warehouse("redshift", host="warehouse.example.com"),
    "snowflake": Warehouse("snowflake", account="myorg-acct"),
    "bigquery": Warehouse("bigquery"),
    "databricks": Warehouse("databricks", host="dbc.example.com"),
    "trino": Warehouse("trino", host="trino.example.com", port=8443),
    "mysql": Warehouse("mysql", host="mysql.example.com"),
    "mariadb": Warehouse("mariadb", host="maria.example.com"),
    "teradata": Warehouse("teradata", host="td.example.com"),
}

NAMES = [
    ("snowflake", ("analytics", "dbt_prod", "orders"), "snowflake://myorg-acct/ANALYTICS/DBT_PROD/ORDERS"),
    ("snowflake", ("db", "s", "my$table"), "snowflake://myorg-acct/DB/S/MY$TABLE"),
    ("snowflake", ("db", "s", "Order Items"), "snowflake://myorg-acct/DB/S/Order%20Items"),
    ("snowflake", ("db", "s", "1st_table"), "snowflake://myorg-acct/DB/S/1st_table"),
    ("snowflake", ("db", "s", '"MixedCase"'), "snowflake://myorg-acct/DB/S/MixedCase"),
    ("snowflake", ("db", "s", '"say ""hi"""'), "snowflake://myorg-acct/DB/S/say%20%22hi%22"),
    ("redshift", ("Dev", "Public", "Orders"), "redshift://warehouse.example.com:5439/dev/public/orders"),
    ("redshift", ("dev", "public", '"Orders"'), "redshift://warehouse.example.com:5439/dev/public/Orders"),
    ("databricks", ("Main", "Sales", "Orders"), "databricks://dbc.example.com/main/sales/orders"),
    ("databricks", ("main", "sales", "`Orders`"), "databricks://dbc.example.com/main/sales/Orders"),
    ("trino", ("Hive", "Sales", "Orders"), "trino://trino.example.com:8443/hive/sales/orders"),
    (
        "postgres",
        ("analytics", "dbt_prod", "Orders"),
        "postgres://db.example.com:5432/analytics/dbt_prod/Orders",
    ),
    (
        "postgres",
        ("analytics", "dbt prod", "order items"),
        "postgres://db.example.com:5432/analytics/dbt%20prod/order%20items",
    ),
    ("postgres", ("analytics", "s", "a/b"), "postgres://db.example.com:5432/analytics/s/a%2Fb"),
    ("postgres", ("analytics", "s", "a?b#c"), "postgres://db.example.com:5432/analytics/s/a%3Fb%23c"),
    ("postgres", ("analytics", "s", "100%"), "postgres://db.example.com:5432/analytics/s/100%25"),
    ("postgres", ("analytics", "s", "café"), "postgres://db.example.com:5432/analytics/s/caf%C3%A9"),
    ("postgres", ("analytics", "s", "orders.v2"), "postgres://db.example.com:5432/analytics/s/orders.v2"),
    ("postgres", ("analytics", "s", "."), "postgres://db.example.com:5432/analytics/s/%2E"),
    ("postgres", ("analytics", "s", "it's(1)"), "postgres://db.example.com:5432/analytics/s/it's(1)"),
    ("bigquery", ("acme", "Sales", "Orders"), "bigquery://acme/Sales/Orders"),
    ("bigquery", ("Acme-Analytics", "sales", "orders"), "bigquery://acme-analytics/sales/orders"),
    ("bigquery", ("example.com:acme", "sales", "orders"), "bigquery://example.com:acme/sales/orders"),
    ("bigquery", ("acme", "sales", "daily orders"), "bigquery://acme/sales/daily%20orders"),
    ("mysql", ("ignored", "shop", "Orders"), "mysql://mysql.example.com:3306/shop/Orders"),
    ("mariadb", (None, "shop", "orders"), "mysql://maria.example.com:3306/shop/orders"),
    ("teradata", ("ignored", "Sales", "Orders"), "teradata://td.example.com:1025/Sales/Orders"),
]


@pytest.mark.parametrize(("adapter", "relation", "uri"), NAMES, ids=[uri for _, _, uri in NAMES])
def test_names_are_cased_and_escaped_per_warehouse(adapter, relation, uri):
    assert table_uri(WAREHOUSES[adapter], *relation) == uri


def test_missing_database_falls_back_to_the_connections():
    warehouse = Warehouse("postgres", host="db.example.com", database="analytics")
    assert table_uri(warehouse, None, "s", "t") == "postgres://db.example.com:5432/analytics/s/t"


def test_node_database_wins_over_the_connections():
    warehouse = Warehouse("postgres", host="db.example.com", database="analytics")
    assert table_uri(warehouse, "other", "s", "t") == "postgres://db.example.com:5432/other/s/t"


# ---------------------------------------------------------------------------------------------------------
# Authorities: hosts, ports, Snowflake accounts, Redshift endpoints
# ---------------------------------------------------------------------------------------------------------

AUTHORITIES = [
    ("postgres-upper-host", Warehouse("postgres", host="DB.Example.COM"), "db.example.com:5432"),
    ("postgres-port-field", Warehouse("postgres", host="db", port=5433), "db:5433"),
    ("postgres-port-in-host", Warehouse("postgres", host="db.example.com:6543"), "db.example.com:6543"),
    ("postgres-port-field-wins", Warehouse("postgres", host="db:6543", port=5433), "db:5433"),
    (
        "postgres-url-host",
        Warehouse("postgres", host="postgresql://u@db.example.com:5433/x"),
        "db.example.com:5433",
    ),
    ("postgres-trailing-dot", Warehouse("postgres", host="db.example.com."), "db.example.com:5432"),
    ("postgres-ipv4", Warehouse("postgres", host="10.0.0.5"), "10.0.0.5:5432"),
    ("postgres-ipv6", Warehouse("postgres", host="[2001:db8::1]"), "[2001:db8::1]:5432"),
    ("mysql-default-port", Warehouse("mysql", host="m"), "m:3306"),
    ("teradata-default-port", Warehouse("teradata", host="t"), "t:1025"),
    ("trino-port-in-host", Warehouse("trino", host="trino.example.com:443"), "trino.example.com:443"),
    (
        "redshift-cluster-endpoint",
        Warehouse("redshift", host="Analytics.c1a2b3.eu-west-1.redshift.amazonaws.com"),
        "analytics.eu-west-1:5439",
    ),
    (
        "redshift-china-endpoint",
        Warehouse("redshift", host="cl.c1a2b3.cn-north-1.redshift.amazonaws.com.cn", port=5440),
        "cl.cn-north-1:5440",
    ),
    (
        "redshift-serverless-endpoint",
        Warehouse("redshift", host="wg.123456789012.us-east-1.redshift-serverless.amazonaws.com"),
        "wg.us-east-1:5439",
    ),
    ("redshift-other-host", Warehouse("redshift", host="redshift.internal"), "redshift.internal:5439"),
    (
        "databricks-url-host",
        Warehouse("databricks", host="https://ADB-1.azuredatabricks.net/"),
        "adb-1.azuredatabricks.net",
    ),
    ("databricks-drops-port", Warehouse("databricks", host="dbc.example.com:443"), "dbc.example.com"),
    ("snowflake-org-account", Warehouse("snowflake", account="MyOrg-MyAccount"), "myorg-myaccount"),
    ("snowflake-org-account-suffix", Warehouse("snowflake", account="myorg-acct.privatelink"), "myorg-acct"),
    ("snowflake-bare-locator", Warehouse("snowflake", account="xy12345"), "xy12345.us-west-1.aws"),
    (
        "snowflake-locator-region",
        Warehouse("snowflake", account="xy12345.us-east-1"),
        "xy12345.us-east-1.aws",
    ),
    (
        "snowflake-locator-cloud",
        Warehouse("snowflake", account="xy12345.east-us-2.azure"),
        "xy12345.east-us-2.azure",
    ),
    (
        "snowflake-full-host",
        Warehouse("snowflake", account="https://xy12345.eu-west-1.snowflakecomputing.com"),
        "xy12345.eu-west-1.aws",
    ),
]


@pytest.mark.parametrize(
    ("warehouse", "authority"), [a[1:] for a in AUTHORITIES], ids=[a[0] for a in AUTHORITIES]
)
def test_authority_names_the_warehouse_as_airflow_and_openlineage_do(warehouse, authority):
    uri = table_uri(warehouse, "d", "s", "t")
    assert uri is not None
    assert urllib.parse.urlsplit(uri).netloc == authority


# ---------------------------------------------------------------------------------------------------------
# When the table cannot be named
# ---------------------------------------------------------------------------------------------------------

UNNAMED = [
    ("postgres-no-host", Warehouse("postgres"), ("d", "s", "t")),
    ("postgres-blank-host", Warehouse("postgres", host="  "), ("d", "s", "t")),
    ("postgres-host-with-space", Warehouse("postgres", host="db example.com"), ("d", "s", "t")),
    ("postgres-bad-port-in-host", Warehouse("postgres", host="db:abc"), ("d", "s", "t")),
    ("postgres-broken-ipv6", Warehouse("postgres", host="[2001:db8::1"), ("d", "s", "t")),
    ("redshift-no-host", Warehouse("redshift", database="dev"), ("dev", "s", "t")),
    ("snowflake-no-account", Warehouse("snowflake", database="DB"), ("DB", "S", "T")),
    ("snowflake-bad-account", Warehouse("snowflake", account="my account"), ("DB", "S", "T")),
    ("databricks-no-host", Warehouse("databricks", database="main"), ("main", "s", "t")),
    ("trino-no-port", Warehouse("trino", host="trino.example.com"), ("hive", "s", "t")),
    ("bigquery-no-project", Warehouse("bigquery"), (None, "s", "t")),
    ("bigquery-bad-project", Warehouse("bigquery"), ("my project", "s", "t")),
    ("spark", Warehouse("spark", host="dbc.example.com", port=443), ("d", "s", "t")),
    ("athena", Warehouse("athena", database="awsdatacatalog"), ("awsdatacatalog", "s", "t")),
    ("fabric", Warehouse("fabric", host="x.datawarehouse.fabric.microsoft.com"), ("d", "s", "t")),
    ("unknown-adapter", Warehouse(""), ("d", "s", "t")),
    ("missing-database", Warehouse("postgres", host="db"), (None, "s", "t")),
    ("missing-schema", Warehouse("postgres", host="db"), ("d", None, "t")),
    ("missing-identifier", Warehouse("postgres", host="db"), ("d", "s", None)),
    ("blank-identifier", Warehouse("postgres", host="db"), ("d", "s", "  ")),
    ("empty-quoted-identifier", Warehouse("postgres", host="db"), ("d", "s", '""')),
]


@pytest.mark.parametrize(("warehouse", "relation"), [u[1:] for u in UNNAMED], ids=[u[0] for u in UNNAMED])
def test_table_uri_is_none_when_the_table_cannot_be_named(warehouse, relation):
    assert table_uri(warehouse, *relation) is None


IDENTIFIED = [
    ("postgres-with-host", Warehouse("postgres", host="db"), True),
    ("postgres-without-host", Warehouse("postgres"), False),
    ("bigquery-needs-only-the-node", Warehouse("bigquery"), True),
    ("trino-without-port", Warehouse("trino", host="t"), False),
    ("spark", Warehouse("spark", host="h", port=443), False),
]


@pytest.mark.parametrize(
    ("warehouse", "identified"), [i[1:] for i in IDENTIFIED], ids=[i[0] for i in IDENTIFIED]
)
def test_identified_says_whether_tables_can_be_named(warehouse, identified):
    assert warehouse.identified is identified


# ---------------------------------------------------------------------------------------------------------
# Reading the dbt Cloud connection object
# ---------------------------------------------------------------------------------------------------------

CONNECTIONS = [
    (
        "project-details",
        "snowflake",
        {"id": 1, "account_id": 7, "type": "snowflake", "details": {"account": "xy1", "database": "DB"}},
        Warehouse("snowflake", account="xy1", database="DB"),
    ),
    (
        "account-config-with-port-as-text",
        "postgres",
        {"id": 1, "account_id": 7, "config": {"hostname": "db", "port": "5433", "dbname": "a"}},
        Warehouse("postgres", host="db", port=5433, database="a"),
    ),
    (
        "adapter-fields",
        "databricks",
        {
            "account_id": 7,
            "details": {
                "connection_details": {"fields": {"host": {"value": "h"}, "catalog": {"value": "c"}}}
            },
        },
        Warehouse("databricks", host="h", database="c"),
    ),
    (
        "bare-config",
        "bigquery",
        {"project_id": "acme", "location": "EU"},
        Warehouse("bigquery", database="acme"),
    ),
    (
        "config-wins-over-details",
        "postgres",
        {"account_id": 7, "config": {"hostname": "a"}, "details": {"hostname": "b", "port": 1}},
        Warehouse("postgres", host="a", port=1),
    ),
    (
        "hostname-wins-over-host",
        "redshift",
        {"config": {"hostname": "a", "host": "b"}},
        Warehouse("redshift", host="a"),
    ),
    (
        "envelope-without-details",
        "postgres",
        {"id": 4001, "account_id": 7, "name": "Postgres", "type": "postgres"},
        Warehouse("postgres"),
    ),
    (
        "envelope-project-id-is-not-a-gcp-project",
        "bigquery",
        {"account_id": 7, "project_id": 55, "type": "bigquery"},
        Warehouse("bigquery"),
    ),
    ("no-connection", "postgres", None, Warehouse("postgres")),
    ("details-not-a-mapping", "postgres", {"account_id": 7, "details": "secret"}, Warehouse("postgres")),
    (
        "port-not-a-number",
        "postgres",
        {"config": {"hostname": "db", "port": "abc"}},
        Warehouse("postgres", host="db"),
    ),
    ("port-zero", "postgres", {"config": {"hostname": "db", "port": 0}}, Warehouse("postgres", host="db")),
    ("port-true", "postgres", {"config": {"hostname": "db", "port": True}}, Warehouse("postgres", host="db")),
    (
        "port-too-big",
        "postgres",
        {"config": {"hostname": "db", "port": 70000}},
        Warehouse("postgres", host="db"),
    ),
    ("blank-values", "snowflake", {"details": {"account": " ", "database": ""}}, Warehouse("snowflake")),
    (
        "values-stripped",
        "snowflake",
        {"details": {"account": " xy1 "}},
        Warehouse("snowflake", account="xy1"),
    ),
    (
        "manifest-adapter-lower-cased",
        " Snowflake ",
        {"details": {"account": "xy1"}},
        Warehouse("snowflake", account="xy1"),
    ),
    (
        "manifest-adapter-wins",
        "redshift",
        {"account_id": 7, "adapter_version": "postgres_v0", "config": {"hostname": "h"}},
        Warehouse("redshift", host="h"),
    ),
    ("adapter-from-version", None, {"account_id": 7, "adapter_version": "trino_v0"}, Warehouse("trino")),
    (
        "adapter-from-spark-version",
        None,
        {"account_id": 7, "adapter_version": "databricks_spark_v0"},
        Warehouse("spark"),
    ),
    ("adapter-from-type", None, {"account_id": 7, "type": "Redshift"}, Warehouse("redshift")),
    ("adapter-type-adapter-is-unknown", None, {"account_id": 7, "type": "adapter"}, Warehouse("")),
    ("nothing-known", None, None, Warehouse("")),
]


@pytest.mark.parametrize(
    ("adapter_type", "connection", "warehouse"), [c[1:] for c in CONNECTIONS], ids=[c[0] for c in CONNECTIONS]
)
def test_from_connection_reads_the_warehouse_identity(adapter_type, connection, warehouse):
    assert Warehouse.from_connection(adapter_type, connection) == warehouse


def test_warehouse_is_frozen():
    with pytest.raises(AttributeError):
        Warehouse("postgres", host="db").host = "other"  # type: ignore[misc]


def test_equal_warehouses_hash_alike():
    assert {Warehouse("postgres", host="db"): 1}[Warehouse("postgres", host="db")] == 1


# ---------------------------------------------------------------------------------------------------------
# The dbt:// URI
# ---------------------------------------------------------------------------------------------------------

NODE_URIS = [
    ((7, 55, "model.jaffle_shop.orders"), "dbt://7/55/model.jaffle_shop.orders"),
    ((7, 55, "seed.jaffle_shop.raw_orders"), "dbt://7/55/seed.jaffle_shop.raw_orders"),
    ((7, 55, "snapshot.jaffle_shop.orders_snapshot"), "dbt://7/55/snapshot.jaffle_shop.orders_snapshot"),
    ((7, 55, "model.jaffle_shop.orders.v2"), "dbt://7/55/model.jaffle_shop.orders.v2"),
    ((7, 55, "model.my project.order items/x?#"), "dbt://7/55/model.my%20project.order%20items%2Fx%3F%23"),
    ((None, 55, "model.p.m"), "dbt://unknown/55/model.p.m"),
    ((7, None, "model.p.m"), "dbt://7/unknown/model.p.m"),
]


@pytest.mark.parametrize(("args", "uri"), NODE_URIS, ids=[uri for _, uri in NODE_URIS])
def test_dbt_node_uri(args, uri):
    assert dbt_node_uri(*args) == uri


@pytest.mark.parametrize("uri", [uri for _, uri in NODE_URIS])
def test_dbt_node_uri_has_no_user_info_query_or_fragment(uri):
    parts = urllib.parse.urlsplit(uri)
    assert (parts.username, parts.password, parts.query, parts.fragment) == (None, None, "", "")


def test_dbt_node_uri_differs_between_projects_of_the_same_code():
    assert dbt_node_uri(7, 55, "model.jaffle_shop.orders") != dbt_node_uri(7, 56, "model.jaffle_shop.orders")


BAD_NODE_ARGS = [
    ("blank-unique-id", (7, 55, "  ")),
    ("negative-account", (-1, 55, "model.p.m")),
    ("bool-project", (7, True, "model.p.m")),
    ("text-account", ("7", 55, "model.p.m")),
]


@pytest.mark.parametrize("args", [b[1] for b in BAD_NODE_ARGS], ids=[b[0] for b in BAD_NODE_ARGS])
def test_dbt_node_uri_rejects_bad_ids(args):
    with pytest.raises(ValueError):
        dbt_node_uri(*args)


# ---------------------------------------------------------------------------------------------------------
# Airflow's own rules
# ---------------------------------------------------------------------------------------------------------

#: Every table URI the tests above expect or check the authority of, with an id.
TABLE_URIS = (
    [pytest.param(e.uri, id=e.id) for e in EXAMPLES]
    + [pytest.param(uri, id=uri) for _, _, uri in NAMES]
    + [pytest.param(table_uri(warehouse, "d", "s", "t"), id=case) for case, warehouse, _ in AUTHORITIES]
)
ALL_URIS = TABLE_URIS + [pytest.param(uri, id=uri) for _, uri in NODE_URIS]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example_uri_from_connection_and_relation(example):
    warehouse = Warehouse.from_connection(example.adapter_type, example.connection)
    assert table_uri(warehouse, *example.relation) == example.uri


@pytest.mark.parametrize("uri", ALL_URIS)
def test_airflow_asset_keeps_the_uri(uri):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Asset(uri).uri == uri


@pytest.mark.parametrize("uri", ALL_URIS)
def test_airflow_sanitizer_keeps_the_uri(uri):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _sanitize_uri(uri) == uri


@pytest.mark.parametrize("uri", TABLE_URIS)
def test_provider_handler_keeps_the_uri(uri):
    handler = handler_module(scheme_of(uri)).sanitize_uri
    assert urllib.parse.urlunsplit(handler(urllib.parse.urlsplit(uri))) == uri


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_provider_turns_the_uri_into_the_openlineage_dataset(example):
    dataset = handler_module(scheme_of(example.uri)).convert_asset_to_openlineage(Asset(example.uri), None)
    assert (dataset.namespace, dataset.name) == (example.namespace, example.name)


@pytest.mark.parametrize("scheme", sorted(HANDLERS))
def test_handler_checked_is_the_one_the_provider_registers(scheme):
    provider = HANDLERS[scheme].split(".")[0]
    info = side_packages.import_provider_module(
        PROVIDERS_DIR, f"{provider}.get_provider_info", MISSING_MESSAGE
    )
    handlers = {
        s: entry["handler"] for entry in info.get_provider_info()["asset-uris"] for s in entry["schemes"]
    }
    assert handlers[scheme] == f"airflow.providers.{HANDLERS[scheme]}.sanitize_uri"


@pytest.mark.parametrize("scheme", sorted(HANDLERS))
def test_side_providers_stay_uninstalled(scheme):
    handler_module(scheme)
    provider = HANDLERS[scheme].split(".")[0]
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution(f"apache-airflow-providers-{provider}")


def test_missing_side_folder_fails_and_says_to_run_make_venv(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="make venv"):
        side_packages.import_provider_module(tmp_path, "postgres.assets.postgres", MISSING_MESSAGE)
