"""64 concurrent requests against a real server: the event loop never blocks, runs finalise once."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from autopack.db.models import RunEvent
from autopack.main import create_app
from tests.conftest import run_payload
from tests.runs.helpers import rows


@pytest.fixture
def live_server(monkeypatch):
    """Serve a fresh app on a free loopback port in a background thread."""
    monkeypatch.setenv("AUTOPACK_RATE_LIMIT_ENABLED", "0")
    from autopack.core.settings import get_settings

    get_settings.cache_clear()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_sixty_four_concurrent_mixed_requests(live_server):
    base = live_server
    with httpx.Client(base_url=base) as c:
        assert c.post("/runs/start", json=run_payload("conc", tiers=4, phases_per_tier=8)).status_code == 201

    async def fire():
        async with httpx.AsyncClient(base_url=base, timeout=60,
                                     limits=httpx.Limits(max_connections=64)) as c:
            tasks = []
            for i in range(64):
                kind = i % 4
                if kind == 0:
                    tasks.append(c.get("/runs/conc"))
                elif kind == 1:
                    tasks.append(c.get("/health"))
                elif kind == 2:
                    phase = f"F{(i // 4) % 4 + 1}.{(i // 16) % 8 + 1}"
                    tasks.append(c.post(f"/runs/conc/phases/{phase}/update_status", json={"state": "EXECUTING"}))
                else:
                    tasks.append(c.post("/runs/start", json=run_payload(f"conc-{i}", tiers=1, phases_per_tier=3)))
            return await asyncio.gather(*tasks)

    responses = asyncio.run(fire())
    expected = {0: 200, 1: 200, 2: 200, 3: 201}
    assert [r.status_code for r in responses] == [expected[i % 4] for i in range(64)]
    assert all(r.json()["status"] == "healthy" for r in responses[1::4])
    assert all(len(r.json()["phases"]) == 32 for r in responses[0::4])


def test_concurrent_completion_finalises_exactly_once(live_server):
    base = live_server
    with httpx.Client(base_url=base) as c:
        assert c.post("/runs/start", json=run_payload("race", tiers=2, phases_per_tier=8)).status_code == 201
    phases = [f"F{t}.{p}" for t in (1, 2) for p in range(1, 9)]

    async def fire():
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            return await asyncio.gather(*[
                c.post(f"/runs/race/phases/{pid}/update_status", json={"state": "COMPLETE"}) for pid in phases
            ])

    assert {r.status_code for r in asyncio.run(fire())} == {200}
    with httpx.Client(base_url=base) as c:
        run = c.get("/runs/race").json()
    assert run["state"] == "DONE_SUCCESS"
    assert [t["state"] for t in run["tiers"]] == ["COMPLETE", "COMPLETE"]
    finals = [e for e in rows(RunEvent, run_id="race", entity="run") if e.to_state == "DONE_SUCCESS"]
    assert len(finals) == 1


def test_two_thousand_concurrent_updates_keep_the_rollups_exact(live_server):
    """Counters and sums kept by difference equal a recount from every phase; the ledger verifies."""
    from random import Random

    from autopack.audit.service import verify_ledger
    from autopack.core.database import session_scope
    from autopack.db.models import Run, Tier
    from autopack.runs.service import recount
    from autopack.runs.states import BUCKET_NAMES, PhaseCounts, derive_tier_state

    base = live_server
    payload = run_payload("rollups", tiers=4, phases_per_tier=10)
    payload["run"].update(token_cap=10**12, max_phases=1000)
    with httpx.Client(base_url=base) as c:
        assert c.post("/runs/start", json=payload).status_code == 201
    phases = [p["phase_id"] for p in payload["phases"]]
    rng = Random(7)
    updates = [(rng.choice(phases), {"state": rng.choice(["QUEUED", "EXECUTING", "GATE", "CI_RUNNING", "COMPLETE",
                                                          "FAILED", "SKIPPED"]),
                                     "tokens_used": rng.randrange(0, 5000),
                                     "minor_issues_count": rng.randrange(0, 4)}) for _ in range(2000)]

    async def fire():
        async with httpx.AsyncClient(base_url=base, timeout=120,
                                     limits=httpx.Limits(max_connections=32)) as c:
            gate = asyncio.Semaphore(32)

            async def one(phase, body):
                async with gate:
                    if body["tokens_used"] % 10 == 0:  # now and then an issue, which recounts the phase's
                        return await c.post(f"/runs/rollups/phases/{phase}/record_issue", params={
                            "issue_key": f"k{body['tokens_used'] % 7}", "severity": "major",
                            "source": "test", "category": "x"})
                    return await c.post(f"/runs/rollups/phases/{phase}/update_status", json=body)

            return await asyncio.gather(*[one(phase, body) for phase, body in updates])

    assert {r.status_code for r in asyncio.run(fire())} == {200}
    with session_scope(writer=False) as session:
        expected = recount(session, "rollups")
        run = session.get(Run, "rollups")
        assert {k: getattr(run, k) for k in expected["run"]} == expected["run"]
        for tier in session.query(Tier).filter(Tier.run_id == "rollups"):
            assert {k: getattr(tier, k) for k in expected["tiers"][tier.id]} == expected["tiers"][tier.id]
            counts = PhaseCounts(**{k: expected["tiers"][tier.id][k] for k in BUCKET_NAMES})
            assert tier.state == derive_tier_state(counts)
        assert verify_ledger(session).ok
