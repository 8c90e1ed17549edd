"""Fixtures for tests of Airflow's UI in a real browser (``ui_server.py`` and ``ui_browser.py`` do the work).

- ``airflow_ui`` (session): a real ``airflow api-server`` on a throw-away home, showing one finished run
  of each DAG of ``ui_dags.py``, signed into with :data:`ui_server.USERS`. Override the session
  fixture ``airflow_ui_options`` to give it (and the DAG runs) more environment variables.
- ``ui_emulator`` (session): the emulator those runs called; an emulator of its own, so that the runs
  stay in it whatever other tests reset.
- ``browser`` (module) and ``page`` (per test): Debian's Chromium through Playwright; each test gets a
  new context (no cookies) whose base URL is the API server, so ``page.goto("/dags")`` works. A failed
  test leaves a screenshot of its page in :func:`ui_browser.artifacts_dir`.
- ``screenshot``: ``screenshot("name")`` saves the page as ``<test name>-name.png`` there.

A missing Chromium fails the tests that need it (run ``make browser``); it never skips them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from ui_browser import (
    ACTION_TIMEOUT_MS,
    CHROMIUM,
    NAVIGATION_TIMEOUT_MS,
    keep_on_loopback,
    launch_chromium,
    save_screenshot,
)
from ui_server import AirflowUi, run_airflow_ui

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from airflow_dbtcloud.testing import Emulator


#: Where each test item keeps its reports, by phase (``setup``, ``call``, ``teardown``).
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so the ``page`` fixture knows whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def ui_emulator() -> Iterator[Emulator]:
    """An emulator for the UI tests' DAG runs alone (the shared one is reset before other tests)."""
    from airflow_dbtcloud.testing import run_emulator

    with run_emulator() as emu:
        yield emu


@pytest.fixture(scope="session")
def airflow_ui_options() -> dict[str, str]:
    """More environment variables for the API server and the DAG runs; override to add some."""
    return {}


@pytest.fixture(scope="session")
def airflow_ui(
    tmp_path_factory: pytest.TempPathFactory, ui_emulator: Emulator, airflow_ui_options: dict[str, str]
) -> Iterator[AirflowUi]:
    """The running API server with the finished DAG runs (about 40 seconds to set up).

    :param tmp_path_factory: Gives the throw-away ``AIRFLOW_HOME`` (kept by pytest with its logs).
    :param ui_emulator: The emulator the DAGs' connection points at.
    :param airflow_ui_options: More environment variables.
    """
    with run_airflow_ui(tmp_path_factory.mktemp("airflow-ui-home"), ui_emulator, **airflow_ui_options) as ui:
        yield ui


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a browser test at once when Chromium is missing, before the API server costs 40 seconds."""
    if "browser" in getattr(item, "fixturenames", ()) and not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium", pytrace=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for one test module (Playwright's loop lives no longer than that)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, airflow_ui: AirflowUi, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a new browser context (not signed in) whose base URL is the API server.

    Requests off loopback are aborted and reported as a warning; a failed test leaves a screenshot.
    """
    context = browser.new_context(base_url=airflow_ui.base_url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    blocked: list[str] = []
    keep_on_loopback(context, blocked)
    page = context.new_page()
    yield page
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed:
        save_screenshot(page, f"{request.node.name}-failed")
    context.close()
    if blocked:
        warnings.warn(f"the page asked for addresses off this machine: {blocked[:10]}", stacklevel=1)


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """``screenshot(name)`` saves the page as ``<test name>-<name>.png`` and returns the file's path."""

    def take(name: str) -> Path:
        return save_screenshot(page, f"{request.node.name}-{name}")

    return take
