"""Credentials are stored encrypted; the key is shared; events persist and page."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import text

from autopack.core import secrets as core_secrets
from autopack.core.database import get_engine, session_scope
from autopack.core.errors import NotFound
from autopack.core.settings import get_settings
from autopack.oauth import crypto, service
from tests.oauth.conftest import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN, SECRETS, credential, register


def _raw_row(provider: str) -> dict:
    with get_engine().connect() as conn:
        row = conn.execute(text("SELECT * FROM oauth_credentials WHERE provider = :p"), {"p": provider})
        return dict(row.mappings().one())


def test_secrets_are_encrypted_at_rest_and_decrypt_back():
    register("github")
    raw = _raw_row("github")
    dumped = repr(raw)
    for secret in SECRETS:
        assert secret not in dumped
    assert raw["client_secret_encrypted"].startswith("gAAAAA")  # a Fernet token
    assert crypto.decrypt(raw["client_secret_encrypted"]) == CLIENT_SECRET
    assert crypto.decrypt(raw["refresh_token_encrypted"]) == REFRESH_TOKEN
    assert crypto.decrypt(raw["access_token_encrypted"]) == ACCESS_TOKEN
    # Same plaintext, different ciphertext each time (random IV).
    assert crypto.encrypt(REFRESH_TOKEN) != crypto.encrypt(REFRESH_TOKEN)


def test_public_view_has_no_secrets_only_flags():
    register("github", refresh_token=None)
    out = service.credential_out(credential("github"))
    flags = (out["has_client_secret"], out["has_access_token"], out["has_refresh_token"])
    assert flags == (True, True, False)
    assert out["scopes"] == ["repo", "read:user"] and out["client_id"] == "client-1"
    assert not any(secret in repr(out) for secret in SECRETS)


def test_generated_key_file_is_private_and_reused_by_another_process(monkeypatch):
    monkeypatch.delenv("AUTOPACK_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    register("github")
    key_file = get_settings().data_dir / core_secrets.SECRET_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    stored = _raw_row("github")["refresh_token_encrypted"]
    code = ("import sys; from autopack.oauth import crypto; "
            "sys.stdout.write(crypto.decrypt(sys.argv[1]))")
    env = {**os.environ, "AUTOPACK_DATA_DIR": str(get_settings().data_dir)}
    env.pop("AUTOPACK_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "-c", code, stored], env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout == REFRESH_TOKEN


def test_configured_secret_key_is_used_and_a_different_key_cannot_decrypt(monkeypatch):
    monkeypatch.setenv("AUTOPACK_SECRET_KEY", "first-secret-key-for-tests-0123456789")
    get_settings.cache_clear()
    register("github")
    stored = _raw_row("github")["refresh_token_encrypted"]
    assert crypto.decrypt(stored) == REFRESH_TOKEN
    monkeypatch.setenv("AUTOPACK_SECRET_KEY", "another-secret-key-for-tests-987654321")
    get_settings.cache_clear()
    with pytest.raises(crypto.CredentialDecryptError):
        crypto.decrypt(stored)


def test_replacing_a_credential_resets_its_history_and_logs_events():
    register("github")
    with session_scope() as session:
        cred = service.get_credential(session, "github")
        cred.consecutive_failures, cred.total_failures, cred.last_refresh_result = 3, 5, "invalid_grant"
    register("github", refresh_token="rt-Replacement")
    cred = credential("github")
    assert (cred.consecutive_failures, cred.total_failures, cred.last_refresh_result) == (0, 0, None)
    assert crypto.decrypt(cred.refresh_token_encrypted) == "rt-Replacement"
    with session_scope(writer=False) as session:
        page = service.list_events(session, provider="github", limit=10)
    assert [(e["event_type"], e["details"]["replaced"]) for e in page["events"]] == [
        ("registered", False), ("registered", True)]


def test_remove_keeps_events_and_unknown_is_404():
    register("github")
    with session_scope() as session:
        assert service.remove_credential(session, "github", actor="test") == {
            "status": "success", "provider": "github", "message": "Credential removed for github"}
    assert _raw_row_count() == 0
    with session_scope(writer=False) as session:
        page = service.list_events(session, provider="github", limit=10)
    assert [e["event_type"] for e in page["events"]] == ["registered", "removed"]
    with pytest.raises(NotFound) as excinfo, session_scope() as session:
        service.remove_credential(session, "github", actor="test")
    assert excinfo.value.status_code == 404
    assert excinfo.value.detail == "No credential found for provider: github"


def _raw_row_count() -> int:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM oauth_credentials")).scalar_one()


def test_events_survive_a_new_engine_and_page_oldest_first():
    for i in range(7):
        register("github" if i % 2 == 0 else "google")
    from autopack.core import database

    database.reset_engine()  # a "restart": nothing is kept in memory
    with session_scope(writer=False) as session:
        last3 = service.list_events(session, provider=None, limit=3)
        github = service.list_events(session, provider="github", limit=100)
        older = service.list_events(session, provider=None, limit=3, before_id=last3["events"][0]["id"])
    assert last3["count"] == 3 and last3["provider_filter"] is None
    ids = [e["id"] for e in last3["events"]]
    assert ids == sorted(ids)
    assert [e["provider"] for e in last3["events"]] == ["github", "google", "github"]
    assert github["count"] == 4 and github["provider_filter"] == "github"
    assert {e["provider"] for e in github["events"]} == {"github"}
    assert [e["id"] for e in older["events"]] == [ids[0] - 3, ids[0] - 2, ids[0] - 1]
    first = last3["events"][0]
    assert set(first) == {"id", "timestamp", "provider", "event_type", "result", "details"}
    assert first["timestamp"].endswith("+00:00") and first["result"] is None


def test_undecryptable_secrets_fail_the_refresh_cleanly(monkeypatch, worker, token_server):
    monkeypatch.setenv("AUTOPACK_SECRET_KEY", "first-secret-key-for-tests-0123456789")
    get_settings.cache_clear()
    register("github", token_url=token_server.url)
    with session_scope() as session:
        service.request_refresh(session, "github", max_retries=3, actor="test")
    monkeypatch.setenv("AUTOPACK_SECRET_KEY", "rotated-without-re-encrypting-000000")
    get_settings.cache_clear()
    assert worker.run_once() == 1
    assert token_server.requests == []
    cred = credential("github")
    assert (cred.last_refresh_result, cred.last_error, cred.refresh_state) == (
        "unknown_error", "secret_not_decryptable", "idle")
    with session_scope(writer=False) as session:
        assert service.provider_health(session, "github")["status"] == "valid"  # reads never decrypt
        last = service.list_events(session, provider="github", limit=1)["events"][0]
    assert (last["event_type"], last["result"]) == ("refresh_failed", "unknown_error")
