"""The dbt Cloud view's endpoints, mounted on Airflow's API server under ``/dbt-cloud``.

Every route needs a signed-in Airflow user (the UI's session cookie or a bearer token) and asks
Airflow's auth manager before it reads anything: a task instance's page and data need read access to
that task's DAG, and the overview lists only DAGs the user may read. The browser talks to these routes
only; the API server talks to dbt Cloud with the connection's token, which never leaves it.

The pages are static files; their script fills them in with ``textContent`` from the JSON routes, so
text from dbt Cloud or a DAG is never read as HTML.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from airflow_dbtcloud._transport.errors import DbtCloudError
from airflow_dbtcloud.ui.run_view import ARTIFACTS, LIVE_TTL, RunViews
from airflow_dbtcloud.ui.task_runs import TaskRun, find_task_run, recent_task_runs

__all__ = ["URL_PREFIX", "create_app"]

#: Where the app is mounted on the API server.
URL_PREFIX = "/dbt-cloud"
#: Files the pages load, by the name in their URL.
_STATIC = {
    "view.js": "application/javascript",
    "view.css": "text/css",
    "icon.svg": "image/svg+xml",
}
#: The overview's row for tasks that do not name their job (a sensor given only a run id); finding the
#: job would cost a dbt Cloud request per task, and the overview makes none.
UNNAMED_JOB = "not named by the task (e.g. a sensor given a run id)"
#: Airflow task instance states in which a task is still waiting on its run.
_ACTIVE_STATES = frozenset({"running", "deferred", "queued", "scheduled", "up_for_reschedule", "restarting"})
_HEADERS = {
    # Scripts and styles from this app only; shown in Airflow's own frame only.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _signed_in(user: GetUserDep) -> None:
    """Require a signed-in user and nothing more (for the pages' files and the overview page)."""
    del user


ReadTask = Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))
SignedIn = Depends(_signed_in)
DagId = Annotated[str, PathParam(min_length=1, max_length=250)]
RunId = Annotated[str, PathParam(min_length=1, max_length=250)]
TaskId = Annotated[str, PathParam(min_length=1, max_length=250)]


def _map_index(map_index: Annotated[str | None, Query(max_length=12)] = None) -> int:
    """Read ``?map_index=``: absent, empty or Airflow's unfilled placeholder (an unmapped task) is -1."""
    if map_index in (None, "", "{MAP_INDEX}"):
        return -1
    text = str(map_index)
    if not (text.isascii() and text.lstrip("-").isdigit()) or int(text) < -1:
        raise HTTPException(422, f"map_index must be an integer from -1, got {text!r}")
    return int(text)


MapIndex = Annotated[int, Depends(_map_index)]


def _file(name: str) -> bytes:
    return resources.files("airflow_dbtcloud.ui").joinpath("static", name).read_bytes()


def _page(name: str) -> Response:
    return Response(_file(name), media_type="text/html; charset=utf-8", headers=_HEADERS)


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=_HEADERS)


def _ui_root(request: Request) -> str:
    """The Airflow UI's base path, from where this app is mounted (Airflow may serve under a prefix)."""
    root = str(request.scope.get("root_path") or "")
    return root[: -len(URL_PREFIX)] if root.endswith(URL_PREFIX) else ""


def _quoted_ids(task_run: TaskRun) -> tuple[str, ...]:
    """The task instance's DAG, run and task ids, each quoted as one URL path segment."""
    return tuple(
        urllib.parse.quote(text, safe="") for text in (task_run.dag_id, task_run.run_id, task_run.task_id)
    )


def _ti_url(request: Request, task_run: TaskRun) -> str:
    dag, run, task = _quoted_ids(task_run)
    path = f"/dags/{dag}/runs/{run}/tasks/{task}"
    if task_run.map_index >= 0:
        path += f"/mapped/{task_run.map_index}"
    return _ui_root(request) + path


def _view_url(request: Request, task_run: TaskRun) -> str:
    """This app's page of the task's run. Links from the overview stay in its frame: Airflow sandboxes
    plugin frames without top navigation, so a link to the task instance's own page cannot leave it."""
    dag, run, task = _quoted_ids(task_run)
    return f"{_ui_root(request)}{URL_PREFIX}/ti/{dag}/{run}/{task}?map_index={task_run.map_index}"


def _task(task_run: TaskRun, marker: str | None) -> dict[str, Any]:
    return {
        "dag_id": task_run.dag_id,
        "run_id": task_run.run_id,
        "task_id": task_run.task_id,
        "map_index": task_run.map_index,
        "state": task_run.state,
        "try_number": task_run.try_number,
        "operator": task_run.operator,
        "conn_id": task_run.conn_id,
        "started_by_this_task": task_run.started_by_this_task(marker),
    }


def _summary(task_run: TaskRun, request: Request) -> dict[str, Any]:
    return {
        "dag_id": task_run.dag_id,
        "run_id": task_run.run_id,
        "task_id": task_run.task_id,
        "map_index": task_run.map_index,
        "dbt_run_id": task_run.dbt_run_id,
        "state": task_run.state,
        "duration": task_run.duration,
        "start_date": None if task_run.start_date is None else task_run.start_date.isoformat(),
        "end_date": None if task_run.end_date is None else task_run.end_date.isoformat(),
        "ti_url": _ti_url(request, task_run),
        "view_url": _view_url(request, task_run),
    }


def overview(task_runs: list[TaskRun], request: Request) -> dict[str, Any]:
    """Group task instances by connection and job: counts, success rate, mean duration, the latest one.

    :param task_runs: Task instances with a run, newest first.
    :param request: The request (for links to the task instances in the Airflow UI).
    :return: ``{"connections": [...], "in_progress": [...]}``, ready for JSON.
    """
    jobs: dict[tuple[str, str], list[TaskRun]] = defaultdict(list)
    for task_run in task_runs:
        job = str(task_run.job_id) if task_run.job_id is not None else (task_run.job_name or UNNAMED_JOB)
        jobs[(task_run.conn_id, job)].append(task_run)
    connections: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (conn_id, job), runs in jobs.items():
        finished = [r for r in runs if r.state in ("success", "failed", "upstream_failed")]
        succeeded = [r for r in finished if r.state == "success"]
        durations = [r.duration for r in finished if r.duration is not None]
        connections[conn_id].append(
            {
                "job": job,
                "job_id": runs[0].job_id,
                "task_runs": len(runs),
                "finished": len(finished),
                "succeeded": len(succeeded),
                "success_rate": len(succeeded) / len(finished) if finished else None,
                "mean_duration": sum(durations) / len(durations) if durations else None,
                "last": _summary(runs[0], request),
            }
        )
    return {
        "connections": [
            {"conn_id": conn_id, "jobs": sorted(found, key=lambda j: j["job"])}
            for conn_id, found in sorted(connections.items())
        ],
        "in_progress": [
            _summary(r, request) | {"conn_id": r.conn_id, "job_id": r.job_id}
            for r in task_runs
            if r.state in _ACTIVE_STATES
        ],
    }


def create_app(views: RunViews | None = None) -> FastAPI:
    """Build the app the plugin mounts.

    :param views: Where run views are built and kept; a new :class:`RunViews` by default.
    """
    views = views or RunViews()
    app = FastAPI(title="dbt Cloud view", docs_url=None, redoc_url=None, openapi_url=None)

    def task_run_or_404(session: Any, dag_id: str, run_id: str, task_id: str, map_index: int) -> TaskRun:
        task_run = find_task_run(session, dag_id, run_id, task_id, map_index)
        if task_run is None:
            raise HTTPException(404, "This task instance has no dbt Cloud run (yet).")
        return task_run

    @app.get("/", dependencies=[SignedIn])
    def overview_page() -> Response:
        """The overview page (filled in by its script from ``/api/overview``)."""
        return _page("overview.html")

    @app.get("/api/overview")
    def overview_data(request: Request, user: GetUserDep, session: SessionDep) -> JSONResponse:
        """Jobs that the user's DAGs run, per connection, and the runs in progress."""
        dag_ids = get_auth_manager().get_authorized_dag_ids(user=user, method="GET")
        return _json(overview(recent_task_runs(session, dag_ids), request))

    @app.get("/ti/{dag_id}/{run_id}/{task_id}", dependencies=[ReadTask])
    def task_page(dag_id: DagId, run_id: RunId, task_id: TaskId, map_index: MapIndex) -> Response:
        """The task instance's page (filled in by its script from the matching ``/api/ti/...``)."""
        return _page("task.html")

    @app.get("/api/ti/{dag_id}/{run_id}/{task_id}", dependencies=[ReadTask])
    def task_data(
        dag_id: DagId, run_id: RunId, task_id: TaskId, map_index: MapIndex, session: SessionDep
    ) -> JSONResponse:
        """The task instance's dbt Cloud run: status, steps, nodes, links; 404 without a run."""
        task_run = task_run_or_404(session, dag_id, run_id, task_id, map_index)
        try:
            view = views.view(task_run)
        except DbtCloudError as exc:
            return _json({"detail": f"Could not read dbt Cloud run {task_run.dbt_run_id}: {exc}"}, 502)
        return _json(
            view
            | {
                "task": _task(task_run, view["run"]["marker"]),
                "refresh_seconds": None if view["run"]["ended"] else LIVE_TTL,
            }
        )

    @app.get("/api/ti/{dag_id}/{run_id}/{task_id}/artifacts/{name}", dependencies=[ReadTask])
    def artifact(
        dag_id: DagId, run_id: RunId, task_id: TaskId, map_index: MapIndex, name: str, session: SessionDep
    ) -> Response:
        """Download one of the run's artifacts, streamed from dbt Cloud through the API server."""
        if name not in ARTIFACTS:
            raise HTTPException(404, f"Not an artifact this view offers: use one of {', '.join(ARTIFACTS)}.")
        task_run = task_run_or_404(session, dag_id, run_id, task_id, map_index)
        folder = tempfile.mkdtemp(prefix="dbt-cloud-view-")
        target = Path(folder) / name
        cleanup = BackgroundTask(_remove, Path(folder))
        try:
            views.hook(task_run.conn_id).download_job_run_artifact(
                task_run.dbt_run_id, name, target, task_run.account_id
            )
        except DbtCloudError as exc:
            _remove(Path(folder))
            return _json({"detail": f"Could not read {name} of run {task_run.dbt_run_id}: {exc}"}, 502)
        return FileResponse(
            target,
            media_type="application/json",
            filename=f"dbt_cloud_run_{task_run.dbt_run_id}_{name}",
            headers=_HEADERS,
            background=cleanup,
        )

    @app.get("/static/{name}", dependencies=[SignedIn])
    def static(name: str) -> Response:
        """The pages' script, style sheet and icon."""
        if name not in _STATIC:
            raise HTTPException(404, "No such file.")
        return Response(_file(name), media_type=_STATIC[name], headers=_HEADERS)

    return app


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()
