"""The token store through hvac, as Vault 1.16's `auth/token/*` and `sys/capabilities*` behave."""
import time

import hvac
import pytest

from conftest import assert_vault_error, http

READ_KV = 'path "kv1/*" { capabilities = ["read", "list"] }'
# May create child tokens (and orphans through create-orphan), and read kv1.
CREATOR = '''
path "auth/token/create" { capabilities = ["create", "update"] }
path "auth/token/create-orphan" { capabilities = ["create", "update"] }
path "kv1/*" { capabilities = ["read"] }
'''


@pytest.fixture
def env(unsealed):
    """An unsealed node with a kv1 mount holding kv1/s, and policies read-kv, write-kv, creator."""
    node, root, _ = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="kv1")
    client.secrets.kv.v1.create_or_update_secret(path="s", secret={"v": "secret-value"}, mount_point="kv1")
    client.sys.create_or_update_policy("read-kv", READ_KV)
    client.sys.create_or_update_policy("write-kv", 'path "kv1/*" { capabilities = ["create", "update", "read"] }')
    client.sys.create_or_update_policy("creator", CREATOR)
    return node, client


def can_read(node, token) -> bool:
    """Whether `token` can read kv1/s (False on 403)."""
    r = http(node, "GET", "kv1/s", token=token)
    if r.status_code == 403:
        return False
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"v": "secret-value"}
    return True


def is_valid(node, token) -> bool:
    r = http(node, "GET", "auth/token/lookup-self", token=token)
    assert r.status_code in (200, 403), r.text
    return r.status_code == 200


def test_create_records_policies_ttl_display_name_meta_and_num_uses(env):
    node, root = env
    auth = root.auth.token.create(
        policies=["read-kv"], ttl="1h", explicit_max_ttl="2h", display_name="web",
        meta={"app": "billing", "env": "prod"}, num_uses=5,
    )["auth"]
    assert sorted(auth["policies"]) == ["default", "read-kv"]
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["metadata"] == {"app": "billing", "env": "prod"}
    assert auth["num_uses"] == 5
    assert auth["orphan"] is False

    data = root.auth.token.lookup(auth["client_token"])["data"]
    assert data["id"] == auth["client_token"]
    assert data["accessor"] == auth["accessor"]
    assert sorted(data["policies"]) == ["default", "read-kv"]
    assert data["display_name"] == "token-web"
    assert data["meta"] == {"app": "billing", "env": "prod"}
    assert data["num_uses"] == 5
    assert data["explicit_max_ttl"] == 7200
    assert data["creation_ttl"] == 3600
    assert 3590 <= data["ttl"] <= 3600
    assert data["path"] == "auth/token/create"
    assert data["orphan"] is False


def test_no_default_policy_leaves_default_out(env):
    node, root = env
    auth = root.auth.token.create(policies=["read-kv"], no_default_policy=True)["auth"]
    assert auth["policies"] == ["read-kv"]
    # Without the default policy the token cannot even look itself up.
    assert http(node, "GET", "auth/token/lookup-self", token=auth["client_token"]).status_code == 403
    assert can_read(node, auth["client_token"])


def test_ttl_above_explicit_max_ttl_is_capped_at_creation(env):
    node, root = env
    auth = root.auth.token.create(policies=["read-kv"], ttl="2h", explicit_max_ttl="1h")["auth"]
    assert auth["lease_duration"] == 3600
    assert root.auth.token.lookup(auth["client_token"])["data"]["ttl"] <= 3600


def test_periodic_token_lease_is_the_period_and_renews_to_it(env):
    node, root = env
    auth = root.auth.token.create(policies=["read-kv"], period="30m")["auth"]
    assert auth["lease_duration"] == 1800
    data = root.auth.token.lookup(auth["client_token"])["data"]
    assert data["period"] == 1800
    assert 1790 <= data["ttl"] <= 1800
    renewed = root.auth.token.renew(auth["client_token"])["auth"]
    assert renewed["lease_duration"] == 1800


def test_no_parent_and_create_orphan_make_orphans(env):
    node, root = env
    no_parent = root.auth.token.create(policies=["read-kv"], no_parent=True)["auth"]
    assert no_parent["orphan"] is True
    assert root.auth.token.lookup(no_parent["client_token"])["data"]["orphan"] is True
    orphan = root.auth.token.create_orphan(policies=["read-kv"])["auth"]
    assert orphan["orphan"] is True
    assert root.auth.token.lookup(orphan["client_token"])["data"]["orphan"] is True

    # A non-root token may not ask for no_parent on auth/token/create ...
    creator = node.client(root.auth.token.create(policies=["creator"])["auth"]["client_token"])
    with pytest.raises(hvac.exceptions.InvalidRequest):
        creator.auth.token.create(policies=["creator"], no_parent=True)
    # ... but create-orphan only needs the ACL on that path.
    child = creator.auth.token.create_orphan(policies=["creator"])["auth"]
    assert child["orphan"] is True
    # And the orphan outlives the token that made it.
    root.auth.token.revoke(creator.token)
    assert is_valid(node, child["client_token"])


def test_lookup_path_names_the_endpoint_that_created_the_token(env):
    node, root = env
    root.auth.token.create_or_update_role("app", allowed_policies=["read-kv"])
    made = {
        "auth/token/create": root.auth.token.create(policies=["read-kv"]),
        "auth/token/create-orphan": root.auth.token.create_orphan(policies=["read-kv"]),
        "auth/token/create/app": root.auth.token.create(role_name="app"),
    }
    # Vault stores the request path (mount point + path) in the token entry.
    for path, resp in made.items():
        assert root.auth.token.lookup(resp["auth"]["client_token"])["data"]["path"] == path


def test_lookup_self_and_lookup_accessor_describe_the_same_token(env):
    node, root = env
    auth = root.auth.token.create(policies=["read-kv"], ttl="1h")["auth"]
    me = node.client(auth["client_token"]).auth.token.lookup_self()["data"]
    assert me["id"] == auth["client_token"]
    assert me["accessor"] == auth["accessor"]
    by_accessor = root.auth.token.lookup_accessor(auth["accessor"])["data"]
    assert by_accessor["accessor"] == auth["accessor"]
    assert by_accessor["id"] == "", "lookup-accessor must not reveal the token"
    assert sorted(by_accessor["policies"]) == sorted(me["policies"])
    assert by_accessor["creation_time"] == me["creation_time"]
    accessors = root.auth.token.list_accessors()["data"]["keys"]
    assert auth["accessor"] in accessors


def test_lookup_of_an_unknown_token_is_403_bad_token(env):
    node, root = env
    r = http(node, "POST", "auth/token/lookup", token=root.token, json={"token": "hvs.doesnotexist0000000000"})
    # Vault: `return logical.ErrorResponse("bad token"), logical.ErrPermissionDenied` -> 403.
    errors = assert_vault_error(r, 403)
    assert "bad token" in errors


def test_lookup_of_an_unknown_accessor_is_400(env):
    node, root = env
    r = http(node, "POST", "auth/token/lookup-accessor", token=root.token, json={"accessor": "nosuchaccessor"})
    assert_vault_error(r, 400)


def test_renew_sets_ttl_to_the_increment_and_back_to_the_original_ttl(env):
    node, root = env
    auth = root.auth.token.create(policies=["read-kv"], ttl="1h")["auth"]
    me = node.client(auth["client_token"])
    shorter = me.auth.token.renew_self(increment="10m")["auth"]
    assert shorter["lease_duration"] == 600
    assert root.auth.token.lookup(auth["client_token"])["data"]["ttl"] <= 600
    back = root.auth.token.renew(auth["client_token"])["auth"]
    assert back["lease_duration"] == 3600
    assert root.auth.token.lookup(auth["client_token"])["data"]["ttl"] > 3500
    longer = root.auth.token.renew(auth["client_token"], increment="2h")["auth"]
    assert longer["lease_duration"] == 7200


def test_renew_is_capped_by_explicit_max_ttl(env):
    node, root = env
    auth = root.auth.token.create(policies=["read-kv"], ttl="10m", explicit_max_ttl="20m")["auth"]
    renewed = root.auth.token.renew(auth["client_token"], increment="1h")["auth"]
    assert 1190 <= renewed["lease_duration"] <= 1200
    assert root.auth.token.lookup(auth["client_token"])["data"]["ttl"] <= 1200
    self_renewed = node.client(auth["client_token"]).auth.token.renew_self(increment="5h")["auth"]
    assert self_renewed["lease_duration"] <= 1200


def test_renewing_a_non_renewable_token_is_400(env):
    node, root = env
    auth = root.auth.token.create(policies=["read-kv"], ttl="1h", renewable=False)["auth"]
    assert auth["renewable"] is False
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.auth.token.renew(auth["client_token"], increment="2h")
    assert root.auth.token.lookup(auth["client_token"])["data"]["ttl"] <= 3600


def test_revoke_revokes_the_token_and_all_its_descendants(env):
    node, root = env
    parent = root.auth.token.create(policies=["creator"])["auth"]["client_token"]
    child = node.client(parent).auth.token.create(policies=["creator"])["auth"]["client_token"]
    grandchild = node.client(child).auth.token.create(policies=["creator"])["auth"]["client_token"]
    sibling = root.auth.token.create(policies=["creator"])["auth"]["client_token"]
    assert all(can_read(node, t) for t in (parent, child, grandchild, sibling))

    root.auth.token.revoke(parent)
    for t in (parent, child, grandchild):
        assert not can_read(node, t)
        assert not is_valid(node, t)
    assert can_read(node, sibling), "revoking one tree must not touch another"


def test_revoke_orphan_keeps_children_and_makes_them_orphans(env):
    node, root = env
    parent = root.auth.token.create(policies=["creator"])["auth"]["client_token"]
    child = node.client(parent).auth.token.create(policies=["creator"])["auth"]["client_token"]
    grandchild = node.client(child).auth.token.create(policies=["creator"])["auth"]["client_token"]
    assert root.auth.token.lookup(child)["data"]["orphan"] is False

    root.auth.token.revoke_and_orphan_children(parent)
    assert not is_valid(node, parent)
    assert can_read(node, child) and can_read(node, grandchild)
    assert root.auth.token.lookup(child)["data"]["orphan"] is True
    assert root.auth.token.lookup(grandchild)["data"]["orphan"] is False
    # The former child is now a tree root of its own.
    root.auth.token.revoke(child)
    assert not can_read(node, grandchild)


def test_revoke_accessor_revokes_the_token(env):
    node, root = env
    auth = root.auth.token.create(policies=["read-kv"])["auth"]
    assert can_read(node, auth["client_token"])
    root.auth.token.revoke_accessor(auth["accessor"])
    assert not can_read(node, auth["client_token"])
    assert auth["accessor"] not in root.auth.token.list_accessors()["data"]["keys"]


def test_revoke_self_revokes_the_calling_token(env):
    node, root = env
    token = root.auth.token.create(policies=["read-kv"])["auth"]["client_token"]
    node.client(token).auth.token.revoke_self()
    assert not is_valid(node, token)


def test_num_uses_two_allows_two_requests_then_403(env):
    node, root = env
    token = root.auth.token.create(policies=["read-kv"], num_uses=2)["auth"]["client_token"]
    assert can_read(node, token)
    assert can_read(node, token)
    assert not can_read(node, token), "the third use of a num_uses=2 token must be refused"
    assert not is_valid(node, token)


def test_token_with_ttl_works_for_its_whole_ttl_then_stops(env):
    node, root = env
    ttl = 2.0
    before = time.time()
    token = root.auth.token.create(policies=["read-kv"], ttl="2s")["auth"]["client_token"]
    assert can_read(node, token)
    deadline = time.monotonic() + 20
    last_ok = before
    while time.monotonic() < deadline:
        refused = not can_read(node, token)
        answered_at = time.time()
        if refused:
            break
        last_ok = answered_at
        time.sleep(0.02)
    else:
        pytest.fail("a ttl=2s token still worked after 20s")
    assert not is_valid(node, token)
    # Vault's lease expires at creation + ttl (nanosecond precision). The server created the token
    # after `before` and handled the refused request before `answered_at`, so a correct server
    # cannot refuse a request it answers before `before + ttl`.
    assert answered_at >= before + ttl, (
        f"token refused {answered_at - before:.3f}s after creation (ttl {ttl}s; last success "
        f"{last_ok - before:.3f}s)"
    )


def test_token_role_limits_policies_to_allowed_policies(env):
    node, root = env
    root.auth.token.create_or_update_role("app", allowed_policies=["read-kv"], orphan=True)
    role = root.auth.token.read_role("app")["data"]
    assert role["allowed_policies"] == ["read-kv"]
    assert role["orphan"] is True
    assert "app" in root.auth.token.list_roles()["data"]["keys"]

    asked = root.auth.token.create(role_name="app", policies=["read-kv"])["auth"]
    assert sorted(asked["policies"]) == ["default", "read-kv"]
    assert asked["orphan"] is True
    looked = root.auth.token.lookup(asked["client_token"])["data"]
    assert looked["path"] == "auth/token/create/app"
    assert looked["role"] == "app"
    assert can_read(node, asked["client_token"])

    implied = root.auth.token.create(role_name="app")["auth"]
    assert "read-kv" in implied["policies"], "a role token without policies gets the allowed ones"

    before = set(root.auth.token.list_accessors()["data"]["keys"])
    r = http(node, "POST", "auth/token/create/app", token=root.token, json={"policies": ["write-kv"]})
    assert_vault_error(r, 400)
    assert set(root.auth.token.list_accessors()["data"]["keys"]) == before, "a rejected create made a token"

    r = http(node, "POST", "auth/token/create/no-such-role", token=root.token, json={})
    assert_vault_error(r, 400)

    root.auth.token.delete_role("app")
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.auth.token.read_role("app")


def test_child_token_cannot_get_a_policy_its_parent_lacks(env):
    node, root = env
    parent = node.client(root.auth.token.create(policies=["creator"])["auth"]["client_token"])
    before = set(root.auth.token.list_accessors()["data"]["keys"])
    r = http(node, "POST", "auth/token/create", token=parent.token, json={"policies": ["write-kv"]})
    assert_vault_error(r, 400)
    r = http(node, "POST", "auth/token/create", token=parent.token, json={"policies": ["root"]})
    assert_vault_error(r, 400)
    assert set(root.auth.token.list_accessors()["data"]["keys"]) == before

    inherited = parent.auth.token.create()["auth"]
    assert sorted(inherited["policies"]) == ["creator", "default"], "a child inherits its parent's policies"
    subset = parent.auth.token.create(policies=["creator"])["auth"]
    assert sorted(subset["policies"]) == ["creator", "default"]


def test_capabilities_self_and_sys_capabilities_follow_the_acl(env):
    node, root = env
    root.sys.create_or_update_policy(
        "mixed",
        '''
path "kv1/*" { capabilities = ["read", "list"] }
path "kv1/rw/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "kv1/rw/locked" { capabilities = ["deny"] }
path "sys/mounts" { capabilities = ["read", "sudo"] }
''',
    )
    auth = root.auth.token.create(policies=["mixed"])["auth"]
    token, accessor = auth["client_token"], auth["accessor"]

    def caps(resp, path):
        return sorted(resp["data"][path] if "data" in resp and path in resp["data"] else resp[path])

    paths = ["kv1/a", "kv1/rw/x", "kv1/rw/locked", "sys/mounts", "other/x"]
    expected = {
        "kv1/a": ["list", "read"],
        "kv1/rw/x": ["create", "delete", "list", "read", "update"],
        "kv1/rw/locked": ["deny"],
        "sys/mounts": ["read", "sudo"],
        "other/x": ["deny"],
    }
    r = http(node, "POST", "sys/capabilities-self", token=token, json={"paths": paths})
    assert r.status_code == 200, r.text
    for p in paths:
        assert caps(r.json(), p) == expected[p], p

    by_token = root.sys.get_capabilities(paths=paths, token=token)
    for p in paths:
        assert caps(by_token, p) == expected[p], p
    by_accessor = root.sys.get_capabilities(paths=["kv1/rw/x"], accessor=accessor)
    assert caps(by_accessor, "kv1/rw/x") == expected["kv1/rw/x"]
    # With a single path the answer also carries the legacy "capabilities" key.
    single = http(node, "POST", "sys/capabilities-self", token=token, json={"paths": ["kv1/a"]}).json()
    assert sorted(single["capabilities"]) == ["list", "read"]

    root_caps = http(node, "POST", "sys/capabilities-self", token=root.token, json={"paths": ["anything/at/all"]}).json()
    assert caps(root_caps, "anything/at/all") == ["root"]
    # The capabilities are the real ones: reads allowed, writes refused.
    assert can_read(node, token) is True
    assert http(node, "PUT", "kv1/a", token=token, json={"x": "y"}).status_code == 403
    assert http(node, "PUT", "kv1/rw/x", token=token, json={"x": "y"}).status_code == 204
    assert http(node, "PUT", "kv1/rw/locked", token=token, json={"x": "y"}).status_code == 403
