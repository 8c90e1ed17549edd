"""Version flags the official dbt Cloud provider's tests branch on; this shim runs on Airflow 3 only."""

from __future__ import annotations

AIRFLOW_V_3_0_PLUS = True
