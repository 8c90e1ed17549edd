"""GET .../runs/ filters, orderings and pagination, as the v2 spec names them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_dbtcloud.testing import Emulator

Params = Any  # a dict or a list of (key, value) pairs, as requests takes them


class Runs:
    """The runs list of the emulator's account 1, read over HTTP.

    :param emu: The emulator.
    """

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {emu.token}"
        self.url = f"{emu.base_url}/api/v2/accounts/1/runs/"

    def page(self, params: Params = None) -> dict[str, Any]:
        """Return the whole answer to a list request that must succeed."""
        resp = self.session.get(self.url, params=params)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def ids(self, params: Params = None) -> list[int]:
        """Return the ids of the runs a list request answers, in order."""
        return [r["id"] for r in self.page(params)["data"]]

    def refused(self, params: Params) -> str:
        """Return the ``user_message`` of a list request that must answer 400 in the error envelope."""
        resp = self.session.get(self.url, params=params)
        assert resp.status_code == 400, resp.text
        body = resp.json()
        assert body["data"] is None
        assert body["status"]["is_success"] is False
        return str(body["status"]["user_message"])

    def trigger(self, job_id: int) -> int:
        """Trigger a run of ``job_id`` through the API and return its id."""
        resp = self.session.post(
            f"{self.emu.base_url}/api/v2/accounts/1/jobs/{job_id}/run/", json={"cause": "t"}
        )
        assert resp.status_code == 200, resp.text
        return int(resp.json()["data"]["id"])


@pytest.fixture
def runs(dbt_cloud_emulator: Emulator) -> Runs:
    """The runs list, with every job's runs left running until a test completes them.

    :param dbt_cloud_emulator: The per-test emulator.
    """
    for job_id in (300, 301, 302, 303):
        dbt_cloud_emulator.set_job_script(job_id, outcome="hang")
    return Runs(dbt_cloud_emulator)


def test_id_gt_returns_only_newer_runs(runs: Runs) -> None:
    a, b, c = (runs.trigger(300) for _ in range(3))
    assert runs.ids({"id__gt": a}) == [b, c]
    assert runs.ids({"id__gt": c}) == []
    assert runs.page({"id__gt": a})["extra"]["filters"]["id__gt"] == a


def test_one_request_per_poll_returns_only_runs_not_seen_yet(runs: Runs) -> None:
    emu = runs.emu
    seen = runs.trigger(300)
    emu.complete_run(seen, "success")
    watermark = max(runs.ids({"order_by": "id"}))
    new_ok = runs.trigger(300)
    other_job = runs.trigger(301)
    failed = runs.trigger(300)
    still_running = runs.trigger(300)
    emu.complete_run(new_ok, "success")
    emu.complete_run(other_job, "success")
    emu.complete_run(failed, "error")
    query = {"id__gt": watermark, "order_by": "id", "status__in": "[10,20,30]", "job_definition_id": 300}
    assert runs.ids(query) == [new_ok, failed]
    assert runs.emu.runs_created(300) == 4
    # the next poll moves the watermark: nothing is returned twice
    emu.complete_run(still_running, "cancelled")
    assert runs.ids({**query, "id__gt": failed}) == [still_running]
    assert runs.page(query)["extra"]["filters"] == {
        "account_id": 1,
        "id__gt": watermark,
        "job_definition_id": 300,
        "status__in": [10, 20, 30],
        "limit": 100,
        "offset": 0,
    }


def test_status_in_takes_repeated_keys_a_list_literal_or_commas(runs: Runs) -> None:
    a, b, c = (runs.trigger(301) for _ in range(3))
    runs.emu.complete_run(a, 10)
    runs.emu.complete_run(b, 20)
    assert runs.ids({"status__in": "[10,20]"}) == [a, b]
    assert runs.ids([("status__in", "10"), ("status__in", "20")]) == [a, b]
    assert runs.ids({"status__in": "10,20"}) == [a, b]
    assert runs.ids({"status__in": "[1,2,3]"}) == [c]
    assert runs.ids({"status": 20}) == [b]
    assert runs.ids({"status": 20, "status__in": "[10]"}) == []  # filters combine with AND


def test_job_environment_and_project_filters(runs: Runs) -> None:
    prod = runs.trigger(300)
    hourly = runs.trigger(301)
    staging = runs.trigger(302)
    assert runs.ids({"job_definition_id": 301}) == [hourly]
    assert runs.ids({"environment_id": 201}) == [staging]
    assert runs.ids({"environment_id": 200}) == [prod, hourly]
    assert runs.ids({"project_id": 100}) == [prod, hourly, staging]
    assert runs.ids({"project_id": 999}) == []
    assert runs.ids({"project_id__in": "[100,999]"}) == [prod, hourly, staging]
    assert runs.ids([("project_id__in", "998"), ("project_id__in", "999")]) == []
    assert runs.ids({"pk": hourly}) == [hourly]
    assert runs.ids({"pk__in": f"[{prod},{staging}]"}) == [prod, staging]
    assert runs.ids({"deferring_run_id": prod}) == []  # no emulated run defers to another
    filters = runs.page({"project_id__in": "[100]", "environment_id": 200})["extra"]["filters"]
    assert (filters["project_id__in"], filters["environment_id"]) == ([100], 200)


def test_created_at_range_includes_both_ends(runs: Runs) -> None:
    a, b, c = (runs.trigger(300) for _ in range(3))
    created = {r["id"]: r["created_at"] for r in runs.page()["data"]}
    # the runs' own timestamps, as a JSON list literal
    assert runs.ids({"created_at__range": f'["{created[a]}", "{created[b]}"]'}) == [a, b]
    # ISO 8601 with a Z, as repeated keys
    iso = {k: v.replace(" ", "T").replace("+00:00", "Z") for k, v in created.items()}
    assert runs.ids([("created_at__range", iso[b]), ("created_at__range", iso[c])]) == [b, c]
    # an offset other than UTC, and a range that ends before it starts
    assert runs.ids({"created_at__range": '["2000-01-01T01:00:00+01:00", "2999-01-01"]'}) == [a, b, c]
    assert runs.ids({"created_at__range": f'["{created[c]}", "{created[a]}"]'}) == []
    echoed = runs.page({"created_at__range": f'["{created[a]}", "{created[a]}"]'})["extra"]["filters"]
    assert echoed["created_at__range"] == [created[a], created[a]]


def test_finished_at_range_leaves_out_runs_not_finished(runs: Runs) -> None:
    a, b, running = (runs.trigger(300) for _ in range(3))
    runs.emu.complete_run(a, "success")
    runs.emu.complete_run(b, "error")
    finished = {r["id"]: r["finished_at"] for r in runs.page()["data"]}
    assert finished[running] is None
    everything = '["2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"]'
    assert runs.ids({"finished_at__range": everything}) == [a, b]
    assert runs.ids({"finished_at__range": f'["{finished[b]}", "2999-01-01T00:00:00Z"]'}) == [b]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("id", "abc"),
        ("-id", "cba"),
        ("created_at", "abc"),
        ("-created_at", "cba"),
        ("finished_at", "bac"),  # a run not finished yet comes last, then first when reversed
        ("-finished_at", "cab"),
    ],
)
def test_order_by(runs: Runs, order_by: str, expected: str) -> None:
    ids = dict(zip("abc", (runs.trigger(300) for _ in range(3)), strict=True))
    runs.emu.complete_run(ids["b"], "success")
    runs.emu.complete_run(ids["a"], "success")
    page = runs.page({"order_by": order_by})
    assert [r["id"] for r in page["data"]] == [ids[x] for x in expected]
    assert page["extra"]["order_by"] == order_by


def test_limit_and_offset_page_the_filtered_runs(runs: Runs) -> None:
    made = [runs.trigger(300) for _ in range(5)]
    runs.trigger(301)
    page = runs.page({"job_definition_id": 300, "order_by": "-id", "limit": 2, "offset": 1})
    assert [r["id"] for r in page["data"]] == [made[3], made[2]]
    assert page["extra"]["pagination"] == {"count": 2, "total_count": 5}
    assert (page["extra"]["filters"]["limit"], page["extra"]["filters"]["offset"]) == (2, 1)


def test_include_related_on_the_list(runs: Runs) -> None:
    runs.trigger(300)
    [bare] = runs.page()["data"]
    assert (bare["trigger"], bare["job"], bare["run_steps"]) == (None, None, [])
    [full] = runs.page({"include_related": '["trigger","job","audit","debug_logs"]'})["data"]
    assert full["trigger"]["cause"] == "t"
    assert full["job"]["name"] == "Daily build"
    assert full["run_steps"] == []
    [listed] = runs.page([("include_related", "trigger"), ("include_related", "job")])["data"]
    assert listed["job"] is not None
    assert "run_steps" in runs.refused({"include_related": '["run_steps"]'})


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"id__gt": "abc"}, "id__gt"),
        ({"job_definition_id": "x"}, "job_definition_id"),
        ({"environment_id": "1.5"}, "environment_id"),
        ({"project_id__in": '[100, "a"]'}, "project_id__in"),
        ({"project_id__in": "[100"}, "project_id__in"),
        ({"pk": "-"}, "pk"),
        ({"status": "done"}, "status"),
        ({"status__in": "[10, 99]"}, "status__in"),
        ({"created_at__range": '["2026-01-01T00:00:00Z"]'}, "created_at__range"),
        ({"created_at__range": '["yesterday", "today"]'}, "created_at__range"),
        ({"created_at__range": '["2026-01-01", "2026-01-02", "2026-01-03"]'}, "created_at__range"),
        ({"finished_at__range": "2026-01-01T00:00:00Z"}, "finished_at__range"),
        ({"finished_at__range": '{"from": 1}'}, "finished_at__range"),
        ({"order_by": "name"}, "order_by"),
        ({"order_by": "-status"}, "order_by"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"include_related": '["environment"]'}, "include_related"),
    ],
)
def test_a_malformed_filter_answers_400_naming_it(runs: Runs, params: Params, named: str) -> None:
    runs.trigger(300)
    assert runs.refused(params).startswith(f"{named}: ")
