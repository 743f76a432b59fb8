"""The runs inbox, a run's page and the artifact viewer: content, filters, escaping, containment."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from autopack.core.settings import get_settings
from tests.conftest import run_payload
from tests.web.helpers import enter, user

EVIL = "<script>alert(1)</script>"
FILE = "<img src=x onerror=alert(1)>"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")


@pytest.fixture
def signed(client):
    user("alice")
    enter(client, "alice")
    return client


def start(client, run_id: str, **payload) -> None:
    body = run_payload(run_id)
    body.update(payload)
    assert client.post("/runs/start", json=body).status_code == 201


def run_dir(run_id: str) -> Path:
    from autopack.runs import layout

    return layout.run_dir(run_id)


def test_inbox_lists_filters_searches_and_pages(signed):
    for n in range(3):
        start(signed, f"alpha-{n}")
    start(signed, "beta-1")
    signed.post("/runs/beta-1/phases/F1.1/update_status", json={"state": "EXECUTING"})
    page = signed.get("/ui/runs")
    assert page.status_code == 200
    assert "4 runs" in page.text
    for run_id in ("alpha-0", "alpha-2", "beta-1"):
        assert f'href="/ui/runs/{run_id}"' in page.text
    assert signed.get("/ui/runs?q=alpha").text.count('href="/ui/runs/alpha-') == 3
    searched = signed.get("/ui/runs?q=beta")
    assert "1 run<" in searched.text and "alpha-0" not in searched.text
    assert "Phase 1.1" in searched.text  # current phase
    by_state = signed.get("/ui/runs?state=PHASE_EXECUTION")
    assert "beta-1" in by_state.text and "alpha-0" not in by_state.text
    assert "0 runs" in signed.get("/ui/runs?q=%25").text  # LIKE wildcards are searched as text
    assert signed.get("/ui/runs?page=0").status_code == 422
    assert signed.get("/ui/runs?page=abc").status_code == 422
    assert signed.get("/ui/runs?state=NOPE").status_code == 200  # an unknown state is no filter


def test_run_page_shows_tiers_phases_tokens_and_live_script(signed):
    start(signed, "run-a")
    signed.post("/runs/run-a/phases/F1.2/update_status", json={"state": "EXECUTING"})
    page = signed.get("/ui/runs/run-a")
    assert page.status_code == 200
    assert 'data-phase="F1.2">EXECUTING<' in page.text
    assert 'data-phase="F2.1">QUEUED<' in page.text
    assert 'data-tier="T1">IN_PROGRESS<' in page.text
    assert 'src="/ui/static/run-live.js"' in page.text
    assert 'data-last-event="' in page.text and 'data-last-event="0"' not in page.text
    assert signed.get("/ui/runs/nope").status_code == 404
    assert signed.get("/ui/runs/bad%0Aid").status_code == 422


def test_run_page_shows_what_the_executor_reported_per_phase(signed):
    start(signed, "run-r")
    for attempt in (1, 2):
        signed.post("/runs/run-r/phases/F1.1/builder_result", json={
            "run_id": "run-r", "phase_id": "F1.1", "status": "<b>done</b>", "builder_attempts": attempt,
            "files_changed": ["a.py", "b.py"], "lines_added": 12, "lines_removed": 3, "tokens_used": 4500})
    signed.post("/runs/run-r/phases/F1.1/auditor_result", json={
        "run_id": "run-r", "phase_id": "F1.1", "review_notes": "ok", "recommendation": "approve"})
    page = signed.get("/ui/runs/run-r").text
    assert ('data-reported="F1.1">attempt 2 &lt;b&gt;done&lt;/b&gt;: 2 files +12/-3, 4,500 tokens'
            ' · auditor approve<') in page
    assert 'data-reported="F1.2"></td>' in page  # nothing reported yet


def test_names_and_texts_with_markup_render_as_text(signed):
    run_id = "<script>alert(1)"  # a legal run id (no separator), dangerous if it were not escaped
    start(signed, run_id, phases=[{**run_payload()["phases"][0], "name": EVIL}])
    response = signed.post(f"/runs/{quote(run_id)}/phases/F1.1/record_issue",
                           params={"issue_key": EVIL, "severity": "minor", "source": "test", "category": "x"})
    assert response.status_code == 200, response.text
    (run_dir(run_id) / f"{FILE}.txt").write_text(f"hello {EVIL}")
    for page in (signed.get(f"/ui/runs/{quote(run_id)}"), signed.get("/ui/runs")):
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in signed.get(f"/ui/runs/{quote(run_id)}").text  # the issue
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in signed.get(f"/ui/runs/{quote(run_id)}").text
    viewer = signed.get(f"/ui/runs/{quote(run_id)}/artifact", params={"path": f"{FILE}.txt"})
    assert viewer.status_code == 200
    assert "<script>alert" not in viewer.text and "<img src=x" not in viewer.text
    assert "hello &lt;script&gt;alert(1)&lt;/script&gt;" in viewer.text


def test_artifact_viewer_images_html_sandbox_and_traversal(signed):
    start(signed, "run-v")
    root = run_dir("run-v")
    (root / "screenshots").mkdir(parents=True, exist_ok=True)
    (root / "screenshots" / "page.png").write_bytes(PNG)
    (root / "capture.html").write_text("<h1>Stored</h1><script>parent.document.title='owned'</script>")
    page = signed.get("/ui/runs/run-v")
    assert '<img src="/ui/runs/run-v/artifact/raw?path=screenshots/page.png"' in page.text
    image = signed.get("/ui/runs/run-v/artifact/raw", params={"path": "screenshots/page.png"})
    assert image.status_code == 200 and image.content == PNG and image.headers["content-type"] == "image/png"
    viewer = signed.get("/ui/runs/run-v/artifact", params={"path": "capture.html"})
    assert '<iframe class="viewer-frame" sandbox src=' in viewer.text
    raw = signed.get("/ui/runs/run-v/artifact/raw", params={"path": "capture.html"})
    assert raw.headers["content-security-policy"].startswith("sandbox;")
    assert "script-src" not in raw.headers["content-security-policy"]
    assert raw.headers["x-frame-options"] == "SAMEORIGIN"
    assert signed.get("/ui/runs/run-v").headers["x-frame-options"] == "DENY"
    for bad in ("../../etc/passwd", "/etc/passwd", "%2e%2e/x"):
        assert signed.get("/ui/runs/run-v/artifact", params={"path": bad}).status_code == 400, bad
        assert signed.get("/ui/runs/run-v/artifact/raw", params={"path": bad}).status_code == 400, bad
    assert signed.get("/ui/runs/run-v/artifact", params={"path": "missing.txt"}).status_code == 404
    assert signed.get("/ui/runs/run-v/artifact", params={"path": "screenshots"}).status_code == 400


def test_static_files_are_only_the_shipped_ones(client):
    assert client.get("/ui/static/console.css").headers["content-type"].startswith("text/css")
    assert client.get("/ui/static/run-live.js").status_code == 200
    assert client.get("/ui/static/..%2f..%2fmain.py").status_code == 404
    assert client.get("/ui/static/missing.js").status_code == 404


def test_artifact_text_is_capped(signed, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ARTIFACT_MAX_BYTES", "10")
    get_settings.cache_clear()
    start(signed, "run-c")
    (run_dir("run-c") / "big.log").write_text("0123456789abcdef")
    viewer = signed.get("/ui/runs/run-c/artifact", params={"path": "big.log"})
    assert "Showing the first 10 of 16 bytes." in viewer.text
    assert "0123456789" in viewer.text and "abcdef" not in viewer.text
