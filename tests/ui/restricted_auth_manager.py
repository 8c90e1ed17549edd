"""An auth manager for the UI tests: SimpleAuthManager, except that one user may not see some DAGs.

SimpleAuthManager lets every signed-in user read every DAG, so it cannot show what a user without access
to a DAG gets. :class:`RestrictedAuthManager` denies :data:`RESTRICTED_USER` every action on the DAGs
named in the environment variable :data:`RESTRICTED_DAGS_ENV` (comma-separated DAG ids) and otherwise
answers exactly as SimpleAuthManager does. The API server loads it by name
(``AIRFLOW__CORE__AUTH_MANAGER=restricted_auth_manager.RestrictedAuthManager``) with this directory on
its ``PYTHONPATH``.

Only ``is_authorized_dag`` is overridden: SimpleAuthManager inherits ``batch_is_authorized_dag``,
``filter_authorized_dag_ids`` and ``get_authorized_dag_ids`` from ``BaseAuthManager`` (Airflow 3.3.2),
and each of them asks ``is_authorized_dag`` once per DAG id, so the DAG list, the per-DAG endpoints and
the UI's own endpoints all leave the restricted DAGs out.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import ResourceMethod
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

__all__ = ["RESTRICTED_DAGS_ENV", "RESTRICTED_USER", "RestrictedAuthManager"]

#: The user who may not see the restricted DAGs.
RESTRICTED_USER = "outsider"
#: The environment variable naming the restricted DAGs, comma-separated.
RESTRICTED_DAGS_ENV = "UI_TEST_RESTRICTED_DAG_IDS"


def restricted_dag_ids() -> frozenset[str]:
    """Return the DAG ids :data:`RESTRICTED_USER` may not see, read from :data:`RESTRICTED_DAGS_ENV`."""
    return frozenset(d.strip() for d in os.environ.get(RESTRICTED_DAGS_ENV, "").split(",") if d.strip())


class RestrictedAuthManager(SimpleAuthManager):
    """SimpleAuthManager that denies :data:`RESTRICTED_USER` any access to the restricted DAGs."""

    def is_authorized_dag(
        self,
        *,
        method: ResourceMethod,
        user: SimpleAuthManagerUser,
        access_entity: DagAccessEntity | None = None,
        details: DagDetails | None = None,
    ) -> bool:
        """Return False for the restricted user on a restricted DAG, else what SimpleAuthManager says.

        A request about no DAG in particular (``details`` without an id, as for the DAG list) is
        SimpleAuthManager's to answer; the list is then filtered DAG by DAG through this method.

        :param method: The HTTP method of the action.
        :param user: The signed-in user.
        :param access_entity: The kind of DAG information asked for; None means the DAG itself.
        :param details: The DAG, when the request is about one.
        """
        dag_id = details.id if details is not None else None
        if user.username == RESTRICTED_USER and dag_id is not None and dag_id in restricted_dag_ids():
            return False
        return super().is_authorized_dag(
            method=method, user=user, access_entity=access_entity, details=details
        )
