"""Steam libraries from a fake install: libraryfolders.vdf (both formats), appmanifests, malformed files."""

from __future__ import annotations

import time

import pytest

GB = 1024**3
DAY = 86_400


def _manifest(appid, name, installdir, size=None, updated=None) -> str:
    lines = ['"AppState"', "{", f'\t"appid"\t\t"{appid}"', f'\t"name"\t\t"{name}"']
    if installdir is not None:
        lines.append(f'\t"installdir"\t\t"{installdir}"')
    if size is not None:
        lines.append(f'\t"SizeOnDisk"\t\t"{size}"')
    if updated is not None:
        lines.append(f'\t"LastUpdated"\t\t"{updated}"')
    return "\n".join(lines + ["}"]) + "\n"


@pytest.fixture
def steam_tree(tmp_path, monkeypatch):
    """A Steam install with a second library, in the new libraryfolders.vdf format."""
    steam, library = tmp_path / "Steam", tmp_path / "Games"
    apps, more = steam / "steamapps", library / "steamapps"
    (apps / "common").mkdir(parents=True)
    (more / "common" / "Walked").mkdir(parents=True)
    (more / "common" / "Walked" / "data.pak").write_bytes(b"w" * 4096)
    (apps / "libraryfolders.vdf").write_text(
        '"libraryfolders"\n{\n\t"0"\n\t{\n\t\t"path"\t\t"%s"\n\t}\n\t"1"\n\t{\n\t\t"path"\t\t"%s"\n'
        '\t\t"apps"\n\t\t{\n\t\t\t"20"\t\t"1"\n\t\t}\n\t}\n}\n' % (steam, library))
    now = int(time.time())
    (apps / "appmanifest_10.acf").write_text(_manifest(10, "Big Old", "BigOld", 50 * GB, now - 400 * DAY))
    (apps / "appmanifest_11.acf").write_text(_manifest(11, "Big New", "BigNew", 60 * GB, now - 5 * DAY))
    (apps / "appmanifest_12.acf").write_text(_manifest(12, "Small Old", "SmallOld", 1 * GB, now - 400 * DAY))
    (apps / "appmanifest_13.acf").write_text(_manifest(13, "No Dir", None, 90 * GB))  # skipped
    (apps / "appmanifest_14.acf").write_text('"AppState"\n{\n\t"appid" "14"\n')  # malformed: skipped
    (apps / "appmanifest_15.acf").write_text(_manifest(15, "Escape", "../../etc", 90 * GB))  # skipped
    (more / "appmanifest_20.acf").write_text(_manifest(20, "Walked", "Walked", None, None))
    (more / "appmanifest_21.acf").write_bytes(b"\xff\xfe garbage {{{")  # skipped
    monkeypatch.setenv("STEAM_PATH", str(steam))
    return steam, library


def test_unplayed_large_games_sorted_by_size(steam_tree, make_client):
    steam, library = steam_tree
    body = make_client().get("/storage/steam/games").json()
    assert body["steam_available"] is True and body["steam_path"] == str(steam)
    assert [g["app_id"] for g in body["games"]] == ["10"]  # >= 10 GB and not updated in 180 days
    game = body["games"][0]
    assert game == {"app_id": "10", "name": "Big Old", "install_path": str(steam / "steamapps" / "common" / "BigOld"),
                    "size_bytes": 50 * GB, "size_gb": 50.0, "last_updated": game["last_updated"],
                    "age_days": 400}
    assert game["last_updated"].endswith("+00:00")
    assert body["total_games"] == 1 and body["total_size_bytes"] == 50 * GB and body["total_size_gb"] == 50.0
    assert body["libraries"] == [str(steam / "steamapps"), str(library / "steamapps")]


def test_include_all_and_filters(steam_tree, make_client):
    client = make_client()
    everything = client.get("/storage/steam/games?include_all=true").json()
    assert [g["app_id"] for g in everything["games"]] == ["11", "10", "12", "20"]
    walked = everything["games"][-1]
    assert walked["size_bytes"] == 4096 and walked["last_updated"] is None and walked["age_days"] is None
    small = client.get("/storage/steam/games?min_size_gb=0&min_age_days=30").json()
    assert [g["app_id"] for g in small["games"]] == ["10", "12", "20"]  # no update date counts as unplayed
    page = client.get("/storage/steam/games?include_all=true&limit=2&offset=1").json()
    assert [g["app_id"] for g in page["games"]] == ["10", "12"] and page["total_games"] == 4
    assert client.get("/storage/steam/games?min_size_gb=-1").status_code == 422


def test_old_libraryfolders_format(tmp_path, monkeypatch, make_client):
    steam, library = tmp_path / "s", tmp_path / "lib"
    (steam / "steamapps").mkdir(parents=True)
    (library / "steamapps").mkdir(parents=True)
    (steam / "steamapps" / "libraryfolders.vdf").write_text(
        '"LibraryFolders"\n{\n\t"TimeNextStatsReport"\t\t"123"\n\t"1"\t\t"%s"\n}\n' % library)
    (library / "steamapps" / "appmanifest_7.acf").write_text(_manifest(7, "Seven", "Seven", 20 * GB))
    monkeypatch.setenv("STEAM_PATH", str(steam))
    body = make_client().get("/storage/steam/games").json()
    assert [g["name"] for g in body["games"]] == ["Seven"]


def test_no_steam_reports_unavailable(tmp_path, monkeypatch, make_client):
    monkeypatch.setenv("STEAM_PATH", str(tmp_path / "nowhere"))
    assert make_client().get("/storage/steam/games").json() == {
        "total_games": 0, "total_size_bytes": 0, "total_size_gb": 0.0, "games": [], "steam_available": False,
        "steam_path": None, "libraries": []}
