"""kill -9 in the middle of a mixed write load, then a restart: nothing answered is lost, nothing half
written shows, the workers settle what they had claimed, the ledger verifies; on the restarted server,
a race of run creations with one id (the other races with one winner live beside their areas' tests:
approvals, governance decisions, autopilot approve / dismiss / approve-all, phase updates of one run,
a budget extension against its timeout)."""

from __future__ import annotations

import signal
import sys
import threading
from collections import Counter
from contextlib import contextmanager

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import run_payload
from tests.live_server import free_port, wait_until_up
from tests.production.conftest import installation_env, new_database, run_here

PHASES = 3  # per run of the load: 1 tier of 3 phases


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    """A migrated installation of its own with the approval and autopilot workers on, fast."""
    root = tmp_path_factory.mktemp("crash")
    with new_database(root) as url:
        url = url or f"sqlite:///{root / 'data' / 'autopack.db'}"
        env = installation_env(root, url, AUTOPACK_APPROVAL_WORKER="1", AUTOPACK_APPROVAL_POLL_SECONDS="0.2",
                               AUTOPACK_AUTOPILOT_WORKER="1", AUTOPACK_AUTOPILOT_POLL_SECONDS="0.2",
                               AUTOPACK_AUTOPILOT_LEASE_SECONDS="1")
        assert run_here(env, "migrate").returncode == 0
        yield {"root": root, "url": url, "env": env}


@pytest.fixture
def here(installation, monkeypatch):
    """This process on the installation's database and data directory (helpers write through it)."""
    from autopack.core import database
    from autopack.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", installation["url"])
    monkeypatch.setenv("AUTOPACK_DATA_DIR", str(installation["root"] / "data"))
    get_settings.cache_clear()
    database.reset_engine()
    yield database.get_engine()
    monkeypatch.undo()
    get_settings.cache_clear()
    database.reset_engine()


@contextmanager
def _process(env, log):
    import subprocess

    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(proc, port, log, timeout=60)
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _load(base: str, answered: dict, stop: threading.Event, n: int) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        i = 0
        while not stop.is_set():
            run_id, i = f"crash-{n}-{i}", i + 1
            try:
                if client.post("/runs/start", json=run_payload(run_id, 1, PHASES)).status_code == 201:
                    answered["runs"].append(run_id)
                made = client.post("/approval/request", json={"run_id": run_id, "phase_id": "F1.1"})
                if made.status_code == 200:
                    answered["approvals"].append(made.json()["approval_id"])
                moved = client.post(f"/runs/{run_id}/phases/F1.1/update_status", json={"state": "COMPLETE"})
                if moved.status_code == 200:
                    answered["completed"].append(run_id)
            except httpx.HTTPError:
                return  # the server is gone


def _wait(engine, sql: str, want, tries: int = 300):
    got = None
    for _ in range(tries):
        with engine.connect() as conn:
            got = conn.execute(sa.text(sql)).scalar()
        if got == want:
            return got
        threading.Event().wait(0.1)
    return got


def test_kill_9_mid_load_loses_nothing_answered_and_workers_resume(installation, here):
    from tests.autopilot.execution.helpers import approved_action, make_tenant, seed

    tenant = make_tenant()
    seed(tenant, "c1", 100.0)
    claimed = approved_action(tenant, entity_id="c1", action_json={"new_budget": 120.0}, before={"daily_budget": 100.0})
    log = installation["root"] / "server.log"
    answered: dict[str, list] = {"runs": [], "approvals": [], "completed": []}
    with _process(installation["env"], log) as (proc, base):
        waiting = httpx.post(f"{base}/approval/request", json={"run_id": "none", "phase_id": "F1"}).json()
        stop = threading.Event()
        threads = [threading.Thread(target=_load, args=(base, answered, stop, n)) for n in range(3)]
        for thread in threads:
            thread.start()
        while len(answered["completed"]) < 8 and proc.poll() is None:
            threading.Event().wait(0.02)
        with here.begin() as conn:  # a worker "dies" holding a claim: applying, lease long gone
            conn.execute(sa.text("UPDATE autopilot_actions SET status = 'applying', claim_token = 'dead', "
                                 "claimed_at = :t, attempts = 1 WHERE id = :id"),
                         {"t": "2020-01-01 00:00:00", "id": claimed})
        proc.send_signal(signal.SIGKILL)  # in the middle of the load
        proc.wait()
        stop.set()
        for thread in threads:
            thread.join(30)
    assert len(answered["runs"]) >= 8

    with here.begin() as conn:  # the pending request is due by the time the server is back
        conn.execute(sa.text("UPDATE approval_requests SET timeout_at = :t WHERE id = :id"),
                     {"t": "2020-01-01 00:00:00", "id": waiting["approval_id"]})
    with _process(installation["env"], log) as (_, base):
        with here.connect() as conn:
            runs = dict(conn.execute(sa.text("SELECT id, state FROM runs")).all())
            phases = Counter(conn.execute(sa.text("SELECT run_id FROM phases")).scalars())
            approvals = set(conn.execute(sa.text("SELECT id FROM approval_requests")).scalars())
            audited = Counter(conn.execute(sa.text(
                "SELECT target_id FROM audit_events WHERE action = 'approval.requested'")).scalars())
            complete = set(conn.execute(sa.text("SELECT run_id FROM phases WHERE phase_id = 'F1.1' "
                                                "AND state = 'COMPLETE'")).scalars())
        assert set(answered["runs"]) <= set(runs)  # every 201 survived
        assert set(answered["approvals"]) <= approvals
        assert set(answered["completed"]) <= complete
        assert all(phases[run_id] == PHASES for run_id in runs)  # no run without all its phases
        assert all(audited[str(a)] == 1 for a in approvals)  # no request without its audit event
        settled = _wait(here, f"SELECT status FROM autopilot_actions WHERE id = '{claimed}'", "applied")
        assert settled == "applied"
        expired = _wait(here, f"SELECT status FROM approval_requests WHERE id = {waiting['approval_id']}", "timeout")
        assert expired == "timeout"
        assert httpx.get(f"{base}/runs/{answered['runs'][0]}").status_code == 200
        _one_run_id_has_one_winner(base, here)  # on the restarted server: one process start less
    verified = run_here(installation["env"], "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _one_run_id_has_one_winner(base: str, engine) -> None:
    """Eight concurrent creations of one run id: one 201, seven 400, one set of tiers and phases."""
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def create() -> None:
        barrier.wait(10)
        codes.append(httpx.post(f"{base}/runs/start", json=run_payload("same-id", 2, 2), timeout=30).status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(codes) == [201] + [400] * 7
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM phases WHERE run_id = 'same-id'")).scalar() == 4
        assert conn.execute(sa.text("SELECT count(*) FROM tiers WHERE run_id = 'same-id'")).scalar() == 2
