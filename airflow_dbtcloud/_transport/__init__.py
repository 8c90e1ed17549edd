"""HTTP transport shared by the sync and async paths: config, requests, errors, retries, pagination.

Nothing here knows Airflow beyond the ``AirflowException`` base class, so it can be tested without a
metadata database.
"""
