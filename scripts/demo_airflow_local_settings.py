"""The demo's Airflow cluster policy: the example DAGs as written, with shorter waits.

``make demo`` and ``make demo-ui`` copy this file to ``config/airflow_local_settings.py`` in their
throw-away Airflow home; every Airflow process started there (DAG parsing, task processes) applies
``task_policy`` to each task as its DAG file is parsed. The example DAGs poll dbt Cloud every 10 to 60
seconds and retry a failed task after a minute, which suits a real account; the emulator's runs end in
about a second, so the demo polls every second and retries after one. Nothing else of the DAGs changes.

It also holds :func:`hostname`, the demo's ``[core] hostname_callable``: Airflow's default asks the
resolver for this machine's fully qualified name, which may send a DNS query off the machine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

# Airflow registers the names in __all__ as policies; hostname is found by its import path instead.
__all__ = ["task_policy"]

#: The longest pause between two status checks of a dbt Cloud run, in seconds.
POLL_SECONDS = 1
#: The longest pause before a failed task's retry.
RETRY_DELAY = timedelta(seconds=1)


def task_policy(task: Any) -> None:
    """Shorten one task's waits as its DAG is parsed.

    :param task: The task, as its DAG file built it.
    """
    if hasattr(task, "check_interval"):  # DbtCloudRunJobOperator
        task.check_interval = min(task.check_interval, POLL_SECONDS)
    if hasattr(task, "poke_interval"):  # sensors
        task.poke_interval = min(task.poke_interval, POLL_SECONDS)
    if task.retries and task.retry_delay > RETRY_DELAY:
        task.retry_delay = RETRY_DELAY


def hostname() -> str:
    """The host name Airflow records for task instances: loopback, found without asking a resolver."""
    return "127.0.0.1"
