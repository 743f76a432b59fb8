"""POST /telegram/webhook: the secret, update_id deduplication, and every callback form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autopack.db.base import utcnow
from autopack.telegram.callbacks import CallbackResult, register_callback, unregister_callback
from tests.approvals.helpers import audit_trail, create, insert_pending, row
from tests.telegram.conftest import SECRET, click, post_update

FORBIDDEN = {"detail": "Invalid or missing Telegram webhook secret token"}


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
def test_wrong_or_missing_secret_is_403(client, bot_api, secret):
    approval_id = create(client)["approval_id"]
    response = post_update(client, click(f"pr_approve:{approval_id}"), secret=secret)
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert row(approval_id).status == "pending"


def test_production_without_a_secret_refuses_everything(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-0123456789abcdef")
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    client = make_client()
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "anything"}):
        response = client.post("/telegram/webhook", json=click("pr_approve:1"), headers=headers)
        assert (response.status_code, response.json()) == (403, FORBIDDEN)


def test_development_without_a_secret_is_open_as_the_reference(client):
    approval_id = create(client)["approval_id"]
    response = post_update(client, click(f"pr_reject:{approval_id}"), secret=None)
    assert response.json() == {"ok": True, "action": "reject", "approval_id": approval_id}


def test_pr_approve_decides_answers_and_edits(client, bot_api):
    approval_id = create(client)["approval_id"]
    response = post_update(client, click(f"pr_approve:{approval_id}", query_id="cbq-77", message_id=555))
    assert (response.status_code, response.json()) == (200, {"ok": True, "action": "approve",
                                                             "approval_id": approval_id})
    stored = row(approval_id)
    assert (stored.status, stored.response_method) == ("approved", "telegram")
    assert stored.approval_reason == "Approved by Telegram user @alice"
    assert stored.decided_by == "telegram:@alice"
    assert audit_trail(approval_id)[-1] == ("approval.approved", "telegram:@alice")
    [answer] = bot_api.calls_to("answerCallbackQuery")
    assert answer["callback_query_id"] == "cbq-77" and "Approved" in answer["text"]
    [edit] = bot_api.calls_to("editMessageText")
    assert edit["message_id"] == 555 and "APPROVED" in edit["text"] and "reply_markup" not in edit


def test_pr_reject_records_the_reference_reason(client, bot_api):
    approval_id = create(client)["approval_id"]
    assert post_update(client, click(f"pr_reject:{approval_id}", username="bob")).json()["action"] == "reject"
    stored = row(approval_id)
    assert (stored.status, stored.rejected_reason) == ("rejected", "Rejected by Telegram user @bob")


def test_duplicate_update_is_ignored(client, bot_api):
    first, second = create(client)["approval_id"], create(client)["approval_id"]
    assert post_update(client, click(f"pr_approve:{first}", update_id=9)).json()["ok"] is True
    # Telegram redelivers the same update; even with other data it is not acted on again.
    again = post_update(client, click(f"pr_reject:{second}", update_id=9))
    assert again.json() == {"ok": True, "duplicate": True}
    assert row(second).status == "pending"
    assert len(bot_api.calls_to("answerCallbackQuery")) == 1


def test_already_decided_changes_nothing_and_says_so(client, bot_api):
    approval_id = create(client)["approval_id"]
    post_update(client, click(f"pr_reject:{approval_id}", update_id=1))
    response = post_update(client, click(f"pr_approve:{approval_id}", update_id=2))
    assert response.json() == {"ok": True, "error": "approval_not_found"}
    assert row(approval_id).status == "rejected"
    assert bot_api.calls_to("answerCallbackQuery")[-1]["text"] == "Already decided: rejected"
    assert [a for a, _ in audit_trail(approval_id)].count("approval.approved") == 0


def test_timed_out_request_is_never_approved_by_a_late_click(client, bot_api):
    approval_id = insert_pending(timeout_at=utcnow() - timedelta(seconds=5), telegram_sent=True)
    response = post_update(client, click(f"pr_approve:{approval_id}"))
    assert response.json() == {"ok": True, "error": "approval_not_found"}
    assert row(approval_id).status == "timeout"
    assert bot_api.calls_to("answerCallbackQuery")[-1]["text"] == "Already decided: timeout"


def test_unknown_approval_id(client, bot_api):
    assert post_update(client, click("pr_approve:424242")).json() == {"ok": True, "error": "approval_not_found"}


def test_phase_form_approves_latest_pending_of_that_phase(client, bot_api):
    older = insert_pending(phase_id="F2.1", requested_at=utcnow() - timedelta(minutes=5))
    newer = insert_pending(phase_id="F2.1")
    other = insert_pending(phase_id="F2.2")
    response = post_update(client, click("approve:F2.1", message_id=777))
    assert response.json() == {"ok": True}
    assert row(newer).status == "approved"  # not the reference's "approveed"
    assert row(newer).telegram_message_id == "777"
    assert (row(older).status, row(other).status) == ("pending", "pending")
    post_update(client, click("reject:F2.1", update_id=2))
    assert row(older).status == "rejected"
    nothing = post_update(client, click("approve:F2.1", update_id=3))
    assert nothing.json() == {"ok": True}
    assert "not found or already processed" in bot_api.calls_to("answerCallbackQuery")[-1]["text"]


@pytest.mark.parametrize(("data", "error"), [
    ("garbage", "not enough values to unpack (expected 2, got 1)"),
    ("pr_approve:abc", "invalid literal for int() with base 10: 'abc'"),
    ("pr_reject:", "invalid literal for int() with base 10: ''"),
    ("pr_approve:99999999999", "approval id out of range"),
    ("approve:", "phase_id must be a non-empty string"),
])
def test_malformed_callback_data_is_ok_false_not_500(client, bot_api, data, error):
    response = post_update(client, click(data))
    assert (response.status_code, response.json()) == (200, {"ok": False, "error": error})


@pytest.mark.parametrize(("update", "answer"), [
    ({"update_id": 5}, {"ok": True}),
    ({"update_id": 5, "message": {"text": "hi"}}, {"ok": True}),
    ({"update_id": 5, "callback_query": "x"}, {"ok": True}),
    ({"update_id": "5", "callback_query": {"data": "pr_approve:1"}}, {"ok": False, "error": "invalid update_id"}),
    ([1, 2], {"ok": False, "error": "update must be a JSON object"}),
])
def test_odd_updates(client, bot_api, update, answer):
    response = client.post("/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert (response.status_code, response.json()) == (200, answer)


def test_invalid_json_is_400(client, bot_api):
    response = client.post("/telegram/webhook", content=b"{nope",
                           headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 400


def test_clicks_from_another_chat_decide_nothing(client, bot_api):
    approval_id = create(client)["approval_id"]
    response = post_update(client, click(f"pr_approve:{approval_id}", chat_id=-999))
    assert response.json() == {"ok": False, "error": "chat_not_allowed"}
    assert row(approval_id).status == "pending"


def test_user_without_username_is_identified_by_id(client, bot_api):
    approval_id = create(client)["approval_id"]
    post_update(client, click(f"pr_approve:{approval_id}", username=None, user_id=31337))
    assert row(approval_id).decided_by == "telegram:id:31337"


def test_other_packages_register_their_own_prefixes(client, bot_api):
    seen = []

    def gov_approve(session, ctx):
        seen.append((ctx.argument, ctx.actor))
        return CallbackResult({"ok": True, "request_id": ctx.argument}, answer="done", edit_text="<b>done</b>")

    register_callback("gov_approve", gov_approve)
    try:
        response = post_update(client, click("gov_approve:ab12cd34"))
    finally:
        unregister_callback("gov_approve")
    assert response.json() == {"ok": True, "request_id": "ab12cd34"}
    assert seen == [("ab12cd34", "telegram:@alice")]
    assert bot_api.calls_to("editMessageText")[-1]["text"] == "<b>done</b>"
    unknown = post_update(client, click("gov_approve:ab12cd34", update_id=2))
    assert unknown.json() == {"ok": True, "error": "unknown_action"}


def test_same_update_delivered_twice_at_once_acts_once(client, bot_api):
    import threading

    from autopack.telegram.webhook import handle_update

    approval_id = create(client)["approval_id"]
    update = click(f"pr_approve:{approval_id}", update_id=4242)
    barrier, results = threading.Barrier(4), []

    def deliver() -> None:
        barrier.wait()
        results.append(handle_update(update))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results, key=str) == sorted(
        [{"ok": True, "action": "approve", "approval_id": approval_id}] + [{"ok": True, "duplicate": True}] * 3,
        key=str)
    assert [a for a, _ in audit_trail(approval_id)].count("approval.approved") == 1


def test_old_update_ids_are_pruned():
    from autopack.core.database import session_scope
    from autopack.db.models import TelegramUpdate
    from autopack.telegram.webhook import prune_updates

    with session_scope() as session:
        session.add(TelegramUpdate(update_id=1, received_at=utcnow() - timedelta(days=8)))
        session.add(TelegramUpdate(update_id=2, received_at=utcnow() - timedelta(hours=1)))
    assert prune_updates() == 1
    assert prune_updates() == 0
    with session_scope(writer=False) as session:
        assert [u.update_id for u in session.query(TelegramUpdate)] == [2]
