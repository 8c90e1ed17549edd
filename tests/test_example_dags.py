from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "example_dags"
FILES = sorted(EXAMPLES.glob("example_*.py"))


def test_there_are_examples():
    assert len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_dag_parses(path):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path))
    assert bag.import_errors == {}
    assert bag.dags, f"{path.name} defines no DAG"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_has_howto_markers(path):
    text = path.read_text()
    assert "# [START howto_" in text
    assert text.count("# [START") == text.count("# [END")
