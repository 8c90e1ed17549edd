"""API flows, stepped by hand: the exact requests they yield and how they read answers."""

from __future__ import annotations

import pytest

from airflow_dbtcloud._transport.errors import DbtCloudConfigError
from airflow_dbtcloud.api import artifacts, jobs, runs, urls
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus, classify, status_name


def first_request(flow):
    return next(flow)


def test_trigger_run_is_marked_as_starting_a_run():
    request = first_request(jobs.trigger_run(1, 3, {"cause": "c"}))
    assert (request.method, request.path, request.json, request.starts_run) == (
        "POST",
        "/api/v2/accounts/1/jobs/3/run/",
        {"cause": "c"},
        True,
    )


@pytest.mark.parametrize(
    ("flow", "method", "path"),
    [
        (jobs.rerun_job(1, 3), "POST", "/api/v2/accounts/1/jobs/3/rerun/"),
        (runs.retry_run(1, 5), "POST", "/api/v2/accounts/1/runs/5/retry/"),
    ],
)
def test_other_run_starting_requests(flow, method, path):
    request = first_request(flow)
    assert (request.method, request.path, request.starts_run) == (method, path, True)


def test_cancel_is_safe_to_repeat():
    request = first_request(runs.cancel_run(1, 5))
    assert (request.method, request.path, request.starts_run) == (
        "POST",
        "/api/v2/accounts/1/runs/5/cancel/",
        False,
    )


def test_list_runs_query():
    request = first_request(
        runs.list_runs(1, ["trigger"], job_definition_id=3, order_by="-id", statuses=[1, 2, 3], max_results=5)
    )
    assert request.params == (
        ("job_definition_id", "3"),
        ("order_by", "-id"),
        ("status__in", "[1, 2, 3]"),
        ("include_related", '["trigger"]'),
        ("limit", "5"),
        ("offset", "0"),
    )


def test_artifact_paths_keep_slashes_and_quote_segments():
    request = first_request(artifacts.get_artifact(1, 5, "compiled/my proj/orders.sql", step=2))
    assert request.path == "/api/v2/accounts/1/runs/5/artifacts/compiled/my%20proj/orders.sql"
    assert request.params == (("step", "2"),)


def test_streamed_artifact_request_leaves_the_body_unread():
    request = artifacts.artifact_request(1, 5, "manifest.json", stream=True)
    assert (request.method, request.path, request.stream) == (
        "GET",
        "/api/v2/accounts/1/runs/5/artifacts/manifest.json",
        True,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cause": ""}, "non-empty"),
        ({"cause": "x" * 256}, "at most 255"),
        ({"cause": "c", "steps_override": []}, "non-empty list"),
        ({"cause": "c", "steps_override": ["dbt run", "rm -rf /"]}, "starting with 'dbt '"),
        ({"cause": "c", "additional_run_config": {"threads_override": 0}}, "integer >= 1"),
        ({"cause": "c", "additional_run_config": {"timeout_seconds_override": -1}}, "integer >= 0"),
        ({"cause": "c", "additional_run_config": {"git_sha": "main"}}, "hexadecimal"),
        ({"cause": "c", "additional_run_config": {"target_name_override": " "}}, "must not be empty"),
        ({"cause": "c", "additional_run_config": {"cause": "other"}}, "repeats \\['cause'\\]"),
        (
            {"cause": "c", "schema_override": "a", "additional_run_config": {"schema_override": "b"}},
            "repeats",
        ),
        ({"cause": "c", "additional_run_config": {"threads_override": True}}, "must be int"),
        ({"cause": "c", "additional_run_config": {"generate_docs_override": "yes"}}, "must be bool"),
        ({"cause": "c", "additional_run_config": {"git_branch": 5}}, "must be str"),
    ],
)
def test_trigger_body_validation(kwargs, message):
    with pytest.raises(DbtCloudConfigError, match=message):
        jobs.trigger_body(**kwargs)


def test_unknown_trigger_fields_pass_with_a_warning():
    with pytest.warns(UserWarning, match="'new_field' is not one this client knows"):
        assert jobs.trigger_body("c", additional_run_config={"new_field": 1}) == {
            "cause": "c",
            "new_field": 1,
        }


def test_trigger_body_keeps_only_set_fields():
    body = jobs.trigger_body(
        "c",
        ("dbt build",),
        None,
        {"git_branch": "main", "threads_override": 4, "generate_docs_override": False},
    )
    assert body == {
        "cause": "c",
        "steps_override": ["dbt build"],
        "git_branch": "main",
        "threads_override": 4,
        "generate_docs_override": False,
    }


def test_exactly_one_picks_the_exact_name_across_pages():
    pages = [[{"id": 1, "name": "p2"}], [{"id": 2, "name": "p"}, {"id": 3, "name": "P"}]]
    assert jobs.exactly_one(pages, "p", "Found {count} projects")["id"] == 2


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([[{"id": 1, "name": "x"}]], "Found 0 projects with name `p`."),
        ([[{"name": "p"}], [{"name": "p"}]], "Found 2"),
    ],
)
def test_exactly_one_refuses_none_or_several(pages, message):
    with pytest.raises(jobs.DbtCloudResourceLookupError, match=message):
        jobs.exactly_one(pages, "p", "Found {count} projects with name `p`.")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(1, "pending"), (2, "pending"), (3, "pending"), (10, "success"), (20, "error"), (30, "cancelled")],
)
def test_classify(status, outcome):
    assert classify(status) == outcome


def test_classify_rejects_unknown():
    with pytest.raises(ValueError, match="4 is not a valid DbtCloudJobRunStatus"):
        classify(4)


def test_check_is_valid_uses_the_enum_message():
    with pytest.raises(ValueError, match=r"^42 is not a valid DbtCloudJobRunStatus$"):
        DbtCloudJobRunStatus.check_is_valid([10, 42])


def test_is_terminal_refuses_unknown_values():
    with pytest.raises(ValueError):
        DbtCloudJobRunStatus.is_terminal(42)


def test_status_name():
    assert status_name(3) == "RUNNING"
    assert status_name(99) == "99"


def test_urls():
    assert (
        urls.run_url("https://emea.dbt.com/", 1, 100, 5)
        == "https://emea.dbt.com/deploy/1/projects/100/runs/5/"
    )
    assert urls.run_url("https://emea.dbt.com", 1, None, 5) == "https://emea.dbt.com/deploy/1/runs/5/"
    assert (
        urls.job_url("https://x.us1.dbt.com", 1, 100, 3)
        == "https://x.us1.dbt.com/deploy/1/projects/100/jobs/3/"
    )
