"""Auto-unseal through AWS KMS, with `moto` in server mode as the KMS: init hands out recovery
keys, and a node restarts unsealed with nobody typing a key; while the KMS is unreachable it stays
sealed (503) and retries until it can unseal."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import hvac
import pytest
import requests

from conftest import Node, free_port, health, wait_until  # noqa: F401 (re-exported to other tests)


@pytest.fixture
def kms(tmp_path):
    """A moto server on a free loopback port and one symmetric KMS key in it."""
    port = free_port()
    moto_server = Path(sys.executable).parent / "moto_server"
    log = open(tmp_path / "moto.log", "ab")
    proc = subprocess.Popen([str(moto_server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(endpoint, timeout=1).status_code < 500
        except requests.ConnectionError:
            return False

    wait_until(up, what="moto to answer")
    client = boto3.client(
        "kms", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="test", aws_secret_access_key="test",
    )
    key_id = client.create_key(Description="coffer root key")["KeyMetadata"]["KeyId"]
    yield proc, endpoint, key_id
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(timeout=10)


def awskms_stanza(kms) -> str:
    """A `seal "awskms"` block for the moto KMS of the `kms` fixture, with its test credentials."""
    _, endpoint, key_id = kms
    return f'''
seal "awskms" {{
  region     = "us-east-1"
  kms_key_id = "{key_id}"
  endpoint   = "{endpoint}"
  access_key = "test"
  secret_key = "test"
}}
'''


def kms_node(tmp_path, kms, name="kms1"):
    return Node(tmp_path, name, extra_config=awskms_stanza(kms))


def read(client, path):
    got = client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
    return got["data"]["data"]


def test_init_gives_recovery_keys_and_a_restart_unseals_by_itself(tmp_path, kms):
    node = kms_node(tmp_path, kms).start()
    try:
        client = node.client()
        status = client.sys.read_seal_status()
        assert status["type"] == "awskms" and status["recovery_seal"] is True and status["initialized"] is False
        init = client.sys.initialize(recovery_shares=3, recovery_threshold=2)
        assert init["keys"] == [] and init["keys_base64"] == []
        assert len(init["recovery_keys"]) == 3 and len(init["recovery_keys_base64"]) == 3
        status = client.sys.read_seal_status()
        assert status["sealed"] is False and status["t"] == 2 and status["n"] == 3, status
        root = init["root_token"]
        client = node.client(root)
        client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        client.secrets.kv.v2.create_or_update_secret(path="app", secret={"v": "kept"}, mount_point="secret")

        node.kill()
        node.start()
        wait_until(lambda: health(node) == 200, what="the node unsealed by itself")
        assert read(node.client(root), "app") == {"v": "kept"}
        log = node.log.read_text()
        assert "auto-unsealed" in log
        for secret in ("kept", *init["recovery_keys"], *init["recovery_keys_base64"], root):
            assert secret not in log
    finally:
        node.stop()


def test_kms_unreachable_at_start_keeps_the_node_sealed_until_it_is_back(tmp_path, kms):
    moto, _, _ = kms
    node = kms_node(tmp_path, kms).start()
    try:
        init = node.client().sys.initialize(recovery_shares=1, recovery_threshold=1)
        root = init["root_token"]
        node.client(root).sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        node.client(root).secrets.kv.v2.create_or_update_secret(path="app", secret={"v": "0"}, mount_point="secret")
        # The KMS going away while the node runs costs nothing: it is needed only to unseal.
        os.kill(moto.pid, signal.SIGSTOP)
        node.client(root).secrets.kv.v2.create_or_update_secret(path="app", secret={"v": "1"}, mount_point="secret")
        assert read(node.client(root), "app") == {"v": "1"} and health(node) == 200
        node.kill()
        node.start()
        wait_until(lambda: "auto-unseal failed" in node.log.read_text(), timeout=40, what="a failed attempt logged")
        assert health(node) == 503
        os.kill(moto.pid, signal.SIGCONT)
        wait_until(lambda: health(node) == 200, timeout=60, what="unsealed once the KMS is back")
        assert read(node.client(root), "app") == {"v": "1"}
    finally:
        node.stop()


def test_a_cluster_with_awskms_comes_back_by_itself_after_all_nodes_are_killed(tmp_path, kms):
    _, endpoint, key_id = kms
    seal = f'''
seal "awskms" {{
  kms_key_id = "{key_id}"
  endpoint   = "{endpoint}"
}}
'''
    # Credentials from the standard AWS variables this time, region from AWS_REGION.
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    n1 = Node(tmp_path, "a1", extra_config=seal).start()
    n2 = Node(tmp_path, "a2", extra_config=seal).start()
    n3 = Node(tmp_path, "a3", extra_config=seal, retry_join=[n1.addr]).start()
    nodes = [n1, n2, n3]
    try:
        init = n1.client().sys.initialize(recovery_shares=1, recovery_threshold=1)
        root = init["root_token"]
        assert n2.client().sys.join_raft_cluster(leader_api_addr=n1.addr)["joined"] is True
        for n in nodes:  # nobody typed a key
            wait_until(lambda: health(n) in (200, 429), what=f"{n.name} unsealed")
        servers = n1.client(root).sys.read_raft_config()["data"]["config"]["servers"]
        assert len(servers) == 3 and all(s["voter"] for s in servers), servers
        client = n2.client(root)
        client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        client.secrets.kv.v2.create_or_update_secret(path="app", secret={"v": "cluster"}, mount_point="secret")

        for n in nodes:
            n.kill()
        for n in nodes:
            n.start()
        wait_until(lambda: sorted(health(n) for n in nodes) == [200, 429, 429], timeout=90, what="one active, two standbys")

        def reads(n):
            # While the restarted cluster settles its leadership a call may get a 503, as a
            # client would; it must then succeed with the data intact.
            try:
                return read(n.client(root), "app") == {"v": "cluster"}
            except hvac.exceptions.VaultDown:
                return False

        for n in nodes:
            wait_until(lambda: reads(n), timeout=30, what=f"the secret read through {n.name}")
    finally:
        for n in nodes:
            n.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_recovery_keys_authorise_generate_root(tmp_path, kms):
    import base64
    import json

    from conftest import cli

    node = kms_node(tmp_path, kms, "kms-gr").start()
    try:
        init = node.client().sys.initialize(recovery_shares=3, recovery_threshold=2)
        root, recovery = init["root_token"], init["recovery_keys_base64"]

        # Two shares that are not this cluster's recovery key are refused.
        attempt = json.loads(cli(node, "operator", "generate-root", "-init", "-format=json", token=root).stdout)
        assert attempt["required"] == 2
        strangers = [base64.b64encode(os.urandom(33)).decode() for _ in range(2)]
        cli(node, "operator", "generate-root", "-format=json", f"-nonce={attempt['nonce']}", strangers[0])
        bad = cli(node, "operator", "generate-root", f"-nonce={attempt['nonce']}", strangers[1], check=False)
        assert bad.returncode != 0
        cli(node, "operator", "generate-root", "-cancel", token=root)

        attempt = json.loads(cli(node, "operator", "generate-root", "-init", "-format=json", token=root).stdout)
        otp, nonce = attempt["otp"], attempt["nonce"]
        updates = [
            json.loads(cli(node, "operator", "generate-root", "-format=json", f"-nonce={nonce}", key).stdout)
            for key in recovery[1:3]
        ]
        assert updates[-1]["complete"] is True
        token = cli(node, "operator", "generate-root", f"-decode={updates[-1]['encoded_token']}", f"-otp={otp}").stdout.strip()
        assert token and token != root
        lookup = json.loads(cli(node, "token", "lookup", "-format=json", token=token).stdout)["data"]
        assert lookup["policies"] == ["root"]
    finally:
        node.stop()


def test_seal_migration_shamir_to_awskms_and_back(tmp_path, kms):
    from conftest import cli

    _, endpoint, key_id = kms
    node = Node(tmp_path, "mig").start()
    shamir_config = node.config.read_text()
    kms_stanza = f'''
seal "awskms" {{
  kms_key_id = "{key_id}"
  endpoint   = "{endpoint}"
  access_key = "test"
  secret_key = "test"
  region     = "us-east-1"
  DISABLED
}}
'''
    try:
        client = node.client()
        init = client.sys.initialize(secret_shares=3, secret_threshold=2)
        keys, root = init["keys_base64"], init["root_token"]
        for k in keys[:2]:
            client.sys.submit_unseal_key(k)
        node.client(root).sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        node.client(root).secrets.kv.v2.create_or_update_secret(path="app", secret={"v": "migrated"}, mount_point="secret")

        # Shamir -> awskms: add the stanza, restart, unseal with -migrate.
        node.stop()
        node.config.write_text(shamir_config + kms_stanza.replace("DISABLED", ""))
        node.start()
        status = node.client().sys.read_seal_status()
        assert status["migration"] is True and status["sealed"] is True, status
        plain = requests.put(f"{node.addr}/v1/sys/unseal", json={"key": keys[0]}, timeout=10)
        assert plain.status_code == 400 and "migrate" in plain.json()["errors"][0]
        for k in keys[1:3]:
            cli(node, "operator", "unseal", "-migrate", k)
        status = node.client().sys.read_seal_status()
        assert status["sealed"] is False and status["type"] == "awskms" and status["migration"] is False, status
        assert read(node.client(root), "app") == {"v": "migrated"}
        node.kill()
        node.start()
        wait_until(lambda: health(node) == 200, what="auto-unsealed after the migration")
        assert read(node.client(root), "app") == {"v": "migrated"}

        # awskms -> Shamir: disable the stanza, restart, unseal with -migrate and the recovery
        # keys (the old unseal keys).
        node.stop()
        node.config.write_text(shamir_config + kms_stanza.replace("DISABLED", 'disabled = "true"'))
        node.start()
        assert node.client().sys.read_seal_status()["migration"] is True
        for k in keys[:2]:
            cli(node, "operator", "unseal", "-migrate", k)
        status = node.client().sys.read_seal_status()
        assert status["sealed"] is False and status["type"] == "shamir" and status["recovery_seal"] is False, status
        assert read(node.client(root), "app") == {"v": "migrated"}
        node.stop()
        node.start()
        assert node.client().sys.read_seal_status()["sealed"] is True
        for k in keys[1:3]:
            node.client().sys.submit_unseal_key(k)
        assert read(node.client(root), "app") == {"v": "migrated"}
    finally:
        node.stop()


def test_rekey_recovery_key_replaces_the_shares_that_authorise(tmp_path, kms):
    import json

    from conftest import assert_vault_error, cli

    node = kms_node(tmp_path, kms, "kms-rk").start()
    try:
        client = node.client()
        init = client.sys.initialize(recovery_shares=3, recovery_threshold=2)
        root, old = init["root_token"], init["recovery_keys_base64"]
        # The unseal key is the KMS's: only the recovery key can be rekeyed.
        assert_vault_error(requests.put(f"{node.addr}/v1/sys/rekey/init", json={"secret_shares": 1, "secret_threshold": 1}, timeout=10), 400)

        started = client.sys.start_rekey(secret_shares=2, secret_threshold=2, recovery_key=True)
        nonce = started["nonce"]
        assert started["required"] == 2
        client.sys.rekey(old[0], nonce=nonce, recovery_key=True)
        done = client.sys.rekey(old[1], nonce=nonce, recovery_key=True)
        assert done["complete"] is True
        new = done["keys_base64"]
        assert len(new) == 2 and not set(new) & set(old)
        assert client.sys.read_seal_status()["n"] == 2

        # Generate-root now wants the new shares; the old ones no longer authorise.
        attempt = json.loads(cli(node, "operator", "generate-root", "-init", "-format=json", token=root).stdout)
        cli(node, "operator", "generate-root", f"-nonce={attempt['nonce']}", old[0])
        refused = cli(node, "operator", "generate-root", f"-nonce={attempt['nonce']}", old[1], check=False)
        assert refused.returncode != 0
        cli(node, "operator", "generate-root", "-cancel", token=root)
        attempt = json.loads(cli(node, "operator", "generate-root", "-init", "-format=json", token=root).stdout)
        updates = [
            json.loads(cli(node, "operator", "generate-root", "-format=json", f"-nonce={attempt['nonce']}", k).stdout)
            for k in new
        ]
        assert updates[-1]["complete"] is True
    finally:
        node.stop()
