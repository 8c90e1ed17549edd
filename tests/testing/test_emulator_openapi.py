"""Every JSON answer of the emulator matches the schema dbt Labs' OpenAPI specs give its route.

The walk (``emulator_walk.py``) requests every JSON route, with runs in every state and every
``include_related`` value; each answer is validated recursively (nested objects and arrays, required keys,
types, enums, ``$ref``s) against the repository's reduced copy of the schemas, always, and against the
full specs when ``DBT_CLOUD_REFERENCE`` holds them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from emulator_walk import NOT_JSON, Exchange, walk
from openapi_check import REDUCED, REFERENCE, full_specs, reduce_specs, reduced, violations

from airflow_dbtcloud.testing import Emulator
from airflow_dbtcloud.testing.routes import API_ROUTES


@pytest.fixture(scope="module")
def walked(dbt_cloud_emulator_server: Emulator) -> tuple[list[Exchange], set[str]]:
    """Walk the session emulator once for the module: the exchanges and the route names they hit.

    :param dbt_cloud_emulator_server: The session emulator (``walk`` resets it first).
    """
    exchanges = walk(dbt_cloud_emulator_server)
    routes = {str(entry["route"]) for entry in dbt_cloud_emulator_server.journal}
    dbt_cloud_emulator_server.reset()
    return exchanges, routes


def _problems(source: str, exchanges: list[Exchange]) -> list[str]:
    return [f"{m} {p}: {v}" for m, p, body in exchanges for v in violations(source, m, p, body)]


def test_the_walk_requests_every_json_route(walked: tuple[list[Exchange], set[str]]) -> None:
    _, routes = walked
    assert {r.name for r in API_ROUTES} - NOT_JSON - routes == set()


def test_every_answer_matches_the_reduced_schemas(walked: tuple[list[Exchange], set[str]]) -> None:
    exchanges, _ = walked
    assert len(exchanges) > 100
    problems = _problems("reduced", exchanges)
    assert not problems, problems[:10]


def test_every_answer_matches_the_full_specs(walked: tuple[list[Exchange], set[str]]) -> None:
    if full_specs() is None:
        pytest.skip(f"the OpenAPI specs are not under {REFERENCE}; the reduced schemas were checked")
    problems = _problems("full", walked[0])
    assert not problems, problems[:10]


def test_the_reduced_schemas_are_the_specs_own(walked: tuple[list[Exchange], set[str]]) -> None:
    specs = full_specs()
    if specs is None:
        pytest.skip(f"the OpenAPI specs are not under {REFERENCE}")
    again = reduce_specs(specs, [(m, p) for m, p, _ in walked[0]])
    assert again == reduced(), f"{REDUCED.name} is stale: run python tests/testing/openapi_check.py"


def _first(exchanges: list[Exchange], method: str, fragment: str) -> tuple[str, str, Any]:
    return next((m, p, b) for m, p, b in exchanges if m == method and fragment in p)


@pytest.mark.parametrize(
    ("fragment", "breaks"),
    [
        ("/jobs/300/", lambda d: d["account"].pop("name")),
        ("/jobs/300/", lambda d: d["environment"].pop("account_id")),
        ("/environments/200/", lambda d: d["project"].pop("type")),
        ("/environments/200/", lambda d: d["credentials"].update(threads="four")),
        ("/projects/100/", lambda d: d["connection"].update(state="active")),
        ("/steps/", lambda d: d.pop("run_step_invocation")),
    ],
)
def test_the_check_sees_a_broken_nested_field(
    walked: tuple[list[Exchange], set[str]], fragment: str, breaks: Any
) -> None:
    method, path, body = _first(walked[0], "GET", fragment)
    assert violations("reduced", method, path, body) == []
    broken = copy.deepcopy(body)
    breaks(broken["data"])
    assert violations("reduced", method, path, broken)


def test_the_check_sees_a_bad_cause_category_deep_in_a_list(walked: tuple[list[Exchange], set[str]]) -> None:
    method, path, body = next(
        (m, p, b) for m, p, b in walked[0] if p.endswith("/runs/") and b["data"] and b["data"][0]["trigger"]
    )
    broken = copy.deepcopy(body)
    broken["data"][-1]["trigger"]["cause_category"] = "cron"
    assert any("cron" in v for v in violations("reduced", method, path, broken))
