"""The run operator's extra links as a person sees them in Airflow's UI, in a real browser.

The task instance page of Airflow 3.3 is ``/dags/<dag>/runs/<run>/tasks/<task>`` (its Logs tab); the
Details tab (``.../details``) starts with an "Extra Links" heading and one link per extra link, named as
the link class names it (``airflow_dbtcloud/links/dbt.py``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from ui_browser import login
from ui_server import SUCCESS_DAG, USERS, AirflowUi

from airflow_dbtcloud.links.dbt import JOB_RUN_URL_KEY, DbtCloudRunJobOperatorLink

# The first test of the session pays for the API server and the DAG runs (about 40 s, each step bounded
# well below this by ui_server); the browser steps take seconds.
pytestmark = pytest.mark.timeout(600)


def test_run_link_on_task_instance_page_is_the_run_url_in_xcom(
    page: Page, airflow_ui: AirflowUi, screenshot: Callable[[str], Path]
) -> None:
    run = airflow_ui.runs[SUCCESS_DAG]
    pushed = airflow_ui.rest("admin").get(f"{run.api_path}/xcomEntries/{JOB_RUN_URL_KEY}?deserialize=true")
    assert str(pushed["value"]).startswith("http://127.0.0.1:"), pushed  # the emulator's run page

    login(page, "admin", USERS["admin"].password, next_path=run.ui_path)
    assert urllib.parse.unquote(urllib.parse.urlsplit(page.url).path) == urllib.parse.unquote(run.ui_path)
    page.get_by_role("link", name="Details", exact=True).click()
    expect(page.get_by_text("Extra Links", exact=True)).to_be_visible()
    link = page.get_by_role("link", name=DbtCloudRunJobOperatorLink.name, exact=True)
    expect(link).to_be_visible()
    screenshot("details")

    assert link.get_attribute("href") == pushed["value"]


def test_anonymous_visitor_is_sent_to_the_login_page(
    page: Page, airflow_ui: AirflowUi, screenshot: Callable[[str], Path]
) -> None:
    run = airflow_ui.runs[SUCCESS_DAG]

    page.goto(run.ui_path)

    page.wait_for_url(re.compile(r"/auth/login\?"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert [urllib.parse.unquote(n) for n in query["next"]] == [urllib.parse.unquote(run.ui_path)]
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    screenshot("login")
