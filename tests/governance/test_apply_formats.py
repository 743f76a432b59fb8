"""Governed apply of what git diffs carry: binary, renames, new/deleted files, CRLF, plain dirs, limits."""

from __future__ import annotations

import pytest

from autopack.db.models import Phase
from tests.conftest import run_payload
from tests.governance.helpers import RUN_ID, all_rows, make_patch, porcelain, snapshot, submit


def test_binary_patch_with_data_applies(gov_client, repo):
    new_bytes = bytes(reversed(range(256))) * 8
    patch = make_patch(repo, lambda c: (c / "blob.bin").write_bytes(new_bytes))
    assert "GIT binary patch" in patch
    response = submit(gov_client, patch)
    assert response.status_code == 200, response.text
    assert (repo / "blob.bin").read_bytes() == new_bytes


def test_binary_patch_against_other_content_is_refused(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "blob.bin").write_bytes(b"\x00new"))
    (repo / "blob.bin").write_bytes(b"\x00locally changed")
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert (repo / "blob.bin").read_bytes() == b"\x00locally changed"


def test_binary_patch_without_data_is_refused(gov_client, repo):
    patch = ("diff --git a/blob.bin b/blob.bin\nindex 1111111..2222222 100644\n"
             "Binary files a/blob.bin and b/blob.bin differ\n")
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert "binary patch without data" in response.json()["detail"]


def test_rename_with_edit_applies(gov_client, repo):
    def rename(clone):
        (clone / "old.txt").unlink()
        (clone / "renamed").mkdir()
        (clone / "renamed" / "new.txt").write_bytes(b"to be renamed\nand edited\n")
    patch = make_patch(repo, rename)
    assert "rename from old.txt" in patch
    response = submit(gov_client, patch)
    assert response.status_code == 200, response.text
    assert not (repo / "old.txt").exists()
    assert (repo / "renamed" / "new.txt").read_bytes() == b"to be renamed\nand edited\n"


def test_new_and_deleted_files_apply(gov_client, repo):
    def change(clone):
        (clone / "gone.txt").unlink()
        (clone / "pkg" / "deep").mkdir(parents=True)
        (clone / "pkg" / "deep" / "fresh.py").write_bytes(b"FRESH = True\n")
    response = submit(gov_client, make_patch(repo, change))
    assert response.status_code == 200, response.text
    assert not (repo / "gone.txt").exists()
    assert (repo / "pkg" / "deep" / "fresh.py").read_bytes() == b"FRESH = True\n"
    assert sorted(porcelain(repo)) == [" D gone.txt", "?? pkg/deep/fresh.py"]


def test_crlf_file_keeps_its_line_ends(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "crlf.txt").write_bytes(b"one\r\nTWO\r\nthree\r\n"))
    assert "TWO\r\n" in patch
    assert submit(gov_client, patch).status_code == 200
    assert (repo / "crlf.txt").read_bytes() == b"one\r\nTWO\r\nthree\r\n"


def test_patch_sent_with_crlf_line_ends_applies_to_lf_file(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "a.txt").write_bytes(b"alpha\nBETA\ngamma\n"))
    response = submit(gov_client, patch.replace("\n", "\r\n"))
    assert response.status_code == 200, response.text
    assert (repo / "a.txt").read_bytes() == b"alpha\nBETA\ngamma\n"


def test_plain_directory_workspace(make_client, repo, plain_workspace):
    client = make_client()
    assert client.post("/runs/start", json=run_payload(RUN_ID)).status_code == 201
    patch = make_patch(repo, lambda c: (c / "a.txt").write_bytes(b"alpha\nBETA\ngamma\n"))
    assert submit(client, patch).status_code == 200
    assert (plain_workspace / "a.txt").read_bytes() == b"alpha\nBETA\ngamma\n"
    before = snapshot(plain_workspace)
    response = submit(client, patch, phase_id="F1.2")  # already applied: does not apply again
    assert response.status_code == 422
    assert snapshot(plain_workspace) == before
    assert not (plain_workspace / ".git").exists()
    assert sorted(p.name for p in plain_workspace.iterdir()) == sorted(
        ["a.txt", "old.txt", "gone.txt", "lines.txt", "crlf.txt", "blob.bin", "src", "config"])


def test_patch_over_the_size_limit_is_refused(make_client, repo, monkeypatch):
    monkeypatch.setenv("AUTOPACK_PATCH_MAX_BYTES", "100")
    client = make_client()
    client.post("/runs/start", json=run_payload(RUN_ID))
    patch = make_patch(repo, lambda c: (c / "a.txt").write_bytes(b"x" * 500 + b"\n"))
    response = submit(client, patch)
    assert response.status_code == 422
    assert "over the 100-byte limit" in response.json()["detail"]
    assert (repo / "a.txt").read_bytes() == b"alpha\nbeta\ngamma\n"


def test_result_over_the_file_limit_is_rolled_back(make_client, repo, monkeypatch):
    monkeypatch.setenv("AUTOPACK_PATCH_MAX_FILE_BYTES", "1000")
    client = make_client()
    client.post("/runs/start", json=run_payload(RUN_ID))

    def change(clone):
        (clone / "a.txt").write_bytes(b"small edit\n")
        (clone / "gone.txt").unlink()
        (clone / "old.txt").rename(clone / "moved.txt")
        (clone / "newdir" / "sub").mkdir(parents=True)
        (clone / "newdir" / "sub" / "big.txt").write_bytes(b"y" * 5000)
    before = snapshot(repo)
    patch = make_patch(repo, change)
    assert "deleted file mode" in patch and "rename from old.txt" in patch
    response = submit(client, patch)
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "Failed to apply patch: newdir/sub/big.txt would be 5000 bytes, over the 1000-byte limit")
    assert snapshot(repo) == before  # edit, delete and rename undone; newdir/ removed again
    assert porcelain(repo) == []
    assert all_rows(Phase, phase_id="F1.1")[0].state == "FAILED"


@pytest.mark.parametrize("run_type", ["autopack_maintenance", "autopack_upgrade", "self_repair"])
def test_every_maintenance_run_type_is_governed(gov_client, repo, run_type):
    patch = make_patch(repo, lambda c: (c / "a.txt").write_bytes(b"alpha\nBETA\ngamma\n"))
    response = submit(gov_client, patch, run_type=run_type)
    assert response.status_code == 200
    assert (repo / "a.txt").read_bytes() == b"alpha\nBETA\ngamma\n"


def test_project_build_patch_is_not_applied_on_the_server(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "a.txt").write_bytes(b"changed\n"))
    response = submit(gov_client, patch, run_type="project_build")
    assert response.json()["phase_state"] == "GATE"
    assert porcelain(repo) == []
