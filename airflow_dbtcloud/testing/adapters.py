"""The warehouses the emulated project can run on: naming, quoting, adapter responses, connection facts.

One :class:`Adapter` per supported warehouse holds every value that differs between them: where dbt puts
a node (database and schema, as the warehouse calls them), how ``relation_name`` is quoted (as the
adapter's default quote policy renders it), what an ``adapter_response`` looks like, and the fixed,
secret-free details of the dbt Cloud connection and deployment credentials.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ADAPTER = "postgres"


@dataclass(frozen=True)
class Adapter:
    """One warehouse adapter and the fixed values the emulator serves for it.

    :param name: The dbt adapter type, written to ``metadata.adapter_type`` of the manifest.
    :param plugin_version: Version printed in the log's ``Registered adapter`` line.
    :param database: Where models, seeds and tests live: the database (BigQuery: the GCP project id;
        Databricks: the Unity Catalog catalog).
    :param schema: The target schema (BigQuery: the dataset).
    :param snapshot_schema: The schema snapshots are written to (their ``target_schema``).
    :param quote: Quote character of ``relation_name`` (empty when the adapter quotes nothing).
    :param connection_type: The connection's ``type`` (the spec's ``ConnectionTypeEnum``).
    :param adapter_version: The connection's ``adapter_version`` (the spec's ``AdapterVersionEnum``).
    :param connection_name: The connection's display name.
    :param connection_config: Adapter-specific connection settings, shaped as the v3 spec's
        ``<Adapter>Connection`` schema, without any write-only (secret) field.
    :param credentials: Adapter-specific fields of the deployment credentials (the spec's
        ``<Adapter>Credentials``), again without secrets.
    """

    name: str
    plugin_version: str
    database: str
    schema: str
    snapshot_schema: str
    quote: str
    connection_type: str
    adapter_version: str
    connection_name: str
    connection_config: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)

    def location(self, resource_type: str) -> tuple[str, str]:
        """Return ``(database, schema)`` of a node of ``resource_type``.

        :param resource_type: ``model``, ``seed``, ``snapshot`` or ``test``.
        """
        return self.database, self.snapshot_schema if resource_type == "snapshot" else self.schema

    def relation_name(self, database: str, schema: str, identifier: str) -> str:
        """Render a relation as the adapter's default quote policy does.

        :param database: Database (project, catalog) part.
        :param schema: Schema (dataset) part.
        :param identifier: The node's alias.
        :return: e.g. ``"analytics"."dbt_prod"."orders"`` or ```main`.`dbt_prod`.`orders```.
        """
        q = self.quote
        return ".".join(f"{q}{part}{q}" for part in (database, schema, identifier))

    def response(self, unique_id: str, materialized: str) -> tuple[str, dict[str, Any]]:
        """Return the ``(message, adapter_response)`` of a node that succeeded.

        :param unique_id: The node (seeds the query and job ids, so they are stable).
        :param materialized: ``view``, ``table``, ``seed`` or ``snapshot``.
        """
        rows = 100
        token = hashlib.sha1(unique_id.encode()).hexdigest()  # noqa: S324 - a fake, stable query id
        if self.name == "snowflake":
            message = f"SUCCESS {1 if materialized == 'view' else rows}"
            return message, {"_message": message, "code": "SUCCESS", "rows_affected": rows, "query_id": token}
        if self.name == "bigquery":
            verb = {"view": "CREATE VIEW", "seed": "INSERT", "snapshot": "MERGE"}.get(
                materialized, "CREATE TABLE"
            )
            message = f"{verb} (100.0 rows, 1.6 KiB processed)"
            details = {"bytes_processed": 1638, "bytes_billed": 10485760, "location": "EU", "slot_ms": 120}
            response = {"_message": message, "code": verb, "rows_affected": rows, **details}
            return message, {**response, "project_id": self.database, "job_id": token}
        if self.name == "databricks":
            return "OK", {"_message": "OK", "code": None, "rows_affected": rows, "query_id": token}
        message = {"seed": "INSERT 100", "view": "CREATE VIEW", "snapshot": "INSERT 0 100"}.get(
            materialized, "SELECT 100"
        )
        return message, {"_message": message, "code": message.split()[0], "rows_affected": rows}


_POSTGRES_LIKE = {"dbname": "analytics", "retries": 1}
_USER = {"username": "dbt_cloud", "default_schema": "dbt_prod"}

ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter(
            "postgres",
            "1.9.0",
            "analytics",
            "dbt_prod",
            "snapshots",
            '"',
            "postgres",
            "postgres_v0",
            "Postgres",
            {"hostname": "db.internal.example", "port": 5432, **_POSTGRES_LIKE},
            dict(_USER),
        ),
        Adapter(
            "redshift",
            "1.9.0",
            "analytics",
            "dbt_prod",
            "snapshots",
            '"',
            "redshift",
            "redshift_v0",
            "Redshift",
            {"hostname": "acme.abc123.eu-west-1.redshift.amazonaws.com", "port": 5439, **_POSTGRES_LIKE},
            {"auth_type": "password", **_USER},
        ),
        Adapter(
            "snowflake",
            "1.9.2",
            "ANALYTICS",
            "DBT_PROD",
            "SNAPSHOTS",
            "",
            "snowflake",
            "snowflake_v0",
            "Snowflake",
            {
                "account": "xy12345.eu-central-1",
                "database": "ANALYTICS",
                "warehouse": "TRANSFORMING",
                "role": "TRANSFORMER",
                "allow_sso": False,
                "client_session_keep_alive": False,
            },
            {
                "auth_type": "keypair",
                "user": "DBT_CLOUD",
                "role": "TRANSFORMER",
                "database": "ANALYTICS",
                "warehouse": "TRANSFORMING",
            },
        ),
        Adapter(
            "bigquery",
            "1.9.1",
            "acme-analytics",
            "dbt_prod",
            "snapshots",
            "`",
            "bigquery",
            "bigquery_v1",
            "BigQuery",
            {
                "deployment_env_auth_type": "service-account-json",
                "project_id": "acme-analytics",
                "client_email": "dbt-cloud@acme-analytics.iam.gserviceaccount.com",
                "location": "EU",
                "job_execution_timeout_seconds": 300,
                "priority": "interactive",
                "retries": 1,
            },
        ),
        Adapter(
            "databricks",
            "1.10.0",
            "main",
            "dbt_prod",
            "snapshots",
            "`",
            "adapter",
            "databricks_v0",
            "Databricks",
            {
                "host": "dbc-1234.cloud.databricks.com",
                "http_path": "/sql/1.0/warehouses/0123456789abcdef",
                "catalog": "main",
            },
        ),
    )
}


def get_adapter(name: str) -> Adapter:
    """Return a supported adapter by name.

    :param name: ``postgres``, ``redshift``, ``snowflake``, ``bigquery`` or ``databricks``.
    :raises ValueError: For any other name.
    """
    try:
        return ADAPTERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown adapter {name!r}: choose one of {sorted(ADAPTERS)}") from None
