"""A dbt Cloud view inside the Airflow UI: a plugin for Airflow's API server.

:mod:`~airflow_dbtcloud.ui.plugin` registers it; :mod:`~airflow_dbtcloud.ui.app` holds its endpoints;
:mod:`~airflow_dbtcloud.ui.task_runs` reads which run a task instance had from Airflow's database;
:mod:`~airflow_dbtcloud.ui.run_view` fetches and keeps what the page shows about a run.
"""
