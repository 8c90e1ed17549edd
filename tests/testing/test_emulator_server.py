"""``Emulator.add_jobs``: many jobs at once, served and paged like configured ones, dropped by ``reset``."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_client import Client

from airflow_dbtcloud.testing import Emulator

CONFIGURED = [300, 301, 302, 303]


def _page(client: Client, limit: int, offset: int, **params: Any) -> dict[str, Any]:
    resp = client.session.get(f"{client.v2}/jobs/", params={"limit": limit, "offset": offset, **params})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _every_page(client: Client, limit: int, **params: Any) -> tuple[list[int], list[int], int]:
    """Page through the job list; return the ids in order, each page's size and the total."""
    ids: list[int] = []
    sizes: list[int] = []
    total = _page(client, 1, 0, **params)["extra"]["pagination"]["total_count"]
    for offset in range(0, total + limit, limit):  # one page past the end, which must be empty
        body = _page(client, limit, offset, **params)
        assert body["extra"]["filters"]["offset"] == offset
        assert body["extra"]["pagination"] == {"count": len(body["data"]), "total_count": total}
        sizes.append(len(body["data"]))
        ids += [job["id"] for job in body["data"]]
    return ids, sizes, total


def test_added_jobs_are_listed_once_each_in_id_order(dbt_cloud_emulator: Emulator, client: Client) -> None:
    ids = dbt_cloud_emulator.add_jobs(250)
    assert len(ids) == len(set(ids)) == 250
    assert ids == sorted(ids)
    assert ids[0] > max(CONFIGURED)
    listed, sizes, total = _every_page(client, 100)
    assert total == 254
    assert sizes == [100, 100, 54, 0]
    assert listed == CONFIGURED + ids


@pytest.mark.parametrize("limit", [1, 37, 99])
def test_other_page_sizes_cover_the_same_jobs(
    dbt_cloud_emulator: Emulator, client: Client, limit: int
) -> None:
    ids = dbt_cloud_emulator.add_jobs(120)
    listed, sizes, _ = _every_page(client, limit)
    assert listed == CONFIGURED + ids
    assert all(size == limit for size in sizes[:-2])
    assert sizes[-1] == 0


def test_an_added_job_looks_like_a_configured_one(dbt_cloud_emulator: Emulator, client: Client) -> None:
    [new] = dbt_cloud_emulator.add_jobs(1)
    configured = client.session.get(f"{client.v2}/jobs/300/").json()["data"]
    added = client.session.get(f"{client.v2}/jobs/{new}/").json()["data"]
    # Job 300 is configured with only an id, a name and environment 200: nothing else may differ.
    assert added == {**configured, "id": new, "name": f"Generated job {new}"}
    listed = _page(client, 100, 0)["data"]
    assert listed[-1] == added
    run = client.session.post(f"{client.v2}/jobs/{new}/run/", json={"cause": "a"}).json()["data"]
    assert run["job_definition_id"] == new
    assert dbt_cloud_emulator.runs_created(new) == 1


def test_environment_and_name_prefix(dbt_cloud_emulator: Emulator, client: Client) -> None:
    ids = dbt_cloud_emulator.add_jobs(3, environment_id=201, name_prefix="Nightly")
    staging = _page(client, 100, 0, environment_id=201)["data"]
    assert [j["id"] for j in staging] == [302, *ids]
    assert [j["name"] for j in staging[1:]] == [f"Nightly {i}" for i in ids]
    assert {j["environment"]["name"] for j in staging} == {"Staging"}


def test_reset_drops_added_jobs_and_never_reuses_their_ids(
    dbt_cloud_emulator: Emulator, client: Client
) -> None:
    first = dbt_cloud_emulator.add_jobs(5)
    dbt_cloud_emulator.set_job_script(first[0], outcome="error")
    dbt_cloud_emulator.reset()
    assert [j["id"] for j in _page(client, 100, 0)["data"]] == CONFIGURED
    assert client.session.get(f"{client.v2}/jobs/{first[0]}/").status_code == 404
    second = dbt_cloud_emulator.add_jobs(5)
    assert second[0] > first[-1]
    assert [j["id"] for j in _page(client, 100, 0)["data"]] == CONFIGURED + second


def test_add_jobs_rejects_bad_arguments(dbt_cloud_emulator: Emulator) -> None:
    assert dbt_cloud_emulator.add_jobs(0) == []
    for count in (-1, 1_000_001, 2.0, True):
        with pytest.raises(ValueError, match="count"):
            dbt_cloud_emulator.add_jobs(count)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown environment 999"):
        dbt_cloud_emulator.add_jobs(1, environment_id=999)
