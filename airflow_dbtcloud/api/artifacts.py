"""Run artifact endpoints: list, fetch, and stream to storage."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, Batch, Flow, encode_params, single
from airflow_dbtcloud.api.ids import artifact_path, optional_id, require_id
from airflow_dbtcloud.api.paths import v2

__all__ = [
    "artifact_request",
    "download_artifact",
    "get_artifact",
    "get_artifacts",
    "get_job_artifact",
    "job_artifact_request",
    "list_artifacts",
]


def artifact_request(
    account_id: int,
    run_id: int,
    path: str | None,
    step: int | None = None,
    *,
    destination: Any = None,
    stream: bool = False,
) -> ApiRequest:
    """
    Describe a request for a run's artifact list (``path`` None) or one artifact file.

    :param account_id: The account.
    :param run_id: The run.
    :param path: Path under ``target/``; None for the list.
    :param step: The step index (from 1); None for the last step.
    :param destination: Where the async path streams the body to, if anywhere.
    :param stream: Leave the body unread for the caller to stream (sync path).
    :raises DbtCloudConfigError: When an id is not a positive integer or the path is not a plain
        relative path (see :func:`~airflow_dbtcloud.api.ids.artifact_path`); nothing is sent.
    """
    run_id = require_id("run_id", run_id)
    step = optional_id("step", step)
    url = _artifact_url(v2(account_id, "runs", run_id, "artifacts"), path)
    what = f"artifact {path!r} of run {run_id}" if path else f"artifacts of run {run_id}"
    step_text = f" step {step}" if step is not None else ""
    return ApiRequest(
        "GET",
        url,
        encode_params({"step": step}),
        resource=f"{what}{step_text} in account {account_id}",
        destination=destination,
        stream=stream,
    )


def _artifact_url(base: str, path: str | None) -> str:
    """Append a checked artifact path to an artifacts URL, keeping its slashes (``compiled/<p>/x.sql``)."""
    if path is None:
        return base
    return base + "/".join(quote(segment, safe="") for segment in artifact_path(path))


def job_artifact_request(
    account_id: int, job_id: int, path: str, *, destination: Any = None, stream: bool = False
) -> ApiRequest:
    """
    Describe a request for one artifact of a job's latest run that has it.

    :param account_id: The account.
    :param job_id: The job.
    :param path: Path under ``target/``.
    :param destination: Where the async path streams the body to, if anywhere.
    :param stream: Leave the body unread for the caller to stream (sync path).
    :raises DbtCloudConfigError: As :func:`artifact_request`.
    """
    job_id = require_id("job_id", job_id)
    return ApiRequest(
        "GET",
        _artifact_url(v2(account_id, "jobs", job_id, "artifacts"), path),
        resource=f"artifact {path!r} of the latest run of job {job_id} in account {account_id}",
        destination=destination,
        stream=stream,
    )


def get_job_artifact(account_id: int, job_id: int, path: str, stream: bool = False) -> Flow[ApiResponse]:
    """
    Fetch one artifact of a job's latest run that has it.

    :param account_id: The account.
    :param job_id: The job.
    :param path: Path under ``target/``, e.g. ``manifest.json``.
    :param stream: Leave the body unread (sync path).
    """
    return (yield from single(job_artifact_request(account_id, job_id, path, stream=stream)))


def list_artifacts(account_id: int, run_id: int, step: int | None = None) -> Flow[ApiResponse]:
    """
    List a run's artifact paths.

    :param account_id: The account.
    :param run_id: The run.
    :param step: The step index (from 1); None for the last step.
    """
    return (yield from single(artifact_request(account_id, run_id, None, step)))


def get_artifact(
    account_id: int, run_id: int, path: str, step: int | None = None, stream: bool = False
) -> Flow[ApiResponse]:
    """
    Fetch one artifact: read into memory, or (``stream``) with its body left for the caller to stream.

    :param account_id: The account.
    :param run_id: The run.
    :param path: Path under ``target/``, e.g. ``run_results.json``.
    :param step: The step index; None for the last step.
    :param stream: Leave the body unread (sync path).
    """
    return (yield from single(artifact_request(account_id, run_id, path, step, stream=stream)))


def get_artifacts(
    account_id: int, run_id: int, paths: list[str], step: int | None = None
) -> Flow[dict[str, ApiResponse]]:
    """
    Fetch several artifacts together (concurrently on the async path).

    :param account_id: The account.
    :param run_id: The run.
    :param paths: Paths under ``target/``.
    :param step: The step index; None for the last step.
    """
    run_id, step = require_id("run_id", run_id), optional_id("step", step)
    responses = yield Batch.of(artifact_request(account_id, run_id, path, step) for path in paths)
    return dict(zip(paths, responses, strict=True))


def download_artifact(
    account_id: int, run_id: int, path: str, destination: Any, step: int | None = None
) -> Flow[Any]:
    """
    Stream one artifact to a file or object storage path, in chunks, never parsing it.

    :param account_id: The account.
    :param run_id: The run.
    :param path: Path under ``target/``.
    :param destination: A local path or an ``ObjectStoragePath``; written whole or not at all.
    :param step: The step index; None for the last step.
    :return: ``destination``.
    """
    yield artifact_request(account_id, run_id, path, step, destination=destination)
    return destination
