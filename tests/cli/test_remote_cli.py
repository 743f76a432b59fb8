"""The installed `autopack` console script against a live server: tables, --json, exit codes, login."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from autopack.client import Client
from autopack.core.database import session_scope
from autopack.db.models import User
from autopack.tenants import service as tenants
from tests.auth.helpers import make_user
from tests.client.conftest import INSTANCE_KEY, serve
from tests.conftest import run_payload
from tests.live_server import free_port

AUTOPACK = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "autopack"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """This module's live server."""
    with serve(tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


@pytest.fixture
def cli(server, tmp_path):
    """Run `autopack ARGS` against the server with a private HOME; the instance key unless `key=None`."""

    def run(*args: str, key: str | None = INSTANCE_KEY, stdin: str | None = None, url: str | None = server):
        env = {k: v for k, v in os.environ.items() if k not in ("AUTOPACK_API_KEY", "AUTOPACK_TOKEN",
                                                                 "XDG_CONFIG_HOME")}
        env.update({"HOME": str(tmp_path), "COLUMNS": "200", "AUTOPACK_URL": url or ""})
        if key:
            env["AUTOPACK_API_KEY"] = key
        return subprocess.run([str(AUTOPACK), *args], env=env, input=stdin, capture_output=True, text=True,
                              timeout=60)

    return run


@pytest.fixture
def admin(server):
    with Client(server, api_key=INSTANCE_KEY) as client:
        yield client


def test_help_shows_local_and_remote_commands_apart(cli):
    result = cli("--help")
    assert result.returncode == 0
    remote, local = result.stdout.split("Local (")
    assert "Remote (" in remote and "runs" in remote and "approvals" in remote and "login" in remote
    assert "migrate" in local and "users" in local and "runs " not in local


def test_runs_start_list_show_with_tables_json_and_exit_codes(cli, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(resources.files("autopack.remote").joinpath("example_plan.yaml").read_text())
    started = cli("runs", "start", str(plan), "--run-id", "cli-run")
    assert (started.returncode, started.stdout.strip()) == (0, "run cli-run started: RUN_CREATED (2 tiers, 3 phases)")
    listed = cli("runs", "list", "--json")
    page = json.loads(listed.stdout)  # one JSON document, nothing else
    assert (listed.returncode, page["total"], page["runs"][0]["id"]) == (0, 1, "cli-run")
    shown = cli("runs", "show", "cli-run")
    assert shown.returncode == 0 and "T1.P2" in shown.stdout and "Load the settings" in shown.stdout
    missing = cli("runs", "show", "no-such-run", "--json")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert "404: Run no-such-run not found (request id " in missing.stderr
    bad_plan = cli("runs", "start", str(tmp_path / "absent.yaml"))
    assert bad_plan.returncode == 2 and "cannot read" in bad_plan.stderr
    unreachable = cli("runs", "list", url=f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode == 3 and "cannot reach Autopack" in unreachable.stderr
    events = cli("events", "--run", "cli-run", "--once", "--json")
    types = [json.loads(line)["type"] for line in events.stdout.splitlines()]
    assert events.returncode == 0 and types[0] == "run.created" or "run.state_changed" in types


def test_runs_show_summarises_what_the_executor_reported(cli, admin):
    admin.start_run(run_payload("reported", 1, 2))
    for attempt in (1, 2):
        admin.submit_builder_result("reported", "F1.1", {
            "run_id": "reported", "phase_id": "F1.1", "status": "success", "builder_attempts": attempt,
            "files_changed": ["a.py", "b.py"], "lines_added": 12, "lines_removed": 3, "tokens_used": 450})
    admin.submit_auditor_result("reported", "F1.1", {
        "run_id": "reported", "phase_id": "F1.1", "review_notes": "ok", "recommendation": "approve"})
    shown = cli("runs", "show", "reported")
    assert shown.returncode == 0, shown.stderr
    (line,) = [row for row in shown.stdout.splitlines() if "F1.1" in row]
    assert "attempt 2 success: 2 files +12/-3, 450 tokens" in line and "approve" in line
    (quiet,) = [row for row in shown.stdout.splitlines() if "F1.2" in row]
    assert "attempt" not in quiet and "approve" not in quiet


def test_approvals_and_governance_list_and_decide(cli, admin):
    admin.start_run(run_payload("decided", 1, 1))
    asked = admin.request_approval("decided", "F1.1", context="delete")
    governed = admin.create_governance_request({"run_id": "decided", "phase_id": "F1.1",
                                                "requested_paths": ["config/x.yaml"]})
    listed = json.loads(cli("approvals", "list", "--json").stdout)
    assert [r["id"] for r in listed["requests"]] == [asked.approval_id]
    rejected = cli("approvals", "reject", str(asked.approval_id), "--reason", "not today")
    assert rejected.returncode == 0 and f"approval #{asked.approval_id} rejected" in rejected.stdout
    again = cli("approvals", "approve", str(asked.approval_id))
    assert again.returncode == 1 and "409" in again.stderr and "request id" in again.stderr
    table = cli("governance", "list")
    assert table.returncode == 0 and governed.request_id in table.stdout and "config/x.yaml" in table.stdout
    denied = cli("governance", "deny", governed.request_id, "--json")
    assert denied.returncode == 0 and json.loads(denied.stdout)["status"] == "denied"


def test_login_stores_a_private_token_used_by_autopilot_commands(cli, admin, tmp_path):
    make_user("opsadmin", "correct-horse-7")
    with session_scope() as session:
        tenant = tenants.create_tenant(session, slug="cli-co", name="CLI Co", actor="test")
        user = session.query(User).filter_by(username="opsadmin").one()
        tenants.set_member(session, tenant, user, "admin", "test")
        tenant_id = tenant.id
    wrong = cli("login", "--username", "opsadmin", "--password-stdin", stdin="wrong-password\n", key=None)
    assert wrong.returncode == 1 and "401" in wrong.stderr
    login = cli("login", "--username", "opsadmin", "--password-stdin", stdin="correct-horse-7\n", key=None)
    assert login.returncode == 0, login.stderr
    stored = tmp_path / ".config" / "autopack" / "credentials"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    token = next(iter(json.loads(stored.read_text()).values()))["token"]
    with Client(admin.base_url, token=token) as opsadmin:
        queued = opsadmin.autopilot(tenant_id).create_action({
            "action_type": "budget_increase", "entity_type": "campaign", "entity_id": "c1", "platform": "meta",
            "action_json": {"type": "budget_increase", "new_budget": 600}, "before_value": {"daily_budget": 500}})
    actions = json.loads(cli("autopilot", "actions", str(tenant_id), "--status", "queued", "--json", key=None).stdout)
    assert [a["id"] for a in actions["actions"]] == [queued.action.id]
    approved = cli("autopilot", "approve", str(tenant_id), queued.action.id, key=None)
    assert approved.returncode == 0 and approved.stdout.strip() == f"action {queued.action.id}: approved"
    frozen = cli("autopilot", "freeze", str(tenant_id), "--reason", "incident", key=None)
    assert frozen.returncode == 0 and "frozen" in frozen.stdout
    switch = cli("autopilot", "kill-switch", str(tenant_id), "off", "--reason", "maintenance", "--json", key=None)
    assert switch.returncode == 0 and json.loads(switch.stdout)["enforcement_enabled"] is False
    assert cli("logout", key=None).returncode == 0 and not stored.exists()
    refused = cli("autopilot", "unfreeze", str(tenant_id), key=None)
    assert refused.returncode == 1 and "401" in refused.stderr


def test_the_command_line_starts_without_the_server_stack():
    # Remote commands run on laptops and in CI jobs: loading FastAPI and SQLAlchemy costs about a second.
    probe = ("import sys, autopack.cli; "
             "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'starlette') if m in sys.modules))")
    result = subprocess.run([str(AUTOPACK.with_name("python")), "-c", probe], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


# Runs `autopack ARGS` in-process and, at exit, names the server-stack modules the command loaded.
SERVER_STACK_PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nloaded: " + " ".join(sorted(
    m for m in ("fastapi", "sqlalchemy", "starlette") if m in sys.modules)) + "\\n"))
sys.argv[0] = "autopack"
from autopack.cli import app
app()
"""


def test_every_remote_command_path_runs_without_the_server_stack(server, admin, tmp_path):
    # Each command reads (and parses into the server's schemas) a real answer: schemas load on first use.
    admin.start_run(run_payload("stackless", 1, 1))
    asked = admin.request_approval("stackless", "F1.1", context="delete")
    governed = [admin.create_governance_request({"run_id": "stackless", "phase_id": "F1.1",
                                                 "requested_paths": [f"config/{n}.yaml"]}) for n in range(2)]
    make_user("stackless-admin", "correct-horse-8")
    with session_scope() as session:
        tenant = tenants.create_tenant(session, slug="stackless-co", name="Stackless", actor="test")
        tenant_id = str(tenant.id)
    queued = admin.autopilot(int(tenant_id)).create_action({
        "action_type": "pause_campaign", "entity_type": "campaign", "entity_id": "c1", "platform": "meta",
        "action_json": {"type": "pause_campaign"}})
    plan = tmp_path / "plan.yaml"
    plan.write_text(resources.files("autopack.remote").joinpath("example_plan.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOPACK_API_KEY", "AUTOPACK_TOKEN", "XDG_CONFIG_HOME")}
    env.update({"HOME": str(tmp_path), "AUTOPACK_URL": server, "AUTOPACK_API_KEY": INSTANCE_KEY, "COLUMNS": "200"})
    commands = [
        ("runs", "list"), ("runs", "show", "stackless", "--json"), ("runs", "start", str(plan), "--run-id", "s2"),
        ("runs", "watch", "stackless-done"),
        ("approvals", "list"), ("approvals", "approve", str(asked.approval_id)),
        ("governance", "list", "--json"), ("governance", "approve", governed[0].request_id),
        ("governance", "deny", governed[1].request_id),
        ("autopilot", "actions", tenant_id), ("autopilot", "dismiss", tenant_id, queued.action.id),
        ("autopilot", "freeze", tenant_id, "--reason", "x"), ("autopilot", "unfreeze", tenant_id),
        ("autopilot", "kill-switch", tenant_id, "off", "--reason", "x"),
        ("events", "--run", "stackless", "--once"),
        ("login", "--username", "stackless-admin", "--password-stdin"),
    ]
    admin.start_run(run_payload("stackless-done", 1, 1))
    admin.update_phase_status("stackless-done", "F1.1", "COMPLETE")
    for args in commands:
        result = subprocess.run([str(AUTOPACK.with_name("python")), "-c", SERVER_STACK_PROBE, *args], env=env,
                                input="correct-horse-8\n", capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert result.stderr.rstrip().endswith("loaded:"), (args, result.stderr)
