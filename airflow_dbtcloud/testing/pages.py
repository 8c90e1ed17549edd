"""Browser pages of the emulator: a run's page and a job's page, where the provider's UI links lead.

A browser has no API token, so the pages need none; they show no token, and escape every value (names,
causes and messages are users' data). The middleware answers them without journal, counters or faults.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web

from airflow_dbtcloud.testing import artifacts, payloads
from airflow_dbtcloud.testing.errors import NotFound
from airflow_dbtcloud.testing.lifecycle import STATUS_NAMES
from airflow_dbtcloud.testing.request_helpers import path_id, state_of
from airflow_dbtcloud.testing.timefmt import ts

PAGE_PREFIX = "/deploy/"
MAX_PAGE_NODES = 2000  # rows of a run page's node table; failures come first, so they are always among them
MAX_PAGE_RUNS = 100  # rows of a job page's run table, newest first
_RANK = {"error": 0, "fail": 0, "warn": 1}  # failed nodes first, then warnings, then the rest in run order
_TONES = {"success": "ok", "pass": "ok", "error": "bad", "fail": "bad", "warn": "warn", "skipped": "off"}
_TONES |= {"cancelled": "off", "queued": "run", "starting": "run", "running": "run"}
_CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1c2331}h1{font-size:1.4em}"
    "h2{font-size:1.1em;margin-top:1.6em}table{border-collapse:collapse}"
    "th,td{border:1px solid #d5dae1;padding:4px 8px;text-align:left;vertical-align:top}"
    "thead th,.facts th{background:#f3f5f8}.msg{white-space:pre-wrap;font-family:monospace}"
    ".ok{color:#137a55}.bad{color:#c4202d;font-weight:600}.warn{color:#a15c00}.off{color:#68727f}"
    ".run{color:#2560b8}.note{color:#68727f}"
)
# No script, no outside resource, no framing: a value that slipped past escaping still could not run.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def page(status: int, title: str, body: str) -> web.Response:
    """Answer a self-contained HTML page (inline CSS only, no script).

    :param status: HTTP status.
    :param title: The page title, as plain text (escaped here).
    :param body: The body's HTML, every value in it already escaped.
    :return: The response.
    """
    doc = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body>{body}</body></html>\n"
    )
    return web.Response(status=status, text=doc, content_type="text/html", headers=_PAGE_HEADERS)


def page_error(status: int, message: str = "There is no such page on this emulator.") -> web.Response:
    """Answer an error as an HTML page, for browsers following a link.

    :param status: HTTP status (404, 405, 421...).
    :param message: What went wrong, as plain text.
    :return: The response.
    """
    title = f"{status} {HTTPStatus(status).phrase}"
    return page(status, title, f"<h1>{_e(title)}</h1><p>{_e(message)}</p>")


def _tone(status: object) -> str:
    return f'<span class="{_TONES.get(str(status).lower(), "")}">{_e(status)}</span>'


def _when(value: str | None, missing: str = "not yet") -> str:
    # the API's "2026-01-05 10:00:00.123456+00:00", to the second
    return _e(f"{value[:19]} UTC") if value else f'<span class="note">{_e(missing)}</span>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """Rows of already-escaped cells under a header of plain text."""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    attrs = f' class="{cls}"' if cls else ""
    return f"<table{attrs}><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _facts(pairs: Iterable[tuple[str, str]]) -> str:
    trs = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="facts">{trs}</table>'


def _page_account(request: web.Request) -> int:
    account_id = path_id(request, "account_id")
    if account_id not in state_of(request).accounts:
        raise NotFound
    return account_id


def _same_project(request: web.Request, project_id: int) -> None:
    # a link naming another project than the object's is a broken link: answer it as dbt Cloud would, 404
    if "project_id" in request.match_info and path_id(request, "project_id") != project_id:
        raise NotFound


def _job_path(account_id: int, project_id: int, job_id: int) -> str:
    return f"{PAGE_PREFIX}{account_id}/projects/{project_id}/jobs/{job_id}/"


def _run_path(account_id: int, project_id: int, run_id: int) -> str:
    return f"{PAGE_PREFIX}{account_id}/projects/{project_id}/runs/{run_id}/"


async def run_page(request: web.Request) -> web.StreamResponse:
    """GET /deploy/{account_id}/projects/{project_id}/runs/{run_id}/ (a run's ``href``) and
    /deploy/{account_id}/runs/{run_id}/: the run as a page, with its steps and its nodes.

    :param request: The request; the path names the account, the run and (optionally) its project.
    :raises NotFound: For an unknown account or run, or a project that is not the run's.
    """
    state, account_id = state_of(request), _page_account(request)
    with state.lock:
        run = state.run(account_id, path_id(request, "run_id"))
        _same_project(request, run.project_id)
        data = payloads.run(state, run, {"trigger", "job", "run_steps"})
        steps = state.finished_steps(run) if data["is_complete"] else []
        # run_results.json's default step, as the artifact route picks it: the last one that finished
        results = run.results(steps[-1]) if steps else None
    body = _run_facts(data) + _run_steps(data) + _run_nodes(data, steps[-1].index if steps else 0, results)
    return page(200, f"Run #{run.id} · {data['job']['name']}", body)


def _run_facts(d: dict[str, Any]) -> str:
    trigger, job_id = d["trigger"], d["job_definition_id"]
    missing = "not yet" if d["in_progress"] else "never"
    job_link = _job_path(d["account_id"], d["project_id"], job_id)
    facts = [
        ("Job", f'<a href="{job_link}">{_e(d["job"]["name"])}</a> (#{_e(job_id)})'),
        ("Status", _tone(d["status_humanized"])),
        ("Status message", _e(d["status_message"])),
        ("Trigger", f"{_e(trigger['cause'])} ({_e(trigger['cause_category'])})"),
        ("Created", _when(d["created_at"])),
        ("Started", _when(d["started_at"], missing)),
        ("Finished", _when(d["finished_at"], missing)),
        ("Duration", f"{_e(d['duration_humanized'])} (ran {_e(d['run_duration_humanized'])})"),
        ("Git branch", _e(d["git_branch"])),
        ("Git SHA", f"<code>{_e(d['git_sha'])}</code>" if d["git_sha"] else ""),
        ("dbt version", _e(d["dbt_version"])),
    ]
    shown = [(k, v) for k, v in facts if v]
    return f"<h1>Run #{_e(d['id'])}</h1>" + _facts(shown)


def _run_steps(d: dict[str, Any]) -> str:
    if not d["run_steps"]:
        return '<h2>Steps</h2><p class="note">No step has started yet.</p>'
    rows = [
        (_e(s["index"]), _e(s["name"]), _tone(s["status_humanized"]), _e(s["duration_humanized"]))
        for s in d["run_steps"]
    ]
    return "<h2>Steps</h2>" + _table(("#", "Step", "Status", "Duration"), rows)


def _run_nodes(d: dict[str, Any], step: int, results: list[artifacts.NodeResult] | None) -> str:
    if results is None:
        why = "the run is still going" if d["in_progress"] else "no step of this run wrote it"
        return f'<h2>Nodes</h2><p class="note">No run_results.json: {why}.</p>'
    head = f"<h2>Nodes (run_results.json of step {step})</h2>"
    if not results:
        return head + '<p class="note">This step ran no node.</p>'
    ordered = sorted(results, key=lambda r: _RANK.get(r.status, 2))
    counts = Counter(r.status for r in ordered)
    summary = ", ".join(f"{n} {_tone(status)}" for status, n in counts.items())
    # each row is the node's entry of run_results.json as GET .../artifacts/run_results.json serves it
    entries = [artifacts.run_result(r) for r in ordered[:MAX_PAGE_NODES]]
    rows = [
        (
            f"<code>{_e(r['unique_id'])}</code>",
            _e(r["unique_id"].split(".", 1)[0]),  # dbt's unique ids start with the resource type
            _tone(r["status"]),
            _e(f"{r['execution_time']:.2f} s"),
            f'<div class="msg">{_e(r["message"])}</div>',
        )
        for r in entries
    ]
    more = len(ordered) - len(rows)
    tail = f'<p class="note">{more} more nodes are not shown: read run_results.json.</p>' if more > 0 else ""
    heads = ("Node", "Resource type", "Status", "Execution time", "Message")
    return f"{head}<p>{len(ordered)} nodes: {summary}</p>" + _table(heads, rows, "nodes") + tail


async def job_page(request: web.Request) -> web.StreamResponse:
    """GET /deploy/{account_id}/projects/{project_id}/jobs/{job_id}/ (``api.urls.job_url``): the job and
    its latest runs.

    :param request: The request; the path names the account, the job's project and the job.
    :raises NotFound: For an unknown account or job, or a project that is not the job's.
    """
    state, account_id = state_of(request), _page_account(request)
    with state.lock:
        job = state.job(account_id, path_id(request, "job_id"))
        project = state.project_of_job(job)
        _same_project(request, int(project["id"]))
        env, now = state.environments[job.environment_id], state.clock.now()
        latest = sorted((r for r in state.runs.values() if r.job_id == job.id), key=lambda r: -r.id)
        runs = [(r, r.view(now)[0]) for r in latest[:MAX_PAGE_RUNS]]
    facts = [
        ("Project", f"{_e(project['name'])} (#{_e(project['id'])})"),
        ("Environment", f"{_e(env['name'])} (#{_e(env['id'])})"),
        ("Type", _e(job.job_type)),
        ("Schedule", f"<code>{_e(job.cron)}</code>"),
        ("Commands", "<br>".join(f"<code>{_e(c)}</code>" for c in job.execute_steps)),
        ("Generates docs", "yes" if job.generate_docs else "no"),
        ("State", "active" if job.state == 1 else "deleted"),
    ]
    rows = [
        (
            f'<a href="{_run_path(account_id, r.project_id, r.id)}">#{_e(r.id)}</a>',
            _tone(STATUS_NAMES[status]),
            _e(r.trigger.get("cause")),
            _when(ts(r.created)),
        )
        for r, status in runs
    ]
    table = _table(("Run", "Status", "Trigger", "Created"), rows) if rows else '<p class="note">No runs.</p>'
    body = f"<h1>{_e(job.name)} (job #{_e(job.id)})</h1>" + _facts(facts) + "<h2>Latest runs</h2>" + table
    return page(200, f"Job #{job.id} · {job.name}", body)
