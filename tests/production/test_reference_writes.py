"""Rows written the reference's way (straight SQL, the reference's columns only) still go in and work."""

from __future__ import annotations

import bcrypt
import pytest
import sqlalchemy as sa

from autopack.core.database import get_engine

# The columns the reference's ORM writes on every insert (autopack-reference.md §4: its models give
# each a value or a Python default). Any other NOT NULL column must have a server default.
REFERENCE_COLUMNS = {
    "users": {"username", "email", "hashed_password", "is_active", "is_superuser", "created_at", "updated_at"},
    "approval_requests": {"run_id", "phase_id", "context", "requested_at", "status", "telegram_sent"},
    "governance_requests": {"request_id", "run_id", "phase_id", "requested_paths", "auto_approved",
                            "created_at"},
    "llm_usage_events": {"provider", "model", "role", "total_tokens", "is_doctor_call", "created_at"},
    "token_efficiency_metrics": {"run_id", "phase_id", "artifact_substitutions", "tokens_saved_artifacts",
                                 "budget_mode", "budget_used", "budget_cap", "files_kept", "files_omitted",
                                 "created_at"},
    "phase6_metrics": {"run_id", "phase_id", "failure_hardening_triggered", "failure_hardening_mitigated",
                       "doctor_call_skipped", "doctor_tokens_avoided_estimate", "intention_context_injected",
                       "intention_context_chars", "plan_normalization_used", "plan_normalization_warnings",
                       "plan_deliverables_count", "plan_scope_size_bytes", "created_at"},
}
# Filled by a trigger from the username where the insert leaves it out (migration 0027).
FILLED_BY_TRIGGER = {"users": {"username_key"}}
NOW = "2026-01-10 12:00:00.000000"


@pytest.mark.parametrize("table", sorted(REFERENCE_COLUMNS))
def test_every_added_not_null_column_has_a_server_default(table):
    columns = sa.inspect(get_engine()).get_columns(table)
    missing = [c["name"] for c in columns
               if not c["nullable"] and c["default"] is None and c.get("autoincrement") is not True
               and c["name"] != "id" and c["name"] not in REFERENCE_COLUMNS[table]
               and c["name"] not in FILLED_BY_TRIGGER.get(table, ())]
    assert missing == []


def _insert(conn, table: str, **values) -> int:
    names = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    return conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({params}) RETURNING id"), values).scalar_one()


def test_executor_style_inserts_succeed_and_are_served(client, started_run):
    with get_engine().begin() as conn:
        approval = _insert(conn, "approval_requests", run_id=started_run, phase_id="F1.1", context="general",
                           requested_at=NOW, status="pending", telegram_sent=False)
        _insert(conn, "governance_requests", request_id="gov-ref-1", run_id=started_run, phase_id="F1.1",
                requested_paths='["src/autopack/main.py"]', auto_approved=False, created_at=NOW)
        _insert(conn, "llm_usage_events", provider="openai", model="gpt-4o", run_id=started_run, role="builder",
                total_tokens=120, prompt_tokens=100, completion_tokens=20, is_doctor_call=False, created_at=NOW)
        _insert(conn, "token_efficiency_metrics", run_id=started_run, phase_id="F1.1", artifact_substitutions=2,
                tokens_saved_artifacts=300, budget_mode="semantic", budget_used=10, budget_cap=20,
                files_kept=3, files_omitted=1, created_at=NOW)
        _insert(conn, "phase6_metrics", run_id=started_run, phase_id="F1.1", failure_hardening_triggered=True,
                failure_hardening_mitigated=False, doctor_call_skipped=True, doctor_tokens_avoided_estimate=50,
                intention_context_injected=False, intention_context_chars=0, plan_normalization_used=False,
                plan_normalization_warnings=0, plan_deliverables_count=0, plan_scope_size_bytes=0,
                created_at=NOW)
        row = conn.execute(sa.text("SELECT payload_sha256, notify_state, notify_attempts FROM approval_requests "
                                   "WHERE id = :id"), {"id": approval}).one()
    assert tuple(row) == ("", "skipped", 0)
    status = client.get(f"/approval/status/{approval}")
    assert status.status_code == 200 and status.json()["status"] == "pending"
    pending = client.get("/governance/pending").json()
    assert [r["request_id"] for r in pending["pending_requests"]] == ["gov-ref-1"]
    assert client.get(f"/dashboard/runs/{started_run}/token-efficiency").json()["total_phases"] == 1


def test_a_reference_bcrypt_user_logs_in_and_is_rehashed(client):
    hashed = bcrypt.hashpw(b"reference-pass", bcrypt.gensalt(10)).decode()
    with get_engine().begin() as conn:
        user_id = _insert(conn, "users", username="Alice", email="alice@example.com", hashed_password=hashed,
                          is_active=True, is_superuser=False, created_at=NOW, updated_at=NOW)
        keys = conn.execute(sa.text("SELECT username_key, token_key FROM users WHERE id = :id"),
                            {"id": user_id}).one()
    assert keys.username_key == "alice" and len(keys.token_key) == 32
    assert client.post("/api/auth/login", data={"username": "alice", "password": "wrong-pass"}).status_code == 401
    with get_engine().connect() as conn:
        assert conn.execute(sa.text("SELECT hashed_password FROM users")).scalar_one() == hashed  # unchanged
    token = client.post("/api/auth/login", data={"username": "Alice", "password": "reference-pass"})
    assert token.status_code == 200, token.text
    with get_engine().connect() as conn:
        stored = conn.execute(sa.text("SELECT hashed_password FROM users")).scalar_one()
    assert stored.startswith("$argon2id$")
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json()["username"] == "Alice"
    again = client.post("/api/auth/login", data={"username": "alice", "password": "reference-pass"})
    assert again.status_code == 200
