"""Shared test set-up: an isolated AIRFLOW_HOME, set before anything imports Airflow."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_HOME = tempfile.mkdtemp(prefix="airflow-dbtcloud-tests-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", os.path.join(_HOME, "dags"))
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{os.path.join(_HOME, 'airflow.db')}")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")


def _make_aioresponses_fit_aiohttp_314() -> None:
    """aioresponses 0.7.9 builds ClientResponse without ``stream_writer``, which aiohttp 3.14 requires.

    apache-airflow-providers-http needs aiohttp>=3.14, so we cannot pin an older aiohttp; instead the
    mocked responses get a stand-in writer that reports the request as already sent.
    """
    import aioresponses.core
    from aiohttp import ClientResponse

    class _SentRequest:
        output_size = 0

    class _Response(ClientResponse):
        def __init__(self, method, url, **kwargs):
            kwargs.setdefault("stream_writer", _SentRequest())
            super().__init__(method, url, **kwargs)

    aioresponses.core.ClientResponse = _Response


_make_aioresponses_fit_aiohttp_314()
