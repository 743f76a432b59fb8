"""Approval tests drive the timeout worker themselves and never talk to a real Telegram."""

from __future__ import annotations

import pytest

from autopack.core.settings import get_settings

TELEGRAM_ENV = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_BASE",
                "AUTO_APPROVE_BUILD113", "APPROVAL_TIMEOUT_MINUTES", "APPROVAL_DEFAULT_ON_TIMEOUT")


@pytest.fixture(autouse=True)
def approval_settings(monkeypatch):
    """No background worker, no Telegram, reference defaults."""
    monkeypatch.setenv("AUTOPACK_APPROVAL_WORKER", "0")
    for name in TELEGRAM_ENV:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def alice():
    """A signed-in user: (headers, actor)."""
    from tests.auth.helpers import bearer, make_user

    _, token = make_user("alice")
    return bearer(token), "user:alice"
