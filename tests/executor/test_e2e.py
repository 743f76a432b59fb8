"""The executor against one live server: good, malformed, protected, failing-then-fixed, budget-held runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from autopack.client import Client
from autopack.core.settings import get_settings
from autopack.executor.builders import AnthropicBuilder, Build, ChatBuilder, StepError
from autopack.executor.loop import Executor, ExecutorError, Options
from tests.executor.conftest import KEY, diff, git, plan

GOOD = diff("app.txt", "version = 1\n", "version = 2\n")
HEADERS = {"X-API-Key": KEY}
MALFORMED = "--- a/app.txt\n+++ b/app.txt\n@@ -7,3 +7,3 @@\n-nothing here\n+at all\n"


class Scripted:
    """A builder answering each phase's attempts from a list (the last answer repeats)."""

    def __init__(self, answers: dict[str, list[str]], tokens: int = 0):
        self.answers, self.tokens, self.requests = answers, tokens, []

    def build(self, request):
        self.requests.append(request)
        queue = self.answers[request["phase_id"]]
        patch = queue.pop(0) if len(queue) > 1 else queue[0]
        if patch is None:
            raise StepError("scripted failure")
        return Build(patch, "fake", "scripted-1", self.tokens // 2, self.tokens - self.tokens // 2)


def start(server: str, body: dict) -> None:
    response = httpx.post(f"{server}/runs/start", json=body, headers=HEADERS, timeout=10)
    assert response.status_code == 201, response.text


def events(server: str, run_id: str) -> list:
    with Client(server, api_key=KEY) as client:
        return list(client.events(run_id=run_id, once=True))


def run_executor(server, run_id, workspace, builder, said=None, **options):
    with Client(server, api_key=KEY) as client:
        say = said.append if said is not None else (lambda _: None)
        return Executor(client, run_id, workspace, builder, options=Options(**options), say=say).run()


def test_good_patch_through_the_cli_with_command_builder_and_auditor(server, workspace, tmp_path):
    start(server, plan("cli-good", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    builder = tmp_path / "builder.py"
    builder.write_text("import json, sys\nphase = json.load(sys.stdin)\nassert phase['phase_id'] == 'P1'\n"
                       f"sys.stdout.write({GOOD!r})\n")
    auditor = tmp_path / "auditor.py"
    auditor.write_text("import json, sys\njson.load(sys.stdin)\n"
                       "print(json.dumps({'recommendation': 'approve', 'review_notes': 'fine'}))\n")
    done = subprocess.run(
        [sys.executable, "-m", "autopack.cli", "execute", "--run-id", "cli-good", "--workspace", str(workspace),
         "--api-url", server, "--builder-command", f"{sys.executable} {builder}",
         "--auditor-command", f"{sys.executable} {auditor}", "--test-command", "git diff --quiet README.md"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200", "AUTOPACK_API_KEY": KEY})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DONE_SUCCESS" in done.stdout
    assert (workspace / "app.txt").read_text() == "version = 2\n"
    run = httpx.get(f"{server}/runs/cli-good", headers=HEADERS).json()
    assert run["state"] == "DONE_SUCCESS" and run["phases"][0]["state"] == "COMPLETE"
    found = {e.type: e.payload for e in events(server, "cli-good")}
    assert found["builder.result"]["status"] == "success"
    assert found["auditor.result"]["recommendation"] == "approve"


def test_refuses_a_server_that_is_not_autopack(workspace, fake_http):
    url = fake_http(lambda path, body: (200, {"status": "healthy", "service": "something-else"}))
    with Client(url, max_retries=0) as client:
        with pytest.raises(ExecutorError, match="not an Autopack server"):
            Executor(client, "r", workspace, Scripted({}), options=Options()).check_server()


def test_malformed_patch_is_retried_then_fails_and_leaves_the_workspace_alone(server, workspace):
    start(server, plan("malformed", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}},
                                     {"phase_id": "P2", "scope": {"paths": ["app.txt"]}}]))
    builder = Scripted({"P1": [MALFORMED, GOOD], "P2": [MALFORMED]}, tokens=10)
    outcome = run_executor(server, "malformed", workspace, builder, max_attempts=2)
    assert outcome.completed == ["P1"] and outcome.failed == ["P2"]
    assert "did not apply" in builder.requests[1]["feedback"]  # the failure went back to the builder
    assert (workspace / "app.txt").read_text() == "version = 2\n"  # P1's patch only
    run = httpx.get(f"{server}/runs/malformed", headers=HEADERS).json()
    assert run["state"] == "DONE_FAILED_REQUIRES_HUMAN_REVIEW"
    assert [p["state"] for p in run["phases"]] == ["COMPLETE", "FAILED"]
    assert run["usage_tokens"] == 40  # four builder calls of 10 tokens, recorded as usage events


def test_failing_check_succeeds_on_retry_with_only_the_fix_left(server, workspace):
    check = "python3 -c \"import sys; sys.exit(open('app.txt').read() != 'version = 3\\n')\""
    start(server, plan("retry", [{"phase_id": "P1", "scope": {"paths": ["app.txt"], "ci": [check]}}]))
    wrong = diff("app.txt", "version = 1\n", "version = 2\nextra\n")
    right = diff("app.txt", "version = 1\n", "version = 3\n")
    builder = Scripted({"P1": [wrong, right]})
    outcome = run_executor(server, "retry", workspace, builder)
    assert outcome.completed == ["P1"]
    assert "failed" in builder.requests[1]["feedback"]
    assert (workspace / "app.txt").read_text() == "version = 3\n"
    results = [e.payload for e in events(server, "retry") if e.type == "builder.result"]
    assert len(results) == 2
    run = httpx.get(f"{server}/runs/retry", headers=HEADERS).json()
    assert run["state"] == "DONE_SUCCESS"
    assert git(workspace, "status", "--porcelain").strip() == "M app.txt"


def _decide_first(server: str, pending, decide) -> None:
    """Wait for the first pending item `pending(client)` returns, then `decide(client, item)`."""
    with Client(server, api_key=KEY) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            items = pending(client)
            if items:
                decide(client, items[0])
                return
            time.sleep(0.2)
    raise AssertionError("nothing to decide")


def test_protected_path_patch_applies_after_governance_approval(server, workspace):
    protected = diff("config/app.yaml", "", "debug: false\n")
    start(server, plan("governed", [{"phase_id": "P1", "scope": {"paths": ["config/app.yaml"]}}]))
    result = {}
    worker = threading.Thread(target=lambda: result.update(
        outcome=run_executor(server, "governed", workspace, Scripted({"P1": [protected]}), poll_seconds=0.2)))
    worker.daemon = True
    worker.start()
    _decide_first(server, lambda c: [g for g in c.governance_pending().pending_requests if g.run_id == "governed"],
                  lambda c, item: c.decide_governance(item.request_id, True, reason="config is fine"))
    worker.join(30)
    assert result["outcome"].completed == ["P1"]
    assert (workspace / "config/app.yaml").read_text() == "debug: false\n"
    assert httpx.get(f"{server}/runs/governed", headers=HEADERS).json()["state"] == "DONE_SUCCESS"


def test_budget_exhausted_mid_run_stops_taking_phases(server, workspace):
    start(server, plan("budget", [{"phase_id": f"P{i}", "scope": {"paths": ["app.txt"]}} for i in (1, 2, 3)],
                       token_cap=50))
    builder = Scripted({"P1": [GOOD], "P2": [GOOD], "P3": [GOOD]}, tokens=80)
    result, said = {}, []
    worker = threading.Thread(target=lambda: result.update(
        outcome=run_executor(server, "budget", workspace, builder, said, poll_seconds=0.2)), daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while not any(line.startswith("budget:") for line in said):  # the executor met the hold (409)
        assert time.monotonic() < deadline and worker.is_alive(), said
        time.sleep(0.1)
    _decide_first(server, lambda c: [a for a in c.pending_approvals().requests if a.run_id == "budget"],
                  lambda c, item: c.decide_approval(item.id, False, reason="stop here"))
    worker.join(30)
    outcome = result["outcome"]
    assert outcome.completed == ["P1"] and outcome.stopped_reason == "budget"
    run = httpx.get(f"{server}/runs/budget", headers=HEADERS).json()
    assert run["state"] == "DONE_FAILED_BUDGET_EXHAUSTED"
    assert [p["state"] for p in run["phases"]] == ["COMPLETE", "SKIPPED", "SKIPPED"]
    assert run["usage_tokens"] == 80
    assert (workspace / "app.txt").read_text() == "version = 2\n"


def test_llm_builder_patch_and_usage_recorded(server, workspace, fake_http):
    llm = fake_http(lambda path, body: (200, {"choices": [{"message": {"content": f"```diff\n{GOOD}```"}}],
                                              "usage": {"prompt_tokens": 100, "completion_tokens": 25}}))
    start(server, plan("llm", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    outcome = run_executor(server, "llm", workspace, ChatBuilder(llm, "fake-coder", "k", workspace))
    assert outcome.completed == ["P1"]
    assert (workspace / "app.txt").read_text() == "version = 2\n"
    run = httpx.get(f"{server}/runs/llm", headers=HEADERS).json()
    assert (run["state"], run["usage_tokens"]) == ("DONE_SUCCESS", 125)
    with Client(server, api_key=KEY) as client:
        usage = client.usage("day")
        efficiency = client.token_efficiency("llm")
    mine = [m for m in usage.models if m.model == "fake-coder"]
    assert [(m.provider, m.prompt_tokens, m.completion_tokens) for m in mine] == [("openai", 100, 25)]
    assert (efficiency.total_phases, efficiency.total_budget_used, efficiency.lexical_mode_count) == (1, 125, 1)


def test_demo_example_run_with_the_scripted_steps(server, tmp_path, monkeypatch):
    from autopack.executor.builders import CommandAuditor, CommandBuilder
    from autopack.executor.demo.__main__ import STEP, prepare
    from autopack.remote.plan import example_text, load_plan

    monkeypatch.setenv("AUTOPACK_PROTECTED_PATHS", ".git/,.autonomous_runs/")  # as the demo does
    get_settings.cache_clear()
    workspace = prepare(tmp_path)
    (tmp_path / "plan.yaml").write_text(example_text())
    start(server, load_plan(tmp_path / "plan.yaml", "demo-run"))
    with Client(server, api_key=KEY) as client:
        outcome = Executor(client, "demo-run", workspace, CommandBuilder(f"{STEP} build", workspace),
                           CommandAuditor(f"{STEP} audit", workspace), say=lambda _: None).run()
    get_settings.cache_clear()
    assert outcome.completed == ["T1.P1", "T1.P2", "T2.P1"]
    assert httpx.get(f"{server}/runs/demo-run", headers=HEADERS).json()["state"] == "DONE_SUCCESS"
    assert "greeting: Hello from Autopack" in (workspace / "config/settings.yaml").read_text()
    assert (workspace / "src/app/settings.py").is_file() and (workspace / "docs/settings.md").is_file()


class Crashing:
    """An auditor that fails like a crashed or interrupted executor."""

    def __init__(self, error: BaseException):
        self.error = error

    def audit(self, request):
        raise self.error


def test_crash_then_resume_starts_the_phase_from_a_clean_workspace(server, workspace):
    start(server, plan("resume", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    with Client(server, api_key=KEY) as client:
        with pytest.raises(RuntimeError):
            Executor(client, "resume", workspace, Scripted({"P1": [GOOD]}), Crashing(RuntimeError("crash")),
                     say=lambda _: None).run()
    assert (workspace / "app.txt").read_text() == "version = 2\n"  # applied, then the process died
    assert httpx.get(f"{server}/runs/resume", headers=HEADERS).json()["phases"][0]["state"] == "GATE"  # the builder result was in
    builder = Scripted({"P1": [GOOD]})
    outcome = run_executor(server, "resume", workspace, builder)
    assert outcome.completed == ["P1"] and len(builder.requests) == 1  # the same patch applied again, once
    assert (workspace / "app.txt").read_text() == "version = 2\n"
    assert httpx.get(f"{server}/runs/resume", headers=HEADERS).json()["state"] == "DONE_SUCCESS"
    assert not list((workspace / ".git").glob("autopack-executor/*"))  # the snapshot is gone


def test_ctrl_c_reverts_the_phase_and_queues_it_again(server, workspace):
    start(server, plan("interrupted", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    with Client(server, api_key=KEY) as client:
        with pytest.raises(KeyboardInterrupt):
            Executor(client, "interrupted", workspace, Scripted({"P1": [GOOD]}), Crashing(KeyboardInterrupt()),
                     say=lambda _: None).run()
    assert (workspace / "app.txt").read_text() == "version = 1\n"
    run = httpx.get(f"{server}/runs/interrupted", headers=HEADERS).json()
    assert run["phases"][0]["state"] == "QUEUED"


def test_large_deletion_needs_an_approval_and_a_rejection_fails_the_phase(server, workspace):
    lines = "".join(f"line {i}\n" for i in range(10))
    (workspace / "big.txt").write_text(lines)
    start(server, plan("deletion", [{"phase_id": "P1", "scope": {"paths": ["big.txt"]}}]))
    builder = Scripted({"P1": [diff("big.txt", lines, "line 0\n")]})
    result = {}
    worker = threading.Thread(target=lambda: result.update(outcome=run_executor(
        server, "deletion", workspace, builder, max_net_deletion=5, poll_seconds=0.2)), daemon=True)
    worker.start()
    _decide_first(server, lambda c: [a for a in c.pending_approvals().requests if a.run_id == "deletion"],
                  lambda c, item: c.decide_approval(item.id, False, reason="keep those lines"))
    worker.join(30)
    assert result["outcome"].failed == ["P1"] and len(builder.requests) == 1  # no retry after a human's no
    assert (workspace / "big.txt").read_text() == lines
    run = httpx.get(f"{server}/runs/deletion", headers=HEADERS).json()
    assert run["phases"][0]["state"] == "FAILED"


def test_budget_extension_lets_the_executor_carry_on(server, workspace):
    start(server, plan("extended", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}},
                                    {"phase_id": "P2", "scope": {"paths": ["README.md"]}}], token_cap=50))
    readme = diff("README.md", "# demo\n", "# demo\n\nmore\n")
    builder = Scripted({"P1": [GOOD], "P2": [readme]}, tokens=80)
    result, said = {}, []
    worker = threading.Thread(target=lambda: result.update(
        outcome=run_executor(server, "extended", workspace, builder, said, poll_seconds=0.2)), daemon=True)
    worker.start()
    _decide_first(server, lambda c: [a for a in c.pending_approvals().requests if a.run_id == "extended"],
                  lambda c, item: c.decide_approval(item.id, True, reason="worth it", amount=1000))
    worker.join(30)
    assert result["outcome"].completed == ["P1", "P2"] and result["outcome"].stopped_reason is None
    run = httpx.get(f"{server}/runs/extended", headers=HEADERS).json()
    assert (run["state"], run["token_cap"], run["usage_tokens"]) == ("DONE_SUCCESS", 1050, 160)
    assert (workspace / "README.md").read_text() == "# demo\n\nmore\n"


def test_sigint_to_the_cli_reverts_and_requeues_the_phase(server, workspace, tmp_path):
    marker = tmp_path / "check-started"
    slow = f"{sys.executable} -c \"open('{marker}', 'w'); import time; time.sleep(60)\""
    start(server, plan("sigint", [{"phase_id": "P1", "scope": {"paths": ["app.txt"], "ci": [slow]}}]))
    builder = tmp_path / "builder.py"
    builder.write_text(f"import sys\nsys.stdin.read()\nsys.stdout.write({GOOD!r})\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autopack.cli", "execute", "--run-id", "sigint", "--workspace", str(workspace),
         "--api-url", server, "--builder-command", f"{sys.executable} {builder}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "AUTOPACK_API_KEY": KEY})
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():  # the patch is applied and its check is running
            assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read() if proc.poll() else ""
            time.sleep(0.1)
        assert (workspace / "app.txt").read_text() == "version = 2\n"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, output
    assert (workspace / "app.txt").read_text() == "version = 1\n"
    assert httpx.get(f"{server}/runs/sigint", headers=HEADERS).json()["phases"][0]["state"] == "QUEUED"


def _out_of_scope_run(server, workspace, run_id: str, **options):
    """A phase scoped to app.txt whose patch also writes notes.txt, executed in a thread: (result, builder)."""
    start(server, plan(run_id, [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    builder = Scripted({"P1": [GOOD + diff("notes.txt", "", "outside\n")]})
    result = {}
    worker = threading.Thread(target=lambda: result.update(outcome=run_executor(
        server, run_id, workspace, builder, poll_seconds=0.2, **options)), daemon=True)
    worker.start()
    return worker, result, builder


def test_files_outside_the_scope_are_applied_once_approved(server, workspace):
    worker, result, _ = _out_of_scope_run(server, workspace, "scope-yes")
    asked = {}

    def approve(client, item):
        asked.update(item.model_dump())
        client.decide_approval(item.id, True, reason="notes are fine")

    _decide_first(server, lambda c: [a for a in c.pending_approvals().requests if a.run_id == "scope-yes"], approve)
    worker.join(30)
    assert asked["context"] == "scope" and asked["decision_info"]["files_outside_scope"] == ["notes.txt"]
    assert "notes.txt" in asked["decision_info"]["description"]
    assert result["outcome"].completed == ["P1"]
    assert (workspace / "notes.txt").read_text() == "outside\n"
    assert (workspace / "app.txt").read_text() == "version = 2\n"
    assert httpx.get(f"{server}/runs/scope-yes", headers=HEADERS).json()["state"] == "DONE_SUCCESS"


def test_files_outside_the_scope_rejected_fail_the_phase_with_nothing_applied(server, workspace):
    worker, result, builder = _out_of_scope_run(server, workspace, "scope-no")
    _decide_first(server, lambda c: [a for a in c.pending_approvals().requests if a.run_id == "scope-no"],
                  lambda c, item: c.decide_approval(item.id, False, reason="stay in scope"))
    worker.join(30)
    assert result["outcome"].failed == ["P1"] and len(builder.requests) == 1  # no retry after a human's no
    assert (workspace / "app.txt").read_text() == "version = 1\n" and not (workspace / "notes.txt").exists()
    assert git(workspace, "status", "--porcelain", "--untracked-files=all").strip() == ""
    run = httpx.get(f"{server}/runs/scope-no", headers=HEADERS).json()
    assert run["phases"][0]["state"] == "FAILED"


def test_files_outside_the_scope_unanswered_in_time_fail_the_phase(server, workspace):
    said = []
    start(server, plan("scope-late", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    builder = Scripted({"P1": [GOOD + diff("notes.txt", "", "outside\n")]})
    outcome = run_executor(server, "scope-late", workspace, builder, said, poll_seconds=0.2, approval_timeout=1)
    assert outcome.failed == ["P1"]
    assert any("no answer in 1s" in line for line in said), said
    assert (workspace / "app.txt").read_text() == "version = 1\n" and not (workspace / "notes.txt").exists()
    run = httpx.get(f"{server}/runs/scope-late", headers=HEADERS).json()
    assert run["phases"][0]["state"] == "FAILED"
    with Client(server, api_key=KEY) as client:  # left pending: the server's own timeout closes it
        assert [a.context for a in client.pending_approvals().requests if a.run_id == "scope-late"] == ["scope"]


def test_max_phases_holds_the_run_and_a_stop_ends_it(server, workspace):
    readme = diff("README.md", "# demo\n", "# demo\n\nmore\n")
    start(server, plan("phase-cap", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}},
                                     {"phase_id": "P2", "scope": {"paths": ["README.md"]}}], max_phases=1))
    result, said = {}, []
    worker = threading.Thread(target=lambda: result.update(outcome=run_executor(
        server, "phase-cap", workspace, Scripted({"P1": [GOOD], "P2": [readme]}), said, poll_seconds=0.2)),
        daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while not any(line.startswith("budget:") for line in said):  # P2's EXECUTING refused (409): waiting
        assert time.monotonic() < deadline and worker.is_alive(), said
        time.sleep(0.1)
    _decide_first(server, lambda c: [a for a in c.pending_approvals().requests if a.run_id == "phase-cap"],
                  lambda c, item: c.decide_approval(item.id, False, reason="one phase is enough"))
    worker.join(30)
    assert result["outcome"].completed == ["P1"] and result["outcome"].stopped_reason == "budget"
    run = httpx.get(f"{server}/runs/phase-cap", headers=HEADERS).json()
    assert (run["state"], [p["state"] for p in run["phases"]]) == ("DONE_FAILED_BUDGET_EXHAUSTED",
                                                                   ["COMPLETE", "SKIPPED"])
    assert (workspace / "README.md").read_text() == "# demo\n"  # P2 never started


def test_anthropic_builder_drives_a_run_against_a_fake_messages_server(server, workspace, fake_http):
    seen = []
    answers = [MALFORMED, GOOD]  # a malformed diff first: fed back, then a good one

    def messages(path, body):
        return 200, {"content": [{"type": "text", "text": f"```diff\n{answers.pop(0)}```"}],
                     "usage": {"input_tokens": 60, "output_tokens": 15}}

    llm = fake_http(messages, seen)
    start(server, plan("anthropic", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    outcome = run_executor(server, "anthropic", workspace, AnthropicBuilder(llm, "fake-claude", "k", workspace))
    assert outcome.completed == ["P1"]
    assert [path for path, _, _ in seen] == ["/v1/messages", "/v1/messages"]
    assert "did not apply" in seen[1][2]["messages"][0]["content"]  # the failure went back to the model
    assert (workspace / "app.txt").read_text() == "version = 2\n"
    run = httpx.get(f"{server}/runs/anthropic", headers=HEADERS).json()
    assert (run["state"], run["usage_tokens"]) == ("DONE_SUCCESS", 150)
    with Client(server, api_key=KEY) as client:
        mine = [m for m in client.usage("day").models if m.model == "fake-claude"]
    assert [(m.provider, m.prompt_tokens, m.completion_tokens) for m in mine] == [("anthropic", 120, 30)]


def test_a_protected_file_outside_the_scope_needs_the_approval_and_then_governance(server, workspace):
    start(server, plan("scope-protected", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    builder = Scripted({"P1": [GOOD + diff("config/app.yaml", "", "debug: false\n")]})
    result = {}
    worker = threading.Thread(target=lambda: result.update(outcome=run_executor(
        server, "scope-protected", workspace, builder, poll_seconds=0.2)), daemon=True)
    worker.start()
    _decide_first(server, lambda c: [a for a in c.pending_approvals().requests if a.run_id == "scope-protected"],
                  lambda c, item: c.decide_approval(item.id, True, reason="config belongs here"))
    assert not (workspace / "config/app.yaml").exists()  # the approval widens the scope, it does not unprotect
    _decide_first(server, lambda c: [g for g in c.governance_pending().pending_requests
                                     if g.run_id == "scope-protected"],
                  lambda c, item: c.decide_governance(item.request_id, True, reason="config is fine"))
    worker.join(30)
    assert result["outcome"].completed == ["P1"]
    assert (workspace / "config/app.yaml").read_text() == "debug: false\n"
    assert httpx.get(f"{server}/runs/scope-protected", headers=HEADERS).json()["state"] == "DONE_SUCCESS"


def test_the_cli_gives_up_on_an_unanswered_scope_approval_and_exits_1(server, workspace, tmp_path):
    start(server, plan("scope-cli", [{"phase_id": "P1", "scope": {"paths": ["app.txt"]}}]))
    builder = tmp_path / "builder.py"
    patch = GOOD + diff("notes.txt", "", "outside\n")
    builder.write_text(f"import sys\nsys.stdin.read()\nsys.stdout.write({patch!r})\n")
    done = subprocess.run(
        [sys.executable, "-m", "autopack.cli", "execute", "--run-id", "scope-cli", "--workspace", str(workspace),
         "--api-url", server, "--builder-command", f"{sys.executable} {builder}"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200", "AUTOPACK_API_KEY": KEY, "AUTOPACK_EXECUTOR_APPROVAL_TIMEOUT_SECONDS": "1"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "notes.txt" in done.stdout and "no answer in 1s" in done.stdout, done.stdout
    assert (workspace / "app.txt").read_text() == "version = 1\n" and not (workspace / "notes.txt").exists()
