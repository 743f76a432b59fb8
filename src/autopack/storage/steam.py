"""Steam libraries on Linux, macOS and Windows: `libraryfolders.vdf` and `appmanifest_*.acf` (vdf).

The install is STEAM_PATH when set, else the usual places (`~/.steam/steam`, `~/.local/share/Steam`,
the Flatpak install, macOS's Application Support, and on Windows the registry then Program Files).
A malformed or oversized file is skipped, never fatal.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import vdf

from autopack.core.settings import get_settings
from autopack.storage.policy import Policy
from autopack.storage.walker import Walk

MAX_VDF_BYTES = 1024 * 1024
GB = 1024**3


@dataclass
class Game:
    """One installed game."""

    app_id: str
    name: str
    install_path: str
    size_bytes: int
    last_updated: datetime | None

    def age_days(self, now: float) -> int | None:
        """Days since the last update, None when unknown."""
        return None if self.last_updated is None else max(0, int((now - self.last_updated.timestamp()) // 86400))


def _registry_paths() -> list[Path]:
    try:
        import winreg  # Windows only: imported here so nothing else depends on it
    except ImportError:
        return []
    found = []
    for hive, key, value in ((winreg.HKEY_CURRENT_USER, r"Software\Valve\Steam", "SteamPath"),
                             (winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\WOW6432Node\Valve\Steam", "InstallPath")):
        try:
            with winreg.OpenKey(hive, key) as handle:
                found.append(Path(winreg.QueryValueEx(handle, value)[0]))
        except OSError:
            continue
    return found


def candidate_installs() -> list[Path]:
    """Where to look for a Steam install, in order."""
    configured = get_settings().steam_path
    if configured is not None:
        return [configured.expanduser()]
    home = Path.home()
    if sys.platform == "win32":
        return [*_registry_paths(), Path(r"C:\Program Files (x86)\Steam"), Path(r"C:\Program Files\Steam")]
    if sys.platform == "darwin":
        return [home / "Library" / "Application Support" / "Steam"]
    return [home / ".steam" / "steam", home / ".local" / "share" / "Steam", home / ".steam" / "root",
            home / ".var" / "app" / "com.valvesoftware.Steam" / ".local" / "share" / "Steam"]


def find_steam() -> Path | None:
    """The first install holding a `steamapps` folder."""
    for path in candidate_installs():
        if (path / "steamapps").is_dir():
            return path
    return None


def _load(path: Path) -> dict[str, Any] | None:
    """A VDF/ACF file as a dict with lower-cased keys; None when unreadable, too large or malformed."""
    try:
        if path.stat().st_size > MAX_VDF_BYTES:
            return None
        data = vdf.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError):
        return None
    return _lower(data) if isinstance(data, dict) else None


def _lower(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower(v) for k, v in value.items()}
    return value


def libraries(steam: Path) -> list[Path]:
    """`<steam>/steamapps` and every library listed in its libraryfolders.vdf (both file formats)."""
    found = [steam / "steamapps"]
    data = _load(steam / "steamapps" / "libraryfolders.vdf") or {}
    folders = data.get("libraryfolders") or {}
    if isinstance(folders, dict):
        for key, entry in folders.items():
            path = entry.get("path") if isinstance(entry, dict) else (entry if key.isdigit() else None)
            if isinstance(path, str) and path.strip():
                found.append(Path(path) / "steamapps")
    unique, seen = [], set()
    for lib in found:
        real = os.path.realpath(lib)
        if real not in seen and os.path.isdir(real):
            seen.add(real)
            unique.append(lib)
    return unique


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _walked_size(path: Path) -> int:
    if not path.is_dir():
        return 0
    probe = Walk(target=str(path), root=str(path), policy=Policy(), max_depth=0, max_items=2_000_000)
    probe._dev, probe._next_check = os.stat(path).st_dev, 2**62
    return probe.measure(str(path))[0]


def read_manifest(library: Path, manifest: Path) -> Game | None:
    """A game from an appmanifest, None when it lacks an app id or install dir."""
    data = _load(manifest)
    state = data.get("appstate") if data else None
    if not isinstance(state, dict):
        return None
    app_id, install_dir = state.get("appid"), state.get("installdir")
    if not isinstance(app_id, str) or not app_id.strip() or not isinstance(install_dir, str):
        return None
    if not install_dir.strip() or install_dir in (".", "..") or "/" in install_dir or "\\" in install_dir:
        return None  # a manifest must not point the size walk outside the library
    install = library / "common" / install_dir
    size = _int(state.get("sizeondisk"))
    if size is None or size <= 0:
        size = _walked_size(install)
    stamp = _int(state.get("lastupdated"))
    updated = datetime.fromtimestamp(stamp, UTC) if stamp and 0 < stamp < 2**34 else None
    name = state.get("name") if isinstance(state.get("name"), str) else "Unknown"
    return Game(app_id=app_id.strip(), name=name or "Unknown", install_path=str(install), size_bytes=size,
                last_updated=updated)


def installed_games(steam: Path) -> tuple[list[Game], list[Path]]:
    """Every game of every library (one per app id), and the libraries."""
    libs, games = libraries(steam), {}
    for lib in libs:
        for manifest in sorted(glob.glob(glob.escape(str(lib)) + "/appmanifest_*.acf")):
            game = read_manifest(lib, Path(manifest))
            if game is not None and game.app_id not in games:
                games[game.app_id] = game
    return list(games.values()), libs


def steam_report(min_size_gb: float, min_age_days: int, include_all: bool, limit: int, offset: int) -> dict:
    """SteamGamesListResponse: unplayed large games (or all), largest first."""
    steam = find_steam()
    if steam is None:
        return {"total_games": 0, "total_size_bytes": 0, "total_size_gb": 0.0, "games": [],
                "steam_available": False, "steam_path": None, "libraries": []}
    games, libs = installed_games(steam)
    now = time.time()
    if not include_all:
        games = [g for g in games if g.size_bytes >= min_size_gb * GB
                 and (g.last_updated is None or g.age_days(now) >= min_age_days)]
    games.sort(key=lambda g: (-g.size_bytes, g.app_id))
    total = sum(g.size_bytes for g in games)
    return {"total_games": len(games), "total_size_bytes": total, "total_size_gb": round(total / GB, 2),
            "games": [{"app_id": g.app_id, "name": g.name, "install_path": g.install_path,
                       "size_bytes": g.size_bytes, "size_gb": round(g.size_bytes / GB, 2),
                       "last_updated": g.last_updated.isoformat() if g.last_updated else None,
                       "age_days": g.age_days(now)} for g in games[offset:offset + limit]],
            "steam_available": True, "steam_path": str(steam), "libraries": [str(lib) for lib in libs]}
