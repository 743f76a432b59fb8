"""The demo's run watched live in the console's run page (Debian's Chromium through Playwright) while it executes."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from autopack.executor.demo.__main__ import STEP, prepare
from autopack.remote.plan import example_text, load_plan
from tests.executor.conftest import KEY
from tests.web.helpers import CHROMIUM, PASSWORD, chromium_browser, user

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
# Generous (the machine may be busy): waits for a condition, not timings. `expect` has its own
# default (5 s), not the context's, so each assertion names it.
WAIT_MS = 120_000

# Keeps every text #run-state shows, in order, from the moment it is installed.
RECORD_STATES = """() => {
  const node = document.getElementById("run-state");
  window.__states = [node.textContent.trim()];
  new MutationObserver(() => {
    const text = node.textContent.trim();
    if (window.__states[window.__states.length - 1] !== text) { window.__states.push(text); }
  }).observe(node, {childList: true, characterData: true, subtree: true});
  window.__notReloaded = true;
}"""


browser = pytest.fixture(scope="module", name="browser")(chromium_browser)


def test_the_demo_run_is_seen_live_from_run_created_to_done_success(server, browser, tmp_path):
    expect = playwright_api.expect
    workspace = prepare(tmp_path)
    (tmp_path / "plan.yaml").write_text(example_text())
    body = load_plan(tmp_path / "plan.yaml", "demo-live")
    assert httpx.post(f"{server}/runs/start", json=body, headers={"X-API-Key": KEY}, timeout=30).status_code == 201
    phases = [p["phase_id"] for p in body["phases"]]
    user("watcher", superuser=True)
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        page.goto("/ui/login")
        page.fill("input[name=username]", "watcher")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/ui/runs")
        page.goto("/ui/runs/demo-live")
        expect(page.locator("#run-state")).to_have_text("RUN_CREATED", timeout=WAIT_MS)
        for phase_id in phases:
            expect(page.locator(f'[data-phase="{phase_id}"]')).to_have_text("QUEUED", timeout=WAIT_MS)
        expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT_MS)  # subscribed to the event stream
        page.evaluate(RECORD_STATES)
        executor = subprocess.Popen(
            [sys.executable, "-m", "autopack.cli", "execute", "--run-id", "demo-live", "--workspace", str(workspace),
             "--api-url", server, "--builder-command", f"{STEP} build", "--auditor-command", f"{STEP} audit"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "AUTOPACK_API_KEY": KEY, "AUTOPACK_PROTECTED_PATHS": ".git/,.autonomous_runs/"})
        try:
            expect(page.locator("#run-state")).to_have_text("DONE_SUCCESS", timeout=WAIT_MS)
            for phase_id in phases:
                expect(page.locator(f'[data-phase="{phase_id}"]')).to_have_text("COMPLETE", timeout=WAIT_MS)
            output, _ = executor.communicate(timeout=WAIT_MS / 1000)
        finally:
            executor.kill()
        assert executor.returncode == 0, output
        states = page.evaluate("window.__states")
        assert states[0] == "RUN_CREATED" and states[-1] == "DONE_SUCCESS", states
        assert len(states) >= 3, states  # the run went through its execution states on the page
        assert page.evaluate("window.__notReloaded") is True  # the same page all along: the stream moved it
    finally:
        context.close()
