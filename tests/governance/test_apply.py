"""Governed apply through builder_result: success, conflicts, traversal and symlink tricks."""

from __future__ import annotations

import os

import pytest

from autopack.db.models import BuilderResultRecord, GovernanceRequest, Phase, RunEvent
from tests.governance.helpers import all_rows, git, make_patch, porcelain, scratch_dirs, snapshot, submit


def edit_a(clone):
    (clone / "a.txt").write_bytes(b"alpha\nBETA\ngamma\n")


def test_success_moves_phase_to_gate_and_changes_only_the_file(gov_client, repo):
    patch = make_patch(repo, edit_a)
    before = scratch_dirs()
    response = submit(gov_client, patch, tokens_used=70, builder_attempts=2, status="needs_review")
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Builder result submitted successfully", "phase_id": "F1.1",
                               "run_id": "demo-20260110-120000", "phase_state": "GATE"}
    assert (repo / "a.txt").read_bytes() == b"alpha\nBETA\ngamma\n"
    assert porcelain(repo) == [" M a.txt"]  # no temp_patch.diff, no debug copy, nothing staged
    assert scratch_dirs() == before
    phase = all_rows(Phase, phase_id="F1.1")[0]
    assert (phase.state, phase.tokens_used, phase.builder_attempts) == ("GATE", 70, 2)
    assert all_rows(BuilderResultRecord)[0].run_type == "autopack_maintenance"


def test_conflict_leaves_workspace_untouched_and_persists_failure(gov_client, repo):
    patch = make_patch(repo, edit_a)
    (repo / "a.txt").write_bytes(b"something else entirely\n")
    before = snapshot(repo)
    response = submit(gov_client, patch, tokens_used=33)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("Failed to apply patch: ") and "a.txt" in detail
    assert "Failed to apply patch: Failed" not in detail and "unexpectedly" not in detail
    assert snapshot(repo) == before
    assert porcelain(repo) == [" M a.txt"]
    phase = all_rows(Phase, phase_id="F1.1")[0]
    assert phase.state == "FAILED" and phase.last_failure_reason == detail
    assert phase.tokens_used == 33  # the submission itself was committed with the failure
    assert all_rows(RunEvent, phase_id="F1.1")[-1].to_state == "FAILED"
    assert all_rows(GovernanceRequest) == []


def test_three_way_fallback_merges_and_keeps_index(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "lines.txt").write_bytes(
        (c / "lines.txt").read_bytes().replace(b"line 2\n", b"line two\n")))
    # Committed change inside the patch's context: strict and whitespace-tolerant applies fail.
    (repo / "lines.txt").write_bytes((repo / "lines.txt").read_bytes().replace(b"line 4\n", b"line four\n"))
    git(repo, "commit", "-qam", "context moved")
    response = submit(gov_client, patch)
    assert response.status_code == 200, response.text
    text = (repo / "lines.txt").read_text()
    assert "line two\n" in text and "line four\n" in text and "<<<<<<<" not in text
    assert porcelain(repo) == [" M lines.txt"]  # applied to the work tree; the index is as it was


def test_three_way_conflict_restores_files_and_index(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "lines.txt").write_bytes(
        (c / "lines.txt").read_bytes().replace(b"line 2\n", b"line two\n")))
    (repo / "lines.txt").write_bytes((repo / "lines.txt").read_bytes().replace(b"line 2\n", b"line 2!\n"))
    git(repo, "commit", "-qam", "same line changed")
    before = snapshot(repo)
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert snapshot(repo) == before
    assert porcelain(repo) == []  # no conflict entries (UU) left in the index


@pytest.mark.parametrize("path, reason", [
    ("../escape.txt", "path traversal not allowed"),
    ("a/../../escape.txt", "path traversal not allowed"),
    ("docs/../a.txt", "path traversal not allowed"),
    (".git/config", "paths inside .git are not allowed"),
    ("sub/.GIT/hooks/post-commit", "paths inside .git are not allowed"),
])
def test_traversal_attempts_are_refused(gov_client, repo, path, reason):
    patch = (f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
             f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+pwned\n")
    before = snapshot(repo)
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert response.json()["detail"] == f"Failed to apply patch: {reason}: {path}"
    assert snapshot(repo) == before
    assert not (repo.parent / "escape.txt").exists()
    assert all_rows(Phase, phase_id="F1.1")[0].state == "FAILED"


def test_a_path_below_a_file_is_refused_not_a_500(gov_client, repo):
    path = "a.txt/inside.txt"  # a.txt is a file in the workspace
    patch = (f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
             f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+x\n")
    before = snapshot(repo)
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert response.json()["detail"] == f"Failed to apply patch: path goes through a file: {path}"
    assert snapshot(repo) == before


def test_absolute_paths_are_refused(gov_client, repo, outside):
    target = outside / "target.txt"
    patch = f"--- {target}\n+++ {target}\n@@ -1 +1 @@\n-outside\n+pwned\n"
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert response.json()["detail"] == f"Failed to apply patch: absolute path not allowed: {target}"
    assert target.read_text() == "outside\n"
    git_style = ("diff --git a//etc/x b//etc/x\nnew file mode 100644\nindex 0000000..1111111\n"
                 "--- /dev/null\n+++ b//etc/x\n@@ -0,0 +1 @@\n+x\n")
    assert submit(gov_client, git_style).status_code == 422


def test_symlinked_directory_pointing_outside_is_refused(gov_client, repo, outside):
    os.symlink(outside, repo / "linkdir")
    patch = ("diff --git a/linkdir/evil.txt b/linkdir/evil.txt\nnew file mode 100644\n"
             "index 0000000..1111111\n--- /dev/null\n+++ b/linkdir/evil.txt\n@@ -0,0 +1 @@\n+pwned\n")
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert response.json()["detail"] == "Failed to apply patch: path goes through a symlink: linkdir/evil.txt"
    assert sorted(os.listdir(outside)) == ["target.txt"]


def test_symlink_file_target_is_refused(gov_client, repo, outside):
    os.symlink(outside / "target.txt", repo / "link.txt")
    patch = ("diff --git a/link.txt b/link.txt\nindex 1111111..2222222 100644\n--- a/link.txt\n"
             "+++ b/link.txt\n@@ -1 +1 @@\n-outside\n+pwned\n")
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert "symlink" in response.json()["detail"]
    assert (outside / "target.txt").read_text() == "outside\n"


def test_patch_creating_a_symlink_is_refused(gov_client, repo, outside):
    patch = make_patch(repo, lambda c: os.symlink(outside, c / "escape"))
    assert "120000" in patch
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert "symlinks and submodules" in response.json()["detail"]
    assert not os.path.lexists(repo / "escape")


@pytest.mark.parametrize("patch", [
    "this is not a diff\n",
    "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n",  # a hunk with no lines
    "",
])
def test_malformed_diffs_are_refused(gov_client, repo, patch):
    before = snapshot(repo)
    response = submit(gov_client, patch or "   ")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Failed to apply patch: malformed diff")
    assert snapshot(repo) == before
