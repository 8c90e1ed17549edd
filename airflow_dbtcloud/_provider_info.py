"""The provider description Airflow's providers manager reads (mirrors ``provider.yaml``)."""

from __future__ import annotations

from typing import Any

from airflow_dbtcloud import __version__

__all__ = ["provider_info"]


def provider_info() -> dict[str, Any]:
    """Return the provider info dictionary."""
    return {
        "package-name": "airflow-dbtcloud",
        "name": "dbt Cloud (airflow-dbtcloud)",
        "description": "Run dbt Cloud jobs from Apache Airflow: exactly-once runs, deferrable waits, "
        "streamed artifacts, dbt models as Airflow assets, OpenLineage for runs and their nodes, and a "
        "local dbt Cloud emulator.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "dbt Cloud",
                "external-doc-url": "https://docs.getdbt.com/docs/dbt-cloud-apis/admin-cloud-api",
                "tags": ["dbt"],
            }
        ],
        "operators": [
            {
                "integration-name": "dbt Cloud",
                "python-modules": ["airflow_dbtcloud.operators.dbt", "airflow_dbtcloud.operators.assets"],
            }
        ],
        "sensors": [{"integration-name": "dbt Cloud", "python-modules": ["airflow_dbtcloud.sensors.dbt"]}],
        "hooks": [{"integration-name": "dbt Cloud", "python-modules": ["airflow_dbtcloud.hooks.dbt"]}],
        "triggers": [{"integration-name": "dbt Cloud", "python-modules": ["airflow_dbtcloud.triggers.dbt"]}],
        "connection-types": [
            {
                "hook-class-name": "airflow_dbtcloud.hooks.dbt.DbtCloudHook",
                "hook-name": "dbt Cloud",
                "connection-type": "dbt_cloud",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"login": "Account ID", "password": "API Token", "host": "Tenant"},
                    "placeholders": {
                        "host": "cloud.getdbt.com, emea.dbt.com, ab123.us1.dbt.com or https://...",
                        "login": "Default account id, e.g. 12345",
                        "extra": '{"read_timeout": 60, "retry_limit": 5, "proxies": {"https": "..."}}',
                    },
                },
            }
        ],
        "plugins": [{"name": "dbt_cloud", "plugin-class": "airflow_dbtcloud.ui.plugin.DbtCloudPlugin"}],
        "extra-links": [
            "airflow_dbtcloud.links.dbt.DbtCloudRunJobOperatorLink",
            "airflow_dbtcloud.links.dbt.DbtCloudJobLink",
        ],
    }
