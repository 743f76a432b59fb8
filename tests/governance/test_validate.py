"""After-apply checks: a patch that brings conflict markers or breaks Python is undone (422)."""

from __future__ import annotations

from autopack.db.models import Phase
from tests.governance.helpers import all_rows, make_patch, porcelain, snapshot, submit


def _refused(gov_client, repo, patch, needle):
    before = snapshot(repo)
    response = submit(gov_client, patch)
    assert response.status_code == 422, response.text
    assert needle in response.json()["detail"]
    assert snapshot(repo) == before  # restored from the backup
    assert porcelain(repo) == []
    phase = all_rows(Phase, phase_id="F1.1")[0]
    assert phase.state == "FAILED" and needle in phase.last_failure_reason


def test_a_patch_breaking_python_is_undone(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "src/autopack/tool.py").write_text("TOOL = (1,\n"))
    _refused(gov_client, repo, patch, "src/autopack/tool.py: the patched file is not valid Python (line 1")


def test_a_new_python_file_must_compile(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "pkg").mkdir() or (c / "pkg/new.py").write_text("def f(:\n"))
    _refused(gov_client, repo, patch, "pkg/new.py: the patched file is not valid Python")


def test_a_patch_adding_conflict_markers_is_undone(gov_client, repo):
    text = "alpha\n<<<<<<< ours\nbeta\n=======\nBETA\n>>>>>>> theirs\ngamma\n"
    patch = make_patch(repo, lambda c: (c / "a.txt").write_text(text))
    _refused(gov_client, repo, patch, "a.txt: the patch leaves merge conflict markers")


def test_damage_already_there_is_not_held_against_the_patch(gov_client, repo):
    from tests.governance.helpers import git

    (repo / "broken.py").write_text("def f(:\n    pass\n# <<<<<<< left over\n")
    (repo / "notes.txt").write_text("<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> other\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "already broken")
    patch = make_patch(repo, lambda c: ((c / "broken.py").write_text("def f(:\n    return 2\n# <<<<<<< left over\n"),
                                        (c / "notes.txt").write_text("<<<<<<< HEAD\nx\n=======\nz\n>>>>>>> other\n")))
    response = submit(gov_client, patch)
    assert response.status_code == 200, response.text
    assert "return 2" in (repo / "broken.py").read_text()


def test_valid_python_with_only_warnings_passes(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "src/autopack/tool.py").write_text("TOOL = 2\n\n\ndef f():\n    return '\\d'\n"))
    response = submit(gov_client, patch)
    assert response.status_code == 200, response.text


def test_the_python_check_can_be_turned_off(make_client, repo, monkeypatch):
    from tests.conftest import run_payload
    from tests.governance.helpers import RUN_ID

    monkeypatch.setenv("AUTOPACK_PATCH_CHECK_PYTHON", "0")
    client = make_client()
    assert client.post("/runs/start", json=run_payload(RUN_ID)).status_code == 201
    patch = make_patch(repo, lambda c: (c / "src/autopack/tool.py").write_text("type X[T] = list[T] (\n"))
    assert submit(client, patch).status_code == 200
