"""Starting on an un-migrated database: one clear line, no traceback, non-zero exit, no empty SQLite file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_command(plain_uvicorn: bool) -> list[str]:
    port = str(_free_port())
    if plain_uvicorn:
        return [sys.executable, "-m", "uvicorn", "autopack.main:app", "--host", "127.0.0.1", "--port", port]
    script = Path(sys.executable).with_name("autopack")  # the console script `make` installs
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "autopack.cli"]
    return [*launcher, "serve", "--host", "127.0.0.1", "--port", port]


@pytest.mark.parametrize("plain_uvicorn", [False, True], ids=["autopack-serve", "uvicorn"])
def test_a_fresh_data_dir_is_refused_cleanly(tmp_path, plain_uvicorn):
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the default: SQLite in the data dir
    env.update({"AUTOPACK_DATA_DIR": str(data_dir), "AUTONOMOUS_RUNS_DIR": str(tmp_path / "runs"),
                "AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0",
                "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
    done = subprocess.run(_serve_command(plain_uvicorn), cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "Database schema is not migrated (current revision none" in done.stderr
    assert "Run `autopack migrate`" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.count("Database schema is not migrated") == 1
    assert not (data_dir / "autopack.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing at all: no data dir, no runs dir
