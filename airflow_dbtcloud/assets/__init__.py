"""dbt models as Airflow assets."""
