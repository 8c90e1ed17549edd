"""Operators for dbt Cloud."""

from __future__ import annotations

from airflow_dbtcloud.operators.dbt import (
    DbtCloudGetJobRunArtifactOperator,
    DbtCloudListJobRunsOperator,
    DbtCloudListJobsOperator,
    DbtCloudRunJobOperator,
)

__all__ = [
    "DbtCloudGetJobRunArtifactOperator",
    "DbtCloudListJobRunsOperator",
    "DbtCloudListJobsOperator",
    "DbtCloudRunJobOperator",
]
