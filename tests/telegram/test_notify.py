"""New pending requests notify Telegram after the commit, with bounded retries; failures lose nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import TelegramOutbox
from autopack.telegram import notifier
from tests.approvals.helpers import create, row
from tests.telegram.conftest import CHAT_ID
from tests.telegram.fake_bot_api import TOKEN, bad_request, rate_limited, server_error, slow


def outbox() -> list[TelegramOutbox]:
    """Every outbox row, oldest first."""
    with session_scope(writer=False) as session:
        return list(session.scalars(select(TelegramOutbox).order_by(TelegramOutbox.id)))


def test_pending_request_sends_message_with_buttons(client, bot_api):
    answer = create(client, phase_id="F1_risky<b>")
    approval_id = answer["approval_id"]
    assert answer["telegram_sent"] is True
    [sent] = bot_api.calls_to("sendMessage")
    assert sent["chat_id"] == CHAT_ID and sent["parse_mode"] == "HTML"
    buttons = sent["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == [f"pr_approve:{approval_id}", f"pr_reject:{approval_id}"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    text = sent["text"]
    assert "Autopack Approval Needed" in text and f"#{approval_id}" in text
    assert "F1_risky&lt;b&gt;" in text  # caller-supplied text is escaped, never markup
    assert answer["payload_sha256"][:16] in text
    assert "…and 1 more" in text  # four files: three shown
    stored = row(approval_id)
    assert (stored.telegram_sent, stored.notify_state, stored.notify_attempts) == (True, "sent", 1)
    assert stored.telegram_message_id is not None and stored.telegram_error is None
    assert [o.state for o in outbox()] == ["sent"]


def test_transient_errors_are_retried_within_the_request(client, bot_api):
    bot_api.queue("sendMessage", server_error(), server_error(502))
    answer = create(client)
    assert answer["telegram_sent"] is True
    assert len(bot_api.calls_to("sendMessage")) == 3
    assert row(answer["approval_id"]).notify_attempts == 3


def test_rate_limit_honours_retry_after(client, bot_api):
    bot_api.queue("sendMessage", rate_limited(1))
    answer = create(client)
    first, second = bot_api.times_of("sendMessage")
    assert second - first >= 0.95  # waited as told, not the 10 ms backoff
    assert answer["telegram_sent"] is True


def test_timeouts_are_retried(client, bot_api):
    bot_api.queue("sendMessage", slow(1.5))
    answer = create(client)
    assert answer["telegram_sent"] is True
    assert len(bot_api.calls_to("sendMessage")) == 2


def test_failed_send_keeps_the_request_and_the_worker_retries(client, bot_api):
    bot_api.queue("sendMessage", *[server_error()] * 3)
    answer = create(client)
    approval_id = answer["approval_id"]
    assert answer["status"] == "pending" and answer["telegram_sent"] is False
    stored = row(approval_id)
    assert (stored.status, stored.telegram_sent, stored.notify_state) == ("pending", False, "pending")
    assert stored.telegram_error == "Failed to send Telegram notification: HTTP 500: Internal Server Error"
    assert TOKEN not in stored.telegram_error
    assert client.get(f"/approval/status/{approval_id}").json()["status"] == "pending"
    [queued] = outbox()
    assert queued.state == "pending" and queued.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert notifier.retry_due_notifications() == 0  # not due yet
    assert notifier.retry_due_notifications(utcnow() + timedelta(seconds=31)) == 1
    assert len(bot_api.calls_to("sendMessage")) == 4
    stored = row(approval_id)
    assert (stored.telegram_sent, stored.notify_state, stored.telegram_error) == (True, "sent", None)
    assert client.get("/approval/pending").json()["requests"][0]["telegram_sent"] is True


def test_permanent_error_is_not_retried(client, bot_api):
    bot_api.queue("sendMessage", bad_request())
    answer = create(client)
    assert answer["telegram_sent"] is False
    assert len(bot_api.calls_to("sendMessage")) == 1
    stored = row(answer["approval_id"])
    assert stored.notify_state == "failed"
    assert stored.telegram_error.endswith("HTTP 400: Bad Request: chat not found")
    assert notifier.retry_due_notifications(utcnow() + timedelta(days=1)) == 0


def test_retries_are_bounded(client, bot_api):
    bot_api.queue("sendMessage", *[server_error()] * 100)
    approval_id = create(client)["approval_id"]
    later = utcnow()
    for _ in range(notifier.MAX_ROUNDS + 2):
        later += timedelta(hours=1)
        notifier.retry_due_notifications(later)
    assert len(bot_api.calls_to("sendMessage")) == 3 * notifier.MAX_ROUNDS
    assert row(approval_id).notify_state == "failed"


def test_a_sender_that_died_is_taken_over(client, bot_api):
    bot_api.queue("sendMessage", *[server_error()] * 3)
    approval_id = create(client)["approval_id"]
    with session_scope() as session:  # as if a process claimed it and died mid-send
        item = session.scalars(select(TelegramOutbox)).one()
        item.state, item.claim_token = "sending", "dead-process"
        item.claim_expires_at = utcnow() - timedelta(seconds=1)
    assert notifier.retry_due_notifications() == 1
    assert row(approval_id).telegram_sent is True


def test_unreachable_api_is_recorded(client, bot_api, monkeypatch):
    from autopack.core.settings import get_settings

    monkeypatch.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:9")  # nothing listens on the discard port
    get_settings.cache_clear()
    answer = create(client)
    assert answer["telegram_sent"] is False
    error = row(answer["approval_id"]).telegram_error
    assert error.startswith("Failed to send Telegram notification: network error") and TOKEN not in error


def test_not_configured_sends_nothing(client, bot_api, monkeypatch):
    from autopack.core.settings import get_settings

    monkeypatch.delenv("TELEGRAM_CHAT_ID")
    get_settings.cache_clear()
    answer = create(client)
    assert answer["telegram_sent"] is False
    assert bot_api.calls == [] and outbox() == []
    assert row(answer["approval_id"]).notify_state == "skipped"


def test_a_rolled_back_transaction_notifies_nobody(bot_api):
    try:
        with session_scope() as session:
            notifier.notify_pending(session, kind="governance", ref_id="abc12345", text="hello",
                                    buttons=[("Approve", "gov_approve:abc12345")])
            raise RuntimeError("the request failed after queueing")
    except RuntimeError:
        pass
    assert bot_api.calls == [] and outbox() == []


def test_notify_pending_for_other_kinds(bot_api):
    with session_scope() as session:
        delivery = notifier.notify_pending(session, kind="governance", ref_id="abc12345", text="<b>gov</b>",
                                           buttons=[("Approve", "gov_approve:abc12345"),
                                                    ("Reject", "gov_reject:abc12345")])
        assert delivery.state == "pending"
    assert delivery.sent is True and delivery.message_id is not None
    [sent] = bot_api.calls_to("sendMessage")
    assert sent["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "gov_reject:abc12345"


def test_callback_data_over_64_bytes_is_refused(bot_api):
    import pytest

    with session_scope() as session, pytest.raises(ValueError):
        notifier.notify_pending(session, kind="governance", ref_id="x", text="t",
                                buttons=[("Approve", "gov_approve:" + "é" * 30)])


def test_hostile_text_still_fits_one_message(client, bot_api):
    amp = "&" * 128
    answer = create(client, run_id=amp, phase_id=amp, context="&" * 128,
                    decision_info={("&" * 40) + str(i): "&" * 160 for i in range(6)},
                    deletion_info={"files": ["&" * 500] * 5, "risk_level": "&" * 50},
                    patch_preview="<" * 5000)
    assert answer["telegram_sent"] is True
    [sent] = bot_api.calls_to("sendMessage")
    assert len(sent["text"]) <= 4000
    assert answer["payload_sha256"][:16] in sent["text"] and "Times out" in sent["text"]
