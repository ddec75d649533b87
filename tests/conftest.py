"""Black-box fixtures: real `coffer` processes on loopback ports, driven with hvac.

COFFER_BIN names the binary (test.sh sets it to the freshly built one).
"""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import hvac
import pytest
import requests

COFFER_BIN = os.environ.get("COFFER_BIN", "coffer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One `coffer server` process with raft storage under `data_dir`."""

    def __init__(self, workdir: Path, name: str = "node1", retry_join=(), extra_config: str = "", storage_config: str = "", listener_config: str = ""):
        self.workdir = workdir
        self.name = name
        self.data_dir = workdir / f"{name}-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.cluster_port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.config = workdir / f"{name}.hcl"
        retry = "\n".join(f'  retry_join {{ leader_api_addr = "{addr}" }}' for addr in retry_join)
        self.config.write_text(
            f'''
storage "raft" {{
  path    = "{self.data_dir}"
  node_id = "{name}"
{retry}
{storage_config}
}}
listener "tcp" {{
  address         = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{self.cluster_port}"
  tls_disable     = true
{listener_config}
}}
api_addr     = "{self.addr}"
cluster_addr = "http://127.0.0.1:{self.cluster_port}"
disable_mlock = true
{extra_config}
'''
        )
        self.log = workdir / f"{name}.log"
        self.proc = None
        self.verify = True  # a CA bundle path for TLS listeners

    def start(self):
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [COFFER_BIN, "server", f"-config={self.config}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_responding()
        return self

    def wait_responding(self, timeout: float = 60.0):
        """Poll sys/health until the listener answers (any status), or fail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"coffer exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                requests.get(f"{self.addr}/v1/sys/health", timeout=1, verify=self.verify)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not answer within {timeout}s")

    def kill(self):
        """SIGKILL: no shutdown path runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, token=None) -> hvac.Client:
        return hvac.Client(url=self.addr, token=token)


@pytest.fixture
def node(tmp_path):
    n = Node(tmp_path).start()
    yield n
    n.stop()


def cli(node: Node, *args, token=None, stdin=None, check=True):
    """Run the coffer CLI against `node`; returns the CompletedProcess."""
    env = dict(os.environ, VAULT_ADDR=node.addr, HOME=str(node.workdir))
    env.pop("VAULT_TOKEN", None)
    if token:
        env["VAULT_TOKEN"] = token
    result = subprocess.run(
        [COFFER_BIN, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )
    if check and result.returncode != 0:
        raise AssertionError(f"coffer {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def init_and_unseal(node: Node, shares: int = 5, threshold: int = 3):
    """Initialise `node` over the API and unseal it with the first `threshold` keys.

    Returns (root_token, keys), keys being the hex shares `sys/init` answered."""
    client = node.client()
    result = client.sys.initialize(secret_shares=shares, secret_threshold=threshold)
    keys, root = result["keys"], result["root_token"]
    for key in keys[:threshold]:
        client.sys.submit_unseal_key(key)
    assert client.sys.is_sealed() is False, "the node did not unseal with a threshold of keys"
    return root, keys


@pytest.fixture
def unsealed(node):
    """A fresh node, initialised (5 shares, threshold 3) and unsealed: (node, root_token, keys)."""
    root, keys = init_and_unseal(node)
    return node, root, keys


def http(node: Node, method: str, path: str, token=None, **kwargs) -> requests.Response:
    """One raw HTTP call to `node` at /v1/<path>, with X-Vault-Token when `token` is given."""
    headers = dict(kwargs.pop("headers", None) or {})
    if token:
        headers["X-Vault-Token"] = token
    return requests.request(method, f"{node.addr}/v1/{path}", headers=headers, timeout=30, **kwargs)


def assert_vault_error(response: requests.Response, status: int):
    """`response` is a Vault-shaped error: the status, and a JSON body `{"errors": [str, ...]}`."""
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: expected {status}, got "
        f"{response.status_code}: {response.text[:500]}"
    )
    body = response.json()
    assert isinstance(body.get("errors"), list), body
    assert all(isinstance(e, str) for e in body["errors"]), body
    return body["errors"]


def wait_until(check, timeout=60.0, what="condition"):
    """Poll `check` every 0.1 s until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def health(node):
    """The status code of `sys/health` on `node`, or None when nothing answers."""
    try:
        return requests.get(f"{node.addr}/v1/sys/health", timeout=2).status_code
    except requests.ConnectionError:
        return None
