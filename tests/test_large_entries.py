"""Large values and a follower that falls behind: the leader must send the missed entries in
requests of bounded size. Sent all at once (openraft bounds a request only by its number of
entries), they would make one message of hundreds of megabytes, over the cluster transport's
limit, refused and rebuilt at every retry: the follower would never catch up."""
import signal
import time

from conftest import http, wait_until
from test_cluster import cluster, form  # noqa: F401 (the fixture)
from test_graceful_handoff import metric

MOUNT = "secret"
VALUE_BYTES = 700_000  # under max_entry_size (1 MiB) once encrypted
WRITES = 120  # about 110 MB of log entries: well past the 64 MiB message limit


def last_index_of(leader, token, follower):
    """The leader's view of `follower`'s last replicated index (autopilot), or None."""
    body = http(leader, "GET", "sys/storage/raft/autopilot/state", token=token).json()
    assert "data" in body, f"{leader.name} no longer answers as the active node: {body}"
    state = body["data"]
    ports = (f":{follower.port}", f":{follower.cluster_port}")
    found = [s for s in state["servers"].values() if s["address"].endswith(ports)]
    assert len(found) == 1, state["servers"]
    return found[0]["last_index"]


def test_a_follower_behind_on_large_entries_catches_up_without_an_election(cluster):
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    client = n1.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path=MOUNT, options={"version": "2"})
    wait_until(lambda: last_index_of(n1, root, n3) == metric(n1, root, "coffer_raft_last_log_index"),
               what="node3 in step before it stops")
    term = metric(n1, root, "coffer_raft_term")
    leader_changes = metric(n1, root, "coffer_raft_leader_changes_total")

    n3.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(WRITES):
            value = f"{i:06d}" + "x" * (VALUE_BYTES - 6)
            client.secrets.kv.v2.create_or_update_secret(path=f"big-{i}", secret={"v": value}, mount_point=MOUNT)
        target = metric(n1, root, "coffer_raft_last_log_index")
        behind = last_index_of(n1, root, n3)
        assert behind is not None and target - behind >= WRITES, (target, behind)
    finally:
        n3.proc.send_signal(signal.SIGCONT)
    resumed = time.monotonic()

    wait_until(lambda: (last_index_of(n1, root, n3) or 0) >= target, timeout=90,
               what="node3 caught up with the leader's log")
    print(f"\nnode3 caught up {target - behind} entries in {time.monotonic() - resumed:.1f} s")
    assert metric(n1, root, "coffer_raft_term") == term, "no election"
    assert metric(n1, root, "coffer_raft_leader_changes_total") == leader_changes
    assert http(n1, "GET", "sys/health").status_code == 200, "node1 is still the active node"

    # node3's log is the leader's: with node2 stopped, a write commits only once node3 has
    # appended it after everything before it.
    n2.stop()
    client.secrets.kv.v2.create_or_update_secret(path="after", secret={"v": "caught-up"}, mount_point=MOUNT)
    got = client.secrets.kv.v2.read_secret_version(path=f"big-{WRITES - 1}", mount_point=MOUNT)["data"]["data"]["v"]
    assert got.startswith(f"{WRITES - 1:06d}") and len(got) == VALUE_BYTES
