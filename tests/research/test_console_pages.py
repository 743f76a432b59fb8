"""The console's uploads and research pages."""

from __future__ import annotations

from tests.web.helpers import enter, page_csrf, user


def test_uploads_and_research_pages(client, monkeypatch, make_client):
    user("ann")
    client.post("/files/upload", files={"file": ("notes.txt", b"<b>hi</b>")})
    enter(client, "ann")
    uploads = client.get("/ui/files")
    assert uploads.status_code == 200 and "notes.txt" in uploads.text and "<b>hi</b>" not in uploads.text
    csrf = page_csrf(client, "/ui/research")
    assert client.post("/ui/research", data={"topic": "no token"}).status_code == 403
    started = client.post("/ui/research", data={"csrf_token": csrf, "topic": "<script>t</script>",
                                                "description": "d"}, follow_redirects=False)
    assert started.status_code == 303
    path = started.headers["location"]
    bad = client.post(f"{path}/notes", data={"csrf_token": csrf, "content": "x", "url": "javascript:alert(1)"})
    assert bad.status_code == 400
    client.post(f"{path}/notes", data={"csrf_token": csrf, "content": "found it", "url": "https://example.org",
                                       "title": "Example"})
    page = client.get(path).text
    assert "found it" in page and 'href="https://example.org"' in page
    assert "<script>t</script>" not in page and "&lt;script&gt;" in page
    session_id = path.rsplit("/", 1)[1]
    assert client.get(f"/research/sessions/{session_id}").json()["notes"][0]["created_by"] == "user:ann"

    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "k")
    closed = make_client()
    enter(closed, "ann")
    assert closed.get("/ui/research").status_code == 503
