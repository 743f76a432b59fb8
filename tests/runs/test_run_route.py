"""GET /runs/{run_id} is declared once, and the fast path answers exactly what that declaration answers."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from autopack.runs import fastpath
from autopack.runs.fastpath import RunReadFastPath, declared_route
from autopack.runs.router import get_run, router

PATH = "/runs/{run_id}"


def test_the_route_is_declared_once_and_the_fast_path_uses_that_declaration(client):
    paths = client.app.openapi()["paths"]
    assert [m for m in client.app.user_middleware if m.cls is RunReadFastPath]  # installed by main
    fast = RunReadFastPath(app=None)
    assert fast.route is declared_route(router, get_run)
    served = [(path, method) for path, item in paths.items() for method, operation in item.items()
              if operation["operationId"] == fast.route.unique_id]
    assert served == [(fast.route.path, "get")] == [(PATH, "get")]  # included without a prefix
    runs_reads = [(path, method) for path, item in paths.items() for method in item
                  if path.startswith("/runs/{") and path.count("/") == 2]
    assert runs_reads == [(PATH, "get")]
    operation = paths[PATH]["get"]
    assert operation["summary"] == "Get Run"
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/RunResponse"}
    # the fast path repeats no path of its own
    assert not [line for line in open(fastpath.__file__, encoding="utf-8") if '"/runs' in line]


def _answered_by_fast_path(route, method: str, path: str) -> bool:
    """Whether RunReadFastPath built on `route` answers `method path` itself (False: passed on)."""
    passed_on = []

    async def inner(scope, receive, send):
        passed_on.append(scope["path"])

    async def send(message):
        pass

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
             "headers": []}
    asyncio.run(RunReadFastPath(inner, route)(scope, receive, send))
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
        RunReadFastPath(None, declared_route(guarded, get_run))


def test_the_fast_path_and_the_declared_route_answer_the_same(make_client, started_run):
    from autopack.main import create_app

    fast = make_client()
    routed_app = create_app()  # the same app without the fast path: the router answers
    routed_app.user_middleware = [m for m in routed_app.user_middleware if m.cls is not RunReadFastPath]
    with TestClient(routed_app) as routed:
        for path in (f"/runs/{started_run}", "/runs/no-such-run", "/runs/", f"/runs/{started_run}/"):
            a, b = fast.get(path), routed.get(path)
            assert (a.status_code, a.headers["content-type"], a.content) == \
                (b.status_code, b.headers["content-type"], b.content), path
        assert fast.get(f"/runs/{started_run}").json()["id"] == started_run
