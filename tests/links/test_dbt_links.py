from __future__ import annotations

from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.links.dbt import (
    DbtCloudJobLink,
    DbtCloudRunJobOperatorLink,
    job_page_url,
    publish_run_links,
    run_page_url,
)
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperatorLink as ReExported

RUN = RunState(7, account_id=12, project_id=34, job_id=56)


def no_connection():
    raise AirflowNotFoundException("The conn_id `dbt_cloud_default` isn't defined")


def test_an_href_on_the_connections_host_is_the_link():
    run = RunState(7, account_id=12, project_id=34, job_id=56, href="https://emea.dbt.com/deploy/12/x/7/")
    assert run_page_url(run, lambda: "https://emea.dbt.com") == "https://emea.dbt.com/deploy/12/x/7/"
    assert job_page_url(run, lambda: "https://emea.dbt.com") == (
        "https://emea.dbt.com/deploy/12/projects/34/jobs/56/"
    )


@pytest.mark.parametrize(
    "href", ["javascript:alert(document.cookie)", "https://evil.example/deploy/12/projects/34/runs/7/"]
)
def test_a_script_or_foreign_href_never_becomes_the_link(href):
    run = RunState(7, account_id=12, project_id=34, job_id=56, href=href)
    ti = mock.Mock()
    publish_run_links(ti, run, lambda: "https://emea.dbt.com")
    assert ti.xcom_push.call_args_list == [
        mock.call(key="job_run_url", value="https://emea.dbt.com/deploy/12/projects/34/runs/7/"),
        mock.call(key="job_run_id", value=7),
        mock.call(key="job_url", value="https://emea.dbt.com/deploy/12/projects/34/jobs/56/"),
    ]


def test_without_a_connection_only_a_plain_web_href_is_linked():
    """A user's test that patches the hook may have no connection; the task must not fail on the link."""
    run = RunState(7, account_id=12, project_id=34, job_id=56, href="https://emea.dbt.com/deploy/12/x/7/")
    assert run_page_url(run, no_connection) == "https://emea.dbt.com/deploy/12/x/7/"
    assert job_page_url(run, no_connection) == "https://emea.dbt.com/deploy/12/projects/34/jobs/56/"
    assert job_page_url(run, mock.Mock) == "https://emea.dbt.com/deploy/12/projects/34/jobs/56/"
    script = RunState(7, account_id=12, project_id=34, job_id=56, href="javascript:alert(1)")
    assert run_page_url(script, no_connection) is None
    assert job_page_url(script, no_connection) is None


@pytest.mark.parametrize(
    "host", ["https://emea.dbt.com", "https://ab123.us1.dbt.com", "http://127.0.0.1:8080"]
)
def test_urls_follow_the_connection_host(host):
    assert run_page_url(RUN, lambda: host) == f"{host}/deploy/12/projects/34/runs/7/"
    assert job_page_url(RUN, lambda: host) == f"{host}/deploy/12/projects/34/jobs/56/"


def test_a_run_that_says_too_little_gets_no_job_link():
    assert job_page_url(RunState(7, href="https://h/r/7/"), no_connection) is None
    assert run_page_url(RunState(7), lambda: "https://h", account_id=None) is None


def test_publish_pushes_the_official_keys_and_the_job_page():
    ti = mock.Mock()
    page = publish_run_links(ti, RUN, lambda: "https://h", account_id=None)
    assert page == "https://h/deploy/12/projects/34/runs/7/"
    assert ti.xcom_push.call_args_list == [
        mock.call(key="job_run_url", value=page),
        mock.call(key="job_run_id", value=7),
        mock.call(key="job_url", value="https://h/deploy/12/projects/34/jobs/56/"),
    ]


def test_links_read_xcom_only():
    key = mock.Mock()
    with mock.patch("airflow_dbtcloud.links.dbt.XCom.get_value", return_value="https://u/") as get_value:
        assert DbtCloudRunJobOperatorLink().get_link(mock.Mock(), ti_key=key) == "https://u/"
        assert get_value.call_args.kwargs == {"key": "job_run_url", "ti_key": key}
        DbtCloudJobLink().get_link(mock.Mock(), ti_key=key)
        assert get_value.call_args.kwargs["key"] == "job_url"
    with mock.patch("airflow_dbtcloud.links.dbt.XCom.get_value", return_value=None):
        assert DbtCloudJobLink().get_link(mock.Mock(), ti_key=key) == ""


@pytest.mark.parametrize("value", ["javascript:alert(1)", "data:text/html,x", "//evil.example/", 7, {"a": 1}])
def test_a_link_shows_nothing_for_an_xcom_value_that_is_not_a_web_address(value):
    with mock.patch("airflow_dbtcloud.links.dbt.XCom.get_value", return_value=value):
        assert DbtCloudRunJobOperatorLink().get_link(mock.Mock(), ti_key=mock.Mock()) == ""


def test_link_names_and_xcom_keys():
    assert DbtCloudRunJobOperatorLink().name == "dbt Cloud Job Run"
    assert DbtCloudJobLink().name == "dbt Cloud Job"
    assert DbtCloudRunJobOperatorLink().xcom_key == "_link_DbtCloudRunJobOperatorLink"
    assert ReExported is DbtCloudRunJobOperatorLink
    assert {type(link) for link in DbtCloudRunJobOperator.operator_extra_links} == {
        DbtCloudRunJobOperatorLink,
        DbtCloudJobLink,
    }
