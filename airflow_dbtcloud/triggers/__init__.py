"""Triggers for dbt Cloud."""

from __future__ import annotations

from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger

__all__ = ["DbtCloudRunJobTrigger"]
