"""Why Coffer's figures depend on the harness: the `harness` part of bench/run.sh.

A second harness (three nodes from plain configs, no warm-up, static wrk requests) once measured
Coffer's reads at about half of what bench/run.sh measures. This runs, on fresh three-node
clusters, the same 64-connection single-key read with a static wrk request (no Lua) in the ways
such a harness can differ from bench/run.sh, each next to the others in one run:
- `leader, log_level warn`: what bench/run.sh does;
- `standby, log_level warn`: the request sent to a standby, which forwards it to the active node;
- `leader, no log_level`: a plain config, so the default level (info);
- `leader, log_level warn, first seconds`: the first cell after the cluster formed.

Prints one JSON object on stdout; chatter on stderr.
"""
import argparse
import json
import subprocess
from pathlib import Path

from bench import coffer_form_nodes, log
from growth import Node


def static_read(addr, token, seconds):
    """wrk without a script: one request, sent again and again (as a simple harness does)."""
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "-H", f"X-Vault-Token: {token}",
                          f"{addr}/v1/secret/data/bench-read"], check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("Requests/sec:"))
    return round(float(line.split()[1]), 1)


def cluster(binary, work, log_level):
    nodes = [Node(binary, work, f"h{i}", log_level) for i in (1, 2, 3)]
    for n in nodes:
        n.start()
    token, _ = coffer_form_nodes([n.addr for n in nodes], "bench-read")
    return nodes, token


def run(args):
    out = {}
    for log_level in ("warn", None):
        work = Path(args.dir) / (log_level or "default")
        work.mkdir(parents=True, exist_ok=True)
        nodes, token = cluster(args.bin, work, log_level)
        try:
            level = f"log_level {log_level}" if log_level else "no log_level"
            if log_level:
                out[f"leader, {level}, first cell"] = static_read(nodes[0].addr, token, args.seconds)
            out[f"leader, {level}"] = static_read(nodes[0].addr, token, args.seconds)
            if log_level:
                out[f"standby, {level}"] = static_read(nodes[1].addr, token, args.seconds)
        finally:
            for n in nodes:
                n.kill()
        log(f"harness: {out}")
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--seconds", type=int, default=10)
    run(p.parse_args())


if __name__ == "__main__":
    main()
