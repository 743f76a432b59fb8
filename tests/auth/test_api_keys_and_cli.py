"""Database-backed API keys and the identity CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from typer.testing import CliRunner

from autopack.auth import apikeys
from autopack.cli import app as cli
from autopack.core.database import session_scope
from autopack.db.models import ApiKey, User
from tests.conftest import run_payload
from tests.runs.helpers import rows

runner = CliRunner()


def create_key(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["apikeys", "create", "--name", "ci", *args])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    return int(lines["id"]), lines["key"]


def test_key_is_shown_once_and_stored_hashed(client):
    key_id, raw = create_key("--superuser")
    assert raw.startswith("autopack_sk_") and len(raw) > 40
    (record,) = rows(ApiKey)
    assert raw not in (record.key_hash, record.prefix) and len(record.key_hash) == 64
    assert raw.startswith(record.prefix)
    listed = runner.invoke(cli, ["apikeys", "list"]).stdout
    assert record.prefix in listed and raw not in listed


def test_db_key_opens_key_endpoints_and_revocation_is_immediate(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "env-key-123456")
    client = make_client()
    key_id, raw = create_key()
    response = client.post("/runs/start", json=run_payload(), headers={"X-API-Key": raw})
    assert response.status_code == 201
    assert runner.invoke(cli, ["apikeys", "revoke", str(key_id)]).exit_code == 0
    response = client.post("/runs/start", json=run_payload("second"), headers={"X-API-Key": raw})
    assert response.status_code == 403
    assert rows(ApiKey)[0].last_used_at is not None


def test_unknown_and_malformed_keys_are_refused(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "env-key-123456")
    client = make_client()
    for key in ("autopack_sk_" + "A" * 43, "nonsense", "x" * 5000):
        response = client.post("/runs/start", json=run_payload(), headers={"X-API-Key": key})
        assert response.status_code == 403


def test_revoking_unknown_key_fails(client):
    result = runner.invoke(cli, ["apikeys", "revoke", "999"])
    assert result.exit_code == 1 and "not found" in result.output


def test_users_create_reads_password_from_stdin_not_argv(client):
    result = runner.invoke(cli, ["users", "create", "root", "--email", "root@example.com", "--superuser",
                                 "--password-stdin"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    with session_scope(writer=False) as session:
        user = session.query(User).one()
        assert user.is_superuser and user.hashed_password.startswith("$argon2")
    login = client.post("/api/auth/login", data={"username": "root", "password": "a-long-password"})
    assert login.status_code == 200
    too_short = runner.invoke(cli, ["users", "create", "u2", "--email", "u2@example.com", "--password-stdin"],
                              input="short\n")
    assert too_short.exit_code == 1
    duplicate = runner.invoke(cli, ["users", "create", "ROOT", "--email", "x@example.com", "--password-stdin"],
                              input="a-long-password\n")
    assert duplicate.exit_code == 1 and "already registered" in duplicate.output


def test_users_create_prompts_with_confirmation(client):
    result = runner.invoke(cli, ["users", "create", "carol", "--email", "carol@example.com"],
                           input="pass-word-1\npass-word-1\n")
    assert result.exit_code == 0, result.output


def test_generated_signing_key_is_private_and_shared_across_processes(client):
    from autopack.auth.keys import key_dir, keyring

    kid = keyring().active.kid
    pem = key_dir() / f"{kid}.pem"
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    code = "from autopack.auth.keys import keyring; print(keyring().active.kid)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                         check=True, timeout=60)
    assert out.stdout.strip() == kid


def test_configured_private_key_wins(make_client, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    monkeypatch.setenv("JWT_PRIVATE_KEY", pem.replace("\n", "\\n"))
    client = make_client()
    assert client.get("/api/auth/key-status").json()["source"] == "env"
    assert runner.invoke(cli, ["keys", "rotate"]).exit_code == 1


def test_hash_uses_the_server_secret(monkeypatch):
    from autopack.core.settings import get_settings

    first = apikeys.hash_key("autopack_sk_abc")
    monkeypatch.setenv("AUTOPACK_SECRET_KEY", "another-secret")
    get_settings.cache_clear()
    assert apikeys.hash_key("autopack_sk_abc") != first
