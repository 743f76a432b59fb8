"""Load drivers: wrk when it is there (installed on demand), else a bounded asyncio client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyclient

LUA_SCRIPT = Path(__file__).resolve().parent / "lua" / "rotate.lua"
REQUESTS_SCRIPT = Path(__file__).resolve().parent / "lua" / "requests.lua"
# A safety net for the fallback client; wrk is bounded by duration and connections alone.
MAX_REQUESTS = 500_000


@dataclass(frozen=True)
class Target:
    """What one measurement hits: request i uses paths[i % P] and bodies[(i // P) % B]."""

    label: str
    method: str
    paths: tuple[str, ...]
    bodies: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestList:
    """What one measurement hits when path and body go together: request i is requests[i % N].

    Each request is (method, path, body or None); `headers` go on every request (e.g. Authorization).
    """

    label: str
    requests: tuple[tuple[str, str, str | None], ...]
    headers: tuple[tuple[str, str], ...] = ()

    def lines(self) -> str:
        """The file requests.lua reads: METHOD<TAB>PATH[<TAB>BODY] per line."""
        for _, path, body in self.requests:
            if "\t" in path or "\n" in path or (body and ("\t" in body or "\n" in body)):
                raise ValueError(f"{self.label}: tabs and newlines cannot go in a request line")
        return "".join(f"{m}\t{p}\t{b}\n" if b else f"{m}\t{p}\n" for m, p, b in self.requests)

    def raw(self, host: str) -> list[bytes]:
        """The same requests as bytes for the Python client."""
        out = []
        for method, path, body in self.requests:
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in self.headers)
            data = body.encode() if body else b""
            if body:
                head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            out.append((head + "\r\n").encode() + data)
        return out


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
    status_4xx: int | None = None  # counted apart by requests.lua only (None: not counted)
    status_5xx: int | None = None

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


def _wrk_cmd(wrk: str, base_url: str, script: Path, args: list[str], seconds: float, connections: int,
             headers: tuple[tuple[str, str], ...] = ()) -> list[str]:
    header_args = [arg for k, v in headers for arg in ("-H", f"{k}: {v}")]
    return [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", *header_args,
            "-s", str(script), base_url, "--", *args]


def _parse_wrk(label: str, returncode: int, stdout: str, stderr: str) -> LoadResult:
    """The BENCH_RESULT line both scripts print, as a LoadResult."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({returncode}): {stderr.strip() or stdout[-500:]}")
    raw = json.loads(line.split(" ", 1)[1])
    secs = raw["duration_us"] / 1e6
    return LoadResult(label, raw["requests"], round(secs, 3), raw["requests"] / secs,
                      raw["p50_us"] / 1000, raw["p99_us"] / 1000, raw["max_us"] / 1000,
                      {k: v for k, v in raw["errors"].items() if v}, raw.get("status_4xx"), raw.get("status_5xx"))


def run_wrk(wrk: str, base_url: str, target: Target, seconds: float, connections: int) -> LoadResult:
    """One wrk run of `seconds` on `connections` connections (one thread), parsed from rotate.lua."""
    cmd = _wrk_cmd(wrk, base_url, LUA_SCRIPT, _wrk_args(target), seconds, connections)
    done = subprocess.run(cmd, check=False, capture_output=True, text=True,
                          timeout=seconds + 60, stdin=subprocess.DEVNULL)
    return _parse_wrk(target.label, done.returncode, done.stdout, done.stderr)


def run_wrk_lists(wrk: str, base_url: str, loads: list[tuple[RequestList, int]], seconds: float) -> list[LoadResult]:
    """One wrk process per (request list, connections), all at once for `seconds` (requests.lua)."""
    with tempfile.TemporaryDirectory(prefix="autopack-bench-wrk-") as tmp:
        procs = []
        try:
            for n, (target, connections) in enumerate(loads):
                path = Path(tmp) / f"requests-{n}.txt"
                path.write_text(target.lines())
                cmd = _wrk_cmd(wrk, base_url, REQUESTS_SCRIPT, [str(path)], seconds, connections, target.headers)
                procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                              stdin=subprocess.DEVNULL))
            outputs = [proc.communicate(timeout=seconds + 60) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=5)
    return [_parse_wrk(target.label, proc.returncode, out, err)
            for (target, _), proc, (out, err) in zip(loads, procs, outputs, strict=True)]


def run_python(base_url: str, target: Target, seconds: float, connections: int) -> LoadResult:
    """The fallback: `connections` keep-alive sockets until the deadline or MAX_REQUESTS."""
    stats = pyclient.hammer(base_url, target.method, target.paths, target.bodies, connections,
                            seconds, MAX_REQUESTS)
    rps = stats.requests / stats.seconds if stats.seconds else 0.0
    return LoadResult(target.label, stats.requests, round(stats.seconds, 3), rps,
                      stats.percentile_ms(50), stats.percentile_ms(99), stats.percentile_ms(100),
                      {k: v for k, v in stats.errors.items() if v})


def run_python_lists(base_url: str, loads: list[tuple[RequestList, int]], seconds: float) -> list[LoadResult]:
    """The fallback for request lists: one bounded client per list, all at once."""
    host = urlsplit(base_url).netloc

    async def together() -> list[pyclient.LoadStats]:
        return await asyncio.gather(*(pyclient._hammer(base_url, target.raw(host), connections, seconds,
                                                       MAX_REQUESTS) for target, connections in loads))

    out = []
    for (target, _), stats in zip(loads, asyncio.run(together()), strict=True):
        rps = stats.requests / stats.seconds if stats.seconds else 0.0
        out.append(LoadResult(target.label, stats.requests, round(stats.seconds, 3), rps,
                              stats.percentile_ms(50), stats.percentile_ms(99), stats.percentile_ms(100),
                              {k: v for k, v in stats.errors.items() if v}))
    return out


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

    def run_lists(self, base_url: str, loads: list[tuple[RequestList, int]], seconds: float) -> list[LoadResult]:
        """Request lists at once, each on its own connections (its own wrk process)."""
        if self.kind == "wrk":
            return run_wrk_lists(self.wrk_path, base_url, loads, seconds)
        return run_python_lists(base_url, loads, seconds)

    def _once(self, base_url: str, target: Target | RequestList, seconds: float) -> LoadResult:
        if isinstance(target, RequestList):
            return self.run_lists(base_url, [(target, self.spec.connections)], seconds)[0]
        if self.kind == "wrk":
            return run_wrk(self.wrk_path, base_url, target, seconds, self.spec.connections)
        return run_python(base_url, target, seconds, self.spec.connections)

    def warm_up(self, base_url: str, target: Target | RequestList) -> None:
        """A short unmeasured run (connections, caches, the server's thread pool)."""
        if self.spec.warmup > 0:
            self._once(base_url, target, self.spec.warmup)

    def measure(self, base_url: str, target: Target | RequestList, seconds: float | None = None) -> LoadResult:
        """Measure `target` for `seconds` (default: the configured duration)."""
        return self._once(base_url, target, seconds or self.spec.duration)
