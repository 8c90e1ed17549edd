"""The provider registers with Airflow and its info matches provider.yaml."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from importlib.metadata import entry_points

import yaml

import airflow_dbtcloud

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_entry_point_returns_provider_info():
    (point,) = [
        p for p in entry_points(group="apache_airflow_provider") if p.value.startswith("airflow_dbtcloud")
    ]
    info = point.load()()
    assert info["package-name"] == "airflow-dbtcloud"
    assert info["connection-types"][0]["connection-type"] == "dbt_cloud"


def test_provider_yaml_matches_provider_info():
    spec = yaml.safe_load((ROOT / "provider.yaml").read_text())
    info = airflow_dbtcloud.get_provider_info()
    for key in ("package-name", "name", "operators", "sensors", "hooks", "triggers", "extra-links"):
        assert spec[key] == info[key], key
    assert spec["versions"] == [airflow_dbtcloud.__version__] == info["versions"]
    assert [c["hook-class-name"] for c in spec["connection-types"]] == [
        c["hook-class-name"] for c in info["connection-types"]
    ]


def test_every_listed_module_and_link_imports():
    import importlib

    info = airflow_dbtcloud.get_provider_info()
    for kind in ("operators", "sensors", "hooks", "triggers"):
        for module in info[kind][0]["python-modules"]:
            importlib.import_module(module)
    for path in info["extra-links"]:
        module, _, name = path.rpartition(".")
        assert hasattr(importlib.import_module(module), name), path


def test_airflow_lists_the_provider_and_the_connection_form():
    env = {**os.environ}
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "get", "airflow-dbtcloud", "-o", "yaml"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=240,
    ).stdout
    assert "airflow-dbtcloud" in out
    hooks = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "hooks", "-o", "yaml"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=240,
    ).stdout
    assert "airflow_dbtcloud.hooks.dbt.DbtCloudHook" in hooks


def test_connection_form_is_relabelled():
    from airflow.providers_manager import ProvidersManager

    behaviour = ProvidersManager().field_behaviours["dbt_cloud"]
    assert behaviour["relabeling"] == {"login": "Account ID", "password": "API Token", "host": "Tenant"}
    assert behaviour["hidden_fields"] == ["schema", "port"]
