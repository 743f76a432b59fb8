"""Mirror writes never follow a symlink out of their root; the request that triggered them still succeeds.

The attack: another process on the host replaces a run directory (or a folder on the way, or a
file) with a symlink to a directory outside the runs directory, then waits for the server's next
mirror write. Every server-written file is covered: run summaries, issue JSON, error reports, notes.
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from autopack.core import mirror
from autopack.core.settings import get_settings
from autopack.db.models import ErrorReport, HumanNote, PhaseIssue
from autopack.main import create_app
from autopack.runs.layout import run_dir
from tests.conftest import run_payload
from tests.runs.helpers import count, set_state

RUN_ID = "demo-20260110-120000"  # tests/conftest.py's run_payload: family "demo"
SECRET = "outside data"


@pytest.fixture
def outside(tmp_path):
    """A directory outside every root the server writes under, with one file of its own."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "keep.txt").write_text(SECRET)
    return path


def _untouched(outside) -> bool:
    return sorted(p.name for p in outside.rglob("*")) == ["keep.txt"] and (outside / "keep.txt").read_text() == SECRET


def _swap_for_link(path, target) -> None:
    """Replace `path` (a directory, a file or nothing) with a symlink to `target`."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _record(client, phase_id: str = "F1.1", key: str = "slow_query"):
    return client.post(f"/runs/{RUN_ID}/phases/{phase_id}/record_issue",
                       params={"issue_key": key, "severity": "major", "source": "probe", "category": "perf"})


def test_status_update_does_not_write_through_a_symlinked_run_directory(client, started_run, outside):
    path = run_dir(started_run)
    _swap_for_link(path, outside)
    response = set_state(client, started_run, "F1.1", "EXECUTING")
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Phase F1.1 updated to state EXECUTING"
    assert _untouched(outside)
    assert path.is_symlink()


@pytest.mark.parametrize("folder", ["autopack", "autopack/runs", "autopack/runs/demo"])
def test_status_update_does_not_write_through_a_symlinked_folder_on_the_way(
        client, started_run, runs_dir, outside, folder):
    _swap_for_link(runs_dir / folder, outside)
    assert set_state(client, started_run, "F1.1", "EXECUTING").status_code == 200
    assert _untouched(outside)


@pytest.mark.parametrize("folder", ["autopack/runs/demo", f"autopack/runs/demo/{RUN_ID}"])
def test_run_start_does_not_lay_out_a_run_through_a_symlink(client, runs_dir, outside, folder):
    _swap_for_link(runs_dir / folder, outside)
    response = client.post("/runs/start", json=run_payload(RUN_ID))
    assert response.status_code == 201, response.text
    assert _untouched(outside)
    assert not [p for p in (runs_dir / "autopack" / "runs").rglob(".*")]  # no staging directory left


@pytest.mark.parametrize("points_at", ["dir", "file"])
def test_a_summary_file_replaced_by_a_symlink_is_left_alone(client, started_run, outside, points_at):
    phases = run_dir(started_run) / "phases"
    link = phases / "phase_00_F1.1.md"
    _swap_for_link(link, outside if points_at == "dir" else outside / "keep.txt")
    assert set_state(client, started_run, "F1.1", "EXECUTING").status_code == 200
    assert _untouched(outside)
    assert link.is_symlink()
    # The refusal is per file: the tier summary written with it is still rewritten.
    assert "- State: PENDING" not in (run_dir(started_run) / "tiers" / "tier_00_Tier_1.md").read_text()
    assert sorted(p.name for p in phases.iterdir()) == sorted(
        ["phase_00_F1.1.md", "phase_01_F1.2.md", "phase_02_F2.1.md", "phase_03_F2.2.md"])


def test_the_background_writer_survives_a_refusal(make_client, monkeypatch, outside):
    monkeypatch.setenv("AUTOPACK_MIRROR_SYNC", "0")
    client = make_client()
    assert client.post("/runs/start", json=run_payload(RUN_ID)).status_code == 201
    mirror.flush()
    path = run_dir(RUN_ID)
    real = path.with_name("real-run-dir")
    path.rename(real)
    path.symlink_to(outside)
    assert set_state(client, RUN_ID, "F1.1", "EXECUTING").status_code == 200
    mirror.flush()
    assert _untouched(outside)
    path.unlink()
    real.rename(path)
    assert set_state(client, RUN_ID, "F1.1", "GATE").status_code == 200
    mirror.flush()
    assert "State: GATE" in (path / "phases" / "phase_00_F1.1.md").read_text()


@pytest.mark.parametrize("folder", [RUN_ID, f"{RUN_ID}/issues"])
def test_issue_mirrors_do_not_write_through_a_symlink(client, started_run, runs_dir, outside, folder):
    _swap_for_link(runs_dir / folder, outside)
    assert _record(client).status_code == 200
    assert _untouched(outside)
    assert count(PhaseIssue, run_id=started_run) == 1
    index = client.get(f"/runs/{started_run}/issues/index").json()
    assert set(index["issues_by_key"]) == {"slow_query"}
    # The backlog under its own root is still written.
    assert "slow_query" in get_settings().project_backlog_path.read_text()


@pytest.mark.parametrize("swap", [".project", ".project/project_issue_backlog.json"])
def test_the_backlog_mirror_does_not_write_through_a_symlink(client, started_run, runs_dir, outside, swap):
    project_root = runs_dir.resolve()
    _swap_for_link(project_root / swap, outside if swap == ".project" else outside / "keep.txt")
    assert _record(client).status_code == 200
    assert _untouched(outside)
    assert (project_root / swap).is_symlink()
    assert (runs_dir / started_run / "issues" / "run_issue_index.json").is_file()


def _boom(run_id: str) -> None:
    raise RuntimeError(f"probe failure for {run_id}")


def _boom_no_run() -> None:
    raise ValueError("probe failure")


@pytest.fixture
def boom_client():
    """A client whose app has two failing routes (500s answered, not raised)."""
    get_settings.cache_clear()
    app = create_app()
    app.add_api_route("/runs/{run_id}/boom", _boom, methods=["GET"])
    app.add_api_route("/boom", _boom_no_run, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("url,folder", [
    ("/runs/probe-run/boom", "probe-run"), ("/runs/probe-run/boom", "probe-run/errors"), ("/boom", "errors"),
])
def test_error_reports_do_not_write_through_a_symlink(boom_client, runs_dir, outside, url, folder):
    _swap_for_link(runs_dir / folder, outside)
    response = boom_client.get(url)
    assert response.status_code == 500
    body = response.json()
    assert body["detail"] == "Internal server error" and len(body["error_id"]) == 8
    assert _untouched(outside)
    assert count(ErrorReport, error_id=body["error_id"]) == 1  # the database copy is kept


@pytest.mark.parametrize("swap", [".project", ".project/human_notes.md"])
def test_the_notes_mirror_neither_reads_nor_writes_through_a_symlink(client, outside, swap):
    notes = get_settings().human_notes_path
    project_root = notes.parent.parent
    _swap_for_link(project_root / swap, outside if swap == ".project" else outside / "keep.txt")
    response = client.post("/dashboard/human-notes", json={"note": "probe note"})
    assert response.status_code == 200, response.text
    assert _untouched(outside)
    assert (project_root / swap).is_symlink()  # not replaced by a copy of what it pointed at
    assert count(HumanNote) == 1
