"""The bad-input table: malformed values for public parameters, answers of dbt Cloud the client cannot
use, and what each one gets.

``tests/test_bad_inputs.py`` runs every case against the emulator and checks the error class, that
the message names the problem, and whether anything reached dbt Cloud; it also checks that the table
in ``docs/reliability.md`` is the one these cases produce, so the page cannot drift from the code
(regenerate it with ``UPDATE_RELIABILITY_DOC=1 .venv/bin/pytest tests/test_bad_inputs.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TRAVERSAL = "../../../../v3/accounts/1/users"


@dataclass(frozen=True)
class Case:
    """One bad input.

    :param area: What takes it (the connection, a hook method, an operator).
    :param parameter: The parameter (or connection field) given the bad value.
    :param shown: The bad value as the table shows it.
    :param run: Makes the call; gets the emulator's connection (a dict to change) and a work directory.
    :param error: The exception class expected.
    :param names: Words the message must contain (the parameter, the value, or the problem).
    :param local: Whether it must be refused before any request reaches dbt Cloud.
    :param prepare: Sets the emulator up before the call (a fault, for an answer the client cannot use);
        gets the emulator.
    :param config: An emulator configuration of the case's own, for a state the shared emulator cannot
        be put in (two jobs of one name); None uses the shared emulator.
    """

    area: str
    parameter: str
    shown: str
    run: Callable[[dict[str, Any], str], Any]
    error: str
    names: tuple[str, ...]
    local: bool = True
    prepare: Callable[[Any], Any] | None = None
    config: dict[str, Any] | None = None


def _with_connection(conn: dict[str, Any], **fields: Any) -> None:
    changed = {**conn, **fields}
    os.environ["AIRFLOW_CONN_DBT_CLOUD_DEFAULT"] = json.dumps(changed)


def _hook(conn: dict[str, Any], **fields: Any) -> Any:
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

    _with_connection(conn, **fields)
    return DbtCloudHook(retry_limit=1)


def _extra(conn: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"extra": json.dumps({**json.loads(conn.get("extra") or "{}"), **extra})}


class _TaskInstance:
    dag_id, run_id, task_id, map_index, try_number, max_tries = "d", "r", "t", -1, 1, 0

    def xcom_push(self, key: str, value: Any) -> None:
        """Forget the value: the cases look at errors only.

        :param key: Its key.
        :param value: Its value.
        """


def _run_operator(conn: dict[str, Any], **kwargs: Any) -> Any:
    from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator

    _with_connection(conn)
    operator = DbtCloudRunJobOperator(task_id="t", wait_for_termination=False, **kwargs)
    return operator.execute({"ti": _TaskInstance()})


def _artifact_operator(conn: dict[str, Any], workdir: str, **kwargs: Any) -> Any:
    from airflow_dbtcloud.operators.dbt import DbtCloudGetJobRunArtifactOperator

    _with_connection(conn)
    operator = DbtCloudGetJobRunArtifactOperator(task_id="t", run_id=1, output_dir=workdir, **kwargs)
    return operator.execute({"ti": _TaskInstance()})


def _escaping_link(conn: dict[str, Any], workdir: str) -> Any:
    os.symlink("/tmp", os.path.join(workdir, "out"))
    return _artifact_operator(conn, workdir, path="run_results.json", output_file_name="out/x.json")


def _sensor_poke(conn: dict[str, Any], **kwargs: Any) -> Any:
    from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor

    _with_connection(conn)
    return DbtCloudJobRunSensor(task_id="s", **kwargs).poke({"ti": _TaskInstance()})


def _watcher(**kwargs: Any) -> Any:
    from airflow_dbtcloud.triggers.dbt import DbtCloudJobRunEventTrigger

    return DbtCloudJobRunEventTrigger(**kwargs)


def _answer(route: str, **fault: Any) -> Callable[[Any], Any]:
    """Make every answer of ``route`` a bad one (an emulator fault).

    :param route: The emulator's route name.
    :param fault: The fault's fields (``status``, ``html``, ``kind``).
    """
    return lambda emu: emu.add_fault(route=route, **fault)


#: Two jobs named alike in one environment: looking a job up by name cannot pick one.
TWIN_JOBS = {
    "jobs": [
        {"id": 300, "name": "Daily build", "environment_id": 200},
        {"id": 304, "name": "Daily build", "environment_id": 200},
    ]
}
#: What a status fault with ``status=200`` answers: the error envelope, so ``data`` is null.
NULL_DATA = '200, "data": null'


CONFIG = "DbtCloudConfigError"
CASES: list[Case] = [
    # The connection
    Case(
        "connection",
        "password (token)",
        "''",
        lambda c, _: _hook(c, password="").get_job_run(1),
        CONFIG,
        ("no API token",),
    ),
    Case(
        "connection",
        "password (token)",
        "'   '",
        lambda c, _: _hook(c, password="   ").get_job_run(1),
        CONFIG,
        ("no API token",),
    ),
    Case(
        "connection",
        "password (token)",
        "missing",
        lambda c, _: _hook(c, password=None).get_job_run(1),
        CONFIG,
        ("no API token",),
    ),
    Case(
        "connection",
        "host",
        "'https://exa mple.com'",
        lambda c, _: _hook(c, host="https://exa mple.com").get_job_run(1),
        CONFIG,
        ("not a valid host name",),
    ),
    Case(
        "connection",
        "host",
        "'http://cloud.getdbt.com'",
        lambda c, _: _hook(c, host="http://cloud.getdbt.com").get_job_run(1),
        CONFIG,
        ("plain http", "clear text"),
    ),
    Case(
        "connection",
        "host",
        "'https://u:p@cloud.getdbt.com'",
        lambda c, _: _hook(c, host="https://u:p@cloud.getdbt.com").get_job_run(1),
        CONFIG,
        ("user info",),
    ),
    Case(
        "connection",
        "extra ca_bundle",
        "'/nope/ca.pem'",
        lambda c, _: _hook(c, **_extra(c, ca_bundle="/nope/ca.pem")).get_job_run(1),
        CONFIG,
        ("ca_bundle", "does not exist"),
    ),
    Case(
        "connection",
        "login (account id)",
        "'acme'",
        lambda c, _: _hook(c, login="acme").get_job_run(1),
        CONFIG,
        ("login", "positive integer", "'acme'"),
    ),
    Case(
        "connection",
        "login (account id)",
        "'-5'",
        lambda c, _: _hook(c, login="-5").get_job_run(1),
        CONFIG,
        ("login", "positive integer", "'-5'"),
    ),
    Case(
        "connection",
        "extra max_concurrency",
        "0",
        lambda c, _: _hook(c, **_extra(c, max_concurrency=0)).get_job_run(1),
        CONFIG,
        ("max_concurrency",),
    ),
    Case(
        "connection",
        "extra proxies",
        "'http://proxy'",
        lambda c, _: _hook(c, **_extra(c, proxies="http://proxy")).get_job_run(1),
        CONFIG,
        ("proxies", "mapping"),
    ),
    # Hook methods: ids and paths
    Case(
        "hook get_job_run",
        "run_id",
        "'abc'",
        lambda c, _: _hook(c).get_job_run("abc"),
        CONFIG,
        ("run_id", "positive integer", "'abc'"),
    ),
    Case(
        "hook cancel_job_run",
        "run_id",
        "0",
        lambda c, _: _hook(c).cancel_job_run(0),
        CONFIG,
        ("run_id", "positive integer"),
    ),
    Case(
        "hook get_job_run_status",
        "run_id",
        "2.5",
        lambda c, _: _hook(c).get_job_run_status(2.5),
        CONFIG,
        ("run_id", "2.5"),
    ),
    Case(
        "hook trigger_job_run",
        "job_id",
        "-1",
        lambda c, _: _hook(c).trigger_job_run(-1, "cause"),
        CONFIG,
        ("job_id", "-1"),
    ),
    Case(
        "hook trigger_job_run",
        "cause",
        "''",
        lambda c, _: _hook(c).trigger_job_run(300, ""),
        CONFIG,
        ("cause", "non-empty string"),
    ),
    Case(
        "hook trigger_job_run",
        "cause",
        "None",
        lambda c, _: _hook(c).trigger_job_run(300, None),
        CONFIG,
        ("cause", "non-empty string", "NoneType"),
    ),
    Case(
        "hook trigger_job_run",
        "additional_run_config",
        "['ab'] (not a mapping)",
        lambda c, _: _hook(c).trigger_job_run(300, "c", additional_run_config=["ab"]),
        CONFIG,
        ("additional_run_config", "mapping", "list"),
    ),
    Case(
        "hook trigger_job_run",
        "steps_override",
        "['dbt run', 1]",
        lambda c, _: _hook(c).trigger_job_run(300, "c", steps_override=["dbt run", 1]),
        CONFIG,
        ("steps_override", "[1]"),
    ),
    Case(
        "hook trigger_job_run",
        "schema_override",
        "''",
        lambda c, _: _hook(c).trigger_job_run(300, "c", schema_override=""),
        CONFIG,
        ("schema_override", "empty"),
    ),
    Case(
        "hook trigger_job_run",
        "additional_run_config",
        "{'threads_override': '8'}",
        lambda c, _: _hook(c).trigger_job_run(300, "c", additional_run_config={"threads_override": "8"}),
        CONFIG,
        ("threads_override", "int", "'8'"),
    ),
    Case(
        "hook trigger_job_run",
        "additional_run_config",
        "{'git_sha': 'main'}",
        lambda c, _: _hook(c).trigger_job_run(300, "c", additional_run_config={"git_sha": "main"}),
        CONFIG,
        ("git_sha", "hexadecimal", "'main'"),
    ),
    Case(
        "hook trigger_job_run",
        "additional_run_config",
        "{'cause': 'other'}",
        lambda c, _: _hook(c).trigger_job_run(300, "c", additional_run_config={"cause": "other"}),
        CONFIG,
        ("additional_run_config", "'cause'"),
    ),
    Case("hook get_job", "job_id", "True", lambda c, _: _hook(c).get_job(True), CONFIG, ("job_id", "True")),
    Case(
        "hook get_account",
        "account_id",
        "'1/../2'",
        lambda c, _: _hook(c).get_account("1/../2"),
        CONFIG,
        ("account_id", "'1/../2'"),
    ),
    Case(
        "hook list_job_run_artifacts",
        "step",
        "0",
        lambda c, _: _hook(c).list_job_run_artifacts(1, step=0),
        CONFIG,
        ("step", "0"),
    ),
    Case(
        "hook get_job_run_artifact",
        "path",
        repr(TRAVERSAL),
        lambda c, _: _hook(c).get_job_run_artifact(1, TRAVERSAL),
        CONFIG,
        ("Artifact path", "'..'"),
    ),
    Case(
        "hook get_job_run_artifact",
        "path",
        "'/manifest.json'",
        lambda c, _: _hook(c).get_job_run_artifact(1, "/manifest.json"),
        CONFIG,
        ("Artifact path",),
    ),
    Case(
        "hook download_job_run_artifact",
        "path",
        repr("a\\..\\b"),
        lambda c, w: _hook(c).download_job_run_artifact(1, "a\\..\\b", os.path.join(w, "x")),
        CONFIG,
        ("Artifact path", "backslash"),
    ),
    Case(
        "hook get_job",
        "job_id",
        "99999 (no such job)",
        lambda c, _: _hook(c).get_job(99999),
        "DbtCloudNotFoundError",
        ("404", "job 99999"),
        local=False,
    ),
    # Operators
    Case(
        "DbtCloudRunJobOperator",
        "job_id",
        "'abc'",
        lambda c, _: _run_operator(c, job_id="abc"),
        CONFIG,
        ("job_id", "'abc'"),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "job_id",
        "-3",
        lambda c, _: _run_operator(c, job_id=-3),
        CONFIG,
        ("job_id", "-3"),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "steps_override",
        "'dbt run' (not a list)",
        lambda c, _: _run_operator(c, job_id=300, steps_override="dbt run"),
        CONFIG,
        ("steps_override", "list"),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "steps_override",
        "['rm -rf /']",
        lambda c, _: _run_operator(c, job_id=300, steps_override=["rm -rf /"]),
        CONFIG,
        ("steps_override", "'dbt '"),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "schema_override",
        "5",
        lambda c, _: _run_operator(c, job_id=300, schema_override=5),
        CONFIG,
        ("schema_override",),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "threads_override",
        "0",
        lambda c, _: _run_operator(c, job_id=300, threads_override=0),
        CONFIG,
        ("threads_override", ">= 1", "0"),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "generate_docs_override",
        "1",
        lambda c, _: _run_operator(c, job_id=300, generate_docs_override=1),
        CONFIG,
        ("generate_docs_override", "bool", "1"),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "git_branch and additional_run_config",
        "'main' and {'git_branch': 'dev'}",
        lambda c, _: _run_operator(
            c, job_id=300, git_branch="main", additional_run_config={"git_branch": "dev"}
        ),
        CONFIG,
        ("additional_run_config", "'git_branch'", "one place"),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "job_id, job_name",
        "neither given",
        lambda c, _: _run_operator(c, project_name="jaffle_shop", environment_name="Production"),
        "ValueError",
        ("job_id", "job_name"),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "job_name",
        "'nope' (no such job)",
        lambda c, _: _run_operator(
            c, project_name="jaffle_shop", environment_name="Production", job_name="nope"
        ),
        "DbtCloudResourceLookupError",
        ("Found 0 jobs", "nope"),
        local=False,
    ),
    Case(
        "DbtCloudRunJobOperator",
        "job_name",
        "'Daily build' (two jobs of that name)",
        lambda c, _: _run_operator(
            c, project_name="jaffle_shop", environment_name="Production", job_name="Daily build"
        ),
        "DbtCloudResourceLookupError",
        ("Found 2 jobs", "Daily build"),
        local=False,
        config=TWIN_JOBS,
    ),
    Case(
        "DbtCloudGetJobRunArtifactOperator",
        "path",
        "'../x'",
        lambda c, w: _artifact_operator(c, w, path="../x"),
        CONFIG,
        ("Artifact path", "'..' segment"),
    ),
    Case(
        "DbtCloudGetJobRunArtifactOperator",
        "output_file_name",
        "a symlink out of output_dir",
        _escaping_link,
        "ValueError",
        ("outside",),
    ),
    Case(
        "DbtCloudJobRunSensor",
        "run_id",
        "'abc'",
        lambda c, _: _sensor_poke(c, run_id="abc"),
        CONFIG,
        ("run_id", "'abc'"),
    ),
    Case(
        "DbtCloudJobRunSensor",
        "mode with job_id",
        "'reschedule'",
        lambda c, _: _sensor_poke(c, job_id=300, mode="reschedule"),
        "ValueError",
        ("reschedule", "job_id"),
    ),
    Case(
        "DbtCloudJobRunEventTrigger",
        "job_id",
        "'x'",
        lambda c, _: _watcher(job_id="x"),
        CONFIG,
        ("job_id", "'x'"),
    ),
    Case(
        "DbtCloudJobRunEventTrigger",
        "window",
        "500",
        lambda c, _: _watcher(job_id=300, window=500),
        "ValueError",
        ("window", "500"),
    ),
    Case(
        "DbtCloudJobRunEventTrigger",
        "statuses",
        "['nope']",
        lambda c, _: _watcher(job_id=300, statuses=["nope"]),
        "ValueError",
        ("statuses", "'nope'"),
    ),
    # Answers of dbt Cloud the client cannot use (they come back from dbt Cloud, so never local)
    Case(
        "hook get_job_run_status",
        "API answer",
        "200, an HTML page",
        lambda c, _: _hook(c).get_job_run_status(1),
        "DbtCloudPayloadError",
        ("(200)", "not valid JSON", "<html>"),
        local=False,
        prepare=_answer("get_run", status=200, html=True),
    ),
    Case(
        "hook get_job",
        "API answer",
        "200, JSON cut off halfway",
        lambda c, _: _hook(c).get_job(300),
        "DbtCloudTransportError",
        ("truncated", "may have been received"),
        local=False,
        prepare=_answer("get_job", kind="truncate"),
    ),
    Case(
        "hook get_job_run_status",
        "API answer",
        NULL_DATA,
        lambda c, _: _hook(c).get_job_run_status(1),
        "DbtCloudPayloadError",
        ("expected a run object", "None"),
        local=False,
        prepare=_answer("get_run", status=200),
    ),
    Case(
        "hook list_jobs",
        "API answer",
        NULL_DATA,
        lambda c, _: _hook(c).list_jobs(),
        "DbtCloudPayloadError",
        ("'data'", "NoneType", "list was expected"),
        local=False,
        prepare=_answer("list_jobs", status=200),
    ),
    Case(
        "hook get_job",
        "API answer",
        "502, an HTML page",
        lambda c, _: _hook(c).get_job(300),
        "DbtCloudServerError",
        ("502", "proxy", "<html>"),
        local=False,
        prepare=_answer("get_job", status=502, html=True),
    ),
    Case(
        "DbtCloudRunJobOperator",
        "API answer to the run POST",
        "200, an HTML page",
        lambda c, _: _run_operator(c, job_id=300),
        "DbtCloudRunMayExistError",
        ("may have been started", "not valid JSON"),
        local=False,
        prepare=_answer("trigger_run", status=200, html=True),
    ),
]


def render(results: list[tuple[Case, str, str, int]]) -> str:
    """The markdown table of the cases and what each got.

    :param results: ``(case, error class, message, requests that reached the emulator)`` per case.
    """
    lines = [
        "| takes it | parameter | bad value | error | message | reached dbt Cloud |",
        "|---|---|---|---|---|---|",
    ]
    for case, error, message, requests in results:
        short = message if len(message) <= 180 else message[:177] + "..."
        cell = short.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {case.area} | {case.parameter} | `{case.shown}` | `{error}` | {cell} | "
            f"{'no' if requests == 0 else f'yes ({requests} request' + ('s)' if requests > 1 else ')')} |"
        )
    return "\n".join(lines)
