"""Sensors for dbt Cloud."""

from __future__ import annotations

from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor

__all__ = ["DbtCloudJobRunSensor"]
