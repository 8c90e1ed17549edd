"""Ids and artifact paths are checked before any request: what passes, what is refused, and the message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from airflow_dbtcloud._transport.errors import DbtCloudConfigError
from airflow_dbtcloud.api import accounts, artifacts, jobs, projects, runs
from airflow_dbtcloud.api.ids import artifact_path, optional_id, require_id
from airflow_dbtcloud.api.paths import v2, v3


@pytest.mark.parametrize(
    ("value", "expected"),
    [(42, 42), ("42", 42), (" 42 ", 42), (42.0, 42), (True + 41, 42)],
)
def test_int_like_ids_are_accepted_as_ints(value, expected):
    assert require_id("run_id", value) == expected
    assert type(require_id("run_id", value)) is int


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        "4 2",
        "-5",
        "+5",
        "0",
        "4.2",
        "²",  # a digit to str.isdigit, but not to int()
        "٤٢",  # Arabic-Indic digits: int() reads them, a URL path should not carry them
        True,
        False,
        0,
        -3,
        4.5,
        float("nan"),
        None,
        [1],
        Decimal("7"),
        b"7",
    ],
)
def test_other_ids_are_refused_with_the_name_and_the_value(value):
    with pytest.raises(DbtCloudConfigError) as raised:
        require_id("run_id", value)
    assert str(raised.value) == f"run_id must be a positive integer, got {value!r}"
    assert isinstance(raised.value, ValueError)


def test_a_long_value_is_shortened_in_the_message():
    with pytest.raises(DbtCloudConfigError) as raised:
        require_id("job_id", "x" * 10_000)
    assert len(str(raised.value)) < 120


def test_optional_id_keeps_none_and_checks_the_rest():
    assert optional_id("account_id", None) is None
    assert optional_id("account_id", "7") == 7
    with pytest.raises(DbtCloudConfigError, match="account_id must be a positive integer, got -1"):
        optional_id("account_id", -1)


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("manifest.json", ("manifest.json",)),
        ("compiled/jaffle shop/models/orders.sql", ("compiled", "jaffle shop", "models", "orders.sql")),
        ("a..b/c...json", ("a..b", "c...json")),
    ],
)
def test_plain_relative_artifact_paths_pass(path, segments):
    assert artifact_path(path) == segments


@pytest.mark.parametrize(
    "path",
    [
        "../../../../v3/accounts/1/users",
        "compiled/../../../runs",
        "..",
        "./manifest.json",
        "/etc/passwd",
        "//evil.example/x",
        "~/x",
        "C:/x.json",
        "c:x.json",
        "compiled\\..\\x",
        "a//b",
        "a/",
        "a\nb",
        "a\x00b",
        "",
        "   ",
        None,
        7,
    ],
)
def test_artifact_paths_that_could_leave_the_artifacts_endpoint_are_refused(path):
    with pytest.raises(DbtCloudConfigError, match=r"[Aa]rtifact path"):
        artifact_path(path)


def test_account_id_is_checked_and_converted_in_every_path():
    assert v2("7", "runs", 5) == "/api/v2/accounts/7/runs/5/"
    assert v3(7.0, "projects") == "/api/v3/accounts/7/projects/"
    assert v2(None) == "/api/v2/accounts/"
    for bad in ("7/../../v3", "7?x=1", 0, None):
        with pytest.raises(DbtCloudConfigError, match="account_id must be a positive integer"):
            v2(bad, "runs")
        with pytest.raises(DbtCloudConfigError, match="account_id must be a positive integer"):
            v3(bad)


@pytest.mark.parametrize("segment", ["..", ".", ""])
def test_a_dot_segment_never_reaches_a_path(segment):
    with pytest.raises(DbtCloudConfigError, match="cannot be a segment"):
        v2(1, "runs", segment, "cancel")


def _refused(flow, message):
    with pytest.raises(DbtCloudConfigError, match=message):
        next(flow)


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (lambda: runs.get_run(1, "abc"), "run_id must be a positive integer, got 'abc'"),
        (lambda: runs.cancel_run(1, 0), "run_id must be a positive integer, got 0"),
        (lambda: runs.retry_run(1, True), "run_id must be a positive integer, got True"),
        (lambda: runs.get_step(1, 2.5), "step_id must be a positive integer, got 2.5"),
        (lambda: runs.list_runs(1, job_definition_id="x"), "job_definition_id must be"),
        (lambda: runs.get_runs("1x"), "account_id must be a positive integer, got '1x'"),
        (lambda: jobs.get_job(1, -4), "job_id must be a positive integer, got -4"),
        (lambda: jobs.trigger_run(1, -4, {"cause": "c"}), "job_id must be a positive integer, got -4"),
        (lambda: jobs.rerun_job(1, "../9"), "job_id must be a positive integer, got '../9'"),
        (lambda: jobs.list_jobs(1, project_id="p"), "project_id must be a positive integer"),
        (lambda: jobs.list_jobs(1, environment_id=0), "environment_id must be a positive integer"),
        (lambda: projects.get_project(1, "p"), "project_id must be"),
        (lambda: projects.list_environments(1, None), "project_id must be"),
        (lambda: projects.get_environment(1, 2, "e"), "environment_id must be"),
        (lambda: projects.get_account_connection(1, -1), "connection_id must be"),
        (lambda: accounts.get_account(None), "account_id must be a positive integer, got None"),
        (lambda: artifacts.list_artifacts(1, 5, step=0), "step must be a positive integer, got 0"),
        (lambda: artifacts.get_artifact(1, "x", "manifest.json"), "run_id must be"),
        (lambda: artifacts.get_artifact(1, 5, "../../../../v3/accounts/1/users"), "[Aa]rtifact path"),
        (lambda: artifacts.get_job_artifact(1, "9.5", "manifest.json"), "job_id must be"),
        (lambda: artifacts.get_job_artifact(1, 9, "/manifest.json"), "[Aa]rtifact path"),
        (lambda: artifacts.get_artifacts(1, 5, ["manifest.json", "../x"]), "[Aa]rtifact path"),
    ],
)
def test_flows_refuse_bad_ids_and_paths_before_their_first_request(flow, message):
    _refused(flow(), message)


def test_flows_send_templated_ids_as_integers():
    assert next(runs.get_run("1", "5")).path == "/api/v2/accounts/1/runs/5/"
    assert next(jobs.trigger_run("1", "3", {"cause": "c"})).resource == "job 3 in account 1"
    listed = next(jobs.list_jobs(1, project_id="100", environment_id=200.0))
    assert dict(listed.params)["project_id"] == "100"
    assert dict(listed.params)["environment_id"] == "200"
    assert next(artifacts.list_artifacts(1, 5, step="2")).params == (("step", "2"),)
