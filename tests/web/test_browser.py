"""The console in a real browser: Debian's Chromium driven by Playwright against a live server.

One server and one browser for the module; each test gets a fresh browser context (its own cookies).
Screenshots of the main pages go to `.test-artifacts/console/` (git-ignored); the README shows two.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from autopack.autopilot.settings import get_autopilot_settings
from autopack.autopilot.signal_health.service import record_readings
from autopack.core.database import session_scope
from tests.auth.helpers import bearer
from tests.conftest import run_payload
from tests.governance.helpers import builder_body, init_repo, make_patch
from tests.live_server import free_port, running
from tests.web.helpers import CHROMIUM, PASSWORD, chromium_browser, tenant, user

SHOTS = Path(__file__).resolve().parents[2] / ".test-artifacts" / "console"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A live server on the test database: its base URL, runs directory and workspace repository."""
    root = tmp_path_factory.mktemp("console")
    repo = init_repo(root / "workspace")
    runs = root / "runs" / ".autonomous_runs"
    port = free_port()
    env = {**os.environ, "AUTONOMOUS_RUNS_DIR": str(runs), "REPO_PATH": str(repo),
           "AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0",
           "AUTOPACK_AUTOPILOT_WORKER": "1", "AUTOPACK_AUTOPILOT_POLL_SECONDS": "0.3",
           "AUTOPACK_EVENTS_POLL_SECONDS": "0.2", "AUTOPACK_EVENTS_MAX_STREAM_SECONDS": "60",
           "AUTOPACK_RUNS_START_RATE_LIMIT": "100/minute", "AUTOPACK_RATE_LIMIT_ENABLED": "0"}
    cmd = [sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(cmd, port=port, env=env, log=root / "server.log", timeout=60):
        yield {"url": f"http://127.0.0.1:{port}", "runs": runs, "repo": repo}


browser = pytest.fixture(scope="module", name="browser")(chromium_browser)


@pytest.fixture
def page(browser, live):
    context = browser.new_context(base_url=live["url"], viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, username: str) -> None:
    page.goto("/ui/runs")
    assert "/ui/login" in page.url  # anonymous: sent to the form, then back
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/ui/runs")


def run_dir(live, run_id: str) -> Path:
    found = [p for p in live["runs"].rglob(run_id) if p.is_dir()]
    assert found, f"no directory for {run_id}"
    return found[0]


def test_sign_in_and_watch_phases_move_without_a_reload(live, page):
    expect = playwright_api.expect
    user("root", superuser=True)
    api = httpx.Client(base_url=live["url"], timeout=10)
    for n in range(3):
        assert api.post("/runs/start", json=run_payload(f"build-2026-0{n}", 2, 3)).status_code == 201
    sign_in(page, "root")
    expect(page.get_by_test_id("user")).to_have_text("root")
    expect(page.get_by_test_id("role")).to_have_text("superuser")
    shot(page, "runs")
    page.click("text=build-2026-01")
    page.wait_for_url("**/ui/runs/build-2026-01")
    expect(page.locator("#live-status")).to_have_text("live")
    page.evaluate("window.__notReloaded = true")

    def executor():  # moves phases while the page is open
        for phase, state in (("F1.1", "EXECUTING"), ("F1.1", "COMPLETE"), ("F1.2", "EXECUTING")):
            time.sleep(0.3)
            response = api.post(f"/runs/build-2026-01/phases/{phase}/update_status", json={"state": state})
            assert response.status_code == 200, response.text

    mover = threading.Thread(target=executor)
    mover.start()
    expect(page.locator('[data-phase="F1.1"]')).to_have_text("COMPLETE")
    expect(page.locator('[data-phase="F1.2"]')).to_have_text("EXECUTING")
    expect(page.locator('[data-tier="T1"]')).to_have_text("IN_PROGRESS")
    expect(page.locator("#run-state")).to_have_text("PHASE_EXECUTION")
    mover.join()
    assert page.evaluate("window.__notReloaded") is True
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors
    shot(page, "run")


def _loaded_width(page, selector: str) -> int:
    """The image's natural width once the browser has finished loading it (0 while it loads, and if broken)."""
    page.wait_for_function("s => { const i = document.querySelector(s); return i !== null && i.complete; }",
                           arg=selector, timeout=60_000)
    return page.evaluate("s => document.querySelector(s).naturalWidth", selector)


def test_artifacts_text_image_and_sandboxed_html(live, page):
    expect = playwright_api.expect
    user("root", superuser=True)
    assert httpx.post(f"{live['url']}/runs/start", json=run_payload("art-run")).status_code == 201
    folder = run_dir(live, "art-run")
    (folder / "screenshots").mkdir(exist_ok=True)
    (folder / "screenshots" / "home.png").write_bytes(PNG)
    (folder / "notes.txt").write_text("<script>window.__pwned = 1</script> plain text")
    (folder / "capture.html").write_text("<h1 id=t>Captured</h1><script>parent.__pwned = 2;"
                                         "document.getElementById('t').textContent = 'scripted'</script>")
    sign_in(page, "root")
    page.goto("/ui/runs/art-run")
    shots = page.locator(".shots img")
    expect(shots).to_have_count(1)
    assert _loaded_width(page, ".shots img") == 1
    page.click("text=notes.txt")
    expect(page.get_by_test_id("artifact-text")).to_have_text("<script>window.__pwned = 1</script> plain text")
    page.go_back()
    page.click(".shots a")
    expect(page.get_by_test_id("artifact-image")).to_be_visible()
    assert _loaded_width(page, "[data-testid=artifact-image]") == 1
    page.goto("/ui/runs/art-run")
    page.click("text=capture.html")
    frame_element = page.get_by_test_id("artifact-frame")
    assert frame_element.get_attribute("sandbox") == ""
    frame = page.frame_locator("[data-testid=artifact-frame]")
    expect(frame.locator("#t")).to_have_text("Captured")  # shown, and its script never ran
    assert page.evaluate("window.__pwned") is None


def test_approve_an_approval_and_a_governance_request(live, page):
    expect = playwright_api.expect
    user("root", superuser=True)
    api = httpx.Client(base_url=live["url"], timeout=10)
    assert api.post("/runs/start", json=run_payload("gov-run")).status_code == 201
    asked = api.post("/approval/request", json={"run_id": "gov-run", "phase_id": "F1.1",
                                                "context": "build113_risky_decision",
                                                "decision_info": {"risk_level": "high", "description": "drop a table"}})
    approval_id = asked.json()["approval_id"]
    patch = make_patch(live["repo"], lambda c: (c / "config/secrets.yaml").write_bytes(b"token: mine\n"))
    sent = api.post("/runs/gov-run/phases/F1.1/builder_result",
                    json={**builder_body(patch, allowed_paths=["config"]), "run_id": "gov-run"})
    assert sent.status_code == 422, sent.text
    request_id = json.loads(sent.json()["detail"])["request_id"]
    sign_in(page, "root")
    page.goto("/ui/approvals")
    card = page.get_by_test_id(f"approval-{approval_id}")
    expect(card).to_contain_text("drop a table")
    shot(page, "approvals")
    card.locator("input[name=reason]").fill("checked the table is unused")
    card.get_by_test_id("approve").click()
    page.wait_for_url("**/ui/approvals")
    expect(page.get_by_test_id("history")).to_contain_text("checked the table is unused")
    assert api.get(f"/approval/status/{approval_id}").json()["status"] == "approved"
    governance = page.get_by_test_id(f"governance-{request_id}")
    expect(governance).to_contain_text("+token: mine")
    governance.locator("input[name=reason]").fill("secrets file is expected")
    governance.get_by_test_id("approve").click()
    page.wait_for_url("**/ui/approvals")
    expect(page.get_by_test_id("history")).to_contain_text("approved (applied)")
    assert (live["repo"] / "config/secrets.yaml").read_bytes() == b"token: mine\n"  # the patch landed


def test_autopilot_approve_apply_settings_and_kill_switch(live, page):
    expect = playwright_api.expect
    acme = tenant("acme")
    with session_scope() as session:
        get_autopilot_settings(session, acme.id).level = 2
        record_readings(session, acme.id, [{"platform": "meta", "emq": 90, "freshness": 90, "variance": 90,
                                            "anomaly": 90}], "test")
    from autopack.auth.service import find_user
    from autopack.auth.tokens import issue_access_token

    with session_scope(writer=False) as session:
        token = issue_access_token(find_user(session, "acme-operator"))
    body = {"action_type": "pause_campaign", "entity_type": "campaign", "entity_id": "c-77",
            "entity_name": "Winter Sale", "platform": "meta", "action_json": {"type": "pause_campaign"},
            "before_value": {"daily_budget": 300.0, "status": "active"}}
    queued = httpx.post(f"{live['url']}/api/v1/tenant/{acme.id}/autopilot/actions", json=body,
                        headers=bearer(token), timeout=10)
    assert queued.status_code == 201, queued.text
    action_id = queued.json()["data"]["action"]["id"]
    sign_in(page, "acme-admin")
    page.goto(f"/ui/tenants/{acme.id}/autopilot")
    expect(page.get_by_test_id("queue")).to_contain_text("Winter Sale")
    page.get_by_test_id(f"approve-{action_id}").click()
    expect(page.get_by_test_id("action-detail")).to_be_visible()
    deadline = time.monotonic() + 20
    while page.get_by_test_id("action-status").text_content() != "applied":  # the worker applies it
        assert time.monotonic() < deadline, page.get_by_test_id("action-detail").text_content()
        time.sleep(0.3)
        page.reload()
    expect(page.get_by_test_id("action-detail")).to_contain_text('"status": "paused"')  # the after value
    page.select_option("select[name=default_mode]", "hard_block")
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_test_id("default-mode")).to_have_text("hard_block")
    expect(page.get_by_test_id("banner")).to_have_count(0)
    page.locator("#kill-switch ~ form input[name=reason]").first.fill("runaway spend")
    page.get_by_test_id("kill-switch").click()
    expect(page.get_by_test_id("banner")).to_have_text("Kill switch on: enforcement is off for tenant Acme")
    expect(page.get_by_test_id("enforcement-state")).to_have_text("OFF (kill switch)")
    shot(page, "autopilot")
    page.goto("/ui/usage")
    expect(page.get_by_test_id("banner")).to_be_visible()  # on every page
