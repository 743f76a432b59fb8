"""A tenant's autopilot page: what each role sees, every form through the API's rules, CSRF, isolation."""

from __future__ import annotations

import pytest

from autopack.core.database import session_scope
from autopack.db.models import AutopilotAction, EnforcementAuditLog
from autopack.db.scope import scoped
from tests.auth.helpers import bearer
from tests.auth.helpers import make_user as token_user
from tests.web.helpers import PASSWORD, enter, page_csrf, tenant


@pytest.fixture(autouse=True)
def no_execution_worker(monkeypatch):
    monkeypatch.setenv("AUTOPACK_AUTOPILOT_WORKER", "0")


@pytest.fixture
def acme():
    return tenant("acme")


def queue(client, tenant_id: int, entity: str = "c-1", name: str = "Summer") -> str:
    """Queue a pause action through the API as a fresh operator; returns its id."""
    from autopack.core.database import session_scope as scope
    from autopack.db.models import User
    from autopack.tenants import service as tenants

    user_id, token = token_user(f"bot-{entity}", PASSWORD)
    with scope() as session:
        tenants.set_member(session, tenants.get_tenant(session, tenant_id), session.get(User, user_id), "operator",
                           "test")
    body = {"action_type": "pause_campaign", "entity_type": "campaign", "entity_id": entity, "entity_name": name,
            "platform": "meta", "action_json": {"type": "pause_campaign"}}
    response = client.post(f"/api/v1/tenant/{tenant_id}/autopilot/actions", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["requires_approval"] is True
    return response.json()["data"]["action"]["id"]


def statuses(tenant_id: int) -> dict[str, str]:
    with session_scope(writer=False) as session:
        return {a.id: a.status for a in session.scalars(scoped(AutopilotAction, tenant_id))}


def audit_rows(tenant_id: int) -> list[str]:
    with session_scope(writer=False) as session:
        return [row.id for row in session.scalars(scoped(EnforcementAuditLog, tenant_id))]


def url(tenant_id: int, path: str = "") -> str:
    return f"/ui/tenants/{tenant_id}/autopilot{path}"


def test_roles_see_only_their_controls(client, acme):
    queue(client, acme.id)
    enter(client, acme.members["viewer"])
    viewer = client.get(url(acme.id))
    assert viewer.status_code == 200
    assert "pause_campaign" in viewer.text and "Summer" in viewer.text
    assert ">Approve<" not in viewer.text and "Save settings" not in viewer.text and "kill switch" not in viewer.text
    client.cookies.clear()
    enter(client, acme.members["operator"])
    operator = client.get(url(acme.id))
    assert ">Approve<" in operator.text and "Approve selected" in operator.text
    assert "Save settings" not in operator.text and 'data-testid="kill-switch"' not in operator.text
    client.cookies.clear()
    enter(client, acme.members["admin"])
    admin = client.get(url(acme.id))
    assert "Save settings" in admin.text and 'data-testid="kill-switch"' in admin.text and "Add rule" in admin.text
    assert "admin in Acme" in admin.text  # header: the role in the current tenant


def test_viewer_posts_are_refused_and_change_nothing(client, acme):
    action_id = queue(client, acme.id)
    logs = audit_rows(acme.id)
    enter(client, acme.members["viewer"])
    csrf = page_csrf(client, url(acme.id))
    for path, form in ((f"/actions/{action_id}/approve", {}), (f"/actions/{action_id}/dismiss", {}),
                       ("/actions/approve-selected", {"action_ids": action_id}),
                       ("/enforcement/kill-switch", {"enabled": "false", "reason": "x"}),
                       ("/freeze", {"reason": "x"}), ("/enforcement/settings", {"default_mode": "hard_block"}),
                       ("/enforcement/rules", {"rule_id": "r1", "rule_type": "budget_exceeded",
                                               "threshold_value": "1"})):
        response = client.post(url(acme.id, path), data={"csrf_token": csrf, **form})
        assert response.status_code == 403, path
        assert "requires the" in response.text, path
    assert statuses(acme.id) == {action_id: "queued"}
    assert audit_rows(acme.id) == logs


def test_non_members_and_other_tenants_are_refused(client, acme):
    other = tenant("globex", roles=("admin",))
    action_id = queue(client, acme.id)
    enter(client, other.members["admin"])
    assert client.get(url(acme.id)).status_code == 403
    csrf = page_csrf(client, url(other.id))
    assert client.post(url(acme.id, f"/actions/{action_id}/approve"), data={"csrf_token": csrf}).status_code == 403
    # its own tenant's page cannot reach acme's action either
    assert client.post(url(other.id, f"/actions/{action_id}/approve"), data={"csrf_token": csrf}).status_code == 404
    assert client.get(url(other.id) + f"?action={action_id}").status_code == 404
    assert statuses(acme.id) == {action_id: "queued"}


def test_operator_approves_dismisses_and_approves_selected(client, acme):
    a, b, c, d = (queue(client, acme.id, f"c-{n}") for n in range(4))
    enter(client, acme.members["operator"])
    csrf = page_csrf(client, url(acme.id))
    assert client.post(url(acme.id, f"/actions/{a}/approve"), data={}).status_code == 403  # no CSRF token
    assert statuses(acme.id)[a] == "queued"
    done = client.post(url(acme.id, f"/actions/{a}/approve"), data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == url(acme.id) + f"?action={a}"
    client.post(url(acme.id, f"/actions/{b}/dismiss"), data={"csrf_token": csrf})
    client.post(url(acme.id, "/actions/approve-selected"), data={"csrf_token": csrf, "action_ids": [c, d]})
    assert statuses(acme.id) == {a: "approved", b: "dismissed", c: "approved", d: "approved"}
    again = client.post(url(acme.id, f"/actions/{a}/approve"), data={"csrf_token": csrf})
    assert again.status_code == 400 and "approved" in again.text
    assert client.post(url(acme.id, "/actions/approve-selected"), data={"csrf_token": csrf}).status_code == 400
    assert client.post(url(acme.id, "/actions/not-a-uuid/approve"), data={"csrf_token": csrf}).status_code == 400
    detail = client.get(url(acme.id) + f"?action={a}")
    assert 'data-testid="action-status">approved<' in detail.text and "user:acme-operator" in detail.text


def test_admin_changes_settings_rules_kill_switch_and_freeze(client, acme):
    enter(client, acme.members["admin"])
    csrf = page_csrf(client, url(acme.id))
    base = {"csrf_token": csrf}
    assert client.post(url(acme.id, "/enforcement/settings"),
                       data={**base, "default_mode": "soft_block", "max_daily_budget": "250",
                             "roas_lookback_days": "7"}).status_code == 200
    settings = client.get(f"/api/v1/tenant/{acme.id}/autopilot/enforcement/settings",
                          headers=bearer(token_of(acme.members["admin"]))).json()["data"]["settings"]
    assert (settings["default_mode"], settings["max_daily_budget"], settings["roas_lookback_days"]) == \
        ("soft_block", 250.0, 7)
    bad = client.post(url(acme.id, "/enforcement/settings"), data={**base, "roas_lookback_days": "900"})
    assert bad.status_code == 400 and "roas_lookback_days" in bad.text
    assert client.post(url(acme.id, "/enforcement/settings"), data={**base, "max_daily_budget": "lots"}
                       ).status_code == 400
    page = client.post(url(acme.id, "/enforcement/rules"),
                       data={**base, "rule_id": "cap-1", "rule_type": "budget_exceeded", "threshold_value": "100",
                             "enforcement_mode": "advisory", "enabled": "on"})
    assert "cap-1" in page.text
    assert client.post(url(acme.id, "/enforcement/rules"), data={**base, "rule_id": "cap-1",
                       "rule_type": "budget_exceeded", "threshold_value": "100"}).status_code == 409
    assert client.post(url(acme.id, "/enforcement/rules/cap-1/delete"), data=base).status_code == 200
    assert client.post(url(acme.id, "/enforcement/rules/cap-1/delete"), data=base).status_code == 404
    assert client.post(url(acme.id, "/enforcement/kill-switch"), data={**base, "enabled": "false"}).status_code == 400
    off = client.post(url(acme.id, "/enforcement/kill-switch"),
                      data={**base, "enabled": "false", "reason": "runaway spend"})
    assert 'data-testid="banner">Kill switch on: enforcement is off for tenant Acme<' in off.text
    assert "runaway spend" in off.text  # the intervention log
    frozen = client.post(url(acme.id, "/freeze"), data={**base, "reason": "<b>incident</b>"})
    assert "Autopilot frozen for tenant Acme (&lt;b&gt;incident&lt;/b&gt;)" in frozen.text
    assert "banner" in client.get("/ui/runs").text  # the banner is on every page
    client.post(url(acme.id, "/unfreeze"), data=base)
    client.post(url(acme.id, "/enforcement/kill-switch"), data={**base, "enabled": "true", "reason": "fixed"})
    assert 'data-testid="banner"' not in client.get("/ui/runs").text


def token_of(username: str) -> str:
    response_token = None
    from autopack.auth.service import find_user
    from autopack.auth.tokens import issue_access_token

    with session_scope(writer=False) as session:
        response_token = issue_access_token(find_user(session, username))
    return response_token


def test_tenant_switcher_goes_to_the_tenant(client, acme):
    enter(client, acme.members["viewer"])
    page = client.get("/ui/runs")
    assert f'<option value="{acme.id}"' in page.text and "Acme (viewer)" in page.text
    response = client.get(f"/ui/tenant?tenant_id={acme.id}", follow_redirects=False)
    assert response.headers["location"] == url(acme.id)
    assert client.get("/ui/tenant?tenant_id=abc").status_code == 422
