"""Who starts a run outside the Admin API, and the trigger fields each of them leaves on it.

dbt Cloud's own scheduler, a pull request (CI) and a person clicking "Run now" start runs without any
client calling ``POST .../run/``. Their trigger carries a ``cause_category`` of the v2 spec's
``CauseCategoryEnum`` and the cause text dbt Cloud writes:

- ``scheduled``: the cause ``scheduled``, as dbt Labs' own models of their run-trigger table and dbt
  Cloud's ``DBT_CLOUD_RUN_REASON`` show it (dbt's docs example writes ``Scheduled``).
- ``ui``: ``Kicked off from the UI by <email>``, as in dbt's webhook examples (older ones:
  ``Kicked off from UI by``).
- ``ci``: a pull-request run: ``github_pull_request_id``, the pull request's head branch and commit, and
  the temporary schema ``dbt_cloud_pr_<job id>_<pull request id>``; dbt's docs do not publish the cause
  text, so the emulator's ``Kicked off by GitHub pull request #<id>`` is its own choice.
- ``api``: what another API client would send (default cause ``Triggered via API``).
"""

from __future__ import annotations

import hashlib
from typing import Any

# source name (what the control API takes) -> the spec's cause_category
SOURCES = {"scheduler": "scheduled", "ci": "ci", "person": "ui", "api": "api"}
DEFAULT_PERSON = "analyst@example.com"


def trigger_fields(
    job_id: int,
    source: str,
    *,
    cause: str | None = None,
    git_branch: str | None = None,
    git_sha: str | None = None,
    pull_request_id: int | None = None,
    person: str = DEFAULT_PERSON,
) -> dict[str, Any]:
    """Return the trigger fields a run started by ``source`` carries.

    :param job_id: The job the run belongs to (names a CI run's temporary schema).
    :param source: ``scheduler``, ``ci``, ``person`` or ``api``.
    :param cause: The cause text, replacing the source's default.
    :param git_branch: Branch to check out (CI default: ``pr-<id>``; others: the environment's branch).
    :param git_sha: Commit to check out (CI default: a sha derived from the pull request).
    :param pull_request_id: The GitHub pull request of a CI run (default 1); only CI runs take one.
    :param person: Email of the person who clicked "Run now" (``person`` source only).
    :return: Trigger fields: ``cause``, ``cause_category`` and the git and pull-request fields.
    :raises ValueError: For an unknown source, a pull request on a non-CI run, or a bad value.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown run source {source!r}: choose one of {sorted(SOURCES)}")
    if pull_request_id is not None and source != "ci":
        raise ValueError("pull_request_id: only a ci run comes from a pull request")
    if pull_request_id is not None and (
        isinstance(pull_request_id, bool) or not isinstance(pull_request_id, int)
    ):
        raise ValueError("pull_request_id: A valid integer is required.")
    for name, value in (("cause", cause), ("git_branch", git_branch), ("git_sha", git_sha)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"{name}: expected a non-empty string")
    fields: dict[str, Any] = {"cause_category": SOURCES[source], "git_branch": git_branch, "git_sha": git_sha}
    if source == "scheduler":
        fields["cause"] = cause or "scheduled"
    elif source == "person":
        fields["cause"] = cause or f"Kicked off from the UI by {person}"
    elif source == "api":
        fields["cause"] = cause or "Triggered via API"
    else:
        pr = 1 if pull_request_id is None else pull_request_id
        fields.update(
            cause=cause or f"Kicked off by GitHub pull request #{pr}",
            github_pull_request_id=pr,
            git_branch=git_branch or f"pr-{pr}",
            git_sha=git_sha or hashlib.sha1(f"pull/{pr}/head".encode()).hexdigest(),  # noqa: S324 - fake sha
            schema_override=f"dbt_cloud_pr_{job_id}_{pr}",
        )
    return fields
