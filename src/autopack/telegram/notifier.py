"""Telegram notifications through a transactional outbox.

`notify_pending` writes the message into `telegram_outbox` in the caller's transaction and sends it
right after that transaction commits (never inside it: a slow Telegram must not hold database locks,
and a rolled-back request must not notify anybody). A send that fails, or never happens because the
process died, stays in the outbox and the background worker retries it (`retry_due_notifications`).
Rows are claimed with a conditional UPDATE and a lease, so every instance may run the retries.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from autopack.core.database import on_commit, session_scope
from autopack.core.logging import get_logger
from autopack.db.base import utcnow
from autopack.db.models import TelegramOutbox
from autopack.telegram import messages
from autopack.telegram.client import MAX_TEXT, NOT_CONFIGURED, bot_from_settings, configured_chat
from autopack.telegram.sending import DeliveryResult, SendPolicy, send_round

log = get_logger(__name__)
ROUND_DELAYS = (30, 120, 600, 1800)  # seconds before the worker's 2nd, 3rd, 4th and 5th round
MAX_ROUNDS = len(ROUND_DELAYS) + 1
DeliveryHook = Callable[[Session, DeliveryResult], None]
_hooks: dict[str, DeliveryHook] = {}


@dataclass
class Delivery:
    """What the caller knows about its message; filled in by the after-commit send."""

    outbox_id: int | None
    state: str  # pending | sent | failed | skipped (Telegram not configured)
    error: str | None = None
    message_id: int | None = None

    @property
    def sent(self) -> bool:
        """True once Telegram accepted the message."""
        return self.state == "sent"


def register_delivery_hook(kind: str, hook: DeliveryHook) -> None:
    """Call `hook(session, result)` in the transaction that records each delivery round of `kind`."""
    _hooks[kind] = hook


def notify_pending(session: Session, *, kind: str, ref_id: str | int, text: str,
                   buttons: Sequence[tuple[str, str]] = ()) -> Delivery:
    """Queue an HTML message (≤ 4000 chars, buttons as (label, callback_data)); sent after the commit."""
    # Cutting HTML would break its tags and Telegram would refuse it: too long is the caller's bug.
    if not text or len(text) > MAX_TEXT:
        raise ValueError(f"Telegram text must be 1..{MAX_TEXT} characters")
    markup = messages.inline_keyboard(buttons)
    chat_id = configured_chat()
    if chat_id is None:
        return Delivery(None, "skipped", NOT_CONFIGURED)
    row = TelegramOutbox(kind=kind, ref_id=str(ref_id)[:64], chat_id=chat_id, text=text,
                         reply_markup=markup, state="pending",
                         # The worker leaves the row to the after-commit send for one lease.
                         next_attempt_at=utcnow() + timedelta(seconds=SendPolicy.from_settings().lease))
    session.add(row)
    session.flush()
    delivery = Delivery(row.id, "pending")
    on_commit(session, lambda: deliver(delivery.outbox_id, delivery=delivery))
    return delivery


def _claimable(now: datetime, due_only: bool):
    lease_expired = and_(TelegramOutbox.state == "sending", TelegramOutbox.claim_expires_at < now)
    if not due_only:  # the after-commit send of a fresh row
        return or_(TelegramOutbox.state == "pending", lease_expired)
    return or_(and_(TelegramOutbox.state == "pending", TelegramOutbox.next_attempt_at <= now), lease_expired)


def _claim(outbox_id: int, policy: SendPolicy, due_only: bool,
           now: datetime) -> tuple[str, TelegramOutbox] | None:
    token = secrets.token_hex(16)
    with session_scope() as session:
        claimed = session.execute(
            update(TelegramOutbox).where(TelegramOutbox.id == outbox_id, _claimable(now, due_only))
            .values(state="sending", claim_token=token, claim_expires_at=now + timedelta(seconds=policy.lease))
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return None  # another sender has it, or it is done
        return token, session.get(TelegramOutbox, outbox_id, populate_existing=True)


def _record(outbox_id: int, token: str, result: DeliveryResult) -> DeliveryResult | None:
    """Store a round's outcome if we still hold the claim; schedule the next round or give up."""
    now = utcnow()
    with session_scope() as session:
        row = session.scalars(select(TelegramOutbox).where(
            TelegramOutbox.id == outbox_id, TelegramOutbox.claim_token == token).with_for_update()).one_or_none()
        if row is None:
            log.warning("telegram_outbox_lease_lost", outbox_id=outbox_id)
            return None
        row.attempts += result.attempts
        row.rounds += 1
        row.claim_token = row.claim_expires_at = None
        row.error = result.error
        if result.state == "sent":
            row.state, row.message_id, row.sent_at = "sent", str(result.message_id), now
        elif result.state == "failed" or row.rounds >= MAX_ROUNDS:
            row.state = "failed"
        else:
            row.state = "pending"
            delay = max(result.retry_after or 0.0, ROUND_DELAYS[row.rounds - 1])
            row.next_attempt_at = now + timedelta(seconds=delay)
        final = DeliveryResult(kind=row.kind, ref_id=row.ref_id, state=row.state, attempts=row.attempts,
                               message_id=result.message_id, error=row.error)
        hook = _hooks.get(row.kind)
        if hook is not None:
            hook(session, final)
        return final


def deliver(outbox_id: int | None, *, delivery: Delivery | None = None, due_only: bool = False,
            now: datetime | None = None,
            sleep: Callable[[float], object] = time.sleep) -> DeliveryResult | None:
    """Claim one outbox row, run one round of attempts, record it; None when not claimed."""
    if outbox_id is None:
        return None
    policy = SendPolicy.from_settings()
    try:
        claim = _claim(outbox_id, policy, due_only, now or utcnow())
        if claim is None:
            return None
        token, row = claim
        bot = bot_from_settings()
        if bot is None:
            result = DeliveryResult(row.kind, row.ref_id, "failed", 0, None, NOT_CONFIGURED)
        else:
            result = send_round(lambda: bot.send_message(row.chat_id, row.text, row.reply_markup),
                                row.kind, row.ref_id, policy, sleep)
        final = _record(outbox_id, token, result)
    except Exception as exc:  # noqa: BLE001 - the worker retries what is left
        log.warning("telegram_delivery_failed", outbox_id=outbox_id, error_type=type(exc).__name__,
                    error=str(exc)[:200])
        return None
    if final is not None and delivery is not None:
        delivery.state, delivery.error, delivery.message_id = final.state, final.error, final.message_id
    return final


def retry_due_notifications(now: datetime | None = None, *, limit: int = 20,
                            sleep: Callable[[float], object] = time.sleep) -> int:
    """Send outbox rows whose retry is due (or whose sender died); the number of rounds run."""
    now = now or utcnow()
    with session_scope(writer=False) as session:
        ids = session.scalars(select(TelegramOutbox.id).where(_claimable(now, True))
                              .order_by(TelegramOutbox.next_attempt_at, TelegramOutbox.id).limit(limit)).all()
    done = 0
    for outbox_id in ids:
        if deliver(outbox_id, due_only=True, now=now, sleep=sleep) is not None:
            done += 1
    return done
