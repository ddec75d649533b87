"""A graceful stop (SIGTERM, as Kubernetes sends on a rolling update) of the active node of a
three-node cluster hands leadership over first: writers through the standbys see no error,
writers on the stopping node get an answer to every request it accepted, every acknowledged
write is readable afterwards, and the node exits 0. A restarted standby does not depose the
leader (pre-vote). Times are printed, never asserted (speed lives in bench/)."""
import re
import signal
import threading
import time

import hvac
import requests

from conftest import http, wait_until
from test_cluster import cluster, form, unseal  # noqa: F401 (the fixture)

MOUNT = "secret"


class Writer(threading.Thread):
    """Writes `<name>-<i>` = i through one node until stopped; records acks and failures."""

    def __init__(self, name, node, token):
        super().__init__(daemon=True)
        self.name, self.node = name, node
        self.client = hvac.Client(url=node.addr, token=token, timeout=30)
        self.acked = {}  # path -> (value, monotonic time of the answer)
        self.errors = []  # (exception, monotonic time)
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            path, value = f"{self.name}-{i}", str(i)
            try:
                self.client.secrets.kv.v2.create_or_update_secret(path=path, secret={"v": value}, mount_point=MOUNT)
            except Exception as e:  # recorded; the assertions decide what is allowed
                self.errors.append((e, time.monotonic()))
                if isinstance(e, requests.ConnectionError):
                    return  # the node this writer talks to has stopped
            else:
                self.acked[path] = (value, time.monotonic())
            i += 1


def longest_gap(times, since):
    """The longest interval between consecutive acknowledgements at or after `since`."""
    times = sorted(t for t in times if t >= since)
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def metric(node, token, name):
    text = http(node, "GET", "sys/metrics", token=token, params={"format": "prometheus"}).text
    values = [l.split()[1] for l in text.splitlines() if l.startswith(f"{name} ")]
    assert values, f"{name} missing from {node.name}'s metrics"
    return float(values[0])


def test_sigterm_of_the_active_node_hands_over_without_a_client_error(cluster):
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    n2.client(root).sys.enable_secrets_engine(backend_type="kv", path=MOUNT, options={"version": "2"})
    assert http(n1, "GET", "sys/health").status_code == 200, "node1 starts active"

    on_standbys = [Writer(f"s{i}", [n2, n3][i % 2], root) for i in range(4)]
    on_active = [Writer(f"a{i}", n1, root) for i in range(2)]
    writers = on_standbys + on_active
    for w in writers:
        w.start()
    wait_until(lambda: all(len(w.acked) >= 5 for w in writers), what="every writer writing")

    term_at = time.monotonic()
    n1.proc.send_signal(signal.SIGTERM)
    acked_at_term = sum(len(w.acked) for w in on_standbys)
    new_active = wait_until(lambda: next((n for n in (n2, n3) if http(n, "GET", "sys/health").status_code == 200), None),
                            what="a new active node")
    wait_until(lambda: sum(len(w.acked) for w in on_standbys) >= acked_at_term + 40, what="writes after the hand-over")
    assert n1.proc.wait(timeout=30) == 0, "the stopped node exits 0"
    for w in writers:
        w.stop.set()
    for w in writers:
        w.join(timeout=60)
        assert not w.is_alive(), f"writer {w.name} stuck"

    # Through the standbys: not one error.
    for w in on_standbys:
        assert not w.errors, f"writer {w.name} via {w.node.name}: {w.errors[:3]}"
    # On the stopping node: every request it accepted was answered with success; only a
    # connection it no longer accepts (refused, or closed between two requests) may fail.
    for w in on_active:
        bad = [e for e, _ in w.errors if not isinstance(e, requests.ConnectionError)]
        assert not bad, f"writer {w.name} on the stopping node got error answers: {bad[:3]}"
        assert len(w.errors) <= 1, f"writer {w.name}: {w.errors}"

    # The stopping node handed over; the cluster did not wait for an election timeout.
    log = n1.log.read_text()
    assert re.search(r"handed leadership over before stopping", log), log[-3000:]

    # Every acknowledged write is readable from the new leader with its value.
    reader = new_active.client(root)
    acked = {p: v for w in writers for p, (v, _) in w.acked.items()}
    for path, value in acked.items():
        got = reader.secrets.kv.v2.read_secret_version(path=path, mount_point=MOUNT, raise_on_deleted_version=True)
        assert got["data"]["data"]["v"] == value, path

    gap = longest_gap([t for w in writers for _, t in w.acked.values()], since=term_at - 1.0)
    stopped_in = max(t for w in on_standbys for _, t in w.acked.values()) - term_at
    print(f"\ngraceful hand-over: longest gap between acknowledged writes {gap * 1000:.0f} ms "
          f"({len(acked)} acknowledged writes, {len(writers)} writers, window {stopped_in:.1f} s after SIGTERM)")


def test_a_restarted_standby_does_not_depose_the_leader(cluster):
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    leader_term = metric(n1, root, "coffer_raft_term")
    changes = metric(n1, root, "coffer_raft_leader_changes_total")

    n3.kill()
    n3.start()
    unseal(n3, keys[:2])
    wait_until(lambda: http(n3, "GET", "sys/leader").json()["leader_address"] == n1.addr,
               what="the restarted standby naming node1 as leader")
    # A write through it reaches the leader and commits on it (it is a working member again).
    n3.client(root).sys.enable_secrets_engine(backend_type="kv", path=MOUNT, options={"version": "2"})
    assert http(n1, "GET", "sys/health").status_code == 200, "node1 is still active"
    assert metric(n1, root, "coffer_raft_term") == leader_term, "the restarted standby forced an election"
    assert metric(n1, root, "coffer_raft_leader_changes_total") == changes


ROLLING_ROUNDS = 4


def test_a_rolling_restart_under_load_never_fails_a_client(cluster):
    """As a rolling update does it: round after round, SIGTERM whichever node is active while
    writers go through the two others, restart it and unseal it. Writers through the standbys
    see no error in any round (a request forwarded to the stopping node just before it exits is
    either answered or retried on the new leader), and every acknowledged write stays readable."""
    keys, root = form(cluster)
    cluster[0].client(root).sys.enable_secrets_engine(backend_type="kv", path=MOUNT, options={"version": "2"})
    acked = {}
    for rnd in range(ROLLING_ROUNDS):
        active = next(n for n in cluster if http(n, "GET", "sys/health").status_code == 200)
        standbys = [n for n in cluster if n is not active]
        writers = [Writer(f"r{rnd}-w{i}", standbys[i % 2], root) for i in range(8)]
        for w in writers:
            w.start()
        wait_until(lambda: all(len(w.acked) >= 5 for w in writers), what="every writer writing")
        active.proc.send_signal(signal.SIGTERM)
        acked_at_term = sum(len(w.acked) for w in writers)
        wait_until(lambda: any(http(n, "GET", "sys/health").status_code == 200 for n in standbys),
                   what="a new active node")
        wait_until(lambda: sum(len(w.acked) for w in writers) >= acked_at_term + 40, what="writes after the hand-over")
        assert active.proc.wait(timeout=30) == 0, f"round {rnd}: {active.name} exits 0"
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(timeout=60)
            assert not w.is_alive(), f"writer {w.name} stuck"
            assert not w.errors, f"round {rnd}, writer {w.name} via {w.node.name}: {w.errors[:3]}"
            acked.update(w.acked)
        active.start()
        unseal(active, keys[:2])
        wait_until(lambda: http(active, "GET", "sys/health").status_code == 429,
                   what=f"{active.name} a standby again")

    reader = next(n for n in cluster if http(n, "GET", "sys/health").status_code == 200).client(root)
    for path, (value, _) in acked.items():
        got = reader.secrets.kv.v2.read_secret_version(path=path, mount_point=MOUNT, raise_on_deleted_version=True)
        assert got["data"]["data"]["v"] == value, path
