"""Every JSON answer of the app declares its schema; the hot answers (prebuilt JSON, never re-validated on
the request path) match their documented schemas exactly, so a renamed field fails here."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from autopack.autopilot.actions.schemas import ActionDecided, ActionQueued
from autopack.autopilot.enforcement.schemas import CheckResult
from autopack.core.answers import Envelope
from autopack.health.schemas import ServiceHealth
from autopack.phases.schemas import BuilderResultResponse, MessageResponse
from autopack.runs.schemas import PhaseStatusResponse, RunResponse
from autopack.usage.schemas import UsageBatchResponse
from tests.autopilot.core.conftest import create_tenant, proposal
from tests.conftest import run_payload

# Answers with no schema on purpose, each with its reason.
FREE_FORM = {
    # Telegram reads only the status of its webhook's answer; the body is a note for the logs.
    ("POST", "/telegram/webhook"),
}


def _json_answers(spec: dict):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.startswith("2") and "application/json" in content:
                    yield method.upper(), path, status, content["application/json"].get("schema", {})


def _declared(schema: dict) -> bool:
    return "$ref" in schema or (schema.get("type") == "array" and "$ref" in schema.get("items", {}))


def test_every_json_answer_declares_its_schema(client):
    answers = list(_json_answers(client.app.openapi()))
    missing = [(method, path, status) for method, path, status, schema in answers
               if not _declared(schema) and (method, path) not in FREE_FORM]
    assert missing == []
    assert FREE_FORM <= {(method, path) for method, path, _, _ in answers}  # no stale exemption
    assert len(answers) > 90


def test_event_streams_are_documented_as_server_sent_events(client):
    paths = client.app.openapi()["paths"]
    for path in ("/events", "/runs/{run_id}/events", "/api/v1/tenant/{tenant_id}/autopilot/events"):
        assert list(paths[path]["get"]["responses"]["200"]["content"]) == ["text/event-stream"]


def test_the_schema_modules_the_client_imports_load_neither_fastapi_nor_sqlalchemy():
    # Found on disk: walking the packages would import them (the database layer among them).
    probe = ("import importlib, pathlib, sys, autopack\n"
             "root = pathlib.Path(autopack.__file__).parent\n"
             "names = ['autopack.' + '.'.join(p.relative_to(root).with_suffix('').parts)"
             " for p in sorted(root.rglob('schemas.py'))]\n"
             "for name in names + ['autopack.core.answers', 'autopack.client']:\n"
             "    importlib.import_module(name)\n"
             "print(len(names), sorted(m for m in ('fastapi', 'sqlalchemy', 'starlette') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    count, loaded = result.stdout.strip().split(" ", 1)
    assert (result.returncode, loaded) == (0, "[]"), result.stderr
    assert int(count) >= 20


@pytest.fixture
def app_client(make_client, monkeypatch):
    """The development app with the execution worker off (actions stay where the test put them)."""
    monkeypatch.setenv("AUTOPACK_AUTOPILOT_WORKER", "0")
    return make_client()


def _exact(model, response, status: int = 200):
    assert response.status_code == status, response.text
    body = response.json()
    # Strict about unknown keys at every depth, whatever the schema's own setting.
    answer = model.model_validate(body, extra="forbid")
    _in_declared_order(answer, body)
    return answer


def _in_declared_order(answer, body: dict) -> None:
    """The answer's keys come in the order its schema declares them (down through nested schemas)."""
    declared = list(type(answer).model_fields)
    assert list(body) == [name for name in declared if name in body], (type(answer).__name__, list(body))
    for name in body:
        value = getattr(answer, name)
        if hasattr(value, "model_fields") and isinstance(body[name], dict):
            _in_declared_order(value, body[name])


def test_the_executors_hot_answers_match_their_schemas_exactly(app_client):
    health = _exact(ServiceHealth, app_client.get("/health"))
    assert health.status == "healthy"
    started = _exact(RunResponse, app_client.post("/runs/start", json=run_payload("hot-run", 1, 2)), 201)
    read = _exact(RunResponse, app_client.get("/runs/hot-run"))
    assert read.id == started.id == "hot-run" and [p.phase_id for p in read.tiers[0].phases] == ["F1.1", "F1.2"]
    moved = _exact(PhaseStatusResponse, app_client.post("/runs/hot-run/phases/F1.1/update_status",
                                                        json={"state": "EXECUTING"}))
    assert moved.phase["state"] == "EXECUTING"
    built = _exact(BuilderResultResponse, app_client.post("/runs/hot-run/phases/F1.1/builder_result", json={
        "run_id": "hot-run", "phase_id": "F1.1", "status": "success", "tokens_used": 10}))
    assert built.phase_id == "F1.1"
    _exact(MessageResponse, app_client.post("/runs/hot-run/phases/F1.1/auditor_result", json={
        "run_id": "hot-run", "phase_id": "F1.1", "review_notes": "fine", "recommendation": "approve"}))
    usage = _exact(UsageBatchResponse, app_client.post("/runs/hot-run/usage", json={"events": [
        {"provider": "openai", "model": "gpt", "role": "builder", "phase_id": "F1.1", "total_tokens": 7}]}), 201)
    assert usage.total_tokens == 7


def test_the_autopilots_hot_answers_match_their_schemas_exactly(app_client):
    acme = create_tenant("hot-acme")
    settings = app_client.put(acme.url("/enforcement/settings"), headers=acme.admin,
                              json={"default_mode": "advisory", "budget_increase_limit_pct": 10.0})
    assert settings.status_code == 200, settings.text
    check = _exact(Envelope[CheckResult], app_client.post(acme.url("/enforcement/check"), headers=acme.operator, json={
        "action_type": "budget_increase", "entity_type": "campaign", "entity_id": "c-9",
        "proposed_value": {"daily_budget": 600}, "current_value": {"daily_budget": 500}}))
    assert (check.data.outcome, check.data.allowed) == ("advisory", True)
    assert check.data.violations[0].type == "budget_increase_limit"
    queued = _exact(Envelope[ActionQueued], app_client.post(acme.url("/actions"), headers=acme.operator,
                                                           json=proposal()), 201)
    assert queued.data.enforcement.outcome == "advisory" and queued.data.action.status == "queued"
    approved = _exact(Envelope[ActionDecided], app_client.post(acme.url(f"/actions/{queued.data.action.id}/approve"),
                                                               headers=acme.operator))
    assert approved.data.action.status == "approved"


def test_a_renamed_answer_field_fails_validation(app_client):
    acme = create_tenant("renamed")
    body = app_client.post(acme.url("/enforcement/check"), headers=acme.operator, json={
        "action_type": "pause_campaign", "entity_type": "campaign", "entity_id": "c-1",
        "proposed_value": {"status": "paused"}}).json()
    Envelope[CheckResult].model_validate(body)
    body["data"]["is_allowed"] = body["data"].pop("allowed")
    with pytest.raises(ValidationError) as caught:
        Envelope[CheckResult].model_validate(body)  # the schema's own setting: unknown keys refused
    assert {e["type"] for e in caught.value.errors()} == {"missing", "extra_forbidden"}


def test_the_other_typed_answers_match_their_schemas_key_for_key(app_client):
    from autopack.auth.schemas import Jwks
    from autopack.autopilot.actions.schemas import ActionSummary, ApproveAllResult
    from autopack.autopilot.config.schemas import AutopilotStatus, ConfigChanged
    from autopack.autopilot.enforcement.schemas import (
        ConfirmationAccepted,
        InterventionLogPage,
        KillSwitchChanged,
        RuleAdded,
        RuleDeleted,
        SettingsRead,
        SettingsUpdated,
    )
    from autopack.autopilot.signal_health.schemas import DryRunResult, SignalHealth, SignalHealthRecorded
    from autopack.health.schemas import ServiceDocument
    from autopack.tenants.schemas import (
        MemberOut,
        MemberPage,
        MemberRemoved,
        Membership,
        TenantOut,
        TenantPage,
    )
    from tests.auth.helpers import bearer, make_user

    acme = create_tenant("typed")
    admin, call = acme.admin, app_client.request
    _exact(ServiceDocument, call("GET", "/"))
    _exact(Jwks, call("GET", "/api/auth/.well-known/jwks.json"))
    _exact(Envelope[ConfigChanged], call("PUT", acme.url("/config"), headers=admin, json={
        "level": 1, "feature_flags": {"custom_autopilot_rules": True, "action_dry_run": True}}))
    _exact(Envelope[SettingsUpdated], call("PUT", acme.url("/enforcement/settings"), headers=admin,
                                           json={"default_mode": "soft_block", "budget_increase_limit_pct": 10.0}))
    _exact(Envelope[SettingsRead], call("GET", acme.url("/enforcement/settings"), headers=admin))
    readings = [{"platform": "meta", "emq": 92, "freshness": 95, "variance": 88, "anomaly": 90}]
    _exact(Envelope[SignalHealthRecorded], call("POST", acme.url("/signal-health"), headers=admin,
                                                json={"readings": readings}), 201)
    _exact(Envelope[SignalHealth], call("GET", acme.url("/signal-health"), headers=admin, params={"platform": "meta"}))
    _exact(Envelope[DryRunResult], call("POST", acme.url("/actions/dry-run"), headers=admin, json=proposal()))
    refused = call("POST", acme.url("/actions"), headers=admin, json=proposal())
    token = refused.json()["error"]["details"]["confirmation_token"]
    _exact(Envelope[ConfirmationAccepted], call("POST", acme.url("/enforcement/confirm"), headers=admin,
                                                json={"confirmation_token": token}))
    queued = call("POST", acme.url("/actions"), headers=admin, json={**proposal(), "confirmation_token": token})
    many = _exact(Envelope[ApproveAllResult], call("POST", acme.url("/actions/approve-all"), headers=admin, json={
        "action_ids": [queued.json()["data"]["action"]["id"], "00000000-0000-0000-0000-000000000000"]}))
    assert [s.reason for s in many.data.skipped] == ["not_found"]
    _exact(Envelope[ActionSummary], call("GET", acme.url("/actions/summary"), headers=admin))
    rule = {"rule_id": "cap-9", "rule_type": "budget_exceeded", "threshold_value": 900.0}
    _exact(Envelope[RuleAdded], call("POST", acme.url("/enforcement/rules"), headers=admin, json=rule), 201)
    _exact(Envelope[RuleDeleted], call("DELETE", acme.url("/enforcement/rules/cap-9"), headers=admin))
    _exact(Envelope[KillSwitchChanged], call("POST", acme.url("/enforcement/kill-switch"), headers=admin,
                                             json={"enabled": False, "reason": "maintenance"}))
    _exact(Envelope[InterventionLogPage], call("GET", acme.url("/enforcement/audit-log"), headers=admin,
                                               params={"action_type": "kill_switch"}))
    _exact(Envelope[ConfigChanged], call("POST", acme.url("/freeze"), headers=admin, json={"reason": "incident"}))
    _exact(Envelope[AutopilotStatus], call("GET", acme.url("/status"), headers=admin))
    _exact(Envelope[ConfigChanged], call("POST", acme.url("/unfreeze"), headers=admin))
    root = bearer(make_user("typed-root", superuser=True)[1])
    _exact(Envelope[TenantOut], call("POST", "/api/v1/tenants", headers=root, json={"slug": "typed-2", "name": "T"}),
           201)
    _exact(Envelope[TenantPage], call("GET", "/api/v1/tenants", headers=root))
    member = _exact(Envelope[MemberOut], call("PUT", f"/api/v1/tenants/{acme.id}/members", headers=root,
                                              json={"username": "typed-root", "role": "viewer"}))
    _exact(Envelope[MemberPage], call("GET", f"/api/v1/tenants/{acme.id}/members", headers=root))
    _exact(Envelope[Membership], call("GET", f"/api/v1/tenant/{acme.id}/membership", headers=admin))
    _exact(Envelope[MemberRemoved], call("DELETE", f"/api/v1/tenants/{acme.id}/members/{member.data.user_id}",
                                         headers=root))


def test_the_client_reads_answers_leniently_where_the_suite_is_strict(client):
    """A key a newer server added is dropped by the client (the strict schema refuses it); a missing one fails."""
    import httpx

    from autopack.client.calls import Call, Ref, decode
    from autopack.client.errors import ValidationFailed

    served = client.get("/health").json()
    call = Call("GET", "/health", accept=(503,), model=Ref("health", "ServiceHealth"))
    request = httpx.Request("GET", "http://autopack.test/health")
    newer = {**served, "added_by_a_newer_server": {"x": 1}}
    with pytest.raises(ValidationError):
        ServiceHealth.model_validate(newer)
    assert decode(call, httpx.Response(200, json=newer, request=request)) == ServiceHealth.model_validate(served)
    renamed = {("state" if k == "status" else k): v for k, v in served.items()}
    with pytest.raises(ValidationFailed, match="unexpected answer"):
        decode(call, httpx.Response(200, json=renamed, request=request))
