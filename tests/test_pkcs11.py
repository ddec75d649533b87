"""Auto-unseal through a PKCS#11 HSM: SoftHSM2 with a token under the test's temp dir. The AES key
is generated inside the token on first use; a node restarts unsealed with nobody typing a key."""
import subprocess

import pytest
import requests

from conftest import Node, health, wait_until

LIB = "/usr/lib/softhsm/libsofthsm2.so"
# A PIN no port number or timestamp in the log can contain by chance (a test that greps the log
# for "4321" once matched the port 43211).
PIN = "hsm-pin-7f3c"


@pytest.fixture
def token(tmp_path, monkeypatch):
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "coffer", "--pin", PIN, "--so-pin", "8765"],
        check=True, capture_output=True,
    )
    return tokens


@pytest.mark.parametrize("mechanism", ["", 'mechanism = "CKM_RSA_PKCS_OAEP"'], ids=["aes-gcm", "rsa-oaep"])
def test_init_on_softhsm_and_a_restart_unseals_by_itself(tmp_path, token, mechanism):
    seal = f'''
seal "pkcs11" {{
  lib          = "{LIB}"
  token_label  = "coffer"
  pin          = "{PIN}"
  key_label    = "coffer-root-key"
  generate_key = "true"
  {mechanism}
}}
'''
    node = Node(tmp_path, "hsm1", extra_config=seal).start()
    try:
        client = node.client()
        assert client.sys.read_seal_status()["type"] == "pkcs11"
        init = client.sys.initialize(recovery_shares=3, recovery_threshold=2)
        assert init["keys"] == [] and len(init["recovery_keys"]) == 3
        root = init["root_token"]
        client = node.client(root)
        client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        client.secrets.kv.v2.create_or_update_secret(path="app", secret={"v": "in-hsm"}, mount_point="secret")

        node.kill()
        node.start()
        wait_until(lambda: health(node) == 200, what="the node unsealed by itself")
        got = node.client(root).secrets.kv.v2.read_secret_version(path="app", mount_point="secret", raise_on_deleted_version=True)
        assert got["data"]["data"] == {"v": "in-hsm"}
        assert PIN not in node.log.read_text()
    finally:
        node.stop()


def test_a_missing_key_without_generate_key_keeps_the_node_from_starting_init(tmp_path, token):
    seal = f'''
seal "pkcs11" {{
  lib         = "{LIB}"
  token_label = "coffer"
  pin         = "{PIN}"
  key_label   = "absent"
}}
'''
    node = Node(tmp_path, "hsm2", extra_config=seal).start()
    try:
        r = requests.put(f"{node.addr}/v1/sys/init", json={"recovery_shares": 1, "recovery_threshold": 1}, timeout=10)
        assert r.status_code >= 400 and r.json()["errors"], r.text
        assert requests.get(f"{node.addr}/v1/sys/init", timeout=5).json()["initialized"] is False
    finally:
        node.stop()
