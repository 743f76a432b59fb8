"""A governance decision moves its phase the same way from a Telegram button as from the web."""

from __future__ import annotations

import json

import pytest

from autopack.db.models import GovernanceRequest, Phase, RunEvent
from autopack.telegram.callbacks import get_callback, unregister_callback
from tests.conftest import run_payload
from tests.governance.helpers import RUN_ID, all_rows, init_repo, make_patch, submit
from tests.telegram.conftest import click, post_update

MARKER = b"# approved change\n"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A git repository with the standard files, configured as the workspace."""
    root = init_repo(tmp_path / "workspace")
    monkeypatch.setenv("REPO_PATH", str(root))
    return root


def _phase() -> Phase:
    (phase,) = all_rows(Phase, run_id=RUN_ID, phase_id="F1.1")
    return phase


def _protected_request(client, repo) -> str:
    """A maintenance patch to a protected path: 422, the phase FAILED, a pending request."""
    assert client.post("/runs/start", json=run_payload(RUN_ID)).status_code == 201
    models = repo / "src/autopack/models.py"
    patch = make_patch(repo, lambda c: (c / "src/autopack/models.py").write_bytes(
        (c / "src/autopack/models.py").read_bytes() + MARKER))
    response = submit(client, patch)
    assert response.status_code == 422, response.text
    assert _phase().state == "FAILED"
    assert MARKER not in models.read_bytes()
    return json.loads(response.json()["detail"])["request_id"]


@pytest.mark.parametrize("channel", ["web", "telegram"])
def test_an_approval_applies_the_patch_and_moves_the_phase_to_gate(channel, make_client, workspace, bot_api):
    client = make_client()
    request_id = _protected_request(client, workspace)
    if channel == "web":
        response = client.post(f"/governance/approve/{request_id}", params={"user_id": "sec_lead"})
        assert response.status_code == 200 and response.json()["applied"] is True, response.text
        actor = "sec_lead"
    else:
        response = post_update(client, click(f"gov_approve:{request_id}", update_id=910001,
                                             username="sec_lead"))
        assert response.json() == {"ok": True, "action": "approved", "request_id": request_id}
        actor = "telegram:@sec_lead"
    assert MARKER in (workspace / "src/autopack/models.py").read_bytes()
    phase = _phase()
    assert phase.state == "GATE"
    (request,) = all_rows(GovernanceRequest, request_id=request_id)
    assert request.applied is True and request.approved_by == actor
    moves = [(e.from_state, e.to_state, e.actor) for e in all_rows(RunEvent, run_id=RUN_ID, phase_id="F1.1")]
    assert moves[-1] == ("FAILED", "GATE", actor)


def test_the_app_registers_the_buttons_where_it_is_assembled():
    from autopack.main import create_app

    for prefix in ("gov_approve", "gov_reject", "pr_approve", "pr_reject", "approve", "reject"):
        unregister_callback(prefix)
    create_app()
    assert all(get_callback(p) is not None for p in ("gov_approve", "gov_reject", "pr_approve", "pr_reject",
                                                     "approve", "reject"))
