"""Load drivers: wrk when it is there (installed on demand), else a bounded asyncio client."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyclient

LUA_SCRIPT = Path(__file__).resolve().parent / "lua" / "rotate.lua"
# A safety net for the fallback client; wrk is bounded by duration and connections alone.
MAX_REQUESTS = 500_000


@dataclass(frozen=True)
class Target:
    """What one measurement hits: request i uses paths[i % P] and bodies[(i // P) % B]."""

    label: str
    method: str
    paths: tuple[str, ...]
    bodies: tuple[str, ...] = ()


@dataclass
class LoadResult:
    """Throughput and latency of one bounded load run."""

    label: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain data for the JSON report."""
        return asdict(self)


@dataclass(frozen=True)
class LoadSpec:
    """How hard and how long to push: the same for every target in a run of the benchmark."""

    duration: float
    warmup: float
    connections: int


def install_wrk() -> str | None:
    """`apt-get install -y wrk` (after an `apt-get update` if the first try fails); None if it can't."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for steps in ([["apt-get", "install", "-y", "-qq", "wrk"]],
                  [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]]):
        try:
            if all(subprocess.run(cmd, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, timeout=300).returncode == 0
                   for cmd in steps):
                return shutil.which("wrk")
        except subprocess.TimeoutExpired:
            return None
    return None


def choose_driver(preference: str) -> tuple[str, str | None]:
    """("wrk", path) or ("python", None) according to `preference` (auto, wrk, python)."""
    if preference == "python":
        return "python", None
    path = shutil.which("wrk") or install_wrk()
    if path:
        return "wrk", path
    if preference == "wrk":
        raise RuntimeError("wrk is not installed and `apt-get install -y wrk` failed")
    return "python", None


def wrk_version(path: str) -> str:
    """The `wrk -v` banner's version, e.g. "4.1.0"."""
    done = subprocess.run([path, "-v"], check=False, capture_output=True, text=True, timeout=10)
    found = re.search(r"wrk (\S+)", done.stdout + done.stderr)
    return found.group(1) if found else "unknown"


def _wrk_args(target: Target) -> list[str]:
    return [target.method, str(len(target.bodies)), *target.bodies, *target.paths]


def run_wrk(wrk: str, base_url: str, target: Target, seconds: float, connections: int) -> LoadResult:
    """One wrk run of `seconds` on `connections` connections (one thread), parsed from rotate.lua."""
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s",
           "-s", str(LUA_SCRIPT), base_url, "--", *_wrk_args(target)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True,
                          timeout=seconds + 60, stdin=subprocess.DEVNULL)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
    raw = json.loads(line.split(" ", 1)[1])
    secs = raw["duration_us"] / 1e6
    return LoadResult(target.label, raw["requests"], round(secs, 3), raw["requests"] / secs,
                      raw["p50_us"] / 1000, raw["p99_us"] / 1000, raw["max_us"] / 1000,
                      {k: v for k, v in raw["errors"].items() if v})


def run_python(base_url: str, target: Target, seconds: float, connections: int) -> LoadResult:
    """The fallback: `connections` keep-alive sockets until the deadline or MAX_REQUESTS."""
    stats = pyclient.hammer(base_url, target.method, target.paths, target.bodies, connections,
                            seconds, MAX_REQUESTS)
    rps = stats.requests / stats.seconds if stats.seconds else 0.0
    return LoadResult(target.label, stats.requests, round(stats.seconds, 3), rps,
                      stats.percentile_ms(50), stats.percentile_ms(99), stats.percentile_ms(100),
                      {k: v for k, v in stats.errors.items() if v})


class Driver:
    """Runs a warm-up and a measured load run of a target with the chosen tool."""

    def __init__(self, kind: str, wrk_path: str | None, spec: LoadSpec):
        self.kind = kind
        self.wrk_path = wrk_path
        self.spec = spec

    def describe(self) -> str:
        """E.g. "wrk 4.1.0" or "python (asyncio sockets)"."""
        if self.kind == "wrk":
            return f"wrk {wrk_version(self.wrk_path)}"
        return "python fallback (asyncio sockets; the client shares the CPU with the server)"

    def _once(self, base_url: str, target: Target, seconds: float) -> LoadResult:
        if self.kind == "wrk":
            return run_wrk(self.wrk_path, base_url, target, seconds, self.spec.connections)
        return run_python(base_url, target, seconds, self.spec.connections)

    def warm_up(self, base_url: str, target: Target) -> None:
        """A short unmeasured run (connections, caches, the server's thread pool)."""
        if self.spec.warmup > 0:
            self._once(base_url, target, self.spec.warmup)

    def measure(self, base_url: str, target: Target, seconds: float | None = None) -> LoadResult:
        """Measure `target` for `seconds` (default: the configured duration)."""
        return self._once(base_url, target, seconds or self.spec.duration)
