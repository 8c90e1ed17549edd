"""Browser pages of runs and jobs: at the UI links, escaped, tokenless, unjournaled, Host-checked."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
import requests
from emulator_client import Client

from airflow_dbtcloud.testing import Emulator
from airflow_dbtcloud.testing.project import BASE_NODES, Node

HOSTILE = "<script>alert('pwned')</script>&\""
HOSTILE_ID = f"model.jaffle_shop.{HOSTILE}"


class _Tables(HTMLParser):
    """Reads every table of a page as rows of cell texts, and every link target."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.links.extend(v for k, v in attrs if k == "href" and v is not None)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def facts(self) -> dict[str, str]:
        """The first table (label, value) as a dict."""
        return {row[0]: row[1] for row in self.tables[0]}

    def nodes(self) -> list[list[str]]:
        """The node table's rows, without its header."""
        return self.tables[-1][1:]


@pytest.fixture
def emu(dbt_cloud_emulator: Emulator) -> Emulator:
    """The session emulator, reset.

    :param dbt_cloud_emulator: The plugin's per-test emulator.
    """
    return dbt_cloud_emulator


def _run(emu: Emulator, status: int | None = None, job_id: int = 300) -> dict:
    """Trigger a run through the API (with the token), end it with ``status``, and return its payload."""
    client = Client(emu)
    run = client.session.post(f"{client.v2}/jobs/{job_id}/run/", json={"cause": "Nightly from Airflow"})
    run_id = run.json()["data"]["id"]
    if status is not None:
        emu.complete_run(run_id, status)
    return emu.get_run(run_id)


def _page(url: str, **headers: str) -> requests.Response:
    """GET a page as a browser does: no token."""
    return requests.get(url, headers=headers, timeout=10)


def _served_results(emu: Emulator, run_id: int) -> list[dict]:
    client = Client(emu)
    return client.artifact(f"{client.v2}/runs/{run_id}/", "run_results.json")["results"]


def test_a_succeeded_run_page_shows_the_run_its_steps_and_every_node(emu: Emulator) -> None:
    run = _run(emu, status=10)
    resp = _page(run["href"])
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    page = _Tables(resp.text)
    facts = page.facts()
    assert facts["Job"] == "Daily build (#300)"
    assert facts["Status"] == "Success"
    assert facts["Trigger"] == "Nightly from Airflow (api)"
    assert facts["Git branch"] == "main"
    assert facts["Git SHA"] == run["git_sha"]
    assert facts["Created"] == run["created_at"][:19] + " UTC"
    assert facts["Finished"] == run["finished_at"][:19] + " UTC"
    assert facts["Duration"].startswith(run["duration_humanized"])
    assert page.tables[1][1] == [
        "1",
        "Invoke dbt with `dbt build`",
        "Success",
        run["run_steps"][0]["duration_humanized"],
    ]
    served = _served_results(emu, run["id"])
    rows = page.nodes()
    assert [r[0] for r in rows] == [r["unique_id"] for r in served], "no failure: run order, as served"
    assert [(r[2], r[4]) for r in rows] == [(r["status"], r["message"] or "") for r in served]
    assert rows[8][:3] == ["model.jaffle_shop.orders", "model", "success"]
    assert rows[8][3] == f"{served[8]['execution_time']:.2f} s"
    assert "18 nodes: 12 success, 6 pass" in re.sub("<[^>]+>", "", resp.text)


def test_a_failed_run_page_shows_the_failed_node_first_with_its_message(emu: Emulator) -> None:
    emu.fail_next_run(300, ["orders"])
    run = _run(emu, status=20)
    page = _Tables(_page(run["href"]).text)
    assert page.facts()["Status"] == "Error"
    assert page.facts()["Status message"] == run["status_message"]
    first, *rest = page.nodes()
    assert first[:3] == ["model.jaffle_shop.orders", "model", "error"]
    assert first[4].startswith("Database Error in model orders (models/orders.sql)\n  relation ")
    served = {r["unique_id"]: r for r in _served_results(emu, run["id"])}
    assert first[4] == served["model.jaffle_shop.orders"]["message"]
    assert "error" not in [r[2] for r in rest]
    assert {r[0]: r[2] for r in rest} == {u: r["status"] for u, r in served.items() if r["status"] != "error"}


def test_an_in_progress_run_page_shows_its_running_step_and_no_nodes_yet(emu: Emulator) -> None:
    emu.set_job_script(300, outcome="hang")
    emu.speed = 1000  # past queued and starting at once; a hanging run then runs forever
    run = _run(emu)
    page = _Tables(_page(run["href"]).text)
    assert page.facts()["Status"] == "Running"
    assert page.facts()["Finished"] == "not yet"
    assert page.tables[1][1][:3] == ["1", "Invoke dbt with `dbt build`", "Running"]
    assert len(page.tables) == 2, "no node table"
    assert "No run_results.json: the run is still going." in _page(run["href"]).text


def test_a_queued_run_page_says_no_step_has_started(emu: Emulator) -> None:
    emu.set_job_script(300, queued_seconds=3600)
    run = _run(emu)
    text = _page(run["href"]).text
    assert _Tables(text).facts()["Status"] == "Queued"
    assert "No step has started yet." in text


def test_hostile_names_causes_and_messages_render_as_text(emu: Emulator) -> None:
    (job_id,) = emu.add_jobs(1, name_prefix=HOSTILE)
    node = Node(HOSTILE_ID, "model", HOSTILE, parents=("model.jaffle_shop.orders",), materialized="table")
    emu.set_project_nodes([*BASE_NODES, node])
    emu.fail_next_run(job_id, [HOSTILE_ID])
    run_id = emu.start_run(job_id, source="person", cause=HOSTILE, git_branch=HOSTILE)
    emu.complete_run(run_id, "error")
    run_url = emu.get_run(run_id)["href"]
    job_url = f"{emu.base_url}/deploy/1/projects/100/jobs/{job_id}/"
    for url in (run_url, job_url):
        resp = _page(url)
        assert resp.status_code == 200
        assert "<script" not in resp.text.lower(), "the pages hold no script, and no value becomes one"
        assert html.escape(HOSTILE) in resp.text
        assert resp.headers["Content-Security-Policy"].startswith(
            "default-src 'none'; style-src 'unsafe-inline'"
        )
    page = _Tables(_page(run_url).text)
    facts = page.facts()
    assert facts["Job"] == f"{HOSTILE} {job_id} (#{job_id})"
    assert facts["Trigger"] == f"{HOSTILE} (ui)"
    assert facts["Git branch"] == HOSTILE
    first = page.nodes()[0]
    assert first[:3] == [HOSTILE_ID, "model", "error"]
    assert first[4].startswith(f"Database Error in model {HOSTILE} ")


def test_the_job_page_lists_its_runs_linked_to_their_pages(emu: Emulator) -> None:
    run = _run(emu, status=10)
    run_page = _Tables(_page(run["href"]).text)
    (job_link,) = run_page.links
    assert job_link == "/deploy/1/projects/100/jobs/300/"
    resp = _page(emu.base_url + job_link)
    page = _Tables(resp.text)
    assert "<h1>Daily build (job #300)</h1>" in resp.text
    assert page.facts()["Commands"] == "dbt build"
    assert page.tables[1][1][:3] == [f"#{run['id']}", "Success", "Nightly from Airflow"]
    assert emu.base_url + page.links[0] == run["href"]


def test_the_pages_are_where_the_provider_links_to(emu: Emulator) -> None:
    from airflow_dbtcloud.api import urls

    run = _run(emu, status=10)
    assert urls.run_url(emu.base_url, 1, 100, run["id"]) == run["href"]
    for url in (
        urls.run_url(emu.base_url, 1, 100, run["id"]),
        urls.run_url(emu.base_url, 1, None, run["id"]),
        urls.job_url(emu.base_url, 1, 100, 300),
    ):
        assert _page(url).status_code == 200, url


@pytest.mark.parametrize(
    "path",
    [
        "/deploy/1/projects/100/runs/999999/",
        "/deploy/1/runs/999999/",
        "/deploy/7/projects/100/runs/{run_id}/",  # no account 7
        "/deploy/7/runs/{run_id}/",
        "/deploy/1/projects/101/runs/{run_id}/",  # not the run's project
        "/deploy/x/runs/{run_id}/",
        "/deploy/1/projects/100/jobs/999/",
        "/deploy/7/projects/100/jobs/300/",
        "/deploy/1/projects/101/jobs/300/",
        "/deploy/1/elsewhere/",
    ],
)
def test_an_unknown_page_is_an_html_404(emu: Emulator, path: str) -> None:
    run_id = emu.start_run(300)
    resp = _page(emu.base_url + path.format(run_id=run_id))
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>404 Not Found</h1>" in resp.text


def test_a_page_answers_get_only(emu: Emulator) -> None:
    run_id = emu.start_run(300)
    resp = requests.post(f"{emu.base_url}/deploy/1/runs/{run_id}/", timeout=10)
    assert resp.status_code == 405
    assert "<h1>405 Method Not Allowed</h1>" in resp.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Token nope"}, {"Authorization": "Token {token}"}],
    ids=["no-token", "wrong-token", "the-token"],
)
def test_the_pages_need_no_token_and_never_show_it(emu: Emulator, headers: dict[str, str]) -> None:
    emu.fail_next_run(300)
    run_id = emu.start_run(300)
    emu.complete_run(run_id, "error")
    sent = {k: v.format(token=emu.token) for k, v in headers.items()}
    for path in (
        f"/deploy/1/projects/100/runs/{run_id}/",
        "/deploy/1/projects/100/jobs/300/",
        "/deploy/1/x/",
    ):
        resp = _page(emu.base_url + path, **sent)
        assert resp.status_code in (200, 404)
        assert emu.token not in resp.text
        assert emu.token not in str(resp.headers)


def test_the_api_and_control_routes_still_need_the_token(emu: Emulator) -> None:
    run_id = emu.start_run(300)
    assert requests.get(f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/", timeout=10).status_code == 401
    assert requests.get(f"{emu.base_url}/_emulator/counters", timeout=10).status_code == 401


def test_page_views_are_neither_journaled_nor_counted(emu: Emulator) -> None:
    run_id = emu.start_run(300)  # not an API request either
    for path in (f"/deploy/1/runs/{run_id}/", "/deploy/1/projects/100/jobs/300/", "/deploy/1/runs/1/"):
        _page(emu.base_url + path)
    assert emu.journal == []
    assert emu.requests == 0
    assert emu.runs_created() == 0


def test_a_fault_on_every_route_leaves_the_pages_alone(emu: Emulator) -> None:
    run_id = emu.start_run(300)
    fault = emu.add_fault(kind="status", status=503)
    assert _page(f"{emu.base_url}/deploy/1/runs/{run_id}/").status_code == 200
    assert fault.hits == 0


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}"])
@pytest.mark.parametrize(
    "path", ["/deploy/1/projects/100/runs/{run_id}/", "/deploy/1/projects/100/jobs/300/"]
)
def test_a_page_asked_for_under_a_foreign_host_is_refused(emu: Emulator, host: str, path: str) -> None:
    run_id = emu.start_run(300)
    url = emu.base_url + path.format(run_id=run_id)
    resp = _page(url, Host=host.format(port=emu.port))
    assert resp.status_code == 421
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "loopback" in resp.text
    assert "Daily build" not in resp.text
    assert emu.journal == []


def test_project_nodes_must_come_after_their_parents(emu: Emulator) -> None:
    orphan = Node("model.jaffle_shop.orphan", "model", "orphan", parents=("model.jaffle_shop.nowhere",))
    with pytest.raises(ValueError, match="orphan"):
        emu.set_project_nodes([*BASE_NODES, orphan])
    with pytest.raises(ValueError, match="repeated"):
        emu.set_project_nodes([*BASE_NODES, BASE_NODES[0]])


def test_set_project_nodes_none_and_reset_restore_the_project(emu: Emulator) -> None:
    node = Node(HOSTILE_ID, "model", HOSTILE, parents=("model.jaffle_shop.orders",))
    emu.set_project_nodes([*BASE_NODES, node])
    emu.set_project_nodes(None)
    run_id = emu.start_run(300)
    emu.complete_run(run_id, "success")
    assert HOSTILE_ID not in {r["unique_id"] for r in _served_results(emu, run_id)}


def test_a_step_that_ran_no_node_says_so(emu: Emulator) -> None:
    run = _run(emu, status=10, job_id=303)  # dbt docs generate
    text = _page(run["href"]).text
    assert "<h2>Nodes (run_results.json of step 1)</h2>" in text
    assert "This step ran no node." in text


def test_a_large_run_shows_its_failures_and_counts_the_rows_it_leaves_out(emu: Emulator) -> None:
    emu.set_project_size(models=2000)  # 2,008 models, 806 tests, 3 seeds, 1 snapshot: 2,818 nodes
    emu.fail_next_run(300, ["synth_model_001999"])
    run = _run(emu, status=20)
    resp = _page(run["href"])
    rows = _Tables(resp.text).nodes()
    assert len(rows) == 2000
    assert rows[0][:3] == ["model.jaffle_shop.synth_model_001999", "model", "error"]
    assert len(_served_results(emu, run["id"])) == 2818
    assert "818 more nodes are not shown: read run_results.json." in resp.text
