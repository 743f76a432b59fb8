"""The operator surface is behind verify_read_access: a key in production, AUTOPACK_PUBLIC_READ in dev."""

from __future__ import annotations

import pytest

from tests.operator.helpers import insert_run, make_run_dir

KEY = "k-123456789"
RUN = "demo-20260110-120000"
URLS = ["/runs", f"/runs/{RUN}/progress", f"/runs/{RUN}/artifacts/index",
        f"/runs/{RUN}/artifacts/file?path=run_summary.md", f"/runs/{RUN}/browser/artifacts"]
INVALID_KEY = "Invalid or missing API key. Set X-API-Key header."


@pytest.fixture
def seeded():
    insert_run(RUN)
    make_run_dir(RUN, {"run_summary.md": "# s\n"})


@pytest.mark.parametrize("url", URLS)
def test_production_refuses_anonymous_and_wrong_keys(make_client, monkeypatch, seeded, url):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    client = make_client()
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": f"Bearer {KEY}"}):
        response = client.get(url, headers=headers)
        assert response.status_code in (401, 403), (url, headers)
    response = client.get(url)
    assert response.status_code == 403
    assert response.json() == {"detail": INVALID_KEY}


@pytest.mark.parametrize("url", URLS)
def test_production_with_the_key_is_open(make_client, monkeypatch, seeded, url):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    client = make_client()
    assert client.get(url, headers={"X-API-Key": KEY}).status_code == 200


@pytest.mark.parametrize("url", URLS)
def test_public_read_never_opens_production(make_client, monkeypatch, seeded, url):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    monkeypatch.setenv("AUTOPACK_PUBLIC_READ", "1")
    client = make_client()
    assert client.get(url).status_code == 403


def test_auth_comes_before_validation_and_lookups(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    client = make_client()
    for url in ("/runs/ghost/artifacts/file", "/runs/ghost/artifacts/file?path=../x", "/runs?limit=abc",
                "/runs/ghost/progress"):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("url", URLS)
def test_development_with_a_key_needs_it_unless_public_read(make_client, monkeypatch, seeded, url):
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    client = make_client()
    assert client.get(url).status_code == 403
    assert client.get(url, headers={"X-API-Key": KEY}).status_code == 200
    monkeypatch.setenv("AUTOPACK_PUBLIC_READ", "1")
    client = make_client()
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", URLS)
def test_development_without_a_key_is_open(client, seeded, url):
    assert client.get(url).status_code == 200
