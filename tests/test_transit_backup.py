"""Transit key lifecycle endpoints through hvac and raw HTTP: backup/restore (Vault's rules:
exportable + allow_plaintext_backup, no overwrite without force), cache-config, and
auto_rotate_period with Coffer's lazy rotation (at the key's next use)."""
import base64
import json

import hvac
import pytest

from conftest import assert_vault_error, http
from transit_helpers import start_transit_node, b64, unb64, encrypt, decrypt


@pytest.fixture(scope="module")
def transit(tmp_path_factory):
    node, root, client = start_transit_node(tmp_path_factory, "transit-lifecycle")
    yield node, root, client
    node.stop()


def test_backup_needs_exportable_and_plaintext_backup(transit):
    node, root, client = transit
    client.secrets.transit.create_key(name="not-exportable", allow_plaintext_backup=True)
    client.secrets.transit.create_key(name="no-backup", exportable=True)
    # Vault's backend returns these as plain errors, which Vault answers with 500.
    r = http(node, "GET", "transit/backup/not-exportable", token=root)
    assert_vault_error(r, 500)
    assert r.json()["errors"] == ["exporting is disallowed on the policy"]
    r = http(node, "GET", "transit/backup/no-backup", token=root)
    assert_vault_error(r, 500)
    assert r.json()["errors"] == ["plaintext backup is disallowed on the policy"]
    assert_vault_error(http(node, "GET", "transit/backup/missing", token=root), 500)
    r = http(node, "POST", "transit/restore", token=root, json={})
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ["'backup' must be supplied"]


def test_restored_key_decrypts_what_was_encrypted_before_the_backup(transit):
    node, root, client = transit
    t = client.secrets.transit
    t.create_key(name="bk", exportable=True, allow_plaintext_backup=True)
    old = encrypt(client, "bk", b"before rotation")
    t.rotate_key(name="bk")
    newer = encrypt(client, "bk", b"after rotation")
    blob = t.backup_key(name="bk")["data"]["backup"]
    base64.b64decode(blob, validate=True)

    # Under another name (restore/<name>), every version comes along.
    t.restore_key(backup=blob, name="bk-copy")
    assert decrypt(client, "bk-copy", old) == b"before rotation"
    assert decrypt(client, "bk-copy", newer) == b"after rotation"
    assert t.read_key(name="bk-copy")["data"]["latest_version"] == 2

    # An existing key is not replaced without force, by either form of the path.
    with pytest.raises(hvac.exceptions.InternalServerError, match="already exists"):
        t.restore_key(backup=blob, name="bk-copy")
    with pytest.raises(hvac.exceptions.InternalServerError, match="already exists"):
        t.restore_key(backup=blob)
    t.rotate_key(name="bk-copy")
    t.restore_key(backup=blob, name="bk-copy", force=True)
    assert t.read_key(name="bk-copy")["data"]["latest_version"] == 2, "force replaced the key"

    # Under its own name (plain `restore`) once the original is gone.
    t.update_key_configuration(name="bk", deletion_allowed=True)
    t.delete_key(name="bk")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        decrypt(client, "bk", old)
    r = http(node, "POST", "transit/restore", token=root, json={"backup": blob})
    assert r.status_code == 204, r.text
    assert decrypt(client, "bk", old) == b"before rotation"

    assert_vault_error(http(node, "POST", "transit/restore/x", token=root, json={"backup": "not a backup"}), 400)


def test_signing_keys_survive_backup_and_restore(transit):
    _, _, client = transit
    t = client.secrets.transit
    t.create_key(name="sig-bk", key_type="ecdsa-p256", exportable=True, allow_plaintext_backup=True)
    sig = t.sign_data(name="sig-bk", hash_input=b64(b"m"))["data"]["signature"]
    t.restore_key(backup=t.backup_key(name="sig-bk")["data"]["backup"], name="sig-restored")
    assert t.verify_signed_data(name="sig-restored", hash_input=b64(b"m"), signature=sig)["data"]["valid"] is True


def test_cache_config_has_vaults_shape(transit):
    node, root, _ = transit
    r = http(node, "GET", "transit/cache-config", token=root)
    assert r.status_code == 200 and r.json()["data"] == {"size": 0}
    r = http(node, "POST", "transit/cache-config", token=root, json={"size": 5})
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ["size must be 0 or a value greater or equal to 10"]
    r = http(node, "POST", "transit/cache-config", token=root, json={"size": 500})
    assert r.status_code == 200 and r.json()["data"] == {"size": 500}
    assert http(node, "GET", "transit/cache-config", token=root).json()["data"] == {"size": 500}


def test_auto_rotate_period_is_kept_and_a_due_key_rotates_at_its_next_use(transit):
    node, root, client = transit
    t = client.secrets.transit
    t.create_key(name="auto", exportable=True, allow_plaintext_backup=True)
    t.update_key_configuration(name="auto", auto_rotate_period="2h")
    assert t.read_key(name="auto")["data"]["auto_rotate_period"] == 7200
    with pytest.raises(hvac.exceptions.InvalidRequest, match="at least an hour"):
        t.update_key_configuration(name="auto", auto_rotate_period="30m")
    old = encrypt(client, "auto", b"v1")
    assert old.startswith("vault:v1:")

    # A key whose latest version is older than its period: age the version inside Coffer's own
    # backup blob (a test can't wait hours), restore it, and use it.
    blob = json.loads(unb64(t.backup_key(name="auto")["data"]["backup"]))
    blob["policy"]["versions"]["1"]["creation_time"] -= 3 * 3600
    t.restore_key(backup=b64(json.dumps(blob).encode()), name="auto", force=True)
    fresh = encrypt(client, "auto", b"v2")
    assert fresh.startswith("vault:v2:"), "the due key rotated before this use"
    assert t.read_key(name="auto")["data"]["latest_version"] == 2
    assert encrypt(client, "auto", b"again").startswith("vault:v2:"), "the new version restarted the period"
    assert decrypt(client, "auto", old) == b"v1"
