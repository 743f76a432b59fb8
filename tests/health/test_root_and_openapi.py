"""GET /, /openapi.json (every route listed) and /docs."""

from __future__ import annotations

from fastapi.routing import APIRoute

import autopack


def _api_routes(routes):
    """(path, methods) of every API route in the schema, including routes of included routers.

    Newer FastAPI keeps included routers as `_IncludedRouter` entries in `app.routes`.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            if route.include_in_schema:
                yield route.path, route.methods
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                if getattr(context, "include_in_schema", True):
                    yield context.path, context.methods


def test_root_document(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"service": "Autopack", "version": autopack.__version__,
                               "description": "A control plane for governed autonomy",
                               "links": {"health": "/health", "docs": "/docs"}}


def test_root_document_links_docs_only_when_public(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_DOCS_PUBLIC", "0")
    body = make_client().get("/").json()
    assert body["links"] == {"health": "/health"}
    assert body["service"] == "Autopack" and body["version"] == autopack.__version__


def test_openapi_lists_every_route(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {(path, method.lower()) for path, methods in _api_routes(client.app.routes)
                for method in methods}
    listed = {(path, method) for path, ops in paths.items() for method in ops
              if method in {"get", "post", "put", "patch", "delete"}}
    assert expected, "the app has no API routes?"
    assert listed == expected


def test_openapi_contains_the_known_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/health", "get"), ("/", "get"), ("/runs/start", "post"), ("/runs/{run_id}", "get"),
        ("/runs/{run_id}/phases/{phase_id}/record_issue", "post"),
        ("/runs/{run_id}/issues/index", "get"), ("/project/issues/backlog", "get"),
        ("/runs/{run_id}/errors", "get"), ("/runs/{run_id}/errors/summary", "get"),
        ("/runs/{run_id}/usage", "post"), ("/runs/{run_id}/phases/{phase_id}/metrics", "post"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} missing from OpenAPI"


def test_record_issue_params_documented(client):
    op = client.get("/openapi.json").json()["paths"]["/runs/{run_id}/phases/{phase_id}/record_issue"]["post"]
    query = {p["name"]: p["required"] for p in op["parameters"] if p["in"] == "query"}
    assert query == {"issue_key": True, "severity": True, "source": True, "category": True,
                     "task_category": False, "complexity": False}


def test_docs_page(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/openapi.json" in response.text
