"""Security, seen from outside: every escalation and stall the security issue lists, refused
with Vault's status and error.

No path from a limited token to root through token creation, as Vault 1.16 refuses them.

Each test first gives a token only the capability the escalation needs, then asks for root
through that door and checks Vault's status and message. Also: use limits hold under
concurrency, renewals stay within the mount's max TTL, and absurd durations are a 400.

What the one table of `sys/` paths (`node/src/sys_paths.rs`) promises, seen from outside:
legacy aliases need sudo exactly as their current forms do, `sys/rotate/config` configures and
never rotates, and requests refused for their token or by policy, and failed logins, are audited
(and fail with 500 when no device can log them).

No single request stalls a node or the cluster: bodies over the listener's max_request_size
are refused with Vault's 413 before they are read or authenticated, writes over raft's
max_entry_size are refused before they are proposed, and a client that sends its request head
too slowly is cut off after http_read_header_timeout.
"""

from concurrent.futures import ThreadPoolExecutor
import json
import shutil
import socket
import time

import pytest
import requests

from conftest import Node, assert_vault_error, http, init_and_unseal
from test_cluster import cluster, form, health, wait_until  # noqa: F401 (cluster is a fixture)


# -------------------- Token creation: no path to root --------------------

READ_KV = 'path "kv1/*" { capabilities = ["read"] }'


@pytest.fixture
def env(unsealed):
    """An unsealed node with kv1/s written and the read-kv policy: (node, root client)."""
    node, root, _ = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="kv1")
    client.secrets.kv.v1.create_or_update_secret(path="s", secret={"v": "1"}, mount_point="kv1")
    client.sys.create_or_update_policy("read-kv", READ_KV)
    return node, client


def limited_token(client, name, hcl):
    """A child token of root whose only non-default policy is `hcl`."""
    client.sys.create_or_update_policy(name, hcl)
    return client.auth.token.create(policies=[name])["auth"]["client_token"]


def refused(response, status, message):
    errors = assert_vault_error(response, status)
    assert any(message in e for e in errors), errors


def cannot_enable_mounts(node, token):
    r = http(node, "POST", "sys/mounts/evil", token=token, json={"type": "kv"})
    assert_vault_error(r, 403)


# --- token creation -------------------------------------------------------------------------

def test_a_role_with_default_settings_grants_no_policy_beyond_the_parents(env):
    node, root = env
    root.auth.token.create_or_update_role("r1")
    token = limited_token(root, "use-r1", 'path "auth/token/create/r1" { capabilities = ["update"] }')
    r = http(node, "POST", "auth/token/create/r1", token=token, json={"policies": ["root"]})
    refused(r, 400, "child policies must be subset of parent")
    r = http(node, "POST", "auth/token/create/r1", token=token, json={"policies": ["read-kv"]})
    refused(r, 400, "child policies must be subset of parent")
    # Asking for nothing gives the parent's own policies, never more.
    r = http(node, "POST", "auth/token/create/r1", token=token, json={})
    assert r.status_code == 200, r.text
    child = r.json()["auth"]
    assert sorted(child["policies"]) == ["default", "use-r1"]
    cannot_enable_mounts(node, child["client_token"])
    cannot_enable_mounts(node, token)


def test_a_role_that_allows_root_still_needs_a_root_parent(env):
    node, root = env
    root.auth.token.create_or_update_role("r2", allowed_policies=["root"])
    token = limited_token(root, "use-r2", 'path "auth/token/create/r2" { capabilities = ["update"] }')
    r = http(node, "POST", "auth/token/create/r2", token=token, json={})
    refused(r, 400, "root tokens may not be created without parent token being root")


def test_direct_and_orphan_creation_keep_to_the_parents_policies(env):
    node, root = env
    token = limited_token(root, "creator", '''
path "auth/token/create" { capabilities = ["update"] }
path "auth/token/create-orphan" { capabilities = ["update"] }
''')
    for path in ("auth/token/create", "auth/token/create-orphan"):
        r = http(node, "POST", path, token=token, json={"policies": ["root"]})
        refused(r, 400, "child policies must be subset of parent")
    r = http(node, "POST", "auth/token/create", token=token, json={"no_parent": True})
    refused(r, 400, "root or sudo privileges required to create orphan token")
    r = http(node, "POST", "auth/token/create", token=token, json={"period": "1h"})
    refused(r, 400, "root or sudo privileges required to create periodic token")
    r = http(node, "POST", "auth/token/create", token=token, json={"id": "hvs.mine"})
    refused(r, 400, "root or sudo privileges required to specify token id")


def test_sudo_on_the_create_path_still_cannot_mint_root(env):
    node, root = env
    token = limited_token(root, "sudo-create",
                          'path "auth/token/create" { capabilities = ["update", "sudo"] }')
    r = http(node, "POST", "auth/token/create", token=token, json={"policies": ["root"]})
    refused(r, 400, "root tokens may not be created without parent token being root")
    # sudo does allow policies outside the parent's, orphans and periods, as in Vault.
    r = http(node, "POST", "auth/token/create", token=token,
             json={"policies": ["read-kv"], "no_parent": True, "period": "1h"})
    assert r.status_code == 200, r.text
    assert r.json()["auth"]["orphan"] is True


def test_a_wrapped_create_is_refused_the_same_way(env):
    node, root = env
    root.auth.token.create_or_update_role("r1")
    token = limited_token(root, "use-r1", 'path "auth/token/create/r1" { capabilities = ["update"] }')
    r = http(node, "POST", "auth/token/create/r1", token=token, json={"policies": ["root"]},
             headers={"X-Vault-Wrap-TTL": "60s"})
    refused(r, 400, "child policies must be subset of parent")


def test_a_use_limited_token_creates_no_tokens(env):
    node, root = env
    root.sys.create_or_update_policy("creator", 'path "auth/token/create" { capabilities = ["update"] }')
    token = root.auth.token.create(policies=["creator"], num_uses=3)["auth"]["client_token"]
    r = http(node, "POST", "auth/token/create", token=token, json={"policies": ["creator"]})
    refused(r, 400, "restricted use token cannot generate child tokens")


# --- auth methods ---------------------------------------------------------------------------

def test_a_userpass_user_with_root_is_refused(env):
    node, root = env
    root.sys.enable_auth_method("userpass")
    token = limited_token(root, "user-admin",
                          'path "auth/userpass/users/*" { capabilities = ["create", "update"] }')
    for body in ({"password": "pw", "token_policies": ["root"]},
                 {"password": "pw", "policies": "default,root"},
                 {"password": "pw", "token_policies": ["ROOT"]}):
        r = http(node, "POST", "auth/userpass/users/mallory", token=token, json=body)
        refused(r, 400, "auth methods cannot create root tokens")
    r = http(node, "POST", "auth/userpass/users/mallory", token=token,
             json={"password": "pw", "token_policies": ["read-kv"]})
    assert r.status_code == 204, r.text
    r = http(node, "POST", "auth/userpass/users/mallory/policies", token=token,
             json={"token_policies": ["root"]})
    refused(r, 400, "auth methods cannot create root tokens")
    login = http(node, "POST", "auth/userpass/login/mallory", json={"password": "pw"})
    assert login.status_code == 200, login.text
    assert "root" not in login.json()["auth"]["policies"]
    cannot_enable_mounts(node, login.json()["auth"]["client_token"])


def test_an_approle_role_with_root_is_refused(env):
    node, root = env
    root.sys.enable_auth_method("approle")
    token = limited_token(root, "role-admin",
                          'path "auth/approle/role/*" { capabilities = ["create", "update"] }')
    r = http(node, "POST", "auth/approle/role/evil", token=token, json={"token_policies": ["root"]})
    refused(r, 400, "auth methods cannot create root tokens")
    r = http(node, "POST", "auth/approle/role/ok", token=token, json={"token_policies": ["read-kv"]})
    assert r.status_code == 204, r.text
    r = http(node, "POST", "auth/approle/role/ok/policies", token=token, json={"policies": "root"})
    refused(r, 400, "auth methods cannot create root tokens")


def test_a_kubernetes_role_with_root_is_refused(env):
    node, root = env
    root.sys.enable_auth_method("kubernetes")
    token = limited_token(root, "k8s-admin",
                          'path "auth/kubernetes/role/*" { capabilities = ["create", "update"] }')
    body = {"bound_service_account_names": "app", "bound_service_account_namespaces": "prod"}
    for policies in ({"token_policies": ["root"]}, {"policies": "root"}):
        r = http(node, "POST", "auth/kubernetes/role/evil", token=token, json={**body, **policies})
        refused(r, 400, "auth methods cannot create root tokens")
    r = http(node, "POST", "auth/kubernetes/role/ok", token=token,
             json={**body, "token_policies": ["read-kv"]})
    assert r.status_code == 204, r.text


# --- use limits, lifetimes, durations -------------------------------------------------------

def test_a_five_use_token_works_exactly_five_times_under_100_concurrent_requests(env):
    node, root = env
    token = root.auth.token.create(policies=["read-kv"], num_uses=5)["auth"]["client_token"]

    def read(_):
        return http(node, "GET", "kv1/s", token=token).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(read, range(100)))
    assert statuses.count(200) == 5, sorted(statuses)
    assert statuses.count(403) == 95, sorted(statuses)


def test_renewals_stay_within_the_token_mounts_max_ttl(env):
    node, root = env
    root.sys.tune_auth_method("token", max_lease_ttl="120s")
    auth = root.auth.token.create(policies=["read-kv"], ttl="60s")["auth"]
    assert auth["lease_duration"] <= 60
    asked = root.auth.token.create(policies=["read-kv"], ttl="1h")["auth"]
    assert asked["lease_duration"] <= 120
    renewed = root.auth.token.renew(auth["client_token"], increment="10h")["auth"]
    assert 0 < renewed["lease_duration"] <= 120
    lease_id = f"auth/token/create/{auth['accessor']}"
    r = http(node, "PUT", "sys/leases/renew", token=root.token,
             json={"lease_id": lease_id, "increment": 36000})
    assert r.status_code == 200, r.text
    assert 0 < r.json()["lease_duration"] <= 120
    # A periodic token's period is capped by the same max.
    periodic = root.auth.token.create(policies=["read-kv"], period="10h")["auth"]
    assert 0 < periodic["lease_duration"] <= 120


@pytest.mark.parametrize("body", [
    {"ttl": "999999999999999h"},
    {"period": "999999999999999h"},
    {"explicit_max_ttl": "999999999999999h"},
    {"ttl": 18446744073709551615},
])
def test_absurd_durations_are_a_400(env, body):
    node, root = env
    r = http(node, "POST", "auth/token/create", token=root.token, json={"policies": ["read-kv"], **body})
    refused(r, 400, "invalid duration")
    token = root.auth.token.create(policies=["read-kv"], ttl="1h")["auth"]["client_token"]
    r = http(node, "POST", "auth/token/renew", token=root.token,
             json={"token": token, "increment": "999999999999999h"})
    refused(r, 400, "invalid duration")
    # The node is still serving.
    assert http(node, "GET", "auth/token/lookup-self", token=root.token).status_code == 200


# -------------------- The sys path table: sudo, exact routes, audit of refusals --------------------

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



def test_self_served_unwrap_and_key_ceremonies_are_audited_without_plain_values(audited):
    node, root, log = audited
    client = node.client(root)
    start = len(lines(log))

    # A wrapped answer, unwrapped with the wrapping token as its own client token (answered
    # before the pipeline, so it used to leave no trace).
    wrapped = http(node, "POST", "sys/wrapping/wrap", token=root,
                   headers={"X-Vault-Wrap-TTL": "60s"}, json={"secret": "sealed-in-the-cubbyhole"})
    assert wrapped.status_code == 200, wrapped.text
    wrap_token = wrapped.json()["wrap_info"]["token"]
    r = http(node, "POST", "sys/wrapping/unwrap", token=wrap_token)
    assert r.status_code == 200 and r.json()["data"]["secret"] == "sealed-in-the-cubbyhole"

    # The unauthenticated key ceremony: generate-root start and one (wrong) share.
    attempt = http(node, "PUT", "sys/generate-root/attempt", json={})
    assert attempt.status_code == 200, attempt.text
    otp, nonce = attempt.json()["otp"], attempt.json()["nonce"]
    update = http(node, "PUT", "sys/generate-root/update", json={"key": "not-a-real-share", "nonce": nonce})
    assert update.status_code == 400, update.text
    assert http(node, "DELETE", "sys/generate-root/attempt").status_code == 204

    entries = lines(log)[start:]
    raw = log.read_text()
    for plain in ("sealed-in-the-cubbyhole", wrap_token, otp, "not-a-real-share"):
        assert plain not in raw, plain
    for path in ("sys/wrapping/unwrap", "sys/generate-root/attempt", "sys/generate-root/update"):
        kinds = [e["type"] for e in entries if e["request"]["path"] == path]
        assert "request" in kinds and "response" in kinds, (path, kinds)
    hashed = client.sys.calculate_hash(path="file", input_to_hash=wrap_token)["data"]["hash"]
    assert any(e["request"]["path"] == "sys/wrapping/unwrap" and e["auth"]["client_token"] == hashed
               for e in entries)


def test_an_unloggable_self_unwrap_fails_and_spends_nothing(audited):
    node, root, log = audited
    wrapped = http(node, "POST", "sys/wrapping/wrap", token=root,
                   headers={"X-Vault-Wrap-TTL": "60s"}, json={"v": "kept"})
    wrap_token = wrapped.json()["wrap_info"]["token"]
    logdir = log.parent
    shutil.rmtree(logdir)
    logdir.write_text("now a file: nothing can be created under it")
    assert_vault_error(http(node, "POST", "sys/wrapping/unwrap", token=wrap_token), 500)
    assert_vault_error(http(node, "PUT", "sys/generate-root/attempt", json={}), 500)
    logdir.unlink()
    logdir.mkdir()
    # Nothing changed: the single-use token still unwraps, and no attempt was started.
    assert http(node, "GET", "sys/generate-root/attempt").json()["started"] is False
    r = http(node, "POST", "sys/wrapping/unwrap", token=wrap_token)
    assert r.status_code == 200 and r.json()["data"]["v"] == "kept", r.text


# -------------------- Races: concurrent table changes all persist --------------------

def test_concurrent_enables_of_mounts_auth_methods_and_audit_devices_all_persist(unsealed, tmp_path):
    node, root, _keys = unsealed

    def run_all(calls):
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            answers = list(pool.map(lambda c: http(node, *c[:2], token=root, json=c[2]), calls))
        for r in answers:
            assert r.status_code == 204, r.text

    run_all([("POST", f"sys/mounts/kv-{i}", {"type": "kv"}) for i in range(20)])
    run_all([("POST", f"sys/auth/up-{i}", {"type": "userpass"}) for i in range(10)])
    run_all([("PUT", f"sys/audit/file-{i}",
              {"type": "file", "options": {"file_path": str(tmp_path / f"audit-{i}.log")}})
             for i in range(5)])

    mounts = http(node, "GET", "sys/mounts", token=root).json()["data"]
    assert {f"kv-{i}/" for i in range(20)} <= set(mounts)
    auths = http(node, "GET", "sys/auth", token=root).json()["data"]
    assert {f"up-{i}/" for i in range(10)} <= set(auths)
    audits = http(node, "GET", "sys/audit", token=root).json()["data"]
    assert {f"file-{i}/" for i in range(5)} <= set(audits)

    # And half of them disabled at once: the other half stays.
    run_all([("DELETE", f"sys/mounts/kv-{i}", None) for i in range(0, 20, 2)])
    mounts = set(http(node, "GET", "sys/mounts", token=root).json()["data"])
    assert {f"kv-{i}/" for i in range(1, 20, 2)} <= mounts
    assert not {f"kv-{i}/" for i in range(0, 20, 2)} & mounts

# -------------------- Limits: request and entry size, slow clients --------------------

MiB = 1 << 20
TOO_LARGE = "failed to parse JSON input: http: request body too large"
ENTRY_TOO_LARGE = "put failed due to value being too large"


def json_body(size: int) -> bytes:
    """A JSON object `{"v": "xxx…"}` of about `size` bytes."""
    return b'{"v":"' + b"x" * size + b'"}'


def test_a_body_over_max_request_size_is_refused_before_auth_and_nothing_is_written(tmp_path):
    node = Node(tmp_path, listener_config="  max_request_size = 1048576").start()
    try:
        root, _ = init_and_unseal(node)
        big = json_body(MiB + 10)
        # Without a token: the size is judged before authentication (which would answer 403).
        assert assert_vault_error(http(node, "PUT", "cubbyhole/big", data=big), 413) == [TOO_LARGE]
        assert assert_vault_error(http(node, "PUT", "cubbyhole/big", token=root, data=big), 413) == [TOO_LARGE]
        # Chunked, with no Content-Length: refused once the bytes pass the limit.
        chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))
        assert assert_vault_error(http(node, "PUT", "cubbyhole/big", token=root, data=chunks), 413) == [TOO_LARGE]
        assert http(node, "GET", "cubbyhole/big", token=root).status_code == 404
        # A body under the limit is served, on the same listener.
        assert http(node, "PUT", "cubbyhole/fits", token=root, data=json_body(MiB // 2)).status_code == 204
        assert len(http(node, "GET", "cubbyhole/fits", token=root).json()["data"]["v"]) == MiB // 2
    finally:
        node.stop()


def test_the_default_max_request_size_is_vaults_32_mib(unsealed):
    node, root, _ = unsealed
    over = http(node, "PUT", "cubbyhole/big", token=root, data=json_body(33 * MiB))
    assert assert_vault_error(over, 413) == [TOO_LARGE]
    # Just under 32 MiB passes the listener and meets the storage's entry limit instead.
    under = http(node, "PUT", "cubbyhole/big", token=root, data=json_body(31 * MiB))
    assert assert_vault_error(under, 413)[0].startswith(ENTRY_TOO_LARGE)
    assert http(node, "GET", "cubbyhole/big", token=root).status_code == 404


def test_a_kv_write_over_max_entry_size_is_refused_and_one_under_it_succeeds(unsealed):
    node, root, _ = unsealed
    node.client(root).sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    refused = http(node, "POST", "secret/data/big", token=root, json={"data": {"v": "x" * (2 * MiB)}})
    errors = assert_vault_error(refused, 413)
    assert errors[0].startswith(ENTRY_TOO_LARGE), errors
    assert http(node, "GET", "secret/data/big", token=root).status_code == 404
    assert http(node, "GET", "secret/metadata/big", token=root).status_code == 404

    fits = http(node, "POST", "secret/data/fits", token=root, json={"data": {"v": "y" * (900 * 1024)}})
    assert fits.status_code == 200, fits.text
    read = http(node, "GET", "secret/data/fits", token=root).json()
    assert read["data"]["data"]["v"] == "y" * (900 * 1024)


def test_max_entry_size_is_capped_so_every_entry_fits_one_cluster_message(tmp_path):
    """Above 16 MiB an entry might not fit one cluster message and could never be replicated:
    such a setting is refused at startup, naming the limit; the limit itself is accepted."""
    over = Node(tmp_path, "over", storage_config=f"  max_entry_size = {16 * MiB + 1}")
    with pytest.raises(RuntimeError, match=f"max_entry_size must be a positive integer, at most {16 * MiB}"):
        over.start()
    at = Node(tmp_path, "at", storage_config=f"  max_entry_size = {16 * MiB}").start()
    try:
        assert http(at, "GET", "sys/seal-status").json()["initialized"] is False
    finally:
        at.stop()


def closed_within(sock: socket.socket, timeout: float, dribble: bytes = b"") -> bool:
    """Whether the server closes `sock` within `timeout` seconds, while we send `dribble` (if
    any) every 0.2 s."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return True
        if dribble:
            try:
                sock.sendall(dribble)
            except (ConnectionResetError, BrokenPipeError):
                return True
    return False


def test_a_client_that_sends_its_headers_slowly_is_cut_off(tmp_path):
    node = Node(tmp_path, listener_config='  http_read_header_timeout = "1s"').start()
    try:
        with socket.create_connection(("127.0.0.1", node.port)) as slow:
            slow.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: coffer\r\n")
            assert closed_within(slow, 15, dribble=b"X-Slow: y\r\n"), "a dribbling client kept its connection"
        with socket.create_connection(("127.0.0.1", node.port)) as silent:
            assert closed_within(silent, 15), "a silent client kept its connection"
        # Well-behaved clients are still served.
        assert requests.get(f"{node.addr}/v1/sys/health", timeout=10).status_code == 501
    finally:
        node.stop()


def raft_term(node, root) -> float:
    text = http(node, "GET", "sys/metrics", token=root, params={"format": "prometheus"}).text
    lines = [line for line in text.splitlines() if line.startswith("coffer_raft_term ")]
    assert lines, text[:500]
    return float(lines[0].split()[1])


def test_a_48_mib_write_is_refused_quickly_and_the_cluster_keeps_its_leader(cluster):  # noqa: F811
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    wait_until(lambda: health(n1) == 200 and health(n2) == 429 and health(n3) == 429, what="one active, two standbys")
    # An authenticated request first: the active node's first one loads its state, which is
    # when sys/leader's active_time is set.
    term = raft_term(n1, root)
    leader = http(n1, "GET", "sys/leader").json()

    body = json_body(48 * MiB)
    for target in (n1, n2):  # the active node, and a standby that would forward it
        refused = requests.put(
            f"{target.addr}/v1/cubbyhole/big", headers={"X-Vault-Token": root}, data=body, timeout=15
        )
        assert assert_vault_error(refused, 413) == [TOO_LARGE]

    after = http(n1, "GET", "sys/leader").json()
    assert (after["leader_address"], after["active_time"]) == (leader["leader_address"], leader["active_time"])
    assert raft_term(n1, root) == term
    assert health(n1) == 200
    assert http(n2, "PUT", "cubbyhole/after", token=root, data=json.dumps({"v": "ok"})).status_code == 204
    assert http(n1, "GET", "cubbyhole/after", token=root).json()["data"] == {"v": "ok"}
    assert http(n1, "GET", "cubbyhole/big", token=root).status_code == 404


def test_a_100_mb_snapshot_restores_on_three_nodes_without_a_leader_change_while_writes_go_on(cluster):  # noqa: F811
    """The restore travels as many entries under max_entry_size and one small commit, so the
    cluster keeps its leader and a writer on a standby (forwarded) is served the whole time."""
    n1, n2, n3 = cluster
    keys, root = form(cluster)
    wait_until(lambda: health(n1) == 200 and health(n2) == 429 and health(n3) == 429, what="one active, two standbys")
    for path in ("bulk", "live"):
        assert http(n1, "POST", f"sys/mounts/{path}", token=root, data=json.dumps({"type": "kv"})).status_code == 204
    chunk = 700_000
    count = 150  # 105 MB of secrets
    for i in range(count):
        value = f"{i:06d}".encode() * (chunk // 6)
        written = http(n1, "PUT", f"bulk/k{i}", token=root, data=b'{"v":"' + value + b'"}')
        assert written.status_code == 204, written.text
    saved = requests.get(f"{n1.addr}/v1/sys/storage/raft/snapshot", headers={"X-Vault-Token": root}, timeout=300)
    assert saved.status_code == 200
    archive = saved.content
    assert len(archive) > 100 * 1000 * 1000, len(archive)
    assert http(n1, "DELETE", "bulk/k7", token=root).status_code == 204
    assert http(n1, "PUT", "bulk/after-save", token=root, data=json.dumps({"v": "x"})).status_code == 204

    term = raft_term(n1, root)
    leaders = [http(n, "GET", "sys/leader").json()["leader_address"] for n in cluster]
    assert leaders == [n1.addr] * 3
    statuses, done = [], False

    def write_on():
        i = 0
        while not done:
            started = time.monotonic()
            answer = http(n2, "PUT", f"live/w{i}", token=root, data=json.dumps({"v": str(i)}))
            statuses.append((answer.status_code, time.monotonic() - started))
            i += 1

    with ThreadPoolExecutor(1) as pool:
        writer = pool.submit(write_on)
        wait_until(lambda: len(statuses) >= 5, what="the writer under way")
        started = time.monotonic()
        restored = requests.post(
            f"{n1.addr}/v1/sys/storage/raft/snapshot", headers={"X-Vault-Token": root}, data=archive, timeout=600
        )
        took = time.monotonic() - started
        during = len(statuses)
        wait_until(lambda: len(statuses) >= during + 5, what="writes after the restore")
        done = True
        writer.result()
    assert restored.status_code == 204, restored.text

    assert raft_term(n1, root) == term, "no election"
    assert [http(n, "GET", "sys/leader").json()["leader_address"] for n in cluster] == leaders
    assert all(code == 204 for code, _ in statuses), sorted({code for code, _ in statuses})
    slowest = max(seconds for _, seconds in statuses)
    print(f"restore of {len(archive)} archive bytes took {took:.1f} s; {len(statuses)} writes, slowest {slowest:.2f} s")
    assert http(n1, "GET", "bulk/k7", token=root).json()["data"]["v"].startswith("000007")
    assert http(n2, "GET", "bulk/after-save", token=root).status_code == 404
    listed = http(n3, "LIST", "bulk", token=root).json()["data"]["keys"]
    assert len(listed) == count
