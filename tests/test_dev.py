"""`coffer server -dev-three-node`: three unsealed nodes in one process, any of them answers."""
import re
import subprocess
import time

import hvac
import requests

from conftest import COFFER_BIN, free_port


def free_base_port():
    """A base port whose node ports (+0, +10, +20) and cluster ports (+1, +11, +21) are all free."""
    import socket
    for _ in range(50):
        base = free_port()
        if base > 65000:
            continue
        try:
            socks = []
            for off in (0, 1, 10, 11, 20, 21):
                s = socket.socket()
                s.bind(("127.0.0.1", base + off))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def test_dev_three_node_cluster_serves_from_every_node(tmp_path):
    base = free_base_port()
    errors = tmp_path / "stderr.log"
    proc = subprocess.Popen(
        [COFFER_BIN, "server", "-dev-three-node", f"-dev-listen-address=127.0.0.1:{base}", "-dev-root-token-id=devroot"],
        stdout=subprocess.PIPE, stderr=open(errors, "w"), text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Root Token:"):
                break
        text = "".join(lines)
        assert "Root Token: devroot" in text, text + errors.read_text()[-2000:]
        addrs = re.findall(r"node \d: (http://127\.0\.0\.1:\d+)", text)
        assert len(addrs) == 3, text
        codes = [requests.get(f"{a}/v1/sys/health", timeout=5).status_code for a in addrs]
        assert sorted(codes) == [200, 429, 429], codes
        hvac.Client(url=addrs[1], token="devroot").secrets.kv.v2.create_or_update_secret(
            path="dev", secret={"k": "v"}, mount_point="secret")
        got = hvac.Client(url=addrs[2], token="devroot").secrets.kv.v2.read_secret_version(
            path="dev", mount_point="secret", raise_on_deleted_version=True)
        assert got["data"]["data"] == {"k": "v"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
