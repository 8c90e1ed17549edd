"""The test auth manager hides the restricted DAG from the outsider and from no one else (REST API).

What a later UI test of "a user without access to the DAG" relies on: the outsider gets 403 on the
restricted DAG and its task instance, 200 on the other DAGs, and a DAG list without the restricted DAG;
the admin and the viewer see every DAG.
"""

from __future__ import annotations

import pytest
from restricted_auth_manager import RESTRICTED_USER
from ui_server import RESTRICTED_DAG, SUCCESS_DAG, AirflowUi

pytestmark = pytest.mark.timeout(600)  # the first test of the session starts the API server (~40 s)


def test_outsider_gets_403_on_the_restricted_dag(airflow_ui: AirflowUi) -> None:
    outsider = airflow_ui.rest(RESTRICTED_USER)

    assert outsider.call("GET", f"/api/v2/dags/{RESTRICTED_DAG}")[0] == 403
    assert outsider.call("GET", airflow_ui.runs[RESTRICTED_DAG].api_path)[0] == 403
    assert outsider.call("GET", f"/api/v2/dags/{SUCCESS_DAG}")[0] == 200
    assert outsider.call("GET", airflow_ui.runs[SUCCESS_DAG].api_path)[0] == 200


def test_outsider_dag_list_leaves_out_the_restricted_dag(airflow_ui: AirflowUi) -> None:
    listed = {dag["dag_id"] for dag in airflow_ui.rest(RESTRICTED_USER).get("/api/v2/dags")["dags"]}

    assert SUCCESS_DAG in listed
    assert RESTRICTED_DAG not in listed


@pytest.mark.parametrize("user", ["admin", "viewer"])
def test_other_users_read_the_restricted_dag(airflow_ui: AirflowUi, user: str) -> None:
    client = airflow_ui.rest(user)

    assert client.call("GET", f"/api/v2/dags/{RESTRICTED_DAG}")[0] == 200
    assert client.call("GET", airflow_ui.runs[RESTRICTED_DAG].api_path)[0] == 200


def test_anonymous_request_is_refused(airflow_ui: AirflowUi) -> None:
    assert airflow_ui.rest().call("GET", f"/api/v2/dags/{SUCCESS_DAG}")[0] == 401
