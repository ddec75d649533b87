"""Audit device types beyond a plain file, as Vault has them: `file_path=stdout` (the server's
standard output) and `discard`, a `socket` device over TCP and UDP, and a `syslog` device (Coffer's
`socket_path` option points it at a unix datagram socket the test binds instead of /dev/log)."""
import json
import os
import socket
import tempfile
import time

from conftest import assert_vault_error, http


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def audited_paths(lines):
    return {(e["type"], e["request"]["path"]) for e in lines}


def test_file_device_stdout_and_discard(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_audit_device(device_type="file", path="out", options={"file_path": "stdout"})
    client.sys.enable_audit_device(device_type="file", path="gone", options={"file_path": "discard"})
    assert http(node, "GET", "sys/mounts", token=root).status_code == 200

    def logged():
        lines = []
        for line in node.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue
        return [e for e in lines if "request" in e and "type" in e]
    lines = wait_for(lambda: [e for e in logged() if e["request"]["path"] == "sys/mounts"])
    assert {e["type"] for e in lines} == {"request", "response"}
    assert root not in node.log.read_text(), "the token is hashed on stdout too"
    assert not os.path.exists("discard") and not os.path.exists("stdout"), "no file named after the special paths"
    listed = client.sys.list_enabled_audit_devices()["data"]
    assert listed["gone/"]["options"]["file_path"] == "discard"


def test_socket_device_sends_lines_over_tcp_and_udp(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(1)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(10)
    client.sys.enable_audit_device(device_type="socket", path="tcp", options={
        "address": f"127.0.0.1:{tcp.getsockname()[1]}", "socket_type": "tcp"})
    client.sys.enable_audit_device(device_type="socket", path="udp", options={
        "address": f"127.0.0.1:{udp.getsockname()[1]}", "socket_type": "udp"})
    assert http(node, "PUT", "cubbyhole/x", token=root, json={"v": "secret-value"}).status_code == 204

    tcp.settimeout(10)
    conn, _ = tcp.accept()
    conn.settimeout(10)
    buffer = b""
    while buffer.count(b"\n") < 2 or ("response", "cubbyhole/x") not in audited_paths(
            json.loads(line) for line in buffer.splitlines() if line):
        chunk = conn.recv(65536)
        assert chunk, "the device closed the connection"
        buffer += chunk
    assert b"secret-value" not in buffer
    seen = set()
    while ("response", "cubbyhole/x") not in seen:
        datagram, _ = udp.recvfrom(65536)
        assert datagram.endswith(b"\n") and datagram.count(b"\n") == 1, "one line a datagram"
        seen |= audited_paths([json.loads(datagram)])
    assert ("request", "cubbyhole/x") in seen

    for options in [{}, {"address": "127.0.0.1:1", "socket_type": "sctp"}]:
        assert_vault_error(http(node, "PUT", "sys/audit/bad", token=root,
                                json={"type": "socket", "options": options}), 400)


def test_syslog_device_writes_framed_datagrams(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    directory = tempfile.mkdtemp(prefix="cof", dir="/tmp")  # unix socket paths are short
    path = os.path.join(directory, "log.sock")
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    daemon.bind(path)
    daemon.settimeout(10)
    try:
        client.sys.enable_audit_device(device_type="syslog", path="syslog", options={
            "facility": "LOCAL0", "tag": "coffer-test", "socket_path": path})
        assert http(node, "GET", "sys/mounts", token=root).status_code == 200
        seen = set()
        while ("response", "sys/mounts") not in seen:
            datagram = daemon.recv(65536).decode()
            # <PRI>Mmm dd hh:mm:ss tag[pid]: line; LOCAL0 (16) * 8 + informational (6) = 134
            assert datagram.startswith("<134>"), datagram
            header, _, body = datagram.partition(": ")
            assert header.split(" ")[-1].startswith("coffer-test[") and header.endswith("]"), header
            seen |= audited_paths([json.loads(body)])
        errors = assert_vault_error(http(node, "PUT", "sys/audit/bad", token=root, json={
            "type": "syslog", "options": {"facility": "NOPE"}}), 400)
        assert "facility" in errors[0]
    finally:
        daemon.close()
        os.unlink(path)
        os.rmdir(directory)
