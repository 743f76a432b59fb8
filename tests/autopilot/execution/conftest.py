"""Execution tests drive the worker themselves (run_once), with short retry waits."""

from __future__ import annotations

import pytest

from autopack.core.settings import get_settings


@pytest.fixture(autouse=True)
def execution_settings(monkeypatch):
    """No background workers; small waits so retries are quick."""
    for name, value in {"AUTOPACK_AUTOPILOT_WORKER": "0", "AUTOPACK_APPROVAL_WORKER": "0",
                        "AUTOPACK_OAUTH_REFRESH_WORKER": "0", "AUTOPACK_AUTOPILOT_MAX_RETRY_WAIT_SECONDS": "2",
                        "AUTOPACK_PLATFORM_TIMEOUT_SECONDS": "2"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AUTOPACK_PLATFORM_CREDENTIALS", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
