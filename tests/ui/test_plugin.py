"""The plugin as Airflow loads it: cheap to import in every task process, the app built on first use."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from airflow_dbtcloud import get_provider_info
from airflow_dbtcloud.ui.plugin import TASK_VIEW_HREF, DbtCloudPlugin, LazyApp


def test_importing_the_plugin_loads_neither_the_app_nor_the_hook():
    # Airflow imports every plugin in every task process (for macros); the view must cost them nothing.
    code = (
        "import json, sys; import airflow_dbtcloud.ui.plugin; "
        "print(json.dumps([m for m in ('airflow_dbtcloud.ui.app', 'airflow_dbtcloud.hooks.dbt', "
        "'fastapi', 'requests') if m in sys.modules]))"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    assert loaded == []


def test_the_app_is_built_once_on_the_first_request():
    lazy = LazyApp()
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/static/nope",
        "raw_path": b"/static/nope",
        "query_string": b"",
        "headers": [],
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
    }
    asyncio.run(lazy(scope, receive, send))
    built = lazy._app
    asyncio.run(lazy(scope, receive, send))
    assert built is not None
    assert lazy._app is built
    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert statuses == [401, 401]  # no signed-in user, even for the pages' files


def test_the_provider_declares_the_plugin_and_its_views():
    plugins = get_provider_info()["plugins"]
    assert plugins == [{"name": "dbt_cloud", "plugin-class": "airflow_dbtcloud.ui.plugin.DbtCloudPlugin"}]
    views = {view["destination"]: view for view in DbtCloudPlugin.external_views}
    assert views["task_instance"]["href"] == TASK_VIEW_HREF
    assert views["nav"]["href"] == "/dbt-cloud/"
    assert [app["url_prefix"] for app in DbtCloudPlugin.fastapi_apps] == ["/dbt-cloud"]
