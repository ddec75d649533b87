"""Seal migration on a three-node Raft cluster, by Vault's procedure for integrated storage:
shamir -> transit -> awskms -> shamir, every step through `coffer operator unseal -migrate`.

Each step: every node's config gets the new stanza (and the old auto seal's, `disabled =
"true"`); the standbys are restarted one at a time and unsealed with `-migrate` and the old keys
(they unseal with the OLD seal and do not migrate); then the active node is restarted, a standby
takes over and writes the new seal records (while the new seal cannot be reached, the attempt
fails, the old records stay and the node serves by the old seal until a retry succeeds), and the
old active node, unsealed with `-migrate`, catches up. Finally every node is restarted with the new stanza alone and unseals by the new
seal. Every secret, written before and between the steps, stays readable from every node.
The same, shamir -> pkcs11 -> shamir, on SoftHSM2."""
import os
import signal

import hvac
import requests

from conftest import Node, cli
from test_awskms import awskms_stanza, kms, read  # noqa: F401  (kms is a fixture)
from test_cluster import form, health, wait_until
from test_pkcs11 import LIB, PIN, token  # noqa: F401  (token is a fixture: a SoftHSM2 token)
from test_transit_seal import transit_stanza, unsealer  # noqa: F401  (unsealer is a fixture)


def disabled(stanza):
    return stanza.replace("{\n", '{\n  disabled = "true"\n', 1)


def status(node):
    return requests.get(f"{node.addr}/v1/sys/seal-status", timeout=30).json()


def secrets_kept(node, root, written):
    try:
        return all(read(node.client(root), path) == data for path, data in written.items())
    except (hvac.exceptions.VaultDown, hvac.exceptions.InternalServerError, requests.ConnectionError):
        return False  # a cluster that just changed leader may still be settling


class Cluster:
    def __init__(self, nodes):
        self.nodes = nodes
        self.base = {n.name: n.config.read_text() for n in nodes}

    def restart(self, node, *stanzas):
        node.stop()
        node.config.write_text(self.base[node.name] + "".join(stanzas))
        node.start()

    def active(self):
        return wait_until(lambda: next((n for n in self.nodes if health(n) == 200), None), what="an active node")

    def write(self, root, written, prefix):
        client = self.active().client(root)
        for i in range(3):
            path, data = f"{prefix}/{i}", {"v": f"{prefix}-{i}"}
            client.secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point="secret")
            written[path] = data

    def migrate(self, old_keys, during, after, to, new_keys=(), new_seal_down=None):
        """One step of the rolling procedure. `during`: the stanzas while migrating; `after`:
        the new stanza alone; `new_keys`: the unseal keys afterwards when `to` is shamir;
        `new_seal_down`: (stop, resume) the new seal's service around the takeover, to see a
        failed migration leave the old seal in use and be retried."""
        active = self.active()
        standbys = [n for n in self.nodes if n is not active]
        for n in standbys:
            self.restart(n, *during)
            before = status(n)
            assert before["sealed"] is True and before["migration"] is True, before
            for k in old_keys:
                cli(n, "operator", "unseal", "-migrate", k)
            # Unsealed with the old seal, a standby; the migration waits for it to lead.
            wait_until(lambda: health(n) == 429, what=f"{n.name} a standby unsealed by the old seal")
            assert status(n)["migration"] is True
        if new_seal_down:
            new_seal_down[0]()
        self.restart(active, *during)
        if new_seal_down:
            # The new active node cannot wrap the root key: the old records stay, it serves.
            wait_until(lambda: any("seal migration on takeover failed" in n.log.read_text() for n in standbys),
                       timeout=90, what="a failed migration attempt")
            assert all(status(n)["migration"] is True for n in standbys)
            assert self.active() in standbys
            new_seal_down[1]()
        # A standby takes over and writes the new seal records; they replicate to the other.
        wait_until(lambda: all(status(n)["migration"] is False for n in standbys), timeout=90,
                   what="the new active node to migrate the seal")
        # The old active node, stopped before the takeover, has the old records: it unseals with
        # -migrate and the old keys (by the old seal), then catches up. (A standby may also have
        # taken over before it stopped: then it has the new records and unseals by the new seal.)
        if status(active)["migration"]:
            for k in old_keys:
                cli(active, "operator", "unseal", "-migrate", k)
        elif to == "shamir" and status(active)["sealed"]:
            for k in new_keys:
                cli(active, "operator", "unseal", k)
        wait_until(lambda: health(active) == 429 and status(active)["migration"] is False, timeout=90,
                   what=f"{active.name} caught up with the migrated records")
        # The new stanza alone, one node at a time, standbys first: each unseals by the new seal.
        for n in sorted(self.nodes, key=lambda n: health(n) == 200):
            self.restart(n, *after)
            self.unseal_by_new_seal(n, to, new_keys)

    def unseal_by_new_seal(self, node, to, new_keys):
        if to == "shamir":
            assert status(node)["sealed"] is True
            for k in new_keys:
                cli(node, "operator", "unseal", k)
        wait_until(lambda: health(node) in (200, 429), timeout=90, what=f"{node.name} unsealed by {to}")
        got = status(node)
        assert got["type"] == to and got["migration"] is False, got

    def full_restart(self, to, new_keys=()):
        for n in self.nodes:
            n.kill()
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            self.unseal_by_new_seal(n, to, new_keys)
        wait_until(lambda: sorted(health(n) for n in self.nodes) == [200, 429, 429], timeout=90,
                   what="one active node and two standbys")

    def every_node_reads(self, root, written):
        for n in self.nodes:
            wait_until(lambda: secrets_kept(n, root, written), timeout=60, what=f"every secret through {n.name}")


def test_rolling_seal_migrations_shamir_transit_awskms_shamir_on_three_nodes(tmp_path, unsealer, kms):
    nodes = [Node(tmp_path, "m1").start(), Node(tmp_path, "m2").start()]
    nodes.append(Node(tmp_path, "m3", retry_join=[nodes[0].addr]).start())
    cluster = Cluster(nodes)
    transit = transit_stanza(unsealer, unsealer.token())
    awskms = awskms_stanza(kms)
    written = {}
    try:
        keys, root = form(nodes)
        nodes[0].client(root).sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        cluster.write(root, written, "shamir")

        # shamir -> transit: the unseal keys authorise, and become the recovery keys.
        cluster.migrate(keys[1:3], [transit], [transit], "transit")
        cluster.every_node_reads(root, written)
        cluster.full_restart("transit")
        cluster.write(root, written, "transit")

        # transit -> awskms: the old seal disabled next to the new one; the recovery keys authorise.
        moto = kms[0]
        cluster.migrate(keys[:2], [disabled(transit), awskms], [awskms], "awskms",
                        new_seal_down=(lambda: os.kill(moto.pid, signal.SIGSTOP), lambda: os.kill(moto.pid, signal.SIGCONT)))
        # The unsealer is no longer needed.
        unsealer.stop_answering()
        cluster.full_restart("awskms")
        cluster.every_node_reads(root, written)
        unsealer.answer_again()
        cluster.write(root, written, "awskms")

        # awskms -> shamir: the recovery keys become the unseal keys.
        cluster.migrate([keys[0], keys[2]], [disabled(awskms)], [], "shamir", new_keys=keys[1:3])
        cluster.write(root, written, "back-to-shamir")
        cluster.full_restart("shamir", new_keys=[keys[2], keys[0]])
        cluster.every_node_reads(root, written)
        for n in nodes:
            log = n.log.read_text()
            for secret in (root, *keys):
                assert secret not in log
    finally:
        unsealer.answer_again()
        for n in nodes:
            n.stop()


def test_rolling_seal_migrations_shamir_pkcs11_shamir_on_three_nodes(tmp_path, token):
    pkcs11 = f'''
seal "pkcs11" {{
  lib          = "{LIB}"
  token_label  = "coffer"
  pin          = "{PIN}"
  key_label    = "coffer-root-key"
  generate_key = "true"
}}
'''
    nodes = [Node(tmp_path, "h1").start(), Node(tmp_path, "h2").start()]
    nodes.append(Node(tmp_path, "h3", retry_join=[nodes[0].addr]).start())
    cluster = Cluster(nodes)
    written = {}
    try:
        keys, root = form(nodes)
        nodes[0].client(root).sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        cluster.write(root, written, "shamir")
        cluster.migrate(keys[:2], [pkcs11], [pkcs11], "pkcs11")
        cluster.full_restart("pkcs11")
        cluster.write(root, written, "pkcs11")
        cluster.migrate(keys[1:3], [disabled(pkcs11)], [], "shamir", new_keys=keys[:2])
        cluster.full_restart("shamir", new_keys=keys[1:3])
        cluster.every_node_reads(root, written)
    finally:
        for n in nodes:
            n.stop()
