"""A browser on Airflow's UI: Playwright driving Debian's Chromium, never a browser of its own.

``make browser`` installs Chromium; Playwright's own browser download is never used. Here are
:func:`launch_chromium` with the flags this machine needs, :func:`keep_on_loopback`, which aborts any
request a page makes off this machine, :func:`login` through Airflow's own login page, and
:func:`save_screenshot` into a directory that outlives the test.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route

__all__ = [
    "ACTION_TIMEOUT_MS",
    "CHROMIUM",
    "NAVIGATION_TIMEOUT_MS",
    "artifacts_dir",
    "keep_on_loopback",
    "launch_chromium",
    "login",
    "save_screenshot",
]

HERE = Path(__file__).resolve().parent
#: Debian's Chromium, which ``make browser`` installs.
CHROMIUM = Path("/usr/bin/chromium")
#: What this machine's Chromium needs: no sandbox as root, no GPU, and none of the background
#: connections (QUIC, component updates, sync) that a closed network refuses, many at a time.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Milliseconds any page action (a click, a locator's wait) may take.
ACTION_TIMEOUT_MS = 15_000
#: Milliseconds a navigation may take.
NAVIGATION_TIMEOUT_MS = 30_000
#: Where :func:`save_screenshot` writes, unless ``$UI_ARTIFACTS_DIR`` says otherwise (git-ignored).
DEFAULT_ARTIFACTS_DIR = HERE / "artifacts"
#: Hosts the browser may reach: the API server and the emulator, both on loopback.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch Debian's Chromium headless with the flags this machine needs and a fresh profile.

    Playwright gives each launch a new temporary user-data dir and removes it at ``close()``.

    :param playwright: The started Playwright driver.
    :raises FileNotFoundError: When :data:`CHROMIUM` is missing (``make browser`` installs it).
    """
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium")
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), timeout=NAVIGATION_TIMEOUT_MS
    )
    return browser


def keep_on_loopback(context: BrowserContext, blocked: list[str]) -> None:
    """Abort every request of the context to a host other than :data:`LOOPBACK_HOSTS`.

    :param context: The browser context.
    :param blocked: Gets each aborted URL, so the caller can tell the UI asked for one.
    """

    def route(route: Route) -> None:
        if urllib.parse.urlsplit(route.request.url).hostname in LOOPBACK_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)


def login(page: Page, user: str, password: str, next_path: str = "/") -> None:
    """Sign in through Airflow's own login page, where the UI sends a visitor who is not signed in.

    The page's context must have the API server as its base URL and no session yet.

    :param page: A page of a context whose base URL is the API server.
    :param user: The username.
    :param password: The password.
    :param next_path: The UI path to open first; the login page returns there after signing in.
    :raises AssertionError: When the login page does not come, or does not let the user in.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.goto(next_path)
    try:
        page.wait_for_url(re.compile(r"/auth/login\b"))
    except PlaywrightTimeoutError as error:
        raise AssertionError(f"{next_path} did not send the browser to the login page: {page.url}") from error
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    try:
        page.wait_for_url(lambda url: "/auth/login" not in url)
    except PlaywrightTimeoutError as error:
        shown = page.locator("body").inner_text()[:500]
        raise AssertionError(f"signing in as {user} failed; the login page shows: {shown}") from error


def artifacts_dir() -> Path:
    """Return (and create) the screenshots' directory: ``$UI_ARTIFACTS_DIR``, else ``tests/ui/artifacts``."""
    path = Path(os.environ.get("UI_ARTIFACTS_DIR") or DEFAULT_ARTIFACTS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG of the page under :func:`artifacts_dir` and return its path.

    :param page: The page.
    :param name: The file's name without ``.png``; characters unsafe in a file name become ``_``.
    """
    path = artifacts_dir() / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
