"""The polled reads are declared once, and the fast path answers exactly what those declarations answer."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from autopack.core import fastpath
from autopack.core.fastpath import ReadFastPath, declared_route
from autopack.main import fast_read_routes
from autopack.runs.router import get_run, router

PATH = "/runs/{run_id}"


def test_the_route_is_declared_once_and_the_fast_path_uses_that_declaration(client):
    paths = client.app.openapi()["paths"]
    (installed,) = [m for m in client.app.user_middleware if m.cls is ReadFastPath]  # installed by main
    fast = ReadFastPath(None, installed.kwargs["routes"])
    assert fast.routes[0] is declared_route(router, get_run)
    served = [(path, method) for path, item in paths.items() for method, operation in item.items()
              if operation["operationId"] == fast.routes[0].unique_id]
    assert served == [(fast.routes[0].path, "get")] == [(PATH, "get")]  # included without a prefix
    for route in fast.routes:  # each one served at its declared path, by the same endpoint
        assert [m for m in paths[route.path]] == ["get"]
    runs_reads = [(path, method) for path, item in paths.items() for method in item
                  if path.startswith("/runs/{") and path.count("/") == 2]
    assert runs_reads == [(PATH, "get")]
    operation = paths[PATH]["get"]
    assert operation["summary"] == "Get Run"
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/RunResponse"}
    # the fast path repeats no path of its own
    assert not [line for line in open(fastpath.__file__, encoding="utf-8") if '"/runs' in line or '"/dashboard' in line]


def _answered_by_fast_path(route, method: str, path: str) -> bool:
    """Whether ReadFastPath built on `route` answers `method path` itself (False: passed on)."""
    passed_on = []

    async def inner(scope, receive, send):
        passed_on.append(scope["path"])

    async def send(message):
        pass

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
             "headers": []}
    asyncio.run(ReadFastPath(inner, [route])(scope, receive, send))
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
    assert _answered_by_fast_path(declared_route(router, get_run), method, path) is answered


def test_a_moved_declaration_moves_the_fast_path(client, started_run):
    moved = APIRouter()
    moved.get("/v2/runs/{run_id}")(get_run)
    route = declared_route(moved, get_run)
    assert _answered_by_fast_path(route, "GET", f"/v2/runs/{started_run}")
    assert not _answered_by_fast_path(route, "GET", f"/runs/{started_run}")


def test_a_route_with_dependencies_cannot_skip_routing():
    guarded = APIRouter()
    guarded.get("/runs/{run_id}", dependencies=[Depends(lambda: None)])(get_run)
    with pytest.raises(ValueError, match="cannot skip routing"):
        ReadFastPath(None, [declared_route(guarded, get_run)])


def test_the_fast_path_and_the_declared_route_answer_the_same(make_client, started_run):
    from autopack.main import create_app

    fast = make_client()
    routed_app = create_app()  # the same app without the fast path: the router answers
    routed_app.user_middleware = [m for m in routed_app.user_middleware if m.cls is not ReadFastPath]
    with TestClient(routed_app) as routed:
        for path in (f"/runs/{started_run}", "/runs/no-such-run", "/runs/", f"/runs/{started_run}/",
                     f"/runs/{started_run}/progress", "/runs/no-such-run/progress", f"/runs/{started_run}/progress/",
                     f"/dashboard/runs/{started_run}/status", "/dashboard/runs/no-such-run/status",
                     "/dashboard/runs//status"):
            a, b = fast.get(path), routed.get(path)
            assert (a.status_code, a.headers["content-type"], a.content) == \
                (b.status_code, b.headers["content-type"], b.content), path
        assert fast.get(f"/runs/{started_run}").json()["id"] == started_run


@pytest.mark.parametrize("method,path,answered", [
    ("GET", "/runs/r1/progress", True),
    ("GET", "/dashboard/runs/r1/status", True),
    ("GET", "/runs/r1/progress/", False),
    ("GET", "/dashboard/runs/r1/status/extra", False),
    ("POST", "/runs/r1/progress", False),
    ("GET", "/runs/r1/artifacts/index", False),
])
def test_the_app_fast_path_answers_each_declared_read(method, path, answered, client):
    passed_on = []

    async def inner(scope, receive, send):
        passed_on.append(scope["path"])

    async def send(message):
        pass

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
             "headers": []}
    asyncio.run(ReadFastPath(inner, fast_read_routes())(scope, receive, send))
    assert (not passed_on) is answered


def test_the_fast_path_runs_the_declared_access_check(make_client, monkeypatch, started_run):
    from autopack.main import create_app

    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    fast = make_client()
    routed_app = create_app()
    routed_app.user_middleware = [m for m in routed_app.user_middleware if m.cls is not ReadFastPath]
    with TestClient(routed_app) as routed:
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer nope"}, {"X-API-Key": "k-123456789"}):
            for path in (f"/runs/{started_run}/progress", "/runs/ghost/progress"):
                a, b = fast.get(path, headers=headers), routed.get(path, headers=headers)
                assert (a.status_code, a.content) == (b.status_code, b.content), (path, headers)
                assert a.headers.get("www-authenticate") == b.headers.get("www-authenticate")
        assert fast.get(f"/runs/{started_run}/progress").status_code == 403
        assert fast.get(f"/runs/{started_run}/progress", headers={"X-API-Key": "k-123456789"}).status_code == 200
