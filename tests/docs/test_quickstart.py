"""README's quickstart, run as written: its bash blocks against a live `autopack serve`, then the end state."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.models import AutopilotAction, GovernanceRequest
from autopack.db.models.campaigns import SandboxCampaign
from tests.live_server import free_port, running

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BASE_URL = "http://127.0.0.1:8000"  # what the quickstart is written against; the test substitutes its own
SCRATCH_REPO = "/tmp/autopack-quickstart-repo"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
SCRIPT_TIMEOUT = 180  # seconds for every block together (the action wait inside is bounded at 30 s)


def quickstart() -> str:
    """The README text between the quickstart markers."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- quickstart:start -->(.*?)<!-- quickstart:end -->", text, re.DOTALL)
    assert match, "README.md has no <!-- quickstart:start --> ... <!-- quickstart:end --> section"
    return match.group(1)


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of `language`, in order."""
    return [body for lang, body in FENCE.findall(text) if lang == language]


def server_settings(text: str) -> dict[str, str]:
    """The `VAR=value ... make run` line the quickstart starts the server with, as a dict."""
    for block in blocks(text, "sh"):
        for line in block.splitlines():
            words = shlex.split(line)
            if words[-2:] == ["make", "run"]:
                return dict(word.split("=", 1) for word in words[:-2])
    raise AssertionError("the quickstart never says how to start the server (`... make run` in a sh block)")


def live_server(env: dict[str, str], port: int, log: Path):
    """`autopack serve` on `port` with `env`; stopped afterwards."""
    cmd = [sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return running(cmd, port=port, env=env, log=log, cwd=ROOT)


def test_quickstart_runs_as_written(tmp_path):
    for tool in ("curl", "jq", "git"):
        if shutil.which(tool) is None:
            pytest.skip(f"the quickstart needs {tool}")
    text = quickstart()
    assert BASE_URL in text and SCRATCH_REPO in text
    port = free_port()
    repo = tmp_path / "autopack-quickstart-repo"
    text = text.replace(BASE_URL, f"http://127.0.0.1:{port}").replace(SCRATCH_REPO, str(repo))
    script = "\n".join(blocks(text, "bash"))
    settings = server_settings(text)
    assert set(settings) == {"AUTOPACK_API_KEY", "REPO_PATH"}
    for name, value in settings.items():  # the shell and the server agree
        assert f"export {name}={value}" in script, f"{name} differs between the server and the shell"

    env = {**os.environ, **settings,
           "AUTOPACK_DATA_DIR": str(tmp_path / "data"),  # fresh: its own server secret and JWT keys
           "AUTONOMOUS_RUNS_DIR": str(tmp_path / "runs" / ".autonomous_runs"),
           "AUTOPACK_AUTOPILOT_WORKER": "1", "AUTOPACK_AUTOPILOT_POLL_SECONDS": "0.2",
           "AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0"}
    env.pop("AUTOPACK_PLATFORM_CREDENTIALS", None)  # the sandbox adapter, as on a fresh checkout
    log = tmp_path / "server.log"
    with live_server(env, port, log):
        done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=SCRIPT_TIMEOUT)
        assert done.returncode == 0, (f"quickstart failed ({done.returncode})\nstdout:\n{done.stdout[-4000:]}\n"
                                      f"stderr:\n{done.stderr[-4000:]}\nserver:\n{log.read_text()[-3000:]}")
        run = httpx.get(f"http://127.0.0.1:{port}/runs/quickstart-run", timeout=10).json()

    # The run: both phases moved to COMPLETE, so the run finished by itself.
    assert run["state"] == "DONE_SUCCESS" and run["completed_at"] is not None
    assert [(p["phase_id"], p["state"]) for p in run["phases"]] == [("P1", "COMPLETE"), ("P2", "COMPLETE")]
    # The governance request: raised by the executor key, approved by the admin, applied to the scratch repo.
    with session_scope(writer=False) as session:
        requests = session.scalars(select(GovernanceRequest)).all()
        actions = session.scalars(select(AutopilotAction)).all()
        campaign = session.scalars(select(SandboxCampaign)).one()
    assert len(requests) == 1
    request = requests[0]
    assert (request.approved, request.applied, request.approved_by) == (True, True, "user:admin")
    assert request.requested_by.startswith("api_key:autopack_sk_")
    assert (repo / "config" / "settings.yaml").read_text() == "log_level: info\nretries: 3\n"
    assert "log_level: info" in done.stdout
    # The autopilot action: approved by the admin, applied by the worker through the sandbox adapter.
    assert len(actions) == 1
    action = actions[0]
    assert (action.status, action.error, action.approved_by) == ("applied", None, "user:admin")
    assert action.before_value["daily_budget"] == 500 and action.after_value["daily_budget"] == 600
    assert (campaign.entity_id, campaign.platform, campaign.daily_budget) == ("summer-sale", "meta", 600)
    assert '"status":"applied"' in done.stdout.splitlines()[-1]
