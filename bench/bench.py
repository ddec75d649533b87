"""The Python half of bench/run.sh: the parts that speak JSON. run.sh starts the processes and
runs wrk; this forms the Coffer cluster, finds leaders, measures failover, auto-unseal restart
and RSS, sorts a perf profile into where the time goes, and prints/writes the results.

Every subcommand prints what run.sh needs on stdout (one value, or JSON) and its chatter on
stderr. Only loopback addresses are ever contacted.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import report  # noqa: E402  (bench/report.py: the table and RESULTS.md)
import profile_split  # noqa: E402  (bench/profile_split.py: perf samples → cost buckets)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def wait_until(check, timeout=60.0, what="condition", interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def health(addr):
    try:
        return requests.get(f"{addr}/v1/sys/health", timeout=2).status_code
    except requests.RequestException:
        return None


def call(addr, method, path, token=None, **kwargs):
    headers = {"X-Vault-Token": token} if token else {}
    r = requests.request(method, f"{addr}/v1/{path}", headers=headers, timeout=30, **kwargs)
    if r.status_code >= 400:
        raise RuntimeError(f"{method} {path} on {addr}: {r.status_code} {r.text[:300]}")
    return r.json() if r.content else None


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- Coffer cluster ------------------------------------------------------------------------

def coffer_form_nodes(addrs, read_key):
    """Init the first node (one share), join the others, unseal all, mount KV v2 at secret/ and
    write the key the read benchmark reads. Returns (root token, unseal key)."""
    n1, *others = addrs
    for addr in addrs:
        wait_until(lambda: health(addr) is not None, what=f"{addr} answering")
    init = call(n1, "PUT", "sys/init", json={"secret_shares": 1, "secret_threshold": 1})
    key, root = init["keys"][0], init["root_token"]
    call(n1, "PUT", "sys/unseal", json={"key": key})
    wait_until(lambda: health(n1) == 200, what="node 1 active")
    for addr in others:
        call(addr, "PUT", "sys/storage/raft/join", json={"leader_api_addr": n1})
        call(addr, "PUT", "sys/unseal", json={"key": key})
        wait_until(lambda: health(addr) == 429, what=f"{addr} an unsealed standby")

    def voters():
        servers = call(n1, "GET", "sys/storage/raft/configuration", token=root)["data"]["config"]["servers"]
        return len(servers) == len(addrs) and all(s["voter"] for s in servers)

    wait_until(voters, what="all voters")
    call(n1, "POST", "sys/mounts/secret", token=root, json={"type": "kv", "options": {"version": "2"}})
    call(n1, "POST", f"secret/data/{read_key}", token=root, json={"data": {"v": "v" * 100}})
    log(f"coffer: {len(addrs)} nodes, active {n1}")
    return root, key


def coffer_form(args):
    """coffer_form_nodes for run.sh: keeps the unseal key in a file, prints the root token."""
    root, key = coffer_form_nodes(args.addrs, args.read_key)
    Path(args.key_file).write_text(key)
    print(root)


def coffer_active(args):
    """Print the address of the node whose sys/health answers 200 (the active node)."""
    print(wait_until(lambda: next((a for a in args.addrs if health(a) == 200), None), what="an active node"))


def coffer_audit(args):
    """Enable a file audit device on the cluster (through the active node)."""
    call(args.addr, "PUT", "sys/audit/file", token=args.token,
         json={"type": "file", "options": {"file_path": args.file}})


# --- etcd ----------------------------------------------------------------------------------

def etcd_status(endpoint):
    r = requests.post(f"{endpoint}/v3/maintenance/status", json={}, timeout=2)
    r.raise_for_status()
    return r.json()


def etcd_leader(args):
    """Print the client URL of the etcd member that leads (and write the read key through it)."""
    def find():
        for ep in args.endpoints:
            try:
                s = etcd_status(ep)
            except requests.RequestException:
                continue
            if s.get("leader") and s["header"]["member_id"] == s["leader"]:
                return ep
        return None

    leader = wait_until(find, what="an etcd leader")
    import base64
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    requests.post(f"{leader}/v3/kv/put", json={"key": b64(args.read_key), "value": b64("v" * 100)},
                  timeout=10).raise_for_status()
    print(leader)


# --- resident memory -----------------------------------------------------------------------

def rss(args):
    """Print {"label": kib, ...} for label=pid pairs, now."""
    out = {}
    for pair in args.pids:
        label, pid = pair.split("=")
        out[label] = rss_kib(int(pid))
    print(json.dumps(out))


def rss_peak(args):
    """Sample label=pid pairs every 0.2 s for `seconds`; print the peak of each."""
    pids = dict(p.split("=") for p in args.pids)
    peak = {label: 0 for label in pids}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for label, pid in pids.items():
            try:
                peak[label] = max(peak[label], rss_kib(int(pid)))
            except FileNotFoundError:
                pass
        time.sleep(0.2)
    print(json.dumps(peak))


# --- failover ------------------------------------------------------------------------------

def failover_once(nodes, token, threads, warmup, sig):
    """Write through the standbys with `threads` clients; send `sig` to the active node (SIGKILL:
    a crash; SIGTERM: a graceful stop, as on a rolling update); return the time from the signal
    until a node answers sys/health 200 and until a write issued after the signal is
    acknowledged, the longest gap between acknowledged writes around it, and the client errors.
    `nodes`: addr -> pid."""
    active = next(a for a in nodes if health(a) == 200)
    standbys = [a for a in nodes if a != active]
    stop = threading.Event()
    acks = []  # (issued, acknowledged), monotonic seconds
    errors = []  # monotonic seconds of each failed request (an error status or no answer)
    lock = threading.Lock()

    def writer(i):
        session = requests.Session()
        n = 0
        while not stop.is_set():
            via = standbys[(i + n) % len(standbys)]
            n += 1
            issued = time.monotonic()
            try:
                r = session.post(f"{via}/v1/secret/data/failover-{i}-{n}-{issued}", timeout=5,
                                 headers={"X-Vault-Token": token}, json={"data": {"v": "v" * 100}})
                ok = r.status_code in (200, 204)
            except requests.RequestException:
                ok = False
            with lock:
                if ok:
                    acks.append((issued, time.monotonic()))
                else:
                    errors.append(time.monotonic())
            if not ok:
                time.sleep(0.005)

    workers = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(threads)]
    for t in workers:
        t.start()
    time.sleep(warmup)
    before = len(acks)
    signalled_at = time.monotonic()
    os.kill(nodes[active], sig)
    wait_until(lambda: any(health(a) == 200 for a in standbys), timeout=60, what="a new active node",
               interval=0.01)
    active_at = time.monotonic()

    def first_ack_after_signal():
        with lock:
            after = [done for issued, done in acks if issued >= signalled_at]
        return min(after) if after else None

    resumed = wait_until(first_ack_after_signal, timeout=60, what="a write acknowledged after the signal")
    time.sleep(1.0)  # a second of writes after the new leader, for the gap and error counts
    stop.set()
    for t in workers:
        t.join(timeout=10)
    window = sorted(done for _, done in acks if signalled_at - 1.0 <= done)
    gap = max((b - a for a, b in zip(window, window[1:])), default=0.0)
    wait_until(lambda: not Path(f"/proc/{nodes[active]}").exists() or
               Path(f"/proc/{nodes[active]}/stat").read_text().split()[2] == "Z",
               timeout=60, what="the signalled node gone")
    return active, {"writes_before": before, "new_active_s": round(active_at - signalled_at, 3),
                    "writes_resumed_s": round(resumed - signalled_at, 3), "longest_gap_ms": round(1000 * gap),
                    "client_errors": sum(1 for t in errors if t >= signalled_at - 1.0)}


def failover(args):
    """`rounds` times: signal the active node under write load (see failover_once), then restart
    it, unseal it and wait until it is a standby again. Prints the rounds, their median and
    worst, and each address's pid now (for run.sh to signal and stop)."""
    key = Path(args.key_file).read_text().strip()
    sig = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM}[args.signal]
    nodes, configs = {}, {}
    for spec in args.nodes:  # addr=pid=config
        addr, pid, config = spec.split("=", 2)
        nodes[addr], configs[addr] = int(pid), config
    rounds = []
    for _ in range(args.rounds):
        killed, result = failover_once(nodes, args.token, args.threads, args.warmup, sig)
        log(f"failover (SIG{args.signal}): {result}")
        rounds.append(result)
        log_file = open(Path(configs[killed]).with_suffix(".log"), "ab")
        proc = subprocess.Popen([args.bin, "server", f"-config={configs[killed]}"], stdin=subprocess.DEVNULL,
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        nodes[killed] = proc.pid
        wait_until(lambda: health(killed) is not None, what="the signalled node answering again")
        call(killed, "PUT", "sys/unseal", json={"key": key})
        wait_until(lambda: health(killed) == 429, what="the signalled node a standby again")
    resumed = [r["writes_resumed_s"] for r in rounds]
    gaps = [r["longest_gap_ms"] for r in rounds]
    print(json.dumps({"signal": args.signal, "threads": args.threads, "rounds": rounds,
                      "median_s": statistics.median(resumed), "max_s": max(resumed), "max_gap_ms": max(gaps),
                      "client_errors": sum(r["client_errors"] for r in rounds), "pids": nodes}))


def idle_rss(args):
    """One raft node per binary, each initialised, unsealed and holding a KV v2 mount, left idle
    for `settle` seconds: prints {"<label>": RSS KiB} (label=binary pairs)."""
    out = {}
    for spec in args.binaries:
        label, binary = spec.split("=", 1)
        work = Path(args.dir) / label
        work.mkdir(parents=True, exist_ok=True)
        import growth  # noqa: PLC0415 (growth imports this module)
        node = growth.Node(binary, work, label)
        node.start()
        try:
            coffer_form_nodes([node.addr], "idle")
            time.sleep(args.settle)  # idle on purpose: what a node holds when nothing happens
            out[label] = rss_kib(node.proc.pid)
        finally:
            node.kill()
    print(json.dumps(out))


# --- auto-unseal restart ---------------------------------------------------------------------

def autounseal(args):
    """One raft node sealed by AWS KMS (moto_server as the KMS): init, write `keys` secrets,
    then `restarts` times SIGKILL it and time process start → sys/health 200. Prints JSON."""
    import boto3

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    moto_server = Path(sys.executable).parent / "moto_server"
    moto = subprocess.Popen([str(moto_server), "-H", "127.0.0.1", "-p", str(args.kms_port)],
                            stdout=open(work / "moto.log", "ab"), stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{args.kms_port}"
    node = None
    try:
        wait_until(lambda: _answers(endpoint), what="moto")
        kms = boto3.client("kms", region_name="us-east-1", endpoint_url=endpoint,
                           aws_access_key_id="test", aws_secret_access_key="test")
        key_id = kms.create_key(Description="coffer bench")["KeyMetadata"]["KeyId"]
        addr = f"http://127.0.0.1:{args.port}"
        config = work / "kms.hcl"
        config.write_text(f'''
storage "raft" {{
  path    = "{work / 'kms-data'}"
  node_id = "kms1"
}}
listener "tcp" {{
  address         = "127.0.0.1:{args.port}"
  cluster_address = "127.0.0.1:{args.cluster_port}"
  tls_disable     = true
}}
seal "awskms" {{
  region     = "us-east-1"
  kms_key_id = "{key_id}"
  endpoint   = "{endpoint}"
  access_key = "test"
  secret_key = "test"
}}
api_addr     = "{addr}"
cluster_addr = "http://127.0.0.1:{args.cluster_port}"
disable_mlock = true
''')

        def start():
            return subprocess.Popen([args.bin, "server", f"-config={config}"],
                                    stdout=open(work / "kms-node.log", "ab"), stderr=subprocess.STDOUT)

        node = start()
        wait_until(lambda: health(addr) is not None, what="the kms node answering")
        root = call(addr, "PUT", "sys/init", json={"recovery_shares": 1, "recovery_threshold": 1})["root_token"]
        wait_until(lambda: health(addr) == 200, what="the kms node active")
        call(addr, "POST", "sys/mounts/secret", token=root, json={"type": "kv", "options": {"version": "2"}})
        session = requests.Session()
        for i in range(args.keys):
            session.post(f"{addr}/v1/secret/data/k{i}", headers={"X-Vault-Token": root},
                         json={"data": {"v": "v" * 100}}, timeout=30).raise_for_status()
        times = []
        for _ in range(args.restarts):
            node.send_signal(signal.SIGKILL)
            node.wait()
            started = time.monotonic()
            node = start()
            wait_until(lambda: health(addr) == 200, what="auto-unsealed and active", interval=0.005)
            times.append(time.monotonic() - started)
        result = {"keys": args.keys, "restarts_s": [round(t, 3) for t in times],
                  "median_s": round(statistics.median(times), 3), "rss_kib": rss_kib(node.pid)}
        log(f"auto-unseal restart: {result}")
        print(json.dumps(result))
    finally:
        for proc in (node, moto):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _answers(endpoint):
    try:
        return requests.get(endpoint, timeout=1).status_code < 500
    except requests.RequestException:
        return False


# --- Coffer's own view of a run: request and raft histograms ------------------------------------

def coffer_metrics(args):
    """Print sums and counts of Coffer's request, commit and apply histograms (JSON)."""
    text = requests.get(f"{args.addr}/v1/sys/metrics", params={"format": "prometheus"},
                        headers={"X-Vault-Token": args.token}, timeout=10).text
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, value = line.rsplit(" ", 1)
        name = name_labels.split("{")[0]
        if name.endswith("_sum") or name.endswith("_count"):
            out[name] = out.get(name, 0.0) + float(value)
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("coffer-form")
    s.add_argument("--read-key", required=True)
    s.add_argument("--key-file", required=True, help="where to keep the unseal key")
    s.add_argument("addrs", nargs=3)
    s.set_defaults(fn=coffer_form)

    s = sub.add_parser("coffer-active")
    s.add_argument("addrs", nargs="+")
    s.set_defaults(fn=coffer_active)

    s = sub.add_parser("coffer-audit")
    s.add_argument("--addr", required=True)
    s.add_argument("--token", required=True)
    s.add_argument("--file", required=True)
    s.set_defaults(fn=coffer_audit)

    s = sub.add_parser("coffer-metrics")
    s.add_argument("--addr", required=True)
    s.add_argument("--token", required=True)
    s.set_defaults(fn=coffer_metrics)

    s = sub.add_parser("etcd-leader")
    s.add_argument("--read-key", required=True)
    s.add_argument("endpoints", nargs="+")
    s.set_defaults(fn=etcd_leader)

    s = sub.add_parser("rss")
    s.add_argument("pids", nargs="+", help="label=pid")
    s.set_defaults(fn=rss)

    s = sub.add_parser("rss-peak")
    s.add_argument("--seconds", type=float, required=True)
    s.add_argument("pids", nargs="+", help="label=pid")
    s.set_defaults(fn=rss_peak)

    s = sub.add_parser("failover")
    s.add_argument("--token", required=True)
    s.add_argument("--bin", required=True)
    s.add_argument("--key-file", required=True)
    s.add_argument("--threads", type=int, default=16)
    s.add_argument("--warmup", type=float, default=3.0)
    s.add_argument("--rounds", type=int, default=5)
    s.add_argument("--signal", choices=["KILL", "TERM"], default="KILL")
    s.add_argument("nodes", nargs=3, help="addr=pid=config")
    s.set_defaults(fn=failover)

    s = sub.add_parser("idle-rss")
    s.add_argument("--dir", required=True)
    s.add_argument("--settle", type=float, default=5.0)
    s.add_argument("binaries", nargs="+", help="label=binary")
    s.set_defaults(fn=idle_rss)

    s = sub.add_parser("autounseal")
    s.add_argument("--bin", required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--cluster-port", type=int, required=True)
    s.add_argument("--kms-port", type=int, required=True)
    s.add_argument("--keys", type=int, default=1000)
    s.add_argument("--restarts", type=int, default=3)
    s.set_defaults(fn=autounseal)

    s = sub.add_parser("profile")
    s.add_argument("--perf-data", required=True)
    s.set_defaults(fn=lambda a: print(json.dumps(profile_split.split(a.perf_data))))

    s = sub.add_parser("report")
    s.add_argument("--results", required=True, help="the run's results.jsonl")
    s.add_argument("--out", required=True, help="RESULTS.md to update")
    s.set_defaults(fn=lambda a: report.write(a.results, a.out))

    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
