"""The OpenLineage run facet that describes a dbt Cloud job run, and its JSON Schema.

Imported only when OpenLineage is installed (:mod:`airflow_dbtcloud.utils.openlineage` imports it lazily).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attr
from openlineage.client.facet_v2 import RunFacet

from airflow_dbtcloud import __version__
from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.urls import web_url

__all__ = [
    "DBT_CLOUD_RUN_FACET",
    "DBT_CLOUD_RUN_FACET_SCHEMA",
    "DBT_CLOUD_RUN_FACET_SCHEMA_URL",
    "DbtCloudRunRunFacet",
]

#: The key of the facet in a run's ``facets``.
DBT_CLOUD_RUN_FACET = "dbt_cloud_run"

#: Where the facet's schema is published; the schema itself is :data:`DBT_CLOUD_RUN_FACET_SCHEMA`.
DBT_CLOUD_RUN_FACET_SCHEMA_URL = (
    f"https://pypi.org/project/airflow-dbtcloud/{__version__}/DbtCloudRunRunFacet.json"
    "#/$defs/DbtCloudRunRunFacet"
)

_NULLABLE_INT = {"type": ["integer", "null"]}
_NULLABLE_TEXT = {"type": ["string", "null"]}

#: JSON Schema (draft 2020-12) of the facet, in the layout of OpenLineage's own facet schemas.
DBT_CLOUD_RUN_FACET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": DBT_CLOUD_RUN_FACET_SCHEMA_URL.split("#", 1)[0],
    "$defs": {
        "DbtCloudRunRunFacet": {
            "allOf": [
                {"$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"},
                {
                    "type": "object",
                    "properties": {
                        "runId": {"type": "integer", "description": "The dbt Cloud run id."},
                        "accountId": {**_NULLABLE_INT, "description": "The dbt Cloud account."},
                        "projectId": {**_NULLABLE_INT, "description": "The project the run belongs to."},
                        "environmentId": {**_NULLABLE_INT, "description": "The environment it ran in."},
                        "jobId": {**_NULLABLE_INT, "description": "The job definition it is a run of."},
                        "jobName": {**_NULLABLE_TEXT, "description": "The job's name, when known."},
                        "runUrl": {**_NULLABLE_TEXT, "format": "uri", "description": "The run's page."},
                        "status": {**_NULLABLE_TEXT, "description": "dbt Cloud's word for the status."},
                        "statusCode": {**_NULLABLE_INT, "description": "The status code (10 success)."},
                        "gitBranch": {**_NULLABLE_TEXT, "description": "The branch the run checked out."},
                        "gitSha": {**_NULLABLE_TEXT, "description": "The commit the run checked out."},
                    },
                    "required": ["runId"],
                    "additionalProperties": False,
                },
            ],
            "type": "object",
        }
    },
    "type": "object",
    "properties": {DBT_CLOUD_RUN_FACET: {"$ref": "#/$defs/DbtCloudRunRunFacet"}},
}


@attr.define
class DbtCloudRunRunFacet(RunFacet):
    """Which dbt Cloud run an OpenLineage run stands for, where to see it, and how it stands.

    :param runId: The dbt Cloud run id.
    :param accountId: The account.
    :param projectId: The project.
    :param environmentId: The environment.
    :param jobId: The job definition.
    :param jobName: The job's name, when the answer included the job.
    :param runUrl: The run's page in dbt Cloud.
    :param status: dbt Cloud's word for the status, e.g. "Success".
    :param statusCode: The status code (1 queued, 2 starting, 3 running, 10 success, 20 error, 30 cancelled).
    :param gitBranch: The branch the run checked out.
    :param gitSha: The commit the run checked out.
    """

    runId: int
    accountId: int | None = attr.field(default=None)
    projectId: int | None = attr.field(default=None)
    environmentId: int | None = attr.field(default=None)
    jobId: int | None = attr.field(default=None)
    jobName: str | None = attr.field(default=None)
    runUrl: str | None = attr.field(default=None)
    status: str | None = attr.field(default=None)
    statusCode: int | None = attr.field(default=None)
    gitBranch: str | None = attr.field(default=None)
    gitSha: str | None = attr.field(default=None)

    # Ids, codes and the URL are not secrets: the redactor need not walk them.
    _additional_skip_redact: ClassVar[list[str]] = [
        "runId",
        "accountId",
        "projectId",
        "environmentId",
        "jobId",
        "statusCode",
    ]

    @staticmethod
    def _get_schema() -> str:
        return DBT_CLOUD_RUN_FACET_SCHEMA_URL

    @classmethod
    def from_run(
        cls, run: RunState, *, account_id: int | None = None, job_name: str | None = None
    ) -> DbtCloudRunRunFacet:
        """Describe a run as the API gave it.

        :param run: The run.
        :param account_id: The account, when the run does not say.
        :param job_name: The job's name, when known.
        :return: The facet.
        """
        return cls(
            runId=run.id,
            accountId=run.account_id if run.account_id is not None else account_id,
            projectId=run.project_id,
            environmentId=run.environment_id,
            jobId=run.job_id,
            jobName=job_name,
            runUrl=web_url(run.href),  # never a javascript: or other non-web address
            status=run.label if run.status is not None or run.status_humanized else None,
            statusCode=run.status,
            gitBranch=run.git_branch,
            gitSha=run.git_sha,
        )
