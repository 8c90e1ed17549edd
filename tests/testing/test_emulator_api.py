"""Envelopes, errors, auth, pagination and filters of the emulator's read endpoints, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_dbtcloud.testing import Emulator, run_emulator

DATA = Path(__file__).parents[1] / "data" / "emulator"
FIELDS: dict[str, dict[str, list[str]]] = json.loads((DATA / "api_fields.json").read_text())
_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
    "number": (int, float),
    "null": type(None),
}


def check_fields(obj: dict[str, Any], kind: str) -> None:
    """Assert ``obj`` has every key listed for ``kind`` with an allowed JSON type."""
    for key, types in FIELDS[kind].items():
        assert key in obj, f"{kind} lacks {key!r}"
        value = obj[key]
        ok = any(
            isinstance(value, _TYPES[t]) and not (t == "integer" and isinstance(value, bool)) for t in types
        )
        assert ok, f"{kind}.{key} = {value!r} is not one of {types}"


def session(emu: Emulator, scheme: str = "Token") -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"{scheme} {emu.token}"
    return s


def test_list_accounts_envelope(dbt_cloud_emulator: Emulator) -> None:
    resp = session(dbt_cloud_emulator).get(f"{dbt_cloud_emulator.base_url}/api/v2/accounts/")
    assert resp.status_code == 200
    doc = resp.json()
    check_fields(doc, "envelope_success")
    assert doc["status"] == {
        "code": 200,
        "is_success": True,
        "user_message": "Success!",
        "developer_message": "",
    }
    check_fields(doc["extra"], "list_extra")
    check_fields(doc["extra"]["pagination"], "pagination")
    assert [a["id"] for a in doc["data"]] == [1]
    check_fields(doc["data"][0], "account")
    assert doc["data"][0]["name"] == "Emulated Analytics"


def test_get_account_project_environment_job(dbt_cloud_emulator: Emulator) -> None:
    s, base = session(dbt_cloud_emulator, "Bearer"), dbt_cloud_emulator.base_url
    check_fields(s.get(f"{base}/api/v2/accounts/1/").json()["data"], "account")
    projects = s.get(f"{base}/api/v3/accounts/1/projects/").json()
    assert [p["name"] for p in projects["data"]] == ["jaffle_shop"]
    check_fields(s.get(f"{base}/api/v3/accounts/1/projects/100/").json()["data"], "project")
    envs = s.get(f"{base}/api/v3/accounts/1/projects/100/environments/").json()["data"]
    assert [(e["id"], e["name"], e["deployment_type"]) for e in envs] == [
        (200, "Production", "production"),
        (201, "Staging", "staging"),
    ]
    env = s.get(f"{base}/api/v3/accounts/1/projects/100/environments/201/").json()["data"]
    check_fields(env, "environment")
    job = s.get(f"{base}/api/v2/accounts/1/jobs/303/").json()["data"]
    check_fields(job, "job")
    assert job["generate_docs"] is True
    assert job["execute_steps"] == ["dbt docs generate"]
    assert set(job["schedule"]) >= {"cron", "date", "time"}


def test_error_shapes_match_the_real_api(dbt_cloud_emulator: Emulator) -> None:
    base = dbt_cloud_emulator.base_url
    sample = json.loads((DATA / "sample_error_401.json").read_text())
    bad = requests.get(f"{base}/api/v2/accounts/1/", headers={"Authorization": "Token nope"})
    assert bad.status_code == 401
    assert bad.json()["status"]["user_message"] == sample["status"]["user_message"]
    assert set(bad.json()) == set(sample)
    assert bad.json()["data"] is None
    assert requests.get(f"{base}/api/v2/accounts/1/").status_code == 401
    assert requests.get(f"{base}/api/v2/accounts/1/", headers={"Authorization": "Basic x"}).status_code == 401
    s = session(dbt_cloud_emulator)
    forbidden = s.get(f"{base}/api/v2/accounts/2/jobs/")
    assert forbidden.status_code == 403
    assert forbidden.json()["status"]["is_success"] is False
    missing = s.get(f"{base}/api/v2/accounts/1/jobs/999/")
    assert missing.status_code == 404
    assert missing.json()["data"] is None
    assert missing.json()["status"]["developer_message"] in ("", None)
    assert s.get(f"{base}/api/v2/accounts/1/runs/123456/").status_code == 404
    assert s.get(f"{base}/api/v2/accounts/1/nothing-here/").status_code == 404


def test_token_account_permissions_from_config() -> None:
    config = {
        "accounts": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}],
        "tokens": {"tok_a": [1], "tok_ab": [1, 2], "tok_ghost": [1, 9]},
        "projects": [{"id": 100, "account_id": 1, "name": "p1"}, {"id": 110, "account_id": 2, "name": "p2"}],
        "environments": [
            {"id": 200, "project_id": 100, "name": "E1"},
            {"id": 210, "project_id": 110, "name": "E2"},
        ],
        "jobs": [
            {"id": 300, "name": "j1", "environment_id": 200},
            {"id": 310, "name": "j2", "environment_id": 210},
        ],
    }
    with run_emulator(config) as emu:
        assert emu.token == "tok_a"

        def get(token: str, path: str) -> requests.Response:
            return requests.get(f"{emu.base_url}{path}", headers={"Authorization": f"Token {token}"})

        assert [a["id"] for a in get("tok_ab", "/api/v2/accounts/").json()["data"]] == [1, 2]
        assert [a["id"] for a in get("tok_a", "/api/v2/accounts/").json()["data"]] == [1]
        assert get("tok_a", "/api/v2/accounts/2/jobs/").status_code == 403
        assert [j["id"] for j in get("tok_ab", "/api/v2/accounts/2/jobs/").json()["data"]] == [310]
        assert get("tok_ab", "/api/v2/accounts/1/jobs/310/").status_code == 404
        assert get("tok_ghost", "/api/v2/accounts/9/").status_code == 404


def test_list_jobs_filters_and_order(dbt_cloud_emulator: Emulator) -> None:
    s, url = session(dbt_cloud_emulator), f"{dbt_cloud_emulator.base_url}/api/v2/accounts/1/jobs/"

    def ids(**params: Any) -> list[int]:
        resp = s.get(url, params=params)
        assert resp.status_code == 200, resp.text
        return [j["id"] for j in resp.json()["data"]]

    assert ids() == [300, 301, 302, 303]
    assert ids(environment_id=201) == [302]
    assert ids(project_id=100, environment_id=200) == [300, 301, 303]
    assert ids(name__icontains="BUILD") == [300, 302]
    assert ids(order_by="-id", limit=2) == [303, 302]
    assert ids(order_by="name") == [300, 303, 301, 302]
    doc = s.get(url, params={"environment_id": 200, "limit": 1, "offset": 1}).json()
    assert doc["extra"]["filters"] == {
        "account_id": 1,
        "environment_id": 200,
        "state": 1,
        "limit": 1,
        "offset": 1,
    }
    assert doc["extra"]["pagination"] == {"count": 1, "total_count": 3}
    assert s.get(url, params={"order_by": "bogus"}).status_code == 400
    bad = s.get(url, params={"limit": "x"})
    assert bad.status_code == 400
    assert "limit" in bad.json()["status"]["user_message"]


def test_list_jobs_follows_added_jobs_and_reset(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    s, url = session(emu), f"{emu.base_url}/api/v2/accounts/1/jobs/"

    def page(**params: Any) -> dict[str, Any]:
        resp = s.get(url, params=params)
        assert resp.status_code == 200, resp.text
        # Job payloads are kept as JSON text between requests; the body is still what json.dumps writes.
        assert resp.content == json.dumps(resp.json()).encode()
        return resp.json()

    def ids(**params: Any) -> list[int]:
        return [j["id"] for j in page(**params)["data"]]

    assert ids() == [300, 301, 302, 303]
    added = emu.add_jobs(3, environment_id=201, name_prefix="Added")
    assert ids() == [300, 301, 302, 303, *added]
    assert ids(order_by="-id", limit=2) == added[:0:-1]
    assert ids(environment_id=201, offset=1) == added
    assert page(limit=1)["extra"]["pagination"] == {"count": 1, "total_count": 7}
    assert page(include_related="most_recent_run", limit=1)["data"][0]["most_recent_run"] is None
    emu.reset()
    assert ids() == [300, 301, 302, 303]
    assert ids(state="all", order_by="-id") == [303, 302, 301, 300]


def test_pagination_caps_limit_at_100(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    s = session(emu)
    for _ in range(105):
        assert (
            s.post(f"{emu.base_url}/api/v2/accounts/1/jobs/301/run/", json={"cause": "page"}).status_code
            == 200
        )
    url = f"{emu.base_url}/api/v2/accounts/1/runs/"
    first = s.get(url, params={"limit": 500}).json()
    assert first["extra"]["pagination"] == {"count": 100, "total_count": 105}
    assert first["extra"]["filters"]["limit"] == 100
    rest = s.get(url, params={"offset": 100}).json()
    assert rest["extra"]["pagination"] == {"count": 5, "total_count": 105}
    all_ids = [r["id"] for r in first["data"]] + [r["id"] for r in rest["data"]]
    assert all_ids == sorted(set(all_ids))
    assert len(all_ids) == 105
    assert s.get(url, params={"offset": 200}).json()["data"] == []


@pytest.mark.parametrize(
    ("params", "expected_status"),
    [
        ({"include_related": '["trigger","job"]'}, 200),
        ({"include_related": ["trigger", "audit"]}, 200),
        ({"include_related": '["run_steps"]'}, 400),
        ({"status__in": "[10,99]"}, 400),
        ({"order_by": "-finished_at"}, 200),
        ({"order_by": "name"}, 400),
    ],
)
def test_list_runs_parameter_validation(
    dbt_cloud_emulator: Emulator, params: dict[str, Any], expected_status: int
) -> None:
    resp = session(dbt_cloud_emulator).get(
        f"{dbt_cloud_emulator.base_url}/api/v2/accounts/1/runs/", params=params
    )
    assert resp.status_code == expected_status, resp.text
    if expected_status == 400:
        assert resp.json()["data"] is None
        field = next(iter(params))
        assert field in resp.json()["status"]["user_message"]
