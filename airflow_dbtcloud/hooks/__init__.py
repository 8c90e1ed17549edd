"""Hooks of the dbt Cloud provider."""
