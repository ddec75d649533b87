"""`sys/leases/*` through hvac: a token's lease is looked up, listed, renewed and revoked by its lease
id; revoking a lease revokes the token and its children; revoke-prefix needs sudo."""
import hvac
import pytest

from conftest import assert_vault_error, http


def lease_of(token_auth):
    return f"auth/token/create/{token_auth['accessor']}"


def alive(node, token):
    return http(node, "GET", "auth/token/lookup-self", token=token).status_code == 200


def test_token_leases_lookup_list_renew_revoke(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    auth = client.auth.token.create(ttl="1h", policies=["default"])["auth"]
    token, lease_id = auth["client_token"], lease_of(auth)

    listed = client.sys.list_leases(prefix="auth/token/create")["data"]["keys"]
    assert auth["accessor"] in listed
    top = client.sys.list_leases(prefix="auth/")["data"]["keys"]
    assert "token/" in top

    info = client.sys.read_lease(lease_id=lease_id)["data"]
    assert info["id"] == lease_id
    assert info["renewable"] is True
    assert 3500 < info["ttl"] <= 3600
    assert token not in str(info), "a lease never shows the token"

    renewed = client.sys.renew_lease(lease_id=lease_id, increment=7200)
    assert renewed["lease_id"] == lease_id
    assert renewed["lease_duration"] == 7200
    assert client.sys.read_lease(lease_id=lease_id)["data"]["ttl"] > 7000

    # Unknown or malformed lease ids: Vault's 400, nothing changes.
    assert_vault_error(http(node, "PUT", "sys/leases/lookup", token=root, json={"lease_id": "auth/token/create/nope"}), 400)
    assert_vault_error(http(node, "PUT", "sys/leases/renew", token=root, json={}), 400)
    assert alive(node, token)

    client.sys.revoke_lease(lease_id=lease_id)
    assert not alive(node, token)
    assert_vault_error(http(node, "PUT", "sys/leases/lookup", token=root, json={"lease_id": lease_id}), 400)


def test_revoking_a_lease_revokes_children_and_prefix_needs_sudo(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.create_or_update_policy(
        name="maker", policy='path "auth/token/create" { capabilities = ["update"] }\n'
                             'path "sys/leases/*" { capabilities = ["update"] }')
    parent = client.auth.token.create(ttl="1h", policies=["maker"])["auth"]
    child = node.client(parent["client_token"]).auth.token.create(ttl="30m", policies=["default"])["auth"]
    other = client.auth.token.create(ttl="1h")["auth"]
    assert alive(node, child["client_token"])

    # Without sudo: revoke-prefix refused, everything still alive.
    assert_vault_error(http(node, "PUT", "sys/leases/revoke-prefix/auth/token/create",
                            token=parent["client_token"]), 403)
    assert alive(node, other["client_token"])

    client.sys.revoke_lease(lease_id=lease_of(parent))
    assert not alive(node, parent["client_token"])
    assert not alive(node, child["client_token"]), "a child outlived its parent's lease"
    assert alive(node, other["client_token"])

    client.sys.revoke_prefix(prefix="auth/token/create")
    assert not alive(node, other["client_token"])
    assert alive(node, root), "the root token's lease is not under auth/token/create"
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.list_leases(prefix="auth/token/create")

    tidy = http(node, "PUT", "sys/leases/tidy", token=root)
    assert tidy.status_code == 202, tidy.text
