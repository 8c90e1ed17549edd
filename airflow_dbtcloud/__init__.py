"""airflow-dbtcloud: an Apache Airflow provider for dbt Cloud."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__", "get_provider_info"]

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description that Airflow's providers manager reads.

    :return: The provider info dictionary, consistent with ``provider.yaml``.
    """
    from airflow_dbtcloud._provider_info import provider_info

    info: dict[str, Any] = provider_info()
    return info
