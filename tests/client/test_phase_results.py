"""The clients read what the executor reported: a phase's results, page after page, and its summary."""

from __future__ import annotations

import asyncio

import pytest

from autopack.client import AsyncClient, Client, NotFound
from autopack.phases.schemas import AuditorResultEntry, BuilderResultEntry
from tests.client.conftest import INSTANCE_KEY
from tests.conftest import run_payload

PATCH = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"


def _report(client, run_id: str) -> None:
    """Three builder attempts, an auditor review after each."""
    for attempt in (1, 2, 3):
        client.submit_builder_result(run_id, "F1.1", {
            "run_id": run_id, "phase_id": "F1.1", "status": "success", "builder_attempts": attempt,
            "files_changed": ["x.py"], "lines_added": attempt, "tokens_used": 10 * attempt})
        client.submit_auditor_result(run_id, "F1.1", {
            "run_id": run_id, "phase_id": "F1.1", "review_notes": f"review {attempt}", "auditor_attempts": attempt,
            "recommendation": "approve" if attempt == 3 else "revise",
            "suggested_patches": [{"description": "d", "patch_content": PATCH}]})


def test_phase_results_iterates_every_page_and_the_run_shows_the_summary(admin):
    admin.start_run(run_payload("reported-run", 1, 2))
    _report(admin, "reported-run")
    entries = list(admin.phase_results("reported-run", "F1.1", page_size=2))
    assert [(type(e), e.attempt) for e in entries] == [
        (BuilderResultEntry, 1), (AuditorResultEntry, 1), (BuilderResultEntry, 2), (AuditorResultEntry, 2),
        (BuilderResultEntry, 3), (AuditorResultEntry, 3)]
    assert entries[-1].recommendation == "approve" and entries[-2].lines_added == 3
    assert entries[1].suggested_patches[0].patch_content is None  # sizes unless asked
    full = list(admin.phase_results("reported-run", "F1.1", full=True))
    assert full[1].suggested_patches[0].patch_content == PATCH  # the instance key may read them
    assert list(admin.phase_results("reported-run", "F1.2")) == []
    with pytest.raises(NotFound):
        list(admin.phase_results("reported-run", "F9"))

    run = admin.get_run("reported-run")
    summary = run.phases[0].results_summary
    assert (summary.builder_attempts, summary.lines_added, summary.builder_tokens, summary.auditor_verdict) == (
        3, 3, 30, "approve")
    assert run.phases[1].results_summary is None


def test_full_results_refused_without_read_access(server, admin):
    admin.start_run(run_payload("reported-anon", 1, 1))
    _report(admin, "reported-anon")
    with Client(server, backoff=0.05) as anonymous:
        assert len(list(anonymous.phase_results("reported-anon", "F1.1"))) == 6  # public, as GET /runs/{id}
        with pytest.raises(Exception) as refused:
            list(anonymous.phase_results("reported-anon", "F1.1", full=True))
    assert refused.value.status_code in {401, 403}


def test_the_async_client_iterates_them_too(server, admin):
    admin.start_run(run_payload("reported-async", 1, 1))
    _report(admin, "reported-async")

    async def scenario():
        async with AsyncClient(server, api_key=INSTANCE_KEY) as client:
            return [(e.kind, e.attempt) async for e in client.phase_results("reported-async", "F1.1", page_size=4)]

    assert asyncio.run(scenario()) == [("builder", 1), ("auditor", 1), ("builder", 2), ("auditor", 2),
                                       ("builder", 3), ("auditor", 3)]
