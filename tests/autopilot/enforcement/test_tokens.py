"""Confirmation tokens: HS256, bound, single use; reused/expired/foreign/tampered/other amount → 400."""

from __future__ import annotations

import threading
from datetime import timedelta

import jwt
import pytest

from autopack.autopilot import settings as store
from autopack.autopilot.enforcement import admin, service, tokens
from autopack.core.database import session_scope
from autopack.core.errors import EnvelopeError
from autopack.core.secrets import derive_key
from tests.autopilot.enforcement.helpers import make_tenant, proposal


def soft_tenant(slug: str = "acme"):
    tenant = make_tenant(slug)
    with session_scope() as session:
        store.update_enforcement_settings(session, tenant.id, {"default_mode": "soft_block"})
    return tenant


def soft_block(tenant_id: int, prop=None):
    with session_scope() as session:
        result = service.evaluate(session, tenant_id, prop or proposal(), actor="user:op")
    assert result.outcome == "soft_block"
    return result.confirmation_token


def redeem(tenant_id: int, token: str, prop=None):
    with session_scope() as session:
        return service.evaluate(session, tenant_id, prop or proposal(), actor="user:op", confirmation_token=token)


def confirm(tenant_id: int, token: str):
    with session_scope() as session:
        return admin.confirm(session, tenant_id, token, override_reason="Q4", actor="user:op", user_id=None)


def reason_of(call) -> str:
    with pytest.raises(EnvelopeError) as caught:
        call()
    assert (caught.value.status_code, caught.value.code) == (400, "INVALID_CONFIRMATION_TOKEN")
    assert caught.value.details["action_required"] == "re-check_enforcement"
    return caught.value.details["reason"]


def test_token_is_an_hs256_jwt_bound_to_the_proposal():
    tenant = soft_tenant()
    token = soft_block(tenant.id)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, derive_key(tokens.KEY_PURPOSE), algorithms=["HS256"])
    assert header["alg"] == "HS256"
    assert (claims["tid"], claims["act"], claims["ety"], claims["eid"]) == (tenant.id, "budget_increase",
                                                                            "campaign", "c-1")
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["vh"] == tokens.values_hash(proposal())


def test_confirm_then_redeem_once():
    tenant = soft_tenant()
    token = soft_block(tenant.id)
    assert confirm(tenant.id, token)["override_logged"] is True
    assert reason_of(lambda: confirm(tenant.id, token)) == "reused"
    result = redeem(tenant.id, token)
    assert (result.outcome, result.confirmed, result.allowed, result.confirmation_token) == (
        "soft_block", True, True, None)
    assert result.confirmation_jti == jwt.decode(token, options={"verify_signature": False})["jti"]
    assert reason_of(lambda: redeem(tenant.id, token)) == "reused"


def test_redeem_without_explicit_confirm_is_single_use():
    tenant = soft_tenant()
    token = soft_block(tenant.id)
    assert redeem(tenant.id, token).confirmed is True
    assert reason_of(lambda: redeem(tenant.id, token)) == "reused"
    assert reason_of(lambda: confirm(tenant.id, token)) == "reused"


def test_a_token_for_750_does_not_unlock_900():
    tenant = soft_tenant()
    token = soft_block(tenant.id, proposal(750.0))
    assert reason_of(lambda: redeem(tenant.id, token, proposal(900.0))) == "different_action"
    assert reason_of(lambda: redeem(tenant.id, token, proposal(750.0, entity_id="c-2"))) == "different_action"
    assert redeem(tenant.id, token, proposal(750.0)).confirmed is True  # the failed tries did not spend it


def test_expired_token(monkeypatch):
    tenant = soft_tenant()
    monkeypatch.setattr(tokens, "TOKEN_TTL", timedelta(seconds=-5))
    token = soft_block(tenant.id)
    assert reason_of(lambda: confirm(tenant.id, token)) == "expired"
    assert reason_of(lambda: redeem(tenant.id, token)) == "expired"


def test_foreign_tenant_token():
    mine, theirs = soft_tenant("mine"), soft_tenant("theirs")
    token = soft_block(theirs.id)
    assert reason_of(lambda: confirm(mine.id, token)) == "foreign_tenant"
    assert reason_of(lambda: redeem(mine.id, token)) == "foreign_tenant"


def test_tampered_tokens():
    tenant = soft_tenant()
    token = soft_block(tenant.id)
    claims = jwt.decode(token, derive_key(tokens.KEY_PURPOSE), algorithms=["HS256"])
    forged_amount = jwt.encode({**claims, "vh": tokens.values_hash(proposal(900.0))}, "wrong-key-" * 4,
                               algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    head, body, sig = token.split(".")
    flipped = ".".join([head, body, ("A" if sig[0] != "A" else "B") + sig[1:]])
    for bad in (forged_amount, unsigned, flipped, "not-a-jwt", "x" * 5000):
        assert reason_of(lambda bad=bad: redeem(tenant.id, bad, proposal(900.0))) == "malformed"
    unknown_jti = jwt.encode({**claims, "jti": "0" * 32}, derive_key(tokens.KEY_PURPOSE), algorithm="HS256")
    assert reason_of(lambda: confirm(tenant.id, unknown_jti)) == "unknown"  # not in the store: never valid


def test_record_false_checks_but_never_consumes():
    tenant = soft_tenant()
    token = soft_block(tenant.id)
    with session_scope(writer=False) as session:
        result = service.evaluate(session, tenant.id, proposal(), actor="worker", confirmation_token=token,
                                  record=False)
    assert (result.confirmed, result.audit_log_id) == (True, None)
    assert redeem(tenant.id, token).confirmed is True


def test_hard_block_ignores_the_token_and_logs_the_attempt():
    tenant = soft_tenant()
    token = soft_block(tenant.id)
    with session_scope() as session:
        store.update_enforcement_settings(session, tenant.id, {"default_mode": "hard_block"})
    result = redeem(tenant.id, token)
    assert (result.outcome, result.confirmed, result.allowed) == ("hard_block", False, False)


@pytest.mark.parametrize("operation", ["confirm", "redeem"])
def test_concurrent_double_use_one_wins(operation):
    tenant = soft_tenant()
    token = soft_block(tenant.id)
    barrier, outcomes = threading.Barrier(2), []

    def attempt():
        barrier.wait()
        try:
            (confirm if operation == "confirm" else redeem)(tenant.id, token)
            outcomes.append("ok")
        except EnvelopeError as exc:
            outcomes.append(exc.details["reason"])

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["ok", "reused"]


def test_old_tokens_are_dropped_on_the_next_issue(monkeypatch):
    from sqlalchemy import func, select

    from autopack.db.models import PendingConfirmationToken

    tenant = soft_tenant()
    monkeypatch.setattr(tokens, "TOKEN_TTL", -tokens.RETENTION - timedelta(minutes=1))
    soft_block(tenant.id)
    monkeypatch.setattr(tokens, "TOKEN_TTL", timedelta(minutes=15))
    soft_block(tenant.id)
    with session_scope(writer=False) as session:
        assert session.scalar(select(func.count()).select_from(PendingConfirmationToken)) == 1
