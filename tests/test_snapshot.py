"""Raft snapshot save/restore (`sys/storage/raft/snapshot`, `operator raft snapshot`) on one node."""
import json

import hvac
import pytest

from conftest import Node, assert_vault_error, cli, http

MAGIC = "COFFER-SNAPSHOT-1\n"


def read(client, path):
    return client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)["data"]["data"]


def test_save_restore_round_trip_and_tamper(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    client.secrets.kv.v2.create_or_update_secret(path="a", secret={"v": "A"}, mount_point="secret")

    snap = node.workdir / "raft.snap"
    cli(node, "operator", "raft", "snapshot", "save", str(snap), token=root)
    archive = snap.read_text()
    assert archive.startswith(MAGIC)
    header = json.loads(archive[len(MAGIC):].split("\n", 1)[0])
    assert set(header) == {"cluster_id", "term", "index", "pairs", "sha256"}
    assert header["cluster_id"] and header["pairs"] > 0
    assert '"A"' not in archive, "the archive holds ciphertext only"

    # Without a token: refused.
    assert_vault_error(http(node, "GET", "sys/storage/raft/snapshot"), 403)

    # Change things after the snapshot: a new secret, a new mount, A deleted for good.
    client.secrets.kv.v2.create_or_update_secret(path="b", secret={"v": "B"}, mount_point="secret")
    client.sys.enable_secrets_engine(backend_type="kv", path="later", options={"version": "1"})
    client.secrets.kv.v2.delete_metadata_and_all_versions(path="a", mount_point="secret")
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, "a")

    cli(node, "operator", "raft", "snapshot", "restore", str(snap), token=root)

    assert read(client, "a") == {"v": "A"}
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, "b")
    assert "later/" not in client.sys.list_mounted_secrets_engines()["data"]
    assert client.sys.is_sealed() is False

    # Tampered payload: one byte changed, refused with 400, nothing changes.
    client.secrets.kv.v2.create_or_update_secret(path="c", secret={"v": "C"}, mount_point="secret")
    payload_at = archive.index("\n", len(MAGIC)) + 1
    at = archive.index('"k":"', payload_at) + len('"k":"')
    tampered = archive[:at] + ("X" if archive[at] != "X" else "Y") + archive[at + 1:]
    errors = assert_vault_error(
        http(node, "POST", "sys/storage/raft/snapshot", token=root, data=tampered), 400
    )
    assert any("checksum" in e for e in errors), errors
    bad = node.workdir / "bad.snap"
    bad.write_text(tampered)
    result = cli(node, "operator", "raft", "snapshot", "restore", str(bad), token=root, check=False)
    assert result.returncode != 0 and "400" in result.stderr, result.stderr
    # Not an archive at all, and no body.
    assert_vault_error(http(node, "POST", "sys/storage/raft/snapshot", token=root, data="hello"), 400)
    assert_vault_error(http(node, "POST", "sys/storage/raft/snapshot", token=root, data=b""), 400)
    assert read(client, "c") == {"v": "C"}
    assert read(client, "a") == {"v": "A"}

    # Another cluster's id: refused by snapshot, accepted by snapshot-force.
    other = dict(header, cluster_id="some-other-cluster")
    foreign = MAGIC + json.dumps(other) + "\n" + archive[payload_at:]
    errors = assert_vault_error(
        http(node, "POST", "sys/storage/raft/snapshot", token=root, data=foreign), 400
    )
    assert any("different cluster" in e for e in errors), errors
    assert read(client, "c") == {"v": "C"}
    forced = http(node, "POST", "sys/storage/raft/snapshot-force", token=root, data=foreign)
    assert forced.status_code == 204, forced.text
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, "c")
    assert read(client, "a") == {"v": "A"}


def test_a_snapshot_larger_than_the_default_body_limits_round_trips(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    blob = "x" * 100_000
    for i in range(40):  # ~4 MB of secrets, ~5.5 MB of archive: above axum's and ureq's defaults
        client.secrets.kv.v2.create_or_update_secret(path=f"big{i}", secret={"v": blob, "i": str(i)}, mount_point="secret")
    snap = node.workdir / "big.snap"
    cli(node, "operator", "raft", "snapshot", "save", str(snap), token=root)
    assert snap.stat().st_size > 4_000_000
    client.secrets.kv.v2.delete_metadata_and_all_versions(path="big7", mount_point="secret")
    cli(node, "operator", "raft", "snapshot", "restore", str(snap), token=root)
    assert read(client, "big7") == {"v": blob, "i": "7"}


def test_log_compaction_follows_snapshot_threshold_and_trailing_logs(tmp_path):
    """`snapshot_threshold` and `trailing_logs` from the raft stanza reach Raft: the log is
    compacted behind a snapshot, and a restart rebuilds the data from snapshot plus log."""
    node = Node(tmp_path, "compact", storage_config="  snapshot_threshold = 40\n  trailing_logs = 5").start()
    try:
        client = node.client()
        init = client.sys.initialize(secret_shares=1, secret_threshold=1)
        client.sys.submit_unseal_key(init["keys"][0])
        client.token = init["root_token"]
        client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        for i in range(120):
            client.secrets.kv.v2.create_or_update_secret(path=f"c{i}", secret={"v": str(i)}, mount_point="secret")

        def gauges():
            text = http(node, "GET", "sys/metrics", token=init["root_token"], params={"format": "prometheus"}).text
            return {l.split()[0]: float(l.split()[1]) for l in text.splitlines() if l.startswith("coffer_raft_")}

        g = gauges()
        assert g["coffer_raft_snapshot_index"] > 0, g
        assert g["coffer_raft_purged_index"] > 0, g
        assert g["coffer_raft_last_log_index"] - g["coffer_raft_purged_index"] < 120, "the log was compacted"

        node.stop()
        node.start()
        client = node.client(init["root_token"])
        client.sys.submit_unseal_key(init["keys"][0])
        for i in (0, 59, 119):
            assert read(client, f"c{i}") == {"v": str(i)}
    finally:
        node.stop()
