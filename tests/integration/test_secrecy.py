"""The emulator's token never shows up in logs, XCom, rendered fields or serialized trigger kwargs."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator


def test_token_absent_from_logs_xcom_and_rendered_fields(emu, run_dag, capfd, caplog):
    assert emu.token
    ok = run_dag("it_deferrable")
    emu.fail_next_run(301)
    failed = run_dag("it_error_deferrable")
    logs = "".join(capfd.readouterr()) + caplog.text
    assert "Job run" in logs or "dbt Cloud run" in logs
    assert emu.token not in logs
    for result in (ok, failed):
        assert emu.token not in json.dumps(list(result.xcom.items()), default=str)

    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(RenderedTaskInstanceFields).all()
        assert rows
        assert emu.token not in json.dumps([row.rendered_fields for row in rows], default=str)


def test_serialized_trigger_kwargs_hold_no_secret(emu, airflow_db):
    from airflow.sdk.serde import serialize

    class TI:
        dag_id, run_id, task_id, map_index, max_tries, try_number = "d", "r", "t", -1, 0, 1

        def xcom_push(self, key, value):
            assert emu.token not in str(value)

    op = DbtCloudRunJobOperator(task_id="t", job_id=300, deferrable=True, check_interval=1)
    emu.set_job_script(300, outcome="hang")
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({"ti": TI()})
    _classpath, kwargs = deferred.value.trigger.serialize()
    assert kwargs["conn_id"] == "dbt_cloud_default"
    assert emu.token not in json.dumps(serialize(kwargs), default=str)
    assert emu.token not in repr(deferred.value)
