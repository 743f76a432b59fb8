"""The server writes only under AUTOPACK_DATA_DIR and AUTONOMOUS_RUNS_DIR, never into its working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import run_payload
from tests.live_server import free_port, stop, wait_until_up

RUN_ID = "cwd-probe-20260110-120000"
# `autopack serve` itself, on an app with one route that fails (the only way to make an error report).
LAUNCHER = """
import sys
import autopack.main

def boom(run_id: str):
    raise RuntimeError("probe failure")

autopack.main.app.add_api_route("/runs/{run_id}/boom", boom, methods=["GET"])
from autopack.cli import app
app(["serve", "--migrate", "--host", "127.0.0.1", "--port", sys.argv[1]])
"""


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _exercise(base: str) -> None:
    """A run start, a phase update, an issue, an error report and a human note."""
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/runs/start", json=run_payload(RUN_ID, 1, 1)).status_code == 201
        update = http.post(f"/runs/{RUN_ID}/phases/F1.1/update_status", json={"state": "EXECUTING"})
        assert update.status_code == 200, update.text
        issue = http.post(f"/runs/{RUN_ID}/phases/F1.1/record_issue", params={
            "issue_key": "slow_query", "severity": "major", "source": "probe", "category": "perf"})
        assert issue.status_code == 200, issue.text
        assert http.get(f"/runs/{RUN_ID}/boom").status_code == 500
        assert http.get(f"/runs/{RUN_ID}/errors").json()["error_count"] == 1
        note = http.post("/dashboard/human-notes", json={"note": "probe note", "run_id": RUN_ID})
        assert note.status_code == 200, note.text


def test_nothing_is_written_into_the_working_directory(tmp_path):
    cwd, state = tmp_path / "cwd", tmp_path / "state"
    cwd.mkdir()
    state.mkdir()
    data_dir, runs_dir = state / "data", state / "runs"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # SQLite in the data dir
    env.update({"AUTOPACK_DATA_DIR": str(data_dir), "AUTONOMOUS_RUNS_DIR": str(runs_dir),
                "AUTOPACK_MIRROR_SYNC": "1", "AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0",
                "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PYTHONDONTWRITEBYTECODE": "1"})
    port = free_port()
    log = tmp_path / "server.log"
    cwd.chmod(0o555)  # read-only for anyone but root; the listing check below also holds for root
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)], cwd=cwd, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_up(proc, port, log, ready=(200,))
            _exercise(f"http://127.0.0.1:{port}")
        finally:
            stop(proc)
        assert _files(cwd) == [], log.read_text()[-3000:]
    finally:
        cwd.chmod(0o755)
    assert sorted(p.name for p in state.iterdir()) == ["data", "runs"]  # nothing beside the runs dir either
    written = _files(runs_dir)
    assert ".project/human_notes.md" in written and ".project/project_issue_backlog.json" in written
    assert any(name.startswith(f"{RUN_ID}/errors/") and name.endswith(".json") for name in written)
    assert f"{RUN_ID}/issues/run_issue_index.json" in written
    assert "probe note" in (runs_dir / ".project" / "human_notes.md").read_text()
    assert (data_dir / "autopack.db").is_file()
