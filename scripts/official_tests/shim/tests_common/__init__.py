"""A minimal stand-in for Airflow's ``tests_common`` package, only for running the official provider's tests.

Airflow's real ``tests_common`` is not published on PyPI; scripts/official_tests.py copies this package next
to the official dbt Cloud provider's unit tests so they can run outside the Airflow repository.
"""
