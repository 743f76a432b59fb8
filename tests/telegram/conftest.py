"""Telegram tests: a fake Bot API on 127.0.0.1 with TELEGRAM_API_BASE pointed at it, fast retries."""

from __future__ import annotations

import pytest

from autopack.core.settings import get_settings
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi

CHAT_ID = "-1001234567890"
SECRET = "webhook-Secret_0123456789"


@pytest.fixture(autouse=True)
def telegram_settings(monkeypatch):
    """Telegram configured against nothing yet; no background worker; millisecond backoff."""
    for name in ("AUTO_APPROVE_BUILD113", "APPROVAL_TIMEOUT_MINUTES", "APPROVAL_DEFAULT_ON_TIMEOUT",
                 "TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTOPACK_APPROVAL_WORKER", "0")
    monkeypatch.setenv("TELEGRAM_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("TELEGRAM_RETRY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("TELEGRAM_MAX_RETRY_WAIT_SECONDS", "2")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def bot_api(monkeypatch):
    """A running fake Bot API; the bot token, chat and webhook secret are configured for it."""
    server = FakeBotApi().start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_CHAT_ID", CHAT_ID)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE", server.url)
    get_settings.cache_clear()
    yield server
    server.stop()


def click(data: str, *, update_id: int = 1, username: str | None = "alice", user_id: int = 42,
          chat_id: int | str = int(CHAT_ID), message_id: int | None = 1001, query_id: str = "cbq-1") -> dict:
    """A Telegram update for a click on an inline button carrying `data`."""
    sender = {"id": user_id, "is_bot": False, "first_name": "A"}
    if username is not None:
        sender["username"] = username
    message = {"message_id": message_id, "chat": {"id": chat_id, "type": "supergroup"}, "date": 0}
    return {"update_id": update_id,
            "callback_query": {"id": query_id, "from": sender, "message": message, "chat_instance": "1",
                               "data": data}}


def post_update(client, update: dict, secret: str | None = SECRET):
    """POST /telegram/webhook with the secret header (unless None)."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post("/telegram/webhook", json=update, headers=headers)
