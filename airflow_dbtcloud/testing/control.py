"""The ``/_emulator/`` control routes (the emulator's token required, never journaled) for users driving it
over HTTP."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from airflow_dbtcloud.testing import payloads
from airflow_dbtcloud.testing.config import EmulatorConfig
from airflow_dbtcloud.testing.hub import Hub, hub_of


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def counters(hub: Hub) -> dict[str, Any]:
    """Return ``{"runs_created": {job_id: n}, "connections_accepted": n, "requests": n}``.

    :param hub: The hub whose counters to read.
    :return: The counters (job ids as strings, as JSON requires).
    """
    with hub.state.lock:
        created = {str(k): v for k, v in sorted(hub.state.runs_created_by_job.items())}
    return {"runs_created": created, "connections_accepted": hub.connections, "requests": hub.requests}


async def _journal(request: web.Request) -> web.StreamResponse:
    return _json(hub_of(request).journal.entries())


async def _counters(request: web.Request) -> web.StreamResponse:
    return _json(counters(hub_of(request)))


async def _reset(request: web.Request) -> web.StreamResponse:
    hub_of(request).reset()
    return _json({"reset": True})


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    data = json.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


async def _add_fault(request: web.Request) -> web.StreamResponse:
    try:
        fault = hub_of(request).faults.add(**await _body(request))
    except (TypeError, ValueError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"id": fault.id})


async def _clear_faults(request: web.Request) -> web.StreamResponse:
    hub_of(request).faults.clear()
    return _json({"cleared": True})


async def _complete_run(request: web.Request) -> web.StreamResponse:
    hub = hub_of(request)
    data = await _body(request)
    run = hub.state.runs.get(int(request.match_info["run_id"]))
    if run is None:
        return _json({"error": "unknown run"}, 404)
    try:
        hub.state.complete(run, data.get("status", 10))
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    return _json(payloads.run(hub.state, run, {"trigger", "run_steps"}))


async def _job_script(request: web.Request) -> web.StreamResponse:
    hub = hub_of(request)
    try:
        hub.state.set_job_script(int(request.match_info["job_id"]), **await _body(request))
    except (KeyError, ValueError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"ok": True})


async def _start_run(request: web.Request) -> web.StreamResponse:
    state = hub_of(request).state
    try:
        data = await _body(request)
    except (ValueError, web.HTTPBadRequest):
        return _json({"error": "expected a JSON object"}, 400)
    unknown = sorted(set(data) - set(START_RUN_FIELDS))
    if unknown:
        return _json({"error": f"unknown fields {unknown}; expected some of {list(START_RUN_FIELDS)}"}, 400)
    job_id = request.match_info["job_id"]
    if not job_id.isdigit() or int(job_id) not in state.jobs:
        return _json({"error": f"unknown job {job_id}"}, 404)
    try:
        run = state.start_run(int(job_id), data.pop("source", None) or "scheduler", **data)
    except (TypeError, ValueError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json(payloads.run(state, run, {"trigger", "job"}))


START_RUN_FIELDS = ("source", "cause", "git_branch", "git_sha", "pull_request_id", "person")


async def _settings(request: web.Request) -> web.StreamResponse:
    state = hub_of(request).state
    if request.method == "POST":
        data = await _body(request)
        try:
            unknown = sorted(set(data) - set(_SETTINGS))
            if unknown:
                raise ValueError(f"unknown settings {unknown}; expected some of {list(_SETTINGS)}")
            checked = EmulatorConfig.from_dict(data)  # validates every value before any is applied
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        if "adapter" in data:
            state.set_adapter(checked.adapter)
        if "synthetic_models" in data:
            state.set_project_size(checked.synthetic_models)
        if "manifest_size_mb" in data:
            state.manifest_size_mb = checked.manifest_size_mb
    return _json(state.settings())


_SETTINGS = ("adapter", "synthetic_models", "manifest_size_mb")


def add_routes(app: web.Application) -> None:
    """Register the control routes.

    :param app: The application to add them to; its ``HUB`` must be set.
    """
    app.router.add_get("/_emulator/journal", _journal, name="_emulator_journal")
    app.router.add_get("/_emulator/counters", _counters, name="_emulator_counters")
    app.router.add_post("/_emulator/reset", _reset, name="_emulator_reset")
    app.router.add_post("/_emulator/faults", _add_fault, name="_emulator_add_fault")
    app.router.add_delete("/_emulator/faults", _clear_faults, name="_emulator_clear_faults")
    app.router.add_post("/_emulator/runs/{run_id}/complete", _complete_run, name="_emulator_complete_run")
    app.router.add_post("/_emulator/jobs/{job_id}/script", _job_script, name="_emulator_job_script")
    app.router.add_post("/_emulator/jobs/{job_id}/runs", _start_run, name="_emulator_start_run")
    app.router.add_get("/_emulator/settings", _settings, name="_emulator_settings")
    app.router.add_post("/_emulator/settings", _settings, name="_emulator_post_settings")
