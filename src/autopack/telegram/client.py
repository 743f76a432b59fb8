"""A small Telegram Bot API client over httpx (no bot framework): the four methods Autopack calls."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from autopack.core.settings import get_settings

NOT_CONFIGURED = "Telegram not configured (missing TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID)"
MAX_TEXT = 4000  # Telegram refuses messages over 4096 characters

# The bot token is part of every request URL; httpx logs request URLs at INFO. Keep it out of logs.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


class TelegramError(Exception):
    """A Bot API call failed; `retryable` says whether asking again may help."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def _failure(response: httpx.Response) -> TelegramError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    description = str(body.get("description") or response.reason_phrase or "error")[:200]
    params = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    retry_after = params.get("retry_after")
    if retry_after is None:
        retry_after = response.headers.get("retry-after")
    try:
        retry_after = max(0.0, float(retry_after)) if retry_after is not None else None
    except (TypeError, ValueError):
        retry_after = None
    status = response.status_code
    retryable = status == 429 or status >= 500
    return TelegramError(f"HTTP {status}: {description}", status=status, retryable=retryable,
                         retry_after=retry_after if status == 429 else None)


@dataclass(frozen=True)
class BotApi:
    """One bot: its token, the API base URL and the per-call timeout."""

    token: str
    base: str = "https://api.telegram.org"
    timeout: float = 10.0

    def call(self, method: str, payload: dict[str, Any]) -> Any:
        """POST `payload` to `method`; the `result`, or TelegramError (never the token in the message)."""
        url = f"{self.base.rstrip('/')}/bot{self.token}/{method}"
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(url, json=payload)
        except httpx.TimeoutException:
            raise TelegramError("timeout", retryable=True) from None
        except httpx.HTTPError as exc:  # str(exc) may carry the URL, hence the token: name only
            raise TelegramError(f"network error: {type(exc).__name__}", retryable=True) from None
        if response.status_code != 200:
            raise _failure(response)
        try:
            body = response.json()
        except ValueError:
            raise TelegramError("invalid JSON from the Bot API", status=200, retryable=True) from None
        if not isinstance(body, dict) or body.get("ok") is not True:
            raise _failure(response)
        return body.get("result")

    def send_message(self, chat_id: str, text: str, reply_markup: dict | None = None) -> int | None:
        """sendMessage (HTML); the new message's id."""
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text[:MAX_TEXT], "parse_mode": "HTML",
                                   "disable_web_page_preview": True}
        if reply_markup:
            payload["reply_markup"] = reply_markup
        result = self.call("sendMessage", payload)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return message_id if isinstance(message_id, int) else None

    def answer_callback_query(self, callback_query_id: str, text: str | None = None,
                              show_alert: bool = False) -> None:
        """answerCallbackQuery: stops the button's spinner and shows `text` to the clicker."""
        payload: dict[str, Any] = {"callback_query_id": callback_query_id, "show_alert": show_alert}
        if text:
            payload["text"] = text[:200]
        self.call("answerCallbackQuery", payload)

    def edit_message_text(self, chat_id: str | int, message_id: int, text: str) -> None:
        """editMessageText without a keyboard: the buttons disappear once a request is decided."""
        self.call("editMessageText", {"chat_id": chat_id, "message_id": message_id, "text": text[:MAX_TEXT],
                                      "parse_mode": "HTML", "disable_web_page_preview": True})

    def set_webhook(self, url: str, secret_token: str, allowed_updates: list[str]) -> Any:
        """setWebhook with the secret Telegram will echo in X-Telegram-Bot-Api-Secret-Token."""
        return self.call("setWebhook", {"url": url, "secret_token": secret_token,
                                        "allowed_updates": allowed_updates})


def bot_from_settings() -> BotApi | None:
    """The configured bot, or None without TELEGRAM_BOT_TOKEN."""
    settings = get_settings()
    if settings.telegram_bot_token is None:
        return None
    return BotApi(token=settings.telegram_bot_token.get_secret_value(), base=settings.telegram_api_base,
                  timeout=settings.telegram_timeout_seconds)


def configured_chat() -> str | None:
    """TELEGRAM_CHAT_ID when both it and the token are set (the reference needs both to send)."""
    settings = get_settings()
    if settings.telegram_bot_token is None or not settings.telegram_chat_id:
        return None
    return settings.telegram_chat_id.strip()
