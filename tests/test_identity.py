"""The identity store and templated policies (issue 23), black-box: one templated policy serves
every namespace's service account through kubernetes auth (the fake TokenReview server of
test_k8s_auth), a group's policy reaches every member entity's tokens, and hvac's
`client.secrets.identity.*` methods work unchanged against `identity/*`."""
import hvac
import pytest

from conftest import assert_vault_error, http, wait_until  # noqa: F401
from test_k8s_auth import cluster, enable_kubernetes, service_account_jwt  # noqa: F401 (the fixture)

TEAM_POLICY = """
path "secret/data/{{{{identity.entity.aliases.{accessor}.metadata.service_account_namespace}}}}/*" {{
  capabilities = ["read"]
}}
"""
SHARED_POLICY = 'path "secret/data/shared/*" {\n  capabilities = ["read"]\n}\n'


@pytest.fixture
def k8s(unsealed, cluster):  # noqa: F811
    """kubernetes auth against the TokenReview server, one role for namespaces a and b, KV v2 at
    secret/ with a secret per namespace and a shared one: (node, root client, auth accessor)."""
    node, root, _ = unsealed
    client = node.client(root)
    enable_kubernetes(client, cluster)
    client.write("auth/kubernetes/role/app", bound_service_account_names="app",
                 bound_service_account_namespaces="a,b", policies="team", ttl="1h")
    accessor = client.sys.list_auth_methods()["data"]["kubernetes/"]["accessor"]
    client.sys.create_or_update_policy("team", TEAM_POLICY.format(accessor=accessor))
    client.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    for path in ("a/db", "b/db", "shared/ca"):
        client.secrets.kv.v2.create_or_update_secret(path=path, secret={"owner": path}, mount_point="secret")
    return node, client, accessor


def sa_login(node, cluster, namespace):  # noqa: F811
    """Log in as service account `app` of `namespace` (a stable uid: the alias is named by it)."""
    uid = f"00000000-0000-4000-8000-{namespace.encode().hex():0>12}"
    jwt = cluster.admit(service_account_jwt(namespace, "app", uid=uid), namespace, "app")
    c = node.client()
    auth = c.write("auth/kubernetes/login", role="app", jwt=jwt)["auth"]
    c.token = auth["client_token"]
    return c, auth


def can_read(node, token, path):
    return http(node, "GET", f"secret/data/{path}", token=token).status_code


def test_one_templated_policy_confines_each_namespace_to_its_own_path(k8s, cluster):  # noqa: F811
    node, root, accessor = k8s
    a, auth_a = sa_login(node, cluster, "a")
    b, auth_b = sa_login(node, cluster, "b")
    assert auth_a["entity_id"] and auth_b["entity_id"] and auth_a["entity_id"] != auth_b["entity_id"]

    assert a.secrets.kv.v2.read_secret_version(path="a/db", mount_point="secret")["data"]["data"] == {"owner": "a/db"}
    assert can_read(node, a.token, "b/db") == 403
    assert can_read(node, b.token, "b/db") == 200
    assert can_read(node, b.token, "a/db") == 403
    assert can_read(node, a.token, "shared/ca") == 403

    # The template is filled from the caller: capabilities say so per token.
    caps = root.write("sys/capabilities", token=a.token, paths=["secret/data/a/db", "secret/data/b/db"])
    assert caps["secret/data/a/db"] == ["read"] and caps["secret/data/b/db"] == ["deny"]

    # A second login by the same service account finds the same entity (one alias per mount and name).
    _, again = sa_login(node, cluster, "a")
    assert again["entity_id"] == auth_a["entity_id"]
    alias = root.secrets.identity.read_entity(entity_id=auth_a["entity_id"])["data"]["aliases"][0]
    assert alias["mount_accessor"] == accessor and alias["mount_type"] == "kubernetes"
    assert alias["metadata"]["service_account_namespace"] == "a"


def test_a_rule_the_caller_cannot_fill_grants_nothing(k8s):
    node, root, _ = k8s
    # A token with the templated policy but no entity (made by root): the rule does not apply.
    plain = root.auth.token.create(policies=["team"], ttl="1h")["auth"]["client_token"]
    for path in ("a/db", "b/db", "shared/ca"):
        assert can_read(node, plain, path) == 403


def test_a_group_policy_reaches_every_member_entity(k8s, cluster):  # noqa: F811
    node, root, _ = k8s
    a, auth_a = sa_login(node, cluster, "a")
    b, auth_b = sa_login(node, cluster, "b")
    assert can_read(node, a.token, "shared/ca") == 403
    root.sys.create_or_update_policy("shared", SHARED_POLICY)
    group = root.secrets.identity.create_or_update_group(
        name="platform", policies=["shared"], member_entity_ids=[auth_a["entity_id"], auth_b["entity_id"]])
    group_id = group["data"]["id"]

    # Tokens already issued gain the group's policy at once; each keeps only its own namespace.
    assert can_read(node, a.token, "shared/ca") == 200
    assert can_read(node, b.token, "shared/ca") == 200
    assert can_read(node, a.token, "b/db") == 403

    # A new login reports the group's policies as identity_policies.
    _, fresh = sa_login(node, cluster, "b")
    assert fresh["identity_policies"] == ["shared"]
    assert "shared" in fresh["policies"] and "team" in fresh["token_policies"]
    entity = root.secrets.identity.read_entity(entity_id=auth_b["entity_id"])["data"]
    assert entity["group_ids"] == [group_id] and entity["direct_group_ids"] == [group_id]

    # Leaving the group takes the grant away again.
    root.secrets.identity.update_group(group_id=group_id, name="platform", policies=["shared"],
                                       member_entity_ids=[auth_a["entity_id"]])
    assert can_read(node, b.token, "shared/ca") == 403
    assert can_read(node, a.token, "shared/ca") == 200


def test_hvac_identity_methods(unsealed):
    node, root_token, _ = unsealed
    root = node.client(root_token)
    root.sys.enable_auth_method("userpass")
    accessor = root.sys.list_auth_methods()["data"]["userpass/"]["accessor"]

    made = root.secrets.identity.create_or_update_entity(name="alice", metadata={"team": "blue"},
                                                          policies=["p1"])["data"]
    entity_id = made["id"]
    assert made["name"] == "alice"
    read = root.secrets.identity.read_entity_by_name(name="alice")["data"]
    assert read["id"] == entity_id and read["metadata"] == {"team": "blue"} and read["policies"] == ["p1"]
    assert entity_id in root.secrets.identity.list_entities()["data"]["keys"]
    assert "alice" in root.secrets.identity.list_entities_by_name()["data"]["keys"]

    alias = root.secrets.identity.create_or_update_entity_alias(
        name="alice", canonical_id=entity_id, mount_accessor=accessor)["data"]
    assert alias["canonical_id"] == entity_id
    assert root.secrets.identity.read_entity_alias(alias_id=alias["id"])["data"]["name"] == "alice"
    assert alias["id"] in root.secrets.identity.list_entity_aliases()["data"]["keys"]
    found = root.secrets.identity.lookup_entity(alias_name="alice", alias_mount_accessor=accessor)["data"]
    assert found["id"] == entity_id

    # A userpass login as "alice" lands on the entity made above, through its alias.
    root.write("auth/userpass/users/alice", password="pw-alice", policies="default")
    login = node.client().auth.userpass.login(username="alice", password="pw-alice")["auth"]
    assert login["entity_id"] == entity_id and login["identity_policies"] == ["p1"]

    group = root.secrets.identity.create_or_update_group(name="ops", policies=["p2"],
                                                          member_entity_ids=[entity_id])["data"]
    assert root.secrets.identity.read_group_by_name(name="ops")["data"]["member_entity_ids"] == [entity_id]
    assert group["id"] in root.secrets.identity.list_groups()["data"]["keys"]
    assert root.secrets.identity.lookup_group(name="ops")["data"]["id"] == group["id"]

    # Bad input is a Vault-shaped error and changes nothing.
    r = http(node, "POST", "identity/entity-alias", token=root_token,
             json={"name": "x", "canonical_id": entity_id, "mount_accessor": "auth_nope_123"})
    assert_vault_error(r, 400)
    assert len(root.secrets.identity.list_entity_aliases()["data"]["keys"]) == 1

    root.secrets.identity.delete_group(group_id=group["id"])
    root.secrets.identity.delete_entity(entity_id=entity_id)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.identity.read_entity(entity_id=entity_id)


def test_a_syntax_error_in_a_template_is_refused_when_the_policy_is_written(unsealed):
    node, root_token, _ = unsealed
    for bad in ('path "secret/data/{{identity.entity.nope}}/*" { capabilities = ["read"] }',
                'path "secret/data/{{identity.entity.id/*" { capabilities = ["read"] }'):
        r = http(node, "PUT", "sys/policies/acl/broken", token=root_token, json={"policy": bad})
        assert_vault_error(r, 400)
    assert http(node, "GET", "sys/policies/acl/broken", token=root_token).status_code == 404


def test_a_disabled_entity_cannot_use_its_token(k8s, cluster):  # noqa: F811
    node, root, _ = k8s
    a, auth_a = sa_login(node, cluster, "a")
    assert can_read(node, a.token, "a/db") == 200
    root.secrets.identity.update_entity(entity_id=auth_a["entity_id"], disabled=True)
    assert can_read(node, a.token, "a/db") == 403
