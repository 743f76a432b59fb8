"""Executor benchmark (issue [12]): a 100-phase run driven by `autopack execute`'s loop, beside `git apply`.

The builder and auditor answer instantly (in the executor's process, no program started), so what is
measured is the executor's own work per phase: the API round trips (run, health, status updates,
builder and auditor results, metrics), the governed apply of the patch in the workspace and the
snapshot kept for a crash. The same 100 patches applied with plain `git apply` in a loop (one
process per patch) are the floor. The executor runs in its own process against a server on a fresh
SQLite file, so its CPU time per phase (less sensitive to a loaded machine than the wall time) is
its own. The server's CPU time over the run is shown too (it answers the round
trips; its write path is measured elsewhere). Target: <= 50 ms per phase. Run alone: `python bench/executor.py [phases] [--profile]`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PHASES = 100
TARGET_MS = 50.0
SRC = Path(__file__).resolve().parents[1] / "src"
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}

# The executor's process: drive the run with instant steps and print the figures as JSON.
CHILD = r"""
import cProfile, json, os, pstats, resource, sys, time
url, run_id, workspace, patches, profile_to = sys.argv[1:6]
from autopack.client import Client
from autopack.executor.builders import Build, Verdict
from autopack.executor.loop import Executor, Options
answers = json.loads(open(patches).read())

class Instant:
    def build(self, request):
        return Build(answers[request["phase_id"]], "bench", "instant")

    def audit(self, request):
        return Verdict("approve", "instant")

with Client(url) as client:
    executor = Executor(client, run_id, workspace, Instant(), Instant(), Options(max_attempts=1),
                        say=lambda _: None)
    profiler = cProfile.Profile() if profile_to != "-" else None
    children = lambda: sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])  # git's CPU time
    cpu, git_cpu, wall = time.process_time(), children(), time.perf_counter()
    if profiler:
        profiler.enable()
    outcome = executor.run()
    if profiler:
        profiler.disable()
    wall, cpu, git_cpu = time.perf_counter() - wall, time.process_time() - cpu, children() - git_cpu
if profiler:
    pstats.Stats(profiler).sort_stats("cumulative").dump_stats(profile_to)
print(json.dumps({"seconds": wall, "cpu_seconds": cpu, "git_cpu_seconds": git_cpu, "completed": len(outcome.completed),
                  "failed": len(outcome.failed), "final_state": outcome.final_state}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def make_workspace(root: Path, phases: int) -> dict[str, str]:
    """A git repository with one 20-line file per phase; the patch of each phase (one line changed)."""
    (root / "pkg").mkdir(parents=True)
    patches = {}
    for i in range(phases):
        name = f"pkg/module_{i:03d}.py"
        old = [f"value_{n} = {n}\n" for n in range(20)]
        new = [*old[:10], f"value_10 = {1000 + i}\n", *old[11:]]
        (root / name).write_text("".join(old))
        hunk = "".join(f" {line}" for line in old[7:10]) + f"-{old[10]}+{new[10]}" + "".join(
            f" {line}" for line in old[11:14])
        patches[f"P{i:03d}"] = (f"diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n"
                                f"@@ -8,7 +8,7 @@\n{hunk}")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "start")
    return patches


def start_server(work: Path) -> tuple[subprocess.Popen, str]:
    """`autopack serve --migrate` on a fresh SQLite file, workers and limits off; (process, base URL)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOPACK_API_KEY", "DATABASE_URL")}
    env.update({"PYTHONPATH": str(SRC), "DATABASE_URL": f"sqlite:///{work / 'executor.db'}",
                "AUTOPACK_DATA_DIR": str(work / "data"), "AUTONOMOUS_RUNS_DIR": str(work / "runs"),
                "AUTOPACK_ENV": "development", "AUTOPACK_ACCESS_LOG": "0", "AUTOPACK_LOG_LEVEL": "WARNING",
                "AUTOPACK_RATE_LIMIT_ENABLED": "0", "AUTOPACK_APPROVAL_WORKER": "0",
                "AUTOPACK_OAUTH_REFRESH_WORKER": "0", "AUTOPACK_AUTOPILOT_WORKER": "0"})
    log = (work / "executor-server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "autopack.cli", "serve", "--migrate", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"the executor bench server did not start; see {work / 'executor-server.log'}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a live process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def git_apply_loop(root: Path, patches: dict[str, str], work: Path) -> float:
    """Seconds to apply every patch with `git apply` in a loop, one process per patch (files written first)."""
    files = []
    for phase_id, patch in patches.items():
        file = work / f"{phase_id}.diff"
        file.write_text(patch)
        files.append(file)
    started = time.perf_counter()
    for file in files:
        subprocess.run(["git", "apply", str(file)], cwd=root, check=True, capture_output=True)
    return time.perf_counter() - started


def drive(url: str, run_id: str, root: Path, patches: dict[str, str], work: Path,
          profile_to: Path | None = None) -> dict:
    """Start the run and execute it in a child process: its wall and CPU seconds."""
    plan = {"run": {"run_id": run_id}, "tiers": [{"tier_id": "T1", "tier_index": 0, "name": "Bench"}],
            "phases": [{"phase_id": pid, "phase_index": i, "tier_id": "T1", "name": pid,
                        "scope": {"paths": [f"pkg/module_{i:03d}.py"]}} for i, pid in enumerate(patches)]}
    response = httpx.post(f"{url}/runs/start", json=plan, timeout=60)
    response.raise_for_status()
    answers = work / f"{run_id}-patches.json"
    answers.write_text(json.dumps(patches))
    env = {**os.environ, "PYTHONPATH": str(SRC), "AUTOPACK_LOG_LEVEL": "WARNING"}
    env.pop("AUTOPACK_API_KEY", None)
    done = subprocess.run([sys.executable, "-c", CHILD, url, run_id, str(root), str(answers),
                           str(profile_to) if profile_to else "-"], env=env, capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"the executor failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(work: Path, phases: int = PHASES, profile: bool = False) -> dict:
    """Time the executor over a `phases`-phase run and `git apply` over the same patches."""
    work.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(work)
    try:
        warm_root = work / "warm"
        drive(url, "executor-warmup", warm_root, make_workspace(warm_root, 5), work)  # imports, caches
        root = work / "workspace"
        patches = make_workspace(root, phases)
        server_cpu = cpu_seconds(proc.pid)
        figures = drive(url, "executor-bench", root, patches, work, work / "executor.prof" if profile else None)
        server_cpu = cpu_seconds(proc.pid) - server_cpu
    finally:
        proc.terminate()
        proc.wait(30)
    plain_root = work / "plain"
    make_workspace(plain_root, phases)
    git_seconds = git_apply_loop(plain_root, patches, work)
    per_phase = figures["seconds"] / phases * 1000
    git_per_patch = git_seconds / phases * 1000
    return {"phases": phases, "completed": figures["completed"], "final_state": figures["final_state"],
            "executor_ms_per_phase": round(per_phase, 2),
            "executor_cpu_ms_per_phase": round(figures["cpu_seconds"] / phases * 1000, 2),
            "executor_git_cpu_ms_per_phase": round(figures["git_cpu_seconds"] / phases * 1000, 2),
            "server_cpu_ms_per_phase": round(server_cpu / phases * 1000, 2),
            "git_apply_ms_per_patch": round(git_per_patch, 2),
            "ratio_to_git_apply": round(per_phase / git_per_patch, 2),
            "cpu_ratio_to_git_apply": round(figures["cpu_seconds"] / git_seconds, 2),
            "target_ms": TARGET_MS, "passed": figures["completed"] == phases and per_phase <= TARGET_MS,
            "profile": str(work / "executor.prof") if profile else None}


def render(r: dict) -> str:
    """The section for the benchmark's report."""
    verdict = "PASS" if r["passed"] else "FAIL"
    return "\n".join([
        f"Executor over a {r['phases']}-phase run (issue [12]), instant builder and auditor      ms per phase",
        f"  git apply, one process per patch (the floor)                     {r['git_apply_ms_per_patch']:8.2f}",
        f"  executor: API round trips, governed apply, statuses (wall)       {r['executor_ms_per_phase']:8.2f}   "
        f"{r['ratio_to_git_apply']:.2f}x git apply (target <= {r['target_ms']:.0f} ms: {verdict})",
        f"  executor process CPU time (Python)                               {r['executor_cpu_ms_per_phase']:8.2f}   "
        f"{r['cpu_ratio_to_git_apply']:.2f}x git apply's wall",
        f"  CPU time of the git processes the governed apply starts          {r['executor_git_cpu_ms_per_phase']:8.2f}",
        f"  server CPU time answering the executor (not the executor's)      {r['server_cpu_ms_per_phase']:8.2f}",
        f"  phases completed {r['completed']}/{r['phases']}, run {r['final_state']}",
    ])


def main() -> int:
    """Run alone: print the section and the figures as JSON (`--profile` keeps a cProfile dump)."""
    args = [a for a in sys.argv[1:] if a != "--profile"]
    profile = "--profile" in sys.argv[1:]
    work = Path(tempfile.mkdtemp(prefix="autopack-executor-bench-"))
    try:
        result = measure(work, int(args[0]) if args else PHASES, profile)
        if profile:
            import pstats

            pstats.Stats(result["profile"]).sort_stats("cumulative").print_stats(30)
    finally:
        if not profile:
            shutil.rmtree(work, ignore_errors=True)
    print(render(result))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
