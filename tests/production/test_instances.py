"""Two app instances (one of them with two worker processes) on one PostgreSQL and one Redis.

Already proven elsewhere with two processes: a shared rate limit (tests/ratelimit/test_shared_limits.py),
a shared login throttle (tests/auth/test_login_throttle_redis.py) and an event written through one
instance reaching a stream of the other (tests/events/test_live.py). Here: keys shared by
configuration, approval timeouts and autopilot executions claimed exactly once by the workers of
three processes, and concurrent audited writes through both instances leaving one verifying ledger.
"""

from __future__ import annotations

import os
import threading

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autopack.core.database import build_engine
from tests.conftest import BACKEND, run_payload
from tests.production.conftest import installation_env, login, new_database, register, run_here, serve

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="several instances share PostgreSQL")
REDIS_URL = os.environ.get("AUTOPACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUESTS = 40


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except Exception:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis unreachable at {REDIS_URL} (required under CI=true)")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Instances A (--workers 2) and B: separate data directories, keys shared through configuration."""
    _redis_or_skip()
    root = tmp_path_factory.mktemp("pair")
    key = root / "jwt.pem"
    key.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with new_database(root) as url:
        shared = {"AUTOPACK_SECRET_KEY": "shared-secret-" + "x" * 32, "JWT_PRIVATE_KEY_FILE": str(key),
                  "AUTOPACK_RATE_LIMIT_STORAGE": REDIS_URL, "AUTOPACK_RATE_LIMIT_PREFIX": f"pair-{os.getpid()}",
                  "AUTOPACK_APPROVAL_WORKER": "1", "AUTOPACK_APPROVAL_POLL_SECONDS": "0.2",
                  "AUTOPACK_AUTOPILOT_WORKER": "1", "AUTOPACK_AUTOPILOT_POLL_SECONDS": "0.2"}
        env_a = installation_env(root / "a", url, **shared)
        env_b = installation_env(root / "b", url, **shared)
        assert run_here(env_a, "migrate").returncode == 0
        with serve(env_a, root / "a.log", "--workers", "2") as a, serve(env_b, root / "b.log") as b:
            register(b, "ops", "a long enough password")
            yield {"a": a, "b": b, "url": url, "env_a": env_a, "env_b": env_b, "shared": shared}


def test_a_token_issued_by_one_instance_is_accepted_by_the_other(pair):
    token = login(pair["a"], "ops", "a long enough password")
    me = httpx.get(f"{pair['b']}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "ops"
    assert httpx.get(f"{pair['b']}/api/auth/me", headers={"Authorization": f"Bearer {token}x"}).status_code == 401


def _concurrent_requests(pair) -> list[int]:
    ids: list[int] = []
    lock = threading.Lock()

    def work(base: str, offset: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            for n in range(offset, REQUESTS, 2):
                answer = client.post("/approval/request", json={"run_id": "pair-run", "phase_id": f"F{n}"})
                assert answer.status_code == 200, answer.text
                with lock:
                    ids.append(answer.json()["approval_id"])

    threads = [threading.Thread(target=work, args=(pair[side], i)) for i, side in enumerate("ab")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return ids


def test_writes_through_both_leave_one_ledger_and_each_timeout_happens_once(pair):
    assert httpx.post(f"{pair['a']}/runs/start", json=run_payload("pair-run", 1, 1)).status_code == 201
    ids = _concurrent_requests(pair)
    assert len(set(ids)) == REQUESTS
    engine = build_engine(pair["url"].replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:  # all due now: three processes' workers race for them
            conn.execute(sa.text("UPDATE approval_requests SET timeout_at = now() - interval '1 second'"))
        deadline = threading.Event()
        for _ in range(300):
            with engine.connect() as conn:
                left = conn.execute(sa.text("SELECT count(*) FROM approval_requests WHERE status = 'pending'")).scalar()
            if left == 0:
                break
            deadline.wait(0.1)
        with engine.connect() as conn:
            statuses = conn.execute(sa.text("SELECT status, count(*) FROM approval_requests GROUP BY status")).all()
            timeouts = conn.execute(sa.text(
                "SELECT target_id, count(*) FROM audit_events WHERE action = 'approval.timed_out' "
                "GROUP BY target_id")).all()
    finally:
        engine.dispose()
    assert dict(statuses) == {"timeout": REQUESTS}
    assert sorted(int(t) for t, _ in timeouts) == sorted(ids)
    assert {n for _, n in timeouts} == {1}  # each expired exactly once
    for env in (pair["env_a"], pair["env_b"]):
        verified = run_here(env, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.fixture
def on_pair_database(pair, monkeypatch):
    """This process's engine on the pair's database (the execution helpers write through it)."""
    from autopack.core import database
    from autopack.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", pair["url"])
    monkeypatch.setenv("AUTOPACK_SECRET_KEY", pair["shared"]["AUTOPACK_SECRET_KEY"])  # seals as the servers do
    get_settings.cache_clear()
    database.reset_engine()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    database.reset_engine()


def test_each_approved_autopilot_action_is_executed_once_by_three_processes(pair, on_pair_database):
    from sqlalchemy import func, select

    from autopack.core.database import session_scope
    from autopack.db.models import AutopilotAction
    from autopack.db.models.campaigns import PlatformRequest
    from tests.autopilot.execution.helpers import approved_action, make_tenant, seed, transitions

    tenant = make_tenant()
    ids = []
    for n in range(16):
        seed(tenant, f"c{n}", 100.0)
        ids.append(approved_action(tenant, entity_id=f"c{n}", action_json={"new_budget": 110.0},
                                   before={"daily_budget": 100.0}))
    waiting = threading.Event()
    for _ in range(300):
        with session_scope(writer=False) as session:
            left = session.scalar(select(func.count()).select_from(AutopilotAction)
                                  .where(AutopilotAction.id.in_(ids), AutopilotAction.status != "applied"))
        if left == 0:
            break
        waiting.wait(0.1)
    assert left == 0
    assert all(transitions(i) == [("approved", "applying"), ("applying", "applied")] for i in ids)
    with session_scope(writer=False) as session:
        sent = session.execute(select(PlatformRequest.attempts, PlatformRequest.state)
                               .where(PlatformRequest.tenant_id == tenant)).all()
    assert sorted(sent) == [(1, "confirmed")] * 16  # each change sent to the platform once
