"""Every route has a declared auth policy; a new route without one fails this test.

Walks the OpenAPI schema (every operation the app serves) in production mode with a key configured
and calls each route anonymously: the answer must match the route's policy.
"""

from __future__ import annotations

import re

import pytest

PUBLIC = {200, 404, 422}  # reachable without credentials (404/422: the fake ids or empty body)
DENIED = {401, 403}
# The privilege a route needs beyond a login (the last column): None, or one of these.
DECIDE = "decide"  # instance-level decisions: the instance key, a superuser or the approver role
RUN = "run"  # executor writes: the instance key, an instance-level key, a superuser or the runner role
TENANT = "tenant"  # a role in the path's tenant (or a superuser)
SUPERUSER = "superuser"

# (methods, path regex, anonymous answers, privilege) — first match wins. Keep in step with the README.
POLICIES: list[tuple[set[str], str, set[int], str | None]] = [
    ({"GET"}, r"^/$|^/health$", PUBLIC, None),
    ({"GET"}, r"^/metrics$", DENIED, None),  # a key or token in production unless AUTOPACK_METRICS_PUBLIC=1
    ({"GET"}, r"^/api/auth/(\.well-known/jwks\.json|key-status)$", PUBLIC, None),
    ({"POST"}, r"^/api/auth/(register|login)$", PUBLIC, None),  # credentials are the body
    ({"POST"}, r"^/telegram/webhook$", {403}, None),  # its secret header; production without a secret refuses
    ({"GET"}, r"^/api/auth/me$|^/api/auth/oauth/", DENIED, None),  # Bearer user
    ({"POST", "DELETE"}, r"^/api/auth/oauth/", DENIED, SUPERUSER),
    ({"GET", "POST", "PUT", "DELETE"}, r"^/api/v1/tenant/", DENIED, TENANT),
    ({"GET", "POST", "PUT", "DELETE"}, r"^/api/v1/", DENIED, SUPERUSER),
    ({"GET"}, r"^/audit/", DENIED, SUPERUSER),
    ({"GET"}, r"^/governance/request/", DENIED, None),  # shows a stored patch: operators only
    # Deciding is a privilege, not a login (DECISIONS §3.16).
    ({"POST"}, r"^/governance/approve/|^/approval/[^/]+/(approve|reject)$", DENIED, DECIDE),
    # Storage and uploads: reads need a key in production; scanning, deciding, executing, restoring and
    # cancelling touch the machine's files: instance-level decisions. Research is closed in production.
    ({"GET"}, r"^/storage/|^/files$", DENIED, None),
    ({"POST"}, r"^/storage/(scan$|scans/[^/]+/(approve|execute|restore|cancel)$|learned-rules/[^/]+/(approve|reject)$)",
     DENIED, DECIDE),
    ({"GET", "POST"}, r"^/research/", {503}, None),  # quarantined unless RESEARCH_API_ENABLED
    # Operator surface (verify_read_access): a key in production (AUTOPACK_PUBLIC_READ=1 opens it in dev).
    ({"GET"}, r"^/runs$|^/runs/[^/]+/(progress|artifacts/index|artifacts/file|browser/artifacts)$", DENIED, None),
    # Dashboard: the reference's verify_api_key reads; the other dashboard reads are public (Auth: None).
    ({"GET"}, r"^/dashboard/runs/[^/]+/(token-efficiency|phase6-stats)$", DENIED, None),
    ({"GET"}, r"^/dashboard/human-notes$", DENIED, None),  # people's words: a key or token in production
    ({"GET"}, r"^/dashboard/runs/[^/]+/consolidated-metrics$", PUBLIC | {503}, None),  # kill switch, off by default
    ({"GET"}, r"^/dashboard/", PUBLIC, None),
    # Event streams: a run's is public like GET /runs/{run_id} (unknown run 404 before streaming);
    # every event of the control plane is for the instance key or a superuser.
    ({"GET"}, r"^/runs/[^/]+/events$", PUBLIC, None),
    ({"GET"}, r"^/events$", DENIED, SUPERUSER),
    # A phase's builder and auditor results: public like GET /runs/{run_id} (full=true: operators only).
    ({"GET"}, r"^/runs/[^/]+/phases/[^/]+/results$", PUBLIC, None),
    # The contract's public executor reads (Auth: None).
    ({"GET"}, r"^/runs/[^/]+(/issues/index|/errors|/errors/summary)?$|^/project/issues/backlog$", PUBLIC, None),
    ({"GET"}, r"^/approval/status/[^/]+$|^/governance/pending$", PUBLIC, None),
    ({"GET"}, r"^/approval/pending$", DENIED, None),  # patch previews: a key or token in production
    # Driving runs: a runner, not merely a login (in production; POST /runs/start wherever auth is on).
    ({"POST"}, r"^/runs/start$|^/runs/[^/]+/(usage|phases/[^/]+/[a-z_]+)$|^/(governance|approval)/request$",
     DENIED, RUN),
    # Every other state-changing route: a key or a Bearer token in production (DECISIONS §3.15).
    ({"POST", "PUT", "PATCH", "DELETE"}, r"^/", DENIED, None),
]
# A route whose path says it decides, approves, rejects or stops something must name its privilege.
DECISION_WORDS = re.compile(r"approve|reject|decid|dismiss|kill|freeze|confirm|revoke|grant")


def _rule(method: str, path: str) -> tuple[set[int], str | None] | None:
    for methods, pattern, expected, privilege in POLICIES:
        if method in methods and re.search(pattern, path):
            return expected, privilege
    return None


def _policy(method: str, path: str) -> set[int] | None:
    rule = _rule(method, path)
    return rule[0] if rule else None


def test_every_route_has_a_policy_and_keeps_it(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    client = make_client()
    missing, wrong, checked = [], [], 0
    for route_path, operations in client.app.openapi()["paths"].items():
        for method in (m.upper() for m in operations):
            expected = _policy(method, route_path)
            if expected is None:
                missing.append(f"{method} {route_path}")
                continue
            path = re.sub(r"\{[^}]+\}", "1", route_path)
            response = client.request(method, path, json={} if method != "GET" else None)
            if response.status_code not in expected:
                wrong.append(f"{method} {route_path} -> {response.status_code}, expected {sorted(expected)}")
            checked += 1
    assert not missing, "routes without an auth policy: " + ", ".join(missing)
    assert not wrong, "\n".join(wrong)
    assert checked >= 40


@pytest.mark.parametrize("path", ["/runs/start", "/governance/request", "/approval/request"])
def test_bearer_token_also_opens_writes_in_production(make_client, monkeypatch, path):
    from autopack.auth import privileges
    from autopack.core.database import session_scope
    from tests.auth.helpers import bearer, make_user

    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    client = make_client()
    user_id, token = make_user("ops")
    with session_scope() as session:
        privileges.grant(session, user_id, privileges.RUNNER, granted_by="test")
    response = client.post(path, json={}, headers=bearer(token))
    assert response.status_code not in DENIED  # authenticated: validation (422) or 404, never 401/403


def _api_routes(routes, prefix: str = ""):
    """(full path, APIRoute) for every route, looking inside included routers."""
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes, prefix + route.include_context.prefix)


def _calls(dependant) -> set:
    found = {dependant.call, getattr(dependant.call, "check", None)}  # on_loop(check) runs `check`
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def test_decision_routes_declare_and_check_the_privilege(make_client):
    from autopack.auth.privileges import (
        require_decider,
        require_run_starter,
        require_runner,
        require_signed_decider,
    )

    client = make_client()
    routes = [(method, path, route) for path, route in _api_routes(client.app.routes)
              for method in route.methods if method != "HEAD"]
    assert len(routes) >= 40
    problems = []
    for method, path, route in routes:
        if path.startswith("/ui/"):
            # The console's forms call the API's own checks in the handler, once the session cookie's
            # user is adopted (a dependency would run before it); tests/web and
            # tests/storage/test_console_page.py try every decision form without the privilege.
            continue
        rule = _rule(method, path)
        privilege = rule[1] if rule else None
        calls = _calls(route.dependant)
        decides = bool(calls & {require_decider, require_signed_decider})
        runs = bool(calls & {require_runner, require_run_starter})
        if method != "GET" and DECISION_WORDS.search(path) and privilege is None:
            problems.append(f"{method} {path} decides something but declares no privilege")
        if decides != (privilege == DECIDE):
            problems.append(f"{method} {path}: privilege {privilege!r}, decider check {decides}")
        if runs != (privilege == RUN):
            problems.append(f"{method} {path}: privilege {privilege!r}, runner check {runs}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env", ["production", "development-with-key"])
def test_privileged_routes_refuse_a_login_without_the_privilege(make_client, monkeypatch, env):
    from autopack.auth import apikeys, privileges
    from autopack.core.database import session_scope
    from autopack.db.models import Tenant
    from tests.auth.helpers import bearer, make_user

    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    if env == "production":
        monkeypatch.setenv("AUTOPACK_ENV", "production")
    client = make_client()
    plain = bearer(make_user("plain")[1])
    approver_id, approver_token = make_user("ann")
    runner_id, runner_token = make_user("rob")
    with session_scope() as session:
        privileges.grant(session, approver_id, privileges.APPROVER, granted_by="test")
        privileges.grant(session, runner_id, privileges.RUNNER, granted_by="test")
        tenant = Tenant(slug="acme", name="acme")
        session.add(tenant)
        session.flush()
        tenant_admin = {"X-API-Key": apikeys.create_key(session, name="t", tenant_id=tenant.id, role="admin",
                                                        is_superuser=False, created_by="test").raw}
    callers = {"plain user": plain, "approver": bearer(approver_token), "runner": bearer(runner_token),
               "tenant admin key": tenant_admin}
    wrong, checked = [], 0
    for route_path, operations in client.app.openapi()["paths"].items():
        for method in (m.upper() for m in operations):
            rule = _rule(method, route_path)
            if rule is None or rule[1] is None:
                continue
            privilege = rule[1]
            if privilege == RUN and env != "production" and route_path != "/runs/start":
                continue  # executor writes are open in development (DECISIONS §3.15)
            path = re.sub(r"\{[^}]+\}", "999999", route_path)
            for who, headers in callers.items():
                if privilege == TENANT and who == "tenant admin key":
                    continue  # its own tenant is another test's business (tests/auth/test_tenants.py)
                status = client.request(method, path, json={} if method != "GET" else None,
                                        headers=headers).status_code
                allowed = (privilege, who) in {(DECIDE, "approver"), (RUN, "runner")}
                if allowed and status in DENIED:
                    wrong.append(f"{method} {route_path} as {who} -> {status}, expected to pass the check")
                if not allowed and status not in DENIED:
                    wrong.append(f"{method} {route_path} as {who} -> {status}, expected 401/403")
                checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked >= 30
