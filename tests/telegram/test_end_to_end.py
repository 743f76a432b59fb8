"""The whole Telegram flow against the fake Bot API: request → message → click → decision → replies."""

from __future__ import annotations

from datetime import timedelta

from typer.testing import CliRunner

from autopack.approvals.timeouts import expire_due_requests
from autopack.cli import app as cli
from autopack.db.base import utcnow
from tests.approvals.helpers import audit_trail, create, insert_pending, row
from tests.telegram.conftest import CHAT_ID, SECRET, click, post_update


def test_request_click_approve_end_to_end(client, bot_api):
    answer = create(client)
    approval_id = answer["approval_id"]
    [sent] = bot_api.calls_to("sendMessage")
    approve_button = sent["reply_markup"]["inline_keyboard"][0][0]
    assert approve_button["text"].endswith("Approve")
    message_id = row(approval_id).telegram_message_id
    # Telegram calls the webhook with the button's data, the message it sat on, and the secret.
    update = click(approve_button["callback_data"], update_id=700001, username="ops_lead",
                   message_id=int(message_id), query_id="cbq-e2e")
    response = post_update(client, update)
    assert response.json() == {"ok": True, "action": "approve", "approval_id": approval_id}
    status = client.get(f"/approval/status/{approval_id}").json()
    assert (status["status"], status["response_method"], status["decided_by"]) == (
        "approved", "telegram", "telegram:@ops_lead")
    assert status["approval_reason"] == "Approved by Telegram user @ops_lead"
    assert bot_api.calls_to("answerCallbackQuery") == [
        {"callback_query_id": "cbq-e2e", "show_alert": False, "text": "✅ Approved"}]
    [edit] = bot_api.calls_to("editMessageText")
    assert (str(edit["chat_id"]), edit["message_id"]) == (CHAT_ID, int(message_id))
    assert "APPROVED" in edit["text"] and "@ops_lead" in edit["text"]
    assert audit_trail(approval_id) == [("approval.requested", "anonymous"),
                                        ("approval.approved", "telegram:@ops_lead")]
    # The executor's poll now sees "approved" and proceeds; a redelivery changes nothing.
    assert post_update(client, update).json() == {"ok": True, "duplicate": True}
    assert len(bot_api.calls_to("answerCallbackQuery")) == 1


def test_timeout_of_a_notified_request_sends_a_notice(client, bot_api):
    notified = insert_pending(timeout_at=utcnow() - timedelta(seconds=1), telegram_sent=True)
    silent = insert_pending(timeout_at=utcnow() - timedelta(seconds=1), telegram_sent=False)
    assert sorted(expire_due_requests()) == sorted([notified, silent])
    [notice] = bot_api.calls_to("sendMessage")
    assert f"Approval #{notified} timed out" in notice["text"] and "not approved" in notice["text"]
    assert "reply_markup" not in notice
    assert row(notified).status == "timeout"


def test_cli_set_webhook(bot_api):
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "https://autopack.example/telegram/webhook"])
    assert result.exit_code == 0, result.output
    assert bot_api.calls_to("setWebhook") == [{"url": "https://autopack.example/telegram/webhook",
                                               "secret_token": SECRET, "allowed_updates": ["callback_query"]}]


def test_cli_refuses_without_secret_or_https(bot_api, monkeypatch):
    from autopack.core.settings import get_settings

    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "http://autopack.example/telegram/webhook"])
    assert result.exit_code == 1 and "https://" in result.output
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "https://autopack.example/telegram/webhook"])
    assert result.exit_code == 1 and "TELEGRAM_WEBHOOK_SECRET is not set" in result.output
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "has spaces!")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "https://autopack.example/telegram/webhook"])
    assert result.exit_code == 1
    assert bot_api.calls_to("setWebhook") == []


def test_cli_reports_telegram_errors(bot_api):
    from tests.telegram.fake_bot_api import bad_request

    bot_api.queue("setWebhook", bad_request("Bad Request: bad webhook: Failed to resolve host"))
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "https://nowhere.invalid/telegram/webhook"])
    assert result.exit_code == 1
    assert "Failed to resolve host" in result.output
