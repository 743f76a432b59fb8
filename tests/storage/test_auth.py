"""Who may scan, read, decide and execute: attempts to get around each privilege."""

from __future__ import annotations

import pytest

from autopack.auth.apikeys import create_key
from autopack.core.database import session_scope
from autopack.db.models import Tenant
from tests.auth.helpers import bearer, make_user
from tests.storage.conftest import put

KEY = "instance-key-for-storage-tests"


@pytest.fixture
def keyed(storage_root, make_client, monkeypatch):
    """A development app with AUTOPACK_API_KEY set, and a scan with one candidate."""
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    client = make_client()
    put(storage_root / "old.log")
    response = client.post("/storage/scan", json={"scan_type": "directory", "scan_target": str(storage_root)},
                           headers={"X-API-Key": KEY})
    assert response.status_code == 200, response.text
    return client, response.json()["id"]


def _tenant_key() -> str:
    with session_scope() as session:
        tenant = Tenant(slug="acme", name="Acme")
        session.add(tenant)
        session.flush()
        return create_key(session, name="t", tenant_id=tenant.id, role="admin").raw


def test_every_storage_write_needs_a_privileged_credential(keyed):
    client, scan_id = keyed
    ids = [c["id"] for c in client.get(f"/storage/scans/{scan_id}", headers={"X-API-Key": KEY}).json()["candidates"]]
    _, user_token = make_user("plain")
    decide = {"candidate_ids": ids, "approved_by": "x", "decision": "approve"}
    calls = [("post", "/storage/scan", {"scan_type": "directory", "scan_target": "/tmp"}),
             ("post", f"/storage/scans/{scan_id}/approve", decide),
             ("post", f"/storage/scans/{scan_id}/execute", {"dry_run": False}),
             ("post", f"/storage/scans/{scan_id}/restore", {}),
             ("post", f"/storage/scans/{scan_id}/cancel", None),
             ("post", "/storage/learned-rules/1/approve?approved_by=x", None)]
    attempts = {"none": {}, "wrong key": {"X-API-Key": "nope"}, "bearer key": {"Authorization": f"Bearer {KEY}"},
                "plain user": bearer(user_token), "tenant key": {"X-API-Key": _tenant_key()}}
    for method, path, body in calls:
        for name, headers in attempts.items():
            response = getattr(client, method)(path, json=body, headers=headers)
            assert response.status_code in (401, 403), (path, name, response.status_code)
    assert candidates_state(client, scan_id) == ["pending"]  # nothing decided by any of them
    ok = client.post(f"/storage/scans/{scan_id}/approve", json=decide, headers={"X-API-Key": KEY})
    assert ok.status_code == 200


def candidates_state(client, scan_id):
    body = client.get(f"/storage/scans/{scan_id}", headers={"X-API-Key": KEY}).json()
    return [c["approval_status"] for c in body["candidates"]]


def test_scan_reads_need_the_key_once_one_is_configured(keyed):
    client, scan_id = keyed
    for path in ("/storage/scans", f"/storage/scans/{scan_id}"):
        assert client.get(path).status_code == 403
        assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 403
        assert client.get(path, headers={"X-API-Key": KEY}).status_code == 200


def test_production_needs_a_key_for_reads_and_a_superuser_jwt_may_decide(storage_root, make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    client = make_client()
    for path in ("/storage/scans", "/storage/learned-rules", "/storage/recommendations", "/storage/steam/games"):
        assert client.get(path).status_code in (401, 403), path
    _, admin = make_user("root", superuser=True)
    put(storage_root / "a.log")
    response = client.post("/storage/scan", json={"scan_type": "directory", "scan_target": str(storage_root)},
                           headers=bearer(admin))
    assert response.status_code == 200
    detail = client.get(f"/storage/scans/{response.json()['id']}", headers={"X-API-Key": KEY}).json()
    assert len(detail["candidates"]) == 1
