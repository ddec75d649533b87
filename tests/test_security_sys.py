"""What the one table of `sys/` paths (`node/src/sys_paths.rs`) promises, seen from outside:
legacy aliases need sudo exactly as their current forms do, `sys/rotate/config` configures and
never rotates, and requests refused for their token or by policy, and failed logins, are audited
(and fail with 500 when no device can log them)."""
import json
import shutil

import pytest

from conftest import assert_vault_error, http


def alive(node, token):
    return http(node, "GET", "auth/token/lookup-self", token=token).status_code == 200


def term(node, root):
    return http(node, "GET", "sys/key-status", token=root).json()["data"]["term"]


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("path", [
    "sys/revoke-prefix/auth/token/create",
    "sys/revoke-force/auth/token/create",
    "sys/leases/revoke-prefix/auth/token/create",
    "sys/leases/revoke-force/auth/token/create",
])
def test_mass_revocation_needs_sudo_under_every_name(unsealed, path):
    node, root, _keys = unsealed
    client = node.client(root)
    prefix = path.split("/auth/")[0]
    client.sys.create_or_update_policy(
        name="revoker", policy=f'path "{prefix}/*" {{ capabilities = ["update"] }}')
    revoker = client.auth.token.create(ttl="1h", policies=["revoker"])["auth"]["client_token"]
    victim = client.auth.token.create(ttl="1h")["auth"]["client_token"]

    assert_vault_error(http(node, "PUT", path, token=revoker), 403)
    assert alive(node, victim), "a token without sudo mass-revoked"
    assert alive(node, revoker)

    # With sudo on the same path the same call revokes.
    client.sys.create_or_update_policy(
        name="revoker", policy=f'path "{prefix}/*" {{ capabilities = ["update", "sudo"] }}')
    r = http(node, "PUT", path, token=revoker)
    assert r.status_code == 204, r.text
    assert not alive(node, victim)


def test_legacy_revoke_and_renew_work_like_their_current_forms(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    auth = client.auth.token.create(ttl="1h")["auth"]
    lease_id = f"auth/token/create/{auth['accessor']}"
    r = http(node, "PUT", "sys/renew", token=root, json={"lease_id": lease_id, "increment": 7200})
    assert r.status_code == 200, r.text
    assert r.json()["lease_duration"] == 7200
    r = http(node, "PUT", "sys/revoke", token=root, json={"lease_id": lease_id})
    assert r.status_code == 204, r.text
    assert not alive(node, auth["client_token"])


def test_rotate_config_reads_and_writes_without_rotating(unsealed):
    node, root, _keys = unsealed
    before = term(node, root)

    cfg = http(node, "GET", "sys/rotate/config", token=root)
    assert cfg.status_code == 200, cfg.text
    assert cfg.json()["data"] == {"max_operations": 3865470566, "interval": 0, "enabled": True}

    for body in ({"enabled": True}, {"enabled": False, "max_operations": 2000000000, "interval": "4320h"}):
        r = http(node, "POST", "sys/rotate/config", token=root, json=body)
        assert r.status_code == 204, r.text
        assert term(node, root) == before, f"POST sys/rotate/config {body} rotated the key"
    r = http(node, "PUT", "sys/rotate/config", token=root, json={"enabled": True})
    assert r.status_code == 204, r.text
    assert http(node, "GET", "sys/rotate/config", token=root).json()["data"] == {
        "max_operations": 2000000000, "interval": "4320h0m0s", "enabled": True}
    assert term(node, root) == before

    # Vault's bounds: 400 and nothing written.
    assert_vault_error(http(node, "POST", "sys/rotate/config", token=root, json={"max_operations": 5}), 400)
    assert_vault_error(http(node, "POST", "sys/rotate/config", token=root, json={"interval": "1h"}), 400)
    assert http(node, "GET", "sys/rotate/config", token=root).json()["data"]["max_operations"] == 2000000000

    # Only sys/rotate itself rotates; a longer path is no route, not a rotation.
    assert_vault_error(http(node, "POST", "sys/rotate/anything", token=root), 404)
    assert term(node, root) == before
    assert http(node, "POST", "sys/rotate", token=root).status_code == 204
    assert term(node, root) == before + 1


def test_rotate_config_survives_a_restart(unsealed):
    node, root, keys = unsealed
    r = http(node, "POST", "sys/rotate/config", token=root, json={"enabled": False})
    assert r.status_code == 204, r.text
    node.stop()
    node.start()
    client = node.client()
    for key in keys[:3]:
        client.sys.submit_unseal_key(key)
    assert http(node, "GET", "sys/rotate/config", token=root).json()["data"]["enabled"] is False


@pytest.fixture
def audited(unsealed):
    """An unsealed node with userpass (user bob) and a file audit device in its own directory."""
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_auth_method("userpass")
    client.auth.userpass.create_or_update_user(username="bob", password="right-pw", policies=["default"])
    logdir = node.workdir / "audit"
    logdir.mkdir()
    log = logdir / "audit.log"
    client.sys.enable_audit_device(device_type="file", path="file", options={"file_path": str(log)})
    return node, root, log


def test_failed_login_and_refused_requests_are_audited(audited):
    node, root, log = audited
    client = node.client(root)
    client.sys.create_or_update_policy(name="nothing", policy='path "secret/*" { capabilities = ["read"] }')
    limited = client.auth.token.create(policies=["nothing"])["auth"]["client_token"]
    start = len(lines(log))

    r = http(node, "PUT", "auth/userpass/login/bob", json={"password": "wrong-pw"})
    assert r.status_code == 400, r.text
    assert_vault_error(http(node, "GET", "sys/policies/acl/nothing", token="not-a-token"), 403)
    assert_vault_error(http(node, "GET", "sys/policies/acl/nothing", token=limited), 403)

    entries = lines(log)[start:]
    raw = log.read_text()
    assert "wrong-pw" not in raw and "not-a-token" not in raw and limited not in raw

    def pair(path, check):
        hits = [e for e in entries if e["request"]["path"] == path and check(e)]
        assert {e["type"] for e in hits} == {"request", "response"}, (path, entries)
        (resp,) = [e for e in hits if e["type"] == "response"]
        return resp

    login = pair("auth/userpass/login/bob", lambda e: True)
    assert login["error"], login
    bad_token = pair("sys/policies/acl/nothing",
                     lambda e: e["auth"]["client_token"] == client.sys.calculate_hash(
                         path="file", input_to_hash="not-a-token")["data"]["hash"])
    assert bad_token["error"] == "permission denied"
    denied = pair("sys/policies/acl/nothing",
                  lambda e: e["auth"]["client_token"] == client.sys.calculate_hash(
                      path="file", input_to_hash=limited)["data"]["hash"])
    assert denied["error"] == "permission denied"
    assert "nothing" in denied["auth"]["policies"]


def test_unloggable_logins_and_refusals_fail_and_change_nothing(audited):
    node, root, log = audited
    logdir = log.parent
    shutil.rmtree(logdir)
    logdir.write_text("now a file: nothing can be created under it")

    # A right password, but no device can log the login: 500 and no token handed out.
    r = http(node, "PUT", "auth/userpass/login/bob", json={"password": "right-pw"})
    assert_vault_error(r, 500)
    assert "auth" not in r.json() or not r.json().get("auth")
    assert_vault_error(http(node, "GET", "sys/policies/acl/default", token="not-a-token"), 500)

    logdir.unlink()
    logdir.mkdir()
    # Nothing was issued: the only token under the userpass path is the one logged in now.
    r = http(node, "PUT", "auth/userpass/login/bob", json={"password": "right-pw"})
    assert r.status_code == 200, r.text
    leases = http(node, "LIST", "sys/leases/lookup/auth/userpass/login/bob", token=root)
    assert leases.status_code == 200, leases.text
    assert len(leases.json()["data"]["keys"]) == 1
