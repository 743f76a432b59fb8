"""POST /files/upload: streamed to disk, SHA-256, safe names, the size limit, run artifacts, interruptions."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

import pytest
from sqlalchemy import func, select

from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.models import UploadedFile
from tests.conftest import run_payload
from tests.live_server import free_port

LIMIT = 4096


@pytest.fixture
def upload_client(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_UPLOAD_MAX_BYTES", str(LIMIT))
    return make_client()


def _leftovers() -> list[str]:
    uploads = get_settings().uploads_path
    return sorted(os.listdir(uploads)) if uploads.exists() else []


def test_upload_stores_the_file_with_its_digest(upload_client):
    data = os.urandom(3000)
    response = upload_client.post("/files/upload", files={"file": ("report.final.TXT", data, "text/plain")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and body["filename"] == "report.final.TXT" and body["size"] == 3000
    assert body["stored_as"].endswith(".txt") and len(body["stored_as"]) == 36
    assert body["relative_path"] == f"_uploads/{body['stored_as']}"
    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["content_type"] == "text/plain"
    assert (get_settings().uploads_path / body["stored_as"]).read_bytes() == data
    listed = upload_client.get("/files").json()
    assert listed["total"] == 1 and listed["files"][0]["sha256"] == body["sha256"]


def test_names_from_the_client_never_choose_the_path(upload_client):
    for name in ("../../etc/passwd", "..\\..\\evil.exe", "/abs/x.sh", "weird.<script>"):
        body = upload_client.post("/files/upload", files={"file": (name, b"x")}).json()
        assert "/" not in body["stored_as"] and ".." not in body["stored_as"]
        assert (get_settings().uploads_path / body["stored_as"]).is_file()
    names = [f["filename"] for f in upload_client.get("/files?limit=10").json()["files"]]
    assert sorted(names) == ["evil.exe", "passwd", "weird.<script>", "x.sh"]


def test_at_the_limit_and_over_it(upload_client):
    assert upload_client.post("/files/upload", files={"file": ("a.bin", b"a" * LIMIT)}).status_code == 200
    over = upload_client.post("/files/upload", files={"file": ("b.bin", b"b" * (LIMIT + 1))})
    assert over.status_code == 413 and over.json()["detail"] == f"File too large (limit {LIMIT} bytes)"
    assert len(_leftovers()) == 1  # the first file only: no partial file of the second
    assert upload_client.get("/files").json()["total"] == 1


def test_no_file_is_a_400(upload_client):
    for kwargs in ({"data": {"other": "x"}, "files": {"note": ("n.txt", b"x")}}, {"json": {"file": "x"}},
                   {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}):
        response = upload_client.post("/files/upload", **kwargs)
        assert response.status_code == 400 and response.json()["detail"] == "No file provided", kwargs
    assert _leftovers() == []


def test_attached_to_a_run_it_is_one_of_its_artifacts(upload_client):
    run_id = upload_client.post("/runs/start", json=run_payload()).json()["id"]
    body = upload_client.post(f"/files/upload?run_id={run_id}", files={"file": ("shot.png", b"png")}).json()
    assert body["run_id"] == run_id and body["relative_path"].endswith(f"/uploads/{body['stored_as']}")
    index = upload_client.get(f"/runs/{run_id}/artifacts/index").json()
    assert f"uploads/{body['stored_as']}" in {a["path"] for a in index["artifacts"]}
    as_field = upload_client.post("/files/upload", data={"run_id": run_id}, files={"file": ("b.txt", b"b")}).json()
    assert as_field["run_id"] == run_id
    unknown = upload_client.post("/files/upload?run_id=nope", files={"file": ("c.txt", b"c")})
    assert unknown.status_code == 404 and _leftovers() == []
    assert upload_client.get(f"/files?run_id={run_id}").json()["total"] == 2


def test_uploading_needs_the_key_once_configured(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "upload-key")
    client = make_client()
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer upload-key"}):
        assert client.post("/files/upload", files={"file": ("a", b"a")}, headers=headers).status_code in (401, 403)
        assert client.get("/files", headers=headers).status_code in (401, 403)
    assert _leftovers() == []
    ok = client.post("/files/upload", files={"file": ("a", b"a")}, headers={"X-API-Key": "upload-key"})
    assert ok.status_code == 200


def test_an_interrupted_upload_leaves_nothing(monkeypatch):
    import uvicorn

    from autopack.main import create_app

    monkeypatch.setenv("AUTOPACK_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024))
    for name in ("AUTOPACK_APPROVAL_WORKER", "AUTOPACK_OAUTH_REFRESH_WORKER", "AUTOPACK_STORAGE_WORKER"):
        monkeypatch.setenv(name, "0")
    get_settings.cache_clear()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.05)
        head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n")
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST /files/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                         b"Content-Length: 5000000\r\n\r\n" + head + b"z" * 200_000)
            uploads = get_settings().uploads_path
            for _ in range(200):  # the partial file appears while the body streams in
                if uploads.exists() and os.listdir(uploads):
                    break
                time.sleep(0.05)
            assert [n for n in os.listdir(uploads) if n.startswith(".partial-")]
        for _ in range(200):  # the client went away: the partial file goes too
            if not os.listdir(uploads):
                break
            time.sleep(0.05)
        assert os.listdir(uploads) == []
        with session_scope(writer=False) as session:
            assert session.scalar(select(func.count()).select_from(UploadedFile)) == 0
    finally:
        server.should_exit = True
        thread.join(30)
