"""Asset watchers on dbt Cloud job runs under a real scheduler, DAG processor and triggerer.

The steps live in ``scripts/e2e_watchers.py`` so people can run them by hand (``make e2e``); here they run
as a subprocess: three watchers of one job share one list request per poll, a run started in the
emulator queues each DAG once, a SIGKILLed triggerer loses and repeats nothing, the filters hold, a
triggered DAG fetches the run's artifact through ``triggering_asset_events``, and a watcher of a missing
job leaves dbt Cloud alone.
"""

from __future__ import annotations

import pytest
from e2e_scripts import run_script


@pytest.mark.timeout(1200)  # the script's own limit is 900 s (e2e_scripts.run_script)
def test_watchers_fire_once_per_run_across_a_triggerer_restart():
    output, returncode = run_script("e2e_watchers.py")
    for check in (
        "one list request per poll interval",
        "each DAG queued once",
        "two more DAG runs each across the restart",
        "asset events name each expected run once",
        "final DAG runs as expected",
        "every DAG run succeeded",
        "the triggered DAG fetched each run's artifact",
        "the missing job's watcher stopped once per triggerer start",
        "API token nowhere",
    ):
        assert f"ok   {check}" in output, output[-4000:]
    assert (
        "final DAG runs: {'watch_any_success': 4, 'watch_not_airflow': 3, 'watch_env_success_or_error': 5}"
        in output
    ), output[-4000:]
    assert returncode == 0, output[-4000:]
