"""Whole installations for production tests: a database and data directory of their own, real servers."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import _PG_ADMIN_URL, BACKEND, _pg_admin
from tests.live_server import free_port, running

# Settings of the test process that must not leak into an installation of its own.
_PRIVATE = ("DATABASE_URL", "AUTOPACK_DATA_DIR", "AUTONOMOUS_RUNS_DIR", "PROMETHEUS_MULTIPROC_DIR")


@contextmanager
def new_database(folder: Path) -> Iterator[str | None]:
    """An empty database for one installation: None on SQLite (the data directory's file), else a URL."""
    if BACKEND == "sqlite":
        yield None
        return
    name = f"autopack_prod_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def installation_env(root: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of an installation under `root` (data in root/data, runs in root/runs)."""
    env = {k: v for k, v in os.environ.items() if k not in _PRIVATE}
    env.update({"AUTOPACK_DATA_DIR": str(root / "data"), "AUTONOMOUS_RUNS_DIR": str(root / "runs"),
                "AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0",
                "AUTOPACK_AUTOPILOT_WORKER": "0", "AUTOPACK_RUNS_START_RATE_LIMIT": "100000/minute",
                "AUTOPACK_MIRROR_SYNC": "0", **extra})
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


@dataclass
class Ran:
    """What an in-process `autopack` command did (the same fields as a finished process)."""

    returncode: int
    stdout: str
    stderr: str = ""


def run_here(env: dict[str, str], *args: str) -> Ran:
    """`autopack <args>` in this process with `env`'s installation settings (no interpreter start-up)."""
    from typer.testing import CliRunner

    from autopack.cli import app
    from autopack.core import database
    from autopack.core.settings import get_settings

    saved = dict(os.environ)
    changed = {k: v for k, v in env.items() if os.environ.get(k) != v}
    try:
        for name in _PRIVATE:
            if name not in env:
                os.environ.pop(name, None)
        os.environ.update(changed)
        get_settings.cache_clear()
        database.reset_engine()
        result = CliRunner().invoke(app, list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.output)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        database.reset_engine()


def cli(env: dict[str, str], *args: str, timeout: float = 120, stdin: str | None = None
        ) -> subprocess.CompletedProcess:
    """`autopack <args>` in a process of its own with `env`."""
    return subprocess.run([sys.executable, "-m", "autopack.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False, input=stdin)


def register(base: str, username: str, password: str) -> None:
    """A user through `POST /api/auth/register` (open in development): cheaper than a CLI process."""
    import httpx

    answer = httpx.post(f"{base}/api/auth/register", json={"username": username, "email": f"{username}@example.com",
                                                           "password": password}, timeout=30)
    assert answer.status_code == 201, answer.text


def login(base: str, username: str, password: str) -> str:
    """A bearer token from `POST /api/auth/login` (form-encoded, as the reference's clients send it)."""
    import httpx

    answer = httpx.post(f"{base}/api/auth/login", data={"username": username, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@contextmanager
def serve(env: dict[str, str], log: Path, *args: str) -> Iterator[str]:
    """`autopack serve` on a free loopback port: its base URL while the block runs."""
    port = free_port()
    cmd = [sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with running(cmd, port=port, env=env, log=log, timeout=60):
        yield f"http://127.0.0.1:{port}"
