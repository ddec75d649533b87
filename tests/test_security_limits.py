"""No single request stalls a node or the cluster: bodies over the listener's max_request_size
are refused with Vault's 413 before they are read or authenticated, writes over raft's
max_entry_size are refused before they are proposed, and a client that sends its request head
too slowly is cut off after http_read_header_timeout."""
import json
import socket
import time

import requests

from conftest import Node, assert_vault_error, http, init_and_unseal
from test_cluster import cluster, form, health, wait_until  # noqa: F401 (cluster is a fixture)

MiB = 1 << 20
TOO_LARGE = "failed to parse JSON input: http: request body too large"
ENTRY_TOO_LARGE = "put failed due to value being too large"


def json_body(size: int) -> bytes:
    """A JSON object `{"v": "xxx…"}` of about `size` bytes."""
    return b'{"v":"' + b"x" * size + b'"}'


def test_a_body_over_max_request_size_is_refused_before_auth_and_nothing_is_written(tmp_path):
    node = Node(tmp_path, listener_config="  max_request_size = 1048576").start()
    try:
        root, _ = init_and_unseal(node)
        big = json_body(MiB + 10)
        # Without a token: the size is judged before authentication (which would answer 403).
        assert assert_vault_error(http(node, "PUT", "cubbyhole/big", data=big), 413) == [TOO_LARGE]
        assert assert_vault_error(http(node, "PUT", "cubbyhole/big", token=root, data=big), 413) == [TOO_LARGE]
        # Chunked, with no Content-Length: refused once the bytes pass the limit.
        chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))
        assert assert_vault_error(http(node, "PUT", "cubbyhole/big", token=root, data=chunks), 413) == [TOO_LARGE]
        assert http(node, "GET", "cubbyhole/big", token=root).status_code == 404
        # A body under the limit is served, on the same listener.
        assert http(node, "PUT", "cubbyhole/fits", token=root, data=json_body(MiB // 2)).status_code == 204
        assert len(http(node, "GET", "cubbyhole/fits", token=root).json()["data"]["v"]) == MiB // 2
    finally:
        node.stop()


def test_the_default_max_request_size_is_vaults_32_mib(unsealed):
    node, root, _ = unsealed
    over = http(node, "PUT", "cubbyhole/big", token=root, data=json_body(33 * MiB))
    assert assert_vault_error(over, 413) == [TOO_LARGE]
    # Just under 32 MiB passes the listener and meets the storage's entry limit instead.
    under = http(node, "PUT", "cubbyhole/big", token=root, data=json_body(31 * MiB))
    assert assert_vault_error(under, 413)[0].startswith(ENTRY_TOO_LARGE)
    assert http(node, "GET", "cubbyhole/big", token=root).status_code == 404


def test_a_kv_write_over_max_entry_size_is_refused_and_one_under_it_succeeds(unsealed):
    node, root, _ = unsealed
    node.client(root).sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    refused = http(node, "POST", "secret/data/big", token=root, json={"data": {"v": "x" * (2 * MiB)}})
    errors = assert_vault_error(refused, 413)
    assert errors[0].startswith(ENTRY_TOO_LARGE), errors
    assert http(node, "GET", "secret/data/big", token=root).status_code == 404
    assert http(node, "GET", "secret/metadata/big", token=root).status_code == 404

    fits = http(node, "POST", "secret/data/fits", token=root, json={"data": {"v": "y" * (900 * 1024)}})
    assert fits.status_code == 200, fits.text
    read = http(node, "GET", "secret/data/fits", token=root).json()
    assert read["data"]["data"]["v"] == "y" * (900 * 1024)


def closed_within(sock: socket.socket, timeout: float, dribble: bytes = b"") -> bool:
    """Whether the server closes `sock` within `timeout` seconds, while we send `dribble` (if
    any) every 0.2 s."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return True
        if dribble:
            try:
                sock.sendall(dribble)
            except (ConnectionResetError, BrokenPipeError):
                return True
    return False


def test_a_client_that_sends_its_headers_slowly_is_cut_off(tmp_path):
    node = Node(tmp_path, listener_config='  http_read_header_timeout = "1s"').start()
    try:
        with socket.create_connection(("127.0.0.1", node.port)) as slow:
            slow.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: coffer\r\n")
            assert closed_within(slow, 15, dribble=b"X-Slow: y\r\n"), "a dribbling client kept its connection"
        with socket.create_connection(("127.0.0.1", node.port)) as silent:
            assert closed_within(silent, 15), "a silent client kept its connection"
        # Well-behaved clients are still served.
        assert requests.get(f"{node.addr}/v1/sys/health", timeout=10).status_code == 501
    finally:
        node.stop()


def raft_term(node, root) -> float:
    text = http(node, "GET", "sys/metrics", token=root, params={"format": "prometheus"}).text
    lines = [line for line in text.splitlines() if line.startswith("coffer_raft_term ")]
    assert lines, text[:500]
    return float(lines[0].split()[1])


def test_a_48_mib_write_is_refused_quickly_and_the_cluster_keeps_its_leader(cluster):  # noqa: F811
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    wait_until(lambda: health(n1) == 200 and health(n2) == 429 and health(n3) == 429, what="one active, two standbys")
    # An authenticated request first: the active node's first one loads its state, which is
    # when sys/leader's active_time is set.
    term = raft_term(n1, root)
    leader = http(n1, "GET", "sys/leader").json()

    body = json_body(48 * MiB)
    for target in (n1, n2):  # the active node, and a standby that would forward it
        refused = requests.put(
            f"{target.addr}/v1/cubbyhole/big", headers={"X-Vault-Token": root}, data=body, timeout=15
        )
        assert assert_vault_error(refused, 413) == [TOO_LARGE]

    after = http(n1, "GET", "sys/leader").json()
    assert (after["leader_address"], after["active_time"]) == (leader["leader_address"], leader["active_time"])
    assert raft_term(n1, root) == term
    assert health(n1) == 200
    assert http(n2, "PUT", "cubbyhole/after", token=root, data=json.dumps({"v": "ok"})).status_code == 204
    assert http(n1, "GET", "cubbyhole/after", token=root).json()["data"] == {"v": "ok"}
    assert http(n1, "GET", "cubbyhole/big", token=root).status_code == 404
