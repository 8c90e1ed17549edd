"""``DbtCloudHook`` offers every public member of the official hook, read from the official class itself.

Members the official hook only inherits from ``HttpHook``/``BaseHook`` are not compared (ours inherits
them too); what the official class defines or overrides is. The remaining tests check behaviour that a
signature cannot show.
"""

from __future__ import annotations

import official_reference as ref
import pytest
import requests

from airflow_dbtcloud.hooks import dbt

HOOK = ("DbtCloudHook",)


@ref.compare_each(lambda: ref.class_members(only=HOOK))
def test_official_hook_member_exists_and_is_used_the_same_way(case):
    """A property stays a property, a method stays callable and class data stays data."""
    theirs = ref.member_kind(case, ref.official)
    ref.ours(case)
    assert ref.member_kind(case, ref.ours) == theirs


@ref.compare_each(lambda: ref.class_callables(only=HOOK))
def test_official_hook_method_has_compatible_signature(case):
    """Same parameter names, kinds, order and defaults; extras only trailing keywords with defaults."""
    ref.assert_compatible_signature(ref.official(case), ref.ours(case))


@ref.compare_each(lambda: ref.class_callables(only=HOOK))
def test_official_hook_method_is_sync_or_async_alike(case):
    assert ref.call_kind(ref.ours(case)) == ref.call_kind(ref.official(case))


@ref.compare_each(lambda: ref.class_data_members(only=HOOK))
def test_official_hook_class_attribute_has_same_value(case):
    assert ref.comparable(ref.ours(case)) == ref.comparable(ref.official(case))


@ref.compare_each(lambda: ref.initialisers(only=HOOK))
def test_official_hook_init_accepts_official_arguments(case):
    ref.assert_compatible_signature(ref.official(case), ref.ours(case))


@ref.compare_each(lambda: ref.instance_attributes(only=HOOK))
def test_official_hook_instance_attribute_matches(case):
    """``hook.dbt_cloud_conn_id``, ``hook.retry_limit``... hold what the official hook's attributes hold."""
    theirs = ref.official(ref.Case(case.module, case.owner))()
    ours = ref.ours(ref.Case(case.module, case.owner))()
    assert hasattr(ours, case.member), f"DbtCloudHook instances have no {case.member}"
    assert ref.comparable(getattr(ours, case.member)) == ref.comparable(getattr(theirs, case.member))


# --- behaviour the signatures do not show --------------------------------------------------------------


def test_run_status_helpers():
    status = dbt.DbtCloudJobRunStatus
    assert status.is_terminal(20)
    assert not status.is_terminal(3)
    status.check_is_valid([1, 10])
    with pytest.raises(ValueError):
        status.check_is_valid(7)


def test_ui_field_behaviour_relabels_fields():
    behaviour = dbt.DbtCloudHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == ["schema", "port"]
    assert behaviour["relabeling"] == {"login": "Account ID", "password": "API Token", "host": "Tenant"}


def test_get_request_url_params():
    url, params = dbt.DbtCloudHook.get_request_url_params("emea.dbt.com", "7/runs/5/", ["job"])
    assert url == "https://emea.dbt.com/api/v2/accounts/7/runs/5/"
    assert params == {"include_related": ["job"]}
    url, params = dbt.DbtCloudHook.get_request_url_params("emea.dbt.com", "7/projects/", api_version="v3")
    assert url == "https://emea.dbt.com/api/v3/accounts/7/projects/"
    assert params == {}


def test_token_auth_sets_header_and_hides_token():
    request = requests.Request("GET", "https://x/").prepare()
    auth = dbt.TokenAuth("tok-abc")
    assert auth(request).headers["Authorization"] == "Token tok-abc"
    assert "tok-abc" not in repr(auth)


def test_fallback_to_default_account_uses_connection(dbt_conn):
    class Probe(dbt.DbtCloudHook):
        @dbt.fallback_to_default_account
        def which(self, account_id=None):
            return account_id

    assert Probe().which() == 7
    assert Probe().which(account_id=3) == 3
    assert Probe().which(3) == 3


async def test_provide_account_id_uses_connection(dbt_conn):
    class Probe(dbt.DbtCloudHook):
        @dbt.provide_account_id
        async def which(self, account_id=None):
            return account_id

    assert await Probe().which() == 7
    assert await Probe().which(account_id=3) == 3


def test_retry_limit_below_one_is_rejected():
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        dbt.DbtCloudHook(retry_limit=0)
