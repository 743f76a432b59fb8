"""What production shows an anonymous caller: no database detail, no patch previews, no API map."""

from __future__ import annotations

import pytest

KEY = "prod-key-0123456789"


@pytest.fixture
def production(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    return make_client


def test_debug_db_identity_is_ignored_in_production(production, make_client, monkeypatch):
    monkeypatch.setenv("DEBUG_DB_IDENTITY", "1")
    body = production().get("/health").json()
    assert "db_identity_detail" not in body
    assert "sqlite" not in str(body).lower() and ".db" not in str(body)
    monkeypatch.setenv("AUTOPACK_ENV", "development")
    assert "db_identity_detail" in make_client().get("/health").json()  # still there for a developer


def test_pending_approvals_need_credentials_in_production(production, make_client, monkeypatch):
    client = production()
    body = {"run_id": "r", "phase_id": "p", "patch_preview": "--- a/secret.py\n+++ b/secret.py\n"}
    assert client.post("/approval/request", json=body, headers={"X-API-Key": KEY}).status_code == 200
    anonymous = client.get("/approval/pending")
    assert anonymous.status_code == 403 and "secret.py" not in anonymous.text
    assert client.get("/approval/pending", headers={"X-API-Key": "wrong"}).status_code == 403
    shown = client.get("/approval/pending", headers={"X-API-Key": KEY})
    assert shown.status_code == 200 and shown.json()["requests"][0]["patch_preview"].endswith("secret.py\n")
    monkeypatch.setenv("AUTOPACK_ENV", "development")
    monkeypatch.delenv("AUTOPACK_API_KEY")
    assert make_client().get("/approval/pending").status_code == 200  # the contract's Auth: None


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_api_docs_follow_docs_public(production, make_client, monkeypatch, path):
    assert production().get(path).status_code == 404
    monkeypatch.setenv("AUTOPACK_DOCS_PUBLIC", "1")
    assert make_client().get(path).status_code == 200
    monkeypatch.setenv("AUTOPACK_ENV", "development")
    monkeypatch.delenv("AUTOPACK_DOCS_PUBLIC")
    assert make_client().get(path).status_code == 200
    monkeypatch.setenv("AUTOPACK_DOCS_PUBLIC", "0")
    assert make_client().get(path).status_code == 404
