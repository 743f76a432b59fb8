"""An app with test-only routes that fail, for the global 500 handler and error reports."""

from __future__ import annotations

import pytest

DB_URL_WITH_PASSWORD = "postgresql://user:s3cret@db.internal:5432/prod"
API_KEY = "apikey-0123456789abcdef"


def _boom(run_id: str) -> None:
    raise RuntimeError(f"could not reach {DB_URL_WITH_PASSWORD} for run {run_id}")


def _phase_boom(run_id: str, phase_id: str) -> None:
    raise KeyError(f"phase {phase_id} lookup failed")


def _boom_no_run() -> None:
    raise ValueError("no run here")


def _boom_with_key() -> None:
    import os

    raise RuntimeError(f"upstream rejected key {os.environ['AUTOPACK_API_KEY']}")


def _boom_with_query_url(run_id: str) -> None:
    raise RuntimeError("GET https://api.example.com/v1/items?token=qtok-987654&page=2 failed: 502")


def _boom_slash_password(run_id: str) -> None:
    raise RuntimeError("connect to postgresql://svc:pa/ss-w0rd@db.internal/app refused")


def _boom_unstorable_text(run_id: str) -> None:
    raise ValueError("bad input: nul=\x00 surrogate=\ud800 end")


@pytest.fixture
def make_boom_client():
    """Build a TestClient (500s returned, not raised) on a fresh app with failing routes."""
    from fastapi.testclient import TestClient

    from autopack.core.settings import get_settings
    from autopack.main import create_app

    clients = []

    def factory() -> TestClient:
        get_settings.cache_clear()
        app = create_app()
        app.add_api_route("/runs/{run_id}/boom", _boom, methods=["GET", "POST"])
        app.add_api_route("/runs/{run_id}/phases/{phase_id}/boom", _phase_boom, methods=["GET"])
        app.add_api_route("/runs/{run_id}/keyboom", _boom_with_key, methods=["GET"])
        app.add_api_route("/runs/{run_id}/urlboom", _boom_with_query_url, methods=["GET"])
        app.add_api_route("/runs/{run_id}/slashboom", _boom_slash_password, methods=["GET"])
        app.add_api_route("/runs/{run_id}/nulboom", _boom_unstorable_text, methods=["GET"])
        app.add_api_route("/boom", _boom_no_run, methods=["GET"])
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def boom_client(make_boom_client):
    """A development-mode client with the failing routes."""
    return make_boom_client()
