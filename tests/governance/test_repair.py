"""LLM-output repairs (miscounted hunks, lost context prefixes): tried last, checked like any patch."""

from __future__ import annotations

import json

import pytest

from autopack.db.models import GovernanceRequest, Phase
from autopack.governance.patchset import parse_patch
from autopack.governance.repair import repair_hunks
from tests.governance.helpers import all_rows, make_patch, porcelain, snapshot, submit

HEAD = "diff --git a/lines.txt b/lines.txt\n--- a/lines.txt\n+++ b/lines.txt\n"


def edit_lines(clone):
    text = (clone / "lines.txt").read_text().replace("line 5\n", "line FIVE\n\nline 5b\n")
    (clone / "lines.txt").write_text(text)


def test_a_sound_patch_is_left_exactly_as_it_is(repo):
    patch = make_patch(repo, edit_lines)
    assert repair_hunks(patch) == patch
    assert parse_patch(patch, 10**6).repaired is None
    one_line = HEAD + "@@ -1 +1 @@\n-line 1\n+line ONE\n"  # counts of 1 left implicit
    assert repair_hunks(one_line) == one_line


def test_hunk_counts_are_recounted_and_blank_context_lines_restored():
    damaged = HEAD + "@@ -3,9 +3,2 @@ heading\n line 3\n\n-line 4\n+line FOUR\nline 5\n\n" + HEAD + "@@ -9 +9,5 @@\n-line 9\n"
    assert repair_hunks(damaged) == (
        HEAD + "@@ -3,4 +3,4 @@ heading\n line 3\n \n-line 4\n+line FOUR\n line 5\n\n"
        + HEAD + "@@ -9,1 +9,0 @@\n-line 9\n")


def test_a_removed_sql_comment_is_not_taken_for_a_file_header():
    text = "diff --git a/q.sql b/q.sql\n--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,1 @@\n--- old comment\n select 1;\n"
    assert repair_hunks(text) == text


def test_miscounted_patch_applies_after_repair(gov_client, repo):
    patch = (HEAD + "@@ -4,7 +4,7 @@\n line 4\n-line 5\n+line FIVE\n line 6\n")  # counts say 7, body has 3
    response = submit(gov_client, patch)
    assert response.status_code == 200, response.text
    assert (repo / "lines.txt").read_text().splitlines()[4] == "line FIVE"
    assert porcelain(repo) == [" M lines.txt"]
    assert all_rows(Phase, phase_id="F1.1")[0].state == "GATE"


def test_patch_with_stripped_blank_context_applies_after_repair(gov_client, repo):
    (repo / "spaced.txt").write_text("one\n\ntwo\n")
    patch = "diff --git a/spaced.txt b/spaced.txt\n--- a/spaced.txt\n+++ b/spaced.txt\n@@ -1,3 +1,3 @@\n one\n\n-two\n+TWO\n"
    response = submit(gov_client, patch)
    assert response.status_code == 200, response.text
    assert (repo / "spaced.txt").read_text() == "one\n\nTWO\n"


def test_a_wrong_repair_guess_fails_cleanly(gov_client, repo):
    before = snapshot(repo)
    patch = HEAD + "@@ -4,3 +4,3 @@\n line 4\nline 5 is not what the file says\n-line 6\n+line SIX\n"
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Failed to apply patch:")
    assert snapshot(repo) == before


def test_repaired_patch_to_a_protected_path_still_needs_approval(gov_client, repo):
    patch = ("diff --git a/src/autopack/models.py b/src/autopack/models.py\n--- a/src/autopack/models.py\n"
             "+++ b/src/autopack/models.py\n@@ -1,5 +1,5 @@\n-MODELS = 1\n+MODELS = 2\n")
    before = snapshot(repo)
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert json.loads(response.json()["detail"])["error_type"] == "protected_path_violation"
    assert snapshot(repo) == before
    assert [json.loads(r.requested_paths) for r in all_rows(GovernanceRequest)] == [["src/autopack/models.py"]]


@pytest.mark.parametrize("path", ["../outside.txt", ".git/config"])
def test_repair_cannot_smuggle_an_unsafe_path(gov_client, repo, path):
    patch = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1,9 +1,9 @@\n-x\n+y\n"
    before = snapshot(repo)
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert snapshot(repo) == before
