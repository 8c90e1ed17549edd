"""The ``compat`` names the official dbt Cloud provider's tests import; this shim targets Airflow 3 only."""

from __future__ import annotations

from airflow.sdk import timezone

__all__ = ["timezone"]
