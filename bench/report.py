"""The table bench/run.sh prints, and the generated part of bench/RESULTS.md.

Input: the run's results.jsonl, one JSON object a line: {"machine"}, {"rss_idle_kib"}, one
line per wrk run ({"system", "workload", "connections", "load1", "wrk", "rss_peak_kib",
"cpu_s": user + system CPU seconds of the system's three processes during the run}),
{"coffer_metrics"}, {"profile"}, {"failover"} (SIGKILL), {"handoff"} (SIGTERM), {"autounseal"},
{"idle_rss_patched"}, {"harness"}, {"growth"}. A wrk run line may carry "phase" ("cold": right after the
cluster formed, before any warm-up; "warm" otherwise), "round" and "value_bytes".
Each Coffer run is compared with the etcd run of the same workload and connections just before
it (they ran back to back); a goal takes the median over the rounds of that comparison.
"""
import statistics
import json
import re
from pathlib import Path

BEGIN = "<!-- bench/run.sh: generated from here -->"
END = "<!-- bench/run.sh: generated up to here -->"

# The goals of issue 24 (ratios are Coffer / etcd in the same run).
WRITE_RATIO_MIN = 1.5
AUDIT_WRITE_RATIO_MIN = 1.2
AUDIT_READ_RATIO_MIN = 2.0
READ_RATIO_MIN = 2.5
FAILOVER_S_MAX = 1.5
HANDOFF_GAP_MS_MAX = 300
IDLE_RSS_MIB_MAX = 40.0
RESTART_S_MAX = 5.0
DISK_RATIO_MAX = 2.0
JOIN_S_MAX = 60.0


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
        cell = (run["workload"], run["connections"], run.get("value_bytes", 100), run.get("phase", "warm"))
        if run["system"] == "etcd":
            last_etcd[cell] = run
        elif cell in last_etcd:
            yield run, last_etcd[cell]


def table(data):
    head = ("| Coffer setup | phase, round | workload | conns | Coffer req/s | p50 ms | p99 ms | etcd req/s "
            "| p50 ms | p99 ms | req/s ratio | p99 ratio | CPU ms/req C/e | errors C/e |")
    rows = [head, "|" + "---|" * 14]
    for c, e in pairs(data["runs"]):
        if c.get("phase") == "size":
            continue  # the value-size table
        cw, ew = c["wrk"], e["wrk"]
        errors = f"{cw['non2xx'] + cw['socket_errors']}/{ew['non2xx'] + ew['socket_errors']}"
        rows.append(
            f"| {c['system']} | {c.get('phase', 'warm')}, {c.get('round', 1)} | {c['workload']} | {c['connections']} "
            f"| {rate(c):.0f} | {ms(cw['p50_us'])} | {ms(cw['p99_us'])} | {rate(e):.0f} | {ms(ew['p50_us'])} "
            f"| {ms(ew['p99_us'])} | {rate(c) / rate(e):.2f}x | {cw['p99_us'] / max(ew['p99_us'], 1):.2f} "
            f"| {cpu_per_request(c)}/{cpu_per_request(e)} | {errors} |")
    return "\n".join(rows)


def cpu_per_request(run):
    """CPU time of all three processes of the system during the run, per request (ms)."""
    if "cpu_s" not in run or not run["wrk"]["requests"]:
        return "-"
    return f"{1000 * run['cpu_s'] / run['wrk']['requests']:.3f}"


def cell(data, system, workload, conns, phase="warm"):
    """The rounds of one cell: (median req/s ratio, median Coffer p99 us, median etcd p99 us, n),
    or None when the run has no such cell."""
    found = [(c, e) for c, e in pairs(data["runs"])
             if (c["system"], c["workload"], c["connections"], c.get("phase", "warm"), c.get("value_bytes", 100))
             == (system, workload, conns, phase, 100)]
    if not found:
        return None
    return (statistics.median(rate(c) / rate(e) for c, e in found),
            statistics.median(c["wrk"]["p99_us"] for c, _ in found),
            statistics.median(e["wrk"]["p99_us"] for _, e in found), len(found))


def goals(data):
    rows = ["| goal | measured | met |", "|---|---|---|"]

    def add(goal, measured, met):
        rows.append(f"| {goal} | {measured} | {'met' if met else '**not met**'} |")

    def throughput(system, workload, conns, least, phase="warm", p99=False):
        found = cell(data, system, workload, conns, phase)
        if not found:
            return
        ratio, c99, e99, n = found
        label = f"{system}{' (cold start)' if phase == 'cold' else ''}: {workload}s at {conns} connections"
        of = f"median of {n}" if n > 1 else "one run"
        add(f"{label} >= {least}x etcd", f"{ratio:.2f}x ({of})", ratio >= least)
        if p99:
            add(f"{label}: p99 <= etcd's", f"{ms(c99)} vs {ms(e99)} ms", c99 <= e99)

    for phase in ("warm", "cold"):
        for conns in (64, 16):
            throughput("coffer", "write", conns, WRITE_RATIO_MIN, phase, p99=True)
        throughput("coffer", "read", 64, READ_RATIO_MIN, phase)
    throughput("coffer+audit", "write", 64, AUDIT_WRITE_RATIO_MIN)
    throughput("coffer+audit", "read", 64, AUDIT_READ_RATIO_MIN)
    if "failover" in data:
        f = data["failover"]
        add(f"failover after SIGKILL: worst of {len(f['rounds'])} < {FAILOVER_S_MAX} s",
            f"worst {f['max_s']:.2f} s, median {f['median_s']:.2f} s", f["max_s"] < FAILOVER_S_MAX)
    if "handoff" in data:
        h = data["handoff"]
        add(f"graceful stop (SIGTERM): longest gap in acknowledged writes < {HANDOFF_GAP_MS_MAX} ms",
            f"worst {h['max_gap_ms']} ms of {len(h['rounds'])}", h["max_gap_ms"] < HANDOFF_GAP_MS_MAX)
        add("graceful stop (SIGTERM): no client error", f"{h['client_errors']} errors", h["client_errors"] == 0)
    idle = {k: v / 1024 for k, v in data.get("rss_idle_kib", {}).items() if k.startswith("coffer")}
    if idle:
        worst = max(idle.values())
        add(f"idle RSS < {IDLE_RSS_MIB_MAX:.0f} MB per node", f"max {worst:.1f} MiB", worst < IDLE_RSS_MIB_MAX)
    patched = data.get("idle_rss_patched")
    if idle and patched and "stock" in patched and "patched" in patched:
        saved = (patched["stock"] - patched["patched"]) / 1024
        worst = max(idle.values()) - saved
        add(f"idle RSS < {IDLE_RSS_MIB_MAX:.0f} MB per node with the base2histogram patch (bench/patches)",
            f"max {worst:.1f} MiB (one node: {patched['stock'] / 1024:.1f} → {patched['patched'] / 1024:.1f} MiB)",
            worst < IDLE_RSS_MIB_MAX)
    largest = data.get("growth", {}).get("largest")
    if largest:
        n = f"{largest['keys']:,} secrets"
        failed = largest.get("errors", {})

        def timed(goal, key, step, limit):
            if key in largest:
                add(goal, f"{largest[key]:.2f} s", largest[key] < limit)
            else:
                add(goal, f"failed: {failed.get(step, 'not measured')}", False)

        timed(f"{n}: restart of a node to serving < {RESTART_S_MAX:.0f} s", "restart_serving_s", "restart",
              RESTART_S_MAX)
        disk = max(largest["disk_mb"]) / largest["encrypted_data_mb"]
        add(f"{n}: on-disk size <= {DISK_RATIO_MAX:.0f}x the encrypted data (plus retained log)",
            f"{max(largest['disk_mb']):.0f} MB for {largest['encrypted_data_mb']:.0f} MB: {disk:.2f}x", disk <= DISK_RATIO_MAX)
        timed(f"{n}: a new node joins and catches up by snapshot < {JOIN_S_MAX:.0f} s", "join_s", "join", JOIN_S_MAX)
    return "\n".join(rows)


def sizes(data):
    """Writes against value size: one 16-connection cell per size, etcd then Coffer."""
    found = sorted(((c["value_bytes"], c, e) for c, e in pairs(data["runs"]) if c.get("phase") == "size"),
                   key=lambda t: t[0])
    if not found:
        return ""
    rows = ["| value | Coffer writes/s | p99 ms | MB/s | etcd puts/s | p99 ms | ratio |", "|---|---|---|---|---|---|---|"]
    for size, c, e in found:
        rows.append(f"| {human(size)} | {rate(c):.0f} | {ms(c['wrk']['p99_us'])} | {rate(c) * size / 1e6:.1f} "
                    f"| {rate(e):.0f} | {ms(e['wrk']['p99_us'])} | {rate(c) / rate(e):.2f}x |")
    return "\n".join(rows)


def human(size):
    return f"{size // 1024} KiB" if size >= 1024 else f"{size} B"


def growth(data):
    g = data.get("growth")
    if not g:
        return ""
    rows = ["| stored secrets | load time s | writes/s | write p99 ms | random reads/s | read p99 ms "
            "| max RSS MiB | max data dir MB |", "|---|---|---|---|---|---|---|---|"]
    for r in g["rows"]:
        rows.append(f"| {r['keys']:,} | {r['load_s']:.0f} | {r['write']['rate']:.0f} | {r['write']['p99_ms']:.1f} "
                    f"| {r['read']['rate']:.0f} | {r['read']['p99_ms']:.1f} | {r['rss_mib']:.0f} | {r['disk_mb']:.0f} |")
    x = g["largest"]

    def get(key, fmt):
        return format(x[key], fmt) if key in x else "—"

    rows += ["", f"At {x['keys']:,} secrets:", "",
             f"- RSS per node {', '.join(f'{v:.0f}' for v in x['rss_mib'])} MiB; data directories "
             f"{', '.join(f'{v:.0f}' for v in x['disk_mb'])} MB, for {x['encrypted_data_mb']:.0f} MB of encrypted "
             "data (the stored keys and ciphertexts, counted from a snapshot)",
             f"- snapshot save {get('snapshot_save_s', '.1f')} s ({get('snapshot_mb', '.0f')} MB archive), "
             f"restore {get('snapshot_restore_s', '.1f')} s",
             f"- a standby SIGKILLed and restarted: answering after {get('restart_answering_s', '.2f')} s, an "
             f"unsealed standby serving a read after {get('restart_serving_s', '.2f')} s; its data directory then "
             f"{get('restart_disk_mb', '.0f')} MB",
             f"- a new empty node: joined, unsealed and caught up (applied index at the leader's) "
             f"{get('join_s', '.1f')} s after its process started; its RSS then {get('join_rss_mib', '.0f')} MiB"]
    for step, error in x.get("errors", {}).items():
        rows.append(f"- **{step} failed**: `{error}`")
    return "\n".join(rows)


def harness(data):
    h = data.get("harness")
    if not h:
        return ""
    etcd = [e for c, e in pairs(data["runs"]) if (c["workload"], c["connections"]) == ("read", 64)]
    etcd_rate = statistics.median(rate(e) for e in etcd) if etcd else None
    rows = ["Static 64-connection reads of one secret (wrk without a script), fresh three-node clusters "
            "(bench/harness.py); the ratio is against the median etcd linearizable read of this run:", "",
            "| setup | Coffer reads/s | vs etcd |", "|---|---|---|"]
    for setup, value in h.items():
        rows.append(f"| {setup} | {value:.0f} | {f'{value / etcd_rate:.2f}x' if etcd_rate else '-'} |")
    return "\n".join(rows)


def plot(data, out_png):
    """bench/growth.png: throughput and p99 against value size and against stored secrets."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    size_rows = sorted(((c["value_bytes"], c, e) for c, e in pairs(data["runs"]) if c.get("phase") == "size"),
                       key=lambda t: t[0])
    g = data.get("growth", {}).get("rows", [])
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    if size_rows:
        xs = [s for s, _, _ in size_rows]
        axes[0][0].plot(xs, [rate(c) for _, c, _ in size_rows], "o-", label="Coffer KV v2 writes")
        axes[0][0].plot(xs, [rate(e) for _, _, e in size_rows], "s--", label="etcd puts")
        axes[1][0].plot(xs, [c["wrk"]["p99_us"] / 1000 for _, c, _ in size_rows], "o-", label="Coffer")
        axes[1][0].plot(xs, [e["wrk"]["p99_us"] / 1000 for _, _, e in size_rows], "s--", label="etcd")
    if g:
        ks = [r["keys"] for r in g]
        axes[0][1].plot(ks, [r["write"]["rate"] for r in g], "o-", label="writes (new keys)")
        axes[0][1].plot(ks, [r["read"]["rate"] for r in g], "^-", label="reads (random stored keys)")
        axes[1][1].plot(ks, [r["write"]["p99_ms"] for r in g], "o-", label="writes")
        axes[1][1].plot(ks, [r["read"]["p99_ms"] for r in g], "^-", label="reads")
    for ax, title, xlabel, ylabel in [
            (axes[0][0], "Throughput against value size (16 connections)", "value bytes", "requests/s"),
            (axes[1][0], "p99 against value size", "value bytes", "p99 ms"),
            (axes[0][1], "Coffer throughput against stored secrets (64 connections)", "stored secrets", "requests/s"),
            (axes[1][1], "Coffer p99 against stored secrets", "stored secrets", "p99 ms")]:
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    m = data.get("machine", {})
    fig.suptitle(f"bench/run.sh at {m.get('commit', '?')}, {m.get('date', '?')}, {m.get('cores', '?')} cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    return True


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
    if "handoff" in data:
        h = data["handoff"]
        rounds = "; ".join(f"{r['writes_resumed_s']:.2f} s / {r['longest_gap_ms']} ms / {r['client_errors']}"
                           for r in h["rounds"])
        lines.append(f"- graceful stop: SIGTERM to the active node while {h['threads']} clients write through the "
                     f"standbys, {len(h['rounds'])} rounds (first write issued after the signal acknowledged / "
                     f"longest gap between acknowledged writes / client errors): {rounds}")
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
        "### Cost against value size\n\n" + sizes(data) if sizes(data) else "",
        "### Cost against stored secrets\n\n" + growth(data) if growth(data) else "",
        "### What the harness changes\n\n" + harness(data) if harness(data) else "",
        "### Failover and restart\n\n" + others(data),
        "### Where a write's time goes\n\n" + write_path(data) + "\n\n" + profile(data),
    ] if part)


def write(results, out):
    data = load(results)
    text = render(data)
    if plot(data, Path(out).with_name("growth.png")):
        text += "\n\n![throughput and p99 against value size and stored secrets](growth.png)"
    print(text)
    path = Path(out)
    old = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in old:
        old = old.rstrip("\n") + f"\n\n## Latest run\n\n{BEGIN}\n{END}\n"
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: f"{BEGIN}\n{text}\n{END}", old, flags=re.S)
    path.write_text(new)
