"""Sort perf samples of the active node into where a write's CPU time goes.

Each sample's stack (from `perf script`) goes to the first bucket, in BUCKETS order, that any of
its frames matches: specific work (fsync, AES-GCM, RocksDB) before the layer that called it
(Raft, the engine, HTTP). Samples that match nothing are "other". This counts on-CPU time only:
time a request spends waiting (for an fsync to finish, for a follower's answer) is not here;
Coffer's own histograms (commit and apply times) show that part.
"""
import re
import subprocess
from collections import Counter

# (bucket, patterns): a sample goes to the first bucket all of whose patterns match one of its
# frames (or, for "comm:", its thread name). Frames are perf's without inlined functions (with
# them, `perf script` takes minutes and generic parameters name every type), so async fns that
# were inlined into their callers are attributed to the nearest named frame.
BUCKETS = [
    ("RocksDB background threads (memtable flush, compaction)", [r"^comm:rocksdb"]),
    ("fsync / fdatasync (CPU part)", [r"fsync|fdatasync|WritableFileWriter::Sync|SyncWAL|jbd2|ext4_sync"]),
    ("encryption (AES-GCM)", [r"aes_gcm|aes::|ghash|polyval|ctr::|aead::"]),
    ("RocksDB: synced writes (Raft log append, vote)", [r"rocksdb", r"coffer_raft::store::Storage::write_synced"]),
    ("RocksDB: unsynced writes (state-machine apply, commit index)", [r"rocksdb", r"coffer_raft::store::Storage::write\b"]),
    ("RocksDB: reads (barrier gets, token lookups)", [r"rocksdb", r"RaftHandle>?::get|RocksEngine as coffer_raft::engine::Engine>::get"]),
    ("RocksDB (other)", [r"rocksdb::|rocksdb_"]),
    ("Raft log/entry encoding (serde_json in raft)", [r"coffer_raft::store::(to_json|from_json)"]),
    ("Raft replication transport (gRPC: tonic/h2/prost)", [r"tonic::|h2::|prost::|coffer_raft::transport"]),
    ("Raft core (openraft, coffer_raft)", [r"openraft|coffer_raft::"]),
    ("audit", [r"coffer_node::audit"]),
    ("ACL (policy evaluation)", [r"coffer_node::policy"]),
    ("token lookup", [r"coffer_node::token"]),
    ("KV v2 engine (JSON of the secret, versions)", [r"coffer_node::engines"]),
    ("barrier (other than AES)", [r"coffer_barrier::"]),
    ("HTTP (hyper, axum, parse/render)", [r"hyper::|hyper_util::|axum::|coffer_node::http"]),
    ("request pipeline (other)", [r"coffer_node::"]),
    ("async runtime (tokio scheduler, wakeups)", [r"tokio::|madsim_tokio|mio::"]),
    ("kernel (network, scheduler, other)", [r"\[kernel\.kallsyms\]"]),
]


def stacks(perf_data):
    """Yield each sample's frames (leaf first) as 'symbol (dso)' strings, after one
    'comm:<thread name>' pseudo-frame."""
    out = subprocess.run(
        ["perf", "script", "-i", perf_data, "-F", "comm,tid,ip,sym,dso", "--no-inline"],
        capture_output=True, text=True, check=False,
    ).stdout
    frames = []
    for line in out.splitlines():
        if not line.strip():
            if frames:
                yield frames
            frames = []
        elif line.startswith(("\t", " ")) and frames is not None:
            parts = line.strip().split(" ", 1)
            frames.append(parts[1] if len(parts) > 1 else parts[0])
        else:  # a sample header: "<thread name> <tid>"
            frames = ["comm:" + line.split()[0]] if line.split() else []
    if frames:
        yield frames


def split(perf_data):
    compiled = [(name, [re.compile(p) for p in patterns]) for name, patterns in BUCKETS]
    counts, leaves = Counter(), Counter()
    total = 0
    for frames in stacks(perf_data):
        total += 1
        leaves[_short(frames[1] if len(frames) > 1 else frames[0])] += 1
        bucket = next((name for name, rxs in compiled if all(any(rx.search(f) for f in frames) for rx in rxs)),
                      "other")
        counts[bucket] += 1
    order = [name for name, _ in BUCKETS] + ["other"]
    buckets = [(name, counts[name] / total) for name in order if counts[name]] if total else []
    top = [(name, n / total) for name, n in leaves.most_common(8)] if total else []
    return {"samples": total, "buckets": buckets, "top_leaves": top}


def _short(frame):
    """A frame without its offset and generic noise, for the top-leaves list."""
    name = re.sub(r"\+0x[0-9a-f]+", "", frame)
    name = re.sub(r"::h[0-9a-f]{16}", "", name)
    return name[:90]
