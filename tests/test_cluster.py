"""Three `coffer server` processes with raft storage on loopback: join by API and by retry_join,
standbys forward, and a SIGKILLed active node loses no acknowledged write."""
import time

import hvac
import pytest
import requests

from conftest import Node


def wait_until(check, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def health(node):
    try:
        return requests.get(f"{node.addr}/v1/sys/health", timeout=2).status_code
    except requests.ConnectionError:
        return None


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


def test_three_nodes_join_forward_and_survive_the_active_node_being_killed(cluster):
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

    admin = n1.client(root)
    servers = admin.sys.read_raft_config()["data"]["config"]["servers"]
    assert len(servers) == 3 and all(s["voter"] for s in servers), servers
    assert health(n2) == 429 and health(n3) == 429, "standbys answer 429"

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

    n1.kill()
    survivors = [n2, n3]
    active = wait_until(lambda: next((n for n in survivors if health(n) == 200), None), what="a new active node")
    client = active.client(root)
    for path, value in written.items():
        got = client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
        assert got["data"]["data"]["v"] == value, path
    other = next(n for n in survivors if n is not active)
    other.client(root).secrets.kv.v2.create_or_update_secret(path="after", secret={"v": "x"}, mount_point="secret")

    n1.start()
    unseal(n1, keys[:2])
    wait_until(lambda: health(n1) == 429, what="the old active node back as a standby")
    got = n1.client(root).secrets.kv.v2.read_secret_version(path="after", mount_point="secret", raise_on_deleted_version=True)
    assert got["data"]["data"]["v"] == "x"
