"""POST /dashboard/human-notes: stored, audited, mirrored to <runs dir>/.project/human_notes.md."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.models import AuditEvent, HumanNote
from tests.runs.helpers import count


def _notes_file():
    return get_settings().human_notes_path


def test_note_is_stored_audited_and_mirrored(client, started_run, runs_dir):
    response = client.post("/dashboard/human-notes", json={"note": "Watch the schema phase", "run_id": started_run})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Note added successfully"
    assert body["notes_file"] == ".autopack/human_notes.md"
    stamp = datetime.fromisoformat(body["timestamp"])
    assert stamp.utcoffset() is not None
    with session_scope(writer=False) as session:
        note = session.get(HumanNote, body["id"])
        assert (note.note, note.run_id, note.created_by) == ("Watch the schema phase", started_run, "anonymous")
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "dashboard.human_note_added")).one()
        assert event.target_id == str(body["id"]) and event.details["run_id"] == started_run
    path = _notes_file()
    assert path == runs_dir.resolve() / ".project" / "human_notes.md"  # inside the runs dir, no run's folder
    assert path.read_text() == f"\n## {body['timestamp']}\n**Run:** {started_run}\nWatch the schema phase\n"


def test_notes_append_and_keep_existing_text(client):
    path = _notes_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Notes\n")
    first = client.post("/dashboard/human-notes", json={"note": "one"}).json()
    second = client.post("/dashboard/human-notes", json={"note": "two\nlines"}).json()
    assert path.read_text() == (f"# Notes\n\n## {first['timestamp']}\none\n"
                                f"\n## {second['timestamp']}\ntwo\nlines\n")
    assert count(HumanNote) == 2


@pytest.mark.parametrize("body,status", [
    ({}, 422),
    ({"note": ""}, 422),
    ({"note": "   "}, 422),
    ({"note": "x" * 20001}, 422),
    ({"note": "nul\x00"}, 422),
    ({"note": 5}, 422),
    ({"note": "ok", "run_id": "../x"}, 422),
    ({"note": "ok", "run_id": "missing"}, 404),
])
def test_bad_notes_write_nothing(client, body, status):
    response = client.post("/dashboard/human-notes", json=body)
    assert response.status_code == status, response.text
    assert count(HumanNote) == 0
    assert count(AuditEvent, action="dashboard.human_note_added") == 0
    assert not _notes_file().exists()


def test_malformed_body(client):
    response = client.post("/dashboard/human-notes", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert count(HumanNote) == 0
