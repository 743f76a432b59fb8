"""Governance requests on Telegram: message with buttons, gov_approve/gov_reject decide once."""

from __future__ import annotations

from tests.conftest import run_payload
from tests.telegram.conftest import click, post_update


def _request(client) -> str:
    assert client.post("/runs/start", json=run_payload("gov-tg", tiers=1, phases_per_tier=1)).status_code == 201
    response = client.post("/governance/request", json={
        "run_id": "gov-tg", "phase_id": "F1.1", "requested_paths": ["config/models.yaml", "<b>x</b>.py"],
        "justification": "needs a new model"})
    assert response.status_code == 201, response.text
    return response.json()["request_id"]


def test_new_request_sends_buttons_and_a_click_decides_once(client, bot_api):
    request_id = _request(client)
    [sent] = bot_api.calls_to("sendMessage")
    assert "Governance Request" in sent["text"] and "&lt;b&gt;x&lt;/b&gt;.py" in sent["text"]
    buttons = sent["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == [f"gov_approve:{request_id}", f"gov_reject:{request_id}"]
    response = post_update(client, click(buttons[0]["callback_data"], update_id=900001, username="sec_lead"))
    assert response.json() == {"ok": True, "action": "approved", "request_id": request_id}
    assert client.get("/governance/pending").json()["count"] == 0
    again = post_update(client, click(buttons[1]["callback_data"], update_id=900002, username="sec_lead"))
    assert again.json()["ok"] is True and "already decided" in again.json()["error"]
    [edit] = bot_api.calls_to("editMessageText")
    assert "approved" in edit["text"] and "@sec_lead" in edit["text"]


def test_unknown_or_malformed_governance_ids(client, bot_api):
    unknown = post_update(client, click("gov_reject:deadbeefdeadbeef", update_id=900010))
    assert unknown.json() == {"ok": True, "error": "Governance request not found"}
    bad = post_update(client, click("gov_approve:../../x", update_id=900011))
    assert bad.json()["ok"] is False
