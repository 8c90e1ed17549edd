"""Extra links to dbt Cloud's UI."""

from __future__ import annotations

from airflow_dbtcloud.links.dbt import DbtCloudJobLink, DbtCloudRunJobOperatorLink

__all__ = ["DbtCloudJobLink", "DbtCloudRunJobOperatorLink"]
