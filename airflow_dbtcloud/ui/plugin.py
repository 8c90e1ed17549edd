"""The Airflow plugin that puts the dbt Cloud view in the UI (Airflow 3.1 and later).

Airflow loads it from the provider's ``plugins`` entry in the API server. It mounts the endpoints of
:mod:`airflow_dbtcloud.ui.app` under ``/dbt-cloud`` and adds two views: a "dbt Cloud" tab on every task
instance (it says so when the task has no dbt Cloud run) and a "dbt Cloud" entry in the navigation
bar with the jobs the user's DAGs run.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

__all__ = ["TASK_VIEW_HREF", "DbtCloudPlugin", "LazyApp"]

#: The task instance tab. Airflow 3.3 fills in ``{MAP_INDEX}`` only for mapped task instances, so the map
#: index is a query parameter that the app reads as -1 when it is left as the placeholder.
TASK_VIEW_HREF = "/dbt-cloud/ti/{DAG_ID}/{RUN_ID}/{TASK_ID}?map_index={MAP_INDEX}"


class LazyApp:
    """An ASGI app that builds the view's FastAPI app on its first request.

    Airflow imports every plugin in every task process (to collect macros), so building the app, and
    importing FastAPI's parts of Airflow and the hook with it, waits until the API server serves a
    request.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI call through the real app.

        :param scope: The ASGI scope.
        :param receive: The ASGI receive channel.
        :param send: The ASGI send channel.
        """
        if self._app is None:
            from airflow_dbtcloud.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class DbtCloudPlugin(AirflowPlugin):
    """Mount the dbt Cloud view on the API server and place it in the UI."""

    name = "dbt_cloud"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": "/dbt-cloud", "name": "dbt Cloud view"}]
    external_views = [
        {
            "name": "dbt Cloud",
            "href": TASK_VIEW_HREF,
            "destination": "task_instance",
            "url_route": "dbt-cloud-run",
            "icon": "/dbt-cloud/static/icon.svg",
        },
        {
            "name": "dbt Cloud",
            "href": "/dbt-cloud/",
            "destination": "nav",
            "url_route": "dbt-cloud",
            "icon": "/dbt-cloud/static/icon.svg",
        },
    ]
