"""How Coffer's cost grows with the number of stored secrets: the `keys` part of bench/run.sh.

On a fresh three-node cluster of its own, the run loads KV v2 secrets (100-byte values, through
wrk at 64 connections) up to each of the given counts. At each count it measures a 64-connection
write cell (new keys) and a read cell of random stored keys. At the last count it also measures
what a large store costs an operator:
- each node's RSS and data directory size, against the encrypted data (the snapshot's pairs);
- snapshot save (`GET sys/storage/raft/snapshot`) and restore (`POST`) times;
- restart of a standby to serving (process start to an unsealed standby that answers a read);
- a new, empty node's join: process start to a voter whose applied index has reached the
  leader's (it catches up by a Raft snapshot, since the leader's log has been compacted).

Prints one JSON object on stdout; chatter on stderr.
"""
import base64
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from bench import call, coffer_form_nodes, health, log, rss_kib, wait_until

HERE = Path(__file__).resolve().parent
THREADS = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One `coffer server` process with raft storage under `work/<name>-data`."""

    def __init__(self, binary, work, name, log_level="warn"):
        self.binary, self.name = binary, name
        self.port, self.cport = free_port(), free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.data = work / f"{name}-data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.config = work / f"{name}.hcl"
        self.config.write_text(f'''
storage "raft" {{
  path    = "{self.data}"
  node_id = "{name}"
}}
listener "tcp" {{
  address         = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{self.cport}"
  tls_disable     = true
}}
api_addr      = "{self.addr}"
cluster_addr  = "http://127.0.0.1:{self.cport}"
disable_mlock = true
''' + (f'log_level     = "{log_level}"\n' if log_level else ""))
        self.log = work / f"{name}.log"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "server", f"-config={self.config}"], stdin=subprocess.DEVNULL,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        return time.monotonic()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def disk_bytes(self):
        return sum(f.stat().st_size for f in self.data.rglob("*") if f.is_file())

    def applied_index(self):
        """The node's own Raft applied index (`sys/leader`, answered by every node itself)."""
        return requests.get(f"{self.addr}/v1/sys/leader", timeout=5).json().get("raft_applied_index", 0)


def wrk(script, url, conns, seconds, *args):
    out = subprocess.run(["wrk", f"-t{THREADS}", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s",
                          "-s", str(HERE / "lua" / script), url, "--", *map(str, args)],
                         check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith('{"requests"'))
    return json.loads(line)


def cell(result):
    rate = result["requests"] / (result["duration_us"] / 1e6)
    return {"rate": round(rate, 1), "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
            "errors": result["non2xx"] + result["socket_errors"]}


def load(leader, token, stored, total, work):
    """Write secrets g-<t>-<i> for stored / THREADS <= i < total / THREADS through wrk at 64
    connections (coffer_load.lua). Returns the seconds it took."""
    markers = work / "load-done-"
    for t in range(THREADS):
        Path(f"{markers}{t}").unlink(missing_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(["wrk", f"-t{THREADS}", "-c64", "-d3600s", "--timeout", "30s", "-s",
                             str(HERE / "lua" / "coffer_load.lua"), leader, "--", token,
                             str(stored // THREADS), str(total // THREADS), str(markers)],
                            stdout=subprocess.PIPE, text=True)
    wait_until(lambda: all(Path(f"{markers}{t}").exists() for t in range(THREADS)) or proc.poll() is not None,
               timeout=3600, what=f"{total} secrets stored", interval=0.1)
    seconds = time.monotonic() - started
    proc.send_signal(signal.SIGINT)  # wrk prints its summary and exits
    out, _ = proc.communicate(timeout=60)
    result = json.loads(next(l for l in out.splitlines() if l.startswith('{"requests"')))
    errors = result["non2xx"] + result["socket_errors"]
    if errors:
        raise RuntimeError(f"loading {total} secrets: {errors} errors")
    return seconds


def encrypted_bytes(archive):
    """The stored bytes of an archive's pairs (key + value), which is what the barrier holds."""
    total = 0
    with open(archive, "rb") as f:
        f.readline(), f.readline()  # magic, header
        for line in f:
            pair = json.loads(line)
            total += len(pair["k"]) + len(base64.b64decode(pair["v"]))
    return total


def operator_costs(nodes, leader, token, key, work, binary):
    """At the largest count: memory, disk, snapshot save/restore, restart, join. A step that
    fails is recorded in "errors" (what a run found out) and the next steps still run."""
    out = {"rss_mib": [round(rss_kib(n.proc.pid) / 1024, 1) for n in nodes],
           "disk_mb": [round(n.disk_bytes() / 1e6, 1) for n in nodes]}

    archive = work / "snapshot.bin"
    started = time.monotonic()
    with requests.get(f"{leader}/v1/sys/storage/raft/snapshot", headers={"X-Vault-Token": token},
                      stream=True, timeout=600) as r:
        r.raise_for_status()
        with open(archive, "wb") as f:
            for chunk in r.iter_content(1 << 20):
                f.write(chunk)
    out["snapshot_save_s"] = round(time.monotonic() - started, 2)
    out["snapshot_mb"] = round(archive.stat().st_size / 1e6, 1)
    out["encrypted_data_mb"] = round(encrypted_bytes(archive) / 1e6, 1)
    log(f"keys: snapshot saved in {out['snapshot_save_s']} s, {out['snapshot_mb']} MB")

    out["errors"] = {}

    def step(name, fn):
        try:
            fn()
        except Exception as e:  # recorded: a failed step is a result of the run
            out["errors"][name] = f"{type(e).__name__}: {e}"[:300]
            log(f"keys: {name} failed: {out['errors'][name]}")

    def restart():
        standby = next(n for n in nodes if n.addr != leader)
        standby.kill()
        started = standby.start()
        wait_until(lambda: health(standby.addr) is not None, timeout=120, what="the restarted node answering",
                   interval=0.01)
        out["restart_answering_s"] = round(time.monotonic() - started, 2)
        call(standby.addr, "PUT", "sys/unseal", json={"key": key})
        wait_until(lambda: health(standby.addr) == 429, timeout=120, what="the restarted node a standby",
                   interval=0.01)
        call(standby.addr, "GET", "secret/data/g-0-0", token=token)
        out["restart_serving_s"] = round(time.monotonic() - started, 2)
        out["restart_disk_mb"] = round(standby.disk_bytes() / 1e6, 1)
        log(f"keys: standby restarted and serving in {out['restart_serving_s']} s")

    def join():
        joiner = Node(binary, work, "g4")
        target = next(n for n in nodes if n.addr == leader).applied_index()
        started = joiner.start()
        nodes.append(joiner)
        wait_until(lambda: health(joiner.addr) is not None, what="the new node answering")
        call(joiner.addr, "PUT", "sys/storage/raft/join", json={"leader_api_addr": leader})
        call(joiner.addr, "PUT", "sys/unseal", json={"key": key})

        def caught_up():
            try:
                return health(joiner.addr) == 429 and joiner.applied_index() >= target
            except requests.RequestException:
                return False

        wait_until(caught_up, timeout=600, what="the new node caught up", interval=0.1)
        out["join_s"] = round(time.monotonic() - started, 2)
        out["join_rss_mib"] = round(rss_kib(joiner.proc.pid) / 1024, 1)
        log(f"keys: a new node joined and caught up in {out['join_s']} s")

    def restore():
        started = time.monotonic()
        with open(archive, "rb") as f:
            r = requests.post(f"{leader}/v1/sys/storage/raft/snapshot", headers={"X-Vault-Token": token},
                              data=f, timeout=1200)
        if r.status_code >= 400:
            raise RuntimeError(f"snapshot restore: {r.status_code} {r.text[:300]}")
        out["snapshot_restore_s"] = round(time.monotonic() - started, 2)
        log(f"keys: snapshot restored in {out['snapshot_restore_s']} s")

    step("restart", restart)
    step("join", join)
    step("restore", restore)
    return out


def run(args):
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    nodes = [Node(args.bin, work, f"g{i}") for i in (1, 2, 3)]
    try:
        for n in nodes:
            n.start()
        token, key = coffer_form_nodes([n.addr for n in nodes], "bench-read")
        leader = nodes[0].addr
        counts, stored = sorted(args.counts), 0
        rows = []
        for count in counts:
            seconds = load(leader, token, stored, count, work)
            log(f"keys: {count} stored ({count - stored} written in {seconds:.0f} s)")
            stored = count
            write = cell(wrk("coffer_write.lua", leader, 64, args.seconds, token, f"gw{count}"))
            read = cell(wrk("coffer_read_random.lua", leader, 64, args.seconds, token, count // THREADS))
            rows.append({"keys": count, "load_s": round(seconds, 1), "write": write, "read": read,
                         "rss_mib": round(max(rss_kib(n.proc.pid) for n in nodes) / 1024, 1),
                         "disk_mb": round(max(n.disk_bytes() for n in nodes) / 1e6, 1)})
            log(f"keys {count}: {rows[-1]}")
        result = {"rows": rows, "largest": operator_costs(nodes, leader, token, key, work, args.bin)}
        result["largest"]["keys"] = counts[-1]
        print(json.dumps(result))
    finally:
        for n in nodes:
            n.kill()


def main():
    import argparse

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--seconds", type=int, default=10, help="length of each write and read cell")
    p.add_argument("counts", nargs="+", type=int, help="stored secrets to measure at, e.g. 10000 100000 1000000")
    run(p.parse_args())


if __name__ == "__main__":
    main()
