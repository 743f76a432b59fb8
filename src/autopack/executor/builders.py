"""Pluggable builders and auditors: a configured program (phase JSON on stdin) or an LLM over httpx."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

VERDICTS = ("approve", "revise", "escalate")
MAX_CONTEXT_BYTES = 20_000
SYSTEM_PROMPT = ("You are the builder of an autonomous software run. Answer with one unified diff (git "
                 "format, paths relative to the workspace root, a/ and b/ prefixes) that completes the "
                 "phase, inside a ```diff fenced block, and nothing else.")


class StepError(Exception):
    """A builder or auditor that could not produce an answer (the message says why)."""


@dataclass(frozen=True)
class Build:
    """A builder's answer: the diff and what producing it cost."""

    patch: str
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        """Tokens spent on this answer."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Verdict:
    """An auditor's answer."""

    recommendation: str
    notes: str
    confidence: str = "medium"
    tokens: int = 0


class Builder(Protocol):
    """Produces a unified diff for a phase request (see `phase_request`)."""

    def build(self, request: dict[str, Any]) -> Build: ...


class Auditor(Protocol):
    """Reviews an applied and checked patch."""

    def audit(self, request: dict[str, Any]) -> Verdict: ...


def _run_program(command: str, request: dict[str, Any], cwd: Path, timeout: float) -> str:
    try:
        done = subprocess.run(shlex.split(command), input=json.dumps(request), cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise StepError(f"{command!r} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise StepError(f"cannot run {command!r}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise StepError(f"{command!r} exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


@dataclass
class CommandBuilder:
    """Runs a program that reads the phase JSON on stdin and prints a unified diff."""

    command: str
    workspace: Path
    timeout: float = 300.0

    def build(self, request: dict[str, Any]) -> Build:
        """The program's stdout is the diff."""
        return Build(_run_program(self.command, request, self.workspace, self.timeout), "command",
                     shlex.split(self.command)[0])


@dataclass
class CommandAuditor:
    """Runs a program that reads the phase JSON (with the patch and checks) and prints a verdict.

    The verdict is JSON ({"recommendation", "review_notes", "confidence"}) or a line starting with
    approve, revise or escalate followed by notes.
    """

    command: str
    workspace: Path
    timeout: float = 300.0

    def audit(self, request: dict[str, Any]) -> Verdict:
        """Parse the program's verdict."""
        return parse_verdict(_run_program(self.command, request, self.workspace, self.timeout))


class ApproveAll:
    """The auditor when none is configured: the checks passed, so approve."""

    def audit(self, request: dict[str, Any]) -> Verdict:
        """Always approve, saying why."""
        return Verdict("approve", "No auditor configured: approved after the checks passed.")


def parse_verdict(text: str) -> Verdict:
    """A verdict from JSON or from a leading word; anything else is an escalation."""
    text = text.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        word, notes = str(data.get("recommendation", "")).lower(), str(data.get("review_notes", ""))
        confidence = str(data.get("confidence") or "medium")
    else:
        word, _, notes = text.partition(" ")
        word, confidence = word.lower().strip(":"), "medium"
    if word not in VERDICTS:
        return Verdict("escalate", f"unreadable auditor verdict: {text[:200]!r}", "low")
    return Verdict(word, notes.strip() or word, confidence)


def extract_diff(text: str) -> str:
    """The diff inside a fenced block when there is one, else the whole answer."""
    match = re.search(r"```(?:diff|patch)?[ \t]*\n(.*?)```", text, re.S)
    patch = match.group(1) if match else text
    return patch if patch.endswith("\n") else patch + "\n"


def prompt_for(request: dict[str, Any], workspace: Path) -> str:
    """The user message: the phase as JSON and the current text of its scope and context files."""
    scope = request.get("scope") or {}
    names = list(scope.get("paths") or []) + [c["path"] if isinstance(c, dict) else c
                                              for c in scope.get("read_only_context") or []]
    parts = ["Phase:\n" + json.dumps(request, indent=2)]
    budget = MAX_CONTEXT_BYTES
    root = workspace.resolve()
    for name in names:
        target = (root / str(name)).resolve()
        if root not in target.parents or not target.is_file() or budget <= 0:
            continue  # outside the workspace, missing, or no room left
        text = target.read_text(encoding="utf-8", errors="replace")[:budget]
        budget -= len(text)
        parts.append(f"File {name}:\n```\n{text}\n```")
    return "\n\n".join(parts)


@dataclass
class _ModelEndpoint:
    """Where an LLM builder sends its requests, and their limits."""

    base_url: str
    model: str
    api_key: str | None = field(repr=False)  # never in a log line or a traceback's locals
    workspace: Path
    timeout: float = 300.0
    max_tokens: int = 4096


@dataclass
class ChatBuilder(_ModelEndpoint):
    """An LLM builder over the OpenAI-compatible chat completions API (local model servers too)."""

    def build(self, request: dict[str, Any]) -> Build:
        """POST {base_url}/chat/completions; the answer's diff and its usage."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "max_tokens": self.max_tokens, "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": prompt_for(request, self.workspace)}]}
        data = _post(f"{self.base_url.rstrip('/')}/chat/completions", body, headers, self.timeout)
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise StepError("chat completions answer without choices[0].message.content") from None
        usage = data.get("usage") or {}
        return Build(extract_diff(text or ""), "openai", self.model, int(usage.get("prompt_tokens") or 0),
                     int(usage.get("completion_tokens") or 0))


@dataclass
class AnthropicBuilder(_ModelEndpoint):
    """An LLM builder over the Anthropic Messages API."""

    def build(self, request: dict[str, Any]) -> Build:
        """POST {base_url}/v1/messages; the answer's diff and its usage."""
        headers = {"anthropic-version": "2023-06-01", **({"x-api-key": self.api_key} if self.api_key else {})}
        body = {"model": self.model, "max_tokens": self.max_tokens, "system": SYSTEM_PROMPT,
                "messages": [{"role": "user", "content": prompt_for(request, self.workspace)}]}
        data = _post(f"{self.base_url.rstrip('/')}/v1/messages", body, headers, self.timeout)
        blocks = data.get("content") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise StepError("messages answer without content")
        text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        usage = data.get("usage") or {}
        return Build(extract_diff(text), "anthropic", self.model, int(usage.get("input_tokens") or 0),
                     int(usage.get("output_tokens") or 0))


def _post(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> dict[str, Any]:
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise StepError(f"LLM request to {url} failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise StepError(f"LLM answered {response.status_code}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError:
        raise StepError("LLM answer is not JSON") from None
