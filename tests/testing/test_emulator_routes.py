"""The route table is the one source of the routes the emulator serves and of the fault route names."""

from __future__ import annotations

from airflow_dbtcloud.testing import FAULT_ROUTES, EmulatorConfig
from airflow_dbtcloud.testing.app import build_app
from airflow_dbtcloud.testing.faults import FaultSet
from airflow_dbtcloud.testing.hub import Hub
from airflow_dbtcloud.testing.routes import API_ROUTES, CREATING_ROUTES, PAGE_ROUTES
from airflow_dbtcloud.testing.state import State


def test_fault_route_names_stay_as_published() -> None:
    assert FAULT_ROUTES == (
        "list_accounts",
        "get_account",
        "list_projects",
        "get_project",
        "list_environments",
        "get_environment",
        "list_jobs",
        "get_job",
        "trigger_run",
        "rerun",
        "retry_run",
        "get_retry_details",
        "list_runs",
        "get_run",
        "cancel_run",
        "list_artifacts",
        "get_artifact",
        "get_job_artifact",
        "get_connection",
        "get_step",
    )
    assert CREATING_ROUTES == ("trigger_run", "rerun", "retry_run")


def test_the_app_serves_exactly_the_route_table() -> None:
    hub = Hub(State(EmulatorConfig.default()), FaultSet(FAULT_ROUTES, CREATING_ROUTES))
    served = {
        (r.name, r.method, r.resource.canonical)
        for r in build_app(hub).router.routes()
        if r.resource is not None and not (r.name or "").startswith("_emulator")
    }
    table = {(r.name, r.method, r.path.replace("{path:.+}", "{path}")) for r in (*API_ROUTES, *PAGE_ROUTES)}
    assert served == table
    assert len({r.name for r in API_ROUTES}) == len(API_ROUTES)
