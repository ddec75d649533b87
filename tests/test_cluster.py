"""Three `coffer server` processes with raft storage on loopback: join by API and by retry_join,
standbys forward, and a SIGKILLed active node loses no acknowledged write."""
import json
import threading
import time

import hvac
import pytest

from conftest import Node, cli, health, http, wait_until  # noqa: F401 (re-exported to other tests)
from test_single_node import base64_forms


def unseal(node, keys):
    client = node.client()
    for key in keys:
        status = client.sys.submit_unseal_key(key)
    return status


@pytest.fixture
def cluster(tmp_path):
    n1 = Node(tmp_path, "node1").start()
    n2 = Node(tmp_path, "node2").start()
    n3 = Node(tmp_path, "node3", retry_join=[n1.addr]).start()
    nodes = [n1, n2, n3]
    yield nodes
    for n in nodes:
        n.stop()


def form(cluster):
    """Init node1, join node2 by API and node3 by retry_join, unseal all; returns (keys, root)."""
    n1, n2, n3 = cluster
    init = n1.client().sys.initialize(secret_shares=3, secret_threshold=2)
    keys, root = init["keys"], init["root_token"]
    assert unseal(n1, keys[:2])["sealed"] is False
    wait_until(lambda: health(n1) == 200, what="node1 active")

    joined = n2.client().sys.join_raft_cluster(leader_api_addr=n1.addr)
    assert joined["joined"] is True
    assert unseal(n2, keys[1:3])["sealed"] is False
    # node3 found node1 through retry_join by itself; it only needs its keys.
    wait_until(lambda: n3.client().sys.read_seal_status()["initialized"], what="node3 challenge")
    assert unseal(n3, keys[:2])["sealed"] is False

    return keys, root


def test_three_nodes_join_forward_and_survive_the_active_node_being_killed(cluster):
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    admin = n1.client(root)
    servers = admin.sys.read_raft_config()["data"]["config"]["servers"]
    assert len(servers) == 3 and all(s["voter"] for s in servers), servers
    assert health(n2) == 429 and health(n3) == 429, "standbys answer 429"
    # Every node names the active one in sys/leader (hvac's `is_self` checks rely on it).
    views = [http(n, "GET", "sys/leader").json() for n in cluster]
    assert [(v["is_self"], v["leader_address"]) for v in views] == [(True, n1.addr), (False, n1.addr), (False, n1.addr)]

    # Writes and reads sent to standbys are forwarded to the active node.
    standby = n2.client(root)
    standby.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    written = {}
    for i in range(30):
        via = [n1, n2, n3][i % 3].client(root)
        via.secrets.kv.v2.create_or_update_secret(path=f"k{i}", secret={"v": str(i)}, mount_point="secret")
        written[f"k{i}"] = str(i)
    got = n3.client(root).secrets.kv.v2.read_secret_version(path="k4", mount_point="secret", raise_on_deleted_version=True)
    assert got["data"]["data"]["v"] == "4"

    # A client keeps writing through the standbys while the active node is SIGKILLed.
    acknowledged, stop = {}, threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            via = [n2, n3][i % 2].client(root)
            try:
                via.secrets.kv.v2.create_or_update_secret(path=f"c{i}", secret={"v": str(i)}, mount_point="secret")
                acknowledged[f"c{i}"] = str(i)
                i += 1
            except Exception:  # a failed write was not acknowledged; the client retries
                time.sleep(0.05)

    thread = threading.Thread(target=writer)
    thread.start()
    wait_until(lambda: len(acknowledged) >= 10, what="writes before the kill")
    n1.kill()
    before_kill = len(acknowledged)
    survivors = [n2, n3]
    active = wait_until(lambda: next((n for n in survivors if health(n) == 200), None), what="a new active node")
    wait_until(lambda: len(acknowledged) >= before_kill + 10, what="writes resuming after the failover")
    stop.set()
    thread.join()
    written.update(acknowledged)
    client = active.client(root)
    for path, value in written.items():
        got = client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
        assert got["data"]["data"]["v"] == value, path
    metrics = http(active, "GET", "sys/metrics", token=root, params={"format": "prometheus"}).text
    assert "coffer_core_takeovers_total 1" in metrics.splitlines()
    changes = [l for l in metrics.splitlines() if l.startswith("coffer_raft_leader_changes_total ")]
    assert changes and int(changes[0].split()[1]) >= 2, "node1, then the node that took over"
    other = next(n for n in survivors if n is not active)
    other.client(root).secrets.kv.v2.create_or_update_secret(path="after", secret={"v": "x"}, mount_point="secret")

    n1.start()
    unseal(n1, keys[:2])
    wait_until(lambda: health(n1) == 429, what="the old active node back as a standby")
    # A restarted node learns the leader from its first heartbeat; until then it names none.
    wait_until(lambda: http(n1, "GET", "sys/leader").json()["leader_address"] == active.addr,
               what="the old active node naming the new one as leader")
    got = n1.client(root).secrets.kv.v2.read_secret_version(path="after", mount_point="secret", raise_on_deleted_version=True)
    assert got["data"]["data"]["v"] == "x"


def node_id_of(node, servers):
    return next(s["node_id"] for s in servers if s["address"].endswith(f":{node.cluster_port}"))


def test_remove_peer_step_down_and_no_plaintext_in_any_raft_dir(cluster):
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    peers = cli(n2, "operator", "raft", "list-peers", "-format=json", token=root)
    servers = json.loads(peers.stdout)["data"]["config"]["servers"]
    assert len(servers) == 3 and sum(s["leader"] for s in servers) == 1
    members = json.loads(cli(n3, "operator", "members", "-format=json", token=root).stdout)["nodes"]
    assert sorted(m["active_node"] for m in members) == [False, False, True]
    assert {m["api_address"] for m in members} == {n1.addr, n2.addr, n3.addr}

    def autopilot():
        return http(n1, "GET", "sys/storage/raft/autopilot/state", token=root).json()["data"]

    state = wait_until(lambda: (lambda s: s if s["healthy"] else None)(autopilot()), what="a healthy autopilot state")
    assert len(state["voters"]) == 3 and state["failure_tolerance"] == 1, state
    config = {"cleanup_dead_servers": True, "min_quorum": 3, "dead_server_last_contact_threshold": "1h"}
    assert http(n1, "POST", "sys/storage/raft/autopilot/configuration", token=root, json=config).status_code == 204
    got = http(n1, "GET", "sys/storage/raft/autopilot/configuration", token=root).json()["data"]
    assert got["cleanup_dead_servers"] is True and got["dead_server_last_contact_threshold"] == "1h0m0s"

    client = n1.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    value = "cluster-plaintext-probe-93b1"
    client.secrets.kv.v2.create_or_update_secret(path="probe", secret={"v": value}, mount_point="secret")

    # Step down: another node becomes active and the old one a standby.
    cli(n1, "operator", "step-down", token=root)
    wait_until(lambda: health(n1) == 429 and any(health(n) == 200 for n in (n2, n3)), what="a new active node")

    # Remove a stopped peer: two voters remain and the cluster keeps serving.
    victim = n3 if health(n3) == 429 else n2
    victim_id = node_id_of(victim, servers)
    victim.stop()
    cli(n1, "operator", "raft", "remove-peer", victim_id, token=root)
    remaining = client.sys.read_raft_config()["data"]["config"]["servers"]
    assert len(remaining) == 2 and victim_id not in {s["node_id"] for s in remaining}, remaining
    client.secrets.kv.v2.create_or_update_secret(path="after-remove", secret={"v": "y"}, mount_point="secret")
    got = client.secrets.kv.v2.read_secret_version(path="after-remove", mount_point="secret", raise_on_deleted_version=True)
    assert got["data"]["data"]["v"] == "y"

    # Sealing the active node hands leadership to the other voter.
    current = next(n for n in cluster if n is not victim and health(n) == 200)
    current.client(root).sys.seal()
    survivor = next(n for n in cluster if n not in (victim, current))
    wait_until(lambda: health(survivor) == 200, what="the other voter active after the seal")
    assert health(current) == 503

    for n in cluster:
        n.stop()
    # ...nor the cluster certificate's private key (it lives behind the barrier).
    needles = [value.encode(), root.encode(), b"PRIVATE KEY", *base64_forms(value.encode())]
    for n in cluster:
        files = [p for p in n.data_dir.rglob("*") if p.is_file()]
        assert files, f"{n.name} wrote nothing"
        for path in files:
            blob = path.read_bytes()
            for needle in needles:
                assert needle not in blob, f"{needle!r} in {path}"


def test_snapshot_on_a_running_cluster_restores_everywhere(cluster):
    """Save through a standby, write more (and rotate the keyring), restore through another
    standby: every node then serves the snapshot's state, also after the active node changes."""
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    client = n1.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    kv = client.secrets.kv.v2
    kv.create_or_update_secret(path="kept", secret={"v": "1"}, mount_point="secret")

    def read(node, path):
        got = node.client(root).secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
        return got["data"]["data"]["v"]

    saved = n2.client(root).sys.take_raft_snapshot()
    assert saved.status_code == 200 and saved.content.startswith(b"COFFER-SNAPSHOT-1\n")

    kv.create_or_update_secret(path="kept", secret={"v": "2"}, mount_point="secret")
    kv.create_or_update_secret(path="later", secret={"v": "x"}, mount_point="secret")
    client.sys.rotate_encryption_key()
    assert client.sys.get_encryption_key_status()["data"]["term"] == 2

    restored = n3.client(root).sys.restore_raft_snapshot(saved.content)
    assert restored.status_code == 204, restored.text

    for node in cluster:
        assert read(node, "kept") == "1"
        with pytest.raises(hvac.exceptions.InvalidPath):
            read(node, "later")
    assert client.sys.get_encryption_key_status()["data"]["term"] == 1

    # A new active node serves the restored state and its writes stay readable everywhere.
    cli(n1, "operator", "step-down", token=root)
    wait_until(lambda: any(health(n) == 200 for n in (n2, n3)), what="a new active node")
    new_active = next(n for n in (n2, n3) if health(n) == 200)
    assert read(new_active, "kept") == "1"
    assert new_active.client(root).sys.get_encryption_key_status()["data"]["term"] == 1
    new_active.client(root).secrets.kv.v2.create_or_update_secret(
        path="after-restore", secret={"v": "y"}, mount_point="secret"
    )
    # Restart the old active node: it unseals from its own copy and reads every record.
    n1.kill()
    n1.start()
    unseal(n1, keys[:2])
    wait_until(lambda: health(n1) == 429, what="node1 back as a standby")
    cli(new_active, "operator", "step-down", token=root)
    wait_until(lambda: health(n1) == 200 or any(health(n) == 200 for n in (n2, n3) if n is not new_active),
               what="another active node")
    for node in cluster:
        assert read(node, "after-restore") == "y"
        assert read(node, "kept") == "1"
