"""Start, probe and stop the two servers under test (Autopack and the hello app) on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from benchdb import BenchDatabase, as_database

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
HOST = "127.0.0.1"
FIRST_PORT = 18100
# Variables a developer's shell may carry that would change what is measured (auth, Qdrant probes).
_SCRUBBED_ENV = ("AUTOPACK_API_KEY", "AUTOPACK_PUBLIC_READ", "QDRANT_HOST", "DEBUG_DB_IDENTITY",
                 "AUTOPACK_RATE_LIMIT_STORAGE", "AUTOPACK_TRUSTED_PROXIES", "AUTOPACK_DB_POOL_SIZE")


def venv_python() -> str:
    """The project's virtualenv interpreter (the one `make bench` runs us with)."""
    candidate = REPO / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def free_port(start: int) -> int:
    """The first port from `start` up that nothing listens on at 127.0.0.1."""
    for port in range(start, start + 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}..{start + 199}")


def autopack_env(work: Path, db: Path | BenchDatabase, runs_dir: Path) -> dict[str, str]:
    """The server's environment: a private database and directories, no access log, no limits."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.update({
        "PYTHONPATH": str(REPO / "src"),
        "AUTOPACK_ENV": "development",
        "AUTOPACK_ACCESS_LOG": "0",
        "AUTOPACK_LOG_LEVEL": "WARNING",
        "AUTOPACK_RATE_LIMIT_ENABLED": "0",
        "DATABASE_URL": as_database(db).url,
        "AUTONOMOUS_RUNS_DIR": str(runs_dir),
        "AUTOPACK_DATA_DIR": str(work / "data"),
    })
    return env


def migrate(env: dict[str, str], log: Path) -> None:
    """Apply the migrations to the fresh database with the project's CLI."""
    cli = REPO / ".venv" / "bin" / "autopack"
    cmd = [str(cli), "migrate"] if cli.exists() else [venv_python(), "-m", "autopack.cli", "migrate"]
    with log.open("w") as out:
        done = subprocess.run(cmd, check=False, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                              timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`autopack migrate` failed:\n{log.read_text()[-2000:]}")


@dataclass
class Server:
    """One uvicorn process (its own process group, so stopping it stops only it)."""

    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Poll `path` until it answers 200; fail with the log tail if the process dies or hangs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready on {self.url}{path} after {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far: every thread of every process it runs."""
        return sum(int(f[11]) + int(f[12]) for f in self._group_stats()) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> dict[int, int]:
        """Resident memory (KiB) of each process of the server (uvicorn's master and its workers)."""
        out = {}
        for pid in self._group_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            rss = [line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")]
            if rss:
                out[pid] = int(rss[0])
        return out

    def _group_pids(self) -> list[int]:
        # The server is the leader of its own process group (start_new_session): its workers share it.
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.process.pid:
                        pids.append(int(entry.name))
                except OSError:
                    continue
        return pids

    def _group_stats(self) -> list[list[str]]:
        stats = []
        for pid in self._group_pids():
            try:
                stats.append(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split())
            except OSError:
                continue
        return stats

    def log_tail(self) -> str:
        """The last lines the server wrote."""
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL after 5 s."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


def start_uvicorn(name: str, app: str, port: int, env: dict[str, str], log: Path,
                  app_dir: Path | None = None, workers: int = 1) -> Server:
    """Launch `uvicorn app` with `workers` worker processes (one by default) and no access log."""
    cmd = [venv_python(), "-m", "uvicorn", app, "--host", HOST, "--port", str(port),
           "--workers", str(workers), "--no-access-log"]
    if app_dir is not None:
        cmd += ["--app-dir", str(app_dir)]
    out = log.open("w")
    process = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    return Server(name, port, process, log)


def start_autopack(work: Path, db: Path | BenchDatabase, name: str = "autopack", after_port: int = FIRST_PORT - 1,
                   workers: int = 1) -> Server:
    """Migrate the database `db` (a no-op if it is current), then serve Autopack on it."""
    env = autopack_env(work, db, work / f"runs-{name}")
    migrate(env, work / f"migrate-{name}.log")
    return start_uvicorn(name, "autopack.main:app", free_port(after_port + 1), env, work / f"{name}.log",
                         workers=workers)


def migrate_database(work: Path, db: Path | BenchDatabase, name: str) -> None:
    """Apply the migrations without serving (to seed or copy the database before any server holds it)."""
    migrate(autopack_env(work, db, work / f"runs-{name}"), work / f"migrate-{name}.log")


def start_hello(work: Path, after_port: int) -> Server:
    """Serve the bare hello app on the first free port after `after_port`."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    return start_uvicorn("hello", "hello_app:app", free_port(after_port + 1), env, work / "hello.log",
                         app_dir=BENCH_DIR)
