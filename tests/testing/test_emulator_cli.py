"""Starting the emulator: CLI subprocess, TLS, config files, connection helpers and the pytest plugin."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests
from emulator_client import read_lines, serve_cli

from airflow_dbtcloud.testing import Emulator, EmulatorConfig, run_emulator


def test_cli_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "emu.yaml"
    config.write_text(
        "accounts: [{id: 7, name: Seven}]\n"
        "tokens: {cli_token: [7]}\n"
        "projects: [{id: 70, name: proj}]\n"
        "environments: [{id: 71, project_id: 70, name: Prod}]\n"
        "jobs: [{id: 72, name: Nightly, environment_id: 71}]\n"
    )
    with serve_cli("--config", str(config)) as proc:
        lines = read_lines(proc, 4)
        base_url = lines[0].rsplit(" ", 1)[1].strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert "dbt-cloud://7:cli_token@" in lines[2]
        assert lines[3].startswith("export AIRFLOW_CONN_DBT_CLOUD_DEFAULT='")
        resp = requests.get(
            f"{base_url}/api/v2/accounts/7/jobs/", headers={"Authorization": "Token cli_token"}
        )
        assert [j["name"] for j in resp.json()["data"]] == ["Nightly"]


def test_tls_with_ca_file() -> None:
    with run_emulator(tls=True) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:")
        assert emu.ca_file is not None
        assert os.path.exists(emu.ca_file)
        resp = requests.get(
            f"{emu.base_url}/api/v2/accounts/",
            headers={"Authorization": f"Token {emu.token}"},
            verify=emu.ca_file,
        )
        assert resp.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{emu.base_url}/api/v2/accounts/", verify=True)
        ca_file = emu.ca_file
    assert not os.path.exists(ca_file)


def test_connection_helpers(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    assert emu.token == "dbtc_emulator_token_do_not_log"
    assert emu.account_id == 1
    assert emu.host == f"127.0.0.1:{emu.port}"
    assert emu.ca_file is None
    conn = json.loads(emu.connection_json())
    assert conn == {"conn_type": "dbt_cloud", "login": "1", "password": emu.token, "host": emu.base_url}
    assert emu.env("my_dbt") == {"AIRFLOW_CONN_MY_DBT": emu.connection_json()}
    parts = urlsplit(emu.conn_uri)
    assert parts.scheme == "dbt-cloud"
    assert unquote(parts.hostname or "") == emu.base_url.lower()
    assert parts.username == "1"
    assert parts.password == emu.token


def test_config_from_json_file_and_validation(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"jobs": [{"id": 5, "name": "x", "environment_id": 200, "outcome": "error"}]}))
    config = EmulatorConfig.from_file(path)
    assert [j.id for j in config.jobs] == [5]
    assert config.jobs[0].outcome == "error"
    with pytest.raises(ValueError, match="unknown emulator config keys"):
        EmulatorConfig.from_dict({"jbos": []})
    with pytest.raises(ValueError, match="unknown environment"):
        EmulatorConfig.from_dict({"jobs": [{"id": 5, "name": "x", "environment_id": 999}]})
    default = EmulatorConfig.default()
    assert [j.id for j in default.jobs] == [300, 301, 302, 303]
    assert default.jobs[3].generate_docs is True
