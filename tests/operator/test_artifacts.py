"""Artifact index, file reads (traversal matrix, caps, encodings) and browser artifacts."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest

from autopack.operator import artifacts
from autopack.runs.layout import run_dir
from tests.operator.helpers import insert_run, make_run_dir, snapshot

RUN = "demo-20260110-120000"


@pytest.fixture
def run_with_files(client):
    insert_run(RUN)
    return make_run_dir(RUN, {
        "run_summary.md": "# Summary\n",
        "phases/phase_01_x.md": "phase one\n",
        "notes/a..b.txt": "dots inside a name\n",
        "diagnostics/deep/log.txt": "x" * 1000,
    })


# --- index -----------------------------------------------------------------------------------------

def test_index_lists_files_sorted_with_sizes_and_times(client, run_with_files):
    response = client.get(f"/runs/{RUN}/artifacts/index")
    assert response.status_code == 200
    body = response.json()
    paths = [a["path"] for a in body["artifacts"]]
    assert paths == ["diagnostics/deep/log.txt", "notes/a..b.txt", "phases/phase_01_x.md", "run_summary.md"]
    sizes = {a["path"]: a["size_bytes"] for a in body["artifacts"]}
    assert sizes["diagnostics/deep/log.txt"] == 1000 and sizes["run_summary.md"] == 10
    assert body["total_size_bytes"] == sum(sizes.values())
    assert body["total_count"] == 4 and body["truncated"] is False
    assert body["run_id"] == RUN
    modified = datetime.fromisoformat(body["artifacts"][0]["modified_at"])
    assert modified.utcoffset() == timedelta(0)


def test_index_of_a_run_started_through_the_api(client, started_run):
    body = client.get(f"/runs/{started_run}/artifacts/index").json()
    paths = {a["path"] for a in body["artifacts"]}
    assert "run_summary.md" in paths
    assert any(p.startswith("phases/phase_00_") for p in paths)
    assert any(p.startswith("tiers/tier_00_") for p in paths)


def test_index_pages_but_totals_cover_everything(client, run_with_files):
    body = client.get(f"/runs/{RUN}/artifacts/index?limit=2&offset=1").json()
    assert [a["path"] for a in body["artifacts"]] == ["notes/a..b.txt", "phases/phase_01_x.md"]
    assert body["total_count"] == 4 and body["limit"] == 2 and body["offset"] == 1
    assert body["total_size_bytes"] == 10 + 10 + 19 + 1000
    clamped = client.get(f"/runs/{RUN}/artifacts/index?limit=0&offset=-4").json()
    assert (clamped["limit"], clamped["offset"], len(clamped["artifacts"])) == (1, 0, 1)
    assert client.get(f"/runs/{RUN}/artifacts/index?limit=99999").json()["limit"] == 10_000


def test_index_without_a_directory_is_empty_and_creates_nothing(client, runs_dir):
    insert_run(RUN)
    body = client.get(f"/runs/{RUN}/artifacts/index").json()
    assert body["artifacts"] == [] and body["total_size_bytes"] == 0 and body["total_count"] == 0
    assert not runs_dir.exists()


def test_index_of_an_unknown_run_is_404(client, runs_dir):
    response = client.get("/runs/ghost/artifacts/index")
    assert response.status_code == 404
    assert response.json() == {"detail": "Run ghost not found"}
    assert not runs_dir.exists()


def test_index_skips_temp_files_and_special_files(client, run_with_files):
    (run_with_files / ".run_summary.md.abc123.tmp").write_text("half written")
    os.mkfifo(run_with_files / "a-fifo")
    paths = [a["path"] for a in client.get(f"/runs/{RUN}/artifacts/index").json()["artifacts"]]
    assert ".run_summary.md.abc123.tmp" not in paths and "a-fifo" not in paths
    assert len(paths) == 4


def test_index_never_follows_symlinks_out(client, run_with_files, tmp_path):
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "secret.txt").write_text("secret")
    (outside / "sub" / "more.txt").write_text("more")
    os.symlink(outside / "secret.txt", run_with_files / "leak.txt")
    os.symlink(outside, run_with_files / "leakdir")
    os.symlink(run_with_files / "run_summary.md", run_with_files / "alias.md")  # stays inside
    paths = [a["path"] for a in client.get(f"/runs/{RUN}/artifacts/index").json()["artifacts"]]
    assert "leak.txt" not in paths
    assert not any(p.startswith("leakdir") for p in paths)
    assert "alias.md" in paths


def test_symlinked_run_directory_pointing_outside_is_not_listed(client, tmp_path):
    insert_run(RUN)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0")
    link = run_dir(RUN)
    link.parent.mkdir(parents=True)
    os.symlink(outside, link)
    assert client.get(f"/runs/{RUN}/artifacts/index").json()["artifacts"] == []
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "passwd"})
    assert response.status_code == 400
    assert response.json()["detail"] == "Path traversal not allowed"
    assert client.get(f"/runs/{RUN}/browser/artifacts").json()["artifacts"] == []


def test_symlinked_run_directory_inside_the_runs_dir_is_served(client, runs_dir):
    insert_run(RUN)
    real = runs_dir / "archive" / RUN
    real.mkdir(parents=True)
    (real / "run_summary.md").write_text("archived")
    link = run_dir(RUN)
    link.parent.mkdir(parents=True)
    os.symlink(real, link)
    assert [a["path"] for a in client.get(f"/runs/{RUN}/artifacts/index").json()["artifacts"]] == \
        ["run_summary.md"]
    assert client.get(f"/runs/{RUN}/artifacts/file", params={"path": "run_summary.md"}).text == "archived"


# --- file ------------------------------------------------------------------------------------------

def test_file_is_served_as_plain_text(client, run_with_files):
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "phases/phase_01_x.md"})
    assert response.status_code == 200
    assert response.text == "phase one\n"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["X-Artifact-Truncated"] == "false"
    assert response.headers["X-Artifact-Original-Size"] == "10"
    assert response.headers["X-Artifact-Returned-Size"] == "10"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_dots_inside_a_name_are_legal(client, run_with_files):
    for path in ("notes/a..b.txt", "./notes/a..b.txt", "notes//a..b.txt"):
        response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": path})
        assert response.status_code == 200, path
        assert response.text == "dots inside a name\n"


def test_in_tree_symlink_is_served(client, run_with_files):
    os.symlink(run_with_files / "run_summary.md", run_with_files / "alias.md")
    assert client.get(f"/runs/{RUN}/artifacts/file", params={"path": "alias.md"}).text == "# Summary\n"


@pytest.mark.parametrize("path, detail", [
    ("../x", "Path traversal not allowed"),
    ("a/../../x", "Path traversal not allowed"),
    ("a/../run_summary.md", "Path traversal not allowed"),
    ("..", "Path traversal not allowed"),
    ("..\\x", "Path traversal not allowed"),
    ("..%2Fx", "Path traversal not allowed"),  # arrives as the text "..%2Fx": decoded again here
    ("%2e%2e/x", "Path traversal not allowed"),
    ("%252e%252e%252fx", "Path traversal not allowed"),  # double encoded
    ("%25252e%25252e/x", "Path traversal not allowed"),  # triple encoded
    ("/etc/passwd", "Absolute paths not allowed"),
    ("%2fetc/passwd", "Absolute paths not allowed"),
    ("\\etc\\passwd", "Absolute paths not allowed"),
    ("C:\\x", "Windows drive letters not allowed"),
    ("c:/windows/win.ini", "Windows drive letters not allowed"),
    ("C%3A%5Cx", "Windows drive letters not allowed"),
    ("a\\b.txt", "Backslashes not allowed in paths"),
    ("a%5cb.txt", "Backslashes not allowed in paths"),
    ("a%2Fb.txt", "Encoded path separators not allowed"),
    ("notes%252Fa..b.txt", "Encoded path separators not allowed"),
    ("a\tb.txt", "Control characters not allowed in paths"),
    ("a%0Ab.txt", "Control characters not allowed in paths"),
    ("a\x7fb", "Control characters not allowed in paths"),
    ("%2525252525252e", "Path traversal not allowed"),  # never settles: refused
])
def test_traversal_attempts_are_400(client, run_with_files, path, detail):
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": path})
    assert response.status_code == 400, (path, response.text)
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("raw_query", [
    "path=..%2Fx", "path=%2E%2E%2Fx", "path=%252E%252E%252Fetc%252Fpasswd", "path=%2Fetc%2Fpasswd",
    "path=a%2F..%2F..%2Fx", "path=..%5Cx", "path=C%3A%5Cx",
])
def test_url_encoded_bypasses_are_400(client, run_with_files, raw_query):
    response = client.get(f"/runs/{RUN}/artifacts/file?{raw_query}")
    assert response.status_code == 400, raw_query


def test_traversal_is_refused_before_the_run_lookup(client):
    response = client.get("/runs/ghost/artifacts/file", params={"path": "../../etc/passwd"})
    assert response.status_code == 400


def test_nul_in_the_path_is_refused(client, run_with_files):
    assert client.get(f"/runs/{RUN}/artifacts/file?path=a%00b").status_code == 422


def test_symlink_escaping_the_run_directory_is_refused(client, run_with_files, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, run_with_files / "leak.txt")
    os.symlink(tmp_path, run_with_files / "leakdir")
    os.symlink("../../../../../../../../../../etc/passwd", run_with_files / "relative-leak")
    for path in ("leak.txt", "leakdir/secret.txt", "relative-leak"):
        response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": path})
        assert response.status_code == 400, path
        assert response.json() == {"detail": "Path traversal not allowed"}
        assert "secret" not in response.text


def test_symlink_into_a_sibling_run_is_refused(client, run_with_files):
    other = make_run_dir("other-run", {"private.md": "other run"})
    os.symlink(other / "private.md", run_with_files / "sibling.md")
    assert client.get(f"/runs/{RUN}/artifacts/file", params={"path": "sibling.md"}).status_code == 400


def test_directory_is_400(client, run_with_files):
    for path in ("phases", "phases/", "diagnostics/deep", "", "."):
        response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": path})
        assert response.status_code == 400, path
        assert response.json()["detail"].startswith("Path is a directory")


def test_fifo_is_400_and_does_not_block(client, run_with_files):
    os.mkfifo(run_with_files / "pipe")
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "pipe"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Not a regular file: pipe"}


def test_missing_file_is_404(client, run_with_files):
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "nope.md"})
    assert response.status_code == 404
    assert response.json() == {"detail": "File not found: nope.md"}


def test_missing_run_directory_is_404_and_stays_missing(client, runs_dir):
    insert_run(RUN)
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "run_summary.md"})
    assert response.status_code == 404
    assert not runs_dir.exists()


def test_unknown_run_is_404(client):
    response = client.get("/runs/ghost/artifacts/file", params={"path": "run_summary.md"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Run ghost not found"}


def test_missing_path_parameter_is_422(client, run_with_files):
    assert client.get(f"/runs/{RUN}/artifacts/file").status_code == 422


def test_temp_files_are_not_served(client, run_with_files):
    (run_with_files / ".run_summary.md.x1.tmp").write_text("partial")
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": ".run_summary.md.x1.tmp"})
    assert response.status_code == 404


def test_large_file_is_truncated_at_the_default_cap(client, run_with_files):
    size = 1024 * 1024 + 500
    (run_with_files / "big.log").write_bytes(b"a" * size)
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "big.log"})
    assert response.status_code == 200
    assert len(response.content) == 1024 * 1024
    assert response.headers["X-Artifact-Truncated"] == "true"
    assert response.headers["X-Artifact-Original-Size"] == str(size)
    assert response.headers["X-Artifact-Returned-Size"] == str(1024 * 1024)


def test_file_at_exactly_the_cap_is_whole(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ARTIFACT_MAX_BYTES", "8")
    client = make_client()
    insert_run(RUN)
    make_run_dir(RUN, {"eight.txt": "12345678", "nine.txt": "123456789"})
    whole = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "eight.txt"})
    assert whole.text == "12345678" and whole.headers["X-Artifact-Truncated"] == "false"
    cut = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "nine.txt"})
    assert cut.text == "12345678" and cut.headers["X-Artifact-Truncated"] == "true"
    assert cut.headers["X-Artifact-Original-Size"] == "9" and cut.headers["X-Artifact-Returned-Size"] == "8"


def test_cap_never_splits_a_utf8_character(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ARTIFACT_MAX_BYTES", "5")
    client = make_client()
    insert_run(RUN)
    make_run_dir(RUN, {"euro.txt": "ab€€"})  # a, b, then 3-byte characters: the cap falls inside one
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "euro.txt"})
    assert response.text == "ab€"
    assert response.headers["X-Artifact-Returned-Size"] == "5"
    monkeypatch.setenv("AUTOPACK_ARTIFACT_MAX_BYTES", "4")
    client = make_client()
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "euro.txt"})
    assert response.text == "ab"
    assert response.headers["X-Artifact-Returned-Size"] == "2"
    assert response.headers["X-Artifact-Original-Size"] == "8"


def test_non_utf8_bytes_are_replaced(client, run_with_files):
    (run_with_files / "binary.bin").write_bytes(b"ok\xff\xfe\x00end")
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "binary.bin"})
    assert response.status_code == 200
    assert response.text == "ok\ufffd\ufffd\x00end"
    assert response.headers["X-Artifact-Original-Size"] == "8"


def test_cap_setting_is_validated():
    from pydantic import ValidationError

    from autopack.core.settings import Settings

    assert Settings().artifact_max_bytes == 1024 * 1024
    with pytest.raises(ValidationError):
        Settings(AUTOPACK_ARTIFACT_MAX_BYTES=0)


# --- browser artifacts -----------------------------------------------------------------------------

def test_browser_artifacts_carry_both_key_sets(client):
    insert_run(RUN)
    make_run_dir(RUN, {
        "shots/home.png": b"\x89PNG" + b"0" * 96,
        "shots/b.JPEG": b"j" * 50,
        "capture.webp": b"w" * 10,
        "dom/index.html": "<html></html>",
        "browser_console.txt": "log",
        "run_summary.md": "# not a browser artifact",
        ".home.png.x.tmp": "partial",
    })
    response = client.get(f"/runs/{RUN}/browser/artifacts")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"run_id", "screenshots", "html_files", "total_size_bytes", "artifacts", "total_count",
                         "truncated"}
    assert [s["path"] for s in body["screenshots"]] == ["capture.webp", "shots/b.JPEG", "shots/home.png"]
    assert [h["path"] for h in body["html_files"]] == ["browser_console.txt", "dom/index.html"]
    assert set(body["screenshots"][0]) == {"path", "timestamp", "size_bytes"}
    assert datetime.fromisoformat(body["screenshots"][0]["timestamp"]).utcoffset() == timedelta(0)
    types = {a["path"]: a["type"] for a in body["artifacts"]}
    assert types == {"capture.webp": "screenshot", "shots/b.JPEG": "screenshot", "shots/home.png": "screenshot",
                     "browser_console.txt": "html", "dom/index.html": "html"}
    assert set(body["artifacts"][0]) == {"path", "type", "size_bytes", "modified_at"}
    assert body["total_count"] == 5
    assert body["total_size_bytes"] == 100 + 50 + 10 + 13 + 3


def test_browser_artifacts_empty_without_a_directory(client, runs_dir):
    insert_run(RUN)
    body = client.get(f"/runs/{RUN}/browser/artifacts").json()
    assert body["screenshots"] == [] and body["html_files"] == [] and body["artifacts"] == []
    assert body["total_count"] == 0 and body["total_size_bytes"] == 0
    assert not runs_dir.exists()


def test_browser_artifacts_of_an_unknown_run_is_404(client):
    response = client.get("/runs/ghost/browser/artifacts")
    assert response.status_code == 404
    assert response.json() == {"detail": "Run ghost not found"}


def test_browser_classification():
    assert artifacts.browser_type("a/b.PNG") == "screenshot"
    assert artifacts.browser_type("page.html") == "html"
    assert artifacts.browser_type("x/screenshot-notes.md") == "html"
    assert artifacts.browser_type("screenshots/readme.md") is None  # keywords match the file name only
    assert artifacts.browser_type("run_summary.md") is None


# --- ids and side effects --------------------------------------------------------------------------

@pytest.mark.parametrize("run_id", ["..", ".hidden", "a\\b", "a%01b", "%2e%2e"])
def test_run_ids_that_cannot_name_a_directory_are_4xx(client, runs_dir, run_id):
    for suffix in ("artifacts/index", "browser/artifacts", "artifacts/file?path=run_summary.md"):
        response = client.get(f"/runs/{run_id}/{suffix}")
        assert 400 <= response.status_code < 500, (run_id, suffix, response.status_code)
    assert not runs_dir.exists()


def test_run_id_with_an_encoded_slash_does_not_reach_the_endpoints(client):
    assert client.get("/runs/a%2Fb/artifacts/index").status_code == 404


def test_no_get_creates_anything(client, runs_dir, run_with_files):
    insert_run("no-dir-run")
    before = snapshot(runs_dir)
    for url in ("/runs", f"/runs/{RUN}/progress", f"/runs/{RUN}/artifacts/index",
                f"/runs/{RUN}/artifacts/file?path=run_summary.md", f"/runs/{RUN}/artifacts/file?path=x/y/z.md",
                f"/runs/{RUN}/browser/artifacts", "/runs/no-dir-run/artifacts/index",
                "/runs/no-dir-run/browser/artifacts", "/runs/no-dir-run/artifacts/file?path=a/b.md",
                "/runs/no-dir-run/progress", "/runs/ghost/artifacts/index"):
        assert client.get(url).status_code < 500, url
    assert snapshot(runs_dir) == before
    assert not run_dir("no-dir-run").exists() and not run_dir("ghost").exists()


def test_check_artifact_path_segments():
    assert artifacts.check_artifact_path("a/./b//c.txt") == ["a", "b", "c.txt"]
    assert artifacts.check_artifact_path("a..b.txt") == ["a..b.txt"]
    assert artifacts.check_artifact_path("100%.txt") == ["100%.txt"]
    assert artifacts.check_artifact_path("a%20b.txt") == ["a%20b.txt"]  # served as named, not decoded


def test_odd_but_harmless_paths_are_404_never_500(client, run_with_files):
    for path in ("x" * 300, "a/" + "y" * 300 + "/z", "run_summary.md/inside", "/".join(["d"] * 1500)):
        response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": path})
        assert response.status_code == 404, (path[:20], response.status_code)


def test_unreadable_file_is_403(client, run_with_files, monkeypatch):
    target = run_with_files / "locked.txt"
    target.write_text("no")
    real_open = os.open

    def refusing_open(path, *args, **kwargs):
        if str(path).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(artifacts.os, "open", refusing_open)
    response = client.get(f"/runs/{RUN}/artifacts/file", params={"path": "locked.txt"})
    assert response.status_code == 403
    assert response.json() == {"detail": "File not readable: locked.txt"}
