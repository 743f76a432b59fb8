"""The polled reads are declared once, and the fast path answers exactly what those declarations answer."""

from __future__ import annotations

import asyncio
import re

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from autopack.core import fastpath
from autopack.core.fastpath import RouteFastPath, declared_route
from autopack.main import fast_routes
from autopack.runs.router import get_run, router
from autopack.runs.schemas import RunResponse

PATH = "/runs/{run_id}"


def test_the_route_is_declared_once_and_the_fast_path_uses_that_declaration(client):
    paths = client.app.openapi()["paths"]
    (installed,) = [m for m in client.app.user_middleware if m.cls is RouteFastPath]  # installed by main
    fast = RouteFastPath(None, installed.kwargs["routes"])
    assert fast.routes[0] is declared_route(router, get_run)
    served = [(path, method) for path, item in paths.items() for method, operation in item.items()
              if operation["operationId"] == fast.routes[0].unique_id]
    assert served == [(fast.routes[0].path, "get")] == [(PATH, "get")]  # included without a prefix
    for route in fast.routes:  # each one served at its declared path and methods
        assert {m.lower() for m in route.methods} <= set(paths[route.path]), route.path
    runs_reads = [(path, method) for path, item in paths.items() for method in item
                  if path.startswith("/runs/{") and path.count("/") == 2]
    assert runs_reads == [(PATH, "get")]
    operation = paths[PATH]["get"]
    assert operation["summary"] == "Get Run"
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/RunResponse"}
    # the fast path repeats no path of its own
    assert not [line for line in open(fastpath.__file__, encoding="utf-8") if '"/runs' in line or '"/dashboard' in line]


def _answered_by_fast_path(routes, method: str, path: str) -> bool:
    """Whether RouteFastPath built on `routes` answers `method path` itself (False: passed on)."""
    passed_on = []

    async def inner(scope, receive, send):
        passed_on.append(scope["path"])

    async def send(message):
        pass

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    path, _, query = path.partition("?")
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": query.encode(),
             "headers": []}
    asyncio.run(RouteFastPath(inner, routes)(scope, receive, send))
    return not passed_on


@pytest.mark.parametrize("method,path,answered", [
    ("GET", "/runs/some-run", True),
    ("GET", "/runs/", False),
    ("GET", "/runs", False),
    ("GET", "/runs/some-run/", False),
    ("GET", "/runs/some-run/progress", False),
    ("POST", "/runs/some-run", False),
    ("HEAD", "/runs/some-run", False),
    ("GET", "/governance/pending", False),
])
def test_the_fast_path_answers_what_the_declared_route_matches(method, path, answered, client):
    assert _answered_by_fast_path([declared_route(router, get_run)], method, path) is answered


def test_a_moved_declaration_moves_the_fast_path(client, started_run):
    moved = APIRouter()
    moved.get("/v2/runs/{run_id}", response_model=RunResponse)(get_run)  # declared as the original
    route = declared_route(moved, get_run)
    assert _answered_by_fast_path([route], "GET", f"/v2/runs/{started_run}")
    assert not _answered_by_fast_path([route], "GET", f"/runs/{started_run}")


def test_a_route_with_dependencies_cannot_skip_routing():
    guarded = APIRouter()
    guarded.get("/runs/{run_id}", dependencies=[Depends(lambda: None)])(get_run)
    with pytest.raises(ValueError, match="cannot skip routing"):
        RouteFastPath(None, [declared_route(guarded, get_run)])


def test_the_fast_path_and_the_declared_route_answer_the_same(make_client, started_run):
    from autopack.main import create_app

    fast = make_client()
    routed_app = create_app()  # the same app without the fast path: the router answers
    routed_app.user_middleware = [m for m in routed_app.user_middleware if m.cls is not RouteFastPath]
    with TestClient(routed_app) as routed:
        for path in (f"/runs/{started_run}", "/runs/no-such-run", "/runs/", f"/runs/{started_run}/",
                     f"/runs/{started_run}/progress", "/runs/no-such-run/progress", f"/runs/{started_run}/progress/",
                     f"/dashboard/runs/{started_run}/status", "/dashboard/runs/no-such-run/status",
                     "/dashboard/runs//status", "/runs", "/runs?limit=5", "/runs?limit=1&offset=0",
                     "/runs?limit=abc", "/runs?limit=", "/runs?limit=5&limit=2", "/runs?offset=-3",
                     "/runs?limit=999999999999999999999", "/runs?limit=+5", "/runs?limit=%205",
                     "/runs?limit=1.0", "/runs?foo=1", "/runs?offset=100000", "/runs?limit=0",
                     "/runs?limit=-0", "/runs?LIMIT=2"):
            a, b = fast.get(path), routed.get(path)
            assert (a.status_code, a.headers["content-type"], _still(a.content)) == \
                (b.status_code, b.headers["content-type"], _still(b.content)), path
        assert fast.get(f"/runs/{started_run}").json()["id"] == started_run


@pytest.mark.parametrize("method,path,answered", [
    ("GET", "/runs/r1/progress", True),
    ("GET", "/dashboard/runs/r1/status", True),
    ("GET", "/runs/r1/progress/", False),
    ("GET", "/dashboard/runs/r1/status/extra", False),
    ("POST", "/runs/r1/progress", False),
    ("GET", "/runs/r1/artifacts/index", False),
    ("GET", "/runs", True),
    ("GET", "/runs?limit=2&offset=1", True),
    ("GET", "/runs?limit=two", False),
])
def test_the_app_fast_path_answers_each_declared_read(method, path, answered, client):
    assert _answered_by_fast_path(fast_routes(), method, path) is answered


def test_the_fast_path_runs_the_declared_access_check(make_client, monkeypatch, started_run):
    from autopack.main import create_app

    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    fast = make_client()
    routed_app = create_app()
    routed_app.user_middleware = [m for m in routed_app.user_middleware if m.cls is not RouteFastPath]
    with TestClient(routed_app) as routed:
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer nope"}, {"X-API-Key": "k-123456789"}):
            for path in (f"/runs/{started_run}/progress", "/runs/ghost/progress"):
                a, b = fast.get(path, headers=headers), routed.get(path, headers=headers)
                assert (a.status_code, a.content) == (b.status_code, b.content), (path, headers)
                assert a.headers.get("www-authenticate") == b.headers.get("www-authenticate")
        assert fast.get(f"/runs/{started_run}/progress").status_code == 403
        assert fast.get(f"/runs/{started_run}/progress", headers={"X-API-Key": "k-123456789"}).status_code == 200


def _routed_app():
    """The app without the fast path: the router answers everything."""
    from autopack.main import create_app

    app = create_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RouteFastPath]
    return app


JSON = {"Content-Type": "application/json"}
# (path under the run, body, headers): accepted, refused by the model, not JSON, other content types.
POSTS = [
    ("/phases/F1.1/update_status", b'{"state": "EXECUTING"}', JSON),
    ("/phases/F1.1/update_status", b'{"state": "EXECUTING", "tokens_used": 5}', {"Content-Type": "application/json; charset=utf-8"}),
    ("/phases/F1.1/update_status", b'{"state": "NOPE"}', JSON),
    ("/phases/F1.1/update_status", b'{"state": 3}', JSON),
    ("/phases/F1.1/update_status", b'{"state": "EXECUTING"', JSON),
    ("/phases/F1.1/update_status", b'["EXECUTING"]', JSON),
    ("/phases/F1.1/update_status", b'', JSON),
    ("/phases/F1.1/update_status", b'{"state": "EXECUTING"}', {}),
    ("/phases/F1.1/update_status", b'{"state": "EXECUTING"}', {"Content-Type": "text/plain"}),
    ("/phases/F1.1/update_status", b'{"state": "EXECUTING"}', {"Content-Type": "application/merge-patch+json"}),
    ("/phases/F1.1/update_status", b'{"state": "EXECUTING", "tokens_used": 123456789012345678901234567890}', JSON),
    ("/phases/NOPE/update_status", b'{"state": "EXECUTING"}', JSON),
    ("/phases/F1.2/builder_result", b'{"phase_id": "F1.2", "run_id": "RUN", "status": "success", "tokens_used": 7}', JSON),
    ("/phases/F1.2/builder_result", b'{"phase_id": "F1.2"}', JSON),
    ("/phases/F1.2/auditor_result", b'{"phase_id": "F1.2", "run_id": "RUN", "recommendation": "approve"}', JSON),
    ("/phases/F1.2/auditor_result", b'{"recommendation": 5}', JSON),
    ("/usage", b'{"events": [{"provider": "p", "model": "m", "role": "builder", "total_tokens": 7, "prompt_tokens": 3, "completion_tokens": 4, "phase_id": "F1.1"}]}', JSON),
    ("/usage", b'{"events": "no"}', JSON),
    ("/phases/F1.1/update_status", b'{"state": "COMPLETE"}', JSON),
]


def _still(content: bytes) -> bytes:
    """The body with the run's elapsed seconds (counted to the moment of each request) set to 0."""
    return re.sub(rb'"elapsed_seconds":[0-9]+', b'"elapsed_seconds":0', content)


def _masked(value):
    """Row ids and times differ between two runs made alike: masked, everything else (and key order) kept."""
    if isinstance(value, dict):
        return [(k, "*" if (k.endswith("_at") or k in ("id", "tier_id", "timestamp")) and v is not None
                 else _masked(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _answer(response, run_id: str):
    text = response.content.replace(run_id.encode(), b"RUN")
    if response.headers.get("content-type", "").startswith("application/json"):
        import json

        return _masked(json.loads(text)), b'": ' in text or b', "' in text  # the same JSON layout too
    return text


def _compare_posts(fast, routed, run_a: str, run_b: str, headers: dict) -> list[int]:
    """Send POSTS to run_a through `fast` and to run_b through `routed`; the answers must be equal."""
    statuses = []
    for suffix, body, extra in POSTS:
        a = fast.post(f"/runs/{run_a}{suffix}", content=body.replace(b"RUN", run_a.encode()), headers={**headers, **extra})
        b = routed.post(f"/runs/{run_b}{suffix}", content=body.replace(b"RUN", run_b.encode()), headers={**headers, **extra})
        assert (a.status_code, a.headers.get("content-type"), a.headers.get("www-authenticate"),
                _answer(a, run_a)) == \
            (b.status_code, b.headers.get("content-type"), b.headers.get("www-authenticate"),
             _answer(b, run_b)), (suffix, body, extra)
        statuses.append(a.status_code)
    return statuses


def test_the_fast_path_answers_the_executor_posts_as_the_router_does(make_client):
    from tests.conftest import run_payload

    fast = make_client()
    with TestClient(_routed_app()) as routed:
        for client, run_id in ((fast, "fp-run-a"), (routed, "fp-run-b")):
            assert client.post("/runs/start", json=run_payload(run_id)).status_code == 201
        statuses = _compare_posts(fast, routed, "fp-run-a", "fp-run-b", {})
        a, b = fast.get("/runs/fp-run-a"), routed.get("/runs/fp-run-b")
    assert {200, 201, 404, 422} <= set(statuses), statuses
    assert _answer(a, "fp-run-a") == _answer(b, "fp-run-b")  # the runs were changed alike


def test_the_fast_path_posts_keep_the_runner_check(make_client, monkeypatch):
    from tests.conftest import run_payload

    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    fast = make_client()
    with TestClient(_routed_app()) as routed:
        for client, run_id in ((fast, "fp-prod-a"), (routed, "fp-prod-b")):
            response = client.post("/runs/start", json=run_payload(run_id), headers={"X-API-Key": "k-123456789"})
            assert response.status_code == 201
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer nope"}):
            assert set(_compare_posts(fast, routed, "fp-prod-a", "fp-prod-b", headers)) <= {401, 403, 422}
        assert fast.post("/runs/fp-prod-a/phases/F1.1/update_status", json={"state": "EXECUTING"}).status_code == 403
        assert fast.get("/runs/fp-prod-a").json()["tiers"][0]["phases"][0]["state"] == "QUEUED"  # nothing changed
        assert fast.post("/runs/fp-prod-a/phases/F1.1/update_status", json={"state": "EXECUTING"},
                         headers={"X-API-Key": "k-123456789"}).status_code == 200


def test_a_route_without_a_response_model_cannot_skip_routing():
    bare = APIRouter()
    bare.get("/runs/{run_id}")(get_run)
    with pytest.raises(ValueError, match="cannot skip routing"):
        RouteFastPath(None, [declared_route(bare, get_run)])
