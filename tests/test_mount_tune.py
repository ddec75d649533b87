"""`sys/mounts/<p>/tune` and `sys/auth/<p>/tune` keep Vault's tunables (listing visibility,
audit non-HMAC keys, passthrough and allowed headers, description) and the audit device leaves the
non-HMAC keys of that mount's requests and responses in plain."""
import json

from conftest import assert_vault_error, http

TUNABLES = {
    "listing_visibility": "unauth",
    "audit_non_hmac_request_keys": ["public"],
    "audit_non_hmac_response_keys": ["public", "shown"],
    "passthrough_request_headers": ["X-Custom"],
    "allowed_response_headers": ["X-Reply"],
}


def test_tune_stores_and_reads_back_vaults_tunables(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="kv")
    client.sys.enable_auth_method(method_type="userpass", path="userpass")

    for tune_path in ["sys/mounts/kv/tune", "sys/auth/userpass/tune"]:
        r = http(node, "POST", tune_path, token=root, json={**TUNABLES, "description": "tuned"})
        assert r.status_code == 204, r.text
        read = http(node, "GET", tune_path, token=root).json()["data"]
        for key, value in TUNABLES.items():
            assert read[key] == value, (tune_path, key, read)
        assert read["description"] == "tuned"
    assert client.sys.read_auth_method_tuning("userpass")["data"]["token_type"] == "default-service"
    # hvac's tune call, comma strings as Vault's CLI sends them; the listing shows them too.
    client.sys.tune_mount_configuration("kv", audit_non_hmac_request_keys="a,b", listing_visibility="hidden")
    listed = client.sys.list_mounted_secrets_engines()["data"]["kv/"]["config"]
    assert listed["audit_non_hmac_request_keys"] == ["a", "b"]
    assert listed["listing_visibility"] == "hidden"
    assert listed["allowed_response_headers"] == ["X-Reply"], "a tune keeps what it does not name"

    errors = assert_vault_error(http(node, "POST", "sys/mounts/kv/tune", token=root,
                                     json={"listing_visibility": "loud"}), 400)
    assert errors == ["invalid listing_visibility loud"]
    assert client.sys.read_mount_configuration("kv")["data"]["listing_visibility"] == "hidden"


def test_audit_leaves_a_mounts_non_hmac_keys_in_plain(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="kv")
    log = node.workdir / "audit.log"
    client.sys.enable_audit_device(device_type="file", path="file", options={"file_path": str(log)})
    http(node, "POST", "sys/mounts/kv/tune", token=root, json={
        "audit_non_hmac_request_keys": ["public"], "audit_non_hmac_response_keys": ["shown"]})
    r = http(node, "PUT", "kv/app", token=root, json={"public": "plain-in", "shown": "hidden-in", "secret": "s3"})
    assert r.status_code == 204, r.text
    assert http(node, "GET", "kv/app", token=root).status_code == 200

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    write = [e for e in lines if e["type"] == "request" and e["request"]["path"] == "kv/app"
             and e["request"]["operation"] in ("create", "update")][0]
    assert write["request"]["data"]["public"] == "plain-in"
    assert write["request"]["data"]["shown"].startswith("hmac-sha256:")
    assert write["request"]["data"]["secret"].startswith("hmac-sha256:")
    read = [e for e in lines if e["type"] == "response" and e["request"]["path"] == "kv/app"
            and e["request"]["operation"] == "read"][0]
    assert read["response"]["data"]["shown"] == "hidden-in"
    assert read["response"]["data"]["public"].startswith("hmac-sha256:")
    assert read["response"]["data"]["secret"].startswith("hmac-sha256:")
    assert "s3" not in log.read_text()
