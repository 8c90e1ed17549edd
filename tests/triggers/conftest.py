"""Fixtures of the trigger tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def emu(dbt_cloud_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator, reset, 20 times faster than real time, with the default connection pointing at it."""
    for name, value in dbt_cloud_emulator.env().items():
        monkeypatch.setenv(name, value)
    dbt_cloud_emulator.speed = 20
    return dbt_cloud_emulator
