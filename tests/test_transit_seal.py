"""Auto-unseal through the transit engine of another cluster (`seal "transit"`, as Vault's): an
"unsealer" Coffer dev node holds the key; a transit-sealed cluster comes back by itself after a
full restart while the unsealer is up, stays sealed (503) while it is not answering and unseals
by itself when it answers again; the seal token is renewed; and seal migrations
shamir -> transit -> awskms -> shamir through `operator unseal -migrate` keep every secret (one
node here; three nodes, by Vault's rolling procedure, in test_seal_migration_cluster.py)."""
import os
import signal
import subprocess
import time

import hvac
import pytest
import requests

from conftest import COFFER_BIN, Node, cli, free_port
from test_awskms import awskms_stanza, health, kms, read, wait_until  # noqa: F401  (kms is a fixture)

KEY = "autounseal"
POLICY = f'''
path "transit/encrypt/{KEY}" {{ capabilities = ["update"] }}
path "transit/decrypt/{KEY}" {{ capabilities = ["update"] }}
'''
SECRETS = {f"app/{i}": {"v": f"value-{i}", "n": str(i)} for i in range(5)}


class Unsealer:
    """`coffer server -dev` with transit enabled, key `autounseal` and a policy to use it."""

    def __init__(self, tmp_path):
        self.addr = f"http://127.0.0.1:{free_port()}"
        self.log = tmp_path / "unsealer.log"
        self.proc = subprocess.Popen(
            [COFFER_BIN, "server", "-dev", "-dev-root-token-id=unsealer-root",
             f"-dev-listen-address={self.addr.removeprefix('http://')}"],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
        )
        wait_until(self.up, what="the unsealer to answer")
        root = self.client("unsealer-root")
        root.sys.enable_secrets_engine(backend_type="transit", path="transit")
        root.secrets.transit.create_key(name=KEY)
        root.sys.create_or_update_policy(name="autounseal", policy=POLICY)

    def up(self):
        try:
            return requests.get(f"{self.addr}/v1/sys/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def client(self, token):
        return hvac.Client(url=self.addr, token=token)

    def token(self, ttl="1h"):
        created = self.client("unsealer-root").auth.token.create(
            policies=["autounseal"], ttl=ttl, explicit_max_ttl="2h", renewable=True)
        return created["auth"]["client_token"]

    def stop_answering(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def answer_again(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def close(self):
        self.answer_again()
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture
def unsealer(tmp_path):
    u = Unsealer(tmp_path)
    yield u
    u.close()


def transit_stanza(unsealer, token, extra=""):
    return f'''
seal "transit" {{
  address    = "{unsealer.addr}"
  token      = "{token}"
  key_name   = "{KEY}"
  mount_path = "transit/"
  {extra}
}}
'''


def write_secrets(client):
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    for path, data in SECRETS.items():
        client.secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point="secret")


def all_secrets_kept(node, root):
    try:
        return all(read(node.client(root), path) == data for path, data in SECRETS.items())
    except (hvac.exceptions.VaultDown, hvac.exceptions.InternalServerError):
        return False  # a restarted cluster may still be settling its leadership


def secret_status(node, root):
    return requests.get(f"{node.addr}/v1/secret/data/app/0", headers={"X-Vault-Token": root}, timeout=30).status_code


def test_a_transit_sealed_cluster_unseals_by_itself_and_waits_for_its_unsealer(tmp_path, unsealer):
    seal = transit_stanza(unsealer, unsealer.token())
    n1 = Node(tmp_path, "t1", extra_config=seal).start()
    n2 = Node(tmp_path, "t2", extra_config=seal).start()
    n3 = Node(tmp_path, "t3", extra_config=seal, retry_join=[n1.addr]).start()
    nodes = [n1, n2, n3]
    try:
        status = n1.client().sys.read_seal_status()
        assert status["type"] == "transit" and status["recovery_seal"] is True, status
        init = n1.client().sys.initialize(recovery_shares=5, recovery_threshold=3)
        assert init["keys"] == [] and len(init["recovery_keys_base64"]) == 5
        root = init["root_token"]
        assert n2.client().sys.join_raft_cluster(leader_api_addr=n1.addr)["joined"] is True
        for n in nodes:  # nobody typed a key
            wait_until(lambda: health(n) in (200, 429), what=f"{n.name} unsealed")
        servers = n1.client(root).sys.read_raft_config()["data"]["config"]["servers"]
        assert len(servers) == 3 and all(s["voter"] for s in servers), servers
        write_secrets(n2.client(root))

        # A full restart with the unsealer up: back by itself.
        for n in nodes:
            n.kill()
        for n in nodes:
            n.start()
        wait_until(lambda: sorted(health(n) for n in nodes) == [200, 429, 429], timeout=90, what="one active, two standbys")
        for n in nodes:
            wait_until(lambda: all_secrets_kept(n, root), timeout=30, what=f"every secret through {n.name}")

        # A full restart while the unsealer does not answer: sealed, 503, retrying.
        unsealer.stop_answering()
        for n in nodes:
            n.kill()
        failures = {n.name: n.log.read_text().count("auto-unseal failed") for n in nodes}
        for n in nodes:
            n.start()
        for n in nodes:
            wait_until(lambda: n.log.read_text().count("auto-unseal failed") >= failures[n.name] + 2,
                       timeout=90, what=f"{n.name} retrying")
        for n in nodes:
            assert health(n) == 503
            assert n.client().sys.read_seal_status()["sealed"] is True
            assert secret_status(n, root) == 503

        unsealer.answer_again()
        wait_until(lambda: sorted(health(n) for n in nodes) == [200, 429, 429], timeout=90, what="unsealed once the unsealer answers")
        for n in nodes:
            wait_until(lambda: all_secrets_kept(n, root), timeout=30, what=f"every secret through {n.name}")
        for n in nodes:
            log = n.log.read_text()
            assert "transit" in log and "auto-unsealed" in log
            for secret in (root, *init["recovery_keys_base64"], "value-0"):
                assert secret not in log
    finally:
        for n in nodes:
            n.stop()


def test_the_seal_token_is_renewed_unless_renewal_is_disabled(tmp_path, unsealer):
    admin = unsealer.client("unsealer-root")
    renewed, fixed = unsealer.token(ttl="3s"), unsealer.token(ttl="3s")
    node = Node(tmp_path, "renew", extra_config=transit_stanza(unsealer, renewed)).start()
    other = Node(tmp_path, "norenew", extra_config=transit_stanza(unsealer, fixed, 'disable_renewal = "true"')).start()
    try:
        for n in (node, other):
            n.client().sys.initialize(recovery_shares=1, recovery_threshold=1)
        issued = {t: admin.auth.token.lookup(t)["data"]["expire_time"] for t in (renewed, fixed)}

        def alive(token):
            try:
                return admin.auth.token.lookup(token)["data"]
            except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest):
                return None

        # The renewing node keeps its token alive past its first expiry; the other lets it lapse.
        wait_until(lambda: alive(fixed) is None, timeout=30, what="the unrenewed token to expire")
        wait_until(lambda: (alive(renewed) or {}).get("expire_time", issued[renewed]) > issued[renewed], timeout=30, what="a renewal")
        assert alive(renewed) is not None
        node.kill()
        node.start()
        wait_until(lambda: health(node) == 200, what="auto-unsealed with the renewed token")
    finally:
        node.stop()
        other.stop()


def test_seal_migrations_shamir_transit_awskms_shamir_keep_every_secret(tmp_path, unsealer, kms):
    node = Node(tmp_path, "mig").start()
    shamir_config = node.config.read_text()
    transit = transit_stanza(unsealer, unsealer.token())
    awskms = awskms_stanza(kms)

    def disabled(stanza):
        return stanza.replace("{\n", '{\n  disabled = "true"\n', 1)

    def restart_with(*stanzas):
        node.stop()
        node.config.write_text(shamir_config + "".join(stanzas))
        node.start()

    def migrate(keys, to):
        status = node.client().sys.read_seal_status()
        assert status["migration"] is True and status["sealed"] is True, status
        for k in keys:
            cli(node, "operator", "unseal", "-migrate", k)
        status = node.client().sys.read_seal_status()
        assert status["sealed"] is False and status["type"] == to and status["migration"] is False, status
        assert all_secrets_kept(node, root)

    try:
        init = node.client().sys.initialize(secret_shares=3, secret_threshold=2)
        keys, root = init["keys_base64"], init["root_token"]
        for k in keys[:2]:
            node.client().sys.submit_unseal_key(k)
        write_secrets(node.client(root))

        # shamir -> transit: the unseal keys authorise, and become the recovery keys.
        restart_with(transit)
        migrate(keys[1:3], "transit")
        node.kill()
        node.start()
        wait_until(lambda: health(node) == 200, what="auto-unsealed through transit")
        assert all_secrets_kept(node, root)

        # transit -> awskms: the old seal disabled, the new one enabled; the recovery keys authorise.
        restart_with(disabled(transit), awskms)
        migrate(keys[:2], "awskms")
        assert node.client().sys.read_seal_status()["recovery_seal"] is True
        # The unsealer is no longer needed: a restart without it unseals through KMS.
        unsealer.stop_answering()
        restart_with(awskms)
        wait_until(lambda: health(node) == 200, what="auto-unsealed through awskms")
        assert all_secrets_kept(node, root)
        unsealer.answer_again()

        # awskms -> shamir: the recovery keys become the unseal keys again.
        restart_with(disabled(awskms))
        migrate([keys[0], keys[2]], "shamir")
        restart_with()
        assert node.client().sys.read_seal_status()["sealed"] is True
        for k in keys[1:3]:
            node.client().sys.submit_unseal_key(k)
        assert all_secrets_kept(node, root)
    finally:
        unsealer.answer_again()
        node.stop()

