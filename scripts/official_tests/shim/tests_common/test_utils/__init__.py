"""Helpers the official dbt Cloud provider's tests import from ``tests_common.test_utils``."""
