"""Builders and auditors without a server: LLM builders against local fakes, the command steps, parsing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autopack.executor.builders import (
    AnthropicBuilder,
    ChatBuilder,
    CommandAuditor,
    CommandBuilder,
    StepError,
    extract_diff,
    parse_verdict,
)
from autopack.executor.loop import strings
from autopack.executor.workspace import Snapshot, diff_counts, run_checks
from tests.executor.conftest import diff

PATCH = diff("app.txt", "version = 1\n", "version = 2\n")
PHASE = {"phase_id": "P1", "name": "Bump", "scope": {"paths": ["app.txt"], "read_only_context": [
    {"path": "README.md", "reason": ""}, {"path": "../outside", "reason": ""}]}}


def test_chat_completions_builder_sends_the_phase_and_reads_diff_and_usage(fake_http, workspace):
    seen = []
    url = fake_http(lambda path, body: (200, {
        "choices": [{"message": {"role": "assistant", "content": f"Here:\n```diff\n{PATCH}```\n"}}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}}), seen)
    build = ChatBuilder(url + "/v1", "local-model", "sk-test", workspace).build(PHASE)
    assert build.patch == PATCH
    assert (build.provider, build.model, build.prompt_tokens, build.completion_tokens) == (
        "openai", "local-model", 120, 30)
    path, headers, body = seen[0]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "local-model"
    user = body["messages"][1]["content"]
    assert "version = 1" in user and "# demo" in user  # scope and context files, nothing outside
    assert "File ../outside" not in user


def test_anthropic_builder_uses_the_messages_api(fake_http, workspace):
    seen = []
    url = fake_http(lambda path, body: (200, {
        "content": [{"type": "text", "text": PATCH}], "usage": {"input_tokens": 50, "output_tokens": 7}}), seen)
    build = AnthropicBuilder(url, "claude-test", "key-1", workspace).build(PHASE)
    assert build.patch == PATCH and build.tokens == 57 and build.provider == "anthropic"
    path, headers, body = seen[0]
    assert path == "/v1/messages" and headers["x-api-key"] == "key-1"
    assert headers["anthropic-version"] and body["system"] and body["messages"][0]["role"] == "user"


def test_llm_errors_are_step_errors(fake_http, workspace):
    url = fake_http(lambda path, body: (500, {"error": "boom"}))
    with pytest.raises(StepError, match="500"):
        ChatBuilder(url, "m", None, workspace).build(PHASE)
    url = fake_http(lambda path, body: (200, {"choices": []}))
    with pytest.raises(StepError, match="choices"):
        ChatBuilder(url, "m", None, workspace).build(PHASE)


def test_command_steps(workspace, tmp_path):
    script = tmp_path / "echo.py"
    script.write_text("import json, sys\nd = json.load(sys.stdin)\nprint('revise', d['phase_id'], 'needs tests')\n")
    verdict = CommandAuditor(f"{sys.executable} {script}", workspace).audit(PHASE)
    assert (verdict.recommendation, verdict.notes) == ("revise", "P1 needs tests")
    with pytest.raises(StepError, match="exited with 3"):
        CommandBuilder(f"{sys.executable} -c 'import sys; sys.exit(3)'", workspace).build(PHASE)
    with pytest.raises(StepError, match="cannot run"):
        CommandBuilder("/nonexistent/builder", workspace).build(PHASE)


def test_verdicts_counts_and_extraction():
    assert parse_verdict('{"recommendation": "APPROVE", "review_notes": "ok"}').recommendation == "approve"
    assert parse_verdict("looks good to me").recommendation == "escalate"
    counts = diff_counts(diff("a.txt", "1\n2\n", "1\n3\n4\n") + diff("b.txt", "", "x\n"))
    assert (counts.files, counts.added, counts.removed) == (("a.txt", "b.txt"), 3, 1)
    assert extract_diff("no fence") == "no fence\n"


def test_snapshot_restores_and_checks_time_out(workspace):
    snapshot = Snapshot.of_patch(workspace, PATCH + diff("new.txt", "", "n\n"))
    (workspace / "app.txt").write_text("changed\n")
    (workspace / "new.txt").write_text("n\n")
    snapshot.restore()
    assert (workspace / "app.txt").read_text() == "version = 1\n" and not (workspace / "new.txt").exists()
    results = run_checks(workspace, ["true", f"{sys.executable} -c 'import time; time.sleep(5)'", "true"], 0.5)
    assert [r.exit_code for r in results] == [0, 124]


def test_snapshot_never_covers_paths_outside_the_workspace(workspace):
    (workspace.parent / "outside.txt").write_text("keep\n")
    (workspace / "link").symlink_to(workspace.parent)  # a symlink on the way out of the workspace
    snapshot = Snapshot.of_patch(workspace, diff("link/outside.txt", "keep\n", "gone\n") + PATCH)
    assert list(snapshot.saved) == ["app.txt"]
    assert Snapshot.of_patch(workspace, diff("../outside.txt", "keep\n", "gone\n")).saved == {}


def test_the_executor_never_loads_the_database_layer():
    code = ("import sys; from autopack.executor import cli, loop, builders, workspace; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'fastapi') "
            "or m.startswith(('autopack.db', 'autopack.core.database'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_plan_fields_as_one_string_or_a_list():
    assert strings("pytest -q") == ["pytest -q"]
    assert strings(["a", "", {"x": 1}, "b"]) == ["a", "b"]
    assert strings(None) == [] and strings({"commands": ["x"]}) == []
