from __future__ import annotations

import pytest

from airflow_dbtcloud.utils.run_request import RunRequest, validate_overrides


def test_valid_overrides_merge_into_body():
    body = validate_overrides(
        steps_override=["dbt build"],
        schema_override="s",
        additional_run_config={"azure_pull_request_id": 5},
        git_branch="main",
        git_sha="abcdef1",
        threads_override=4,
        target_name_override="prod",
        dbt_version_override="1.8",
        generate_docs_override=True,
        timeout_seconds_override=0,
    )
    assert body["steps_override"] == ["dbt build"]
    assert body["azure_pull_request_id"] == 5
    assert body["threads_override"] == 4


def test_unset_values_are_left_out():
    assert validate_overrides(git_branch=None, threads_override=None) == {}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"steps_override": "dbt run"}, "steps_override"),
        ({"steps_override": ["run models"]}, "starting with 'dbt '"),
        ({"steps_override": []}, "steps_override"),
        ({"schema_override": ""}, "schema_override"),
        ({"git_sha": "xyz"}, "git_sha"),
        ({"threads_override": 0}, "threads_override"),
        ({"threads_override": True}, "threads_override"),
        ({"timeout_seconds_override": -1}, "timeout_seconds_override"),
        ({"generate_docs_override": "yes"}, "generate_docs_override"),
        ({"git_branch": "  "}, "git_branch"),
        ({"additional_run_config": {"cause": "x"}}, "repeats"),
        ({"additional_run_config": {"git_branch": "x"}, "git_branch": "y"}, "repeats"),
        ({"additional_run_config": ["x"]}, "must be a dict"),
        ({"bogus_override": 1}, "Unknown override"),
    ],
)
def test_invalid_overrides_name_the_field(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        validate_overrides(**kwargs)


def test_start_kwargs_split_body():
    request = RunRequest(1, "c", "[m]", None, {"steps_override": ["dbt run"], "git_branch": "b"})
    assert request.start_kwargs() == {
        "steps_override": ["dbt run"],
        "schema_override": None,
        "additional_run_config": {"git_branch": "b"},
    }
