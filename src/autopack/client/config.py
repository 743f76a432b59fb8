"""Where the client finds its server and credentials: arguments, then `AUTOPACK_URL`, `AUTOPACK_API_KEY`,
`AUTOPACK_TOKEN`; the CLI also reads the token `autopack login` stored (`~/.config/autopack/credentials`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def base_url(value: str | None = None) -> str:
    """The server's base URL without a trailing slash."""
    return (value or os.environ.get("AUTOPACK_URL") or DEFAULT_URL).rstrip("/")


def auth_headers(api_key: str | None, token: str | None) -> dict[str, str]:
    """`X-API-Key` and/or `Authorization: Bearer` for the credentials given."""
    headers = {}
    if api_key:
        headers["X-API-Key"] = api_key
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def credentials_path() -> Path:
    """`$XDG_CONFIG_HOME/autopack/credentials`, by default `~/.config/autopack/credentials`."""
    root = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(root) / "autopack" / "credentials"


def _read_all() -> dict[str, dict[str, str]]:
    path = credentials_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def stored_token(url: str) -> str | None:
    """The token `autopack login` stored for this server, if any."""
    entry = _read_all().get(url.rstrip("/"))
    return entry.get("token") if isinstance(entry, dict) else None


def store_token(url: str, username: str, token: str) -> Path:
    """Keep a token for a server in the credentials file, created 0600 (never readable by others)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = _read_all()
    data[url.rstrip("/")] = {"username": username, "token": token}
    _write(path, data)
    return path


def forget_token(url: str) -> bool:
    """Remove a server's stored token; True when there was one."""
    data = _read_all()
    if data.pop(url.rstrip("/"), None) is None:
        return False
    path = credentials_path()
    if data:
        _write(path, data)
    else:
        path.unlink(missing_ok=True)
    return True


def _write(path: Path, data: dict) -> None:
    # Written to a fresh 0600 file, then renamed over the old one: never a moment with the token world-readable.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
