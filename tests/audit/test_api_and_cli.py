"""GET /audit/verify, GET /audit/events (superusers only) and `autopack audit verify`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from autopack.audit import service
from autopack.audit.anchor_file import anchor_path
from autopack.auth import apikeys
from autopack.cli import app as cli_app
from autopack.core.database import session_scope
from tests.audit.helpers import seed, tamper

ADMIN_KEY = "audit-admin-key-0123456789"


def body_written_at() -> str:
    """When the stored anchor was last written."""
    return json.loads(anchor_path().read_text())["written_at"]


@pytest.fixture
def admin(make_client, monkeypatch):
    """A client that sends the configured AUTOPACK_API_KEY (a superuser)."""
    monkeypatch.setenv("AUTOPACK_API_KEY", ADMIN_KEY)
    return make_client(headers={"X-API-Key": ADMIN_KEY})


@pytest.fixture
def plain_key() -> str:
    """A database API key without superuser rights."""
    with session_scope() as session:
        return apikeys.create_key(session, name="reader").raw


def test_verify_endpoint_reports_a_clean_and_a_broken_ledger(admin):
    ids = seed(["3", None, "3"])
    response = admin.get("/audit/verify")
    assert response.status_code == 200
    body = response.json()
    assert body.pop("anchor") == {"status": "ok", "source": "data_dir", "written_at": body_written_at(),
                                  "chains_compared": 2, "detail": None}
    assert body == {"ok": True, "chains_checked": 2, "events_checked": 3, "first_break": None}
    tamper(ids[2], action="test.rewritten")
    assert admin.get("/audit/verify").json()["first_break"] == {
        "chain": "global", "seq": 3, "event_id": ids[2], "reason": "hash_mismatch"}
    assert admin.get("/audit/verify", params={"tenant_id": "3"}).json()["first_break"] == {
        "chain": "tenant:3", "seq": 2, "event_id": ids[2], "reason": "hash_mismatch"}


def test_audit_endpoints_need_a_superuser(make_client, monkeypatch, plain_key):
    monkeypatch.setenv("AUTOPACK_API_KEY", ADMIN_KEY)
    client = make_client()
    for path in ("/audit/verify", "/audit/events"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": "wrong-key"}).status_code == 401
        forbidden = client.get(path, headers={"X-API-Key": plain_key})
        assert (forbidden.status_code, forbidden.json()["detail"]) == (403, "Admin privileges required")
        assert client.get(path, headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_audit_endpoints_stay_closed_in_development_without_a_key(client):
    assert client.get("/audit/verify").status_code == 401
    assert client.get("/audit/events").status_code == 401


def test_events_are_paged_with_a_cursor(admin):
    ids = seed([None] * 7)
    first = admin.get("/audit/events", params={"limit": 3}).json()
    assert [e["id"] for e in first["events"]] == ids[:3]
    assert first["next_cursor"] == 3
    second = admin.get("/audit/events", params={"limit": 3, "cursor": 3}).json()
    assert [e["global_seq"] for e in second["events"]] == [4, 5, 6]
    last = admin.get("/audit/events", params={"limit": 3, "cursor": second["next_cursor"]}).json()
    assert ([e["global_seq"] for e in last["events"]], last["next_cursor"]) == ([7], None)
    newest = admin.get("/audit/events", params={"limit": 2, "order": "desc"}).json()
    assert ([e["global_seq"] for e in newest["events"]], newest["next_cursor"]) == ([7, 6], 6)


def test_events_filter_by_tenant_and_action(admin):
    seed(["1", "2", "1"])
    with session_scope() as session:
        service.append_event(session, action="auth.login_failed", actor="anonymous", tenant_id="1",
                             details={"username": "alice"})
    by_tenant = admin.get("/audit/events", params={"tenant_id": "1"}).json()["events"]
    assert [(e["tenant_id"], e["tenant_seq"]) for e in by_tenant] == [("1", 1), ("1", 2), ("1", 3)]
    by_action = admin.get("/audit/events", params={"tenant_id": "1", "action": "auth.login_failed"}).json()
    event = by_action["events"][0]
    assert len(by_action["events"]) == 1
    assert (event["actor"], event["details"], event["global_seq"]) == ("anonymous", {"username": "alice"}, 4)
    assert len(event["global_hash"]) == 64
    assert datetime.fromisoformat(event["occurred_at"]).utcoffset() == timedelta(0)


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"cursor": -1}, {"cursor": 2**63},
                                    {"order": "sideways"}, {"tenant_id": "x" * 65}, {"tenant_id": ""}])
def test_bad_event_queries_are_rejected(admin, params):
    assert admin.get("/audit/events", params=params).status_code == 422


def test_cli_verify_exits_zero_on_a_clean_ledger_and_one_on_a_break():
    runner = CliRunner()
    ids = seed(["4", "4", None])
    clean = runner.invoke(cli_app, ["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    report = json.loads(clean.output)
    assert report.pop("anchor")["status"] == "ok"
    assert report == {"ok": True, "chains_checked": 2, "events_checked": 3, "first_break": None}
    tamper(ids[1], details={"n": "edited"})
    broken = runner.invoke(cli_app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert json.loads(broken.output)["first_break"] == {
        "chain": "global", "seq": 2, "event_id": ids[1], "reason": "hash_mismatch"}
    tenant = runner.invoke(cli_app, ["audit", "verify", "--tenant-id", "4"])
    assert tenant.exit_code == 1
    assert json.loads(tenant.output)["first_break"]["chain"] == "tenant:4"
    other = runner.invoke(cli_app, ["audit", "verify", "--tenant-id", "5"])
    assert (other.exit_code, json.loads(other.output)["ok"]) == (0, True)
