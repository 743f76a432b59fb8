"""Handling of Telegram webhook updates: secret check, update_id deduplication, callback dispatch."""

from __future__ import annotations

import hmac
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.core.database import on_commit, session_scope
from autopack.core.errors import Forbidden
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import TelegramUpdate
from autopack.telegram.callbacks import CallbackContext, CallbackResult, get_callback, malformed
from autopack.telegram.client import TelegramError, bot_from_settings

log = get_logger(__name__)
INVALID_SECRET = "Invalid or missing Telegram webhook secret token"
UPDATE_RETENTION = timedelta(days=7)  # Telegram stops redelivering an update after 24 hours
_USERNAME_JUNK = re.compile(r"[^A-Za-z0-9_]")


def verify_secret(presented: str | None) -> None:
    """403 unless the header equals TELEGRAM_WEBHOOK_SECRET (open in development when it is unset)."""
    settings = get_settings()
    secret = settings.telegram_webhook_secret
    if secret is None:
        if settings.is_production:  # never accept unauthenticated decisions in production
            raise Forbidden(INVALID_SECRET)
        return
    if presented is None or not hmac.compare_digest(presented.encode(), secret.get_secret_value().encode()):
        raise Forbidden(INVALID_SECRET)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _context(query: dict, data: str) -> CallbackContext:
    sender = query.get("from") if isinstance(query.get("from"), dict) else {}
    message = query.get("message") if isinstance(query.get("message"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    raw_name = sender.get("username")
    username = _USERNAME_JUNK.sub("", raw_name)[:64] if isinstance(raw_name, str) else ""
    chat_id = chat.get("id") if isinstance(chat.get("id"), (int, str)) else None
    query_id = query.get("id")
    prefix, _, argument = data.partition(":")
    return CallbackContext(prefix=prefix, argument=argument, data=data, username=username or None,
                           user_id=_int_or_none(sender.get("id")), chat_id=chat_id,
                           message_id=_int_or_none(message.get("message_id")),
                           callback_query_id=query_id if isinstance(query_id, str) else None)


def _chat_allowed(ctx: CallbackContext) -> bool:
    # Buttons are only ever sent to TELEGRAM_CHAT_ID; a click from elsewhere is not a decision.
    configured = get_settings().telegram_chat_id
    if not configured or ctx.chat_id is None:
        return True
    return str(ctx.chat_id) == configured.strip()


def _first_time(session: Session, update_id: int, data: str) -> TelegramUpdate | None:
    """Record update_id; None when it was handled before (Telegram redelivers until it gets a 200)."""
    if session.get(TelegramUpdate, update_id) is not None:
        return None
    try:
        with session.begin_nested():
            row = TelegramUpdate(update_id=update_id, callback_data=data[:64])
            session.add(row)
    except IntegrityError:  # the same update arriving twice at once
        return None
    return row


def _dispatch(session: Session, ctx: CallbackContext) -> CallbackResult:
    if ":" not in ctx.data:
        return malformed("not enough values to unpack (expected 2, got 1)")
    if not _chat_allowed(ctx):
        return CallbackResult({"ok": False, "error": "chat_not_allowed"},
                              answer="This chat may not decide Autopack requests", outcome="chat_not_allowed")
    handler = get_callback(ctx.prefix)
    if handler is None:
        return CallbackResult({"ok": True, "error": "unknown_action"}, answer="Unknown action",
                              outcome="unknown_action")
    return handler(session, ctx)


def _respond(ctx: CallbackContext, result: CallbackResult) -> None:
    """Answer the click and update the message; best effort (the decision is already committed)."""
    bot = bot_from_settings()
    if bot is None:
        return
    try:
        if ctx.callback_query_id:
            bot.answer_callback_query(ctx.callback_query_id, result.answer, result.alert)
        if result.edit_text and ctx.chat_id is not None and ctx.message_id is not None:
            bot.edit_message_text(ctx.chat_id, ctx.message_id, result.edit_text)
    except TelegramError as exc:
        log.warning("telegram_callback_reply_failed", error=exc.message, prefix=ctx.prefix)


def handle_update(update: Any) -> dict:
    """Process one webhook update in its own transaction; replies to Telegram go out after the commit."""
    if not isinstance(update, dict):
        return {"ok": False, "error": "update must be a JSON object"}
    update_id = update.get("update_id")
    if update_id is not None and (_int_or_none(update_id) is None or not 0 <= update_id < 2**63):
        return {"ok": False, "error": "invalid update_id"}
    query = update.get("callback_query")
    data = query.get("data") if isinstance(query, dict) else None
    if not isinstance(data, str) or not data:
        return {"ok": True}
    ctx = _context(query, data)
    with session_scope() as session:
        seen = _first_time(session, update_id, data) if update_id is not None else None
        if update_id is not None and seen is None:
            return {"ok": True, "duplicate": True}
        result = _dispatch(session, ctx)
        if seen is not None:
            seen.outcome = result.outcome[:64]
        on_commit(session, lambda: _respond(ctx, result))
    return result.body


def prune_updates(older_than: timedelta = UPDATE_RETENTION) -> int:
    """Forget handled update_ids past Telegram's redelivery window; the number removed."""
    cutoff = utcnow() - older_than
    with session_scope(writer=False) as session:
        if session.scalar(select(TelegramUpdate.update_id).where(TelegramUpdate.received_at < cutoff)
                          .limit(1)) is None:
            return 0  # the common case takes no write lock
    with session_scope() as session:
        return session.execute(delete(TelegramUpdate).where(TelegramUpdate.received_at < cutoff)).rowcount
