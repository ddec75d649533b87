"""The table bench/run.sh prints, and the generated part of bench/RESULTS.md.

Input: the run's results.jsonl, one JSON object a line: {"machine"}, {"rss_idle_kib"}, one
line per wrk run ({"system", "workload", "connections", "load1", "wrk", "rss_peak_kib",
"cpu_s": user + system CPU seconds of the system's three processes during the run}),
{"coffer_metrics"}, {"profile"}, {"failover"}, {"autounseal"}.
Each Coffer run is compared with the etcd run of the same workload and connections just before
it (they ran back to back).
"""
import json
import re
from pathlib import Path

BEGIN = "<!-- bench/run.sh: generated from here -->"
END = "<!-- bench/run.sh: generated up to here -->"

# The goals, at 64 connections.
WRITE_RATIO_MIN = 1.5
READ_RATIO_MIN = 2.0
FAILOVER_S_MAX = 2.0
IDLE_RSS_MIB_MAX = 40.0


def load(path):
    lines = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    out = {"runs": []}
    for item in lines:
        if "system" in item:
            out["runs"].append(item)
        else:
            out.update(item)
    return out


def rate(run):
    w = run["wrk"]
    return w["requests"] / (w["duration_us"] / 1e6)


def ms(us):
    return f"{us / 1000:.1f}"


def pairs(runs):
    """(coffer_run, etcd_run) for each Coffer run: the etcd run of the same cell before it."""
    last_etcd = {}
    for run in runs:
        cell = (run["workload"], run["connections"])
        if run["system"] == "etcd":
            last_etcd[cell] = run
        elif cell in last_etcd:
            yield run, last_etcd[cell]


def table(data):
    head = ("| Coffer setup | workload | conns | Coffer req/s | p50 ms | p99 ms | etcd req/s | p50 ms "
            "| p99 ms | req/s ratio | p99 ratio | CPU ms/req C/e | errors C/e |")
    rows = [head, "|" + "---|" * 13]
    for c, e in pairs(data["runs"]):
        cw, ew = c["wrk"], e["wrk"]
        errors = f"{cw['non2xx'] + cw['socket_errors']}/{ew['non2xx'] + ew['socket_errors']}"
        rows.append(
            f"| {c['system']} | {c['workload']} | {c['connections']} | {rate(c):.0f} | {ms(cw['p50_us'])} "
            f"| {ms(cw['p99_us'])} | {rate(e):.0f} | {ms(ew['p50_us'])} | {ms(ew['p99_us'])} "
            f"| {rate(c) / rate(e):.2f}x | {cw['p99_us'] / max(ew['p99_us'], 1):.2f} "
            f"| {cpu_per_request(c)}/{cpu_per_request(e)} | {errors} |")
    return "\n".join(rows)


def cpu_per_request(run):
    """CPU time of all three processes of the system during the run, per request (ms)."""
    if "cpu_s" not in run or not run["wrk"]["requests"]:
        return "-"
    return f"{1000 * run['cpu_s'] / run['wrk']['requests']:.3f}"


def find(data, system, workload, conns):
    for c, e in pairs(data["runs"]):
        if (c["system"], c["workload"], c["connections"]) == (system, workload, conns):
            return c, e
    return None


def goals(data):
    rows = ["| goal | measured | met |", "|---|---|---|"]

    def add(goal, measured, met):
        rows.append(f"| {goal} | {measured} | {'yes' if met else '**no**'} |")

    for system in ("coffer", "coffer+audit"):
        w = find(data, system, "write", 64)
        if w:
            c, e = w
            ratio = rate(c) / rate(e)
            add(f"{system}: KV v2 writes >= {WRITE_RATIO_MIN}x etcd puts (64 conns)", f"{ratio:.2f}x",
                ratio >= WRITE_RATIO_MIN)
            add(f"{system}: write p99 <= etcd p99 (64 conns)",
                f"{ms(c['wrk']['p99_us'])} ms vs {ms(e['wrk']['p99_us'])} ms",
                c["wrk"]["p99_us"] <= e["wrk"]["p99_us"])
        r = find(data, system, "read", 64)
        if r:
            c, e = r
            ratio = rate(c) / rate(e)
            add(f"{system}: reads >= {READ_RATIO_MIN}x etcd linearizable reads (64 conns)", f"{ratio:.2f}x",
                ratio >= READ_RATIO_MIN)
    if "failover" in data:
        f = data["failover"]
        add(f"failover < {FAILOVER_S_MAX} s (writes acknowledged again)",
            f"median {f['median_s']:.2f} s, worst {f['max_s']:.2f} s of {len(f['rounds'])}", f["max_s"] < FAILOVER_S_MAX)
    idle = {k: v / 1024 for k, v in data.get("rss_idle_kib", {}).items() if k.startswith("coffer")}
    if idle:
        worst = max(idle.values())
        add(f"idle RSS < {IDLE_RSS_MIB_MAX:.0f} MB per node", f"max {worst:.1f} MiB", worst < IDLE_RSS_MIB_MAX)
    return "\n".join(rows)


def memory(data):
    idle = data.get("rss_idle_kib", {})
    loaded = {}
    for run in data["runs"]:
        for label, kib in run.get("rss_peak_kib", {}).items():
            loaded[label] = max(loaded.get(label, 0), kib)
    rows = ["| process | idle RSS MiB | peak RSS under load MiB |", "|---|---|---|"]
    for label in sorted(set(idle) | set(loaded)):
        rows.append(f"| {label} | {idle.get(label, 0) / 1024:.1f} | {loaded.get(label, 0) / 1024:.1f} |")
    return "\n".join(rows)


def write_path(data):
    """Coffer's own histograms over the measured runs: commits per request and mean times."""
    m = data.get("coffer_metrics")
    if not m:
        return ""
    req_n = m.get("coffer_http_request_duration_seconds_count", 0)
    commit_n = m.get("coffer_raft_commit_seconds_count", 0)
    apply_n = m.get("coffer_raft_apply_seconds_count", 0)
    lines = []
    if req_n:
        lines.append(f"- requests served by the active node: {req_n:.0f}, mean "
                     f"{1000 * m['coffer_http_request_duration_seconds_sum'] / req_n:.2f} ms")
    if commit_n:
        lines.append(f"- Raft writes (one per storage put/delete): {commit_n:.0f}, mean "
                     f"{1000 * m['coffer_raft_commit_seconds_sum'] / commit_n:.2f} ms from propose to applied")
    if apply_n:
        lines.append(f"- state-machine apply calls: {apply_n:.0f}, mean "
                     f"{1000 * m['coffer_raft_apply_seconds_sum'] / apply_n:.3f} ms each")
    return "\n".join(lines)


def profile(data):
    p, a = data.get("profile"), data.get("profile_audit")
    if not p:
        return "perf was not available: no profile."
    rows = [f"On-CPU samples of the active node (perf, cpu-clock, 499 Hz, dwarf stacks) during a 12 s, "
            f"64-connection write run without audit ({p['samples']} samples) and with the file audit "
            f"device ({a['samples'] if a else 0}); each sample goes to the first bucket (in this order) "
            "whose patterns its stack matches (bench/profile_split.py):", "",
            "| bucket | no audit | file audit |", "|---|---|---|"]
    with_audit = dict(a["buckets"]) if a else {}
    names = [n for n, _ in p["buckets"]] + [n for n in with_audit if n not in dict(p["buckets"])]
    for name in names:
        share, share_a = dict(p["buckets"]).get(name, 0), with_audit.get(name, 0)
        rows.append(f"| {name} | {100 * share:.1f}% | {100 * share_a:.1f}% |")
    for label, prof in (("no audit", p), ("file audit", a)):
        if prof:
            rows.append("")
            rows.append(f"Top leaf functions ({label}): " +
                        ", ".join(f"`{name}` {100 * share:.1f}%" for name, share in prof["top_leaves"]))
    return "\n".join(rows)


def others(data):
    lines = []
    if "failover" in data:
        f = data["failover"]
        rounds = "; ".join(f"{r['new_active_s']:.2f} s / {r['writes_resumed_s']:.2f} s" for r in f["rounds"])
        lines.append(f"- failover: SIGKILL of the active node while {f['threads']} clients write through the "
                     f"standbys, {len(f['rounds'])} rounds (new active node / first write issued after the kill "
                     f"acknowledged): {rounds}")
    if "autounseal" in data:
        a = data["autounseal"]
        lines.append(f"- auto-unseal restart (awskms on moto_server, one raft node holding {a['keys']} secrets): "
                     f"process start to `sys/health` 200 in {a['median_s']:.2f} s median "
                     f"({', '.join(f'{t:.2f}' for t in a['restarts_s'])})")
    return "\n".join(lines)


def render(data):
    m = data.get("machine", {})
    loads = [r["load1"] for r in data["runs"]]
    return "\n\n".join(part for part in [
        f"Run of {m.get('date', '?')} at commit `{m.get('commit', '?')}` on {m.get('cpu', '?')}, "
        f"{m.get('cores', '?')} cores, {m.get('mem_gib', '?')} GiB, Linux {m.get('kernel', '?')}; "
        f"etcd {m.get('etcd', '?')}, wrk {m.get('wrk', '?')} ({m.get('wrk_threads', '?')} threads, "
        f"{m.get('duration_s', '?')} s a run). 1-minute load average when runs started: "
        f"{min(loads, default=0):.1f}–{max(loads, default=0):.1f} (the machine is shared; wrk and both clusters "
        "run on the same cores).",
        "### Throughput and latency\n\n" + table(data),
        "### Goals\n\n" + goals(data),
        "### Memory\n\n" + memory(data),
        "### Failover and restart\n\n" + others(data),
        "### Where a write's time goes\n\n" + write_path(data) + "\n\n" + profile(data),
    ] if part)


def write(results, out):
    data = load(results)
    text = render(data)
    print(text)
    path = Path(out)
    old = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in old:
        old = old.rstrip("\n") + f"\n\n## Latest run\n\n{BEGIN}\n{END}\n"
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: f"{BEGIN}\n{text}\n{END}", old, flags=re.S)
    path.write_text(new)
