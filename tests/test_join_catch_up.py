"""A node joins a cluster whose log has been compacted, and its catch-up is slower than any
request may wait: the active node answers once the node is a non-voter and promotes it when it
has caught up, and the unseal answers still sealed and completes by itself."""
import socket
import threading
import time

from conftest import Node, free_port, health, http, wait_until


class Gate:
    """A TCP relay on a free loopback port to `target_port` that holds every connection until
    `open()`: the new node's cluster port, out of the leader's reach until the test says so."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.opened = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def open(self):
        self.opened.set()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn):
        self.opened.wait()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            conn.close()
            return
        for src, dst in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def gauges(node, token):
    text = http(node, "GET", "sys/metrics", token=token, params={"format": "prometheus"}).text
    return {l.split()[0].split("{")[0]: float(l.split()[1]) for l in text.splitlines() if l.startswith("coffer_raft_")}


def voters(node, token):
    """The voter flag of each member, sorted (node ids are numbers derived from the names)."""
    config = http(node, "GET", "sys/storage/raft/configuration", token=token).json()
    assert "data" in config, config
    return sorted(s["voter"] for s in config["data"]["config"]["servers"])


def test_a_slow_join_answers_sealed_and_finishes_by_itself_from_a_snapshot(tmp_path):
    n1 = Node(tmp_path, "node1", storage_config="  snapshot_threshold = 40\n  trailing_logs = 5").start()
    n2 = Node(tmp_path, "node2")
    gate = Gate(n2.cluster_port)
    # node2 advertises the gate as its cluster address: the leader replicates through it.
    n2.config.write_text(n2.config.read_text().replace(
        f'cluster_addr = "http://127.0.0.1:{n2.cluster_port}"', f'cluster_addr = "http://127.0.0.1:{gate.port}"'))
    n2.start()
    try:
        client = n1.client()
        init = client.sys.initialize(secret_shares=1, secret_threshold=1)
        key, root = init["keys"][0], init["root_token"]
        assert client.sys.submit_unseal_key(key)["sealed"] is False
        wait_until(lambda: health(n1) == 200, what="node1 active")
        client.token = root
        client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        for i in range(120):
            client.secrets.kv.v2.create_or_update_secret(path=f"c{i}", secret={"v": str(i)}, mount_point="secret")
        before = gauges(n1, root)
        assert before["coffer_raft_purged_index"] > 0, "the leader's log was compacted"

        assert n2.client().sys.join_raft_cluster(leader_api_addr=n1.addr)["joined"] is True
        started = time.monotonic()
        status = n2.client().sys.submit_unseal_key(key)
        assert time.monotonic() - started < 25, "the unseal did not hold the request open"
        assert status["sealed"] is True, status
        assert health(n2) == 501, "node2 holds no replicated records yet: not initialised, sealed"
        assert voters(n1, root) == [False, True], "a non-voter until it has caught up"
        # Writes go on meanwhile: the unreachable non-voter is not part of any quorum.
        client.secrets.kv.v2.create_or_update_secret(path="during", secret={"v": "join"}, mount_point="secret")

        gate.open()
        wait_until(lambda: health(n2) == 429, timeout=60, what="node2 unsealed as a standby by itself")
        wait_until(lambda: voters(n1, root) == [True, True], timeout=60,
                   what="node2 promoted to voter")
        # The leader's log starts after a snapshot, so node2 caught up by installing it.
        state = http(n1, "GET", "sys/storage/raft/autopilot/state", token=root).json()["data"]
        joined = [s for s in state["servers"].values() if s["status"] != "leader"]
        assert len(joined) == 1 and joined[0]["last_index"] >= before["coffer_raft_applied_index"], state
        standby = n2.client(root)
        for path, v in (("c0", "0"), ("c119", "119"), ("during", "join")):
            assert standby.secrets.kv.v2.read_secret_version(path=path, mount_point="secret")["data"]["data"] == {"v": v}
    finally:
        gate.close()
        n2.stop()
        n1.stop()
