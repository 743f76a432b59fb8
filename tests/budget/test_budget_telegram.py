"""The budget request goes out on Telegram and its buttons decide it like any approval."""

from __future__ import annotations

from tests.budget.test_budget import budget_requests, move, run_row, start
from tests.telegram.conftest import bot_api, click, post_update  # noqa: F401 - bot_api is a fixture


def _buttons(bot) -> tuple[str, str, str]:
    [sent] = bot.calls_to("sendMessage")
    approve, reject = sent["reply_markup"]["inline_keyboard"][0]
    return sent["text"], approve["callback_data"], reject["callback_data"]


def test_approve_on_telegram_extends_the_budget(client, bot_api):  # noqa: F811
    start(client, token_cap=1000)
    move(client, "F1.1", "EXECUTING", tokens_used=1000)
    [request] = budget_requests()
    text, approve, _ = _buttons(bot_api)
    assert "budget_extension" in text and "token_cap" in text
    assert approve == f"pr_approve:{request.id}"
    response = post_update(client, click(approve, update_id=9001, username="ops_lead"))
    assert response.json() == {"ok": True, "action": "approve", "approval_id": request.id}
    run = run_row()
    assert (run.token_cap, run.budget_hold) == (1000 + 250, None)  # the proposed extension
    assert move(client, "F1.2", "EXECUTING").status_code == 200


def test_reject_on_telegram_stops_the_run(client, bot_api):  # noqa: F811
    start(client, token_cap=1000)
    move(client, "F1.1", "EXECUTING", tokens_used=1000)
    _, _, reject = _buttons(bot_api)
    post_update(client, click(reject, update_id=9002, username="ops_lead"))
    run = run_row()
    assert run.state == "DONE_FAILED_BUDGET_EXHAUSTED"
    assert run.failure_reason == "Budget exhausted (token_cap): extension rejected by telegram:@ops_lead"
