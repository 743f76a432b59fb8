"""Budget tests drive the worker themselves and never talk to Telegram."""

from __future__ import annotations

import pytest

from autopack.core.settings import get_settings


@pytest.fixture(autouse=True)
def budget_settings(monkeypatch):
    """No background worker, no Telegram, no auto-approval."""
    monkeypatch.setenv("AUTOPACK_APPROVAL_WORKER", "0")
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "AUTO_APPROVE_BUILD113", "APPROVAL_TIMEOUT_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
