"""The transport and API layers use nothing from Airflow but the exception base class.

import-linter checks the layers between our own packages; this checks the one rule it cannot express
for an external package.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "airflow_dbtcloud"
ALLOWED = {"airflow.sdk.exceptions"}


def _airflow_imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "airflow":
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "airflow")


@pytest.mark.parametrize(
    "path",
    sorted([*PACKAGE.glob("_transport/*.py"), *PACKAGE.glob("api/*.py")]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_low_layers_import_only_the_exception_base(path):
    assert set(_airflow_imports(path)) <= ALLOWED


@pytest.mark.parametrize(
    "path",
    sorted([*PACKAGE.glob("_transport/*.py"), *PACKAGE.glob("api/*.py")]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_low_layers_never_import_the_package_root(path):
    """The package root sits above every layer; importing it from below would run an arrow upward."""
    roots = [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == "airflow_dbtcloud"
    ]
    assert roots == []
