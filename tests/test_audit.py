"""Audit devices: `sys/audit` enable/list/disable of a `file` device, JSON lines with secret values
HMAC'd (matching `sys/audit-hash`), and a request that no device can log fails and changes nothing."""
import json
import shutil

import hvac
import pytest

from conftest import assert_vault_error, cli, http

SECRET = "correct-horse-battery-staple"


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_file_device_logs_hashed_values_that_audit_hash_reproduces(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    log = node.workdir / "audit" / "audit.log"
    log.parent.mkdir()
    client.sys.enable_audit_device(device_type="file", path="file", options={"file_path": str(log)})

    devices = client.sys.list_enabled_audit_devices()["data"]
    assert devices["file/"]["type"] == "file"
    assert devices["file/"]["options"]["file_path"] == str(log)

    client.secrets.kv.v2.create_or_update_secret(path="app", secret={"password": SECRET}, mount_point="secret")
    read = client.secrets.kv.v2.read_secret_version(path="app", mount_point="secret", raise_on_deleted_version=True)
    assert read["data"]["data"]["password"] == SECRET

    raw = log.read_text()
    assert SECRET not in raw, "a secret value reached the audit log in plain"
    assert root not in raw, "the root token reached the audit log in plain"
    entries = lines(log)
    assert {e["type"] for e in entries} == {"request", "response"}

    expected = client.sys.calculate_hash(path="file", input_to_hash=SECRET)["data"]["hash"]
    assert expected.startswith("hmac-sha256:")
    write_req = [e for e in entries if e["type"] == "request" and e["request"]["path"] == "secret/data/app"
                 and e["request"]["operation"] in ("create", "update")]
    assert write_req, entries
    assert write_req[0]["request"]["data"]["data"]["password"] == expected
    read_resp = [e for e in entries if e["type"] == "response" and e["request"]["path"] == "secret/data/app"
                 and e["request"]["operation"] == "read"]
    assert read_resp[0]["response"]["data"]["data"]["password"] == expected
    token_hash = client.sys.calculate_hash(path="file", input_to_hash=root)["data"]["hash"]
    assert write_req[0]["auth"]["client_token"] == token_hash

    # Every request has its line before its answer: the request and response ids pair up
    # (except the enable itself, which ran before the device existed).
    ids = [(e["type"], e["request"]["id"]) for e in entries]
    for (kind, rid), e in zip(ids, entries):
        if kind == "response" and e["request"]["path"] != "sys/audit/file":
            assert ids.index(("request", rid)) < ids.index(("response", rid))

    # Unknown device type, missing path, duplicate path: 400, nothing enabled.
    assert_vault_error(http(node, "PUT", "sys/audit/x", token=root, json={"type": "socketz"}), 400)
    assert_vault_error(http(node, "PUT", "sys/audit/y", token=root, json={"type": "file"}), 400)
    assert_vault_error(http(node, "PUT", "sys/audit/file", token=root,
                            json={"type": "file", "options": {"file_path": str(log)}}), 400)
    assert set(client.sys.list_enabled_audit_devices()["data"]) == {"file/"}
    # A limited token cannot touch the audit table.
    client.sys.create_or_update_policy(name="kv-only", policy='path "secret/*" { capabilities = ["read"] }')
    limited = client.auth.token.create(policies=["kv-only"])["auth"]["client_token"]
    assert_vault_error(http(node, "PUT", "sys/audit/z", token=limited,
                            json={"type": "file", "options": {"file_path": str(log) + "2"}}), 403)

    client.sys.disable_audit_device(path="file")
    assert client.sys.list_enabled_audit_devices()["data"] == {}
    before = log.read_text()
    client.secrets.kv.v2.create_or_update_secret(path="after", secret={"v": "x"}, mount_point="secret")
    assert log.read_text() == before, "a disabled device still logs"


def test_cli_audit_commands(unsealed):
    node, root, _keys = unsealed
    log = node.workdir / "cli-audit.log"
    cli(node, "audit", "enable", "file", f"file_path={log}", token=root)
    out = cli(node, "audit", "list", "-format=json", token=root).stdout
    assert json.loads(out)["file/"]["options"]["file_path"] == str(log)
    cli(node, "audit", "disable", "file", token=root)
    assert json.loads(cli(node, "audit", "list", "-format=json", token=root).stdout) == {}


@pytest.mark.parametrize("how", ["directory-gone", "dev-full"])
def test_a_request_no_device_can_log_fails_and_changes_nothing(unsealed, how):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    logdir = node.workdir / "auditdir"
    logdir.mkdir()
    log = logdir / "audit.log"
    client.sys.enable_audit_device(device_type="file", path="file", options={"file_path": str(log)})
    client.secrets.kv.v2.create_or_update_secret(path="app", secret={"v": "before"}, mount_point="secret")

    if how == "directory-gone":
        shutil.rmtree(logdir)
        logdir.write_text("now a file: nothing can be created under it")
    else:
        log.unlink()
        log.symlink_to("/dev/full")

    r = http(node, "POST", "secret/data/app", token=root, json={"data": {"v": "after"}})
    assert_vault_error(r, 500)

    # Repair the log and the value is still the old one.
    if how == "directory-gone":
        logdir.unlink()
        logdir.mkdir()
    else:
        log.unlink()
    read = client.secrets.kv.v2.read_secret_version(path="app", mount_point="secret", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"v": "before"}
    assert read["data"]["metadata"]["version"] == 1
