from __future__ import annotations

from unittest import mock

import pytest

from airflow_dbtcloud.links.dbt import DbtCloudJobLink, DbtCloudRunJobOperatorLink, job_page_url, run_page_url
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperatorLink as ReExported

RUN = {"id": 7, "account_id": 12, "project_id": 34, "job_definition_id": 56}


def test_run_link_prefers_href():
    assert run_page_url("https://cloud.getdbt.com", {**RUN, "href": "https://own/"}) == "https://own/"


@pytest.mark.parametrize(
    "host", ["https://emea.dbt.com", "https://ab123.us1.dbt.com", "http://127.0.0.1:8080"]
)
def test_urls_follow_the_connection_host(host):
    assert run_page_url(host, RUN) == f"{host}/deploy/12/projects/34/runs/7/"
    assert job_page_url(host, RUN) == f"{host}/deploy/12/projects/34/jobs/56/"


def test_links_read_xcom_only():
    key = mock.Mock()
    with mock.patch("airflow_dbtcloud.links.dbt.XCom.get_value", return_value="https://u/") as get_value:
        assert DbtCloudRunJobOperatorLink().get_link(mock.Mock(), ti_key=key) == "https://u/"
        assert get_value.call_args.kwargs == {"key": "job_run_url", "ti_key": key}
        DbtCloudJobLink().get_link(mock.Mock(), ti_key=key)
        assert get_value.call_args.kwargs["key"] == "job_url"
    with mock.patch("airflow_dbtcloud.links.dbt.XCom.get_value", return_value=None):
        assert DbtCloudJobLink().get_link(mock.Mock(), ti_key=key) == ""


def test_link_names_and_xcom_keys():
    assert DbtCloudRunJobOperatorLink().name == "dbt Cloud Job Run"
    assert DbtCloudJobLink().name == "dbt Cloud Job"
    assert DbtCloudRunJobOperatorLink().xcom_key == "_link_DbtCloudRunJobOperatorLink"
    assert ReExported is DbtCloudRunJobOperatorLink
    assert {type(link) for link in DbtCloudRunJobOperator.operator_extra_links} == {
        DbtCloudRunJobOperatorLink,
        DbtCloudJobLink,
    }
