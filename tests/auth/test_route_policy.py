"""Every route has a declared auth policy; a new route without one fails this test.

Walks the OpenAPI schema (every operation the app serves) in production mode with a key configured
and calls each route anonymously: the answer must match the route's policy.
"""

from __future__ import annotations

import re

import pytest

PUBLIC = {200, 404, 422}  # reachable without credentials (404/422: the fake ids or empty body)
DENIED = {401, 403}

# (methods, path regex, policy) — first match wins. Keep this list in step with the README.
POLICIES: list[tuple[set[str], str, set[int]]] = [
    ({"GET"}, r"^/$|^/health$", PUBLIC),
    ({"GET"}, r"^/api/auth/(\.well-known/jwks\.json|key-status)$", PUBLIC),
    ({"POST"}, r"^/api/auth/(register|login)$", PUBLIC),  # credentials are the body
    ({"POST"}, r"^/telegram/webhook$", {403}),  # its secret header; production without a secret refuses
    ({"GET"}, r"^/api/auth/me$|^/api/auth/oauth/", DENIED),  # Bearer user
    ({"POST", "DELETE"}, r"^/api/auth/oauth/", DENIED),
    ({"GET", "POST", "PUT", "DELETE"}, r"^/api/v1/", DENIED),  # tenant roles or superuser
    ({"GET"}, r"^/audit/", DENIED),  # superuser
    ({"GET"}, r"^/governance/request/", DENIED),  # shows a stored patch: operators only
    # Operator surface (verify_read_access): a key in production (AUTOPACK_PUBLIC_READ=1 opens it in dev).
    ({"GET"}, r"^/runs$|^/runs/[^/]+/(progress|artifacts/index|artifacts/file|browser/artifacts)$", DENIED),
    # Dashboard: the reference's verify_api_key reads; the other dashboard reads are public (Auth: None).
    ({"GET"}, r"^/dashboard/runs/[^/]+/(token-efficiency|phase6-stats)$", DENIED),
    ({"GET"}, r"^/dashboard/runs/[^/]+/consolidated-metrics$", PUBLIC | {503}),  # kill switch, off by default
    ({"GET"}, r"^/dashboard/", PUBLIC),
    # The contract's public executor reads (Auth: None).
    ({"GET"}, r"^/runs/[^/]+(/issues/index|/errors|/errors/summary)?$|^/project/issues/backlog$", PUBLIC),
    ({"GET"}, r"^/approval/(status/[^/]+|pending)$|^/governance/pending$", PUBLIC),
    # Every other state-changing route: a key or a Bearer token in production (DECISIONS §3.15).
    ({"POST", "PUT", "PATCH", "DELETE"}, r"^/", DENIED),
]


def _policy(method: str, path: str) -> set[int] | None:
    for methods, pattern, expected in POLICIES:
        if method in methods and re.search(pattern, path):
            return expected
    return None


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
    from tests.auth.helpers import bearer, make_user

    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    client = make_client()
    _, token = make_user("ops")
    response = client.post(path, json={}, headers=bearer(token))
    assert response.status_code not in DENIED  # authenticated: validation (422) or 404, never 401/403
