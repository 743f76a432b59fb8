"""Mirror files written by the background writer: after the response, in commit order, atomically."""

from __future__ import annotations

from autopack.core import mirror
from tests.conftest import run_payload
from tests.runs.helpers import set_state


def test_background_writer_keeps_commit_order(make_client, monkeypatch, runs_dir):
    monkeypatch.setenv("AUTOPACK_MIRROR_SYNC", "0")
    client = make_client()
    assert client.post("/runs/start", json=run_payload("bg-1", tiers=2, phases_per_tier=50)).status_code == 201
    for state in ("EXECUTING", "GATE", "COMPLETE"):
        assert set_state(client, "bg-1", "F1.1", state).status_code == 200
    mirror.flush()
    base = runs_dir / "autopack" / "runs" / "bg-1"
    assert len(list((base / "phases").glob("*.md"))) == 100
    assert "State: COMPLETE" in (base / "phases" / "phase_00_F1.1.md").read_text()
    assert not [p for p in base.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_a_failing_mirror_does_not_stop_later_ones(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOPACK_MIRROR_SYNC", "0")
    from autopack.core.settings import get_settings

    get_settings.cache_clear()
    written = []

    def broken() -> None:
        raise OSError("disk full")

    mirror.submit(broken)
    mirror.submit(lambda: written.append("after"))
    mirror.flush()
    assert written == ["after"]


def test_the_layout_is_on_disk_before_the_start_answer(make_client, monkeypatch, runs_dir):
    monkeypatch.setenv("AUTOPACK_MIRROR_SYNC", "0")
    client = make_client()
    for i in range(5):
        assert client.post("/runs/start", json=run_payload(f"now-{i}", tiers=2, phases_per_tier=20)).status_code == 201
        base = runs_dir / "autopack" / "runs" / f"now-{i}"
        assert (base / "run_summary.md").read_text().startswith(f"# Run Summary: now-{i}")
        assert len(list((base / "phases").glob("*.md"))) == 40


def test_waiting_writes_of_one_file_collapse_into_the_newest(monkeypatch):
    monkeypatch.setenv("AUTOPACK_MIRROR_SYNC", "0")
    from autopack.core.settings import get_settings

    get_settings.cache_clear()
    import threading

    gate, written = threading.Event(), []
    mirror.submit(gate.wait)  # holds the writer while the rest queue up
    for n in range(5):
        mirror.submit(lambda n=n: written.append(("a", n)), key="file-a")
        mirror.submit(lambda n=n: written.append(("b", n)))
    gate.set()
    mirror.flush()
    assert written == [("a", 4), ("b", 0), ("b", 1), ("b", 2), ("b", 3), ("b", 4)]


def test_a_phase_changing_quickly_has_its_file_written_once(make_client, monkeypatch, runs_dir):
    from autopack.runs import layout, service

    monkeypatch.setenv("AUTOPACK_MIRROR_SYNC", "0")
    monkeypatch.setattr(service, "PHASE_FILE_HOLD", 5.0)  # longer than the updates take on a loaded machine
    client = make_client()
    assert client.post("/runs/start", json=run_payload("hold-1")).status_code == 201
    mirror.flush()
    writes = []
    real = layout.write_run_files
    monkeypatch.setattr(layout, "write_run_files",  # (run, tiers, phases): count the phases' files
                        lambda *a, **k: (writes.extend(p.phase_id for p in a[2]), real(*a, **k))[1])
    for state in ("EXECUTING", "GATE", "EXECUTING", "GATE", "COMPLETE"):
        assert set_state(client, "hold-1", "F1.1", state).status_code == 200
    mirror.flush()  # waits for the held write too
    assert writes == ["F1.1"]
    phase_file = runs_dir / "autopack" / "runs" / "hold-1" / "phases" / "phase_00_F1.1.md"
    assert "State: COMPLETE" in phase_file.read_text()
