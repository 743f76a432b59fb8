"""Run the demo: `python -m autopack.executor.demo [--keep]` (what `make demo` does)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import httpx

from autopack.client import Client
from autopack.executor.builders import CommandAuditor, CommandBuilder
from autopack.executor.loop import Executor, Options
from autopack.remote.plan import example_text, load_plan

STEP = f"{sys.executable} -m autopack.executor.demo.scripted"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(home: Path) -> Path:
    """The example workspace copied into a fresh git repository."""
    workspace = home / "workspace"
    source = resources.files("autopack.executor.demo").joinpath("workspace")
    with resources.as_file(source) as path:
        shutil.copytree(path, workspace)
    env = {**os.environ, "GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@example.com",
           "GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@example.com"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "demo start"]):
        subprocess.run(["git", *args], cwd=workspace, env=env, check=True, capture_output=True)
    return workspace


def start_server(home: Path, port: int) -> subprocess.Popen:
    """`autopack serve --migrate` on a SQLite file in `home`; returns once /health answers."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{home / 'demo.db'}", "AUTOPACK_DATA_DIR": str(home / "data"),
           "AUTONOMOUS_RUNS_DIR": str(home / "runs"), "AUTOPACK_EVENTS_POLL_SECONDS": "0.2"}
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "autopack.cli", "serve", "--migrate", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the demo server did not start; see {home / 'server.log'}")


def main() -> int:
    """Serve, start the example run, execute it, report; `--keep` leaves the server up for the console."""
    home = Path(tempfile.mkdtemp(prefix="autopack-demo-"))
    workspace, port = prepare(home), free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"demo server on {url} (SQLite in {home}), workspace {workspace}")
    proc = start_server(home, port)
    try:
        plan_file = home / "plan.yaml"
        plan_file.write_text(example_text())
        run_id = f"demo-{int(time.time())}"
        # The example's settings file lives under config/, protected by default: the demo waives it.
        os.environ["AUTOPACK_PROTECTED_PATHS"] = ".git/,.autonomous_runs/"
        with Client(url) as client:
            client.start_run(load_plan(plan_file, run_id))
            print(f"run {run_id} created: {client.get_run(run_id).state}")
            executor = Executor(client, run_id, workspace, CommandBuilder(f"{STEP} build", workspace),
                                CommandAuditor(f"{STEP} audit", workspace),
                                Options(default_checks=[f"{sys.executable} -m compileall -q src"]))
            outcome = executor.run()
        print(f"run {run_id}: {outcome.final_state}; files now in {workspace}:")
        for path in sorted(p for p in workspace.rglob("*") if p.is_file() and ".git" not in p.parts
                           and "__pycache__" not in p.parts):
            print(f"  {path.relative_to(workspace)}")
        if "--keep" in sys.argv:
            print(f"the server stays up on {url} (Ctrl-C to stop)")
            proc.wait()
        return 0 if outcome.final_state == "DONE_SUCCESS" else 1
    except KeyboardInterrupt:
        return 130
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
