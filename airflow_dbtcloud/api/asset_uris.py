"""Asset URIs for what a dbt Cloud run builds: the warehouse table, else a stable ``dbt://`` URI.

A table's URI takes the form that Airflow's own provider for the warehouse registers (its ``asset-uris``
handler leaves it unchanged), so a dbt model is the same asset as the table another provider's task reads
or writes, and that provider's OpenLineage converter turns it into the dataset OpenLineage's naming spec
gives the table (namespace = scheme and authority, name = the path parts joined with dots):

- postgres: ``postgres://{host}:{port}/{database}/{schema}/{table}``
- redshift: ``redshift://{cluster}.{region}:{port}/{database}/{schema}/{table}``
- snowflake: ``snowflake://{account}/{DATABASE}/{SCHEMA}/{TABLE}``
- bigquery: ``bigquery://{project}/{dataset}/{table}`` (OpenLineage namespace ``bigquery``)
- databricks: ``databricks://{host}/{catalog}/{schema}/{table}``
- trino: ``trino://{host}:{port}/{catalog}/{schema}/{table}``
- mysql: ``mysql://{host}:{port}/{schema}/{table}``
- teradata: ``teradata://{host}:{port}/{schema}/{table}``

Hosts and accounts are lower case. A port that Airflow's handler would add is always written (5432, 5439,
3306, 1025 when the connection gives none); Trino needs the connection's port, because Airflow's default
(8080) is not dbt's. Redshift's authority is ``{cluster}.{region}`` read from an AWS endpoint, as Airflow's
Redshift hook and the OpenLineage spec name it. A Snowflake account is written as OpenLineage writes it:
``{org}-{account}`` as given, a bare locator completed to ``{locator}.{region}.{cloud}`` (region
``us-west-1`` and cloud ``aws`` by default).

Names keep or fold their case the way the warehouse stores a name dbt did not quote, so the URI names the
table the warehouse holds: Snowflake upper-cases (unless the name could only exist quoted), Redshift,
Databricks (Unity Catalog) and Trino lower-case, and Postgres, BigQuery, MySQL and Teradata keep the case
dbt reports (dbt-postgres quotes every name; BigQuery names are case-sensitive). A name given inside
double quotes or backticks counts as quoted: the quotes go and its case stays. Each name is one path
segment, percent-encoded outside RFC 3986's path characters (``/``, ``?``, ``#``, ``%``, spaces, quotes
and non-ASCII letters are encoded, so the URI stays ASCII); names of letters, digits, ``_``, ``-``, ``.``
and ``$`` are written as they are, as the other providers' asset factories write them.

When the table cannot be named (an adapter without an Airflow URI handler, such as Spark, Athena or
Fabric, or a connection without its host or account), a node's URI is
``dbt://{account id}/{project id}/{unique id}`` (:func:`dbt_node_uri`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["DBT_SCHEME", "Warehouse", "dbt_node_uri", "table_uri"]

#: The scheme of a node's URI when its table cannot be named.
DBT_SCHEME = "dbt"

#: What a missing account or project id is written as in a ``dbt://`` URI.
_UNKNOWN_ID = "unknown"

#: Characters RFC 3986 allows in a path segment besides the unreserved ones, which ``quote`` keeps anyway.
_PATH_SAFE = "!$&'()*+,;=:@"

#: A name Snowflake accepts unquoted (and then stores in upper case).
_SNOWFLAKE_UNQUOTED = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")

#: A host name (lower case): letters, digits, ``-``, ``_`` and dots between labels.
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?")

#: A Snowflake account identifier (lower case), with its optional region and cloud.
_SNOWFLAKE_ACCOUNT = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")

#: A GCP project id, including the legacy domain-scoped form ``example.com:project``.
_GCP_PROJECT = re.compile(r"[a-z0-9](?:[a-z0-9.:-]*[a-z0-9])?")

#: Where the connection object keeps its adapter-specific fields: ``config`` (account connections) and
#: ``details`` (a project's connection), each flat or in the adapter form
#: ``{"connection_details": {"fields": {name: {"value": ...}}}}``.
_NESTED_KEYS = ("config", "details")

#: dbt Cloud adapter versions whose manifest ``adapter_type`` is not the version's stem.
_ADAPTER_OF_VERSION = {"databricks_spark": "spark", "apache_spark": "spark"}


@dataclass(frozen=True)
class Warehouse:
    """The identity of the warehouse a dbt project builds into: what an asset URI's authority needs.

    Build it from the dbt Cloud project's connection with :meth:`from_connection`. Values are kept as
    the connection gives them; :func:`table_uri` normalizes them (case, scheme, port), so a hand-built
    ``Warehouse`` behaves the same.

    :param adapter_type: The dbt adapter, lower case (``postgres``, ``snowflake``...); empty if unknown.
    :param host: The server's host name (Postgres, Redshift, Databricks, Trino, MySQL, Teradata); it may
        carry a scheme or port, which are read as such.
    :param port: The server's port, when the connection gives one.
    :param account: The Snowflake account identifier.
    :param database: The connection's default database (Postgres/Redshift ``dbname``, Snowflake
        ``database``, BigQuery ``project_id``, Databricks ``catalog``), for a node that names none.
    """

    adapter_type: str
    host: str | None = None
    port: int | None = None
    account: str | None = None
    database: str | None = None

    @classmethod
    def from_connection(cls, adapter_type: str | None, connection: Mapping[str, Any] | None) -> Warehouse:
        """Read the warehouse identity from a dbt Cloud connection object; never fails.

        Fields are looked for in ``config``, then ``details`` (each flat or in the adapter form with
        ``connection_details.fields``); an object with neither and no ``account_id`` is read as the
        adapter configuration itself. Missing or malformed fields stay None, and :func:`table_uri` then
        returns None where it needs them.

        :param adapter_type: The manifest's ``metadata.adapter_type``; when missing, the connection's
            ``adapter_version`` (``postgres_v0``...) or ``type`` stands in.
        :param connection: The ``connection`` of GET ``/api/v3/accounts/{a}/projects/{p}/``, or an
            account connection, or its ``config``; None when unknown.
        """
        fields = _connection_fields(connection)
        adapter = (adapter_type or "").strip().lower() or _adapter_of(connection)
        return cls(
            adapter_type=adapter,
            host=_first_text(fields, "hostname", "host"),
            port=_port(fields.get("port")),
            account=_first_text(fields, "account"),
            database=_first_text(fields, "dbname", "database", "catalog", "project_id"),
        )

    @property
    def identified(self) -> bool:
        """Whether table URIs can be named from this warehouse (given a node with a full relation)."""
        dialect = _DIALECTS.get(self.adapter_type)
        if dialect is None:
            return False
        return dialect.authority_from_database or dialect.authority(self, None) is not None


def table_uri(
    warehouse: Warehouse, database: str | None, schema: str | None, identifier: str | None
) -> str | None:
    """Return the Airflow asset URI of a table, in the form the warehouse's Airflow provider uses.

    :param warehouse: Where the table lives.
    :param database: The node's database (BigQuery: the GCP project; Databricks and Trino: the catalog);
        None falls back to the connection's default. Ignored by MySQL and Teradata, whose schema is the
        database.
    :param schema: The node's schema (BigQuery: the dataset).
    :param identifier: The table's name: the node's ``alias``, else its ``name``.
    :return: The URI, or None when the adapter has no Airflow URI form or the warehouse or the relation
        is not known well enough to name the table.
    """
    dialect = _DIALECTS.get(warehouse.adapter_type)
    if dialect is None:
        return None
    database = database or warehouse.database
    authority = dialect.authority(warehouse, database)
    names = (database, schema, identifier)[3 - dialect.path_length :]
    segments = [_segment(name, dialect.fold) for name in names]
    if authority is None or any(segment is None for segment in segments):
        return None
    return f"{dialect.scheme}://{authority}/" + "/".join(str(segment) for segment in segments)


def dbt_node_uri(account_id: int | None, project_id: int | None, unique_id: str) -> str:
    """Return a node's ``dbt://`` URI: ``dbt://{account id}/{project id}/{unique id}``.

    A unique id such as ``model.jaffle_shop.orders`` is unique only inside one dbt project, and dbt
    project names repeat (every starter project is ``jaffle_shop``), so the dbt Cloud account and project
    ids scope it: they never change when a project is renamed, and differ between two projects built from
    the same code. The dbt Cloud host is left out, so a project reached through another access URL keeps
    its URIs. There is no user info, query or fragment; the unique id is percent-encoded like a table name.

    :param account_id: The dbt Cloud account; None is written as ``unknown``.
    :param project_id: The dbt Cloud project; None is written as ``unknown``.
    :param unique_id: The node's ``unique_id`` from the manifest.
    :raises ValueError: When the unique id is blank, or an id is negative or not an int.
    """
    if not unique_id.strip():
        raise ValueError("a dbt node's unique_id must not be blank")
    node = quote(unique_id.strip(), safe=_PATH_SAFE)
    return f"{DBT_SCHEME}://{_id_part(account_id, 'account_id')}/{_id_part(project_id, 'project_id')}/{node}"


# ---------------------------------------------------------------------------------------------------------
# Per-warehouse rules
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dialect:
    """How one warehouse's tables are written as URIs.

    :param scheme: The URI scheme Airflow's provider registers.
    :param authority: Builds the URI's authority from the warehouse and the table's database; None when
        it cannot.
    :param fold: The case an unquoted name is stored in.
    :param path_length: How many trailing parts of database, schema, table the path holds.
    :param authority_from_database: Whether the authority is the database itself (BigQuery's project).
    """

    scheme: str
    authority: Callable[[Warehouse, str | None], str | None]
    fold: Callable[[str], str]
    path_length: int = 3
    authority_from_database: bool = False


def _keep(name: str) -> str:
    return name


def _lower(name: str) -> str:
    return name.lower()


def _snowflake_case(name: str) -> str:
    """Snowflake stores an unquoted name in upper case; a name it accepts only quoted is kept as it is."""
    return name.upper() if _SNOWFLAKE_UNQUOTED.fullmatch(name) else name


def _host_authority(default_port: int | None) -> Callable[[Warehouse, str | None], str | None]:
    """``host:port``, the port from the connection, else from the host, else ``default_port``."""

    def authority(warehouse: Warehouse, database: str | None) -> str | None:
        found = _host_and_port(warehouse.host)
        if found is None:
            return None
        host, host_port = found
        port = warehouse.port or host_port or default_port
        return None if port is None else f"{host}:{port}"

    return authority


def _redshift_authority(warehouse: Warehouse, database: str | None) -> str | None:
    """``{cluster}.{region}:{port}`` for an AWS endpoint, else ``{host}:{port}`` (as Airflow's hook does)."""
    found = _host_and_port(warehouse.host)
    if found is None:
        return None
    host, host_port = found
    labels = host.split(".")
    if (host.endswith(".amazonaws.com") and len(labels) == 6) or (
        host.endswith(".amazonaws.com.cn") and len(labels) == 7
    ):
        host = f"{labels[0]}.{labels[2]}"
    return f"{host}:{warehouse.port or host_port or 5439}"


def _databricks_authority(warehouse: Warehouse, database: str | None) -> str | None:
    """The workspace host alone: OpenLineage's namespace and Airflow's Databricks hook carry no port."""
    found = _host_and_port(warehouse.host)
    return None if found is None else found[0]


def _snowflake_authority(warehouse: Warehouse, database: str | None) -> str | None:
    """The account in OpenLineage's form (see the module docstring)."""
    if warehouse.account is None:
        return None
    text = warehouse.account.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.removesuffix(".snowflakecomputing.com")
    if not _SNOWFLAKE_ACCOUNT.fullmatch(text):
        return None
    parts = text.split(".")
    if "-" in parts[0]:  # organization-account: never followed by a region
        return parts[0]
    if len(parts) == 1:
        return f"{parts[0]}.us-west-1.aws"
    if len(parts) == 2:
        return f"{parts[0]}.{parts[1]}.aws"
    return ".".join(parts[:3])


def _bigquery_authority(warehouse: Warehouse, database: str | None) -> str | None:
    """The table's GCP project (dbt's database), lower case like every project id."""
    project = (database or "").strip().lower()
    return project if _GCP_PROJECT.fullmatch(project) else None


_DIALECTS: dict[str, _Dialect] = {
    "postgres": _Dialect("postgres", _host_authority(5432), _keep),
    "redshift": _Dialect("redshift", _redshift_authority, _lower),
    "snowflake": _Dialect("snowflake", _snowflake_authority, _snowflake_case),
    "bigquery": _Dialect("bigquery", _bigquery_authority, _keep, 2, authority_from_database=True),
    "databricks": _Dialect("databricks", _databricks_authority, _lower),
    "trino": _Dialect("trino", _host_authority(None), _lower),
    "mysql": _Dialect("mysql", _host_authority(3306), _keep, 2),
    "mariadb": _Dialect("mysql", _host_authority(3306), _keep, 2),
    "teradata": _Dialect("teradata", _host_authority(1025), _keep, 2),
}


# ---------------------------------------------------------------------------------------------------------
# Reading values
# ---------------------------------------------------------------------------------------------------------


def _segment(name: str | None, fold: Callable[[str], str]) -> str | None:
    """One name as a path segment: quotes removed (case kept) or case folded, then percent-encoded."""
    if name is None or not name.strip():
        return None
    quote_char = name[0]
    if len(name) >= 2 and quote_char in '"`' and name[-1] == quote_char:
        name = name[1:-1].replace(quote_char * 2, quote_char)
        if not name:
            return None
    else:
        name = fold(name)
    encoded = quote(name, safe=_PATH_SAFE)
    return encoded.replace(".", "%2E") if encoded in {".", ".."} else encoded


def _host_and_port(value: str | None) -> tuple[str, int | None] | None:
    """The lower-case host (IPv6 in brackets) and the port a host value carries; None if it is no host."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parts = urlsplit(text if "://" in text else f"//{text}")
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        return f"[{host}]", port
    return (host, port) if _HOST_NAME.fullmatch(host) else None


def _id_part(value: int | None, name: str) -> str:
    if value is None:
        return _UNKNOWN_ID
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int or None, not {value!r}")
    return str(value)


def _text(value: Any) -> str | None:
    """A non-blank string, stripped; anything else is None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _first_text(fields: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` whose value is a non-blank string, stripped."""
    return next((text for key in keys if (text := _text(fields.get(key))) is not None), None)


def _port(value: Any) -> int | None:
    """A TCP port from an int or a string of digits; anything else is None."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        return value
    return None


def _nested(connection: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The mappings holding adapter fields: ``config`` and ``details``, else the object itself."""
    found = [value for key in _NESTED_KEYS if isinstance(value := connection.get(key), Mapping)]
    if not found and "account_id" not in connection:
        found = [connection]
    return found


def _field_sources(mapping: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The flat mapping, then its adapter-form ``connection_details.fields``."""
    yield mapping
    details = mapping.get("connection_details")
    fields = details.get("fields") if isinstance(details, Mapping) else None
    if isinstance(fields, Mapping):
        yield fields


def _connection_fields(connection: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every adapter field of the connection, the first place that has one winning."""
    fields: dict[str, Any] = {}
    if not isinstance(connection, Mapping):
        return fields
    for mapping in _nested(connection):
        for source in _field_sources(mapping):
            for key, value in source.items():
                if isinstance(value, Mapping) and "value" in value:  # adapter form: {"value": ...}
                    value = value["value"]
                if value is not None and value != "":
                    fields.setdefault(str(key), value)
    return fields


def _adapter_of(connection: Mapping[str, Any] | None) -> str:
    """The adapter a connection object names, from ``adapter_version`` or ``type``; empty if none."""
    if not isinstance(connection, Mapping):
        return ""
    for mapping in (connection, *_nested(connection)):
        version = _text(mapping.get("adapter_version"))
        if version:
            stem = re.sub(r"_v\d+$", "", version.lower())
            return _ADAPTER_OF_VERSION.get(stem, stem)
    kind = (_text(connection.get("type")) or "").lower()
    return "" if kind == "adapter" else kind
