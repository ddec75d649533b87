"""No path from a limited token to root through token creation, as Vault 1.16 refuses them.

Each test first gives a token only the capability the escalation needs, then asks for root
through that door and checks Vault's status and message. Also: use limits hold under
concurrency, renewals stay within the mount's max TTL, and absurd durations are a 400."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import assert_vault_error, http

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
