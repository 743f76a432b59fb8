"""The stdout table and bench/results/latest.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
CPU_NOTE = ("  (cpu us: the server process's CPU time per request, all threads; cpu vs: hello's cpu us"
            " over this one's,\n   a cost ratio that moves little with other load; PASS/FAIL uses 'vs hello')")


def _verdict(passed: bool | None) -> str:
    return "" if passed is None else ("PASS" if passed else "FAIL")


def _row(label: str, r: dict, ratio: str = "", cpu_ratio: str = "", goal: str = "", verdict: str = "") -> str:
    errors = sum(r.get("errors", {}).values())
    err = f"  ({errors} errors)" if errors else ""
    if r.get("status_5xx"):
        err += f"  ({r['status_5xx']} answered 5xx)"
    cpu = r.get("cpu_us_per_request")
    cpu_text = f"{cpu:.0f}" if cpu is not None else "-"
    return (f"  {label:<34}{r['rps']:>9.1f}{r['p50_ms']:>8.2f}{r['p99_ms']:>9.2f}"
            f"{cpu_text:>9}{ratio:>9}{cpu_ratio:>9}{goal:>8}  {verdict}{err}")


def _header() -> str:
    return (f"  {'endpoint':<34}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>9}{'cpu us':>9}"
            f"{'vs hello':>9}{'cpu vs':>9}{'target':>8}")


def _hello_rows(group: dict) -> tuple[str, str]:
    """The two hello rows framing a group, their ratio to the mean showing the drift."""
    mean = group["hello_rps"]
    before, after = group["hello_before"], group["hello_after"]
    return (_row("GET /hello (bare FastAPI), before", before, f"{before['rps'] / mean:.3f}"),
            _row("GET /hello (bare FastAPI), after", after, f"{after['rps'] / mean:.3f}"))


def _group_lines(group: dict, labels: dict[str, str] | None = None) -> list[str]:
    first, last = _hello_rows(group)
    lines = [_header(), first]
    for key, r in group["rows"].items():
        goal = r.get("goal")
        goal_text = f">={goal:.2f}" if goal is not None else "-"
        label = (labels or {}).get(key, r["label"])
        cpu_ratio = f"{r['cpu_ratio']:.3f}" if "cpu_ratio" in r else "-"
        lines.append(_row(label, r, f"{r['ratio']:.3f}", cpu_ratio, goal_text,
                          _verdict(r.get("pass"))))
    return [*lines, last]


def _scale_lines(scale: dict) -> list[str]:
    runs, seed = scale["runs"], scale["seed"]
    names = {"get_run": "GET /runs/{id}", "health": "GET /health"}
    labels = {f"{key}@{side}": f"{names.get(key, key)}, {runs[side]:,} runs"
              for key in scale["comparison"] for side in ("small", "large")}
    seeded = (f"  seeded {seed['small']['runs_added']:,} runs in {seed['small']['seconds']} s and "
              f"{seed['large']['runs_added']:,} in {seed['large']['seconds']} s (1 tier x 2 phases each)")
    lines = [seeded, *_group_lines(scale, labels)]
    for key, c in scale["comparison"].items():
        lines.append(
            f"  {key:<8} {runs['large']:,} vs {runs['small']:,} runs: throughput slowdown "
            f"{c['rps_slowdown']:.2f}x (p50 x{c['p50_ratio']:.2f}, CPU/request x{c['cpu_ratio']:.2f})  "
            f"target <={c['goal']}x  "
            f"{_verdict(c['pass'])}")
    return lines


def _create_lines(c: dict) -> list[str]:
    return [
        f"  1 phase:    median {c['small_median_ms']:.1f} ms (max {c['small_max_ms']:.1f})",
        (f"  {c['big_phases']} phases: median {c['big_median_ms']:.1f} ms (max {c['big_max_ms']:.1f}),"
         f" {c['big_shape']} tiers x phases"),
        (f"  ratio {c['ratio']:.2f}x  target <={c['goal']:.0f}x  {_verdict(c['pass'])}"
         f"   ({c['reps']} reps each after {c['warmup']} warm-up, interleaved)"),
    ]


def _burst_line(name: str, b: dict) -> str:
    kinds = ", ".join(f"{k} {v:.0f}" for k, v in b["max_ms_by_kind"].items())
    return (f"  {name:<10} wall {b['wall_ms']:>8.1f} ms  max latency {b['max_ms']:>8.1f} ms"
            f"  (max by kind, ms: {kinds}){'  FAILED ' + str(b['failed']) if b['failed'] else ''}")


def _probe_text(p: dict) -> str:
    return f"p50 {p['p50_ms']:.1f} ms, max {p['max_ms']:.1f} ms ({p['count']} probes)"


def _concurrency_lines(c: dict) -> list[str]:
    lines = [_burst_line("one by one", c["serial"])]
    lines += [_burst_line(f"burst {i + 1}", b) for i, b in enumerate(c["bursts"])]
    lines.append(f"  event-loop probe (a 404 answered without the thread pool): idle {_probe_text(c['idle_probe'])}")
    lines += [f"    during burst {i + 1}: {_probe_text(b['probe'])}" for i, b in enumerate(c["bursts"])]
    return lines


def render(results: dict) -> str:
    """The whole human-readable report."""
    meta = results["meta"]
    lines = [
        f"Autopack loopback benchmark ({meta['mode']}): driver {meta['driver']}",
        (f"  {meta['connections']} connections, {meta['duration_s']} s per measurement after "
         f"{meta['warmup_s']} s warm-up; {meta['cpus']} CPUs, load avg {meta['load_avg_start']} at start, "
         f"{meta.get('load_avg_end', '?')} at end (other work on the machine makes figures noisy)"),
    ]
    for part in results.get("sections", {}).values():
        lines += section_lines(part)
    for part in results.get("writepath", {}).values():
        lines += writepath_lines(part)
    lines += ["", f"Summary: {summary(results)}"]
    return "\n".join(lines)


def section_lines(part: dict) -> list[str]:
    """Issues [1] and [7] on one database."""
    on = part["label"]
    return [
        "", f"Throughput beside hello on {on} (fresh database)",
        CPU_NOTE,
        *_group_lines(part["throughput"]),
        "", f"Creating a run on {on} (POST /runs/start, sequential):", *_create_lines(part["create_run"]),
        "", (f"Concurrency on {on} ({part['concurrency']['concurrent']} requests at once: "
             "GET run, health, update_status, start run x16 each):"),
        *_concurrency_lines(part["concurrency"]),
        "", f"Autopilot on {on}:", *_autopilot_lines(part),
        *_live_lines(part.get("live"), on),
        "", f"Scale check on {on} (two fresh servers on copies of the database; order small, large, large, small):",
        *_scale_lines(part["scale"]),
    ]


WRITEPATH_LABELS = {"runs_list@small": "GET /runs?limit=20, 1,000 runs", "progress": "GET /runs/{id}/progress",
                    "dashboard_status": "GET /dashboard/runs/{id}/status", "update_status": "POST update_status",
                    "builder_result": "POST builder_result", "auditor_result": "POST auditor_result",
                    "usage": "POST /runs/{id}/usage, 10 events", "check_20_rules": "POST enforcement/check, 20 rules",
                    "actions_create": "POST /actions", "actions_approve": "POST /actions/{id}/approve"}


def writepath_lines(part: dict) -> list[str]:
    """Issue [8] on one database: reads, writes, the list's scale, update_status's tail, the mixed workload."""
    runs, seed = part["runs"], part["seed"]
    labels = {**WRITEPATH_LABELS, "runs_list@large": f"GET /runs?limit=20, {runs['large']:,} runs"}
    scale, tail, mixed = part["runs_list_scale"], part["update_tail"], part["mixed"]
    approve = part["writes"]["rows"]["actions_approve"]
    lines = [
        "", (f"Write path (issue [8]) on {part['label']}: {runs['small']:,} runs seeded in "
             f"{seed['small']['seconds']} s, a copy topped up to {runs['large']:,} in {seed['large']['seconds']} s"),
        "  reads:", *_group_lines(part["reads"], labels),
        (f"  GET /runs?limit=20, {runs['large']:,} vs {runs['small']:,} runs: throughput slowdown "
         f"{scale['rps_slowdown']:.2f}x (p50 x{scale['p50_ratio']:.2f}, CPU/request x{scale['cpu_ratio']:.2f})  "
         f"target <={scale['goal']}x  {_verdict(scale['pass'])}"),
        "  writes:", *_group_lines(part["writes"], labels),
        (f"  update_status p99 / p50: {tail['p99_over_p50']:.1f}x  target <={tail['goal']:.0f}x  "
         f"{_verdict(tail['pass'])}"),
        (f"  approve: {approve['requests']:,} approvals from a pool of {approve['pool']:,} queued actions"
         + ("  POOL EXHAUSTED (the rest answered 400)" if approve.get("pool_exhausted") else "")),
        *_mixed_lines(mixed),
    ]
    return lines


def _mixed_lines(m: dict) -> list[str]:
    r, w = m["reads"], m["writes"]
    per_write = f"{m['reads_per_write']:.1f}" if m.get("reads_per_write") else "-"
    ratio = m.get("write_p99_over_read_p99")
    return [
        (f"  mixed (two wrk processes at once: reads on 13 connections, writes on 3): {m['rps']:.1f} req/s in all"
         f" ({m.get('ratio', 0):.3f} x hello), {m['cpu_us_per_request']:.0f} us CPU/request, {per_write} reads per write"),
        _row("  reads (13 connections)", r),
        _row("  writes (3 connections)", w),
        (f"    p99 writes / p99 reads: {m['write_p99_ms']:.1f} / {m['read_p99_ms']:.1f} ms = "
         f"{ratio:.2f}x" if ratio is not None else "    p99 ratio: -"),
    ]


def _autopilot_lines(results: dict) -> list[str]:
    lines = []
    check = results.get("autopilot_check")
    if check:
        lines += _group_lines(check, {"check_20_rules": "POST /enforcement/check (20 rules)"})
    ap = results.get("autopilot")
    if ap:
        p50, ratio = ap["list_p50_ms"], ap["list_scale_ratio"]
        lines.append(f"  GET /actions?limit=50 p50: {p50['1000']:.2f} ms at 1,000 actions, "
                     f"{p50['100000']:.2f} ms at 100,000 -> {ratio['value']:.2f}x  target <={ratio['target']}x  "
                     f"{_verdict(ratio['pass'])}")
        a = ap["approve_all_500_ms"]
        lines.append(f"  approve-all of 500 actions: p50 {a['p50']:.1f} ms, max {a['max']:.1f} ms "
                     f"({a['rounds']} rounds)")
        if "p50_latency_x_hello" in ap:
            x = ap["p50_latency_x_hello"]
            lines.append(f"  p50 latency as a multiple of hello's ({ap['hello_p50_ms']:.2f} ms, sequential): "
                         f"list@1000 {x['list@1000']}x, list@100000 {x['list@100000']}x, "
                         f"approve-all {x['approve_all_500']}x")
    return lines


LIVE_LABELS = {"usage_month": "GET /dashboard/usage month, 4 conn", "update_no_streams": "POST update_status",
               "update_100_streams": "POST update_status, 100 streams", "health_no_streams": "GET /health",
               "health_500_idle": "GET /health, 500 idle streams"}


def _stream_text(s: dict) -> str:
    """What a stream holder saw: streams open (per the server's gauge), bytes and events received."""
    return (f"{s.get('open', '?')}/{s['wanted']} open (server gauge {s.get('subscribers_seen_by_server')},"
            f" {s.get('subscribers_after_close')} after close), {s.get('events', 0):,} events /"
            f" {s.get('bytes', 0) / 1e6:.1f} MB received; server CPU with no requests"
            f" {s.get('server_cpu_pct_idle')}% of a core")


def _live_lines(live: dict | None, on: str) -> list[str]:
    """Issue [7]: usage at 1M events, update_status with streams open, /health beside idle streams."""
    if not live:
        return []
    seed, up, idle = live["usage_seed"], live["update_overhead"], live["idle_overhead"]
    rows = live["rows"]
    return [
        "", (f"Live (issue [7]) on {on}: its own server; {seed['events']:,} usage events over {seed['spread_days']} days,"
             f" {seed['last_30_days']:,} in the month, seeded in {seed['seconds']} s:"),
        *_group_lines(live, LIVE_LABELS),
        (f"  update_status, 100 streams vs none: throughput x{up['rps']:.2f}, p50 x{up['p50']:.2f},"
         f" p99 x{up['p99']:.2f}, CPU/request x{up['cpu_per_request']:.2f}"
         f" (no setting makes the event write cheaper: CPU/request {rows['update_no_streams']['cpu_us_per_request']:.0f} us"
         f" with none, {rows['update_100_streams']['cpu_us_per_request']:.0f} us with 100)"),
        (f"  /health, 500 idle streams vs none: p50 x{idle['p50']:.2f}, p99 x{idle['p99']:.2f},"
         f" throughput x{idle['rps']:.2f}, CPU/request x{idle['cpu_per_request']:.2f}"),
        f"  streams on the updated run: {_stream_text(live['streams']['update'])}",
        f"  idle streams: {_stream_text(live['streams']['idle'])}; with none: "
        f"{live['streams']['none']['server_cpu_pct_idle']}%",
        f"  server open-files limit {live.get('server_fd_limit')}",
    ]


def verdicts(results: dict) -> dict[str, bool]:
    """Every target's PASS (True) / FAIL (False)."""
    out = {}
    for kind, part in results.get("sections", {}).items():
        out.update({f"{kind}: {k} >= {r['goal']} x hello": r["pass"]
                    for k, r in part["throughput"]["rows"].items() if r["pass"] is not None})
        out.update({f"{kind}: scale {k} <= {c['goal']}x": c["pass"]
                    for k, c in part["scale"]["comparison"].items()})
        out[f"{kind}: create 200/1 <= {part['create_run']['goal']:.0f}x"] = part["create_run"]["pass"]
        ratio = part["autopilot"]["list_scale_ratio"]
        out[f"{kind}: actions list 100k/1k <= {ratio['target']}x"] = ratio["pass"]
    for kind, part in results.get("writepath", {}).items():
        for group in ("reads", "writes"):
            out.update({f"{kind}: {k} >= {r['goal']} x hello": r["pass"]
                        for k, r in part[group]["rows"].items() if r.get("pass") is not None})
        out[f"{kind}: runs list 100k/1k <= {part['runs_list_scale']['goal']}x"] = part["runs_list_scale"]["pass"]
        out[f"{kind}: update_status p99 <= {part['update_tail']['goal']:.0f} x p50"] = part["update_tail"]["pass"]
    return out


def summary(results: dict) -> str:
    """"N/M targets pass" plus the failing ones."""
    v = verdicts(results)
    failing = [name for name, ok in v.items() if not ok]
    text = f"{len(v) - len(failing)}/{len(v)} targets pass"
    return text + (f"; FAIL: {', '.join(failing)}" if failing else "")


def _finite(value):
    """JSON has no infinity: turn inf/nan into null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_json(results: dict, path: Path = RESULTS) -> Path:
    """Save the results (with the verdicts) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _finite({**results, "verdicts": verdicts(results)})
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
