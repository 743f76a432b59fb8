"""GET /dashboard/models and POST /dashboard/models/override: persisted global and per-run overrides."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from autopack.audit.service import verify_ledger
from autopack.core.database import session_scope
from autopack.db.models import AuditEvent, ModelOverride
from tests.dashboard.helpers import start
from tests.runs.helpers import count


def _cell(mappings, role, category, complexity):
    return next(m for m in mappings if (m["role"], m["category"], m["complexity"]) == (role, category, complexity))


def _override(client, **body):
    return client.post("/dashboard/models/override", json={
        "role": "builder", "category": "tests", "complexity": "low", "model": "gpt-4o", "scope": "global",
        **body})


def test_builtin_mapping_is_the_reference_table(client):
    response = client.get("/dashboard/models")
    assert response.status_code == 200
    mappings = response.json()
    assert len(mappings) == 30  # 2 roles x (4 categories + general) x 3 complexities
    assert set(mappings[0]) == {"role", "category", "complexity", "model", "scope"}
    assert [m["category"] for m in mappings[:15:3]] == [
        "external_feature_reuse", "security_auth_change", "schema_contract_change", "tests", "general"]
    assert _cell(mappings, "auditor", "security_auth_change", "high")["model"] == "claude-opus-4-5"
    assert _cell(mappings, "auditor", "tests", "low")["model"] == "claude-sonnet-4-5"  # falls to complexity
    assert {m["scope"] for m in mappings} == {"global"}


def test_global_override_is_persisted_audited_and_survives_a_new_app(client, make_client):
    response = _override(client, role="auditor", category="general", complexity="high", model="gpt-5")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Global model mapping updated", "scope": "global", "run_id": None, "role": "auditor",
        "category": "general", "complexity": "high", "model": "gpt-5", "previous_model": None}
    fresh = make_client()  # a new application instance reads the stored override
    mappings = fresh.get("/dashboard/models").json()
    assert _cell(mappings, "auditor", "general", "high") == {
        "role": "auditor", "category": "general", "complexity": "high", "model": "gpt-5", "scope": "global"}
    # Replacing keeps one row and reports the previous model.
    again = _override(client, role="auditor", category="general", complexity="high", model="gpt-5.1")
    assert again.json()["previous_model"] == "gpt-5"
    assert count(ModelOverride) == 1
    with session_scope(writer=False) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "dashboard.model_override_set")
                                 .order_by(AuditEvent.global_seq)).all()
        assert [e.details["model"] for e in events] == ["gpt-5", "gpt-5.1"]
        assert events[1].details["previous_model"] == "gpt-5" and events[0].actor == "anonymous"
    with session_scope(writer=True) as session:
        assert verify_ledger(session).ok


def test_run_override_only_changes_that_run(client, started_run):
    other = start(client, "other-run")
    _override(client, model="global-model")
    response = _override(client, model="run-model", scope="run", run_id=started_run)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Run model mapping updated"
    assert response.json()["run_id"] == started_run
    mine = client.get(f"/dashboard/models?run_id={started_run}").json()
    assert _cell(mine, "builder", "tests", "low") == {
        "role": "builder", "category": "tests", "complexity": "low", "model": "run-model", "scope": "run",
        "run_id": started_run}
    assert _cell(mine, "builder", "tests", "medium")["scope"] == "global"
    theirs = client.get(f"/dashboard/models?run_id={other}").json()
    assert _cell(theirs, "builder", "tests", "low") == {
        "role": "builder", "category": "tests", "complexity": "low", "model": "global-model", "scope": "global"}
    assert _cell(client.get("/dashboard/models").json(), "builder", "tests", "low")["model"] == "global-model"


def test_new_category_is_listed_after_configured_ones(client):
    _override(client, category="docs", complexity="medium", model="claude-opus-4-5")
    mappings = client.get("/dashboard/models").json()
    assert len(mappings) == 36
    assert _cell(mappings, "builder", "docs", "medium")["model"] == "claude-opus-4-5"
    assert _cell(mappings, "auditor", "docs", "low")["model"] == "claude-sonnet-4-5"


def test_paging(client):
    page = client.get("/dashboard/models?limit=5&offset=27").json()
    assert len(page) == 3 and page[0]["role"] == "auditor"
    assert client.get("/dashboard/models?limit=0").status_code == 422
    assert client.get("/dashboard/models?offset=-1").status_code == 422


def test_config_file(client, make_client, tmp_path, monkeypatch):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"complexity_models": {"low": {"builder": "cheap"}},
                                "category_models": {"frontend": {"auditor_model_override": "strict"}},
                                "defaults": {"high_risk_builder": "hr-b"}}))
    monkeypatch.setenv("AUTOPACK_MODELS_CONFIG", str(path))
    client = make_client()
    mappings = client.get("/dashboard/models").json()
    assert len(mappings) == 12  # (frontend, general) x 3 x 2
    assert _cell(mappings, "builder", "general", "low")["model"] == "cheap"
    assert _cell(mappings, "builder", "general", "high")["model"] == "hr-b"
    assert _cell(mappings, "auditor", "frontend", "medium")["model"] == "strict"
    assert _cell(mappings, "auditor", "general", "medium")["model"] == "claude-sonnet-4-5"
    path.write_text("[1, 2")
    response = client.get("/dashboard/models")
    assert response.status_code == 503 and "Model configuration" in response.json()["detail"]


@pytest.mark.parametrize("body,status", [
    ({"scope": "run"}, 400),  # run scope without run_id
    ({"scope": "global", "run_id": "demo-20260110-120000"}, 400),
    ({"scope": "run", "run_id": "missing"}, 404),
    ({"scope": "tenant"}, 422),
    ({"role": "doctor"}, 422),
    ({"complexity": "extreme"}, 422),
    ({"category": ""}, 422),
    ({"category": "a/b"}, 422),
    ({"model": "x" * 129}, 422),
    ({"model": "nul\x00"}, 422),
    ({"scope": "run", "run_id": "../etc"}, 422),
])
def test_bad_overrides_write_nothing(client, started_run, body, status):
    response = _override(client, **body)
    assert response.status_code == status, response.text
    assert count(ModelOverride) == 0
    assert count(AuditEvent, action="dashboard.model_override_set") == 0


def test_unknown_run_in_listing_is_404(client):
    assert client.get("/dashboard/models?run_id=missing").status_code == 404


def test_run_override_is_one_entry_with_its_run_id(client, started_run):
    _override(client, category="docs", complexity="high", model="run-only", scope="run", run_id=started_run)
    mine = client.get(f"/dashboard/models?run_id={started_run}").json()
    runs = [m for m in mine if m["scope"] == "run"]
    assert runs == [{"role": "builder", "category": "docs", "complexity": "high", "model": "run-only",
                     "scope": "run", "run_id": started_run}]
    assert all("run_id" not in m for m in mine if m["scope"] == "global")
    # Without run_id the run's override is not applied and its own category is not listed.
    assert all(m["category"] != "docs" for m in client.get("/dashboard/models").json())
