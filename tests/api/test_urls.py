"""UI links: dbt Cloud's href is kept only on the tenant's own host, else built from the ids."""

from __future__ import annotations

import pytest

from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.run_watch import run_event
from airflow_dbtcloud.api.urls import on_host, page_base, run_page, web_url

BASE = "https://ab123.us1.dbt.com"
BUILT = f"{BASE}/deploy/12/projects/34/runs/7/"


def run_with(href):
    return RunState(7, account_id=12, project_id=34, job_id=56, href=href)


@pytest.mark.parametrize(
    "href",
    [
        f"{BASE}/deploy/12/projects/34/runs/7/",
        "https://AB123.us1.dbt.com/#/accounts/12/projects/34/runs/7/",
        "https://ab123.us1.dbt.com:443/deploy/12/runs/7/",
    ],
)
def test_an_href_on_the_tenants_host_is_kept(href):
    assert on_host(href, BASE)
    assert run_page(run_with(href), BASE) == href


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(document.cookie)",
        "JavaScript://ab123.us1.dbt.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://evil.example/deploy/12/projects/34/runs/7/",
        "https://ab123.us1.dbt.com.evil.example/x",
        "https://ab123.us1.dbt.com@evil.example/x",
        "https://user@ab123.us1.dbt.com/x",
        "https://ab123.us1.dbt.com\\@evil.example/x",
        "https://ab123.us1.dbt.com:8443/x",
        "http://ab123.us1.dbt.com/x",
        " https://ab123.us1.dbt.com/x",
        "https://ab123.us1.dbt.com/x\n",
        "//ab123.us1.dbt.com/x",
        "/deploy/12/runs/7/",
        "https://[::1/x",
        "",
    ],
)
def test_any_other_href_gives_way_to_a_link_built_from_the_ids(href):
    assert not on_host(href, BASE)
    assert run_page(run_with(href), BASE) == BUILT


def test_without_an_href_or_the_runs_account_the_callers_account_is_used():
    assert run_page(RunState(7, project_id=34), BASE, account_id="12") == BUILT
    assert run_page(RunState(7, project_id=34), BASE) is None


def test_without_the_host_only_a_plain_web_href_is_kept():
    assert run_page(run_with("https://emea.dbt.com/r/7/"), None) == "https://emea.dbt.com/r/7/"
    assert run_page(run_with("javascript:alert(1)"), None) is None
    assert web_url("javascript:alert(1)") is None
    assert web_url(None) is None


def test_page_base_prefers_the_connections_host():
    assert page_base(run_with("https://evil.example/x"), BASE) == BASE
    assert page_base(run_with("https://emea.dbt.com:8443/r/7/"), None) == "https://emea.dbt.com:8443"
    assert page_base(run_with("javascript:x"), None) is None


def test_a_watchers_event_carries_no_foreign_url():
    assert run_event(run_with("https://evil.example/x"), BASE)["url"] == BUILT
    assert run_event(run_with(f"{BASE}/r/7/"), BASE)["url"] == f"{BASE}/r/7/"
    assert run_event(run_with("javascript:alert(1)"))["url"] is None
    assert run_event(run_with("https://cloud.example/runs/7/"))["url"] == "https://cloud.example/runs/7/"
